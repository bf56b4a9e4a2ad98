"""A linear layer that reads fingerprint bits sparsely at inference time.

An ECFP4 vector of 2,048 bits has ~45 bits set, so the dense product ``x @ W.T`` of a
first layer does ~45x more multiply-adds than needed. :class:`SparseInputLinear` is an
``nn.Linear`` (same parameters, same checkpoint keys) whose CPU inference sums the weight
columns of the nonzero inputs (``embedding_bag``) and multiplies only the continuous columns
(``continuous``, e.g. standardized descriptors) densely. Training, autograd and CUDA take the
plain dense path; results agree with it to float32 rounding (summation order only).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

MAX_DENSITY = 0.08  # above this fraction of nonzeros the dense product is as fast


class SparseInputLinear(nn.Linear):
    """``nn.Linear`` with a sparse inference path for mostly-zero inputs (see module doc).

    ``sparse_input``: take the sparse path at all (set on a net's first layer only: hidden
    activations are dense). ``continuous``: optional bool mask (in_features,) of the input
    columns that are dense by nature (computed with a dense product); the rest are read from
    their nonzeros.
    """

    sparse_input: bool = False
    continuous: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            not self.sparse_input
            or torch.is_grad_enabled()
            or x.device.type != "cpu"
            or x.dim() != 2
            or not len(x)
        ):
            return super().forward(x)
        sparse_idx, dense_idx, w_sparse, w_dense = self._split_weights()
        xs = x if dense_idx.numel() == 0 else x.index_select(1, sparse_idx)
        rows, cols = xs.nonzero(as_tuple=True)
        if rows.numel() > MAX_DENSITY * xs.numel():
            return super().forward(x)
        offsets = torch.zeros(len(x), dtype=torch.long)
        offsets[1:] = torch.bincount(rows, minlength=len(x)).cumsum(0)[:-1]
        out = F.embedding_bag(
            cols, w_sparse, offsets, mode="sum", per_sample_weights=xs[rows, cols].to(x.dtype)
        )
        if dense_idx.numel():
            out = torch.addmm(out, x.index_select(1, dense_idx), w_dense.t())
        return out + self.bias if self.bias is not None else out

    def train(self, mode: bool = True):
        self.__dict__.pop("_sparse_cache", None)  # e.g. fused optimizer steps do not bump
        return super().train(mode)  # the weight's version: rebuild after any training

    def _split_weights(self):
        """(sparse column indices, dense column indices, W[:, sparse].T contiguous (Fs, out),
        W[:, dense] (out, Fd)), cached until the weights or the mask change.

        The cache holds the weight tensor and its storage it was built from, so a replaced
        weight (``.data =``, ``.to()``, ``functional_call``) cannot reuse that address and is
        noticed; in-place updates are noticed by the version counter, and ``train()`` drops
        the cache (optimizers with fused kernels update in place without bumping it). Edits
        through ``.data`` in eval mode are not seen: call ``train(False)`` after them."""
        w = self.weight
        mask = self.continuous
        mask = (
            torch.zeros(self.in_features, dtype=torch.bool, device=w.device)
            if mask is None
            else mask.to(w.device)
        )
        key = (w._version, w.data_ptr(), w.dtype, tuple(w.shape))
        cached = self.__dict__.get("_sparse_cache")
        if (
            cached is not None
            and cached[0] == key
            and cached[1][0] is w
            and torch.equal(cached[2], mask)
        ):
            return cached[3]
        with torch.no_grad():
            sparse_idx = torch.nonzero(~mask).flatten()
            dense_idx = torch.nonzero(mask).flatten()
            w_sparse = w.index_select(1, sparse_idx).t().contiguous()
            w_dense = w.index_select(1, dense_idx)
        parts = (sparse_idx, dense_idx, w_sparse, w_dense)
        pinned = (w, w.detach())  # the parameter and its storage at build time
        self.__dict__["_sparse_cache"] = (key, pinned, mask.clone(), parts)
        return parts
