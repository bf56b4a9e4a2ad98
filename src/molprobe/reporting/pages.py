"""Application layer of the report: one function per stage turns that stage's result tables
into a :class:`StagePage` (figures, tables, SVG/HTML texts and headline sentences).
``molprobe report <stage>`` reads the files, calls one of these and writes the page's files.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from molprobe.errors import MolprobeError

OUTPUTS = {
    "data": ["overview.html", "tasks.png", "tasks.html", "ledger.png", "ledger.html", "splits.png",
             "splits.html", "examples.svg", "rejected.svg", "rejected.html", "headline.json"],
    "models": ["comparison.html", "comparison.png", "roc_pr.png", "training.png", "headline.json"],
    "probes": ["heatmap.png", "curves.png", "neurons.html", "neurons.svg", "headline.json"],
    "dynamics": ["gradients.png", "headline.json"],
    "screen": ["hits.svg", "hits.html", "scores.png", "headline.json"],
}  # fmt: skip
"""Files each stage page always holds (optional inputs add more)."""

N_EXAMPLES = 12  # molecules in each structure grid of the data page
N_HITS = 24  # top hits drawn on the screening page
STAGE_TITLES = {
    "data": "Data",
    "models": "Models",
    "probes": "Probes",
    "dynamics": "Dynamics",
    "screen": "Screening",
}
SPLIT_COLUMNS = ["method", "seed", "part", "n_molecules", "percent", "n_scaffolds",
                 "n_scaffolds_in_train"]  # fmt: skip


@dataclass
class Table:
    """A table of the report: written as ``<stem>.csv`` and ``<stem>.html``."""

    frame: pd.DataFrame
    title: str
    note: str = ""
    digits: int = 3


@dataclass
class StagePage:
    """What one stage shows: figures and texts by file name, tables by file stem, the
    headline (``headline.json``: stage, name, lines, numbers) and a one-line message."""

    stage: str
    name: str
    figures: dict[str, Figure] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    texts: dict[str, str | bytes] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    message: str = ""

    @property
    def headline(self) -> dict:
        return {"stage": self.stage, "name": self.name, "lines": self.lines,
                "numbers": self.numbers}  # fmt: skip


@dataclass
class RunRecord:
    """One trained run as the models page sees it: name, split, ``seed<n>`` label, its
    per-epoch history and its test predictions."""

    name: str
    split: str
    seed: str
    history: pd.DataFrame
    predictions: pd.DataFrame


def placeholder_svg(text: str, width: int = 520, height: int = 80) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="12" y="44" font-family="sans-serif" font-size="15">{html.escape(text)}</text></svg>\n'
    )


def placeholder_figure(text: str) -> Figure:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 1))
    ax.axis("off")
    ax.text(0.02, 0.5, text, va="center")
    return fig


# --------------------------------------------------------------------------------------- data


def data_page(
    dataset: str,
    molecules: pd.DataFrame,
    rejected: pd.DataFrame,
    summary: Mapping,
    splits: Sequence[Mapping],
    n_examples: int = N_EXAMPLES,
) -> StagePage:
    """Dataset size, labels per task, the standardization ledger, splits, example molecules."""
    from molprobe.reporting import data_summary as ds
    from molprobe.reporting import plots
    from molprobe.reporting.structures import draw_grid

    page = StagePage("data", dataset)
    tasks = ds.task_columns(molecules, summary)
    balance = ds.task_balance(molecules, tasks)
    ledger = ds.ledger_table(summary)
    split_sizes = (
        ds.split_table(molecules["smiles"].tolist(), splits)
        if splits
        else pd.DataFrame(columns=SPLIT_COLUMNS)
    )
    head = ds.dataset_headline(dataset, summary, balance, split_sizes)
    page.tables["overview"] = Table(ds.overview_table(head), f"{dataset}: dataset overview",
        "Counts after RDKit standardization; a label is one measured (molecule, task) pair.")  # fmt: skip
    page.tables["tasks"] = Table(balance, f"{dataset}: labels per task",
        "n_measured = molecules with a label for the task; percent_positive is of the measured ones.", 1)  # fmt: skip
    page.tables["ledger"] = Table(ledger, f"{dataset}: standardization ledger",
        "Every input row is kept, merged into an identical kept molecule, or rejected with a reason.", 2)  # fmt: skip
    page.tables["splits"] = Table(split_sizes, f"{dataset}: split sizes and scaffolds",
        "n_scaffolds: distinct Bemis–Murcko scaffolds; n_scaffolds_in_train: of those, how many "
        "also occur in the training part (0 for a scaffold split).", 1)  # fmt: skip
    rej_table = rejected[[c for c in ("row", "input", "reason", "detail") if c in rejected.columns]]
    page.tables["rejected"] = Table(rej_table, f"{dataset}: rejected inputs",
        "Input rows that standardization rejected (row = 0-based data row of the input file).")  # fmt: skip

    if len(balance) and balance["n_positive"].notna().all():
        page.figures["tasks.png"] = plots.plot_task_balance(balance, dataset)
    else:  # regression: measured vs missing only
        page.figures["tasks.png"] = plots.plot_task_balance(
            balance.assign(n_positive=0, n_negative=balance["n_measured"]), dataset
        )
    page.figures["ledger.png"] = plots.plot_ledger(ledger, dataset)
    page.figures["splits.png"] = (
        plots.plot_split_sizes(split_sizes, dataset)
        if len(split_sizes)
        else placeholder_figure("no splits configured")
    )
    examples = ds.example_molecules(molecules, tasks, n=n_examples)
    page.texts["examples.svg"] = (
        draw_grid(examples["smiles"].tolist(), examples["legend"].tolist())
        if len(examples)
        else placeholder_svg("no molecules were kept")
    )
    rej = ds.rejected_examples(rejected, n=n_examples) if len(rejected) else pd.DataFrame()
    page.texts["rejected.svg"] = (
        draw_grid(rej["input"].astype(str).tolist(), rej["legend"].tolist(), sanitize=False)
        if len(rej)
        else placeholder_svg("no input row was rejected")
    )
    reasons = ledger[ledger["kind"] == "rejected"]
    why = "; ".join(
        f"{o.removeprefix('rejected: ')}: {c}"
        for o, c in zip(reasons["outcome"], reasons["count"], strict=True)
    )
    pos = "" if pd.isna(head.percent_positive) else f", {head.percent_positive:.1f} % positive"
    page.lines = [
        f"{head.n_in} input rows → {head.n_kept} molecules kept, {head.n_rejected} rejected"
        f"{f' ({why})' if why else ''}, {head.n_merged} duplicates merged.",
        f"{head.n_tasks} {head.task_type} tasks, {head.n_labels} measured labels{pos}.",
        f"Splits: {head.splits}.",
    ]
    page.numbers = dict(n_in=head.n_in, n_kept=head.n_kept, n_rejected=head.n_rejected,
                        n_merged=head.n_merged, n_tasks=head.n_tasks)  # fmt: skip
    page.message = f"report data {dataset}: {len(tasks)} tasks, {len(splits)} splits"
    return page


# ------------------------------------------------------------------------------------- models


def models_page(dataset: str, comparison: pd.DataFrame, runs: Sequence[RunRecord]) -> StagePage:
    """The comparison table and plot, ROC/PR curves of the best run, training curves of
    ``runs`` (the configured runs only, in the given order)."""
    from molprobe.reporting import plots
    from molprobe.reporting.stages import best_run, comparison_summary, prediction_pairs

    page = StagePage("models", dataset)
    summary = comparison_summary(comparison)
    metric = str(summary["metric"].iloc[0])
    table = summary[["name", "model", "split", "metric", "n_seeds", "mean ± CI", "std"]]
    page.tables["comparison"] = Table(table, f"{dataset}: model comparison",
        "Test-set metric averaged over tasks; 95 % confidence interval over seeds "
        "(t-interval), or the bootstrap interval of a single seed.")  # fmt: skip
    page.figures["comparison.png"] = plots.plot_model_comparison(summary, metric)

    # curves need one trained model's test predictions: the ensemble row of `compare
    # --ensemble` is an average of runs and has no run of its own
    ensemble = summary[summary["model"] == "ensemble"]
    best = best_run(summary[summary["model"] != "ensemble"])
    mine = [r for r in runs if (r.name, r.split) == (str(best["name"]), str(best["split"]))]
    if not mine:
        raise MolprobeError(f"no run of the best model {best['name']} ({best['split']} split)")
    y_true, y_score = prediction_pairs(mine[0].predictions)
    title = f"{dataset}: {best['name']} ({best['split']} split, {mine[0].seed}), test set"
    page.figures["roc_pr.png"] = plots.plot_roc_pr(y_true, y_score, title)

    histories = []
    for r in runs:
        model = summary.loc[summary["name"] == r.name, "model"]
        histories.append(r.history.assign(run=f"{r.name} {r.split} {r.seed}",
                                          model=model.iloc[0] if len(model) else r.name))  # fmt: skip
    page.figures["training.png"] = (
        plots.plot_training_curves(pd.concat(histories, ignore_index=True))
        if histories
        else placeholder_figure("no history.csv found")
    )
    page.lines = [f"Best model ({best['split']} split): {best['name']}, test {metric} "
                  f"{best['mean ± CI']} over {int(best['n_seeds'])} seed(s)."]  # fmt: skip
    for _, r in ensemble.iterrows():
        kind = ("mean prediction" if r["name"] == "ensemble" else
                "weights chosen on validation")  # fmt: skip
        page.lines.append(f"Ensemble of the families ({kind}), {r['split']} split: "
                          f"test {metric} {r['mean ± CI']} over {int(r['n_seeds'])} seed(s).")  # fmt: skip
    page.numbers = dict(best=str(best["name"]), metric=metric, value=float(best["mean"]))
    page.message = f"report models {dataset}: {len(summary)} rows, best {best['name']}"
    return page


def depth_figure(table: pd.DataFrame) -> Figure:
    """Test metric against the number of layers (depth experiment table)."""
    from molprobe.reporting import plots

    metric = str(table["metric"].iloc[0]) if "metric" in table.columns and len(table) else "roc_auc"
    return plots.plot_depth(table, metric)


# ------------------------------------------------------------------------------------- probes


def detector_legend(row: dict) -> str:
    """Legend of one top-activating molecule: concept, layer/unit, activation, whether the
    molecule has the concept (+/-) and the detector's ROC-AUC when known."""
    text = str(row.get("concept", ""))
    if row.get("unit") is not None:
        where = f"{row['layer']} unit {row['unit']}" if row.get("layer") else f"unit {row['unit']}"
        text += f" · {where}"
    if row.get("activation") is not None:
        text += f": {float(row['activation']):.2f}"
    has = row.get("has_concept")
    if has is not None and not pd.isna(has):
        text += " (+)" if float(has) == 1 else " (−)"
    if row.get("auc") is not None and not pd.isna(row["auc"]):
        text += f" AUC {float(row['auc']):.2f}"
    return text


