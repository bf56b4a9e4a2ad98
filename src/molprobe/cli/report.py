"""CLI: `molprobe report <stage>` writes the figures and tables of one stage for the
Snakemake report (``snakemake --report``): PNG/SVG figures, HTML tables (shown inline in the
report) with a CSV twin, and ``headline.json`` (sentences for the summary page).

    molprobe report data      --dataset tox21 --molecules ... --rejected ... --summary ... --splits ... --outdir ...
    molprobe report models    --dataset tox21 --comparison comparison.csv --runs RUN_DIR... --outdir ...
    molprobe report depth     --table depth.csv --output depth.png
    molprobe report probes    --model snn --probes probes.parquet [--neurons neurons.parquet] --outdir ...
    molprobe report dynamics  --gradients gradients.parquet [--through-time ...] [--lstm-credit ...] --outdir ...
    molprobe report screen    --hits hits.parquet --top hits.top.csv --outdir ...
    molprobe report summary   --headlines */headline.json --rst summary.rst --html summary.html
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import atomic_path, write_json

OUTPUTS = {
    "data": ["overview.html", "tasks.png", "tasks.html", "ledger.png", "ledger.html", "splits.png",
             "splits.html", "examples.svg", "rejected.svg", "rejected.html", "headline.json"],
    "models": ["comparison.html", "comparison.png", "roc_pr.png", "training.png", "headline.json"],
    "probes": ["heatmap.png", "curves.png", "neurons.html", "neurons.svg", "headline.json"],
    "dynamics": ["gradients.png", "headline.json"],
    "screen": ["hits.svg", "hits.html", "scores.png", "headline.json"],
}  # fmt: skip
"""Files each command always writes into --outdir (optional inputs add more: see --help)."""


def register(sub) -> None:
    p = sub.add_parser("report", help="figures and tables of one stage for `snakemake --report`")
    rsub = p.add_subparsers(dest="stage", metavar="STAGE")
    rsub.required = True

    d = rsub.add_parser(
        "data", help="dataset size, labels per task, standardization ledger, splits"
    )
    d.add_argument("--dataset", required=True, help="dataset name shown in titles")
    d.add_argument("--molecules", required=True, type=Path, help="molecules.parquet")
    d.add_argument("--rejected", required=True, type=Path, help="rejected.csv (ledger)")
    d.add_argument("--summary", required=True, type=Path, help="standardize.json")
    d.add_argument("--splits", nargs="*", default=[], type=Path, help="split JSON files")
    d.add_argument("--n-examples", type=int, default=12, help="molecules in each structure grid")
    _outdir(d)
    d.set_defaults(func=run_data)

    m = rsub.add_parser(
        "models", help="comparison table and plot, ROC/PR of the best model, training curves"
    )
    m.add_argument("--dataset", required=True)
    m.add_argument(
        "--comparison", required=True, type=Path, help="comparison.csv of `molprobe compare`"
    )
    m.add_argument("--runs", nargs="+", required=True, type=Path,
                   help="run folders of `molprobe train` (metrics.json, history.csv, "
                   "predictions.parquet): only these are read")  # fmt: skip
    _outdir(m)
    m.set_defaults(func=run_models)

    dp = rsub.add_parser("depth", help="depth experiment: test metric against the number of layers")
    dp.add_argument(
        "--table",
        required=True,
        type=Path,
        help="CSV/Parquet: model, depth, mean[, std | ci_low, ci_high][, metric]",
    )
    dp.add_argument("--output", required=True, type=Path, help="figure (.png or .svg)")
    dp.set_defaults(func=run_depth)

    p = rsub.add_parser("probes", help="layer × concept heatmap, per-concept curves, top neurons")
    p.add_argument("--model", required=True, help="model name shown in titles")
    p.add_argument(
        "--probes", required=True, type=Path, help="probes.parquet (layer, concept, auc, ...)"
    )
    p.add_argument(
        "--neurons",
        type=Path,
        default=None,
        help="neurons.parquet (concept, best_unit, best_auc, ...)",
    )
    p.add_argument("--examples", type=Path, default=None,
                   help="top-activating molecules (concept, unit, rank, smiles, activation[, atoms])")  # fmt: skip
    _outdir(p)
    p.set_defaults(func=run_probes)

    y = rsub.add_parser(
        "dynamics", help="gradient norms through depth and time, LSTM credit assignment"
    )
    y.add_argument("--gradients", required=True, type=Path, help="gradients.parquet")
    y.add_argument(
        "--through-time",
        type=Path,
        default=None,
        help="through-time table; writes through_time.png",
    )
    y.add_argument(
        "--lstm-credit",
        type=Path,
        default=None,
        help="LSTM credit summary; writes lstm_credit.png/.html",
    )
    _outdir(y)
    y.set_defaults(func=run_dynamics)

    s = rsub.add_parser("screen", help="top hits as a structure grid, library score distribution")
    s.add_argument("--library", default="library", help="library name shown in titles")
    s.add_argument("--hits", required=True, type=Path, help="hits.parquet (every scored molecule)")
    s.add_argument("--top", required=True, type=Path, help="hits.top.csv (ranked top hits)")
    s.add_argument("--n-top", type=int, default=24, help="hits drawn in the grid")
    _outdir(s)
    s.set_defaults(func=run_screen)

    u = rsub.add_parser("summary", help="headline numbers of every stage for the summary page")
    u.add_argument("--headlines", nargs="+", required=True, type=Path, help="headline.json files")
    u.add_argument(
        "--rst", required=True, type=Path, help="reStructuredText included in the summary page"
    )
    u.add_argument("--html", required=True, type=Path, help="the same as an HTML page")
    u.set_defaults(func=run_summary)


def _outdir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outdir", required=True, type=Path, help="folder for the figures and tables")


# ------------------------------------------------------------------------------------ writers


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_bytes_or_text(path: Path, data: str | bytes) -> None:
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")


def _save_figure(fig, path: Path) -> None:
    from molprobe.reporting.plots import DPI, close

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip("."), bbox_inches="tight")
    close(fig)


def _save_table(
    table: pd.DataFrame, outdir: Path, stem: str, title: str, note: str = "", digits: int = 3
) -> None:
    from molprobe.reporting.tables import html_table

    with atomic_path(outdir / f"{stem}.csv") as tmp:
        table.to_csv(tmp, index=False)
    _write_text(outdir / f"{stem}.html", html_table(table, title, note, float_digits=digits))


def _placeholder_svg(text: str, width: int = 520, height: int = 80) -> str:
    import html

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="12" y="44" font-family="sans-serif" font-size="15">{html.escape(text)}</text></svg>\n'
    )


def _read_table(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read the table ({err})") from None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read JSON ({err})") from None


def _headline(outdir: Path, stage: str, name: str, lines: list[str], **numbers) -> None:
    write_json(
        outdir / "headline.json", {"stage": stage, "name": name, "lines": lines, "numbers": numbers}
    )


# --------------------------------------------------------------------------------------- data


def run_data(args) -> int:
    from molprobe.reporting import data_summary as ds
    from molprobe.reporting import plots
    from molprobe.reporting.structures import draw_grid

    out: Path = args.outdir
    molecules = _read_table(args.molecules)
    rejected = _read_table(args.rejected) if args.rejected.stat().st_size else pd.DataFrame()
    summary = _read_json(args.summary)
    splits = [_read_json(p) for p in args.splits]
    for col in ("mol_id", "smiles"):
        if col not in molecules.columns:
            raise InputError(args.molecules, f"no {col!r} column")
    tasks = ds.task_columns(molecules, summary)

    balance = ds.task_balance(molecules, tasks)
    ledger = ds.ledger_table(summary)
    split_sizes = ds.split_table(molecules["smiles"].tolist(), splits) if splits else pd.DataFrame(
        columns=["method", "seed", "part", "n_molecules", "percent", "n_scaffolds", "n_scaffolds_in_train"])  # fmt: skip
    head = ds.dataset_headline(args.dataset, summary, balance, split_sizes)

    _save_table(ds.overview_table(head), out, "overview", f"{args.dataset}: dataset overview",
                "Counts after RDKit standardization; a label is one measured (molecule, task) pair.")  # fmt: skip
    _save_table(balance, out, "tasks", f"{args.dataset}: labels per task",
                "n_measured = molecules with a label for the task; percent_positive is of the measured ones.", digits=1)  # fmt: skip
    _save_table(ledger, out, "ledger", f"{args.dataset}: standardization ledger",
                "Every input row is kept, merged into an identical kept molecule, or rejected with a reason.", digits=2)  # fmt: skip
    _save_table(split_sizes, out, "splits", f"{args.dataset}: split sizes and scaffolds",
                "n_scaffolds: distinct Bemis–Murcko scaffolds; n_scaffolds_in_train: of those, how many "
                "also occur in the training part (0 for a scaffold split).", digits=1)  # fmt: skip
    rej_table = rejected[[c for c in ("row", "input", "reason", "detail") if c in rejected.columns]]
    _save_table(rej_table, out, "rejected", f"{args.dataset}: rejected inputs",
                "Input rows that standardization rejected (row = 0-based data row of the input file).")  # fmt: skip

    if len(balance) and balance["n_positive"].notna().all():
        fig = plots.plot_task_balance(balance, args.dataset)
    else:  # regression: measured vs missing only
        fig = plots.plot_task_balance(
            balance.assign(n_positive=0, n_negative=balance["n_measured"]), args.dataset
        )
    _save_figure(fig, out / "tasks.png")
    _save_figure(plots.plot_ledger(ledger, args.dataset), out / "ledger.png")
    if len(split_sizes):
        _save_figure(plots.plot_split_sizes(split_sizes, args.dataset), out / "splits.png")
    else:
        _write_placeholder_png(out / "splits.png", "no splits configured")

    examples = ds.example_molecules(molecules, tasks, n=args.n_examples)
    if len(examples):
        _write_bytes_or_text(
            out / "examples.svg",
            draw_grid(examples["smiles"].tolist(), examples["legend"].tolist()),
        )
    else:
        _write_text(out / "examples.svg", _placeholder_svg("no molecules were kept"))
    rej = ds.rejected_examples(rejected, n=args.n_examples) if len(rejected) else pd.DataFrame()
    if len(rej):
        svg = draw_grid(rej["input"].astype(str).tolist(), rej["legend"].tolist(), sanitize=False)
        _write_text(out / "rejected.svg", svg)
    else:
        _write_text(out / "rejected.svg", _placeholder_svg("no input row was rejected"))

    reasons = ledger[ledger["kind"] == "rejected"]
    why = "; ".join(
        f"{o.removeprefix('rejected: ')}: {c}"
        for o, c in zip(reasons["outcome"], reasons["count"], strict=True)
    )
    pos = "" if pd.isna(head.percent_positive) else f", {head.percent_positive:.1f} % positive"
    lines = [
        f"{head.n_in} input rows → {head.n_kept} molecules kept, {head.n_rejected} rejected"
        f"{f' ({why})' if why else ''}, {head.n_merged} duplicates merged.",
        f"{head.n_tasks} {head.task_type} tasks, {head.n_labels} measured labels{pos}.",
        f"Splits: {head.splits}.",
    ]
    _headline(out, "data", args.dataset, lines, n_in=head.n_in, n_kept=head.n_kept,
              n_rejected=head.n_rejected, n_merged=head.n_merged, n_tasks=head.n_tasks)  # fmt: skip
    print(f"report data {args.dataset}: {len(tasks)} tasks, {len(splits)} splits -> {out}")
    return 0


def _write_placeholder_png(path: Path, text: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 1))
    ax.axis("off")
    ax.text(0.02, 0.5, text, va="center")
    _save_figure(fig, path)


# ------------------------------------------------------------------------------------- models


def _run_ids(dirs: list[Path]) -> list[tuple[str, str, str, Path]]:
    """(name, split, ``seed<n>``, folder) of each run folder from its metrics.json, sorted."""
    out = []
    for d in dict.fromkeys(dirs):
        path = d / "metrics.json"
        try:
            m = json.loads(path.read_text())
            out.append(
                (str(m.get("name", m["model"])), str(m["split"]["name"]), f"seed{m['seed']}", d)
            )
        except FileNotFoundError:
            raise InputError(path, "no such file") from None
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise InputError(path, f"not a molprobe metrics file ({err})") from None
    return sorted(out, key=lambda r: r[:3])


def run_models(args) -> int:
    from molprobe.reporting import plots
    from molprobe.reporting.stages import best_run, comparison_summary, prediction_pairs

    out: Path = args.outdir
    summary = comparison_summary(_read_table(args.comparison))
    metric = str(summary["metric"].iloc[0])
    table = summary[["name", "model", "split", "metric", "n_seeds", "mean ± CI", "std"]]
    _save_table(table, out, "comparison", f"{args.dataset}: model comparison",
                "Test-set metric averaged over tasks; 95 % confidence interval over seeds "
                "(t-interval), or the bootstrap interval of a single seed.")  # fmt: skip
    _save_figure(plots.plot_model_comparison(summary, metric), out / "comparison.png")

    # curves need one trained model's test predictions: the ensemble row of `compare
    # --ensemble` is an average of runs and has no directory of its own
    ensemble = summary[summary["model"] == "ensemble"]
    best = best_run(summary[summary["model"] != "ensemble"])
    runs = _run_ids(args.runs)
    mine = [r for r in runs if r[:2] == (str(best["name"]), str(best["split"]))]
    if not mine:
        raise MolprobeError(f"no run folder among --runs for the best model {best['name']}")
    _, _, seed_label, best_dir = mine[0]
    y_true, y_score = prediction_pairs(_read_table(best_dir / "predictions.parquet"))
    title = f"{args.dataset}: {best['name']} ({best['split']} split, {seed_label}), test set"
    _save_figure(plots.plot_roc_pr(y_true, y_score, title), out / "roc_pr.png")

    histories = []
    for name, split, seed, run_dir in runs:
        h = _read_table(run_dir / "history.csv")
        model = summary.loc[summary["name"] == name, "model"]
        histories.append(
            h.assign(run=f"{name} {split} {seed}", model=model.iloc[0] if len(model) else name)
        )
    if histories:
        _save_figure(
            plots.plot_training_curves(pd.concat(histories, ignore_index=True)),
            out / "training.png",
        )
    else:
        _write_placeholder_png(out / "training.png", "no history.csv found")

    lines = [f"Best model ({best['split']} split): {best['name']}, test {metric} {best['mean ± CI']} "
             f"over {int(best['n_seeds'])} seed(s)."]  # fmt: skip
    for _, r in ensemble.iterrows():
        lines.append(f"Ensemble of the families (mean prediction), {r['split']} split: test {metric} "
                     f"{r['mean ± CI']} over {int(r['n_seeds'])} seed(s).")  # fmt: skip
    _headline(
        out,
        "models",
        args.dataset,
        lines,
        best=str(best["name"]),
        metric=metric,
        value=float(best["mean"]),
    )
    print(f"report models {args.dataset}: {len(summary)} rows, best {best['name']} -> {out}")
    return 0


def run_depth(args) -> int:
    from molprobe.reporting import plots

    table = _read_table(args.table)
    metric = str(table["metric"].iloc[0]) if "metric" in table.columns and len(table) else "roc_auc"
    _save_figure(plots.plot_depth(table, metric), args.output)
    print(f"report depth: {table['model'].nunique()} model families -> {args.output}")
    return 0


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


def run_probes(args) -> int:
    from molprobe.reporting import plots
    from molprobe.reporting.structures import draw_grid

    out: Path = args.outdir
    probes = _read_table(args.probes)
    _save_figure(
        plots.plot_probe_heatmap(probes, title=f"{args.model}: what each layer encodes"),
        out / "heatmap.png",
    )
    value = "auc" if "auc" in probes.columns else probes.columns[-1]
    _save_figure(
        plots.plot_probe_curves(probes, value, title=f"{args.model}: concepts through depth"),
        out / "curves.png",
    )

    neurons = _read_table(args.neurons) if args.neurons is not None else pd.DataFrame()
    if len(neurons):
        _save_table(neurons, out, "neurons", f"{args.model}: concept-detecting neurons",
                    "Per concept: the unit whose activation best separates molecules with and without it (ROC-AUC).")  # fmt: skip
    else:
        _write_text(
            out / "neurons.html",
            "<!doctype html><html><body><p>No neuron table.</p></body></html>\n",
        )
    examples = _read_table(args.examples) if args.examples is not None else pd.DataFrame()
    if len(examples) and "smiles" in examples.columns:
        if "rank" in examples.columns and "auc" not in examples.columns:  # else: display order
            examples = examples.sort_values(["concept", "rank"])
        legends = [detector_legend(r._asdict()) for r in examples.itertuples(index=False)]
        atoms = None
        if "atoms" in examples.columns:
            atoms = [
                list(a) if a is not None and not (isinstance(a, float)) else None
                for a in examples["atoms"]
            ]
        _write_text(
            out / "neurons.svg",
            draw_grid(examples["smiles"].tolist(), legends, highlight_atoms=atoms),
        )
    else:
        _write_text(out / "neurons.svg", _placeholder_svg("no top-activating molecules recorded"))

    lines = []
    if "selectivity" in probes.columns and probes["selectivity"].notna().any():
        top = probes.loc[probes["selectivity"].idxmax()]
        lines.append(f"Probes of {args.model}: most selective concept {top['concept']} at layer {top['layer']} "
                     f"(AUC {top.get('auc', float('nan')):.2f}, selectivity {top['selectivity']:.2f}).")  # fmt: skip
    _headline(out, "probes", args.model, lines)
    print(f"report probes {args.model}: {probes['concept'].nunique()} concepts -> {out}")
    return 0


# ----------------------------------------------------------------------------------- dynamics


def run_dynamics(args) -> int:
    from molprobe.reporting import plots

    out: Path = args.outdir
    grads = _read_table(args.gradients)
    _save_figure(plots.plot_gradient_norms(grads), out / "gradients.png")
    if args.through_time is not None:
        _save_figure(
            plots.plot_gradient_through_time(_read_table(args.through_time)),
            out / "through_time.png",
        )
    lines = []
    if args.lstm_credit is not None:
        credit = _read_table(args.lstm_credit)
        _save_figure(plots.plot_lstm_credit(credit), out / "lstm_credit.png")
        _save_table(credit, out, "lstm_credit", "LSTM credit assignment",
                    "slope: change of attribution per token position; r: its correlation.")  # fmt: skip
    first, last = grads["step"].min(), grads["step"].max()
    g0 = grads[grads["step"] == last]
    for (arch, depth), g in g0.groupby(["arch", "depth"], sort=True):
        by_layer = g.groupby("layer")["grad_norm_weight"].mean()
        if len(by_layer) > 1 and by_layer.iloc[-1] > 0:
            ratio = by_layer.iloc[0] / by_layer.iloc[-1]
            lines.append(f"{arch}, {depth} layers: gradient norm at the input layer is {ratio:.2g}× "
                         f"that at the output layer (step {last}).")  # fmt: skip
    _headline(out, "dynamics", "dynamics", lines[:6], first_step=int(first), last_step=int(last))
    print(f"report dynamics: {grads['arch'].nunique()} architectures -> {out}")
    return 0


# ------------------------------------------------------------------------------------- screen


def run_screen(args) -> int:
    import pyarrow.parquet as pq

    from molprobe.reporting import plots
    from molprobe.reporting.stages import hit_legends
    from molprobe.reporting.structures import draw_grid

    out: Path = args.outdir
    try:  # read one column only: libraries can be large
        scores = (
            pq.read_table(args.hits, columns=["score"])
            .column("score")
            .to_numpy(zero_copy_only=False)
        )
    except (OSError, KeyError, ValueError) as err:
        raise InputError(args.hits, f"cannot read the score column ({err})") from None
    top = _read_table(args.top).head(args.n_top)
    if "smiles" not in top.columns:
        raise InputError(args.top, "no 'smiles' column")
    threshold = float(top["score"].min()) if len(top) else None
    _save_figure(plots.plot_score_distribution(scores, threshold, f"{args.library}: score distribution"),
                 out / "scores.png")  # fmt: skip
    if len(top):
        weights = None
        if "atom_weights" in top.columns:  # optional: attention / attribution per atom (JSON list)
            weights = [json.loads(w) if isinstance(w, str) else None for w in top["atom_weights"]]
        smiles = top["std_smiles"] if "std_smiles" in top.columns else top["smiles"]
        _write_text(out / "hits.svg", draw_grid(smiles.astype(str).tolist(), hit_legends(top), atom_weights=weights,
                                                mols_per_row=4, size=(300, 260)))  # fmt: skip
    else:
        _write_text(out / "hits.svg", _placeholder_svg("no hits"))
    cols = [c for c in top.columns if c not in ("atom_weights", "explained_by")]
    how = ""
    if "explained_by" in top.columns and len(top):
        how = (f" Atoms are shaded for explained_task (the hit's highest-scoring task) by "
               f"{top['explained_by'].iloc[0]}: red raises the score, blue lowers it.")  # fmt: skip
    _save_table(top[cols], out, "hits", f"{args.library}: top {len(top)} hits",
                "score: ensemble mean; *_std: spread across ensemble members; in_domain: max Tanimoto "
                "similarity (ad_similarity) to the training set above the threshold." + how)  # fmt: skip
    n_in = int(top["in_domain"].astype(bool).sum()) if "in_domain" in top.columns else None
    lines = [f"Screened {args.library}: {len(scores)} molecules scored; top {len(top)} hits score ≥ "
             f"{threshold:.3f}" + (f", {n_in} of them inside the applicability domain." if n_in is not None else ".")]  # fmt: skip
    _headline(out, "screen", args.library, lines if len(top) else [], n_scored=len(scores))
    print(f"report screen {args.library}: {len(scores)} scored, {len(top)} drawn -> {out}")
    return 0


# ------------------------------------------------------------------------------------ summary

STAGE_TITLES = {
    "data": "Data",
    "models": "Models",
    "probes": "Probes",
    "dynamics": "Dynamics",
    "screen": "Screening",
}


def run_summary(args) -> int:
    import html

    heads = [_read_json(p) for p in args.headlines]
    order = list(STAGE_TITLES)
    heads.sort(
        key=lambda h: (
            order.index(h.get("stage")) if h.get("stage") in order else 99,
            h.get("name", ""),
        )
    )
    rst = []
    body = []
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
    _write_text(args.rst, "\n".join(rst) + "\n")
    _write_text(args.html, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Headline numbers</title>"
                "<style>body{font-family:sans-serif;font-size:14px;margin:12px} h3{font-size:15px;margin:10px 0 4px}</style>"
                f"</head><body><h2>Headline numbers</h2>{''.join(body)}</body></html>\n")  # fmt: skip
    print(f"report summary: {len(heads)} headline files -> {args.rst}, {args.html}")
    return 0
