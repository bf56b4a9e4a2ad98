"""``findings.md`` and ``findings.csv``: the audit tables turned into plain sentences with their
numbers, naming the tasks and models that look shortcut-driven and why. Every flag is a record
(:data:`FINDING_COLUMNS`: the check, what it measured, the value and its 95% interval where the
check has one) and its sentence; the markdown is written from the records, never re-parsed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from molprobe.shortcuts.analog import analog_summary
from molprobe.shortcuts.attribution import attribution_summary
from molprobe.shortcuts.counterions import DATASET_SALT

FINDING_COLUMNS = ["check", "subject", "measured", "value", "ci_low", "ci_high", "n", "text"]


def _flag(check, subject, measured, value, text, ci=(np.nan, np.nan), n=np.nan) -> dict:
    """One flag record; ``text`` gets the interval (or says there is none) appended."""
    lo, hi = ci
    if np.isfinite(lo) and np.isfinite(hi):
        sure = f" [{measured}: {_f(value)}, 95% CI {_f(lo)} to {_f(hi)}]"
    else:
        sure = f" [{measured}: {_f(value)}; no interval for this check]"
    return {"check": check, "subject": subject, "measured": measured, "value": float(value),
            "ci_low": float(lo), "ci_high": float(hi), "n": float(n), "text": text + sure}  # fmt: skip


@dataclass(frozen=True)
class Thresholds:
    """When a number becomes a finding.

    split_gap: random - scaffold test AUC (task mean) at or above which a model is flagged for
    analog bias; bin_gap: AUC on the most similar minus the least similar bin; trivial_margin:
    best deep model - bulk-descriptor model below which a task is flagged; shift_p95: 95th
    percentile of |Δp| at or above which a model × task is salt-sensitive; leak: permuted-label
    AUC above which the evaluation is suspected to leak; enrichment: minimum share ratio
    (alert share / alert atom fraction) expected of a model that uses toxicophores.
    """

    split_gap: float = 0.05
    bin_gap: float = 0.10
    trivial_margin: float = 0.05
    shift_p95: float = 0.10
    leak: float = 0.55
    enrichment: float = 1.0


def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def analog_section(table: pd.DataFrame, th: Thresholds) -> tuple[list[str], list[str]]:
    """(paragraph lines, flag lines) for analog bias."""
    lines, flags = [], []
    summary = analog_summary(table)
    if summary.empty:
        return ["No test predictions to bin."], flags
    for r in summary.itertuples():
        text = (
            f"- **{r.model}**: test ROC-AUC {_f(r.auc_random)} on the random split vs "
            f"{_f(r.auc_scaffold)} on the scaffold split (gap {_f(r.split_gap)}); on test "
            f"molecules whose max Tanimoto to the training set is in {r.low_bin or 'n/a'} "
            f"(about {_f(r.n_low_sim, 0)} molecules, {_f(r.pos_low_sim, 1)} positives per task "
            f"and seed) AUC {_f(r.auc_low_sim)} (1-NN baseline {_f(r.nn_low_sim)}), in "
            f"{r.high_bin or 'n/a'} ({_f(r.pos_high_sim, 1)} positives) AUC "
            f"{_f(r.auc_high_sim)} (1-NN {_f(r.nn_high_sim)}); task and seed means over bins "
            "with at least 5 positives and 5 negatives, per-bin 95% bootstrap CIs in "
            "similarity_bins.parquet."
        )
        why = []
        if np.isfinite(r.split_gap) and r.split_gap >= th.split_gap:
            why.append(f"loses {_f(r.split_gap)} AUC from the random to the scaffold split")
        if np.isfinite(r.bin_gap) and r.bin_gap >= th.bin_gap:
            why.append(f"is {_f(r.bin_gap)} AUC worse far from its training set than close to it")
        if why:
            text += " Looks analog-driven (memorises series): it " + " and ".join(why) + "."
            worst = _worst_tasks(table, r.model)
            if worst:
                text += f" Largest collapse by task: {worst}."
            gap = r.split_gap if np.isfinite(r.split_gap) else r.bin_gap
            what = "random - scaffold test AUC" if np.isfinite(r.split_gap) else "AUC bin gap"
            nn = f" (a 1-NN baseline: {_f(r.nn_low_sim)} far, {_f(r.nn_high_sim)} close)"
            flags.append(_flag("analog bias", r.model, what, gap,
                               f"Analog bias: {r.model} " + " and ".join(why) + nn + "."))  # fmt: skip
        lines.append(text)
    return lines, flags


def _worst_tasks(table: pd.DataFrame, model: str, k: int = 3) -> str:
    b = table[(table["model"] == model) & (table["bin"] != "all")]
    by = b.groupby(["task", "sim_low"])["roc_auc"].mean().dropna().reset_index()
    gaps = []
    for task, g in by.groupby("task"):
        g = g.sort_values("sim_low")
        if len(g) >= 2:
            gaps.append((g["roc_auc"].iloc[-1] - g["roc_auc"].iloc[0], task))
    gaps.sort(reverse=True)
    return ", ".join(f"{t} ({_f(d)})" for d, t in gaps[:k] if d > 0)


def trivial_section(table: pd.DataFrame, th: Thresholds) -> tuple[list[str], list[str]]:
    lines, flags = [], []
    if table.empty:
        return ["No trivial baseline was trained."], flags
    per = table.drop_duplicates(["split", "task"])
    flagged = per[per["flagged"]].sort_values("gap")
    for r in flagged.itertuples():
        g = table[(table["split"] == r.split) & (table["task"] == r.task)]
        text = (
            f"{r.task} ({r.split} split): a bulk-descriptor baseline chosen on validation "
            f"({', '.join(sorted(set(g['chosen'])))}) reaches test AUC {_f(r.trivial_auc_mean)} "
            f"(95% CI {_f(g['ci_low'].mean())} to {_f(g['ci_high'].mean())}, mean over "
            f"{len(g)} seed(s)) vs {_f(r.best_model_auc)} for the best deep model "
            f"({r.best_model}), a gap of {_f(r.gap)} < {th.trivial_margin}; the best single "
            f"descriptor on validation is {r.best_descriptor} (test AUC "
            f"{_f(r.best_descriptor_auc)})."
        )
        lines.append("- " + text)
        flags.append(_flag("trivial features", f"{r.task} ({r.split})", "trivial test AUC",
                           r.trivial_auc_mean, "Trivial features: " + text,
                           (g["ci_low"].mean(), g["ci_high"].mean()), r.n_test))  # fmt: skip
    if flagged.empty:
        ok = per.dropna(subset=["gap"]).sort_values("gap")
        if len(ok):
            r = ok.iloc[0]
            lines.append(
                f"No task flagged: the bulk-descriptor model stays at least {th.trivial_margin} "
                f"AUC below the best deep model everywhere (closest: {r['task']} on the "
                f"{r['split']} split, {_f(r['trivial_auc_mean'])} vs {_f(r['best_model_auc'])} "
                f"for {r['best_model']})."
            )
        else:
            lines.append("No deep-model AUC to compare with.")
    mean = per.groupby("split")["trivial_auc_mean"].mean()
    lines.append(
        "Mean bulk-descriptor AUC over tasks: "
        + ", ".join(f"{_f(v)} ({s} split)" for s, v in mean.items())
        + "."
    )
    return lines, flags


def counterion_section(table: pd.DataFrame, th: Thresholds) -> tuple[list[str], list[dict]]:
    lines, flags = [], []
    if table.empty:
        return ["No counter-ion pairs were scored."], flags
    if "pipeline" not in table.columns:
        table = table.assign(pipeline="raw")
    lines.append(
        "Two questions: *raw* feeds parent and salt form as given (the models were trained on "
        "stripped parents, so this tests how featurization and net extrapolate to unseen "
        "fragments: what a user meets who skips standardization); *standardized* sends both "
        "through the dataset's own recipe first, as `molprobe screen` does (0 by construction "
        "when the recipe keeps the largest fragment)."
    )
    for pipeline, part in table.groupby("pipeline", sort=True):
        sub_lines, sub_flags = _counterion_part(part, th, pipeline)
        lines += [f"*{pipeline}*:", *sub_lines]
        flags += sub_flags
    return lines, flags


def _counterion_part(table: pd.DataFrame, th: Thresholds, pipeline: str):
    lines, flags = [], []
    for (model, kind), g in table[table["perturbation"].isin(["all_added", DATASET_SALT])].groupby(
        ["model", "perturbation"], sort=True
    ):
        what = (
            "adding common counter-ions/salts/solvents to the parent"
            if kind == "all_added"
            else "feeding the dataset's own salt forms unstripped"
        )
        lines.append(
            f"- **{model}**, {what}: median |Δp| {_f(g['median_abs_shift'].median(), 3)}, "
            f"95th percentile {_f(g['p95_abs_shift'].mean(), 3)} (mean over tasks and runs), "
            f"max {_f(g['max_abs_shift'].max(), 3)} ({int(g['n'].sum() / max(g['task'].nunique(), 1))} "
            "pairs per task over all runs)."
        )
    per = (
        table[table["perturbation"] != "all_added"]
        .groupby(["model", "task", "perturbation"])
        .agg(p95=("p95_abs_shift", "mean"), mx=("max_abs_shift", "max"), n=("n", "sum"))
        .reset_index()
    )
    bad = per[per["p95"] >= th.shift_p95].sort_values("p95", ascending=False)
    for model, g in bad.groupby("model", sort=True):
        worst = ", ".join(
            f"{'own salt forms' if r.perturbation == DATASET_SALT else r.perturbation} on "
            f"{r.task} ({_f(r.p95, 2)}, max {_f(r.mx, 2)})"
            for r in g.head(3).itertuples()
        )
        flags.append(_flag(
            f"counter-ions ({pipeline})", model, "95th-percentile |Δp| (worst)", g["p95"].max(),
            f"Counter-ions ({pipeline} input): {model} is salt-sensitive: in {len(g)} task × "
            f"perturbation combination(s) 5% of molecules move by |Δp| ≥ {th.shift_p95} (95th "
            f"percentile; worst: {worst})."
            + (" This tests featurization of fragments the model never saw (it was trained on "
               "stripped parents); the default standardizer strips them in normal use."
               if pipeline == "raw" else " This is what a user of the workflow meets."),
            n=g["n"].sum()))  # fmt: skip
    if len(bad):
        lines.append(f"{len(bad)} model × task × perturbation combinations reach a 95th "
                     f"percentile |Δp| of {th.shift_p95} (summarised under Flags).")  # fmt: skip
    else:
        lines.append(f"No model × task has a 95th-percentile |Δp| of {th.shift_p95} or more.")
    return lines, flags


def _enrichment_ci(table: pd.DataFrame, model, split, seed, n: int = 1000) -> tuple:
    """95% bootstrap interval (over molecules) of mean alert_share / mean alert_atom_fraction
    of the trained model's alert-carrying molecules."""
    sub = table[(table["model"] == model) & (table["split"] == split) & (table["seed"] == seed)
                & (table["control"] == "trained") & (table["n_alert_atoms"] > 0)
                & np.isfinite(table["alert_share"])]  # fmt: skip
    if len(sub) < 2:
        return (np.nan, np.nan)
    share, frac = sub["alert_share"].to_numpy(), sub["alert_atom_fraction"].to_numpy()
    idx = np.random.default_rng(0).integers(0, len(sub), size=(n, len(sub)))
    ratio = share[idx].mean(axis=1) / frac[idx].mean(axis=1)
    return tuple(np.quantile(ratio, [0.025, 0.975]))


