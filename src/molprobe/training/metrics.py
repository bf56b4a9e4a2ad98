"""Evaluation metrics per task and averaged over tasks, with bootstrap confidence intervals.

Classification: ROC-AUC and PR-AUC (average precision, as scikit-learn defines it).
Regression: RMSE, MAE, R² (in the task's units). Labels are (n, T) float with NaN =
not measured. A classification task whose test rows hold a single class gets NaN, is left
out of the mean and counted in ``n_tasks_skipped``.

Bootstrap: the test molecules are resampled ``n_bootstrap`` times (seeded) jointly for all
tasks; each resample is a vector of multiplicities, so every metric is computed for all
resamples at once as a weighted metric (no Python loop over resamples).
The 95% CI is the 2.5 / 97.5 percentile of the resampled values.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from molprobe.fileio import json_safe

CLASSIFICATION_METRICS = ("roc_auc", "pr_auc")
REGRESSION_METRICS = ("rmse", "mae", "r2")
#: metric used for early stopping / ranking, and whether larger is better
N_BOOTSTRAP = 200  # bootstrap resamples of the test set for metric CIs (one default everywhere)
PRIMARY = {"classification": ("roc_auc", True), "regression": ("rmse", False)}


# ----------------------------------------------------------------------------- weighted metrics


def _tie_groups(scores_sorted: np.ndarray) -> np.ndarray:
    """Start index of each run of equal scores in a sorted 1-D array."""
    if scores_sorted.size == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(np.diff(scores_sorted)) + 1
    return np.concatenate([[0], change])


def weighted_roc_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC-AUC of scores ``s`` (n,) for 0/1 labels ``y`` (n,) under weights ``w`` (R, n).

    Returns (R,); NaN where a weighting leaves no positive or no negative. Ties count 1/2
    (Mann-Whitney), matching ``sklearn.metrics.roc_auc_score`` for unit weights.
    """
    order = np.argsort(s, kind="mergesort")
    s, y, w = s[order], y[order], w[:, order]
    starts = _tie_groups(s)
    pos = np.add.reduceat(w * y, starts, axis=1)  # (R, G) positive weight per score group
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    n_pos, n_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
    auc[(n_pos <= 0) | (n_neg <= 0)] = np.nan
    return auc


