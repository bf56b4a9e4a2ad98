"""Per-layer gradient norms and end-to-end Jacobian spectra of deep nets.

Back-propagation multiplies one Jacobian per layer, so the gradient that reaches layer 1 of a
depth-L net is a product of L Jacobians and shrinks (or grows) geometrically with L. This module
measures it on real fingerprints:

- :func:`layer_gradient_norms`: after ``loss.backward()``, the L2 norm of the gradient of each
  named layer's parameters (the pure function the training loop's gradient monitor calls).
- :func:`per_layer_gradients`: one forward/backward pass that records, per hidden layer, the
  norm of dLoss/dW (the layer's main weight matrix) and of dLoss/dh_in (the layer's input).
- :func:`jacobian_spectrum`: singular values of dh_L/dh_1 (the product of the width x width
  Jacobians of blocks 2..L) for a few molecules, in float64.
- :func:`run_gradient_experiment`: all architectures x depths x seeds, at initialization and
  after a few optimizer steps; returns tidy tables.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from molprobe.dynamics.deep_nets import ARCHS, DeepNet
from molprobe.errors import MolprobeError

log = logging.getLogger(__name__)

GRADIENT_COLUMNS = [
    "arch",
    "depth",
    "layer",
    "step",
    "seed",
    "grad_norm_weight",
    "grad_norm_input",
    "loss",
]
JACOBIAN_COLUMNS = [
    "arch",
    "depth",
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


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other string is passed to torch."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def masked_bce_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy over observed labels; NaN targets (B, T) are ignored."""
    mask = ~torch.isnan(targets)
    if not bool(mask.any()):
        return logits.sum() * 0.0
    return nn.functional.binary_cross_entropy_with_logits(
        logits[mask], targets[mask], reduction="mean"
    )


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
    grad_norm_weight: float  # ||dLoss/dW||_F of the block's main weight matrix
    grad_norm_input: float  # ||dLoss/dh_in||_F over the batch (B, fan_in)


def per_layer_gradients(
    model: DeepNet, x: torch.Tensor, y: torch.Tensor
) -> tuple[list[LayerGradient], float]:
    """Norms of dLoss/dW_l and dLoss/dh_(l-1) for every block of ``model`` on batch (x, y).

    x: (B, n_features) float; y: (B, n_tasks) with NaN for missing labels. The loss is the
    masked mean BCE. Returns the per-layer norms (layer 1 first) and the loss value.
    """
    inputs: list[torch.Tensor] = []

    def keep_input(module, args):
        h = args[0]
        if h.requires_grad:
            h.retain_grad()
        inputs.append(h)

    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    handles = [block.register_forward_pre_hook(keep_input) for block in model.blocks]
    try:
        loss = masked_bce_loss(model(x), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    out = []
    for i, (block, h) in enumerate(zip(model.blocks, inputs, strict=True)):
        gw = block.weight.grad
        out.append(
            LayerGradient(
                layer=i + 1,
                grad_norm_weight=float(gw.double().norm()) if gw is not None else math.nan,
                grad_norm_input=float(h.grad.double().norm()) if h.grad is not None else math.nan,
            )
        )
    model.zero_grad(set_to_none=True)
    return out, float(loss.detach())


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


@dataclass(frozen=True)
class GradientExperimentConfig:
    """Settings of the vanishing-gradient experiment (all sizes in molecules or units)."""

    archs: Sequence[str] = ARCHS
    depths: Sequence[int] = (2, 8, 16, 32, 64)
    seeds: Sequence[int] = (0, 1, 2)
    steps: int = 50  # optimizer steps between the two measurements (0 = init only)
    width: int = 128
    batch_size: int = 64  # training mini-batch
    measure_size: int = 256  # fixed batch on which gradients are measured
    learning_rate: float = 1e-3  # Adam
    jacobian_molecules: int = 2
    device: str = "auto"

    def __post_init__(self):
        bad = [a for a in self.archs if a not in ARCHS]
        if bad:
            raise MolprobeError(f"unknown architecture(s) {bad}; choose from {list(ARCHS)}")
        if not self.depths or min(self.depths) < 1:
            raise MolprobeError(f"depths must be >= 1, got {list(self.depths)}")
        if self.steps < 0:
            raise MolprobeError(f"steps must be >= 0, got {self.steps}")


@dataclass
class GradientResults:
    """Tidy tables: per-layer gradient norms and per-molecule Jacobian spectra."""

    gradients: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GRADIENT_COLUMNS))
    jacobian: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=JACOBIAN_COLUMNS))


