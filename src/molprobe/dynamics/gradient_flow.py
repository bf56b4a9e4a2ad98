"""Gradient flow through depth: error signal vs weight gradient vs mean-field, over training.

For every architecture x depth x seed, a :class:`DeepNet` on standardized ECFP is measured on
a fixed batch at three stages: ``init``, after the first epoch (``epoch1``) and at the end of
training (``final``: Adam, no gradient clipping, early-stopped on the validation loss, the
best-validation weights restored). Per layer the table holds the error signal
||dLoss/dh_l|| (the lecture's back-propagated delta), the weight-gradient norm ||dLoss/dW_l||
and, at init, the mean-field prediction of the error signal (:mod:`.meanfield`). The headline
is the error-signal ratio layer 1 / layer L; the weight-gradient ratio is reported beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import stats

from molprobe.dynamics.deep_nets import ARCHS, DeepNet
from molprobe.dynamics.gradients import (
    JACOBIAN_COLUMNS,
    jacobian_spectrum,
    per_layer_gradients,
)
from molprobe.dynamics.meanfield import highway_carry, meanfield_profile
from molprobe.errors import MolprobeError
from molprobe.training.device import resolve_device
from molprobe.training.early_stopping import EarlyStopping
from molprobe.training.losses import masked_bce_with_logits

log = logging.getLogger(__name__)

STAGES = ("init", "epoch1", "final")
GRADIENT_COLUMNS = [
    "arch",
    "depth",
    "layer",
    "stage",
    "step",
    "seed",
    "error_signal",
    "meanfield_error_signal",
    "grad_norm_weight",
    "grad_norm_input",
    "loss",
]
RUN_COLUMNS = ["arch", "depth", "seed", "epochs", "best_epoch", "best_val_loss", "carry"]


@dataclass(frozen=True)
class GradientFlowConfig:
    """Settings of the gradient-flow experiment (sizes in molecules or units)."""

    archs: Sequence[str] = ARCHS
    depths: Sequence[int] = (2, 8, 16, 32, 64)
    seeds: Sequence[int] = (0, 1, 2)
    width: int = 128
    batch_size: int = 64  # training mini-batch
    measure_size: int = 256  # fixed batch on which gradients are measured
    val_fraction: float = 0.2  # of the molecules left after the measurement batch
    learning_rate: float = 1e-3  # Adam, no gradient clipping
    max_epochs: int = 30
    patience: int = 5  # epochs without a lower validation loss before stopping
    jacobian_molecules: int = 64
    jacobian_depths: Sequence[int] | None = None  # None = every depth
    device: str = "auto"

    def __post_init__(self):
        bad = [a for a in self.archs if a not in ARCHS]
        if bad:
            raise MolprobeError(f"unknown architecture(s) {bad}; choose from {list(ARCHS)}")
        if not self.depths or min(self.depths) < 1:
            raise MolprobeError(f"depths must be >= 1, got {list(self.depths)}")
        if self.max_epochs < 1 or self.patience < 1:
            raise MolprobeError("max_epochs and patience must be >= 1")
        if not 0 < self.val_fraction < 1:
            raise MolprobeError(f"val_fraction must be in (0, 1), got {self.val_fraction}")


@dataclass
class GradientFlowResults:
    """Per-layer gradients, per-molecule Jacobian spectra, per-run training facts, summary."""

    gradients: pd.DataFrame
    jacobian: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)


def _rows(model, arch, depth, stage, step, seed, xm, ym, predicted) -> list[dict]:
    model.train()  # BatchNorm with batch statistics, as during training
    layers, loss = per_layer_gradients(model, xm, ym)
    last = layers[-1].error_signal
    return [
        {
            "arch": arch,
            "depth": depth,
            "layer": lg.layer,
            "stage": stage,
            "step": step,
            "seed": seed,
            "error_signal": lg.error_signal,
            "meanfield_error_signal": float(predicted[i] * last)
            if predicted is not None
            else np.nan,
            "grad_norm_weight": lg.grad_norm_weight,
            "grad_norm_input": lg.grad_norm_input,
            "loss": loss,
        }
        for i, lg in enumerate(layers)
    ]


def _epoch(model, opt, x, y, batch_size, gen) -> int:
    """One pass over (x, y) in random mini-batches; returns the number of steps."""
    model.train()
    order = torch.randperm(x.shape[0], generator=gen).to(x.device)
    steps = 0
    for start in range(0, x.shape[0], batch_size):
        idx = order[start : start + batch_size]
        if idx.numel() < 2:  # BatchNorm needs two rows
            continue
        opt.zero_grad(set_to_none=True)
        masked_bce_with_logits(model(x[idx]), y[idx]).backward()
        opt.step()
        steps += 1
    return steps


def _val_loss(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return float(masked_bce_with_logits(model(x), y))


def _split(n: int, config: GradientFlowConfig):
    order = np.random.default_rng(12345).permutation(n)
    n_measure = min(config.measure_size, max(2, n // 4))
    rest = order[n_measure:]
    n_val = max(2, int(round(config.val_fraction * rest.size)))
    return order[:n_measure], rest[n_val:], rest[:n_val]


def run_gradient_flow(
    features: np.ndarray, targets: np.ndarray, config: GradientFlowConfig
) -> GradientFlowResults:
    """Measure every (arch, depth, seed) at init, after epoch 1 and at early stopping.

    features: (n, n_features) float32, standardized (see ``prepare_fingerprints``); targets:
    (n, n_tasks) float, NaN = missing. The measurement batch (``measure_size`` molecules), the
    validation and the training molecules are disjoint and the same for every run.
    """
    x_all = np.asarray(features, dtype=np.float32)
    y_all = np.asarray(targets, dtype=np.float32)
    if x_all.shape[0] != y_all.shape[0]:
        raise MolprobeError(f"{x_all.shape[0]} feature rows but {y_all.shape[0]} target rows")
    if x_all.shape[0] < 12:
        raise MolprobeError(f"need at least 12 molecules, got {x_all.shape[0]}")
    device = resolve_device(config.device)
    m_idx, t_idx, v_idx = _split(x_all.shape[0], config)

    def tensor(a, idx):
        return torch.as_tensor(a[idx], device=device)

    xm, ym = tensor(x_all, m_idx), tensor(y_all, m_idx)
    xt, yt = tensor(x_all, t_idx), tensor(y_all, t_idx)
    xv, yv = tensor(x_all, v_idx), tensor(y_all, v_idx)
    jac_depths = set(config.depths if config.jacobian_depths is None else config.jacobian_depths)
    n_jac = min(config.jacobian_molecules, xm.shape[0])
    grad_rows, jac_rows, run_rows = [], [], []

    def jacobian(model, arch, depth, stage, step, seed):
        if n_jac > 0 and depth >= 2 and depth in jac_depths:
            for r in jacobian_spectrum(model, xm, n_jac):
                jac_rows.append(
                    {"arch": arch, "depth": depth, "stage": stage, "step": step, "seed": seed, **r}
                )

    for arch in config.archs:
        for depth in config.depths:
            for seed in config.seeds:
                torch.manual_seed(seed)
                model = DeepNet(arch, x_all.shape[1], y_all.shape[1], depth, config.width)
                model = model.to(device)
                predicted = meanfield_profile(model, xm)
                carry = highway_carry(model, xm).mean() if arch == "highway" else np.nan
                grad_rows += _rows(model, arch, depth, "init", 0, seed, xm, ym, predicted)
                jacobian(model, arch, depth, "init", 0, seed)
                opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
                gen = torch.Generator().manual_seed(seed)
                stopper, step = EarlyStopping(patience=config.patience, mode="min"), 0
                for epoch in range(1, config.max_epochs + 1):
                    step += _epoch(model, opt, xt, yt, config.batch_size, gen)
                    if epoch == 1:
                        grad_rows += _rows(model, arch, depth, "epoch1", step, seed, xm, ym, None)
                        jacobian(model, arch, depth, "epoch1", step, seed)
                    val = _val_loss(model, xv, yv)
                    stopper.update(model, epoch, val, step=step)
                    if stopper.should_stop:
                        break
                stopper.restore(model)
                best_step = stopper.best_step
                grad_rows += _rows(model, arch, depth, "final", best_step, seed, xm, ym, None)
                jacobian(model, arch, depth, "final", best_step, seed)
                run_rows.append(
                    {
                        "arch": arch,
                        "depth": depth,
                        "seed": seed,
                        "epochs": epoch,
                        "best_epoch": stopper.best_epoch,
                        "best_val_loss": stopper.best,
                        "carry": carry,
                    }
                )
            log.info("gradient flow: %s depth %d done", arch, depth)
    grads = pd.DataFrame(grad_rows, columns=GRADIENT_COLUMNS)
    runs = pd.DataFrame(run_rows, columns=RUN_COLUMNS)
    return GradientFlowResults(
        gradients=grads,
        jacobian=pd.DataFrame(jac_rows, columns=JACOBIAN_COLUMNS),
        runs=runs,
        summary=gradient_summary(grads, runs),
    )


def geometric_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Geometric mean of positive values and its t-interval over them (NaN when < 2 values)."""
    v = np.asarray(values, dtype=float)
    v = np.log(v[np.isfinite(v) & (v > 0)])
    if v.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    if v.size < 2:
        return float(np.exp(mean)), np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(np.exp(mean)), float(np.exp(mean - half)), float(np.exp(mean + half))


