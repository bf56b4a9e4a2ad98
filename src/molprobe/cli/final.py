"""CLI: ``molprobe train-final`` (one family on every labeled molecule, for the epoch count
its split runs chose), ``molprobe calibration`` (reliability, ECE, ensemble spread and
conformal coverage of the split runs' predictions) and ``molprobe conformal`` (the hit list's
conformal thresholds from the split runs' validation predictions)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from molprobe.errors import InputError
from molprobe.fileio import write_atomic, write_json


def register(sub) -> None:
    """Add ``train-final``, ``calibration`` and ``conformal`` to the `molprobe` parser."""
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
    p.add_argument("--init", type=Path, help="starting weights, as the split runs had them")
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
    c.add_argument("--alpha", type=float, default=None,
                   help="error rate of the conformal sets (default 0.1)")  # fmt: skip
    c.set_defaults(func=cmd_calibration)

    k = sub.add_parser(
        "conformal",
        help="Mondrian conformal thresholds per task for the hit list (validation only)",
        description="Per task, class-conditional split-conformal thresholds of the ensemble "
        "(mean probability of the given runs' families per seed) calibrated on the runs' "
        "validation predictions pooled over seeds; test predictions are not read.",
    )
    k.add_argument("runs", type=Path, nargs="+",
                   help="run folders (valid_predictions.parquet beside metrics.json)")  # fmt: skip
    k.add_argument("--alpha", type=float, default=None,
                   help="error rate per class (default 0.1)")  # fmt: skip
    k.add_argument("--output", type=Path, required=True, help="thresholds CSV to write")
    k.set_defaults(func=cmd_conformal)


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
        seed=args.seed, device=args.device, threads=args.threads, init=args.init,
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
    result = calibration_table(runs, bins, **_alpha(args))
    write_atomic(args.output, lambda p: result.table.to_csv(p, index=False))
    if args.plot:
        from molprobe.reporting.plots import close

        fig = plot_reliability(result, bins)
        fmt = (args.plot.suffix or ".png").lstrip(".")
        write_atomic(args.plot, lambda p: fig.savefig(p, dpi=150, format=fmt))
        close(fig)
    print(result.summary.to_string(index=False))
    return 0


def _alpha(args: argparse.Namespace) -> dict:
    return {} if args.alpha is None else {"alpha": args.alpha}


def cmd_conformal(args: argparse.Namespace) -> int:
    from molprobe.reporting.calibration import conformal_thresholds, read_run_predictions
    from molprobe.reporting.conformal import thresholds_frame

    frame = thresholds_frame(
        conformal_thresholds(read_run_predictions(args.runs, test=False), **_alpha(args))
    )
    write_atomic(args.output, lambda p: frame.to_csv(p, index=False))
    print(frame.to_string(index=False))
    return 0
