"""Report figures (matplotlib, Agg backend): every function takes tables and returns a
``matplotlib.figure.Figure``; the CLI saves it. Titles, axis labels with units and legends
are always set; model families keep one colour everywhere (:data:`MODEL_COLOURS`).

Counts that span orders of magnitude (rejection reasons, gradient norms, library scores)
are drawn on log axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from molprobe.errors import MolprobeError
from molprobe.reporting.findings import BASELINES  # noqa: E402

#: One colour per model family, used by every plot of every stage (import it, don't copy it).
MODEL_COLOURS: dict[str, str] = {
    "snn": "#1f77b4",
    "fnn_bn": "#ff7f0e",
    "gine": "#2ca02c",
    "gine_pretrained": "#98df8a",
    "attentivefp": "#d62728",
    "lstm": "#9467bd",
    "rf": "#8c564b",
    "logreg": "#7f7f7f",
}
#: Other spellings of the same families.
_ALIASES = {"fnn": "fnn_bn", "fnn-bn": "fnn_bn", "gnn": "gine", "attentive_fp": "attentivefp"}
#: Fallback colours for families not in MODEL_COLOURS (assigned in a stable order).
_EXTRA = ["#bcbd22", "#17becf", "#e377c2", "#aec7e8", "#ff9896", "#c5b0d5"]

#: Colours of the three parts of a split.
PART_COLOURS: dict[str, str] = {"train": "#4c72b0", "valid": "#dd8452", "test": "#55a868"}
#: Colours of label states in task-balance plots.
LABEL_COLOURS: dict[str, str] = {"positive": "#c44e52", "negative": "#8da0cb", "missing": "#dddddd"}

DPI = 130


def model_colour(name: str) -> str:
    """Colour of a model family or run name (``snn``, ``snn_8layers``, ``fnn-bn`` ...).

    Exact family names first, then the longest family name the run name starts with; an
    unknown family gets a stable fallback colour derived from its name."""
    key = str(name).lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key in MODEL_COLOURS:
        return MODEL_COLOURS[key]
    for fam in sorted(list(MODEL_COLOURS) + list(_ALIASES), key=len, reverse=True):
        if key.startswith(fam.replace("-", "_")):
            return MODEL_COLOURS[_ALIASES.get(fam, fam)]
    return _EXTRA[sum(map(ord, key)) % len(_EXTRA)]


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise MolprobeError(f"{what}: table lacks column(s) {missing}; has {list(table.columns)}")
    if table.empty:
        raise MolprobeError(f"{what}: the table is empty")


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, axes[0]


def close(fig: Figure) -> None:
    """Free a figure's memory once it is saved."""
    plt.close(fig)


# --------------------------------------------------------------------------------- data stage


def plot_task_balance(balance: pd.DataFrame, dataset: str = "") -> Figure:
    """Stacked horizontal bars per task: positives, negatives, missing labels (molecules);
    each bar is annotated with the percentage of positives among the measured molecules.

    balance: columns task, n_positive, n_negative, n_missing (from
    :func:`molprobe.reporting.data_summary.task_balance`)."""
    _require(balance, ["task", "n_positive", "n_negative", "n_missing"], "task balance plot")
    b = balance.iloc[::-1].reset_index(drop=True)  # first task on top
    y = np.arange(len(b))
    fig, (ax,) = _figure(7.5, 0.9 + 0.32 * len(b))
    left = np.zeros(len(b))
    for state in ("positive", "negative", "missing"):
        vals = b[f"n_{state}"].to_numpy(dtype=float)
        ax.barh(y, vals, left=left, color=LABEL_COLOURS[state], label=state, edgecolor="white")
        left += vals
    measured = (b["n_positive"] + b["n_negative"]).to_numpy(dtype=float)
    for i, (pos, n) in enumerate(zip(b["n_positive"], measured, strict=True)):
        pct = 100.0 * pos / n if n else float("nan")
        ax.text(left[i], i, f"  {int(pos)} pos ({pct:.1f} %)", va="center", fontsize=8)
    ax.set_yticks(y, b["task"].astype(str))
    ax.set_xlim(0, left.max() * 1.3 if len(left) else 1)
    ax.set_xlabel("molecules (count)")
    ax.set_title(f"Labels per task{f' — {dataset}' if dataset else ''}")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.5 / (1 + 0.32 * len(b))),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout()
    return fig


