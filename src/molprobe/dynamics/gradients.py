"""Per-layer gradient norms and end-to-end Jacobian spectra of deep nets.

Back-propagation multiplies one Jacobian per layer, so the gradient that reaches layer 1 of a
depth-L net is a product of L Jacobians and shrinks (or grows) geometrically with L. This module
measures it on real fingerprints:

- :func:`layer_gradient_norms`: after ``loss.backward()``, the L2 norm of the gradient of each
  named layer's parameters (the pure function the training loop's gradient monitor calls).
- :func:`per_layer_gradients`: one forward/backward pass that records, per hidden layer, the
  error signal ||dLoss/dh_l|| (h_l = the block's output), the norm of dLoss/dW (the layer's
  main weight matrix) and of dLoss/dh_in (the layer's input).
- :func:`jacobian_spectrum`: singular values of dh_L/dh_1 (the product of the width x width
  Jacobians of blocks 2..L) for a few molecules, in float64.
The experiment over architectures, depths, seeds and training stages is
:mod:`molprobe.dynamics.gradient_flow`.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from molprobe.dynamics.deep_nets import DeepNet
from molprobe.errors import MolprobeError
from molprobe.training.losses import masked_bce_with_logits

log = logging.getLogger(__name__)

JACOBIAN_COLUMNS = [
    "arch",
    "depth",
    "stage",
    "step",
    "seed",
    "molecule",
    "log10_spread",
    "mean_log10_sv",
    "log10_sv_max",
    "log10_sv_min",
    "n_nonzero",
    "n_sv",
    "saturated",
]


def layer_gradient_norms(
    model_layers: Iterable[tuple[str, nn.Module]], weights_only: bool = False
) -> dict[str, float]:
    """L2 norm of the current ``.grad`` of each layer's parameters, keyed by layer name.

    Call after ``loss.backward()``. ``weights_only`` keeps matrices (ndim >= 2) and drops
    biases / norm scales. Layers whose parameters have no gradient map to NaN.
    """
    norms: dict[str, float] = {}
    for name, module in model_layers:
        sq = None
        for p in module.parameters():
            if p.grad is None or (weights_only and p.dim() < 2):
                continue
            s = p.grad.detach().double().pow(2).sum()
            sq = s if sq is None else sq + s
        norms[name] = float(sq.sqrt()) if sq is not None else math.nan
    return norms


@dataclass(frozen=True)
class LayerGradient:
    """Gradient norms of one hidden layer (1 = nearest the input) for one batch."""

    layer: int
    error_signal: float  # ||dLoss/dh_l||_F over the batch (B, width), h_l = output of block l
    grad_norm_weight: float  # ||dLoss/dW||_F of the block's main weight matrix
    grad_norm_input: float  # ||dLoss/dh_in||_F over the batch (B, fan_in)


def per_layer_gradients(
    model: DeepNet, x: torch.Tensor, y: torch.Tensor
) -> tuple[list[LayerGradient], float]:
    """Error signal dLoss/dh_l, dLoss/dW_l and dLoss/dh_(l-1) of every block on batch (x, y).

    x: (B, n_features) float; y: (B, n_tasks) with NaN for missing labels. The loss is the
    masked mean BCE. Returns the per-layer norms (layer 1 first) and the loss value. The
    error signal is the lecture's back-propagated delta; the weight gradient multiplies it by
    the layer's input activations (dL/dW_l = delta_pre_l^T h_(l-1)), so the two can disagree.
    """
    inputs: list[torch.Tensor] = []
    outputs: list[torch.Tensor] = []

    def keep_input(module, args):
        h = args[0]
        if h.requires_grad:
            h.retain_grad()
        inputs.append(h)

    def keep_output(module, args, out):
        out.retain_grad()
        outputs.append(out)

    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    handles = [block.register_forward_pre_hook(keep_input) for block in model.blocks]
    handles += [block.register_forward_hook(keep_output) for block in model.blocks]
    try:
        loss = masked_bce_with_logits(model(x), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    out = []
    for i, (block, h, o) in enumerate(zip(model.blocks, inputs, outputs, strict=True)):
        gw = block.weight.grad
        out.append(
            LayerGradient(
                layer=i + 1,
                error_signal=_norm(o.grad),
                grad_norm_weight=_norm(gw),
                grad_norm_input=_norm(h.grad),
            )
        )
    model.zero_grad(set_to_none=True)
    return out, float(loss.detach())


def _norm(t: torch.Tensor | None) -> float:
    return float(t.double().norm()) if t is not None else math.nan


def _batchnorm_from_batch(model: nn.Module, x: torch.Tensor) -> None:
    """Set every BatchNorm's running statistics to those of batch x, then switch to eval.

    So that a per-molecule Jacobian sees the same normalization as the batch forward pass.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: after one batch = that batch's statistics
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()


