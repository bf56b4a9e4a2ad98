"""Figures of the probing results (matplotlib Agg): one emergence curve per level (median and
spread over concept families, one line per seed) and a heatmap of at most ~30 concepts with
chemists' names and plain layer names."""

from __future__ import annotations

import os

import matplotlib

from molprobe.fileio import atomic_path

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from molprobe.chem.concepts import LEVEL_NAMES  # noqa: E402


def plot_emergence_curves(
    probes: pd.DataFrame, path: str | os.PathLike | None = None, measure: str = "learned"
):
    """One panel per level: per seed, the median over concept families of ``measure`` per
    layer (line) and its interquartile range (band). Written to ``path``, or returned as a
    figure when ``path`` is None (the report)."""
    levels = [lv for lv in (1, 2, 3, 0) if lv in set(probes["level"])]
    fig, axes = plt.subplots(
        1, len(levels), figsize=(3.8 * len(levels), 3.4), squeeze=False, sharey=True
    )
    order = probes.drop_duplicates("layer_index").sort_values("layer_index")
    names = order["layer_name"].tolist() if "layer_name" in order else order["layer"].tolist()
    for ax, lv in zip(axes[0], levels, strict=True):
        d = probes[probes["level"] == lv]
        fam = d.groupby(["seed", "layer_index", "concept_family"])[measure].mean().reset_index()
        for seed, ds in fam.groupby("seed"):
            q = ds.groupby("layer_index")[measure].quantile([0.25, 0.5, 0.75]).unstack()
            ax.plot(q.index, q[0.5], marker="o", ms=3, label=f"seed {seed}")
            ax.fill_between(q.index, q[0.25], q[0.75], alpha=0.15)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        n_fam = d["concept_family"].nunique()
        ax.set_title(f"level {lv}: {LEVEL_NAMES.get(lv, '')} ({n_fam} families)", fontsize=9)
    axes[0][0].set_ylabel(f"{measure} (AUC gain)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path)


def top_concepts(probes: pd.DataFrame, measure: str = "learned", n: int = 30) -> list[str]:
    """The ``n`` concepts with the largest maximum (over layers) mean ``measure``, balanced
    over levels, at most one per concept family."""
    best = probes.groupby(["level", "concept_family", "concept"])[measure].mean().reset_index()
    best = best.sort_values(measure, ascending=False).drop_duplicates("concept_family")
    levels = sorted(best["level"].unique())
    per = max(1, n // max(len(levels), 1))
    return [c for lv in levels for c in best[best["level"] == lv]["concept"].head(per)]


def plot_concept_heatmap(
    probes: pd.DataFrame,
    path: str | os.PathLike | None = None,
    measure: str = "learned",
    n: int = 30,
):
    """Heatmap of ``measure`` (mean over seeds) for at most ``n`` concepts × layers; written
    to ``path``, or returned as a figure when ``path`` is None."""
    concepts = top_concepts(probes, measure, n)
    d = probes[probes["concept"].isin(concepts)]
    piv = d.pivot_table(index="concept", columns="layer_index", values=measure, aggfunc="mean")
    piv = piv.reindex(concepts)
    label = d.drop_duplicates("concept").set_index("concept")
    rows = [f"L{int(label.loc[c, 'level'])} {label.loc[c].get('description', c)}" for c in concepts]
    order = probes.drop_duplicates("layer_index").sort_values("layer_index")
    cols = order["layer_name"].tolist() if "layer_name" in order else order["layer"].tolist()
    vmax = float(np.nanmax(np.abs(piv.to_numpy()))) if piv.size else 1.0
    fig, ax = plt.subplots(figsize=(0.7 * len(cols) + 4, 0.28 * len(rows) + 1.8))
    im = ax.imshow(piv.to_numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=7)
    fig.colorbar(im, ax=ax, label=f"{measure} (AUC gain)")
    ax.set_title("What training adds at each layer", fontsize=9)
    return _save(fig, path)


def _save(fig, path: str | os.PathLike | None):
    """Write ``fig`` to ``path`` and close it; without a path, hand the figure back."""
    if path is None:
        return fig
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return None