N_DETECTORS = 6  # detector neurons drawn in the report's gallery (8 molecules each)


def gallery_examples(
    examples: pd.DataFrame, neurons: pd.DataFrame, n_detectors: int = N_DETECTORS
) -> pd.DataFrame:
    """The detectors worth drawing: first seed, hidden layers, concepts with >= 20 positives,
    the ``n_detectors`` best by held-out AUC (examples.parquet holds every seed x layer x
    concept; drawn whole it made a 40 MB SVG)."""
    keys = ["seed", "layer", "concept"]
    if not len(examples) or not set(keys) <= set(examples.columns):
        return examples
    first = examples[examples["seed"] == examples["seed"].min()]
    if "layer_index" in first.columns:
        first = first[first["layer_index"] > 0]  # input units are the input columns themselves
    if len(neurons) and {"heldout_auc", "n_positive", *keys} <= set(neurons.columns):
        ranked = neurons[(neurons["n_positive"] >= 20) & neurons["heldout_auc"].notna()]
        ranked = ranked.sort_values("heldout_auc", ascending=False)[keys].drop_duplicates()
        chosen = ranked.merge(first[keys].drop_duplicates(), on=keys).head(n_detectors)
    else:
        chosen = first[keys].drop_duplicates().head(n_detectors)
    return first.merge(chosen, on=keys)