def jacobian_spectrum(
    model: DeepNet, x: torch.Tensor, n_molecules: int | None = None, rel_tol: float = 1e-12
) -> list[dict[str, float]]:
    """Singular values of the end-to-end Jacobian dh_L/dh_1 (width x width) per molecule.

    Computed in float64 on a copy of ``model`` for the first ``n_molecules`` rows of x (all
    when None); BatchNorm uses the statistics of the whole batch x (B, n_features).
    Singular values below ``rel_tol * sigma_max`` count as zero (ReLU nets have exact zeros;
    float64 also cannot resolve a larger spread). Per molecule returns ``log10_spread`` =
    log10(sigma_max / smallest nonzero sigma), ``mean_log10_sv`` over nonzero sigma,
    ``log10_sv_max``, ``log10_sv_min``, ``n_nonzero``, ``n_sv`` and ``saturated`` (some sigma
    fell below the tolerance: the true spread is at least the reported one).
    """
    if len(model.blocks) < 2:
        return []
    m = copy.deepcopy(model).double()
    x = x.detach().double()
    _batchnorm_from_batch(m, x)
    first, rest = m.blocks[0], m.blocks[1:]

    def body(h: torch.Tensor) -> torch.Tensor:
        h = h.unsqueeze(0)
        for block in rest:
            h = block(h)
        return h.squeeze(0)

    with torch.no_grad():
        h1 = first(x if n_molecules is None else x[:n_molecules])
    rows = []
    for i in range(h1.shape[0]):
        jac = torch.func.jacrev(body)(h1[i]).detach()
        sv = torch.linalg.svdvals(jac)
        smax = float(sv.max())
        if not math.isfinite(smax) or smax <= 0:
            rows.append(
                {
                    "molecule": i,
                    "log10_spread": math.nan,
                    "mean_log10_sv": -math.inf if smax == 0 else math.nan,
                    "log10_sv_max": math.log10(smax) if smax > 0 else -math.inf,
                    "log10_sv_min": math.nan,
                    "n_nonzero": 0,
                    "n_sv": int(sv.numel()),
                    "saturated": True,
                }
            )
            continue
        nz = sv[sv > rel_tol * smax]
        logs = torch.log10(nz)
        rows.append(
            {
                "molecule": i,
                "log10_spread": float(logs.max() - logs.min()),
                "mean_log10_sv": float(logs.mean()),
                "log10_sv_max": float(logs.max()),
                "log10_sv_min": float(logs.min()),
                "n_nonzero": int(nz.numel()),
                "n_sv": int(sv.numel()),
                "saturated": bool(nz.numel() < sv.numel()),
            }
        )
    return rows


def prepare_fingerprints(
    bits: np.ndarray, min_frequency: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Standardize fingerprint bits for deep nets: (n, n_bits) -> (n, n_kept) float32.

    Keeps bits set in at least ``min_frequency`` and at most ``1 - min_frequency`` of the
    molecules (rarer bits would become huge after scaling), then z-scores each kept column.
    Returns the features and the indices of the kept bits.
    """
    x = np.asarray(bits, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise MolprobeError(f"need a (n_molecules >= 2, n_bits) matrix, got shape {x.shape}")
    freq = (x > 0).mean(axis=0)
    keep = np.flatnonzero((freq >= min_frequency) & (freq <= 1 - min_frequency))
    if keep.size == 0:
        raise MolprobeError("no fingerprint bit is set in enough molecules to be informative")
    x = x[:, keep]
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return x.astype(np.float32), keep
