"""Calibration and uncertainty of classification runs, from their prediction tables.

Per split x seed, task and model (each family, and ``ensemble``: the mean probability of
the families): the expected calibration error (ECE) of the test predictions, raw and after
Platt scaling fitted per task on the **validation** predictions only (:class:`PlattScaler`),
the Brier score, and for the ensemble the ROC-AUC of its spread (std of the member
probabilities) for wrong against right calls at threshold 0.5 (:func:`spread_auc`), and
the test coverage of Mondrian conformal sets calibrated on that run's validation part
(:mod:`molprobe.reporting.conformal`). :func:`conformal_thresholds` calibrates the sets of
the hit list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from molprobe.errors import InputError, MolprobeError
from molprobe.reporting.conformal import ALPHA, MondrianThresholds, fit_mondrian, set_coverage
from molprobe.reporting.findings import expected_calibration_error

__all__ = ["expected_calibration_error"]  # the findings page's ECE, one definition
N_BINS = 10  # equal-width probability bins of the ECE and the reliability diagram
THRESHOLD = 0.5  # probability at which a prediction is called active
N_NULL_DRAWS = 20  # label draws of the null ECE
EPS = 1e-6
CONFORMAL_SUMMARY = ("cov_active", "cov_inactive", "set_both", "set_empty")


@dataclass
class RunPredictions:
    """One run: family ``name``, ``split`` and ``seed``, its test and validation prediction
    tables (mol_id, per task ``<task>`` probability and ``<task>_true`` label)."""

    name: str
    split: str
    seed: int
    test: pd.DataFrame
    valid: pd.DataFrame


@dataclass
class CalibrationResult:
    """table: one row per split x seed x model x task (n, n_pos, ece, ece_null: the ECE a
    perfectly calibrated model would show on these molecules, ece_platt, brier, brier_platt,
    spread_auc; conformal sets fitted on validation at error rate alpha, on test: cov_active,
    cov_inactive, set_active, set_inactive, set_both, set_empty (fractions)); summary: per split x model the task mean over seeds (ece,
    ece_max over tasks, ece_platt, spread_auc, n_seeds); curves: reliability bins pooled over
    seeds (split, model, scaling, task, bin, n, predicted, observed)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    curves: pd.DataFrame


def read_run_predictions(dirs: Sequence[Path], test: bool = True) -> list[RunPredictions]:
    """Runs from folders holding metrics.json, predictions.parquet, valid_predictions.parquet
    (``test=False``: predictions.parquet is not read; the runs' test tables are empty)."""
    runs = []
    for d in map(Path, dirs):
        try:
            m = json.loads((d / "metrics.json").read_text())
            test_frame = pd.read_parquet(d / "predictions.parquet") if test else pd.DataFrame()
            valid = pd.read_parquet(d / "valid_predictions.parquet")
        except (FileNotFoundError, json.JSONDecodeError, OSError) as err:
            msg = f"not a run folder with test and validation predictions ({err})"
            raise InputError(d, msg) from None
        if m.get("task_type", "classification") != "classification":
            raise InputError(d, "calibration needs a classification run")
        runs.append(RunPredictions(m.get("name", m["model"]), m["split"]["name"],
                                   int(m["seed"]), test_frame, valid))  # fmt: skip
    if not runs:
        raise MolprobeError("no runs to calibrate")
    return runs


def tasks_of(frame: pd.DataFrame) -> list[str]:
    return [c[: -len("_true")] for c in frame.columns if c.endswith("_true")]


def reliability(y: np.ndarray, p: np.ndarray, bins: int = N_BINS) -> pd.DataFrame:
    """Equal-width bins of predicted probability ``p`` (labels ``y`` 0/1, no NaN): bin, n,
    mean predicted probability, observed fraction of actives (empty bins left out)."""
    idx = np.clip((np.asarray(p) * bins).astype(int), 0, bins - 1)
    rows = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            rows.append((b, int(sel.sum()), float(p[sel].mean()), float(y[sel].mean())))
    return pd.DataFrame(rows, columns=["bin", "n", "predicted", "observed"])


class PlattScaler:
    """Platt scaling: sigmoid(a * logit(p) + b), fitted on validation labels (scikit-learn
    logistic regression, no penalty). A task whose validation part has one class is left
    unscaled (a = 1, b = 0)."""

    def __init__(self):
        self.a_, self.b_ = 1.0, 0.0

    def fit(self, p: np.ndarray, y: np.ndarray) -> PlattScaler:
        y = np.asarray(y, dtype=int)
        if len(np.unique(y)) == 2:
            lr = LogisticRegression(C=np.inf, max_iter=1000)
            lr.fit(_logit(p)[:, None], y)
            self.a_, self.b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a_ * _logit(p) + self.b_)))


