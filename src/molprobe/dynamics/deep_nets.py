"""Deep fully-connected nets for the vanishing-gradient experiment.

``depth`` blocks of ``width`` units, then a linear head. Block 1 maps the fingerprint to
``width``; blocks 2..depth are width -> width. Architectures (``ARCHS``):

- ``sigmoid``, ``tanh``: Linear -> activation, Glorot/Xavier-normal weights (the classic
  setup: sigmoid'(x) <= 1/4, so every layer shrinks the backward signal).
- ``relu``: Linear -> ReLU, He-normal weights (Glorot 2010, He et al. 2015).
- ``relu_bn``: Linear -> BatchNorm -> ReLU, He-normal weights (Ioffe & Szegedy 2015).
- ``selu``: Linear -> SELU, LeCun-normal weights (Klambauer et al. 2017, self-normalizing).
- ``highway``: ``h + T * (H(h) - h)`` with ``H = ReLU(W_H h)``, gate ``T = sigmoid(W_T h + b_T)``
  and gate bias ``b_T = -2`` (Srivastava et al. 2015). This does *not* make a deep highway net
  close to the identity: the measured carry ``1 - T`` is about 0.88 per block, so the identity
  path over 31 blocks keeps 0.88^31 ~ 0.02 and the error signal vanishes (chi ~ 0.79 per
  block, see :mod:`molprobe.dynamics.meanfield`).
- ``residual``: ``h + W relu(h) / sqrt(depth)`` (pre-activation, He-normal ``W``); the
  1/sqrt(depth) branch scale keeps the forward variance bounded at any depth (Hanin & Rolnick
  2018; as in SkipInit/Fixup); without it the variance doubles per block.

For highway and residual nets block 1 is a plain He-initialised ReLU layer (it changes the
width, so it cannot be an identity-plus-branch). Every block exposes ``weight``: its main
transform matrix (out, in), whose gradient norm the experiment reports.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from molprobe.errors import MolprobeError

ARCHS = ("sigmoid", "tanh", "relu", "relu_bn", "selu", "highway", "residual")
HIGHWAY_GATE_BIAS = -2.0


def _init_linear(linear: nn.Linear, scheme: str) -> None:
    """Initialise weights in place (bias 0): ``glorot``, ``he`` or ``lecun`` (all normal)."""
    fan_out, fan_in = linear.weight.shape
    if scheme == "glorot":
        std = math.sqrt(2.0 / (fan_in + fan_out))
    elif scheme == "he":
        std = math.sqrt(2.0 / fan_in)
    elif scheme == "lecun":
        std = math.sqrt(1.0 / fan_in)
    else:  # pragma: no cover - internal
        raise ValueError(scheme)
    with torch.no_grad():
        linear.weight.normal_(0.0, std)
        if linear.bias is not None:
            linear.bias.zero_()


class PlainBlock(nn.Module):
    """Linear (-> BatchNorm) -> activation: (B, in) -> (B, out)."""

    def __init__(self, in_features: int, out_features: int, activation: str, batchnorm: bool):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=not batchnorm)
        self.norm = nn.BatchNorm1d(out_features) if batchnorm else nn.Identity()
        acts = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "selu": nn.SELU}
        self.act = acts[activation]()
        scheme = {"sigmoid": "glorot", "tanh": "glorot", "relu": "he", "selu": "lecun"}[activation]
        _init_linear(self.linear, scheme)

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.linear(x)))


class HighwayBlock(nn.Module):
    """``h + T * (ReLU(W_H h) - h)``, ``T = sigmoid(W_T h + b_T)``: (B, width) -> (B, width)."""

    def __init__(self, width: int, gate_bias: float = HIGHWAY_GATE_BIAS):
        super().__init__()
        self.transform = nn.Linear(width, width)
        self.gate = nn.Linear(width, width)
        _init_linear(self.transform, "he")
        _init_linear(self.gate, "glorot")
        with torch.no_grad():
            self.gate.bias.fill_(gate_bias)

    @property
    def weight(self) -> torch.Tensor:
        return self.transform.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.sigmoid(self.gate(x))
        return x + t * (torch.relu(self.transform(x)) - x)


class ResidualBlock(nn.Module):
    """``h + scale * W relu(h)`` (pre-activation, He-normal ``W``): (B, width) -> (B, width)."""

    def __init__(self, width: int, scale: float):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.scale = scale
        _init_linear(self.linear, "he")

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.scale * self.linear(torch.relu(x))


class DeepNet(nn.Module):
    """``forward(x (B, n_features)) -> logits (B, n_tasks)`` through ``depth`` blocks.

    Args:
        arch: one of :data:`ARCHS`.
        n_features: input size (standardized fingerprint bits).
        n_tasks: output logits.
        depth: number of hidden blocks (>= 1).
        width: units per hidden block.
    """

    def __init__(self, arch: str, n_features: int, n_tasks: int, depth: int, width: int = 128):
        super().__init__()
        if arch not in ARCHS:
            raise MolprobeError(f"arch must be one of {ARCHS}, got {arch!r}")
        if depth < 1:
            raise MolprobeError(f"depth must be >= 1, got {depth}")
        self.arch = arch
        self.depth = depth
        blocks: list[nn.Module] = []
        for i in range(depth):
            fan_in = n_features if i == 0 else width
            if arch in ("sigmoid", "tanh", "relu", "selu"):
                blocks.append(PlainBlock(fan_in, width, arch, batchnorm=False))
            elif arch == "relu_bn":
                blocks.append(PlainBlock(fan_in, width, "relu", batchnorm=True))
            elif i == 0:  # highway / residual: plain projection to the width
                blocks.append(PlainBlock(fan_in, width, "relu", batchnorm=False))
            elif arch == "highway":
                blocks.append(HighwayBlock(width))
            else:
                blocks.append(ResidualBlock(width, scale=1.0 / math.sqrt(depth)))
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(width, n_tasks)
        _init_linear(self.head, "lecun" if arch == "selu" else "glorot")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def hidden_layers(self) -> list[tuple[str, nn.Module]]:
        """``[("layer1", block), ..., ("layerD", block)]``, input side first; hooks give (B, width)."""
        return [(f"layer{i + 1}", b) for i, b in enumerate(self.blocks)]