def probes_page(
    model: str, probes: pd.DataFrame, neurons: pd.DataFrame, examples: pd.DataFrame
) -> StagePage:
    """Layer × concept heatmap, per-concept curves, concept-detecting neurons."""
    from molprobe.reporting import plots
    from molprobe.reporting.structures import draw_grid

    page = StagePage("probes", model)
    if {"learned", "layer_index", "concept_family"} <= set(probes.columns):
        # the probing stage's own condensed figures: <= 30 named concepts, one curve per level
        from molprobe.probing.plots import plot_concept_heatmap, plot_emergence_curves

        page.figures["heatmap.png"] = plot_concept_heatmap(probes)
        page.figures["curves.png"] = plot_emergence_curves(probes)
    else:
        page.figures["heatmap.png"] = plots.plot_probe_heatmap(
            probes, title=f"{model}: what each layer encodes"
        )
        value = "auc" if "auc" in probes.columns else probes.columns[-1]
        page.figures["curves.png"] = plots.plot_probe_curves(
            probes, value, title=f"{model}: concepts through depth"
        )
    if len(neurons):
        page.tables["neurons"] = Table(neurons, f"{model}: concept-detecting neurons",
            "Per concept: the unit whose activation best separates molecules with and without it (ROC-AUC).")  # fmt: skip
    else:
        page.texts["neurons.html"] = (
            "<!doctype html><html><body><p>No neuron table.</p></body></html>\n"
        )
    examples = gallery_examples(examples, neurons)
    if len(examples) and "smiles" in examples.columns:
        if "rank" in examples.columns and "auc" not in examples.columns:  # else: display order
            examples = examples.sort_values(["concept", "rank"])
        legends = [detector_legend(r._asdict()) for r in examples.itertuples(index=False)]
        atoms = None
        if "atoms" in examples.columns:
            atoms = [list(a) if a is not None and not isinstance(a, float) else None
                     for a in examples["atoms"]]  # fmt: skip
        page.texts["neurons.svg"] = draw_grid(
            examples["smiles"].tolist(), legends, highlight_atoms=atoms
        )
    else:
        page.texts["neurons.svg"] = placeholder_svg("no top-activating molecules recorded")
    if "selectivity" in probes.columns and probes["selectivity"].notna().any():
        top = probes.loc[probes["selectivity"].idxmax()]
        page.lines.append(f"Probes of {model}: most selective concept {top['concept']} at layer "
                          f"{top['layer']} (AUC {top.get('auc', float('nan')):.2f}, selectivity "
                          f"{top['selectivity']:.2f}).")  # fmt: skip
    page.message = f"report probes {model}: {probes['concept'].nunique()} concepts"
    return page