def weighted_average_precision(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average precision (area under the step PR curve) under weights ``w`` (R, n) -> (R,).

    Matches ``sklearn.metrics.average_precision_score`` for unit weights; NaN without
    positives or without negatives.
    """
    order = np.argsort(-s, kind="mergesort")
    s, y, w = s[order], y[order], w[:, order]
    starts = _tie_groups(s)
    pos = np.add.reduceat(w * y, starts, axis=1)
    neg = np.add.reduceat(w * (1 - y), starts, axis=1)
    tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)
    n_pos, n_neg = tp[:, -1], fp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (pos * precision).sum(axis=1) / n_pos
    ap[(n_pos <= 0) | (n_neg <= 0)] = np.nan
    return ap


def weighted_regression(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """RMSE, MAE and R² of predictions ``p`` (n,) vs ``y`` (n,) under weights (R, n)."""
    total = w.sum(axis=1)
    err = p - y
    with np.errstate(invalid="ignore", divide="ignore"):
        mse = (w * err**2).sum(axis=1) / total
        mae = (w * np.abs(err)).sum(axis=1) / total
        mean = (w * y).sum(axis=1) / total
        ss_tot = (w * (y[None, :] - mean[:, None]) ** 2).sum(axis=1)
        r2 = 1.0 - (w * err**2).sum(axis=1) / ss_tot
    r2[~(ss_tot > 0)] = np.nan
    return {"rmse": np.sqrt(mse), "mae": mae, "r2": r2}


# ----------------------------------------------------------------------------- results


@dataclass
class TaskScore:
    """Metrics of one task on one split: value and 95% bootstrap CI per metric."""

    task: str
    n: int
    n_positive: int | None
    values: dict[str, float]
    ci_low: dict[str, float]
    ci_high: dict[str, float]


@dataclass
class Evaluation:
    """Per-task and task-mean metrics of one model on one split.

    ``mean[m]`` averages metric m over tasks where it is defined; ``mean_ci_low/high`` is
    the bootstrap 95% CI of that mean. ``n_tasks_skipped``: tasks with NaN primary metric.
    """

    task_type: str
    n_molecules: int
    tasks: list[TaskScore]
    mean: dict[str, float]
    mean_ci_low: dict[str, float]
    mean_ci_high: dict[str, float]
    n_tasks_skipped: int
    n_bootstrap: int
    bootstrap_seed: int
    skipped_tasks: list[str] = field(default_factory=list)

    @property
    def primary(self) -> float:
        """Mean ROC-AUC (classification) or mean RMSE (regression)."""
        return self.mean[PRIMARY[self.task_type][0]]

    def to_dict(self) -> dict:
        """JSON-serialisable form (NaN -> None)."""
        return json_safe(asdict(self))


def _nanpercentile(x: np.ndarray, q: float) -> float:
    x = x[~np.isnan(x)]
    return float(np.percentile(x, q)) if x.size else float("nan")


def evaluate(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    task_names: list[str],
    task_type: str = "classification",
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> Evaluation:
    """Score predictions against labels.

    Args:
        y_true: (n, T) labels, NaN = not measured (0/1 for classification).
        y_pred: (n, T) positive-class probabilities or regression values (task units).
        task_names: T names. task_type: ``classification`` | ``regression``.
        n_bootstrap: resamples of the n molecules for the CIs (0 = no CIs).
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    if y_true.shape != y_pred.shape or y_true.shape[1] != len(task_names):
        raise ValueError(
            f"shapes differ: labels {y_true.shape}, predictions {y_pred.shape}, {len(task_names)} tasks"
        )
    n, n_tasks = y_true.shape
    names = CLASSIFICATION_METRICS if task_type == "classification" else REGRESSION_METRICS
    rng = np.random.default_rng(seed)
    # row 0: the observed sample (unit weights); rows 1..: bootstrap multiplicities
    weights = np.ones((1 + n_bootstrap, n))
    if n_bootstrap and n:
        draws = rng.integers(0, n, size=(n_bootstrap, n))
        weights[1:] = np.apply_along_axis(np.bincount, 1, draws, minlength=n)
    per_task = np.full((len(names), n_tasks, 1 + n_bootstrap), np.nan)
    tasks: list[TaskScore] = []
    for t in range(n_tasks):
        rows = ~np.isnan(y_true[:, t]) & ~np.isnan(y_pred[:, t])
        y, p, w = y_true[rows, t], y_pred[rows, t], weights[:, rows]
        n_pos = None
        if rows.sum() > 0:
            if task_type == "classification":
                n_pos = int((y == 1).sum())
                per_task[0, t] = weighted_roc_auc(y, p, w)
                per_task[1, t] = weighted_average_precision(y, p, w)
            else:
                reg = weighted_regression(y, p, w)
                for k, m in enumerate(names):
                    per_task[k, t] = reg[m]
        tasks.append(
            TaskScore(
                task=task_names[t],
                n=int(rows.sum()),
                n_positive=n_pos,
                values={m: float(per_task[k, t, 0]) for k, m in enumerate(names)},
                ci_low={m: _nanpercentile(per_task[k, t, 1:], 2.5) for k, m in enumerate(names)},
                ci_high={m: _nanpercentile(per_task[k, t, 1:], 97.5) for k, m in enumerate(names)},
            )
        )
    skipped = [task_names[t] for t in range(n_tasks) if np.isnan(per_task[0, t, 0])]
    valid = ~np.isnan(per_task[0, :, 0])  # tasks defined on the observed test set
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = (
            np.nanmean(per_task[:, valid, :], axis=1) if valid.any() else per_task[:, 0, :] * np.nan
        )
    return Evaluation(
        task_type=task_type,
        n_molecules=n,
        tasks=tasks,
        mean={m: float(means[k, 0]) for k, m in enumerate(names)},
        mean_ci_low={m: _nanpercentile(means[k, 1:], 2.5) for k, m in enumerate(names)},
        mean_ci_high={m: _nanpercentile(means[k, 1:], 97.5) for k, m in enumerate(names)},
        n_tasks_skipped=len(skipped),
        n_bootstrap=n_bootstrap,
        bootstrap_seed=seed,
        skipped_tasks=skipped,
    )


def primary_metric(y_true: np.ndarray, y_pred: np.ndarray, task_type: str) -> float:
    """Mean ROC-AUC (classification) or mean RMSE (regression) without CIs (for early stopping)."""
    n_tasks = np.asarray(y_true).reshape(len(y_true), -1).shape[1]
    ev = evaluate(y_true, y_pred, [str(i) for i in range(n_tasks)], task_type, n_bootstrap=0)
    return ev.primary
