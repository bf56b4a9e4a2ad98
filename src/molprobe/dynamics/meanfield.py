"""Mean-field predictions of the back-propagated error signal of a :class:`DeepNet` at init.

For a wide random net the squared error-signal norm changes by a factor ``chi_l`` per layer:
``E||delta_(l-1)||^2 = chi_l * E||delta_l||^2`` with ``delta_l = dLoss/dh_l`` (the output of
block l). So the layer-1 / layer-L norm ratio is ``sqrt(prod_(l=2..L) chi_l)`` (Poole et al.
2016; Schoenholz et al. 2017). Per architecture (``sigma_w^2`` = fan_in * weight variance):

- plain ``phi`` (sigmoid, tanh, ReLU, SELU): ``chi_l = sigma_w^2 E[phi'(a)^2]``,
  ``a ~ N(0, q_l)`` with the pre-activation second moment ``q_(l+1) = sigma_w^2 E[phi(a)^2]``
  iterated from the measured ``q_1``. ReLU-He: chi = 1; SELU-LeCun: chi -> E[selu'(z)^2] = 1.07.
- ``relu_bn``: chi = pi / (pi - 1) ~ 1.47 per layer (Yang et al. 2019, large-batch limit).
- ``residual`` ``h + s W relu(h)``: chi = 1 + s^2 sigma_w^2 E[relu'^2] = 1 + 1/L (s^2 = 1/L).
- ``highway`` ``(1 - T) h + T H``: chi = E[(1-T)^2] + sigma_H^2 E[T^2 1(W_H h > 0)]
  + sigma_T^2 E[(T (1-T) (H - h))^2], the expectations measured on the forward pass
  (the *measured carry* ``1 - T``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from molprobe.dynamics.deep_nets import DeepNet, HighwayBlock, PlainBlock, ResidualBlock

#: per-layer squared error-signal growth of BatchNorm-ReLU (Yang et al. 2019)
BN_RELU_CHI = math.pi / (math.pi - 1.0)
_SIGMA_W2 = {"sigmoid": 1.0, "tanh": 1.0, "relu": 2.0, "selu": 1.0}  # Glorot/He/LeCun, square W
# E[f(z)], z ~ N(0, 1), as a fine midpoint sum (exact enough for the kinks of ReLU and SELU)
_NODES = np.linspace(-12.0, 12.0, 48_000)  # even: no node at the kink 0
_WEIGHTS = np.exp(-0.5 * _NODES**2)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _phi(name: str, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Activation and its derivative at pre-activations ``a``."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-a))
        return s, s * (1.0 - s)
    if name == "tanh":
        t = np.tanh(a)
        return t, 1.0 - t**2
    if name == "relu":
        return np.maximum(a, 0.0), (a > 0).astype(float)
    if name == "selu":
        alpha, scale = 1.6732632423543772, 1.0507009873554805
        neg = scale * alpha * np.exp(np.minimum(a, 0.0))
        return np.where(a > 0, scale * a, neg - scale * alpha), np.where(a > 0, scale, neg)
    raise ValueError(name)  # pragma: no cover - internal


def plain_chi(activation: str, q1: float, depth: int) -> np.ndarray:
    """``chi_l`` for l = 2..depth of a plain net whose block-1 pre-activation has ``E[a^2] = q1``.

    Returns an array of length ``depth - 1`` (index 0 = block 2).
    """
    sw2 = _SIGMA_W2[activation]
    q, out = float(q1), []
    for _ in range(depth - 1):
        phi, _ = _phi(activation, math.sqrt(q) * _NODES)
        q = sw2 * float(_WEIGHTS @ phi**2)  # pre-activation second moment of the next block
        _, dphi = _phi(activation, math.sqrt(q) * _NODES)
        out.append(sw2 * float(_WEIGHTS @ dphi**2))
    return np.asarray(out)


def _highway_chi(model: DeepNet, x: torch.Tensor) -> np.ndarray:
    """Per-block chi of highway blocks 2..L from the forward statistics on batch x."""
    chis = []
    with torch.no_grad():
        h = model.blocks[0](x)
        for block in model.blocks[1:]:
            assert isinstance(block, HighwayBlock)
            t = torch.sigmoid(block.gate(h))
            pre = block.transform(h)
            branch = torch.relu(pre)
            sh2 = block.transform.weight.var().item() * h.shape[1]
            st2 = block.gate.weight.var().item() * h.shape[1]
            chi = (
                ((1 - t) ** 2).mean()
                + sh2 * (t**2 * (pre > 0)).mean()
                + st2 * ((t * (1 - t) * (branch - h)) ** 2).mean()
            )
            chis.append(float(chi))
            h = (1 - t) * h + t * branch
    return np.asarray(chis)


def highway_carry(model: DeepNet, x: torch.Tensor) -> np.ndarray:
    """Mean carry ``1 - T`` of highway blocks 2..L on batch x: (depth - 1,)."""
    out = []
    with torch.no_grad():
        h = model.blocks[0](x)
        for block in model.blocks[1:]:
            out.append(float(1 - torch.sigmoid(block.gate(h)).mean()))
            h = block(h)
    return np.asarray(out)


def meanfield_chi(model: DeepNet, x: torch.Tensor) -> np.ndarray:
    """Predicted per-layer chi of blocks 2..L of ``model`` (at init) on batch x: (depth - 1,)."""
    depth = len(model.blocks)
    if depth < 2:
        return np.zeros(0)
    arch = model.arch
    if arch == "relu_bn":
        return np.full(depth - 1, BN_RELU_CHI)
    if arch == "residual":
        block = model.blocks[1]
        assert isinstance(block, ResidualBlock)
        return np.full(depth - 1, 1.0 + block.scale**2 * 2.0 * 0.5)
    if arch == "highway":
        return _highway_chi(model, x)
    first = model.blocks[0]
    assert isinstance(first, PlainBlock)
    with torch.no_grad():
        q1 = float(first.linear(x).pow(2).mean())
    return plain_chi(arch, q1, depth)


def meanfield_profile(model: DeepNet, x: torch.Tensor) -> np.ndarray:
    """Predicted ``||delta_l|| / ||delta_L||`` for l = 1..L: (depth,), last entry 1."""
    chi = meanfield_chi(model, x)
    log_sq = np.concatenate([np.cumsum(np.log(chi)[::-1])[::-1], [0.0]])
    return np.exp(0.5 * log_sq)
