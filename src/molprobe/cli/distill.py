"""CLI: ``molprobe distill`` — train a fast student on a split's labels plus a teacher's soft
labels for unlabeled structures.

``molprobe distill --molecules tox21/molecules.parquet --split S.json --teacher DIR [DIR ...]
--unlabeled muv/molecules.parquet hiv/molecules.parquet [--max-unlabeled N] --model snn_fast
--featurizer ecfp --featurizer descriptors_fast --output-dir OUT`` writes what ``molprobe
train`` writes (model.pt, meta.json, metrics.json, history.csv, predictions.parquet,
train_smiles.txt), so the student screens like any trained model. Only the ``smiles`` column
of an unlabeled table is read: no other dataset's labels reach the student. With ``--runs``
(the distilled split runs' metrics.json) instead of ``--split`` it trains the final student on
every labeled molecule for their median best epoch, with final-model teachers, and writes what
``molprobe train-final`` writes (model.pt, meta.json, final.json, train_smiles.txt).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from molprobe.cli.options import add_compute_options
from molprobe.fileio import write_atomic, write_json


def register(sub) -> None:
    """Add ``distill`` to the `molprobe` parser."""
    from molprobe.training.distill import DistillConfig

    d = DistillConfig()
    p = sub.add_parser(
        "distill",
        help="train a fast student on a split's labels + teachers' soft labels for unlabeled SMILES",
        description="Distil teachers (trained on this split's train part) into a vector-net "
        "student: train rows keep their 0/1 labels, unlabeled structures (the smiles column "
        "of molecule tables, standardized with the same recipe; labeled molecules dropped) get "
        "the teachers' mean probabilities. Early stopping and metrics use measured labels only.",
    )
    p.add_argument("--molecules", type=Path, required=True, help="labeled molecules.parquet")
    part = p.add_mutually_exclusive_group(required=True)
    part.add_argument("--split", type=Path, help="split JSON (row positions): a split run")
    part.add_argument("--runs", type=Path, nargs="+",
                      help="metrics.json of the distilled split runs: a final model on every "
                      "labeled molecule for their median best epoch (teachers: final models)")  # fmt: skip
    p.add_argument("--teacher", type=Path, nargs="+", required=True, help="teacher model dirs")
    p.add_argument("--unlabeled", type=Path, nargs="+", required=True,
                   help="molecule tables whose smiles column is used (structures only)")  # fmt: skip
    p.add_argument("--max-unlabeled", type=int, default=0,
                   help="at most this many unlabeled structures, sampled evenly from the tables "
                   "with a fixed seed (0 = all)")  # fmt: skip
    p.add_argument("--model", default=d.model, help=f"student family (default {d.model})")
    p.add_argument("--featurizer", action="append", default=None,
                   help="student featurizer name or JSON spec ({\"name\": ..., **params}), "
                   "in column order (default: ecfp, descriptors_fast)")  # fmt: skip
    p.add_argument("--params", nargs="+", default=[], metavar="KEY=VALUE",
                   help="student hyperparameters and training settings, as for train")  # fmt: skip
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the split's)")
    p.add_argument("--name", help="run name used in comparisons")
    p.add_argument("--standardize-summary", type=Path, help="standardize.json of the table")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the results")
    add_compute_options(p)
    p.set_defaults(func=cmd_distill)


def read_unlabeled(paths: list[Path], max_total: int) -> list[str]:
    """Standardized SMILES of the tables (only their ``smiles`` column is read), at most
    ``max_total`` (0 = all) sampled evenly across tables with a fixed seed."""
    import numpy as np
    import pandas as pd

    from molprobe.errors import InputError

    per_table = []
    for path in paths:
        if not path.exists():
            raise InputError(path, "file not found")
        smiles = pd.read_parquet(path, columns=["smiles"])["smiles"].dropna().tolist()
        per_table.append(smiles)
    if max_total > 0:
        rng = np.random.default_rng(0)
        quota = max_total // len(per_table)
        per_table = [[s[i] for i in np.sort(rng.permutation(len(s))[:quota])] for s in per_table]
    return [s for table in per_table for s in table]


def featurizer_spec(text: str) -> dict:
    """``ecfp`` -> ``{"name": "ecfp"}``; a JSON object is taken as the spec itself."""
    return json.loads(text) if text.lstrip().startswith("{") else {"name": text}


def student_config(args: argparse.Namespace):
    """The :class:`DistillConfig` and standardization recipe of the arguments."""
    from molprobe.cli.train import parse_params
    from molprobe.training.distill import DistillConfig

    names = args.featurizer or ["ecfp", "descriptors_fast"]
    config = DistillConfig(
        model=args.model, featurizers=[featurizer_spec(n) for n in names],
        params=parse_params(args.params), seed=args.seed, name=args.name,
        device="cpu" if args.device == "auto" else args.device,
    )  # fmt: skip
    recipe = None
    if args.standardize_summary is not None:
        recipe = json.loads(args.standardize_summary.read_text())["recipe"]
    return config, recipe


def soft_labels(args: argparse.Namespace, mols, tasks, split_json: dict):
    """(unlabeled SMILES not among ``mols``, the teachers' mean probabilities (n, T)); every
    teacher must have been trained on ``split_json``'s train part."""
    from molprobe.inference.teacher import check_teacher_split, teacher_probabilities
    from molprobe.training.checkpoint import read_meta
    from molprobe.training.distill import novel_structures

    for teacher in args.teacher:
        check_teacher_split(read_meta(teacher), split_json)
    unlabeled = novel_structures(
        read_unlabeled(args.unlabeled, args.max_unlabeled), mols["smiles"].tolist()
    )
    return unlabeled, teacher_probabilities(args.teacher, unlabeled, tasks)


def write_student(out: Path, run) -> Path:
    """model.pt, meta.json and train_smiles.txt of a trained student in ``out``."""
    from molprobe.training.checkpoint import save_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, run.model, run.meta)
    text = "\n".join(run.train_smiles) + "\n"
    write_atomic(out / "train_smiles.txt", lambda path: path.write_text(text))
    return out


