"""Multi-task losses with missing labels masked.

Labels are float tensors (B, T) with NaN where a molecule was not measured in a task.
The loss is the mean over measured (molecule, task) entries; masked entries contribute
neither value nor gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


def masked_bce_with_logits(
    logits: torch.Tensor, targets: torch.Tensor, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy on logits (B, T) vs 0/1/NaN targets (B, T), averaged over
    measured entries. ``pos_weight`` (T,) multiplies the positive-class term per task."""
    mask = ~torch.isnan(targets)
    safe = torch.where(mask, targets, torch.zeros_like(targets))
    # half-precision (AMP) logits are computed in float32; float64 (gradient studies) stays
    logits = logits if logits.dtype == torch.float64 else logits.float()
    loss = F.binary_cross_entropy_with_logits(
        logits, safe.to(logits.dtype), pos_weight=pos_weight, reduction="none"
    )
    loss = torch.where(mask, loss, torch.zeros_like(loss))
    return loss.sum() / mask.sum().clamp(min=1)


def masked_mse(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error (B, T) over measured entries (targets NaN = missing)."""
    mask = ~torch.isnan(targets)
    diff = torch.where(
        mask,
        predictions.float() - targets.float(),
        torch.zeros_like(predictions, dtype=torch.float32),
    )
    return (diff**2).sum() / mask.sum().clamp(min=1)


def positive_weights(Y_train: np.ndarray) -> np.ndarray:
    """Per-task ``n_negative / n_positive`` on measured training labels (T,); 1 where a
    task has no positives or no negatives."""
    Y = np.asarray(Y_train, dtype=np.float64)
    pos = np.nansum(Y == 1, axis=0).astype(np.float64)
    neg = np.nansum(Y == 0, axis=0).astype(np.float64)
    w = np.ones(Y.shape[1])
    ok = (pos > 0) & (neg > 0)
    w[ok] = neg[ok] / pos[ok]
    return w


@dataclass
class TargetScaler:
    """Per-task standardisation of regression targets, fitted on the train split.

    ``mean`` / ``std`` are lists of length T (units of the task); saved in meta.json.
    """

    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, Y_train: np.ndarray) -> TargetScaler:
        Y = np.asarray(Y_train, dtype=np.float64)
        mean = np.zeros(Y.shape[1])
        std = np.ones(Y.shape[1])
        for t in range(Y.shape[1]):
            col = Y[~np.isnan(Y[:, t]), t]
            if col.size:
                mean[t] = col.mean()
                s = col.std()
                std[t] = s if s > 1e-12 else 1.0
        return cls(mean.tolist(), std.tolist())

    def transform(self, Y: np.ndarray) -> np.ndarray:
        return (np.asarray(Y, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.std)

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float64) * np.asarray(self.std) + np.asarray(self.mean)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> TargetScaler:
        return cls(list(d["mean"]), list(d["std"]))