def plot_ledger(ledger: pd.DataFrame, dataset: str = "") -> Figure:
    """Where every input row went: kept, merged as duplicate, or rejected (one bar per
    reason); log count axis, since rejections are usually a few per thousand.

    ledger: columns outcome, count, kind ('kept' | 'merged' | 'rejected')."""
    _require(ledger, ["outcome", "count", "kind"], "ledger plot")
    colours = {"kept": "#55a868", "merged": "#8172b3", "rejected": "#c44e52", "input": "#4c72b0"}
    lg = ledger.iloc[::-1].reset_index(drop=True)
    fig, (ax,) = _figure(7.5, 0.9 + 0.35 * len(lg))
    counts = lg["count"].to_numpy(dtype=float)
    ax.barh(
        np.arange(len(lg)),
        np.maximum(counts, 0.0),
        color=[colours.get(k, "#999") for k in lg["kind"]],
    )
    for i, c in enumerate(counts):
        ax.text(max(c, 1.0), i, f"  {int(c)}", va="center", fontsize=8)
    ax.set_yticks(np.arange(len(lg)), lg["outcome"].astype(str))
    ax.set_xscale("log")
    ax.set_xlim(0.8, max(counts.max(), 1.0) * 5)
    ax.set_xlabel("input rows (count, log scale)")
    ax.set_title(f"Standardization ledger{f' — {dataset}' if dataset else ''}")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=colours[k]) for k in colours if k in set(lg["kind"])
    ]
    ax.legend(
        handles,
        [k for k in colours if k in set(lg["kind"])],
        fontsize=8,
        frameon=False,
        loc="lower right",
    )
    fig.tight_layout()
    return fig


def plot_split_sizes(splits: pd.DataFrame, dataset: str = "") -> Figure:
    """Two panels, one group of bars per split (method, seed): molecules per part and
    distinct Bemis–Murcko scaffolds per part (train / valid / test).

    splits: columns method, seed, part, n_molecules, n_scaffolds."""
    _require(splits, ["method", "seed", "part", "n_molecules", "n_scaffolds"], "split plot")
    groups = list(dict.fromkeys(zip(splits["method"], splits["seed"], strict=True)))
    parts = [p for p in PART_COLOURS if p in set(splits["part"])]
    fig, axes = _figure(max(7.0, 1.3 * len(groups) + 3), 3.6, ncols=2)
    width = 0.8 / max(len(parts), 1)
    for ax, col, label in zip(
        axes,
        ("n_molecules", "n_scaffolds"),
        ("molecules (count)", "distinct scaffolds (count)"),
        strict=True,
    ):
        for j, part in enumerate(parts):
            vals = []
            for m, s in groups:
                row = splits[
                    (splits["method"] == m) & (splits["seed"] == s) & (splits["part"] == part)
                ]
                vals.append(float(row[col].iloc[0]) if len(row) else 0.0)
            x = np.arange(len(groups)) + (j - (len(parts) - 1) / 2) * width
            ax.bar(x, vals, width * 0.95, color=PART_COLOURS[part], label=part)
        ax.set_xticks(np.arange(len(groups)), [f"{m}\nseed {s}" for m, s in groups], fontsize=8)
        ax.set_ylabel(label)
        ax.set_xlabel("split method and seed")
    axes[0].set_title("Molecules per part")
    axes[1].set_title("Bemis–Murcko scaffolds per part")
    axes[1].legend(fontsize=8, frameon=False)
    fig.suptitle(f"Train / valid / test splits{f' — {dataset}' if dataset else ''}", fontsize=11)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- models stage