def attribution_section(table: pd.DataFrame, th: Thresholds) -> tuple[list[str], list[str]]:
    lines, flags = [], []
    summary = attribution_summary(table)
    if summary.empty:
        return ["No attributions (no supported model, or no top-scored molecule has an alert)."], []
    lines.append(
        "The alerts are mutagenicity (Kazius 2005) and carcinogenicity (Benigni-Bossa 2008) "
        "structural alerts, not nuclear-receptor or stress-response toxicophores: for such "
        "tasks a low alert share is a weak hint, not proof, of a shortcut. Credit is "
        "integrated gradients over every input the model reads."
    )
    agg = (
        summary.groupby(["model", "split", "seed", "control"])
        .agg(
            share=("alert_share", "mean"),
            share_all=("alert_share_all", "mean"),
            desc=("descriptor_share", "mean"),
            frac=("alert_atom_fraction", "mean"),
            n=("n_molecules", "sum"),
            tasks=("task", lambda s: ", ".join(sorted(s))),
        )  # fmt: skip
        .reset_index()
    )
    agg["enrichment"] = agg["share"] / agg["frac"]
    for (model, split, seed), g in agg.groupby(["model", "split", "seed"], sort=True):
        g = g.set_index("control")
        if "trained" not in g.index:
            continue
        t = g.loc["trained"]
        text = (
            f"- **{model}** ({split} split, seed {seed}; tasks {t['tasks']}): on {int(t['n'])} "
            f"top-scored molecules that carry an alert, {_f(100 * t['share'], 0)}% of |attribution| "
            f"falls on alert atoms, which make up {_f(100 * t['frac'], 0)}% of their atoms "
            f"(enrichment {_f(t['enrichment'])}×); over every input (integrated gradients on "
            f"bits, descriptors, atoms and bonds) {_f(100 * t['share_all'], 0)}% of |credit| is on "
            f"alert atoms or alert-like fragment descriptors, {_f(100 * t['desc'], 0)}% on "
            "descriptors"
        )
        ref = g.loc["permuted"] if "permuted" in g.index else None
        if ref is not None:
            text += (
                f"; the shuffled-label model puts {_f(100 * ref['share'], 0)}% there "
                f"(enrichment {_f(ref['enrichment'])}×)"
            )
        text += "."
        weak = t["enrichment"] <= th.enrichment or (
            ref is not None and t["enrichment"] <= ref["enrichment"]
        )
        if weak:
            text += " Its attributions do not favour known toxicophores."
            flags.append(_flag(
                "attribution", f"{model} ({split}, seed {seed})", "alert enrichment",
                t["enrichment"],
                f"Attribution: {model} ({split}, seed {seed}) puts no more attribution on alert "
                f"atoms than chance (enrichment {_f(t['enrichment'])}×"
                + (f" vs {_f(ref['enrichment'])}× shuffled" if ref is not None else "")
                + "). The alerts are mutagenicity / carcinogenicity alerts (Kazius 2005, "
                "Benigni-Bossa 2008), not nuclear-receptor or stress-response toxicophores.",
                _enrichment_ci(table, model, split, seed), n=t["n"]))  # fmt: skip
        lines.append(text)
    return lines, flags