def null_ece(p: np.ndarray, bins: int = N_BINS, draws: int = N_NULL_DRAWS, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model would show here: mean ECE of labels drawn as
    Bernoulli(p) from the same probabilities ``p`` (the finite-sample floor of the ECE)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(p, dtype=float)
    return float(np.mean([expected_calibration_error((rng.random(p.size) < p).astype(float),
                                                     p, bins) for _ in range(draws)]))  # fmt: skip


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


def spread_auc(y: np.ndarray, members: np.ndarray, threshold: float = THRESHOLD) -> float:
    """ROC-AUC of the ensemble spread (std over members, axis 0 of ``members`` (M, n)) for
    wrong vs right calls of the mean probability at ``threshold``; NaN without both."""
    mean, spread = members.mean(axis=0), members.std(axis=0)
    wrong = (mean >= threshold).astype(int) != np.asarray(y, dtype=int)
    if wrong.all() or not wrong.any():
        return float("nan")
    return float(roc_auc_score(wrong, spread))


def aligned(runs: Sequence[RunPredictions], part: str) -> list[pd.DataFrame]:
    """The ``part`` ("test" | "valid") tables of ``runs`` on their common molecules."""
    frames = [getattr(r, part).set_index("mol_id") for r in runs]
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    return [f.loc[common] for f in frames]


def _scores(y, p, p_valid, y_valid, bins, alpha) -> dict:
    scaled = PlattScaler().fit(p_valid, y_valid).transform(p)
    conformal = set_coverage(y, p, fit_mondrian(y_valid, p_valid, alpha))
    return {
        "ece": expected_calibration_error(y, p, bins),
        "ece_null": null_ece(p, bins),
        "ece_platt": expected_calibration_error(y, scaled, bins),
        "brier": float(np.mean((p - y) ** 2)),
        "brier_platt": float(np.mean((scaled - y) ** 2)),
        **conformal,
        "_scaled": scaled,
    }


def _labelled(frame: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray]:
    y = frame[f"{task}_true"].to_numpy(dtype=float)
    keep = ~np.isnan(y)
    return y[keep], frame[task].to_numpy(dtype=float)[keep]


def calibration_table(
    runs: Sequence[RunPredictions], bins: int = N_BINS, alpha: float = ALPHA
) -> CalibrationResult:
    """Score every run and, per split x seed with >= 2 families, their ensemble."""
    rows, pooled = [], []
    groups: dict[tuple[str, int], list[RunPredictions]] = {}
    for r in runs:
        groups.setdefault((r.split, r.seed), []).append(r)
    for (split, seed), group in sorted(groups.items()):
        tests, valids = aligned(group, "test"), aligned(group, "valid")
        models = [(r.name, [t], [v]) for r, t, v in zip(group, tests, valids, strict=True)]
        if len(group) >= 2:
            models.append(("ensemble", tests, valids))
        for name, t_frames, v_frames in models:
            for task in tasks_of(t_frames[0]):
                y, _ = _labelled(t_frames[0], task)
                yv, _ = _labelled(v_frames[0], task)
                members = np.stack([_labelled(f, task)[1] for f in t_frames])
                p = members.mean(axis=0)
                pv = np.mean([_labelled(f, task)[1] for f in v_frames], axis=0)
                if len(y) == 0:
                    continue
                s = _scores(y, p, pv, yv, bins, alpha)
                scaled = s.pop("_scaled")
                spread = spread_auc(y, members) if len(t_frames) > 1 else float("nan")
                rows.append({"split": split, "seed": seed, "model": name, "task": task,
                             "n": len(y), "n_pos": int(y.sum()), **s, "spread_auc": spread})  # fmt: skip
                for scaling, q in (("raw", p), ("platt", scaled)):
                    pooled.append((split, name, scaling, task, y, q))
    table = pd.DataFrame(rows)
    if table.empty:
        raise MolprobeError("no labeled test predictions to calibrate")
    return CalibrationResult(table, summarize_calibration(table), _curves(pooled, bins))


def summarize_calibration(table: pd.DataFrame) -> pd.DataFrame:
    """Per split x model: task means averaged over seeds (ece, ece_null, ece_platt, brier,
    spread_auc, conformal coverage per class and fraction of "both" and "empty" sets), the worst task's seed-mean ECE (ece_max) and the number of seeds."""
    per_task = table.groupby(["split", "model", "task"])[["ece", "ece_platt"]].mean()
    worst = per_task.groupby(["split", "model"]).max().add_suffix("_max")
    cols = ["ece", "ece_null", "ece_platt", "brier", "brier_platt", "spread_auc"]
    cols += [c for c in CONFORMAL_SUMMARY if c in table.columns]
    per_seed = table.groupby(["split", "model", "seed"])[cols].mean()
    out = per_seed.groupby(["split", "model"]).agg(["mean", "std"])
    out.columns = [f"{a}" if b == "mean" else f"{a}_std" for a, b in out.columns]
    out["n_seeds"] = per_seed.groupby(["split", "model"]).size()
    return out.join(worst).reset_index()


def conformal_thresholds(
    runs: Sequence[RunPredictions],
    alpha: float = ALPHA,
    split: str | None = None,
    models: Sequence[str] | None = None,
) -> list[MondrianThresholds]:
    """Per task, Mondrian thresholds of the ensemble (mean probability of the ``models``
    families, default all) on the **validation** parts of the ``split`` runs (default all),
    per seed, pooled over seeds: the sets of the hit list. Test predictions are not read."""
    chosen = [r for r in runs if (split is None or r.split == split)
              and (models is None or r.name in models)]  # fmt: skip
    if not chosen:
        raise MolprobeError(f"no runs of split {split!r} and models {models} to calibrate on")
    by_seed: dict[int, list[RunPredictions]] = {}
    for r in chosen:
        by_seed.setdefault(r.seed, []).append(r)
    ys: dict[str, list[np.ndarray]] = {}
    ps: dict[str, list[np.ndarray]] = {}
    for _, group in sorted(by_seed.items()):
        frames = aligned(group, "valid")
        for task in tasks_of(frames[0]):
            y = frames[0][f"{task}_true"].to_numpy(dtype=float)
            ys.setdefault(task, []).append(y)
            ps.setdefault(task, []).append(np.mean([f[task].to_numpy(float) for f in frames], 0))
    return [fit_mondrian(np.concatenate(ys[t]), np.concatenate(ps[t]), alpha, t) for t in ys]


def _curves(pooled, bins: int) -> pd.DataFrame:
    acc: dict[tuple, tuple[list, list]] = {}
    for split, name, scaling, task, y, q in pooled:
        ys, qs = acc.setdefault((split, name, scaling, task), ([], []))
        ys.append(y)
        qs.append(q)
    frames = []
    for (split, name, scaling, task), (ys, qs) in acc.items():
        r = reliability(np.concatenate(ys), np.concatenate(qs), bins)
        frames.append(r.assign(split=split, model=name, scaling=scaling, task=task))
    return pd.concat(frames, ignore_index=True)


def plot_reliability(result: CalibrationResult, bins: int = N_BINS):
    """Reliability diagram per task (first split): each family raw, the ensemble raw and
    Platt-scaled; marker area ~ molecules in the bin."""
    import matplotlib.pyplot as plt

    from molprobe.reporting.plots import model_colour

    curves = result.curves
    split = sorted(curves["split"].unique())[0]
    curves = curves[curves["split"] == split]
    tasks = list(dict.fromkeys(result.table["task"]))
    ncols = min(4, len(tasks))
    nrows = -(-len(tasks) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax, task in zip(axes.flat, tasks, strict=False):
        ax.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls=":")
        for (name, scaling), c in curves[curves["task"] == task].groupby(["model", "scaling"]):
            if scaling == "platt" and name != "ensemble":
                continue
            colour = "black" if name == "ensemble" else model_colour(name)
            label = f"{name} (Platt on valid)" if scaling == "platt" else name
            ax.plot(c["predicted"], c["observed"], color=colour, lw=1.6 if name == "ensemble"
                    else 0.9, ls="--" if scaling == "platt" else "-", marker="o",
                    ms=2.5, label=label)  # fmt: skip
        ece = result.table.query("split == @split and model == 'ensemble' and task == @task")
        title = task if ece.empty else f"{task}: ensemble ECE {ece['ece'].mean():.3f}"
        ax.set(title=title, xlim=(0, 1), ylim=(0, 1))
        ax.set_xlabel("mean predicted probability", fontsize=8)
        ax.set_ylabel("observed fraction active", fontsize=8)
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8)
    fig.suptitle(f"Reliability of the test predictions ({split} split, {bins} bins, all seeds)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig
