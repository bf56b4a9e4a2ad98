"""The bar plot of ``molprobe compare``: test metric per run name and split."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from molprobe.reporting.plots import model_colour  # noqa: E402

HATCHES = ["", "//", "..", "xx", "\\\\", "oo"]  # runs of one family: same colour, own hatch


def comparison_bars(summary: pd.DataFrame, runs: pd.DataFrame | None = None) -> Figure:
    """Grouped bars: one group per split, one bar per run name, error bars = std across
    seeds (or the bootstrap CI of ``runs`` for a single seed); colours by model family.

    ``summary``: name, model, split, metric, mean, std, n_seeds (:func:`summarize` output)."""
    splits = list(dict.fromkeys(summary["split"]))
    names = list(dict.fromkeys(summary.sort_values(["model", "name"])["name"]))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(splits) * len(names) * 0.5 + 2), 4))
    family_seen: dict[str, int] = {}
    for j, name in enumerate(names):
        sub = summary[summary["name"] == name].set_index("split")
        family = sub["model"].iloc[0]
        k = family_seen.setdefault(family, 0)
        family_seen[family] = k + 1
        xs, ys, errs = [], [], []
        for i, split in enumerate(splits):
            if split not in sub.index:
                continue
            row = sub.loc[split]
            err = row["std"] if row["n_seeds"] > 1 and math.isfinite(row["std"]) else 0.0
            if row["n_seeds"] == 1 and runs is not None:
                r = runs[(runs["name"] == name) & (runs["split"] == split)].iloc[0]
                if r["ci_low"] is not None and r["ci_high"] is not None:
                    err = [[row["mean"] - float(r["ci_low"])], [float(r["ci_high"]) - row["mean"]]]
            xs.append(i + (j - (len(names) - 1) / 2) * width)
            ys.append(row["mean"])
            errs.append(err)
        for x, y, e in zip(xs, ys, errs, strict=True):
            ax.bar(
                x, y, width * 0.95, yerr=e if not isinstance(e, float) or e > 0 else None,
                color=model_colour(family), hatch=HATCHES[k % len(HATCHES)],
                edgecolor="black", linewidth=0.5, capsize=3,
                label=name if x == xs[0] else None,
            )  # fmt: skip
    metric = summary["metric"].iloc[0]
    ax.set_xticks(range(len(splits)))
    ax.set_xticklabels(splits)
    ax.set_ylabel(f"test mean {metric}")
    lo = float(np.nanmin(summary["mean"])) if len(summary) else 0.0
    if metric == "roc_auc":
        ax.set_ylim(max(0.0, min(0.5, lo - 0.05)), 1.0)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(
        "model comparison (error bars: std across seeds, or 95% CI for one seed)", fontsize=8
    )
    fig.tight_layout()
    return fig