def permuted_section(table: pd.DataFrame, th: Thresholds) -> tuple[list[str], list[dict]]:
    lines, flags = [], []
    if table.empty:
        return ["No shuffled-label model was trained."], flags
    mean = table[table["task"] == "mean"]
    for (model, split, seed), g in mean.groupby(["model", "split", "seed"], sort=True):
        matched = bool(g["matched"].all())
        text = (
            f"- **{model}** ({split} split, seed {seed}): {len(g)} twin(s) trained on shuffled "
            f"labels score test ROC-AUC {_f(g['roc_auc'].mean())} (task mean; twins "
            f"{', '.join(_f(v) for v in g['roc_auc'])}; 95% CIs from {_f(g['ci_low'].min())} "
            f"to {_f(g['ci_high'].max())}); the real model {_f(g['trained_auc'].iloc[0])}. "
            + (f"Matched twins: the real model's epoch budget and early stopping ({_f(g['epochs'].mean(), 0)} "
               f"epochs run on average vs {_f(g['trained_epochs'].iloc[0], 0)} for the real model)."
               if matched else "Capped twins (fewer epochs or trees than the real model): a "
               "model-randomization test, not a matched twin.")
        )  # fmt: skip
        if g["flagged"].mean() > 0.5:
            text += (
                f" Above {th.leak} with CIs above 0.5 for most twins: the evaluation may leak "
                "test labels, or the architecture ranks molecules by a trait the labels follow "
                "(size, ring count: compare the trivial baseline)."
            )
            flags.append(_flag(
                "leakage", f"{model} ({split}, seed {seed})", "shuffled-label test AUC",
                g["roc_auc"].mean(),
                f"Leakage check: {model} ({split}, seed {seed}) trained on shuffled labels "
                f"scores test AUC {_f(g['roc_auc'].mean())} > {th.leak} ({len(g)} twins; the "
                "interval spans the twins' 95% CIs).",
                (g["ci_low"].min(), g["ci_high"].max()), g["n_test"].iloc[0]))  # fmt: skip
        lines.append(text)
    per_task = table[(table["task"] != "mean") & table["flagged"]].sort_values(
        "roc_auc", ascending=False
    )
    if len(per_task):
        worst = ", ".join(f"{r.model}/{r.split} on {r.task} ({_f(r.roc_auc)})"
                          for r in per_task.head(5).itertuples())  # fmt: skip
        lines.append(
            f"{len(per_task)} single-task AUCs of shuffled-label twins exceed {th.leak} with a "
            f"CI above 0.5 (highest: {worst}). A single task can do this when the model's "
            "output follows molecule size or shape and the task does too; only a high task "
            "mean points to leakage."
        )
    lines.append(
        f"Over all shuffled-label twins the task-mean AUC is {_f(mean['roc_auc'].mean())} "
        f"(range {_f(mean['roc_auc'].min())} to {_f(mean['roc_auc'].max())}); they took "
        f"{_f(table.drop_duplicates(['model', 'split', 'seed', 'permutation'])['seconds'].sum(), 0)} s "
        "of training."
    )  # fmt: skip
    return lines, flags