# ----------------------------------------------------------------------------------- dynamics


def dynamics_page(
    gradients: pd.DataFrame,
    through_time: pd.DataFrame | None = None,
    lstm_credit: pd.DataFrame | None = None,
) -> StagePage:
    """Gradient norms through depth (and time), LSTM credit assignment."""
    from molprobe.reporting import plots

    page = StagePage("dynamics", "dynamics")
    grads = gradients
    page.figures["gradients.png"] = plots.plot_gradient_norms(grads)
    if through_time is not None:
        page.figures["through_time.png"] = plots.plot_gradient_through_time(through_time)
    if lstm_credit is not None:
        page.figures["lstm_credit.png"] = plots.plot_lstm_credit(lstm_credit)
        page.tables["lstm_credit"] = Table(lstm_credit, "LSTM credit assignment",
            "slope: change of attribution per token position; r: its correlation.")  # fmt: skip
    first, last = grads["step"].min(), grads["step"].max()
    lines = []
    for (arch, depth), g in grads[grads["step"] == last].groupby(["arch", "depth"], sort=True):
        by_layer = g.groupby("layer")["grad_norm_weight"].mean()
        if len(by_layer) > 1 and by_layer.iloc[-1] > 0:
            ratio = by_layer.iloc[0] / by_layer.iloc[-1]
            lines.append(f"{arch}, {depth} layers: gradient norm at the input layer is {ratio:.2g}× "
                         f"that at the output layer (step {last}).")  # fmt: skip
    page.lines = lines  # every architecture x depth (the findings page judges them)
    page.numbers = dict(first_step=int(first), last_step=int(last))
    page.message = f"report dynamics: {grads['arch'].nunique()} architectures"
    return page


# ------------------------------------------------------------------------------------- screen