def plot_model_comparison(summary: pd.DataFrame, metric: str = "roc_auc") -> Figure:
    """Test-set metric per model (bars, colour = model family), one group per split method;
    error bars: the confidence interval (ci_low, ci_high) when given, else ± std over seeds.

    summary: columns name, model, split, mean, and ci_low/ci_high or std (one row per
    name × split)."""
    _require(summary, ["name", "model", "split", "mean"], "model comparison plot")
    splits = list(dict.fromkeys(summary["split"]))
    names = list(dict.fromkeys(summary.sort_values(["model", "name"])["name"]))
    width = 0.8 / max(len(names), 1)
    fig, (ax,) = _figure(max(6.0, 0.45 * len(names) * len(splits) + 2.5), 4.2)
    for j, name in enumerate(names):
        sub = summary[summary["name"] == name]
        family = str(sub["model"].iloc[0])
        labelled = False
        for i, split in enumerate(splits):
            row = sub[sub["split"] == split]
            if row.empty:
                continue
            r = row.iloc[0]
            mean = float(r["mean"])
            if (
                {"ci_low", "ci_high"} <= set(r.index)
                and pd.notna(r["ci_low"])
                and pd.notna(r["ci_high"])
            ):
                err = [[mean - float(r["ci_low"])], [float(r["ci_high"]) - mean]]
            elif "std" in r.index and pd.notna(r["std"]):
                err = float(r["std"])
            else:
                err = None
            x = i + (j - (len(names) - 1) / 2) * width
            base = family in BASELINES  # baselines: hatched, labelled as such
            ax.bar(x, mean, width * 0.92, yerr=err, capsize=3, color=model_colour(family),
                   edgecolor="black", linewidth=0.4, hatch="//" if base else None,
                   label=None if labelled else f"{name} (baseline)" if base else name)  # fmt: skip
            if err is None or (np.ndim(err) == 0 and float(err) == 0):
                ax.text(x, mean + 0.01, "1 seed:\nno spread", ha="center", va="bottom",
                        fontsize=8, rotation=90)  # fmt: skip
            labelled = True
    ax.set_xticks(range(len(splits)), splits)
    ax.set_xlabel("split method")
    ax.set_ylabel(
        f"test {metric.replace('_', ' ').upper() if metric == 'roc_auc' else metric} (task mean)"
    )
    if metric in ("roc_auc", "pr_auc"):
        lo = float(np.nanmin(summary["mean"]))
        ax.set_ylim(max(0.0, min(0.45, lo - 0.05)), 1.0)
        ax.axhline(0.5, ls="--", color="grey", lw=1.0, label="chance (0.5)")
    ax.legend(fontsize=8, ncol=2, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title("Model comparison\n(error bars: 95 % CI over seeds, or a single run's bootstrap CI)",
                 fontsize=10)  # fmt: skip
    fig.tight_layout()
    return fig


def plot_roc_pr(
    y_true: Mapping[str, np.ndarray], y_score: Mapping[str, np.ndarray], title: str = ""
) -> Figure:
    """ROC (left) and precision–recall (right) curves, one line per task, AUCs in the legend;
    the dashed lines are chance (diagonal; PR: the task's positive rate). Missing labels
    (NaN) are dropped per task; tasks with only one class are skipped."""
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    fig, (ax_roc, ax_pr) = _figure(11.0, 4.6, ncols=2)
    cmap = plt.get_cmap("tab20")
    drawn = 0
    for k, task in enumerate(y_true):
        t = np.asarray(y_true[task], dtype=float)
        s = np.asarray(y_score[task], dtype=float)
        ok = np.isfinite(t) & np.isfinite(s)
        t, s = t[ok], s[ok]
        if len(np.unique(t)) < 2:
            continue
        colour = cmap(k % 20)
        fpr, tpr, _ = roc_curve(t, s)
        prec, rec, _ = precision_recall_curve(t, s)
        ax_roc.plot(fpr, tpr, color=colour, lw=1.2, label=f"{task} ({roc_auc_score(t, s):.2f})")
        ax_pr.step(rec, prec, where="post", color=colour, lw=1.2,
                   label=f"{task} ({average_precision_score(t, s):.2f})")  # fmt: skip
        ax_pr.axhline(t.mean(), color=colour, lw=0.6, ls=":")
        drawn += 1
    if not drawn:
        raise MolprobeError("ROC/PR plot: no task has both positive and negative labels")
    ax_roc.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="chance (AUC 0.5)")
    ax_roc.set(
        xlabel="false positive rate", ylabel="true positive rate", title="ROC curves (ROC-AUC)"
    )
    ax_pr.set(
        xlabel="recall",
        ylabel="precision",
        title="Precision–recall (average precision)",
        ylim=(0, 1.02),
    )
    for ax in (ax_roc, ax_pr):
        ax.legend(
            fontsize=8, ncol=2, frameon=False, loc="lower right" if ax is ax_roc else "upper right"
        )
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_training_curves(history: pd.DataFrame) -> Figure:
    """Training curves per run: train and validation loss (left, log scale) and the
    validation metric (right) against the epoch.

    history: columns run, model, epoch, train_loss, val_loss, val_metric (history.csv rows
    stacked with the run name and model family)."""
    _require(history, ["run", "model", "epoch", "val_metric"], "training curves")
    fig, (ax_loss, ax_metric) = _figure(11.0, 4.2, ncols=2)
    styles = ["-", "--", ":", "-."]
    for k, (run, h) in enumerate(history.groupby("run", sort=False)):
        colour = model_colour(str(h["model"].iloc[0]))
        ls = styles[k % len(styles)]
        h = h.sort_values("epoch")
        if "train_loss" in h and h["train_loss"].notna().any():
            ax_loss.plot(h["epoch"], h["train_loss"], color=colour, ls=ls, lw=1.0, alpha=0.6)
        if "val_loss" in h and h["val_loss"].notna().any():
            ax_loss.plot(h["epoch"], h["val_loss"], color=colour, ls=ls, lw=1.6, label=str(run))
        ax_metric.plot(
            h["epoch"],
            h["val_metric"],
            color=colour,
            ls=ls,
            lw=1.4,
            marker="." if len(h) < 30 else None,
            label=str(run),
        )
    ax_loss.set_yscale("log")
    ax_loss.set(
        xlabel="epoch",
        ylabel="loss (binary cross-entropy, log scale)",
        title="Loss: validation (thick), train (thin)",
    )
    ax_metric.set(xlabel="epoch", ylabel="validation metric (ROC-AUC)", title="Validation metric")
    for ax in (ax_loss, ax_metric):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_depth(depth: pd.DataFrame, metric: str = "roc_auc") -> Figure:
    """Depth experiment: test metric against the number of hidden layers (log2 axis), one
    line per model family; shaded band = ± std (or CI) when given.

    depth: columns model, depth, mean, and optionally std or ci_low/ci_high."""
    _require(depth, ["model", "depth", "mean"], "depth plot")
    fig, (ax,) = _figure(6.5, 4.2)
    for model, d in depth.groupby("model", sort=False):
        d = d.sort_values("depth")
        c = model_colour(str(model))
        ax.plot(d["depth"], d["mean"], marker="o", color=c, label=str(model))
        if {"ci_low", "ci_high"} <= set(d.columns) and d["ci_low"].notna().all():
            ax.fill_between(d["depth"], d["ci_low"], d["ci_high"], color=c, alpha=0.15)
        elif "std" in d.columns and d["std"].notna().all():
            ax.fill_between(
                d["depth"], d["mean"] - d["std"], d["mean"] + d["std"], color=c, alpha=0.15
            )
    ax.set_xscale("log", base=2)
    depths = sorted(set(depth["depth"].astype(int)))
    ax.set_xticks(depths, [str(x) for x in depths])
    ax.set(xlabel="hidden layers (count, log2 scale)", ylabel=f"test {metric} (task mean)")
    if metric == "roc_auc":
        ax.axhline(0.5, ls="--", color="grey", lw=1.0, label="chance (0.5)")
    ax.set_title("Accuracy against depth")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- probes stage


