"""Split conformal prediction sets, class-conditional (Mondrian) per task, hand-rolled
(MAPIE is not installed; the method is a few lines).

For a predicted probability ``p`` of being active, the nonconformity of the label *active*
is ``1 - p`` and of *inactive* ``p``. Per task and class c the threshold ``q_c`` is the
``ceil((n_c + 1)(1 - alpha))``-th smallest nonconformity among the ``n_c`` calibration
molecules of class c (the validation part of the split runs, never test). A molecule's set
holds every class whose nonconformity is <= ``q_c``: one of ``active``, ``inactive``,
``both`` (the model cannot tell at this error rate) or ``empty`` (neither label is typical).
For calibration and new molecules that are exchangeable, a class-c molecule's set contains
c with probability >= 1 - alpha, for each class separately (Vovk et al. 2003). With fewer
than ``1/alpha - 1`` calibration molecules of a class, ``q_c`` is infinite: the class is in
every set.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError

ALPHA = 0.1  # error rate per class: sets miss a molecule's true label at most this often
SETS = ("active", "inactive", "both", "empty")
SET_SUFFIX = "_set"  # hit-table column of a task's prediction set
THRESHOLD_COLUMNS = ("task", "alpha", "n_active", "n_inactive", "q_active", "q_inactive")


@dataclass(frozen=True)
class MondrianThresholds:
    """One task's thresholds at error rate ``alpha``: the active label is in the set when
    1 - p <= q_active, the inactive label when p <= q_inactive (inf: always)."""

    task: str
    alpha: float
    n_active: int
    n_inactive: int
    q_active: float
    q_inactive: float


def class_threshold(scores: np.ndarray, alpha: float) -> float:
    """The conformal quantile of one class's calibration nonconformity ``scores`` (n,):
    the ceil((n + 1)(1 - alpha))-th smallest, inf when that rank exceeds n."""
    if not 0 < alpha < 1:
        raise MolprobeError(f"alpha must be in (0, 1), got {alpha}")
    s = np.sort(np.asarray(scores, dtype=float))
    k = math.ceil((len(s) + 1) * (1 - alpha))
    return float(s[k - 1]) if k <= len(s) else math.inf


def fit_mondrian(
    y: np.ndarray, p: np.ndarray, alpha: float = ALPHA, task: str = ""
) -> MondrianThresholds:
    """Thresholds from calibration labels ``y`` (0/1, NaN = unlabeled, dropped) and
    probabilities ``p`` (n,)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    keep = ~np.isnan(y)
    y, p = y[keep], p[keep]
    act, ina = p[y == 1], p[y == 0]
    return MondrianThresholds(task, float(alpha), int(act.size), int(ina.size),
                              class_threshold(1 - act, alpha), class_threshold(ina, alpha))  # fmt: skip


def prediction_sets(p: np.ndarray, t: MondrianThresholds) -> np.ndarray:
    """The set of each probability ``p`` (n,) as one of :data:`SETS` (object array)."""
    p = np.asarray(p, dtype=float)
    active, inactive = (1 - p) <= t.q_active, p <= t.q_inactive
    out = np.where(active & inactive, "both", np.where(active, "active",
                   np.where(inactive, "inactive", "empty")))  # fmt: skip
    return out.astype(object)


def set_coverage(y: np.ndarray, p: np.ndarray, t: MondrianThresholds) -> dict[str, float]:
    """On held-out labels ``y`` (NaN dropped): per class the fraction whose set holds the true
    label (cov_active, cov_inactive; NaN without that class) and the fraction of each set."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    keep = ~np.isnan(y)
    y, sets = y[keep], prediction_sets(p[keep], t)
    holds = np.where(y == 1, np.isin(sets, ("active", "both")), np.isin(sets, ("inactive", "both")))
    out = {}
    for name, c in (("cov_active", 1), ("cov_inactive", 0)):
        out[name] = float(holds[y == c].mean()) if (y == c).any() else math.nan
    for s in SETS:
        out[f"set_{s}"] = float((sets == s).mean()) if sets.size else math.nan
    return out


def thresholds_frame(thresholds: list[MondrianThresholds]) -> pd.DataFrame:
    """One row per task (:data:`THRESHOLD_COLUMNS`), what ``molprobe conformal`` writes."""
    return pd.DataFrame([asdict(t) for t in thresholds], columns=list(THRESHOLD_COLUMNS))


def thresholds_from_frame(frame: pd.DataFrame) -> dict[str, MondrianThresholds]:
    """The inverse of :func:`thresholds_frame` (task -> thresholds)."""
    missing = set(THRESHOLD_COLUMNS) - set(frame.columns)
    if missing:
        raise MolprobeError(f"not a conformal thresholds table: no {sorted(missing)}")
    return {str(r.task): MondrianThresholds(str(r.task), float(r.alpha), int(r.n_active),
                                            int(r.n_inactive), float(r.q_active),
                                            float(r.q_inactive))
            for r in frame.itertuples(index=False)}  # fmt: skip


def attach_sets(hits: pd.DataFrame, thresholds: dict[str, MondrianThresholds]) -> pd.DataFrame:
    """``hits`` with a ``<task>_set`` column for every task column it shares with
    ``thresholds`` (the per-task ensemble probability of the screen)."""
    out = hits.copy()
    shared = [t for t in thresholds if t in hits.columns]
    if not shared:
        raise MolprobeError("the hits share no task column with the conformal thresholds")
    for task in shared:
        out[task + SET_SUFFIX] = prediction_sets(hits[task].to_numpy(dtype=float), thresholds[task])
    return out
