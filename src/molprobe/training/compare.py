"""Application layer of the comparison stage: metrics.json files of trained runs -> one
model x split x seed table with means across seeds (:func:`compare_runs`), optionally with an
ensemble (the average of the runs' test predictions per split x seed)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.errors import InputError, MolprobeError
from molprobe.training.metrics import N_BOOTSTRAP, PRIMARY, evaluate, primary_metric

# comparison.csv; path: the run folder, or an ensemble's members / validation-chosen weights
TABLE_COLUMNS = ["name", "model", "split", "seed", "metric", "value", "ci_low", "ci_high",
                 "std", "n_seeds", "path"]  # fmt: skip
PREDICTIONS_FILE = "predictions.parquet"  # beside each metrics.json (the ensemble reads it)
VALID_PREDICTIONS_FILE = "valid_predictions.parquet"  # validation part (weights, calibration)


@dataclass
class Comparison:
    """runs: one row per metrics file (name, model, split, seed, metric, value, ci_low,
    ci_high, path); summary: mean and std (ddof=1) across seeds per name x model x split;
    table: both stacked as comparison.csv (:data:`TABLE_COLUMNS`, seed ``mean`` for means)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    table: pd.DataFrame


def metrics_files(paths: Sequence[Path]) -> list[Path]:
    """The metrics.json files named in ``paths``; a folder stands for every metrics.json below
    it (for interactive use: the workflow names its files, so stale runs never count)."""
    files: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            files.update(p.rglob("metrics.json"))
        elif p.is_file():
            files.add(p)
        else:
            raise InputError(p, "no such file or folder")
    return sorted(files)


def collect_metrics(
    files: Sequence[Path], metric: str | None = None, part: str = "test"
) -> pd.DataFrame:
    """One row per metrics.json (``part`` test or valid, task mean of ``metric``, default the
    primary)."""
    rows = []
    for path in files:
        try:
            m = json.loads(Path(path).read_text())
            test = m[part]
            key = metric or PRIMARY[m.get("task_type", "classification")][0]
            rows.append(
                {
                    "name": m.get("name", m["model"]),
                    "model": m["model"],
                    "split": m["split"]["name"],
                    "seed": m["seed"],
                    "metric": key,
                    "value": test["mean"].get(key),
                    "ci_low": test["mean_ci_low"].get(key),
                    "ci_high": test["mean_ci_high"].get(key),
                    "path": str(Path(path).parent),
                }
            )
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise InputError(path, f"not a molprobe metrics file ({err})") from None
    if not rows:
        raise MolprobeError("no metrics.json files to compare")
    runs = pd.DataFrame(rows).sort_values(["split", "name", "seed"]).reset_index(drop=True)
    runs["value"] = runs["value"].astype(float)
    return runs


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std (ddof=1) of the test metric across seeds per name x model x split."""
    return (
        runs.groupby(["name", "model", "split", "metric"], sort=True)["value"]
        .agg(mean="mean", std="std", n_seeds="count")
        .reset_index()
    )


def simplex_grid(n_members: int, steps: int) -> np.ndarray:
    """Every weight vector of ``n_members`` non-negative multiples of 1/``steps`` summing to
    1: (n_points, n_members)."""
    points = [
        np.diff([0, *cuts, steps + n_members]) - 1
        for cuts in itertools.combinations(range(1, steps + n_members), n_members - 1)
    ]
    return np.asarray(points, dtype=float) / steps


def validation_weights(
    valid: np.ndarray, truth: np.ndarray, task_type: str = "classification"
) -> tuple[np.ndarray, float, float]:
    """Family weights of an ensemble chosen on validation predictions ``valid`` (M, n, T)
    with labels ``truth`` (n, T): the point of a simplex grid (steps of 0.1, 0.2 beyond 5
    members) with the best validation task-mean metric, or equal weights unless strictly
    better. Returns (weights (M,), weighted validation score, equal-weights score)."""
    n = valid.shape[0]
    equal = np.full(n, 1.0 / n)
    _, higher = PRIMARY[task_type]
    sign = 1.0 if higher else -1.0

    def score(w: np.ndarray) -> float:
        return primary_metric(truth, np.tensordot(w, valid, axes=1), task_type)

    base = score(equal)
    best_w, best = equal, base
    for w in simplex_grid(n, 10 if n <= 5 else 5):
        s = score(w)
        if np.isfinite(s) and (not np.isfinite(best) or sign * (s - best) > 1e-12):
            best_w, best = w, s
    return best_w, best, base


def _read_members(group: pd.DataFrame, filename: str) -> list[pd.DataFrame] | None:
    """The ``filename`` table of every run of ``group`` (None when one lacks it)."""
    paths = [Path(p) / filename for p in group["path"]]
    if not all(p.is_file() for p in paths):
        return None
    return [pd.read_parquet(p).set_index("mol_id").sort_index() for p in paths]


def _stack(frames: list[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Member predictions (M, n, T) on the molecules they share, labels (n, T), tasks."""
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    tasks = [c[: -len("_true")] for c in frames[0].columns if c.endswith("_true")]
    pred = np.stack([f.loc[common, tasks].to_numpy(dtype=float) for f in frames])
    truth = frames[0].loc[common, [f"{t}_true" for t in tasks]].to_numpy(dtype=float)
    return pred, truth, tasks