def planted_section(summary: pd.DataFrame | None, th: Thresholds):
    """(lines, flags) of the planted ping-pong control (:mod:`molprobe.shortcuts.planted`).
    A flag here is the audit working: planted models must be flagged, clean twins not."""
    if summary is None or summary.empty:
        return ["The planted ping-pong control was not run."], []
    lines, flags = [], []
    task = summary["task"].iloc[0]
    lines.append(
        f"A trimethylsilyl decoy was tied to the {task} positives of the train and valid "
        "molecules (planted) or placed on as many random molecules (clean twin); on test "
        "molecules the audit measures the prediction shift when the decoy is added and the "
        "ROC-AUC drop when the decoy sits on the negatives only (mean over seeds, 95% "
        "bootstrap CI over test molecules)."
    )
    for r in summary.itertuples():
        verdict = "flagged" if r.flagged else "not flagged"
        ok = r.flagged == (r.condition == "planted")
        lines.append(
            f"- **{r.model}**, {r.condition}: shift {_f(r.shift, 3)} [{_f(r.shift_ci_low, 3)}, "
            f"{_f(r.shift_ci_high, 3)}], AUC {_f(r.auc_clean)} without decoys -> "
            f"{_f(r.auc_against)} with the decoy on negatives (drop {_f(r.auc_drop)} "
            f"[{_f(r.drop_ci_low)}, {_f(r.drop_ci_high)}]; {r.n_seeds} seeds, "
            f"{r.n_seeds_flagged} flagged singly)"
            + (
                f"; integrated gradients put {_f(100 * r.decoy_credit, 0)}% of |atom credit| on "
                f"the decoy's atoms ({_f(100 * r.decoy_atom_fraction, 0)}% of the atoms)"
                if np.isfinite(r.decoy_credit)
                else ""
            )
            + f": {verdict}"
            + ("." if ok else " — the audit gets this control wrong.")
        )
        if r.flagged:
            flags.append(_flag(
                "planted control", f"{r.model} ({r.condition}, {task})", "AUC drop", r.auc_drop,
                f"Planted ping-pong control: {r.model} trained on the {r.condition} table "
                f"leans on the decoy (AUC {_f(r.auc_clean)} -> {_f(r.auc_against)})"
                + (" as planted." if r.condition == "planted" else ", though it was clean!"),
                (r.drop_ci_low, r.drop_ci_high), r.n_seeds))  # fmt: skip
    return lines, flags


