"""Figures of the dynamics experiments (matplotlib, Agg). Each function returns a Figure;
the CLI saves it. One colour per architecture across all figures (:data:`ARCH_COLORS`).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

ARCH_COLORS = {
    "sigmoid": "#d62728",
    "tanh": "#ff7f0e",
    "relu": "#1f77b4",
    "relu_bn": "#17becf",
    "selu": "#2ca02c",
    "highway": "#9467bd",
    "residual": "#8c564b",
    "rnn": "#d62728",
    "lstm": "#2ca02c",
    "gru": "#1f77b4",
}
ARCH_LABELS = {
    "sigmoid": "sigmoid (Glorot)",
    "tanh": "tanh (Glorot)",
    "relu": "ReLU (He)",
    "relu_bn": "ReLU + BatchNorm",
    "selu": "SELU (LeCun)",
    "highway": "highway",
    "residual": "residual",
    "rnn": "vanilla RNN (tanh)",
    "lstm": "LSTM",
    "gru": "GRU",
}


def _color(arch: str) -> str:
    return ARCH_COLORS.get(arch, "#7f7f7f")


def _label(arch: str) -> str:
    return ARCH_LABELS.get(arch, arch)


def _geo(values: pd.Series) -> float:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if v.size else np.nan


def _step_title(step: int) -> str:
    return "at initialization" if step == 0 else f"after {step} training steps"


STAGE_TITLES = {
    "init": "at initialization",
    "epoch1": "after one epoch",
    "final": "end of training (early-stopped)",
}


def _stages(df: pd.DataFrame) -> list[str]:
    return [s for s in STAGE_TITLES if s in set(df["stage"])]


def gradient_profile_figure(gradients: pd.DataFrame, depth: int) -> Figure:
    """Per-layer error signal ||dL/dh_l|| (top) and weight gradient ||dL/dW_l|| (bottom), log y.

    Columns: training stages. Lines: geometric means over seeds, bands: min-max over seeds;
    dashed at init: the mean-field prediction (scaled to the measured last layer).
    """
    df = gradients[gradients["depth"] == depth]
    stages = _stages(df) or ["init"]
    fig, axes = plt.subplots(2, len(stages), figsize=(5.5 * len(stages), 8), squeeze=False)
    measures = [
        ("error_signal", "error signal ‖∂loss/∂h_l‖ (headline)"),
        ("grad_norm_weight", "weight gradient ‖∂loss/∂W_l‖"),
    ]
    for row, (col, ylabel) in enumerate(measures):
        for j, stage in enumerate(stages):
            ax = axes[row, j]
            sub = df[df["stage"] == stage]
            for arch, a in sub.groupby("arch", sort=False):
                g = a.groupby("layer")[col]
                mean = g.apply(_geo)
                ax.plot(mean.index, mean.values, "-o", ms=3, color=_color(arch), label=_label(arch))
                ax.fill_between(mean.index, g.min(), g.max(), color=_color(arch), alpha=0.15, lw=0)
                if col == "error_signal" and stage == "init":
                    mf = a.groupby("layer")["meanfield_error_signal"].apply(_geo)
                    ax.plot(mf.index, mf.values, "--", color=_color(arch), lw=1)
            ax.set_yscale("log")
            ax.set_xlabel("layer (1 = nearest the input)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"depth {depth}, {STAGE_TITLES[stage]}")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.suptitle("Per-layer gradients on ECFP (geometric mean over seeds; dashed: mean-field)")
    fig.tight_layout()
    return fig


def gradient_ratio_figure(summary: pd.DataFrame) -> Figure:
    """Layer-1 / layer-L ratio vs depth, log y, one panel per stage (``gradient_summary``).

    Solid with 95 % interval over seeds: error signal (headline); dotted: weight gradient;
    dashed (init): mean-field prediction of the error signal.
    """
    stages = _stages(summary) or ["init"]
    fig, axes = plt.subplots(1, len(stages), figsize=(5.5 * len(stages), 4.8), squeeze=False)
    for j, stage in enumerate(stages):
        ax = axes[0, j]
        sub = summary[summary["stage"] == stage]
        for arch, a in sub.groupby("arch", sort=False):
            a = a.sort_values("depth")
            c = _color(arch)
            ax.plot(a["depth"], a["error_signal_ratio"], "-o", ms=4, color=c, label=_label(arch))
            ax.fill_between(
                a["depth"],
                a["error_signal_ratio_low"],
                a["error_signal_ratio_high"],
                color=c,
                alpha=0.15,
                lw=0,
            )
            ax.plot(a["depth"], a["weight_grad_ratio"], ":", color=c, lw=1)
            if stage == "init":
                ax.plot(a["depth"], a["meanfield_ratio"], "--", color=c, lw=1)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel("layer 1 / layer L")
        ax.set_title(
            STAGE_TITLES[stage]
            + "\nsolid: error signal (95 % CI), dotted: weight gradient"
            + (", dashed: mean-field" if stage == "init" else ""),
            fontsize=9,
        )
        ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def jacobian_figure(jacobian: pd.DataFrame) -> Figure:
    """Distribution over molecules of log10 singular values of dh_L/dh_1, per stage.

    Left: mean log10 singular value (gain; 0 = norm preserving); right: log10 spread
    (sigma_max / smallest nonzero sigma). Box per (arch, stage) at the largest depth measured.
    """
    depth = int(jacobian["depth"].max())
    d = jacobian[jacobian["depth"] == depth]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    stages = _stages(d) or ["init"]
    archs = list(dict.fromkeys(d["arch"]))
    for k, (col, title) in enumerate(
        [("mean_log10_sv", "mean log10 σ of ∂h_L/∂h_1"), ("log10_spread", "log10 σ_max/σ_min")]
    ):
        ax = axes[k]
        for i, arch in enumerate(archs):
            for s_i, stage in enumerate(stages):
                v = (
                    d[(d["arch"] == arch) & (d["stage"] == stage)][col]
                    .replace([np.inf, -np.inf], np.nan)
                    .dropna()
                )
                if v.empty:
                    continue
                pos = i * (len(stages) + 1) + s_i
                bp = ax.boxplot([v], positions=[pos], widths=0.8, patch_artist=True)
                bp["boxes"][0].set_facecolor(_color(arch))
                bp["boxes"][0].set_alpha(0.3 + 0.3 * s_i)
        ax.set_xticks(
            [i * (len(stages) + 1) + (len(stages) - 1) / 2 for i in range(len(archs))],
            [_label(a) for a in archs],
            rotation=30,
            fontsize=8,
        )
        ax.set_title(f"{title}, depth {depth}; boxes: {', '.join(stages)}", fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    axes[1].text(0.01, 0.97, "saturates near 12 (float64)", transform=axes[1].transAxes, va="top")
    fig.tight_layout()
    return fig


def through_time_figure(through_time: pd.DataFrame) -> Figure:
    """Gradient reaching token t, relative to the last token, vs distance from the end (log y).

    Top: the recurrent state (h, and c for the LSTM); bottom: the token embedding.
    Columns: at initialization / after training.
    """
    steps = sorted(through_time["step"].unique()) or [0]
    fig, axes = plt.subplots(2, len(steps), figsize=(5.5 * len(steps), 8), squeeze=False)
    rows = [
        ("relative_state", "‖∂loss/∂state_t‖ / ‖∂loss/∂state_T‖"),
        ("relative_input", "‖∂loss/∂x_t‖ / ‖∂loss/∂x_T‖"),
    ]
    for r, (col, ylabel) in enumerate(rows):
        for j, step in enumerate(steps):
            ax = axes[r, j]
            sub = through_time[through_time["step"] == step]
            for arch, a in sub.groupby("arch", sort=False):
                g = a.groupby("distance")[col].apply(_geo)
                ax.plot(g.index, g.values, "-", color=_color(arch), label=_label(arch))
            ax.set_yscale("log")
            ax.set_xlabel("tokens before the end of the SMILES")
            ax.set_ylabel(ylabel)
            ax.set_title(_step_title(step))
            ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Gradient through time on SMILES (geometric mean over molecules)")
    fig.tight_layout()
    return fig


def credit_figure(credit: pd.DataFrame, n_bins: int = 5) -> Figure:
    """Group credit share vs the group's position in the SMILES, per model.

    Panels: model (arch) x training (canonical only / randomized-SMILES augmentation). Points:
    one randomized SMILES each; line: mean per position bin; dashed: the share under uniform
    credit (group tokens / all tokens).
    """
    archs = list(dict.fromkeys(credit["arch"]))
    augs = sorted(credit["augmented"].unique())
    fig, axes = plt.subplots(
        len(archs),
        len(augs),
        figsize=(5 * len(augs), 3.8 * len(archs)),
        squeeze=False,
        sharey=True,
    )
    edges = np.linspace(0, 1, n_bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    for i, arch in enumerate(archs):
        for j, aug in enumerate(augs):
            ax = axes[i, j]
            sub = credit[(credit["arch"] == arch) & (credit["augmented"] == aug)]
            ax.scatter(sub["position"], sub["credit_share"], s=5, alpha=0.25, color=_color(arch))
            bins = np.clip(np.digitize(sub["position"], edges) - 1, 0, n_bins - 1)
            means = sub.groupby(bins)["credit_share"].mean().reindex(range(n_bins))
            uni = sub.groupby(bins)["uniform_share"].mean().reindex(range(n_bins))
            ax.plot(centers, means.values, "-o", color="k", label="mean credit share")
            ax.plot(centers, uni.values, "--", color="grey", label="uniform credit")
            if len(sub) > 2 and sub["position"].std() > 0:
                slope = np.polyfit(sub["position"], sub["credit_share"], 1)[0]
                ax.text(0.02, 0.95, f"slope {slope:+.3f}", transform=ax.transAxes, va="top")
            ax.set_title(
                f"{_label(arch)}, {'randomized-SMILES augmentation' if aug else 'canonical SMILES only'}",
                fontsize=9,
            )
            ax.set_xlabel("group position in SMILES (0 = start, 1 = end)")
            ax.set_ylabel("group share of |credit|")
            ax.grid(True, alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def prediction_spread_figure(summary: pd.DataFrame) -> Figure:
    """Std of the predicted probability across randomized SMILES of one molecule, per model."""
    s = summary[summary["group"] == "all"]
    fig, ax = plt.subplots(figsize=(6, 4))
    archs = list(dict.fromkeys(s["arch"]))
    width = 0.38
    for k, aug in enumerate([False, True]):
        vals = [
            s[(s["arch"] == a) & (s["augmented"] == aug)]["prediction_std"].mean() for a in archs
        ]
        x = np.arange(len(archs)) + (k - 0.5) * width
        ax.bar(
            x,
            vals,
            width,
            color=[_color(a) for a in archs],
            alpha=0.45 if not aug else 0.9,
            edgecolor="k",
            label="randomized-SMILES augmentation" if aug else "canonical only",
        )
    ax.set_xticks(np.arange(len(archs)), [_label(a) for a in archs])
    ax.set_ylabel("std of prediction across SMILES of a molecule")
    ax.set_title("Prediction spread across randomized SMILES (lower = more invariant)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def planted_credit_figure(credit: pd.DataFrame, summary: pd.DataFrame, n_bins: int = 5) -> Figure:
    """Share of |credit| on the planted S vs S's relative position, one panel per model.

    Solid: integrated gradients, dotted: occlusion; dashed grey: the share under uniform
    credit (S tokens / all tokens); mean per position bin with its 95 % interval over seeds.
    """
    archs = list(dict.fromkeys(credit["arch"]))
    fig, axes = plt.subplots(
        1, len(archs), figsize=(4.2 * len(archs), 4), squeeze=False, sharey=True
    )
    edges = np.linspace(0, 1, n_bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    info = summary.set_index("arch") if not summary.empty else None
    for ax, arch in zip(axes[0], archs, strict=True):
        sub = credit[credit["arch"] == arch].copy()
        sub["bin"] = np.clip(np.digitize(sub["position"], edges) - 1, 0, n_bins - 1)
        for col, style in (
            ("credit_share", "-o"),
            ("ablation_share", ":s"),
            ("uniform_share", "--"),
        ):
            per_seed = (
                sub.groupby(["seed", "bin"])[col].mean().unstack("seed").reindex(range(n_bins))
            )
            mean = per_seed.mean(axis=1)
            color = "grey" if col == "uniform_share" else _color(arch)
            ax.plot(centers, mean.values, style, color=color, ms=4, label=col.replace("_", " "))
            if col != "uniform_share" and per_seed.shape[1] > 1:
                half = 1.96 * per_seed.std(axis=1) / np.sqrt(per_seed.shape[1])
                ax.fill_between(centers, mean - half, mean + half, color=color, alpha=0.15, lw=0)
        title = _label(arch)
        if info is not None and arch in info.index:
            r = info.loc[arch]
            title += f"\nROC-AUC {r['roc_auc']:.3f}; " + (
                "learned" if r["learned"] else "not learned"
            )
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("S position in the SMILES (0 = start, 1 = end)")
        ax.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("share of |credit| on S's tokens")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
