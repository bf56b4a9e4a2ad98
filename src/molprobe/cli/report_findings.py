"""CLI: `molprobe report findings` writes the findings page (one verdict per question, with a
traffic-light flag and its number) from the stage tables, and its CSV twin.

    molprobe report findings --dataset tox21 --headlines */headline.json --comparison comparison.csv
        [--runs RUN_DIR...] [--depth depth.csv] [--probe-verdict snn=verdict.md ...]
        [--probe-table snn=probes.parquet ...] [--gradients gradient_summary.csv | gradients.parquet]
        [--lstm-credit lstm_credit_summary.csv] [--hits muv=hits.top.explained.csv ...]
        [--shortcuts findings.csv | findings.md] --html findings.html --csv findings.csv
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.errors import InputError
from molprobe.fileio import atomic_path


def register_findings(rsub) -> None:
    """Add the ``findings`` stage to the ``molprobe report`` subparsers."""
    f = rsub.add_parser("findings", help="the findings page: one verdict per question")
    f.add_argument("--dataset", required=True, help="dataset name shown in the title")
    f.add_argument("--headlines", nargs="*", default=[], type=Path, help="headline.json files")
    f.add_argument("--comparison", type=Path, help="comparison.csv of `molprobe compare`")
    f.add_argument("--runs", nargs="*", default=[], type=Path,
                   help="run folders (metrics.json, predictions.parquet): calibration of each")  # fmt: skip
    f.add_argument("--depth", type=Path, help="depth.csv of `molprobe depth-table`")
    f.add_argument("--probe-verdict", nargs="*", default=[], action="extend", metavar="MODEL=PATH",
                   help="verdict.md of the probing stage per net family")  # fmt: skip
    f.add_argument("--probe-table", nargs="*", default=[], action="extend", metavar="MODEL=PATH",
                   help="probes.parquet per net family (used when there is no verdict)")  # fmt: skip
    f.add_argument("--gradients", type=Path,
                   help="gradient_summary.csv, or the per-layer gradients.parquet")  # fmt: skip
    f.add_argument("--lstm-credit", type=Path, help="lstm_credit_summary.csv")
    f.add_argument("--hits", nargs="*", default=[], action="extend", metavar="LIBRARY=PATH",
                   help="ranked top hits (hits.top.explained.csv) per library")  # fmt: skip
    f.add_argument("--shortcuts", type=Path, help="shortcut audit findings.csv or findings.md")
    f.add_argument("--html", required=True, type=Path, help="the findings page")
    f.add_argument("--csv", required=True, type=Path, help="the same verdicts as CSV")
    f.set_defaults(func=run_findings)


def _table(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    try:
        return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise InputError(path, f"cannot read the table ({err})") from None


def _pairs(items: list[str], option: str) -> dict[str, Path]:
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name:
            raise InputError(Path(item), f"{option} takes NAME=PATH")
        out[name] = Path(path)
    return out


def _calibration(runs: list[Path]) -> pd.DataFrame | None:
    """ECE of each run (task mean), averaged per name × split."""
    from molprobe.reporting.findings import expected_calibration_error
    from molprobe.reporting.stages import prediction_pairs

    rows = []
    for run in runs:
        try:
            meta = json.loads((run / "metrics.json").read_text())
            preds = pd.read_parquet(run / "predictions.parquet")
        except (OSError, ValueError) as err:
            raise InputError(run, f"cannot read the run ({err})") from None
        if meta.get("task_type", "classification") != "classification":
            continue
        y_true, y_score = prediction_pairs(preds)
        eces = [expected_calibration_error(y_true[t], y_score[t]) for t in y_true]
        split = meta.get("split", {})
        rows.append({"name": str(meta.get("name", meta.get("model"))),
                     "split": str(split.get("name", split) if isinstance(split, dict) else split),
                     "ece": float(np.nanmean(eces))})  # fmt: skip
    if not rows:
        return None
    return pd.DataFrame(rows).groupby(["name", "split"], as_index=False)["ece"].mean()


def _n_scored(top_path: Path) -> int | None:
    """Molecules scored: the row count of hits.parquet beside the top-hit table, if present."""
    import pyarrow.parquet as pq

    hits = top_path.parent / "hits.parquet"
    return pq.ParquetFile(hits).metadata.num_rows if hits.is_file() else None


def run_findings(args) -> int:
    from molprobe.reporting.findings_report import FindingsInputs, findings_report

    heads = [json.loads(p.read_text()) for p in args.headlines]
    hits = _pairs(args.hits, "--hits")
    short = args.shortcuts
    inputs = FindingsInputs(
        dataset=args.dataset,
        headlines=heads,
        comparison=_table(args.comparison),
        calibration=_calibration(args.runs),
        depth=_table(args.depth),
        probe_verdicts={
            m: p.read_text() for m, p in _pairs(args.probe_verdict, "--probe-verdict").items()
        },
        probe_tables={m: _table(p) for m, p in _pairs(args.probe_table, "--probe-table").items()},
        gradients=_table(args.gradients),
        credit=_table(args.lstm_credit),
        hits={lib: _table(p) for lib, p in hits.items()},
        n_scored={lib: n for lib, p in hits.items() if (n := _n_scored(p)) is not None},
        shortcut_flags=_table(short) if short is not None and short.suffix == ".csv" else None,
        shortcut_markdown=short.read_text()
        if short is not None and short.suffix == ".md"
        else None,
    )
    page, table = findings_report(inputs)
    with atomic_path(args.html) as tmp:
        tmp.write_text(page, encoding="utf-8")
    with atomic_path(args.csv) as tmp:
        table.to_csv(tmp, index=False)
    print(f"report findings {args.dataset}: {len(table)} verdicts -> {args.html}")
    return 0
