"""The verdict: at which layer does each concept level emerge, with intervals over molecules
and seeds, does the net use it, and does the ordering radicals (1) -> interaction centres
(2) -> pharmacophores (3) hold?

"The ordering holds" only when the level emergence layers increase 1 < 2 < 3 and their 95 %
intervals do not overlap (hi of level 1 < lo of level 2, hi of level 2 < lo of level 3);
otherwise the sentence says which order was found.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from molprobe.chem.concepts import LEVEL_NAMES, LEVELS


def plain_layer_name(layer: str, graph: bool = False) -> str:
    """Chemists' names for layers: fingerprint input, hidden layer k, message-passing step k,
    pooled molecule."""
    if layer == "input":
        return "atom features (summed)" if graph else "fingerprint input"
    if layer == "pool":
        return "pooled molecule"
    m = re.fullmatch(r"mp(\d+)", layer)
    if m:
        return f"message-passing step {m.group(1)}"
    m = re.fullmatch(r"[a-z_]*?(\d+)", layer)
    return f"hidden layer {m.group(1)}" if m else layer


def ordering_sentence(name: str, levels: pd.DataFrame) -> str:
    """One plain sentence on the ordering from the level table of one net family
    (:func:`molprobe.probing.emergence.emergence_tables`)."""
    sub = levels.set_index("level")
    if not {1, 2, 3} <= set(sub.index):
        have = ", ".join(LEVELS[int(lv)] for lv in sub.index if lv in LEVELS)
        return f"{name}: cannot judge the ordering; only {have or 'no level'} had concepts."
    e = [float(sub.loc[lv, "emergence_index"]) for lv in (1, 2, 3)]
    where = ", ".join(
        f"{LEVELS[lv]} at {sub.loc[lv, 'emergence_layer']} "
        f"({sub.loc[lv, 'emergence_index']:.1f} [{sub.loc[lv, 'lo']:.1f}, {sub.loc[lv, 'hi']:.1f}])"
        for lv in (1, 2, 3)
    )
    separated = sub.loc[1, "hi"] < sub.loc[2, "lo"] and sub.loc[2, "hi"] < sub.loc[3, "lo"]
    if e[0] < e[1] < e[2] and separated:
        verdict = "holds"
    elif e[0] < e[1] < e[2]:
        verdict = "holds in the point estimates only (the intervals overlap)"
    elif e[0] == e[1] == e[2]:
        verdict = f"does not hold; all three levels emerge at the same layer ({sub.loc[1, 'emergence_layer']})"
    else:
        order = sorted((1, 2, 3), key=lambda lv: (e[lv - 1], lv))
        found = " <= ".join(LEVELS[lv] for lv in order)
        verdict = f"does not hold; the order found is {found}"
    return f"{name}: the ordering radicals -> centres -> pharmacophores {verdict} (emergence: {where})."


def _fmt(x, digits: int = 3) -> str:
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"


def verdict_markdown(
    name: str,
    levels: pd.DataFrame,
    families: pd.DataFrame,
    erasure: pd.DataFrame | None = None,
    controls: pd.DataFrame | None = None,
    neurons: pd.DataFrame | None = None,
    accuracy: pd.DataFrame | None = None,
) -> str:
    """The verdict report (Markdown) of one net family."""
    out = [f"# Probing verdict: {name}", "", ordering_sentence(name, levels), ""]
    at_input = levels["emergence_index"].astype(float).eq(0).all() and len(levels)
    if at_input:
        out += [
            'What "emerges at the input" means here: no trained layer holds any concept '
            "family linearly better than the input features (layer 0) or a randomly "
            "initialised copy of the net at that layer already do; training added no linear "
            "concept information. It does not say the net ignores the concepts (the causal "
            "test below asks that).",
            "",
        ]
    out.append(
        "Emergence layer = first layer whose learned gain (probe AUC beyond the best of the input "
        "and the mean random-init copy at this or any earlier layer; levels 2-3 conditional on "
        "the counts of the level below) reaches 80 % of its maximum, per concept family; per level the "
        "median over families, averaged over seeds, with 95 % bootstrap intervals resampling "
        "molecules and seeds (layer indices, input = 0)."
    )
    out += [
        "",
        "| level | emergence | 95% interval | peak | 95% interval | families | seeds | per seed |",
    ]
    out.append("|---|---|---|---|---|---|---|---|")
    for r in levels.itertuples(index=False):
        out.append(
            f"| {r.level} {LEVEL_NAMES.get(int(r.level), '')} | {r.emergence_layer} "
            f"({r.emergence_index:.1f}) | {r.lo:.1f}–{r.hi:.1f} | {r.peak_layer} ({r.peak_index:.1f}) "
            f"| {r.peak_lo:.1f}–{r.peak_hi:.1f} | {r.n_families} | {r.n_seeds} | {r.per_seed} |"
        )
    if len(families):
        share = families.groupby("level")["learned_any"].mean()
        items = ", ".join(f"level {int(k)}: {v:.0%}" for k, v in share.items())
        out += ["", "Concept families whose learned gain reaches their noise floor (max of "
                f"min_gain and 2 null standard errors of an AUC difference) ({items})."]  # fmt: skip
    if erasure is not None and len(erasure):
        out += ["", "## Causal test (LEACE at the level's emergence layer vs a random subspace "
                "of the same rank; task ROC-AUC on held-out molecules)", ""]  # fmt: skip
        out.append("| seed | level | layer | rank | task AUC | drop (concept) | drop (random) |")
        out.append("|---|---|---|---|---|---|---|")
        for r in erasure.itertuples(index=False):
            out.append(
                f"| {r.seed} | {r.level} | {r.layer} | {r.rank} | {_fmt(r.auc)} | "
                f"{_fmt(r.drop_concept)} | {_fmt(r.drop_random)} ± {_fmt(r.auc_random_sd)} |"
            )
        diff = erasure.assign(d=erasure["drop_concept"] - erasure["drop_random"])
        if "informative" in diff:
            for lv in sorted(set(diff["level"]) - set(diff.loc[diff["informative"], "level"])):
                out.append(
                    f"\nLevel {lv}: not informative (erased rank above half the layer width)."
                )
            diff = diff[diff["informative"]]
        for lv, g in diff.groupby("level"):
            se = g["d"].std(ddof=1) / np.sqrt(len(g)) if len(g) > 1 else np.inf
            uses = g["d"].mean() > max(0.01, 2 * se)
            out.append(
                f"\nLevel {lv}: the net {'uses' if uses else 'shows no clear sign of using'} the "
                f"erased concepts (drop {g['drop_concept'].mean():.3f} vs {g['drop_random'].mean():.3f}"
                f" for random subspaces; difference {g['d'].mean():.3f} ± {se:.3f} s.e. over "
                f"{len(g)} seed(s); 'uses' needs > max(0.01, 2 s.e.))."
            )
    if controls is not None and len(controls):
        sel = controls.groupby("level")[["gain", "control_gain", "selectivity"]].mean()
        out += ["", "## Control tasks (matched prevalence and locality)", "",
                "| level | concept gain | control gain | selectivity |", "|---|---|---|---|"]  # fmt: skip
        for lv, r in sel.iterrows():
            out.append(
                f"| {lv} | {_fmt(r.gain)} | {_fmt(r.control_gain)} | {_fmt(r.selectivity)} |"
            )
    if neurons is not None and len(neurons):
        good = neurons[neurons["heldout_auc"] >= 0.8]
        out += ["", f"Held-out neuron detectors (best unit chosen on one scaffold half, AUC on the "
                f"other; concepts with >= 20 positives): {len(good)} of {len(neurons)} "
                "(concept, layer, seed) reach AUC >= 0.8."]  # fmt: skip
    if accuracy is not None and len(accuracy):
        cols = list(accuracy.columns)
        out += ["", "## Task ROC-AUC of the probed nets", "", "| " + " | ".join(cols) + " |",
                "|" + "---|" * len(cols)]  # fmt: skip
        for r in accuracy.itertuples(index=False):
            out.append(
                "| " + " | ".join(_fmt(v) if isinstance(v, float) else str(v) for v in r) + " |"
            )
    return "\n".join(out) + "\n"
