"""The depth experiment of the SNN paper (Klambauer et al. 2017, Table 2 shape) on ECFP.

SNN (SELU, LeCun init) vs BN-ReLU vs ReLU-He vs a residual MLP (the project's
:class:`DeepNet`) at several depths; per (arch, depth, split) the learning rate is chosen
from a small grid by the mean validation ROC-AUC over seeds (never on test), then the test
ROC-AUC of that choice is reported as mean with a 95 % t-interval over seeds. Training: Adam,
masked BCE over all tasks, early stopping on validation loss, no gradient clipping unless
``clip_norm`` > 0 (a labelled arm).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats

from molprobe.chem.splits import Split
from molprobe.dynamics.deep_nets import DeepNet
from molprobe.training.device import resolve_device
from molprobe.training.early_stopping import EarlyStopping
from molprobe.training.losses import masked_bce_with_logits
from molprobe.training.metrics import primary_metric

#: depth-experiment families -> DeepNet architecture (SNN = SELU net, FNN-BN = BN-ReLU net)
DEPTH_FAMILIES = {"snn": "selu", "fnn_bn": "relu_bn", "relu_he": "relu", "residual": "residual"}
DEPTH_ARCHS = tuple(DEPTH_FAMILIES.values())


@dataclass(frozen=True)
class DepthSweepConfig:
    """Settings of the depth sweep (sizes in units or molecules)."""

    archs: Sequence[str] = DEPTH_ARCHS
    depths: Sequence[int] = (2, 4, 8, 16, 32)
    learning_rates: Sequence[float] = (1e-4, 1e-3)
    width: int = 256
    batch_size: int = 128
    max_epochs: int = 30
    patience: int = 5
    clip_norm: float = 0.0  # 0 = no clipping (the main arm)
    device: str = "auto"


def _fit(x, y, split: Split, arch, depth, lr, seed, config) -> tuple[float, float, int]:
    """Train one net; returns (validation ROC-AUC, test ROC-AUC, best epoch)."""
    device = resolve_device(config.device)
    xt = {
        k: torch.as_tensor(x[getattr(split, k)], device=device) for k in ("train", "valid", "test")
    }
    yt = {
        k: torch.as_tensor(y[getattr(split, k)], device=device) for k in ("train", "valid", "test")
    }
    torch.manual_seed(seed)
    model = DeepNet(arch, x.shape[1], y.shape[1], depth, config.width).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    stopper = EarlyStopping(patience=config.patience, mode="min")
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.randperm(xt["train"].shape[0], generator=gen).to(device)
        for start in range(0, order.numel(), config.batch_size):
            idx = order[start : start + config.batch_size]
            if idx.numel() < 2:
                continue
            opt.zero_grad(set_to_none=True)
            masked_bce_with_logits(model(xt["train"][idx]), yt["train"][idx]).backward()
            if config.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            opt.step()
        model.eval()
        with torch.no_grad():
            val = float(masked_bce_with_logits(model(xt["valid"]), yt["valid"]))
        stopper.update(model, epoch, val)
        if stopper.should_stop:
            break
    stopper.restore(model)
    model.eval()
    with torch.no_grad():
        scores = {k: torch.sigmoid(model(xt[k])).cpu().numpy() for k in ("valid", "test")}
    val_auc = primary_metric(y[split.valid], scores["valid"], "classification")
    test_auc = primary_metric(y[split.test], scores["test"], "classification")
    return float(val_auc), float(test_auc), stopper.best_epoch


def standardize_on(bits: np.ndarray, rows: np.ndarray, min_frequency: float = 0.01) -> np.ndarray:
    """Keep bits set in 1-99 % of ``rows`` (the training molecules) and z-score every row with
    those rows' mean and std: (n, n_bits) -> (n, n_kept) float32."""
    x = np.asarray(bits, dtype=np.float64)
    freq = (x[rows] > 0).mean(axis=0)
    keep = np.flatnonzero((freq >= min_frequency) & (freq <= 1 - min_frequency))
    mean, std = x[rows][:, keep].mean(axis=0), x[rows][:, keep].std(axis=0)
    return ((x[:, keep] - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def depth_run(
    bits: np.ndarray, y: np.ndarray, split: Split, arch: str, depth: int, seed: int,
    config: DepthSweepConfig,
) -> pd.DataFrame:  # fmt: skip
    """One (family, depth, split, seed) cell over the lr grid: one row per learning rate.

    ``arch``: a family of :data:`DEPTH_FAMILIES` (or a DeepNet architecture name)."""
    family, arch = arch, DEPTH_FAMILIES.get(arch, arch)
    x = standardize_on(bits, split.train)
    y = np.asarray(y, dtype=np.float32)
    rows = []
    for lr in config.learning_rates:
        val, test, epoch = _fit(x, y, split, arch, depth, lr, seed, config)
        rows.append(
            {"split": split.method, "family": family, "arch": arch, "depth": depth, "lr": lr, "seed": seed,
             "val_roc_auc": val, "test_roc_auc": test, "best_epoch": epoch,
             "clipped": config.clip_norm > 0}
        )  # fmt: skip
    return pd.DataFrame(rows)


def run_depth_sweep(
    x: np.ndarray,
    y: np.ndarray,
    splits: Mapping[str, Sequence[tuple[int, Split]]],
    config: DepthSweepConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every (split, arch, depth, lr, seed) run, and the per-depth summary.

    x: (n, n_features) standardized float32; y: (n, n_tasks), NaN = missing;
    splits: split method -> [(seed, Split), ...]. Returns (runs, summary); the summary holds,
    per (split, arch, depth), the chosen lr (best mean validation ROC-AUC) and the test
    ROC-AUC mean with its 95 % t-interval over seeds.
    """
    rows = []
    for method, seeded in splits.items():
        for arch in config.archs:
            for depth in config.depths:
                for lr in config.learning_rates:
                    for seed, split in seeded:
                        val, test, epoch = _fit(x, y, split, arch, depth, lr, seed, config)
                        rows.append(
                            {
                                "split": method,
                                "arch": arch,
                                "depth": depth,
                                "lr": lr,
                                "seed": seed,
                                "val_roc_auc": val,
                                "test_roc_auc": test,
                                "best_epoch": epoch,
                                "clipped": config.clip_norm > 0,
                            }
                        )
    runs = pd.DataFrame(rows)
    return runs, depth_summary(runs)


def depth_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (split, arch, depth): lr chosen on validation, test ROC-AUC mean and 95 % CI."""
    out = []
    if "family" not in runs.columns:
        runs = runs.assign(family=runs["arch"])
    for (method, family, arch, depth), d in runs.groupby(
        ["split", "family", "arch", "depth"], sort=False
    ):
        lr = d.groupby("lr")["val_roc_auc"].mean().idxmax()
        chosen = d[d["lr"] == lr]
        t = chosen["test_roc_auc"].to_numpy()
        n = len(t)
        half = stats.t.ppf(0.975, n - 1) * t.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        out.append(
            {
                "split": method,
                "family": family,
                "arch": arch,
                "depth": depth,
                "lr": lr,
                "n_seeds": n,
                "val_roc_auc": float(chosen["val_roc_auc"].mean()),
                "test_roc_auc": float(t.mean()),
                "test_roc_auc_low": float(t.mean() - half),
                "test_roc_auc_high": float(t.mean() + half),
            }
        )
    out = pd.DataFrame(out)
    if not out.empty:  # the report's depth plot reads model, depth, mean, ci_low, ci_high
        out["model"] = out["family"] + " / " + out["split"]
        out["mean"], out["metric"] = out["test_roc_auc"], "roc_auc"
        out["ci_low"], out["ci_high"] = out["test_roc_auc_low"], out["test_roc_auc_high"]
    return out