def ensemble_runs(
    runs: pd.DataFrame,
    names: Sequence[str] | None,
    n_bootstrap: int = N_BOOTSTRAP,
    part: str = "test",
    min_members: int = 2,
) -> pd.DataFrame:
    """Average the test predictions (predictions.parquet beside each run's metrics) of the
    runs named ``names`` (all when empty/None) per split x seed and score the average: rows
    named ``ensemble``. Where every member also has validation predictions, the rows named
    ``ensemble_valw`` score the average weighted by :func:`validation_weights` (chosen on
    validation; the test part is read once, after the choice; ``path`` lists the weights).
    ``part`` ``valid``: the equal-weights ensemble of the validation predictions only.
    ``min_members``: split x seed groups with fewer runs are skipped (1: a lone run is
    scored from its own predictions, the family-level baseline of member choices)."""
    files = {"test": PREDICTIONS_FILE, "valid": VALID_PREDICTIONS_FILE}[part]
    rows = []
    chosen = runs if not names else runs[runs["name"].isin(names)]
    for (split, seed), group in chosen.groupby(["split", "seed"]):
        if group["name"].nunique() < min_members:
            continue
        group = group.sort_values("name")
        group = group[[(Path(p) / files).is_file() for p in group["path"]]]
        if len(group) < min_members:
            continue
        frames = _read_members(group, files)
        pred, truth, tasks = _stack(frames)
        metric = chosen["metric"].iloc[0]
        task_type = "regression" if metric in ("rmse", "mae", "r2") else "classification"
        variants = [("ensemble", np.full(len(frames), 1.0 / len(frames)), "")]
        several = len(frames) > 1  # validation weights need two members to weigh
        valid = _read_members(group, VALID_PREDICTIONS_FILE) if part == "test" and several else None
        if valid is not None:
            v_pred, v_truth, _ = _stack(valid)
            w, w_score, eq_score = validation_weights(v_pred, v_truth, task_type)
            names_ = group["name"].tolist()
            note = ";".join(f"{n}={x:.2f}" for n, x in zip(names_, w, strict=True))
            note += f" (valid {metric} {w_score:.4f} vs equal {eq_score:.4f})"
            variants.append(("ensemble_valw", w, note))
        members = ";".join(sorted(group["name"]))
        for name, w, note in variants:
            ev = evaluate(truth, np.tensordot(w, pred, axes=1), tasks, task_type,
                          n_bootstrap, int(seed))  # fmt: skip
            rows.append(
                {
                    "name": name,
                    "model": "ensemble",
                    "split": split,
                    "seed": seed,
                    "metric": metric,
                    "value": ev.mean[metric],
                    "ci_low": ev.mean_ci_low[metric],
                    "ci_high": ev.mean_ci_high[metric],
                    "path": note or members,
                }
            )
    return pd.DataFrame(rows)


def compare_runs(
    files: Sequence[Path],
    metric: str | None = None,
    ensemble: Sequence[str] | None = None,
    part: str = "test",
) -> Comparison:
    """The comparison of the runs whose metrics.json are ``files`` on ``part`` (test, or
    valid for choices); ``ensemble``: None for none, else the run names to average (empty:
    all runs)."""
    runs = collect_metrics(files, metric, part)
    if ensemble is not None:
        ens = ensemble_runs(runs, ensemble, part=part)
        if len(ens):
            runs = pd.concat([runs, ens], ignore_index=True)
    summary = summarize(runs)
    agg = summary.rename(columns={"mean": "value"}).assign(
        seed="mean", ci_low=np.nan, ci_high=np.nan, path=""
    )
    runs_out = runs.assign(std=np.nan, n_seeds=1)
    table = pd.concat([runs_out[TABLE_COLUMNS], agg[TABLE_COLUMNS]], ignore_index=True)
    return Comparison(runs, summary, table)
