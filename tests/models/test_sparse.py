"""The first layer of SNN / FNN nets reads fingerprint bits sparsely at inference: same outputs
as the dense product, same parameters and checkpoint keys, dense path for training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from molprobe.models.fnn import FNN
from molprobe.models.snn import SNN
from molprobe.models.sparse import SparseInputLinear


def _inputs(n: int, n_bits: int, n_desc: int, seed: int = 0) -> np.ndarray:
    """n rows of ~2% set bits beside n_desc continuous descriptor columns; row 0 all zeros."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, n_bits + n_desc), np.float32)
    x[:, :n_bits] = rng.random((n, n_bits)) < 0.02
    x[:, n_bits:] = rng.normal(3.0, 2.0, (n, n_desc))
    x[0] = 0.0
    return x


@pytest.mark.parametrize("make", [lambda f: SNN(f, 3, n_layers=3, width=64),
                                  lambda f: FNN(f, 3, n_layers=3, width=64)])  # fmt: skip
@pytest.mark.parametrize("n_desc", [0, 20])
def test_sparse_inference_equals_dense(make, n_desc):
    x = torch.from_numpy(_inputs(40, 512, n_desc))
    net = make(x.shape[1])
    net.input_norm.fit(x.numpy())
    net.eval()
    first = net.blocks[0].linear
    assert isinstance(first, SparseInputLinear) and first.sparse_input
    assert not net.blocks[1].linear.sparse_input  # hidden activations are dense
    with torch.no_grad():
        sparse = net(x)
        assert int(first.continuous.sum()) == n_desc  # descriptors: dense product
        first.sparse_input = False
        dense = net(x)
    torch.testing.assert_close(sparse, dense, rtol=1e-5, atol=1e-5)
    assert list(net.state_dict()) == list(make(x.shape[1]).state_dict())


def test_training_and_gradients_take_the_dense_path():
    layer = SparseInputLinear(50, 4)
    layer.sparse_input = True
    x = torch.from_numpy(_inputs(8, 50, 0))
    out = layer(x)  # grad enabled: plain nn.Linear
    out.sum().backward()
    assert layer.weight.grad is not None
    with torch.no_grad():
        torch.testing.assert_close(
            layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias)
        )
        layer.weight.mul_(2.0)  # cached weight slices follow in-place updates
        torch.testing.assert_close(
            layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias)
        )


def test_replaced_weights_are_never_served_from_the_cache():
    """A weight swapped through ``.data`` (as ``.to()`` does) or a ``train()`` round trip
    (fused optimizer steps update in place without a version bump) rebuilds the cache."""
    x = torch.from_numpy(_inputs(16, 256, 0))
    layer = SparseInputLinear(256, 8)
    layer.sparse_input = True
    with torch.no_grad():
        for _ in range(20):  # freed storage is often handed out again at the same address
            layer(x)
            layer.weight.data = torch.randn_like(layer.weight)
            layer.weight.data = torch.randn_like(layer.weight)
            torch.testing.assert_close(
                layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias)
            )
        layer.weight.data.mul_(3.0)  # no version bump: seen after a train()/eval() round trip
        layer.train()
        layer.eval()
        torch.testing.assert_close(
            layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias)
        )