def final_student(args: argparse.Namespace, mols, tasks) -> int:
    """``--runs``: the final student on every labeled molecule; the teachers must be final
    models (trained on all labeled rows); writes model.pt, meta.json, final.json,
    train_smiles.txt as ``molprobe train-final``."""
    from molprobe.training.distill import distill_final
    from molprobe.training.final import all_labeled_record, labeled_rows

    rows = labeled_rows(mols[tasks].to_numpy(dtype=float))
    # the split record the teachers (final models) must carry, with its train rows
    everything = {**all_labeled_record(rows.size), "train": rows.tolist()}
    unlabeled, soft = soft_labels(args, mols, tasks, everything)
    config, recipe = student_config(args)
    metrics = [json.loads(Path(p).read_text()) for p in args.runs]
    run = distill_final(mols, tasks, unlabeled, soft, config, metrics, recipe)
    out = write_student(args.output_dir, run)
    write_json(out / "final.json", run.record)
    r = run.record
    print(f"{r['model']} final distilled seed {r['seed']}: {r['n_train']} labeled + "
          f"{r['n_unlabeled']} unlabeled, {r['epochs_run']} epochs, {r['seconds']:.0f} s")  # fmt: skip
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    import sys

    import torch

    from molprobe.training.distill import distill_run
    from molprobe.training.run import read_split, split_name
    from molprobe.training.tables import read_labelled_molecules

    if not sys.stderr.isatty():
        logging.getLogger("molprobe.training.loop").setLevel(logging.INFO)
    if args.threads:
        torch.set_num_threads(args.threads)
    mols, tasks = read_labelled_molecules(args.molecules)
    if args.runs:
        return final_student(args, mols, tasks)
    split_json, _ = read_split(args.split, len(mols))
    unlabeled, soft = soft_labels(args, mols, tasks, split_json)
    config, recipe = student_config(args)
    info = {"name": split_name(args.split, split_json), "path": str(args.split)}
    run = distill_run(mols, tasks, split_json, info, unlabeled, soft, config, recipe)
    out = write_student(args.output_dir, run)
    write_json(out / "metrics.json", run.metrics)
    write_atomic(out / "history.csv", lambda p: run.history.to_csv(p, index=False))
    write_atomic(out / "predictions.parquet", lambda p: run.predictions.to_parquet(p, index=False))
    write_atomic(out / "valid_predictions.parquet",
                 lambda p: run.valid_predictions.to_parquet(p, index=False))  # fmt: skip
    m = run.metrics
    print(f"{m['name']} {m['split']['name']}: {len(unlabeled)} unlabeled structures, best epoch "
          f"{m['best_epoch']} of {m['epochs_run']}, {m['seconds']:.0f} s")  # fmt: skip
    return 0
