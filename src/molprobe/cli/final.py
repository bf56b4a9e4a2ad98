"""CLI: ``molprobe train-final`` (one family on every labeled molecule, for the epoch count
its split runs chose) and ``molprobe calibration`` (reliability, ECE and ensemble spread of
the split runs' predictions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from molprobe.errors import InputError
from molprobe.fileio import write_atomic, write_json


def register(sub) -> None:
    """Add ``train-final`` and ``calibration`` to the `molprobe` parser."""
    from molprobe.models.registry import MODELS

    p = sub.add_parser(
        "train-final",
        help="train a final model on every labeled molecule (epochs from the split runs)",
        description="Train one family on all labeled molecules for the median best validation "
        "epoch of its split runs; write model.pt|model.skops, meta.json, final.json and "
        "train_smiles.txt (what screening uses).",
    )
    p.add_argument("--model", required=True, choices=sorted(MODELS), help="model family")
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--features", type=Path, action="append", required=True,
                   help="feature file(s) aligned with the molecules, as for `molprobe train`")  # fmt: skip
    p.add_argument("--runs", type=Path, nargs="+", required=True,
                   help="metrics.json of the family's split runs (their best epochs)")  # fmt: skip
    p.add_argument(
        "--task-type", choices=("classification", "regression"), default="classification"
    )
    p.add_argument("--tasks", nargs="+", help="task columns (default: all label columns)")
    p.add_argument("--params", nargs="+", default=[], metavar="JSON|KEY=VALUE",
                   help="the split runs' hyperparameters and training settings")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default=None, help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--standardize-summary", type=Path, default=None,
                   help="standardize.json of the molecule table (recipe saved with the model)")  # fmt: skip
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the model")
    p.set_defaults(func=cmd_train_final)

    c = sub.add_parser(
        "calibration",
        help="reliability diagram, ECE and ensemble-spread table of split runs",
        description="Per task and family (and the ensemble of the families): expected "
        "calibration error of the test predictions, raw and after Platt scaling fitted on the "
        "validation predictions, and the ROC-AUC of the ensemble spread for wrong vs right calls.",
    )
    c.add_argument("runs", type=Path, nargs="+", help="run folders (predictions.parquet and "
                   "valid_predictions.parquet beside metrics.json)")  # fmt: skip
    c.add_argument("--output", type=Path, required=True, help="calibration.csv to write")
    c.add_argument("--plot", type=Path, help="reliability diagram (.png / .pdf / .svg)")
    c.add_argument("--bins", type=int, default=None, help="equal-width probability bins")
    c.set_defaults(func=cmd_calibration)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from None


def cmd_train_final(args: argparse.Namespace) -> int:
    from molprobe.cli.train import parse_params
    from molprobe.training.checkpoint import save_checkpoint
    from molprobe.training.final import FinalConfig, train_final
    from molprobe.training.tables import read_labelled_molecules

    mols, tasks = read_labelled_molecules(args.molecules, args.tasks)
    recipe = None
    if args.standardize_summary is not None:
        recipe = _read_json(args.standardize_summary).get("recipe")
    config = FinalConfig(
        model=args.model, task_type=args.task_type, params=parse_params(args.params),
        seed=args.seed, device=args.device, threads=args.threads,
    )  # fmt: skip
    split_metrics = [_read_json(p) for p in args.runs]
    run = train_final(
        mols, tasks, args.features, config, split_metrics, recipe, source=args.molecules
    )
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, run.model, run.meta)
    text = "\n".join(run.train_smiles) + "\n"
    write_atomic(out / "train_smiles.txt", lambda path: path.write_text(text))
    write_json(out / "final.json", run.record)
    r = run.record
    print(
        f"{r['model']} final seed {r['seed']}: {r['n_train']} labeled molecules, "
        f"{r['epochs_run']} epochs (split runs' best: {list(r['split_runs'].values())}), "
        f"{r['seconds']:.1f} s on {r['device']}"
    )
    return 0


def cmd_calibration(args: argparse.Namespace) -> int:
    from molprobe.reporting.calibration import (
        N_BINS,
        calibration_table,
        plot_reliability,
        read_run_predictions,
    )

    runs = read_run_predictions(args.runs)
    bins = args.bins or N_BINS
    result = calibration_table(runs, bins)
    write_atomic(args.output, lambda p: result.table.to_csv(p, index=False))
    if args.plot:
        from molprobe.reporting.plots import close

        fig = plot_reliability(result, bins)
        fmt = (args.plot.suffix or ".png").lstrip(".")
        write_atomic(args.plot, lambda p: fig.savefig(p, dpi=150, format=fmt))
        close(fig)
    print(result.summary.to_string(index=False))
    return 0