def plot_probe_heatmap(probes: pd.DataFrame, value: str | None = None, title: str = "") -> Figure:
    """Layer × concept heatmap of linear-probe scores. Default value: ``selectivity``
    (probe ROC-AUC minus the control-task AUC) when present, else ``auc``. Concepts are
    grouped by ``level`` when the table has one; cells hold the number.

    probes: columns layer, concept, [level], auc, [control_auc, selectivity]; layers in
    their order of appearance (input → output)."""
    _require(probes, ["layer", "concept"], "probe heatmap")
    if value is None:
        value = "selectivity" if "selectivity" in probes.columns else "auc"
    _require(probes, [value], "probe heatmap")
    order = ["level", "concept"] if "level" in probes.columns else ["concept"]
    concepts = list(dict.fromkeys(probes.sort_values(order, kind="stable")["concept"]))
    layers = list(dict.fromkeys(probes["layer"]))
    grid = (
        probes.pivot_table(index="concept", columns="layer", values=value, aggfunc="mean")
        .reindex(index=concepts, columns=layers)
        .to_numpy(dtype=float)
    )
    diverging = value == "selectivity" or value.startswith("delta")
    fig, (ax,) = _figure(max(5.0, 0.7 * len(layers) + 3), max(3.0, 0.28 * len(concepts) + 1.5))
    if diverging:
        lim = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 0.5
        im = ax.imshow(grid, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    else:
        im = ax.imshow(grid, cmap="viridis", vmin=0.5, vmax=1.0, aspect="auto")
    if grid.size <= 400:
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if (not diverging and v < 0.75) else "black")  # fmt: skip
    ax.set_xticks(range(len(layers)), [str(x) for x in layers], rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(concepts)), concepts, fontsize=7)
    if "level" in probes.columns:
        levels = (
            probes.drop_duplicates("concept").set_index("concept").loc[concepts, "level"].to_numpy()
        )
        for i in range(1, len(levels)):
            if levels[i] != levels[i - 1]:
                ax.axhline(i - 0.5, color="black", lw=1.2)
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("concept")
    label = {"selectivity": "selectivity (probe AUC − control AUC)", "auc": "probe ROC-AUC"}.get(
        value, value
    )
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    ax.set_title(title or "What each layer encodes (linear probes)")
    fig.tight_layout()
    return fig


