"""CLI: `molprobe report <stage>` writes the figures and tables of one stage for the
Snakemake report: PNG/SVG figures, HTML tables with a CSV twin, ``headline.json``.
    molprobe report data      --dataset tox21 --molecules ... --rejected ... --summary ... --splits ... --output-dir ...
    molprobe report models    --dataset tox21 --comparison comparison.csv --runs RUN_DIR... --output-dir ...
    molprobe report depth     --table depth.csv --output depth.png
    molprobe report probes    --model snn --probes probes.parquet [--neurons neurons.parquet] --output-dir ...
    molprobe report dynamics  --gradients gradients.parquet [--through-time ...] [--lstm-credit ...] --output-dir ...
    molprobe report screen    --hits hits.parquet --top hits.top.csv [--conformal thresholds.csv] --output-dir ...
    molprobe report summary   --headlines */headline.json --rst summary.rst --html summary.html
    molprobe report findings  (see molprobe.cli.report_findings)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from molprobe.cli.options import add_output_dir
from molprobe.cli.report_findings import register_findings
from molprobe.errors import InputError
from molprobe.fileio import atomic_path, write_json
from molprobe.reporting.conformal import thresholds_from_frame
from molprobe.reporting.pages import N_EXAMPLES, N_HITS, OUTPUTS, RunRecord, StagePage

__all__ = ["OUTPUTS", "register"]  # OUTPUTS: files each stage writes into --output-dir


def register(sub) -> None:
    # fmt: off
    p = sub.add_parser("report", help="figures and tables of one stage for `snakemake --report`")
    rsub = p.add_subparsers(dest="stage", metavar="STAGE")
    rsub.required = True

    d = rsub.add_parser("data", help="dataset size, labels per task, standardization ledger, splits")
    d.add_argument("--dataset", required=True, help="dataset name shown in titles")
    d.add_argument("--molecules", required=True, type=Path, help="molecules.parquet")
    d.add_argument("--rejected", required=True, type=Path, help="rejected.csv (ledger)")
    d.add_argument("--summary", required=True, type=Path, help="standardize.json")
    d.add_argument("--splits", nargs="*", default=[], type=Path, help="split JSON files")
    d.add_argument("--n-examples", type=int, default=N_EXAMPLES,
                   help="molecules in each structure grid")
    _outdir(d, run_data)

    m = rsub.add_parser("models",
                        help="comparison table and plot, ROC/PR of the best model, training curves")
    m.add_argument("--dataset", required=True)
    m.add_argument("--comparison", required=True, type=Path,
                   help="comparison.csv of `molprobe compare`")
    m.add_argument("--runs", nargs="+", required=True, type=Path,
                   help="run folders of `molprobe train` (metrics.json, history.csv, "
                   "predictions.parquet): only these are read")
    _outdir(m, run_models)

    dp = rsub.add_parser("depth", help="depth experiment: test metric against the number of layers")
    dp.add_argument("--table", required=True, type=Path,
                    help="CSV/Parquet: model, depth, mean[, std | ci_low, ci_high][, metric]")
    dp.add_argument("--output", required=True, type=Path, help="figure (.png or .svg)")
    dp.set_defaults(func=run_depth)

    p = rsub.add_parser("probes", help="layer × concept heatmap, per-concept curves, top neurons")
    p.add_argument("--model", required=True, help="model name shown in titles")
    p.add_argument("--probes", required=True, type=Path,
                   help="probes.parquet (layer, concept, auc, ...)")
    p.add_argument("--neurons", type=Path, default=None,
                   help="neurons.parquet (concept, best_unit, best_auc, ...)")
    p.add_argument("--examples", type=Path, default=None,
                   help="top-activating molecules (concept, unit, rank, smiles, activation[, atoms])")
    _outdir(p, run_probes)

    y = rsub.add_parser("dynamics",
                        help="gradient norms through depth and time, LSTM credit assignment")
    y.add_argument("--gradients", required=True, type=Path, help="gradients.parquet")
    y.add_argument("--through-time", type=Path, default=None,
                   help="through-time table; writes through_time.png")
    y.add_argument("--lstm-credit", type=Path, default=None,
                   help="LSTM credit summary; writes lstm_credit.png/.html")
    _outdir(y, run_dynamics)

    s = rsub.add_parser("screen", help="top hits as a structure grid, library score distribution")
    s.add_argument("--library", default="library", help="library name shown in titles")
    s.add_argument("--hits", required=True, type=Path, help="hits.parquet (every scored molecule)")
    s.add_argument("--top", required=True, type=Path, help="hits.top.csv (ranked top hits)")
    s.add_argument("--n-top", type=int, default=N_HITS, help="hits drawn in the grid")
    s.add_argument("--conformal", type=Path, help="`molprobe conformal` thresholds: hit sets")
    _outdir(s, run_screen)

    u = rsub.add_parser("summary", help="headline numbers of every stage for the summary page")
    u.add_argument("--headlines", nargs="+", required=True, type=Path, help="headline.json files")
    u.add_argument("--rst", required=True, type=Path,
                   help="reStructuredText included in the summary page")
    u.add_argument("--html", required=True, type=Path, help="the same as an HTML page")
    u.set_defaults(func=run_summary)
    register_findings(rsub)  # molprobe report findings: the verdict page
    # fmt: on


def _outdir(p: argparse.ArgumentParser, func) -> None:
    add_output_dir(p, dest="outdir", required=True, type=Path, help="figures and tables")
    p.set_defaults(func=func)


# ------------------------------------------------------------------------------ reading, writing


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


def _save_figure(fig, path: Path) -> None:
    from molprobe.reporting.plots import DPI, close

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip("."), bbox_inches="tight")
    close(fig)


def _write_text(path: Path, data: str | bytes) -> None:
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")


def _write_page(page: StagePage, outdir: Path) -> int:
    """Every file of ``page`` into ``outdir``, headline.json last."""
    from molprobe.reporting.tables import html_table

    for name, fig in page.figures.items():
        _save_figure(fig, outdir / name)
    for stem, t in page.tables.items():
        with atomic_path(outdir / f"{stem}.csv") as tmp:
            t.frame.to_csv(tmp, index=False)
        _write_text(
            outdir / f"{stem}.html", html_table(t.frame, t.title, t.note, float_digits=t.digits)
        )
    for name, text in page.texts.items():
        _write_text(outdir / name, text)
    write_json(outdir / "headline.json", page.headline)
    print(f"{page.message} -> {outdir}")
    return 0


# ----------------------------------------------------------------------------------- commands


def run_data(args) -> int:
    from molprobe.reporting.pages import data_page

    molecules = _read_table(args.molecules)
    rejected = _read_table(args.rejected) if args.rejected.stat().st_size else pd.DataFrame()
    for col in ("mol_id", "smiles"):
        if col not in molecules.columns:
            raise InputError(args.molecules, f"no {col!r} column")
    summary, splits = _read_json(args.summary), [_read_json(p) for p in args.splits]
    page = data_page(args.dataset, molecules, rejected, summary, splits, args.n_examples)
    return _write_page(page, args.outdir)


def _run_record(run_dir: Path) -> RunRecord:
    """A run folder of `molprobe train`: its identity from metrics.json, history, predictions."""
    path = run_dir / "metrics.json"
    m = _read_json(path)
    try:
        name, split, seed = str(m.get("name", m["model"])), str(m["split"]["name"]), m["seed"]
    except (KeyError, TypeError) as err:
        raise InputError(path, f"not a molprobe metrics file ({err})") from None
    history = _read_table(run_dir / "history.csv")
    return RunRecord(
        name, split, f"seed{seed}", history, _read_table(run_dir / "predictions.parquet")
    )


def run_models(args) -> int:
    from molprobe.reporting.pages import models_page

    runs = sorted((_run_record(d) for d in dict.fromkeys(args.runs)),
                  key=lambda r: (r.name, r.split, r.seed))  # fmt: skip
    return _write_page(models_page(args.dataset, _read_table(args.comparison), runs), args.outdir)


def run_depth(args) -> int:
    from molprobe.reporting.pages import depth_figure

    table = _read_table(args.table)
    _save_figure(depth_figure(table), args.output)
    print(f"report depth: {table['model'].nunique()} model families -> {args.output}")
    return 0


def run_probes(args) -> int:
    from molprobe.reporting.pages import probes_page

    probes, neurons, examples = (_read_table(p) if p is not None else pd.DataFrame()
                                 for p in (args.probes, args.neurons, args.examples))  # fmt: skip
    return _write_page(probes_page(args.model, probes, neurons, examples), args.outdir)


def run_dynamics(args) -> int:
    from molprobe.reporting.pages import dynamics_page

    through_time = _read_table(args.through_time) if args.through_time is not None else None
    credit = _read_table(args.lstm_credit) if args.lstm_credit is not None else None
    page = dynamics_page(_read_table(args.gradients), through_time, credit)
    return _write_page(page, args.outdir)


def run_screen(args) -> int:
    import pyarrow.parquet as pq

    from molprobe.reporting.pages import screen_page

    try:  # read one column only: libraries can be large
        table = pq.read_table(args.hits, columns=["score"])
        scores = table.column("score").to_numpy(zero_copy_only=False)
    except (OSError, KeyError, ValueError) as err:
        raise InputError(args.hits, f"cannot read the score column ({err})") from None
    top = _read_table(args.top).head(args.n_top)
    if "smiles" not in top.columns:
        raise InputError(args.top, "no 'smiles' column")
    conformal = thresholds_from_frame(_read_table(args.conformal)) if args.conformal else None
    return _write_page(screen_page(args.library, scores, top, conformal), args.outdir)


def run_summary(args) -> int:
    from molprobe.reporting.pages import summary_texts

    heads = [_read_json(p) for p in args.headlines]
    rst, page = summary_texts(heads)
    _write_text(args.rst, rst)
    _write_text(args.html, page)
    print(f"report summary: {len(heads)} headline files -> {args.rst}, {args.html}")
    return 0
