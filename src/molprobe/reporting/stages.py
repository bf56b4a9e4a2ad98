"""Summaries of the later stages for the report (models, probes, screening): pure functions
on the stage tables described in docs/contracts.md."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError

LOWER_IS_BETTER = {"rmse", "mae", "loss"}


def comparison_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """comparison.csv (one row per run with seed = its number, plus seed = 'mean' rows) ->
    one row per name × split: name, model, split, metric, n_seeds, mean, std, ci_low, ci_high
    (95 % t-interval over seeds; for one seed, the run's bootstrap CI), and a text column
    ``mean ± CI`` for the table."""
    need = ["name", "model", "split", "seed", "metric", "value"]
    missing = [c for c in need if c not in comparison.columns]
    if missing:
        raise MolprobeError(f"comparison table lacks column(s) {missing}")
    runs = comparison[comparison["seed"].astype(str) != "mean"].copy()
    if runs.empty:
        raise MolprobeError("comparison table holds no runs")
    runs["value"] = runs["value"].astype(float)
    rows = []
    for (name, model, split, metric), g in runs.groupby(
        ["name", "model", "split", "metric"], sort=True
    ):
        vals = g["value"].to_numpy(dtype=float)
        n = int(np.isfinite(vals).sum())
        mean = float(np.nanmean(vals)) if n else float("nan")
        std = float(np.nanstd(vals, ddof=1)) if n > 1 else float("nan")
        if n > 1:
            from scipy.stats import t

            half = float(t.ppf(0.975, n - 1)) * std / math.sqrt(n)
            lo, hi = mean - half, mean + half
        elif {"ci_low", "ci_high"} <= set(g.columns):
            lo, hi = float(g["ci_low"].iloc[0]), float(g["ci_high"].iloc[0])
        else:
            lo = hi = float("nan")
        rows.append({"name": name, "model": model, "split": split, "metric": metric, "n_seeds": n,
                     "mean": mean, "std": std, "ci_low": lo, "ci_high": hi})  # fmt: skip
    out = pd.DataFrame(rows)
    out["mean ± CI"] = [
        f"{m:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else f"{m:.3f}"
        for m, lo, hi in zip(out["mean"], out["ci_low"], out["ci_high"], strict=True)
    ]
    return out


def best_run(summary: pd.DataFrame, split: str | None = None) -> pd.Series:
    """The best name × split of a :func:`comparison_summary` (highest mean, or lowest for
    error metrics), within ``split`` when given (default: the scaffold split when present)."""
    s = summary
    if split is None and "scaffold" in set(summary["split"]):
        split = "scaffold"
    if split is not None:
        s = summary[summary["split"] == split]
    s = s[np.isfinite(s["mean"].astype(float))]
    if s.empty:
        raise MolprobeError(f"no finite results{f' for split {split}' if split else ''}")
    lower = str(s["metric"].iloc[0]).lower() in LOWER_IS_BETTER
    return s.loc[s["mean"].idxmin() if lower else s["mean"].idxmax()]


def prediction_pairs(
    predictions: pd.DataFrame,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """predictions.parquet (columns <task> and <task>_true) -> (y_true, y_score) per task."""
    tasks = [
        c[: -len("_true")]
        for c in predictions.columns
        if c.endswith("_true") and c[: -len("_true")] in predictions.columns
    ]
    if not tasks:
        raise MolprobeError("predictions table has no <task>/<task>_true column pairs")
    y_true = {t: predictions[f"{t}_true"].to_numpy(dtype=float) for t in tasks}
    y_score = {t: predictions[t].to_numpy(dtype=float) for t in tasks}
    return y_true, y_score


def hit_legends(top: pd.DataFrame, tasks: Sequence[str] | None = None) -> list[str]:
    """Legends for screening hits: rank, score ± ensemble spread, domain flag, alerts.

    top: hits.top.csv rows (score, optional <task>_std, ad_similarity, in_domain, alerts,
    explained_task)."""
    if "score" not in top.columns:
        raise MolprobeError("hits table lacks the 'score' column")
    std_cols = [c for c in top.columns if c.endswith("_std") and (tasks is None or c[:-4] in tasks)]
    legends = []
    for rank, (_, r) in enumerate(top.iterrows(), start=1):
        spread = float(np.nanmean(r[std_cols].to_numpy(dtype=float))) if std_cols else float("nan")
        text = f"#{rank} score {float(r['score']):.2f}"
        if np.isfinite(spread):
            text += f" ± {spread:.2f}"
        if "in_domain" in r.index and pd.notna(r["in_domain"]):
            sim = (
                f" (sim {float(r['ad_similarity']):.2f})"
                if "ad_similarity" in r.index and pd.notna(r["ad_similarity"])
                else ""
            )
            text += f"\n{'in domain' if bool(r['in_domain']) else 'OUT of domain'}{sim}"
        alerts = r.get("alerts")
        if isinstance(alerts, str) and alerts.strip():
            short = alerts if len(alerts) <= 38 else alerts[:36] + "…"
            text += f"\nalerts: {short}"
        task = r.get("explained_task")
        if isinstance(task, str) and task:
            text += f"\nshaded for {task}"
        legends.append(text)
    return legends
