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
        if torch.is_grad_enabled():  # training: weights may change in place (see train())
            self.__dict__.pop("_sparse_cache", None)
            return super().forward(x)
        if not self.sparse_input or x.device.type != "cpu" or x.dim() != 2 or not len(x):
            return super().forward(x)
        sparse_col, dense_idx, table, w_dense = self._split_weights()
        # nonzeros of the whole input (row-major), then those of the sparse columns: no copy
        # of the (B, in_features) input, same (row, column) order as before
        nz = x.nonzero()
        if dense_idx.numel():
            nz = nz[sparse_col[nz[:, 1]]]
        if len(nz) > MAX_DENSITY * len(x) * (self.in_features - dense_idx.numel()):
            return super().forward(x)
        rows, cols = nz[:, 0], nz[:, 1]
        offsets = torch.zeros(len(x), dtype=torch.long)
        offsets[1:] = torch.bincount(rows, minlength=len(x)).cumsum(0)[:-1]
        out = F.embedding_bag(
            cols, table, offsets, mode="sum", per_sample_weights=x[rows, cols].to(x.dtype)
        )
        if dense_idx.numel():
            out = torch.addmm(out, x.index_select(1, dense_idx), w_dense.t())
        return out + self.bias if self.bias is not None else out

    def train(self, mode: bool = True):
        if mode or self.training:  # entering or leaving training (not eval() -> eval()):
            self.__dict__.pop("_sparse_cache", None)  # fused optimizer steps do not bump
        return super().train(mode)  # the weight's version: rebuild after any training

    def _split_weights(self):
        """(bool (in_features,) True for the columns read sparsely, dense column indices,
        W.T contiguous (in_features, out) (rows of the sparse columns are the ones read),
        W[:, dense] (out, Fd)), cached until the weights or the mask change.

        The cache holds the weight tensor and its storage it was built from, so a replaced
        weight (``.data =``, ``.to()``, ``functional_call``) cannot reuse that address and is
        noticed; in-place updates are noticed by the version counter, and a grad-enabled
        forward or ``train()`` drops the cache (optimizers with fused kernels update in
        place without bumping it; ``eval()`` on a net already in eval mode keeps it). Edits
        through ``.data`` in eval mode are not seen: call ``train()`` and ``eval()`` after."""
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
            and (cached[2] is mask or torch.equal(cached[2], mask))
        ):
            return cached[3]
        with torch.no_grad():
            dense_idx = torch.nonzero(mask).flatten()
            table = w.t().contiguous()
            w_dense = w.index_select(1, dense_idx)
        parts = (~mask, dense_idx, table, w_dense)
        pinned = (w, w.detach())  # the parameter and its storage at build time
        self.__dict__["_sparse_cache"] = (key, pinned, mask.clone(), parts)
        return parts
