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


def gradient_profile_figure(gradients: pd.DataFrame, depth: int) -> Figure:
    """Gradient norm vs layer (1 = input side), log y, one line per architecture.

    Rows: dLoss/dW (weights), dLoss/dh (layer inputs); columns: each recorded step. Lines are
    geometric means over seeds, bands the min-max over seeds.
    """
    df = gradients[gradients["depth"] == depth]
    steps = sorted(df["step"].unique()) or [0]
    fig, axes = plt.subplots(2, len(steps), figsize=(5.5 * len(steps), 8), squeeze=False)
    measures = [
        ("grad_norm_weight", "‖∂loss/∂W‖ of the layer"),
        ("grad_norm_input", "‖∂loss/∂h‖ of the layer input"),
    ]
    for row, (col, ylabel) in enumerate(measures):
        for j, step in enumerate(steps):
            ax = axes[row, j]
            sub = df[df["step"] == step]
            for arch, a in sub.groupby("arch", sort=False):
                g = a.groupby("layer")[col]
                mean = g.apply(_geo)
                ax.plot(mean.index, mean.values, "-o", ms=3, color=_color(arch), label=_label(arch))
                ax.fill_between(mean.index, g.min(), g.max(), color=_color(arch), alpha=0.15, lw=0)
            ax.set_yscale("log")
            ax.set_xlabel("layer (1 = nearest the input)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"depth {depth}, {_step_title(step)}")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.suptitle("Per-layer gradient norms of deep nets on ECFP (geometric mean over seeds)")
    fig.tight_layout()
    return fig


def gradient_ratio_figure(gradients: pd.DataFrame) -> Figure:
    """Ratio of the first layer's gradient norm to the last layer's vs depth, log y.

    Solid: weight gradients; dashed: layer-input gradients. One panel per recorded step;
    1 means no vanishing or exploding; geometric mean over seeds.
    """
    steps = sorted(gradients["step"].unique()) or [0]
    fig, axes = plt.subplots(1, len(steps), figsize=(5.5 * len(steps), 4.5), squeeze=False)
    for j, step in enumerate(steps):
        ax = axes[0, j]
        sub = gradients[gradients["step"] == step]
        for arch, a in sub.groupby("arch", sort=False):
            for col, style in (("grad_norm_weight", "-o"), ("grad_norm_input", "--")):
                ratios = []
                for depth, d in a.groupby("depth"):
                    first = d[d["layer"] == 1].set_index("seed")[col]
                    last = d[d["layer"] == depth].set_index("seed")[col]
                    ratios.append((depth, _geo(first / last)))
                if not ratios:
                    continue
                x, y = zip(*ratios, strict=True)
                ax.plot(
                    x,
                    y,
                    style,
                    ms=4,
                    color=_color(arch),
                    label=_label(arch) if col == "grad_norm_weight" else None,
                )
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylabel("gradient norm, layer 1 / layer L")
        ax.set_title(_step_title(step) + "\nsolid: weights, dashed: layer inputs")
        ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def jacobian_figure(jacobian: pd.DataFrame) -> Figure:
    """Mean log10 singular value and log10 spread of dh_L/dh_1 vs depth, at each step."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for arch, a in jacobian.groupby("arch", sort=False):
        for step, s in a.groupby("step"):
            g = s.groupby("depth")
            style = "-o" if step == 0 else ":s"
            lab = _label(arch) if step == 0 else None
            axes[0].plot(g["mean_log10_sv"].mean(), style, ms=4, color=_color(arch), label=lab)
            axes[1].plot(g["log10_spread"].mean(), style, ms=4, color=_color(arch), label=lab)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel("mean log10 singular value of ∂h_L/∂h_1")
    axes[1].set_ylabel("log10 (σ_max / σ_min, nonzero σ)")
    for ax in axes:
        ax.set_xlabel("depth (hidden layers)")
        ax.grid(True, alpha=0.3)
    axes[1].set_title("spread (saturates near 12: float64 limit)")
    axes[0].set_title("gain (0 = norm preserving); solid: init, dotted: trained")
    axes[0].legend(fontsize=8)
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