def gradient_summary(gradients: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (arch, depth, stage): layer-1 / layer-L ratios over seeds with 95 % t-intervals.

    ``error_signal_ratio`` (headline), ``weight_grad_ratio`` (labelled as such), the mean-field
    ``meanfield_ratio`` (init only), the per-layer squared growth ``chi_measured`` =
    ratio^(2/(L-1)) and ``chi_meanfield``; the highway's mean measured carry from ``runs``.
    """
    rows = []
    g = gradients[gradients["depth"] >= 2]
    for (arch, depth, stage), d in g.groupby(["arch", "depth", "stage"], sort=False):
        first = d[d["layer"] == 1].set_index("seed")
        last = d[d["layer"] == depth].set_index("seed")
        row = {"arch": arch, "depth": depth, "stage": stage, "n_seeds": len(first)}
        row["step"] = float(first["step"].mean())
        for name, col in (
            ("error_signal_ratio", "error_signal"),
            ("weight_grad_ratio", "grad_norm_weight"),
            ("meanfield_ratio", "meanfield_error_signal"),
        ):
            m, lo, hi = geometric_interval(first[col] / last[col])
            row.update({name: m, f"{name}_low": lo, f"{name}_high": hi})
        row["chi_measured"] = row["error_signal_ratio"] ** (2.0 / (depth - 1))
        row["chi_meanfield"] = row["meanfield_ratio"] ** (2.0 / (depth - 1))
        rows.append(row)
    out = pd.DataFrame(rows)
    if runs is not None and not runs.empty and not out.empty:
        facts = runs.groupby(["arch", "depth"], as_index=False).agg(
            carry=("carry", "mean"), best_epoch=("best_epoch", "mean")
        )
        out = out.merge(facts, on=["arch", "depth"], how="left")
    order = {s: i for i, s in enumerate(STAGES)}
    if not out.empty:
        out = out.sort_values(
            ["stage", "arch", "depth"], key=lambda c: c.map(order) if c.name == "stage" else c
        )
    return out.reset_index(drop=True)


def headline_lines(summary: pd.DataFrame) -> list[str]:
    """One line per (stage, arch) at the largest depth: the ratios beside mean-field."""
    out = []
    for _, r in summary[summary["depth"] == summary["depth"].max()].iterrows():
        out.append(
            f"  depth {r['depth']} {r['stage']:<6} {r['arch']:<9} layer1/layerL error signal "
            f"{r['error_signal_ratio']:.3g} [{r['error_signal_ratio_low']:.3g}, "
            f"{r['error_signal_ratio_high']:.3g}], mean-field {r['meanfield_ratio']:.3g}, "
            f"weight gradient {r['weight_grad_ratio']:.3g}"
        )
    return out