def audit_sections(tables: dict, thresholds: Thresholds | None = None, planted=None) -> list:
    """(title, lines, flags) per check, from the audit tables (names of
    :data:`molprobe.shortcuts.run.OUTPUT_TABLES`) and the planted-control summary."""
    th = thresholds or Thresholds()
    out = [
        ("Planted ping-pong control", planted_section(planted, th)),
        ("Analog bias", analog_section(tables["similarity_bins"], th)),
        ("Trivial-feature baselines", trivial_section(tables["trivial_baselines"], th)),
        ("Counter-ion and salt sensitivity", counterion_section(tables["counterions"], th)),
        ("Attribution sanity", attribution_section(tables["attribution"], th)),
        ("Randomized-label control", permuted_section(tables["permuted_labels"], th)),
    ]
    return [(title, lines, flags) for title, (lines, flags) in out]


def findings_table(sections: list) -> pd.DataFrame:
    """All flags as a table (:data:`FINDING_COLUMNS`), for the report's findings page."""
    return pd.DataFrame([f for _, _, flags in sections for f in flags], columns=FINDING_COLUMNS)


def findings_markdown(dataset: str, sections: list) -> str:
    """The text of findings.md: a list of flags (each with its number and interval), then one
    section per check."""
    flags = [f["text"] for _, _, fl in sections for f in fl]
    out = [f"# Shortcut audit: {dataset}", ""]
    out += ["## Flags", ""]
    out += [f"- {f}" for f in flags] if flags else ["No model or task looks shortcut-driven."]
    for title, lines, _ in sections:
        out += ["", f"## {title}", "", *lines]
    return "\n".join(out) + "\n"
