"""One figure per shortcut check (matplotlib, Agg backend). Each function takes a table and
returns a ``matplotlib.figure.Figure``; the CLI saves it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from molprobe.shortcuts.attribution import attribution_summary
from molprobe.shortcuts.counterions import DATASET_SALT


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _empty(title: str, message: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def plot_similarity(table: pd.DataFrame):
    """Left: test AUC (task and seed mean) per similarity bin, one line per model and split,
    the 1-NN baseline in black, each bin's positives (summed over tasks, seeds and splits)
    under its name. Right: whole-test-set AUC on random vs scaffold split per model."""
    if table.empty:
        return _empty("Analog bias", "no predictions")
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    binned = table[table["bin"] != "all"]
    names = binned.drop_duplicates("sim_low").sort_values("sim_low")["bin"].tolist()
    styles = {"random": "-", "scaffold": "--"}
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    models = sorted(table["model"].unique())
    for i, model in enumerate(models):
        for split, g in binned[binned["model"] == model].groupby("split"):
            m = g.groupby("sim_low")["roc_auc"].mean().reindex(sorted(binned["sim_low"].unique()))
            ax.plot(range(len(m)), m.to_numpy(), styles.get(split, ":"), marker="o",
                    color=colours[i % len(colours)], label=f"{model} ({split})")  # fmt: skip
    order = sorted(binned["sim_low"].unique())
    if "nn_auc" in binned.columns and binned["nn_auc"].notna().any():
        nn = binned.drop_duplicates(["split", "seed", "task", "sim_low"])
        for split, g in nn.groupby("split"):
            m = g.groupby("sim_low")["nn_auc"].mean().reindex(order)
            ax.plot(range(len(m)), m.to_numpy(), styles.get(split, ":"), marker="x",
                    color="black", lw=0.8, label=f"1-NN baseline ({split})")  # fmt: skip
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    pos = binned.drop_duplicates(["split", "seed", "task", "sim_low"])
    pos = pos.groupby("sim_low")["n_positive"].sum().reindex(order).fillna(0).astype(int)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n{p} pos." for n, p in zip(names, pos, strict=False)], fontsize=8)
    ax.set_xlabel("max Tanimoto (ECFP4) of the test molecule to the training set")
    ax.set_ylabel("test ROC-AUC (mean over tasks and seeds)")
    ax.set_title("AUC vs similarity to the training set")
    ax.legend(fontsize=7, ncol=2)
    whole = table[table["bin"] == "all"].groupby(["model", "split"])["roc_auc"].mean().unstack()
    x = np.arange(len(whole))
    for j, split in enumerate(whole.columns):
        ax2.bar(x + (j - (len(whole.columns) - 1) / 2) * 0.38, whole[split].to_numpy(), 0.36,
                label=f"{split} split")  # fmt: skip
    ax2.set_xticks(x)
    ax2.set_xticklabels(whole.index, rotation=30, ha="right", fontsize=8)
    ax2.set_ylim(0.4, 1.0)
    ax2.set_ylabel("test ROC-AUC (mean over tasks and seeds)")
    ax2.set_title("random vs scaffold split")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_trivial(table: pd.DataFrame, margin: float = 0.05):
    """Per task: bulk-descriptor AUC vs best deep model AUC (markers by split); flagged tasks
    are filled red."""
    if table.empty:
        return _empty("Trivial-feature baselines", "no baseline")
    plt = _plt()
    per = table.drop_duplicates(["split", "task"])
    tasks = sorted(per["task"].unique())
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(tasks) + 2), 4))
    x = {t: i for i, t in enumerate(tasks)}
    for j, (split, g) in enumerate(per.groupby("split")):
        off = (j - 0.5) * 0.25
        xs = np.array([x[t] for t in g["task"]]) + off
        ax.scatter(xs, g["best_model_auc"], marker="^", color="C0",
                   label="best deep model" if j == 0 else None)  # fmt: skip
        ax.scatter(xs, g["trivial_auc_mean"], marker="o" if split == "random" else "s",
                   facecolors=np.where(g["flagged"], "C3", "none"), edgecolors="C3",
                   label=f"bulk descriptors ({split})")  # fmt: skip
        ax.vlines(xs, g["trivial_auc_mean"], g["best_model_auc"], color="grey", lw=0.6)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("test ROC-AUC (mean over seeds)")
    ax.set_title(f"bulk-descriptor baseline vs best deep model (filled: within {margin} AUC)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_counterions(table: pd.DataFrame):
    """95th percentile of |Δp| per model and perturbation (mean over tasks and runs), with the
    max as a tick."""
    if table.empty:
        return _empty("Counter-ion sensitivity", "no pairs")
    plt = _plt()
    std_max = np.nan
    if "pipeline" in table.columns:
        std_max = table.loc[table["pipeline"] == "standardized", "max_abs_shift"].max()
        table = table[table["pipeline"] == "raw"]
    sub = table[table["perturbation"] != "all_added"]
    kinds = [k for k in sorted(sub["perturbation"].unique()) if k != DATASET_SALT]
    kinds += [DATASET_SALT] if DATASET_SALT in set(sub["perturbation"]) else []
    models = sorted(sub["model"].unique())
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(kinds) * max(len(models), 1) * 0.4 + 3), 4))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        g = sub[sub["model"] == model].groupby("perturbation")
        p95 = g["p95_abs_shift"].mean().reindex(kinds)
        mx = g["max_abs_shift"].max().reindex(kinds)
        xs = np.arange(len(kinds)) + (i - (len(models) - 1) / 2) * width
        ax.bar(xs, p95.to_numpy(), width * 0.95, label=model)
        ax.scatter(xs, mx.to_numpy(), marker="_", color="black", s=60,
                   label="max |Δp|" if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(kinds)))
    ax.set_xticklabels(kinds, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("|Δp| (probability), 95th percentile")
    ax.set_xlabel("fragment added to the parent (dataset_salt: the dataset's own salt forms)")
    ax.set_title(
        "prediction shift from counter-ions, salts and solvents (raw input)\n"
        f"through the dataset's standardizer: max |Δp| {std_max:.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_attribution(table: pd.DataFrame):
    """Alert-atom share of |attribution| vs alert-atom fraction per model (trained vs
    shuffled-label), mean over tasks of molecules with an alert."""
    summary = attribution_summary(table)
    if summary.empty:
        return _empty("Attribution sanity", "no attributions")
    plt = _plt()
    agg = summary.groupby(["model", "split", "control"])[
        ["alert_share", "alert_atom_fraction"]
    ].mean()
    agg = agg.reset_index()
    labels = sorted({f"{m} ({s})" for m, s in zip(agg["model"], agg["split"], strict=True)})
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels) + 2), 4))
    x = {lab: i for i, lab in enumerate(labels)}
    for j, (control, colour) in enumerate((("trained", "C0"), ("permuted", "C7"))):
        g = agg[agg["control"] == control]
        if g.empty:
            continue
        xs = np.array([x[f"{m} ({s})"] for m, s in zip(g["model"], g["split"], strict=True)])
        ax.bar(xs + (j - 0.5) * 0.38, g["alert_share"], 0.36, color=colour,
               label=f"share of |attribution| on alert atoms ({control} labels)")  # fmt: skip
    base = agg.groupby(["model", "split"])["alert_atom_fraction"].mean()
    for (m, s), v in base.items():
        i = x[f"{m} ({s})"]
        ax.hlines(v, i - 0.4, i + 0.4, color="C3", lw=2,
                  label="share of atoms that are alert atoms" if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share (mean over top-scored molecules with an alert)")
    ax.set_ylim(0, 1)
    ax.set_title("attribution on known toxicophores: trained vs shuffled-label model")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_permuted(table: pd.DataFrame, leak: float = 0.55):
    """Task-mean test AUC with 95% CI: trained model vs the shuffled-label model."""
    if table.empty:
        return _empty("Randomized-label control", "no shuffled-label model")
    plt = _plt()
    mean = table[table["task"] == "mean"].sort_values(["model", "split", "seed", "permutation"])
    labels = [f"{m} ({s}, seed {d}, twin {k})" for m, s, d, k in zip(
        mean["model"], mean["split"], mean["seed"], mean["permutation"], strict=True)]  # fmt: skip
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(labels) + 2), 4))
    xs = np.arange(len(labels))
    err = np.vstack([mean["roc_auc"] - mean["ci_low"], mean["ci_high"] - mean["roc_auc"]])
    ax.errorbar(xs, mean["roc_auc"], yerr=np.nan_to_num(err), fmt="o", color="C3", capsize=3,
                label="shuffled labels (95% bootstrap CI)")  # fmt: skip
    ax.scatter(xs, mean["trained_auc"], marker="^", color="C0", label="trained on real labels")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    ax.axhline(leak, color="C3", lw=0.8, ls="--", label=f"leak threshold {leak}")
    ax.set_xticks(xs)
    ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test ROC-AUC (task mean)")
    ax.set_ylim(0.3, 1.0)
    ax.set_title("randomized-label control")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_planted(runs: pd.DataFrame, summary: pd.DataFrame, threshold: float = 0.05):
    """The planted ping-pong control. Left: prediction shift when the decoy is added (seed
    mean, 95% CI), planted vs clean twin per family. Right: test ROC-AUC without decoys and
    with the decoy on the negatives only (seeds as points), with the flag threshold's meaning."""
    if summary.empty:
        return _empty("Planted ping-pong control", "not run")
    plt = _plt()
    models = list(dict.fromkeys(summary["model"]))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(max(8, 1.6 * len(models) + 4), 4))
    xs = np.arange(len(models))
    for k, (cond, color) in enumerate((("planted", "C3"), ("clean", "C0"))):
        g = summary[summary["condition"] == cond].set_index("model").reindex(models)
        x = xs + (k - 0.5) * 0.3
        err = np.vstack([g["shift"] - g["shift_ci_low"], g["shift_ci_high"] - g["shift"]])
        ax1.errorbar(x, g["shift"], yerr=np.nan_to_num(err), fmt="o", color=color, capsize=3,
                     label=cond)  # fmt: skip
        r = runs[runs["condition"] == cond]
        for j, m in enumerate(models):
            rm = r[r["model"] == m]
            ax2.scatter(np.full(len(rm), x[j]), rm["auc_clean"], marker="o", color=color, s=14)
            ax2.scatter(np.full(len(rm), x[j]), rm["auc_against"], marker="v", color=color,
                        s=14)  # fmt: skip
            flagged = g.loc[m, "flagged"] if m in g.index else False
            if flagged:
                ax2.annotate("flag", (x[j], 0.02), ha="center", fontsize=7, color=color)
    ax1.axhline(0, color="grey", lw=0.8, ls=":")
    ax1.set_xticks(xs)
    ax1.set_xticklabels(models, fontsize=8)
    ax1.set_ylabel("p(with decoy) - p(without), test mean")
    ax1.set_title(f"decoy shift ({summary['task'].iloc[0]})")
    ax1.legend(fontsize=7)
    ax2.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax2.set_xticks(xs)
    ax2.set_xticklabels(models, fontsize=8)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("test ROC-AUC (o no decoys, v decoy on negatives)")
    ax2.set_title(f"ping-pong collapse (flag: drop CI above {threshold})")
    fig.tight_layout()
    return fig