def plot_probe_curves(probes: pd.DataFrame, value: str = "auc", title: str = "") -> Figure:
    """Per-concept curves: probe score against the layer, one line per concept, the
    control AUC as a dashed grey line when present."""
    _require(probes, ["layer", "concept", value], "probe curves")
    layers = list(dict.fromkeys(probes["layer"]))
    pos = {layer: i for i, layer in enumerate(layers)}
    fig, (ax,) = _figure(max(6.0, 0.6 * len(layers) + 3), 4.2)
    cmap = plt.get_cmap("tab20")
    for k, (concept, d) in enumerate(probes.groupby("concept", sort=False)):
        x = d["layer"].map(pos)
        ax.plot(x, d[value], marker=".", color=cmap(k % 20), lw=1.1, label=str(concept))
    if "control_auc" in probes.columns:
        ctrl = probes.groupby("layer", sort=False)["control_auc"].mean().reindex(layers)
        ax.plot(
            range(len(layers)),
            ctrl.to_numpy(),
            ls="--",
            color="grey",
            lw=1.5,
            label="control (mean)",
        )
    ax.set_xticks(range(len(layers)), [str(x) for x in layers], rotation=45, ha="right", fontsize=7)
    ax.set(xlabel="layer (input → output)", ylabel=f"probe {value.replace('_', '-').upper()}")
    ax.legend(fontsize=8, ncol=2, frameon=False, bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title(title or "Concept decodability through depth")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- dynamics stage


def arch_colour(arch: str) -> str:
    """Colour of an architecture of the dynamics experiments (sigmoid, ..., lstm, rnn)."""
    from molprobe.dynamics.plots import ARCH_COLORS

    return ARCH_COLORS.get(arch, model_colour(arch))


def plot_gradient_norms(gradients: pd.DataFrame, column: str = "grad_norm_weight") -> Figure:
    """Gradient norm per layer (log scale) for each architecture and depth, at the first
    and last recorded training step; vanishing gradients show as lines falling towards the
    input layers.

    gradients: columns arch, depth, layer (1 = nearest the input), step, grad_norm_weight."""
    _require(gradients, ["arch", "depth", "layer", "step", column], "gradient-norm plot")
    steps = sorted(gradients["step"].unique())
    shown = [steps[0], steps[-1]] if len(steps) > 1 else steps
    fig, axes = _figure(5.5 * len(shown), 4.2, ncols=len(shown))
    for ax, step in zip(axes, shown, strict=True):
        d = gradients[gradients["step"] == step]
        depths = sorted(d["depth"].unique())
        for (arch, depth), g in d.groupby(["arch", "depth"], sort=True):
            g = g.groupby("layer")[column].mean()
            style = ["-", "--", ":", "-."][depths.index(depth) % 4]  # line style = depth
            ax.plot(g.index, g.to_numpy(), marker=".", color=arch_colour(str(arch)),
                    ls=style, label=f"{arch}, {depth} layers")  # fmt: skip
        ax.set_yscale("log")
        ax.set(
            xlabel="layer (1 = nearest the input)",
            ylabel="gradient norm ‖∂loss/∂W‖ (log scale)",
            title=f"step {step}",
        )
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle("Gradient norms through depth", fontsize=11)
    fig.tight_layout()
    return fig


def plot_gradient_through_time(through_time: pd.DataFrame, column: str = "grad_norm") -> Figure:
    """Gradient norm of the loss with respect to the input token at a given distance from
    the output (log scale), one line per architecture: how far back credit reaches.

    through_time: columns arch, distance (tokens), grad_norm."""
    _require(through_time, ["arch", "distance", column], "gradient-through-time plot")
    fig, (ax,) = _figure(6.5, 4.2)
    for arch, d in through_time.groupby("arch", sort=True):
        g = d.groupby("distance")[column].agg(
            ["median", lambda x: x.quantile(0.25), lambda x: x.quantile(0.75)]
        )
        g.columns = ["median", "q25", "q75"]
        c = arch_colour(str(arch))
        ax.plot(g.index, g["median"], color=c, label=str(arch))
        ax.fill_between(g.index, g["q25"], g["q75"], color=c, alpha=0.15)
    ax.set_yscale("log")
    ax.set(
        xlabel="distance from the last token (tokens)",
        ylabel="gradient norm (log scale; median, IQR band)",
    )
    ax.set_title("Gradient flow through time")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_lstm_credit(summary: pd.DataFrame) -> Figure:
    """LSTM credit assignment: slope of attribution against token position per group and
    architecture (bars), with ±1 std over seeds; a slope near 0 means the model credits
    distant tokens as much as near ones.

    summary: columns arch, group, slope, [augmented, seed]."""
    _require(summary, ["arch", "group", "slope"], "LSTM credit plot")
    s = summary.copy()
    if "augmented" in s.columns:
        s["arch"] = s["arch"].astype(str) + np.where(
            s["augmented"].astype(bool), " (augmented)", ""
        )
    agg = s.groupby(["group", "arch"], sort=True)["slope"].agg(["mean", "std"]).reset_index()
    groups = list(dict.fromkeys(agg["group"]))
    archs = list(dict.fromkeys(agg["arch"]))
    width = 0.8 / max(len(archs), 1)
    fig, (ax,) = _figure(max(6.0, 1.2 * len(groups) + 3), 4.0)
    for j, arch in enumerate(archs):
        d = agg[agg["arch"] == arch].set_index("group").reindex(groups)
        x = np.arange(len(groups)) + (j - (len(archs) - 1) / 2) * width
        ax.bar(x, d["mean"], width * 0.92, yerr=d["std"].fillna(0), capsize=3, label=arch,
               color=model_colour(arch.split(" ")[0]), alpha=0.6 if "augmented" in arch else 1.0)  # fmt: skip
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(range(len(groups)), groups)
    ax.set(xlabel="molecule group", ylabel="attribution slope (per token position)")
    ax.set_title("Credit assignment along the SMILES string")
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- screening stage


def plot_score_distribution(
    scores: np.ndarray, top_threshold: float | None = None, title: str = ""
) -> Figure:
    """Histogram of the library's ranking scores (log count axis: hits are the rare tail);
    the dotted line marks the score of the last reported top hit."""
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s)]
    if not len(s):
        raise MolprobeError("score distribution: no finite scores")
    fig, (ax,) = _figure(6.5, 4.0)
    bins = min(60, max(10, int(math.sqrt(len(s)))))
    ax.hist(s, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_yscale("log")
    if top_threshold is not None and math.isfinite(top_threshold):
        ax.axvline(
            top_threshold,
            color="#c44e52",
            ls=":",
            lw=1.5,
            label=f"top hits: score ≥ {top_threshold:.3f}",
        )
        ax.legend(fontsize=8, frameon=False)
    ax.set(
        xlabel="screening score (ensemble mean probability)", ylabel="molecules (count, log scale)"
    )
    ax.set_title(title or f"Library score distribution ({len(s)} molecules)")
    fig.tight_layout()
    return fig
