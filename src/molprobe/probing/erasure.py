"""Causal test: does the net use what the probe finds?

At a layer, erase the linear information about a set of concepts with LEACE (Belrose et al.
2023, "LEACE: Perfect linear concept erasure in closed form"; the ``concept-erasure``
package), run the rest of the net on the erased representation and measure the drop in task
ROC-AUC; the control erases a random subspace of the same rank (an orthogonal projection
around the mean). The eraser is fitted on one half of the molecules and evaluated on the
other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.probing.probes import auc_columns

Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ErasureConfig:
    """n_random: random-subspace controls; seed: their RNG."""

    n_random: int = 3
    seed: int = 0


def leace_eraser(X: np.ndarray, Z: np.ndarray) -> tuple[Transform, int]:
    """LEACE eraser of concepts Z (n, k) from X (n, d); returns (transform, erased rank)."""
    from concept_erasure import LeaceEraser

    Xt = torch.as_tensor(np.asarray(X, np.float32))
    Zt = torch.as_tensor(np.asarray(Z, np.float32))
    eraser = LeaceEraser.fit(Xt, Zt)
    cross = torch.cov(torch.cat([Xt, Zt], 1).T)[: X.shape[1], X.shape[1] :]
    rank = int(torch.linalg.matrix_rank(cross.double(), rtol=1e-6))

    def apply(h: torch.Tensor) -> torch.Tensor:
        return eraser(h.float()).to(h.dtype)

    return apply, max(rank, 1)


def random_eraser(X: np.ndarray, rank: int, seed: int) -> Transform:
    """Project out a random ``rank``-dimensional subspace around the mean of X (n, d)."""
    d = X.shape[1]
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(d, min(rank, d), generator=g))
    mu = torch.as_tensor(np.asarray(X, np.float32).mean(0))

    def apply(h: torch.Tensor) -> torch.Tensor:
        c = h.float() - mu.to(h.device)
        q = Q.to(h.device)
        return (c - (c @ q) @ q.T + mu.to(h.device)).to(h.dtype)

    return apply


def task_auc(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean ROC-AUC over tasks (columns) with both classes; NaN labels ignored."""
    with np.errstate(all="ignore"):
        return float(np.nanmean(auc_columns(pred, y)))


def erasure_effect(
    X_fit: np.ndarray,
    Z_fit: np.ndarray,
    head: Callable[[Transform | None], np.ndarray],
    y_task: np.ndarray,
    eval_rows: np.ndarray,
    cfg: ErasureConfig | None = None,
) -> dict:
    """Task AUC drop when erasing concepts Z vs a random subspace of the same rank.

    Args:
        X_fit: (m, d) the layer's representation on the fitting molecules (or their atoms);
            Z_fit: (m, k) their concept labels (0/1).
        head: runs the net from that layer with the given transform on its output (None =
            untouched) and returns task scores (n, T) for all n molecules.
        y_task: (n, T) task labels (NaN = missing). eval_rows: molecules scored, none of them
            among the fitting molecules (the caller's split).
    Returns: rank, auc (untouched), auc_concept, auc_random (mean), auc_random_sd, drop_concept,
        drop_random (auc minus erased AUC), n_fit, n_eval, width, informative (rank at most
        half the width: erasing most of the space says nothing about these concepts).
    """
    cfg = cfg or ErasureConfig()
    keep = Z_fit.min(0) != Z_fit.max(0) if len(Z_fit) else np.zeros(Z_fit.shape[1], bool)
    if not keep.any():
        raise MolprobeError("erasure: no concept varies among the fitting molecules")
    eraser, rank = leace_eraser(X_fit, Z_fit[:, keep])
    y = y_task[eval_rows]
    base = task_auc(head(None)[eval_rows], y)
    concept = task_auc(head(eraser)[eval_rows], y)
    rnd = [
        task_auc(head(random_eraser(X_fit, rank, cfg.seed + i))[eval_rows], y)
        for i in range(cfg.n_random)
    ]
    return {
        "rank": rank, "auc": base, "auc_concept": concept, "auc_random": float(np.mean(rnd)),
        "auc_random_sd": float(np.std(rnd)), "drop_concept": base - concept,
        "drop_random": base - float(np.mean(rnd)), "n_fit": len(X_fit), "n_eval": len(eval_rows),
        "width": X_fit.shape[1], "informative": rank <= X_fit.shape[1] // 2,
    }  # fmt: skip


@torch.no_grad()
def run_with_transform(
    model: nn.Module, module: nn.Module, batches: Iterable, transform: Transform | None
) -> np.ndarray:
    """Sigmoid outputs (n, T) of ``model`` over ``batches`` with ``module``'s output replaced
    by ``transform(output)`` (None = untouched); eval mode."""
    model.eval()
    handle = None
    if transform is not None:
        handle = module.register_forward_hook(lambda m, a, out: transform(out))
    try:
        return torch.cat([torch.sigmoid(model(b).float()) for b in batches]).cpu().numpy()
    finally:
        if handle is not None:
            handle.remove()
