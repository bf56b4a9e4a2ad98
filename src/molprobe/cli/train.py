"""CLI: ``molprobe train`` (one model on one split and seed) and ``molprobe compare``
(collect metrics.json files into a comparison table and plot).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import write_atomic, write_json

log = logging.getLogger(__name__)


def register(sub) -> None:
    """Add ``train`` and ``compare`` to the `molprobe` parser."""
    from molprobe.models.registry import MODELS
    from molprobe.training.metrics import N_BOOTSTRAP

    p = sub.add_parser(
        "train",
        help="train one model on one split and seed; write model, metrics and predictions",
        description="Train a registered model (snn, fnn_bn, gine, attentivefp, lstm, rf, logreg) "
        "and write model.pt|model.skops, meta.json, metrics.json, history.csv, predictions.parquet.",
    )
    p.add_argument("--model", required=True, choices=sorted(MODELS), help="model family")
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--split", type=Path, required=True, help="split JSON (row positions)")
    p.add_argument(
        "--features",
        type=Path,
        action="append",
        required=True,
        help="feature file(s) aligned with the molecules: ecfp.npz / descriptors.npz "
        "(repeat to concatenate), graphs.pt, or tokens.npz",
    )
    p.add_argument(
        "--task-type", choices=("classification", "regression"), default="classification"
    )
    p.add_argument("--tasks", nargs="+", help="task columns (default: all label columns)")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the results")
    p.add_argument(
        "--params",
        nargs="+",
        default=[],
        metavar="JSON|KEY=VALUE",
        help="model hyperparameters and training settings, e.g. n_layers=16 lr=1e-4 "
        "or a JSON object",
    )
    p.add_argument("--epochs", type=int, help="maximum epochs (neural models)")
    p.add_argument("--device", default=None, help="auto (default) | cpu | cuda")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the split's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--name", help="run name used in comparisons (default: the model name)")
    p.add_argument("--bootstrap", type=int, default=N_BOOTSTRAP, help="bootstrap resamples for CIs")
    p.add_argument("--init", type=Path, help="starting weights: `molprobe pretrain`'s model.pt")
    p.add_argument(
        "--standardize-summary",
        type=Path,
        default=None,
        help="standardize.json of the molecule table: its recipe is saved with the model, so "
        "screening standardizes new molecules the same way",
    )
    p.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate",
        help="score a trained model directory on a split of a molecule table",
        description="Load a model (refusing features made with a different featurizer) and "
        "write its metrics (with bootstrap CIs) on one part of a split.",
    )
    e.add_argument("--model-dir", type=Path, required=True, help="directory written by train")
    e.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    e.add_argument("--split", type=Path, required=True, help="split JSON (row positions)")
    e.add_argument("--part", choices=("train", "valid", "test"), default="test")
    e.add_argument("--features", type=Path, action="append", required=True)
    e.add_argument("--output", type=Path, required=True, help="metrics JSON to write")
    e.add_argument("--predictions", type=Path, help="also write predictions (.parquet)")
    e.add_argument("--bootstrap", type=int, default=N_BOOTSTRAP)
    e.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    e.set_defaults(func=cmd_evaluate)

    c = sub.add_parser(
        "compare",
        help="collect metrics.json files into a model x split x seed table (+ plot)",
    )
    c.add_argument("results", nargs="+", type=Path,
                   help="metrics.json files of the runs (a folder: every metrics.json below it)")  # fmt: skip
    c.add_argument("--part", choices=("test", "valid"), default="test",
                   help="split part scored (valid: for choices; no weighted ensemble)")  # fmt: skip
    c.add_argument("--output", type=Path, required=True, help="comparison.csv to write")
    c.add_argument("--plot", type=Path, help="bar plot (.png / .pdf / .svg)")
    c.add_argument("--metric", help="metric to compare (default: roc_auc or rmse)")
    c.add_argument(
        "--ensemble",
        nargs="*",
        metavar="NAME",
        help="also score the average of these runs' test predictions per split x seed "
        "(no names: all runs)",
    )
    c.set_defaults(func=cmd_compare)


# ----------------------------------------------------------------------------- train


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["n_layers=8", "lr=1e-4", '{"width": 512}']`` -> dict (values parsed as JSON when
    they are valid JSON, else kept as strings)."""
    out: dict[str, Any] = {}
    for item in items or []:
        item = item.strip()
        if not item:
            continue
        if item.startswith("{"):
            try:
                obj = json.loads(item)
            except json.JSONDecodeError as err:
                raise MolprobeError(f"--params: invalid JSON {item!r}: {err}") from None
            if not isinstance(obj, dict):
                raise MolprobeError(f"--params: expected a JSON object, got {item!r}")
            out.update(obj)
            continue
        if "=" not in item:
            raise MolprobeError(f"--params: expected KEY=VALUE or a JSON object, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _write_table(path: Path, df, fmt: str) -> None:
    if fmt == "csv":
        write_atomic(path, lambda p: df.to_csv(p, index=False))
    else:
        write_atomic(path, lambda p: df.to_parquet(p, index=False))


def _recipe(summary: Path | None) -> dict | None:
    """The standardization recipe recorded in a standardize.json (None without one)."""
    if summary is None:
        return None
    try:
        return json.loads(summary.read_text())["recipe"]
    except FileNotFoundError:
        raise InputError(summary, "no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(summary, f"not a standardize.json with a 'recipe': {err}") from None


def cmd_train(args: argparse.Namespace) -> int:
    import sys

    import torch

    if not sys.stderr.isatty():  # logs (no progress bar): one line per epoch
        logging.getLogger("molprobe.training.loop").setLevel(logging.INFO)

    threads_before = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return _train_command(args)
    finally:
        torch.set_num_threads(threads_before)


def _train_command(args: argparse.Namespace) -> int:
    from molprobe.training.checkpoint import save_checkpoint
    from molprobe.training.run import TrainRunConfig, read_split, split_name, train_run
    from molprobe.training.tables import read_labelled_molecules

    mols, tasks = read_labelled_molecules(args.molecules, args.tasks)
    split_json, _ = read_split(args.split, len(mols))
    config = TrainRunConfig(
        model=args.model, task_type=args.task_type,
        params=parse_params(args.params), epochs=args.epochs, device=args.device,
        seed=args.seed, threads=args.threads, name=args.name, bootstrap=args.bootstrap,
        init=args.init,
    )  # fmt: skip
    info = {"name": split_name(args.split, split_json), "path": str(args.split)}
    run = train_run(
        mols, tasks, split_json, info, args.features, config,
        _recipe(args.standardize_summary), source=args.molecules,
    )  # fmt: skip
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, run.model, run.meta)
    # the training molecules: the applicability-domain reference used when screening
    text = "\n".join(run.train_smiles) + "\n"
    write_atomic(out / "train_smiles.txt", lambda path: path.write_text(text))
    write_json(out / "metrics.json", run.metrics)
    _write_table(out / "history.csv", run.history, "csv")
    _write_table(out / "predictions.parquet", run.predictions, "parquet")
    _write_table(out / "valid_predictions.parquet", run.valid_predictions, "parquet")
    print(run.summary_line())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from molprobe.training.checkpoint import read_meta
    from molprobe.training.metrics import PRIMARY
    from molprobe.training.run import evaluate_run, read_split
    from molprobe.training.tables import read_labelled_molecules

    meta = read_meta(args.model_dir)
    mols, tasks = read_labelled_molecules(args.molecules, meta.task_names)
    split_json, split = read_split(args.split, len(mols))
    rows = getattr(split, args.part)
    res = evaluate_run(args.model_dir, mols, tasks, rows, args.features, args.bootstrap, args.seed)
    split_out = {"path": str(args.split), "method": split_json.get("method"), "part": args.part}
    out = {"model": meta.model_name, "model_dir": str(args.model_dir), "split": split_out,
           "task_type": meta.task_type, args.part: res.evaluation.to_dict()}  # fmt: skip
    write_json(args.output, out)
    if args.predictions:
        _write_table(args.predictions, res.predictions, "parquet")
    key = PRIMARY[meta.task_type][0]
    mean = res.evaluation.mean[key]
    print(f"{meta.model_name} on {args.part} ({len(rows)} molecules): mean {key} {mean:.3f}")
    return 0


# ----------------------------------------------------------------------------- compare


def cmd_compare(args: argparse.Namespace) -> int:
    from molprobe.training.compare import compare_runs, metrics_files

    result = compare_runs(metrics_files(args.results), args.metric, args.ensemble, args.part)
    _write_table(args.output, result.table, "csv")
    if args.plot:  # the report's comparison figure (mean and 95 % CI over seeds)
        from molprobe.reporting.plots import close, plot_model_comparison
        from molprobe.reporting.stages import comparison_summary

        metric = str(result.summary["metric"].iloc[0])
        fig = plot_model_comparison(comparison_summary(result.table), metric)
        fmt = (args.plot.suffix or ".png").lstrip(".")
        write_atomic(args.plot, lambda p: fig.savefig(p, dpi=150, format=fmt))
        close(fig)
    for _, r in result.summary.iterrows():
        std = f" ± {r['std']:.3f}" if r["n_seeds"] > 1 else ""
        name, mean, n = r["name"], r["mean"], r["n_seeds"]
        print(f"{r['split']:>10}  {name:<16} {r['metric']} {mean:.3f}{std} (n={n})")
    return 0
