"""Self-normalizing neural network (SNN) for fingerprint / descriptor vectors.

Klambauer, Unterthiner, Mayr, Hochreiter, "Self-Normalizing Neural Networks", NeurIPS 2017.
Each block is ``Linear -> SELU -> AlphaDropout`` with LeCun-normal weights
(std = 1/sqrt(fan_in), bias 0), so that activations stay near mean 0 / variance 1 through
many layers without BatchNorm. Inputs are scaled inside the model with train-set
statistics stored as buffers (:class:`InputStandardizer`), so a checkpoint maps raw
featurizer output to logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.models.sparse import SparseInputLinear

SHAPES = ("rectangular", "conic")


def layer_widths(n_layers: int, width: int, shape: str) -> list[int]:
    """Widths of the hidden blocks, input side first.

    ``rectangular``: all ``width``; ``conic``: geometric decrease from ``width`` to
    ``max(width // 8, 16)`` at the last block.
    """
    if n_layers < 1:
        raise MolprobeError(f"n_layers must be >= 1, got {n_layers}")
    if width < 1:
        raise MolprobeError(f"width must be >= 1, got {width}")
    if shape == "rectangular":
        return [width] * n_layers
    if shape == "conic":
        last = max(width // 8, min(16, width))
        if n_layers == 1:
            return [width]
        ratio = (last / width) ** (1.0 / (n_layers - 1))
        return [max(1, int(round(width * ratio**i))) for i in range(n_layers)]
    raise MolprobeError(f"shape must be one of {SHAPES}, got {shape!r}")


class InputStandardizer(nn.Module):
    """Scale raw featurizer output so that a LeCun-initialised first layer sees unit variance.

    ``forward(x) = (x - mean) / std`` per feature, with buffers ``mean`` and ``std`` (shape
    (n_features,)) fixed by :meth:`fit` on the training rows (identity until then):

    * continuous columns (descriptors) are standardized to mean 0, variance 1;
    * binary 0/1 columns (fingerprint bits) keep their 0/1 coding: per-bit standardization
      would turn a bit set in 1 of 6,000 molecules into a value of about 80 that swamps the
      first layer (on Tox21 it cost 0.03 validation ROC-AUC); count columns (non-negative
      integers, e.g. ECFP counts) keep their coding likewise, so zeros stay zeros (the
      sparse first layer reads only the nonzeros);
    * constant columns map to 0, non-finite inputs (failed descriptors) to 0;
    * finally one common gain g scales every column so that the mean squared input is 1,
      i.e. a first layer with weights of variance 1/n_features has pre-activations of
      variance 1, the fixed point SELU nets are built for (Klambauer et al. 2017).
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))

    @torch.no_grad()
    def fit(self, x: np.ndarray | torch.Tensor) -> InputStandardizer:
        """Set mean/std from training features x (n_molecules, n_features)."""
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        x = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        mean = x.mean(dim=0)
        std = x.std(dim=0, unbiased=False)
        constant = std <= 1e-8
        binary = ((x >= 0) & (x == torch.round(x))).all(dim=0) & ~constant  # bits, counts
        std = torch.where(constant, torch.ones_like(std), std)
        mean = torch.where(binary, torch.zeros_like(mean), mean)
        std = torch.where(binary, torch.ones_like(std), std)
        mean_square = ((x - mean) / std).pow(2).mean(dim=0)  # 1 (continuous), E[x^2] (bit/count), 0
        total = float(mean_square[~constant].sum())
        gain = math.sqrt(x.shape[1] / total) if total > 0 else 1.0
        self.mean.copy_(mean.to(self.mean))
        self.std.copy_((std / gain).to(self.std))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nan_to_num(x.to(self.mean.dtype), nan=0.0, posinf=0.0, neginf=0.0)
        return (x - self.mean) / self.std


class SNNBlock(nn.Module):
    """Linear -> SELU -> AlphaDropout; output (B, out_features) is the layer's representation."""

    def __init__(self, in_features: int, out_features: int, dropout: float):
        super().__init__()
        self.linear = SparseInputLinear(in_features, out_features)
        self.act = nn.SELU()
        self.dropout = nn.AlphaDropout(dropout)
        nn.init.normal_(self.linear.weight, mean=0.0, std=1.0 / math.sqrt(in_features))
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.act(self.linear(x)))


class BlockStack(nn.Module):
    """Standardized input -> hidden blocks -> linear head: the body SNN and FNN share.

    ``make_block(in_features, out_features)`` builds one hidden block; ``forward(x (B,
    n_features)) -> (B, n_tasks)``; each block's output (B, width_i) is a hidden layer.
    """

    def __init__(
        self,
        n_features: int,
        n_tasks: int,
        widths: list[int],
        make_block: Callable[[int, int], nn.Module],
    ):
        super().__init__()
        self.input_norm = InputStandardizer(n_features)
        blocks = []
        fan_in = n_features
        for w in widths:
            blocks.append(make_block(fan_in, w))
            fan_in = w
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(fan_in, n_tasks)
        first = self._input_linear()
        if first is not None:  # fingerprint bits: read sparsely at inference
            first.sparse_input = True

    def _input_linear(self) -> SparseInputLinear | None:
        first = getattr(self.blocks[0], "linear", None) if len(self.blocks) else None
        return first if isinstance(first, SparseInputLinear) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_norm(x)
        first = None if self.training else self._input_linear()
        if first is not None:
            # standardized binary columns keep mean 0 (their zeros stay zeros); columns with
            # a nonzero mean (descriptors) are dense and get a dense product
            first.continuous = self.input_norm.mean != 0
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def hidden_layers(self) -> list[tuple[str, nn.Module]]:
        """``[("block1", ...), ..., ("blockN", ...)]``: hook outputs are (B, width_i)."""
        return [(f"block{i + 1}", b) for i, b in enumerate(self.blocks)]


class SNN(BlockStack):
    """Multi-task SNN: ``forward(x (B, n_features)) -> logits (B, n_tasks)``.

    Args:
        n_features: input vector size (ECFP bits and/or descriptors).
        n_tasks: number of output tasks (one logit or regression value each).
        n_layers: number of hidden SELU blocks (2-32 in the paper's sweep).
        width: units of the first (rectangular: every) hidden block.
        shape: ``rectangular`` or ``conic``.
        dropout: alpha-dropout rate.
    """

    def __init__(
        self,
        n_features: int,
        n_tasks: int,
        n_layers: int = 8,
        width: int = 1024,
        shape: str = "rectangular",
        dropout: float = 0.1,
    ):
        super().__init__(
            n_features,
            n_tasks,
            layer_widths(n_layers, width, shape),
            lambda fan_in, w: SNNBlock(fan_in, w, dropout),
        )
        nn.init.normal_(self.head.weight, mean=0.0, std=1.0 / math.sqrt(self.head.in_features))
        nn.init.zeros_(self.head.bias)
