"""Per-layer gradient norms against hand-computed values; vanishing vs preserved gradients."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from molprobe.dynamics.deep_nets import ARCHS, DeepNet
from molprobe.dynamics.gradients import (
    jacobian_spectrum,
    layer_gradient_norms,
    per_layer_gradients,
    prepare_fingerprints,
)
from molprobe.errors import MolprobeError
from molprobe.training.losses import masked_bce_with_logits


def _sig(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _fixed_sigmoid_net(w1: float, w2: float, w_head: float) -> DeepNet:
    """1 input -> sigmoid unit -> sigmoid unit -> logit, biases 0."""
    net = DeepNet("sigmoid", n_features=1, n_tasks=1, depth=2, width=1)
    with torch.no_grad():
        net.blocks[0].linear.weight.fill_(w1)
        net.blocks[1].linear.weight.fill_(w2)
        net.head.weight.fill_(w_head)
        for p in (net.blocks[0].linear.bias, net.blocks[1].linear.bias, net.head.bias):
            p.zero_()
    return net


def test_two_layer_sigmoid_net_matches_hand_computation():
    x, y, w1, w2, wh = 1.5, 1.0, 0.8, -1.2, 2.0
    a1 = _sig(w1 * x)
    a2 = _sig(w2 * a1)
    out = wh * a2
    d_out = _sig(out) - y  # dBCE/dlogit
    d_a2 = d_out * wh
    d_z2 = d_a2 * a2 * (1 - a2)
    d_a1 = d_z2 * w2
    d_z1 = d_a1 * a1 * (1 - a1)
    expected = {
        1: (abs(d_z1 * x), abs(d_z1 * w1)),  # (dL/dW1, dL/dx)
        2: (abs(d_z2 * a1), abs(d_a1)),  # (dL/dW2, dL/da1)
    }
    net = _fixed_sigmoid_net(w1, w2, wh)
    layers, loss = per_layer_gradients(net, torch.tensor([[x]]), torch.tensor([[y]]))
    assert loss == pytest.approx(-math.log(_sig(out)), rel=1e-5)
    assert [lg.layer for lg in layers] == [1, 2]
    for lg in layers:
        w, i = expected[lg.layer]
        assert lg.grad_norm_weight == pytest.approx(w, rel=1e-5)
        assert lg.grad_norm_input == pytest.approx(i, rel=1e-5)

    # the monitor's pure function: norms of all parameters of each named layer
    net.zero_grad()
    masked_bce_with_logits(net(torch.tensor([[x]])), torch.tensor([[y]])).backward()
    norms = layer_gradient_norms(net.hidden_layers())
    # bias gradient of block l equals dL/dz_l, so the layer norm is sqrt(dW^2 + db^2)
    assert norms["layer1"] == pytest.approx(math.hypot(d_z1 * x, d_z1), rel=1e-5)
    assert norms["layer2"] == pytest.approx(math.hypot(d_z2 * a1, d_z2), rel=1e-5)
    weights = layer_gradient_norms(net.hidden_layers(), weights_only=True)
    assert weights["layer1"] == pytest.approx(abs(d_z1 * x), rel=1e-5)
    assert math.isnan(layer_gradient_norms([("frozen", nn.ReLU())])["frozen"])


def test_error_signal_of_three_layer_tanh_net_matches_hand_computation():
    x, y, w1, w2, w3, wh = 0.7, 0.0, 1.3, -0.9, 1.6, 1.1
    h1 = math.tanh(w1 * x)
    h2 = math.tanh(w2 * h1)
    h3 = math.tanh(w3 * h2)
    d_out = _sig(wh * h3) - y  # dBCE/dlogit
    delta3 = d_out * wh  # dL/dh3
    delta2 = delta3 * (1 - h3**2) * w3  # dL/dh2
    delta1 = delta2 * (1 - h2**2) * w2  # dL/dh1
    weight = {
        1: delta1 * (1 - h1**2) * x,
        2: delta2 * (1 - h2**2) * h1,
        3: delta3 * (1 - h3**2) * h2,
    }
    net = DeepNet("tanh", n_features=1, n_tasks=1, depth=3, width=1)
    with torch.no_grad():
        for block, w in zip(net.blocks, (w1, w2, w3), strict=True):
            block.linear.weight.fill_(w)
            block.linear.bias.zero_()
        net.head.weight.fill_(wh)
        net.head.bias.zero_()
    layers, _ = per_layer_gradients(net, torch.tensor([[x]]), torch.tensor([[y]]))
    for lg, delta in zip(layers, (delta1, delta2, delta3), strict=True):
        assert lg.error_signal == pytest.approx(abs(delta), rel=1e-5)
        assert lg.grad_norm_weight == pytest.approx(abs(weight[lg.layer]), rel=1e-5)
    # the input of block l+1 is the output of block l: the same gradient
    assert layers[1].grad_norm_input == pytest.approx(layers[0].error_signal, rel=1e-6)


def test_masked_loss_ignores_missing_labels():
    logits = torch.tensor([[0.3, 5.0], [-1.0, 2.0]])
    y = torch.tensor([[1.0, float("nan")], [0.0, float("nan")]])
    expected = nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([0.3, -1.0]), torch.tensor([1.0, 0.0])
    )
    torch.testing.assert_close(masked_bce_with_logits(logits, y), expected)
    assert float(masked_bce_with_logits(logits, torch.full_like(logits, float("nan")))) == 0.0


def test_layer_one_is_nearest_the_input():
    torch.manual_seed(0)
    net = DeepNet("tanh", n_features=6, n_tasks=2, depth=4, width=5)
    x = torch.randn(8, 6)
    y = (torch.rand(8, 2) > 0.5).float()
    layers, _ = per_layer_gradients(net, x, y)
    xr = x.clone().requires_grad_(True)
    masked_bce_with_logits(net(xr), y).backward()
    assert layers[0].grad_norm_input == pytest.approx(float(xr.grad.norm()), rel=1e-5)
    assert layers[0].grad_norm_weight == pytest.approx(
        float(net.blocks[0].linear.weight.grad.norm()), rel=1e-5
    )
    assert layers[-1].grad_norm_weight == pytest.approx(
        float(net.blocks[-1].linear.weight.grad.norm()), rel=1e-5
    )


def _ratio(arch: str, depth: int, seed: int) -> float:
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(64, 40, generator=g)
    y = (torch.rand(64, 3, generator=g) > 0.7).float()
    torch.manual_seed(seed)
    net = DeepNet(arch, 40, 3, depth=depth, width=32)
    layers, _ = per_layer_gradients(net, x, y)
    return layers[0].grad_norm_input / layers[-1].grad_norm_input


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_gradient_vanishes_but_residual_does_not(seed):
    sigmoid = _ratio("sigmoid", 16, seed)
    residual = _ratio("residual", 16, seed)
    selu = _ratio("selu", 16, seed)
    assert sigmoid < 1e-6  # (1/4)^15 ~ 1e-9 in expectation
    assert 0.1 < residual < 10
    assert 0.1 < selu < 10


def test_every_architecture_builds_and_has_finite_gradients():
    x = torch.randn(16, 12)
    y = (torch.rand(16, 2) > 0.5).float()
    for arch in ARCHS:
        torch.manual_seed(0)
        net = DeepNet(arch, 12, 2, depth=3, width=8)
        assert [n for n, _ in net.hidden_layers()] == ["layer1", "layer2", "layer3"]
        layers, loss = per_layer_gradients(net, x, y)
        assert math.isfinite(loss)
        assert all(math.isfinite(lg.grad_norm_weight) and lg.grad_norm_weight > 0 for lg in layers)
    with pytest.raises(MolprobeError):
        DeepNet("swish", 12, 2, depth=3)


def test_jacobian_spectrum_matches_direct_product():
    torch.manual_seed(3)
    net = DeepNet("tanh", 5, 1, depth=3, width=4).double()
    x = torch.randn(3, 5, dtype=torch.float64)
    rows = jacobian_spectrum(net, x, n_molecules=2)
    assert len(rows) == 2
    # by hand: J = diag(1 - h3^2) W3 diag(1 - h2^2) W2 at molecule 0
    with torch.no_grad():
        h1 = net.blocks[0](x[:1])
        h2 = net.blocks[1](h1)
        h3 = net.blocks[2](h2)
        w2, w3 = net.blocks[1].linear.weight, net.blocks[2].linear.weight
        jac = torch.diag(1 - h3[0] ** 2) @ w3 @ torch.diag(1 - h2[0] ** 2) @ w2
    sv = torch.linalg.svdvals(jac)
    assert rows[0]["log10_spread"] == pytest.approx(
        float(torch.log10(sv.max() / sv.min())), rel=1e-6
    )
    assert rows[0]["mean_log10_sv"] == pytest.approx(float(torch.log10(sv).mean()), rel=1e-6)
    assert rows[0]["n_nonzero"] == 4 and not rows[0]["saturated"]


def test_prepare_fingerprints_drops_rare_bits_and_standardizes():
    rng = np.random.default_rng(0)
    bits = (rng.random((200, 30)) < 0.3).astype(np.uint8)
    bits[:, 0] = 0  # never set
    bits[:, 1] = 0
    bits[0, 1] = 1  # set once (0.5 %)
    x, keep = prepare_fingerprints(bits, min_frequency=0.01)
    assert 0 not in keep and 1 not in keep and len(keep) == 28
    np.testing.assert_allclose(x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1, atol=1e-4)