def _measure(model, arch, depth, step, seed, xm, ym, grad_rows) -> None:
    model.train()
    layers, loss = per_layer_gradients(model, xm, ym)
    for lg in layers:
        grad_rows.append(
            {
                "arch": arch,
                "depth": depth,
                "layer": lg.layer,
                "step": step,
                "seed": seed,
                "grad_norm_weight": lg.grad_norm_weight,
                "grad_norm_input": lg.grad_norm_input,
                "loss": loss,
            }
        )


def run_gradient_experiment(
    features: np.ndarray, targets: np.ndarray, config: GradientExperimentConfig
) -> GradientResults:
    """Measure per-layer gradients of every (arch, depth, seed) at init and after training.

    features: (n, n_features) float32, already standardized (see :func:`prepare_fingerprints`);
    targets: (n, n_tasks) float with NaN for missing labels. The measurement batch is the same
    ``measure_size`` molecules for every run; training batches are drawn from the rest.
    """
    x_all = np.asarray(features, dtype=np.float32)
    y_all = np.asarray(targets, dtype=np.float32)
    if x_all.shape[0] != y_all.shape[0]:
        raise MolprobeError(f"{x_all.shape[0]} feature rows but {y_all.shape[0]} target rows")
    n = x_all.shape[0]
    if n < 4:
        raise MolprobeError(f"need at least 4 molecules, got {n}")
    device = resolve_device(config.device)
    order = np.random.default_rng(12345).permutation(n)
    n_measure = min(config.measure_size, max(2, n // 2))
    measure_idx, train_idx = order[:n_measure], order[n_measure:]
    xm = torch.as_tensor(x_all[measure_idx], device=device)
    ym = torch.as_tensor(y_all[measure_idx], device=device)
    x_train = torch.as_tensor(x_all[train_idx], device=device)
    y_train = torch.as_tensor(y_all[train_idx], device=device)
    n_jac = min(config.jacobian_molecules, n_measure)
    grad_rows: list[dict] = []
    jac_rows: list[dict] = []
    for arch in config.archs:
        for depth in config.depths:
            for seed in config.seeds:
                torch.manual_seed(seed)
                model = DeepNet(arch, x_all.shape[1], y_all.shape[1], depth, config.width).to(
                    device
                )
                _measure(model, arch, depth, 0, seed, xm, ym, grad_rows)
                _jacobian_rows(model, arch, depth, 0, seed, xm, n_jac, jac_rows)
                if config.steps > 0:
                    _train(model, x_train, y_train, config, seed)
                    _measure(model, arch, depth, config.steps, seed, xm, ym, grad_rows)
                    _jacobian_rows(model, arch, depth, config.steps, seed, xm, n_jac, jac_rows)
            log.info("gradients: %s depth %d done", arch, depth)
    grads = pd.DataFrame(grad_rows, columns=GRADIENT_COLUMNS)
    jac = pd.DataFrame(jac_rows, columns=JACOBIAN_COLUMNS)
    return GradientResults(gradients=grads, jacobian=jac)


def _jacobian_rows(model, arch, depth, step, seed, xm, n_jac, jac_rows) -> None:
    if n_jac <= 0 or depth < 2:
        return
    for row in jacobian_spectrum(model, xm, n_jac):
        jac_rows.append({"arch": arch, "depth": depth, "step": step, "seed": seed, **row})


def _train(model: DeepNet, x: torch.Tensor, y: torch.Tensor, config, seed: int) -> None:
    """``config.steps`` Adam steps on random mini-batches of (x, y), masked BCE loss."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate, foreach=True)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    bs = min(config.batch_size, n)
    for _ in range(config.steps):
        idx = torch.randint(0, n, (bs,), generator=gen).to(x.device)
        opt.zero_grad(set_to_none=True)
        loss = masked_bce_loss(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