def screen_page(
    library: str, scores: np.ndarray, top: pd.DataFrame, conformal: dict | None = None
) -> StagePage:
    """The top hits as a structure grid and table, the library's score distribution.

    ``scores``: the score of every scored molecule (n,); ``top``: the ranked hits drawn;
    ``conformal``: task -> :class:`~molprobe.reporting.conformal.MondrianThresholds`, which
    gives every hit its prediction set per task (column ``set``: the top task's)."""
    from molprobe.reporting import plots
    from molprobe.reporting.stages import hit_legends
    from molprobe.reporting.structures import draw_grid

    page = StagePage("screen", library)
    sets_note = ""
    if conformal:
        from molprobe.reporting.conformal import attach_sets

        top = attach_sets(top, conformal)
        alpha = next(iter(conformal.values())).alpha
        sets_note = (f" set: the top task's Mondrian conformal prediction set at error rate "
                     f"{alpha:g} per class, calibrated on the split runs' validation "
                     f"predictions (active / inactive / both: cannot tell / empty: atypical).")  # fmt: skip
    threshold = float(top["score"].min()) if len(top) else None
    page.figures["scores.png"] = plots.plot_score_distribution(
        scores, threshold, f"{library}: score distribution"
    )
    if len(top):
        weights = None
        if "atom_weights" in top.columns:  # optional: attention / attribution per atom (JSON list)
            weights = [json.loads(w) if isinstance(w, str) else None for w in top["atom_weights"]]
        smiles = top["std_smiles"] if "std_smiles" in top.columns else top["smiles"]
        page.texts["hits.svg"] = draw_grid(smiles.astype(str).tolist(), hit_legends(top),
                                           atom_weights=weights, mols_per_row=4, size=(300, 260))  # fmt: skip
    else:
        page.texts["hits.svg"] = placeholder_svg("no hits")
    cols = [c for c in top.columns if c not in ("atom_weights", "explained_by")]
    how = ""
    if "explained_by" in top.columns and len(top):
        how = (f" Atoms are shaded for explained_task (the hit's highest-scoring task) by "
               f"{top['explained_by'].iloc[0]}: red raises the score, blue lowers it.")  # fmt: skip
    from molprobe.reporting.hits import hit_table_page  # triage table: sortable, filterable

    page.texts["hits.html"], page.texts["hits.csv"] = hit_table_page(library, top[cols],
        "score: ensemble mean; in_domain: max Tanimoto similarity (ad_similarity) to the "
        "training set above the threshold." + how + sets_note)  # fmt: skip
    if len(top):
        n_in = int(top["in_domain"].astype(bool).sum()) if "in_domain" in top.columns else None
        inside = f", {n_in} of them inside the applicability domain." if n_in is not None else "."
        page.lines = [f"Screened {library}: {len(scores)} molecules scored; top {len(top)} hits "
                      f"score ≥ {threshold:.3f}" + inside]  # fmt: skip
    page.numbers = dict(n_scored=len(scores))
    if conformal and len(top):
        from molprobe.reporting.hits import triage_frames

        sets = triage_frames(top)[0].get("set", pd.Series(dtype=object)).value_counts()
        page.numbers["top_sets"] = {str(k): int(v) for k, v in sets.items()}
        page.lines.append(f"Conformal sets of the top task at error rate {alpha:g}: "
                          + ", ".join(f"{v} {k}" for k, v in sets.items()) + ".")  # fmt: skip
    page.message = f"report screen {library}: {len(scores)} scored, {len(top)} drawn"
    return page


# ------------------------------------------------------------------------------------ summary


def summary_texts(headlines: Sequence[Mapping]) -> tuple[str, str]:
    """The headline sentences of every stage as (reStructuredText, HTML page), stages in
    report order."""
    order = list(STAGE_TITLES)
    heads = sorted(headlines, key=lambda h: (
        order.index(h.get("stage")) if h.get("stage") in order else 99, h.get("name", "")))  # fmt: skip
    rst, body = [], []
    for h in heads:
        if not h.get("lines"):
            continue
        label = f"{STAGE_TITLES.get(h.get('stage'), h.get('stage', ''))} — {h.get('name', '')}"
        rst.append(f"**{label}**\n")
        rst += [f"- {line}" for line in h["lines"]]
        rst.append("")
        body.append(
            f"<h3>{html.escape(label)}</h3><ul>"
            + "".join(f"<li>{html.escape(x)}</li>" for x in h["lines"])
            + "</ul>"
        )
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Headline numbers</title>"
            "<style>body{font-family:sans-serif;font-size:14px;margin:12px} h3{font-size:15px;margin:10px 0 4px}</style>"
            f"</head><body><h2>Headline numbers</h2>{''.join(body)}</body></html>\n")  # fmt: skip
    return "\n".join(rst) + "\n", page
