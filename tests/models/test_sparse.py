"""The first layer of SNN / FNN nets reads fingerprint bits sparsely at inference: same outputs
as the dense product, same parameters and checkpoint keys, dense path for training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

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


def _previous_sparse_path(layer: SparseInputLinear, x: torch.Tensor) -> torch.Tensor:
    """The sparse product as computed before (commit 6c04750): the sparse columns copied out
    of ``x``, their nonzeros, ``embedding_bag`` over ``W[:, sparse].T``, dense ``addmm``."""
    mask = layer.continuous
    sparse_idx, dense_idx = torch.nonzero(~mask).flatten(), torch.nonzero(mask).flatten()
    xs = x.index_select(1, sparse_idx)
    rows, cols = xs.nonzero(as_tuple=True)
    offsets = torch.zeros(len(x), dtype=torch.long)
    offsets[1:] = torch.bincount(rows, minlength=len(x)).cumsum(0)[:-1]
    w_sparse = layer.weight.index_select(1, sparse_idx).t().contiguous()
    out = F.embedding_bag(cols, w_sparse, offsets, mode="sum", per_sample_weights=xs[rows, cols])
    out = torch.addmm(
        out, x.index_select(1, dense_idx), layer.weight.index_select(1, dense_idx).t()
    )
    return out + layer.bias


@pytest.mark.parametrize("where", ["leading", "scattered", "none"])
def test_sparse_path_gives_bitwise_the_values_of_the_previous_one(where):
    """Reading the nonzeros of the whole input (no copy of the sparse columns) sums the same
    weight rows in the same order: identical floats, not just close ones."""
    x = torch.from_numpy(_inputs(300, 700, 30, seed=3))
    layer = SparseInputLinear(x.shape[1], 64)
    layer.sparse_input = True
    mask = torch.zeros(x.shape[1], dtype=torch.bool)
    if where == "leading":
        mask[700:] = True
    elif where == "scattered":
        x = x[:, torch.randperm(x.shape[1], generator=torch.Generator().manual_seed(0))]
        mask = (x != 0).float().mean(dim=0) > 0.5  # the descriptor columns, now anywhere
    layer.continuous = mask
    with torch.no_grad():
        got = layer(x)
        assert torch.equal(got, _previous_sparse_path(layer, x))
        assert not torch.equal(got, F.linear(x, layer.weight, layer.bias))  # another order
        torch.testing.assert_close(got, F.linear(x, layer.weight, layer.bias))


def test_eval_keeps_the_weight_cache_and_training_drops_it():
    """``model_outputs`` calls ``eval()`` for every prediction: the transposed weights are
    built once, and rebuilt after any training step (fused optimizers bump no version)."""
    x = torch.from_numpy(_inputs(32, 256, 0))
    layer = SparseInputLinear(256, 8)
    layer.sparse_input = True
    layer.eval()
    with torch.no_grad():
        layer(x)
    built = layer.__dict__["_sparse_cache"]
    layer.eval()
    with torch.no_grad():
        layer(x)
    assert layer.__dict__["_sparse_cache"] is built
    layer.train()
    assert "_sparse_cache" not in layer.__dict__
    layer.eval()
    with torch.no_grad():
        layer(x)
    layer(x).sum().backward()  # a grad-enabled forward (training in eval mode) drops it too
    assert "_sparse_cache" not in layer.__dict__
    with torch.no_grad():
        layer.weight.data.mul_(2.0)  # no version bump, but the cache was dropped
        torch.testing.assert_close(layer(x), F.linear(x, layer.weight, layer.bias))
