"""Figures of the probing results (matplotlib Agg): layer × level heatmaps, per-level curves,
and the top-activating molecules of a detector neuron with the concept's atoms highlighted."""

from __future__ import annotations

import os

import matplotlib

from molprobe.chem.io import atomic_path

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from molprobe.chem.concepts import LEVELS  # noqa: E402


def _trained(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["init"] == "trained"] if "init" in df else df


def plot_heatmap(probes: pd.DataFrame, path: str | os.PathLike, measure: str = "gain") -> None:
    """One panel per model: mean ``measure`` over concepts and seeds, layers × levels."""
    df = _trained(probes)
    models = sorted(df["model"].unique())
    fig, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models) + 1, 4.5), squeeze=False)
    vals = df.groupby(["model", "layer_index", "layer", "level"])[measure].mean()
    vmax = np.nanmax(np.abs(vals.to_numpy())) if len(vals) else 1.0
    for ax, model in zip(axes[0], models, strict=True):
        m = vals.loc[model].unstack("level").sort_index(level="layer_index")
        im = ax.imshow(m.to_numpy(), cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
        ax.set_xticks(range(m.shape[1]), [f"{lvl}\n{LEVELS[lvl]}" for lvl in m.columns], fontsize=7)
        ax.set_yticks(range(m.shape[0]), [lay for _, lay in m.index])
        for (i, j), v in np.ndenumerate(m.to_numpy()):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        ax.set_title(model)
        ax.set_xlabel("concept level")
        ax.set_ylabel("layer (input first)")
    fig.colorbar(im, ax=axes[0].tolist(), label=f"mean {measure}")
    fig.suptitle(f"Probe {measure} per layer and concept level")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_level_curves(
    probes: pd.DataFrame,
    path: str | os.PathLike,
    measures: tuple[str, ...] = ("auc", "gain", "sparse4_auc", "mdl_compression"),
) -> None:
    """Rows = models, columns = measures; one line per level across layers (mean over
    concepts, error bars = sd over seeds); for ``auc`` the random-init mean is dashed."""
    df = _trained(probes)
    models = sorted(df["model"].unique())
    measures = tuple(m for m in measures if m in df)
    fig, axes = plt.subplots(
        len(models), len(measures), figsize=(3.6 * len(measures), 2.8 * len(models)), squeeze=False
    )
    colors = {1: "tab:blue", 2: "tab:orange", 3: "tab:green"}
    for i, model in enumerate(models):
        dm = df[df["model"] == model]
        layers = dm.drop_duplicates("layer_index").sort_values("layer_index")["layer"].tolist()
        for j, measure in enumerate(measures):
            ax = axes[i][j]
            for level, dl in dm.groupby("level"):
                per_seed = (
                    dl.groupby(["seed", "layer_index"])[measure].mean().unstack("layer_index")
                )
                mean, sd = per_seed.mean(axis=0), per_seed.std(axis=0).fillna(0)
                ax.errorbar(mean.index, mean.to_numpy(), yerr=sd.to_numpy(), marker="o", ms=3,
                            color=colors.get(level), label=f"{level} {LEVELS.get(level, '')}")  # fmt: skip
                if measure == "auc" and "random_auc" in dl:
                    rnd = dl.groupby("layer_index")["random_auc"].mean()
                    ax.plot(rnd.index, rnd.to_numpy(), ls="--", color=colors.get(level), alpha=0.6)
            ax.set_xticks(range(len(layers)), layers, rotation=45, fontsize=7)
            ax.set_title(f"{model}: {measure}" + (" (dashed: random init)" if measure == "auc" else ""),
                         fontsize=9)  # fmt: skip
            ax.set_xlabel("layer")
            ax.set_ylabel(measure)
            if i == 0 and j == 0:
                ax.legend(fontsize=7)
    fig.suptitle("Concept levels across layers")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(fig)
