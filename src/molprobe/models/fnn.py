"""Feed-forward ReLU network with BatchNorm: the baseline the SNN paper compares against.

Each block is ``Linear -> BatchNorm1d -> ReLU -> Dropout`` with He (Kaiming-normal, fan-in)
initialisation. ``batch_norm=False`` gives a plain ReLU net (used to show that, unlike the
SNN, it does not keep activations normalised through depth).
"""

from __future__ import annotations

import torch
from torch import nn

from molprobe.models.snn import BlockStack, layer_widths
from molprobe.models.sparse import SparseInputLinear


class FNNBlock(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout; output (B, out_features)."""

    def __init__(self, in_features: int, out_features: int, dropout: float, batch_norm: bool):
        super().__init__()
        self.linear = SparseInputLinear(in_features, out_features)
        self.norm = nn.BatchNorm1d(out_features) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        nn.init.kaiming_normal_(self.linear.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.act(self.norm(self.linear(x))))


class FNN(BlockStack):
    """Multi-task ReLU(+BatchNorm) net: ``forward(x (B, n_features)) -> logits (B, n_tasks)``.

    Same depth/width/shape options as :class:`molprobe.models.snn.SNN`.
    """

    def __init__(
        self,
        n_features: int,
        n_tasks: int,
        n_layers: int = 8,
        width: int = 1024,
        shape: str = "rectangular",
        dropout: float = 0.1,
        batch_norm: bool = True,
    ):
        super().__init__(
            n_features,
            n_tasks,
            layer_widths(n_layers, width, shape),
            lambda fan_in, w: FNNBlock(fan_in, w, dropout, batch_norm),
        )
