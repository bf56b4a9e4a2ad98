"""Distilled vs plain screening student on the workflow's Tox21 splits (issue 19 item 1,
issue 20 item 5).

Per split seed: the teacher (trained on that split's train part; ``--teachers NAME=DIR``,
``{split}``/``{seed}`` filled in) is chosen on **validation** among the single teachers and
their mean (mean over seeds of the validation mean ROC-AUC); its soft labels for the
unlabeled structures (MUV + HIV SMILES only, labeled Tox21 structures removed) are cached in
``--cache``; the student (``--student``, the plain run's featurizers and ``--params``, the
plain run's model seed) is trained with :func:`molprobe.training.distill.distill_run` and
written like ``molprobe distill`` does. One CSV row per split seed: validation of the plain run
(``--plain DIR``, a ``molprobe train`` run of the same family and seed), of the distilled
student and of the chosen teacher, the difference, seconds. ``--zero-control SEED``: the
student also trained with no unlabeled rows, which must reproduce the plain run (so the arms
differ only by the soft-labeled rows); ``--shuffled-control SEED``: the soft labels permuted
over the unlabeled structures (same rows, same label marginals, the teacher's knowledge of
which structure is active lost): a gain that survives it is regularization, not the teacher.
``--read-test`` adds the test means (read once, at
the end; runs already written are read back, not retrained).

    python scripts/distill_ablation.py --method scaffold --seeds 0 1 2 \\
        --teachers fnn=results/distill/teachers/fnn_bn_fast_full/{split}/seed{seed} \\
        --plain results/tox21/models/fnn_bn_fast/{split}/seed{seed} --output rows.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from molprobe.cli.distill import read_unlabeled
from molprobe.fileio import write_json
from molprobe.inference.teacher import check_teacher_split, teacher_probabilities
from molprobe.training.checkpoint import read_meta, save_checkpoint
from molprobe.training.distill import DistillConfig, distill_run, novel_structures
from molprobe.training.metrics import evaluate
from molprobe.training.run import read_split
from molprobe.training.tables import read_labelled_molecules


def valid_mean(dirs: list[Path], tasks: list[str]) -> float:
    """Validation mean ROC-AUC of the mean probability of the runs in ``dirs``."""
    frames = [pd.read_parquet(d / "valid_predictions.parquet") for d in dirs]
    pred = np.mean([f[tasks].to_numpy(dtype=float) for f in frames], axis=0)
    truth = frames[0][[f"{t}_true" for t in tasks]].to_numpy(dtype=float)
    return float(evaluate(truth, pred, tasks, "classification", 10, 0).to_dict()["mean"]["roc_auc"])


def choose_teacher(teachers: dict[str, str], method: str, seeds: list[int], tasks) -> tuple:
    """(names, table): the teacher set (one name, or all for their mean) with the best mean
    validation ROC-AUC over ``seeds``, and every candidate's per-seed validation."""
    candidates = [[n] for n in teachers] + ([list(teachers)] if len(teachers) > 1 else [])
    table = {}
    for names in candidates:
        table["+".join(names)] = [
            valid_mean([Path(teachers[n].format(split=method, seed=s)) for n in names], tasks)
            for s in seeds
        ]
    best = max(table, key=lambda k: np.mean(table[k]))
    return best.split("+"), table


def soft_labels(dirs, unlabeled, tasks, split_json, path: Path, cache) -> tuple[np.ndarray, float]:
    """Teachers' mean probabilities for ``unlabeled``, cached in ``path`` (npz); CPU s spent."""
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        if saved["smiles"].tolist() == list(unlabeled):
            return saved["soft"], 0.0
    for d in dirs:
        check_teacher_split(read_meta(d), split_json)
    t0 = time.process_time()
    soft = teacher_probabilities(dirs, unlabeled, tasks, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, smiles=np.array(unlabeled), soft=soft)
    return soft, time.process_time() - t0


def write_run(out: Path, run) -> None:
    """What ``molprobe distill`` writes."""
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, run.model, run.meta)
    (out / "train_smiles.txt").write_text("\n".join(run.train_smiles) + "\n")
    write_json(out / "metrics.json", run.metrics)
    run.history.to_csv(out / "history.csv", index=False)
    run.predictions.to_parquet(out / "predictions.parquet", index=False)
    run.valid_predictions.to_parquet(out / "valid_predictions.parquet", index=False)


def ensure_valid_predictions(run_dir: Path, mols: pd.DataFrame, rows, tasks) -> None:
    """Write ``valid_predictions.parquet`` of a student saved before it was written (the
    checkpoint rebuilds its inputs from SMILES and predicts what training scored)."""
    from molprobe.inference.inputs import ModelInputs
    from molprobe.inference.predict import predict_loaded
    from molprobe.training.checkpoint import load_model
    from molprobe.training.records import predictions_frame

    if (run_dir / "valid_predictions.parquet").exists():
        return
    loaded = load_model(run_dir)
    smiles = mols["smiles"].to_numpy()[rows].tolist()
    pred = predict_loaded(loaded, ModelInputs.from_checkpoint(loaded).featurize(smiles))
    Y = mols[tasks].to_numpy(dtype=float)
    frame = predictions_frame(mols, rows, tasks, pred, Y)
    frame.to_parquet(run_dir / "valid_predictions.parquet", index=False)


def ensembles(args, mols, tasks) -> list[dict]:
    """Per split seed and arm: the mean ROC-AUC of the mean probability of the student
    initialisations ``--ensemble`` (model seeds; ``--runs``/``--plain`` dirs with ``{mseed}``;
    e.g. ``m0`` links to the default run, whose model seed is the split seed) on validation
    (and test with ``--read-test``)."""
    out = []
    for seed in args.seeds:
        _, split = read_split(args.splits / args.method / f"seed{seed}.json", len(mols))
        arms = {
            "plain": args.plain,
            "distilled": str(args.runs / "distilled" / "{split}" / "seed{seed}"),
        }
        for arm, pattern in arms.items():
            dirs = [
                Path(pattern.format(split=args.method, seed=seed, mseed=m)) for m in args.ensemble
            ]
            row = {"split": args.method, "seed": seed, "arm": arm, "members": len(dirs)}
            for part, name in [
                ("valid", "valid_predictions.parquet"),
                ("test", "predictions.parquet"),
            ]:
                if part == "test" and not args.read_test:
                    continue
                if arm == "distilled" and part == "valid":
                    for d in dirs:
                        ensure_valid_predictions(d, mols, split.valid, tasks)
                frames = [pd.read_parquet(d / name) for d in dirs]
                pred = np.mean([f[tasks].to_numpy(dtype=float) for f in frames], axis=0)
                truth = frames[0][[f"{t}_true" for t in tasks]].to_numpy(dtype=float)
                ev = evaluate(truth, pred, tasks, "classification", 10, 0).to_dict()
                row[part] = ev["mean"]["roc_auc"]
            print(row)
            out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--molecules", type=Path, default=Path("results/tox21/data/molecules.parquet"))
    ap.add_argument("--splits", type=Path, default=Path("results/tox21/splits"))
    ap.add_argument("--method", default="scaffold")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--teachers", nargs="+", required=True, metavar="NAME=DIR")
    ap.add_argument("--plain", required=True, help="plain run dir ({split}, {seed})")
    ap.add_argument("--student", default="fnn_bn_fast")
    ap.add_argument("--params", nargs="*", default=["epochs=30"], metavar="KEY=VALUE")
    ap.add_argument("--unlabeled", type=Path, nargs="+",
                    default=[Path("results/muv/data/molecules.parquet"),
                             Path("results/hiv/data/molecules.parquet")])  # fmt: skip
    ap.add_argument("--max-unlabeled", type=int, default=8000)
    ap.add_argument("--cache", type=Path, default=Path("results/distill/soft"))
    ap.add_argument("--runs", type=Path, default=Path("results/distill/students"))
    ap.add_argument("--student-seed", type=int, default=None,
                    help="model seed of student and plain run (default: the split seed)")  # fmt: skip
    ap.add_argument("--zero-control", type=int, nargs="*", default=[])
    ap.add_argument("--shuffled-control", type=int, nargs="*", default=[])
    ap.add_argument("--ensemble", type=int, nargs="*", default=None, metavar="MSEED",
                    help="only score the ensembles of these student initialisations")  # fmt: skip
    ap.add_argument("--read-test", action="store_true")
    ap.add_argument("--output", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from molprobe.cli.train import parse_params

    params = parse_params(args.params)
    mols, tasks = read_labelled_molecules(args.molecules)
    if args.ensemble:
        rows = ensembles(args, mols, tasks)
        pd.DataFrame(rows).to_csv(args.output, index=False)
        return
    teachers = dict(t.split("=", 1) for t in args.teachers)
    chosen, table = choose_teacher(teachers, args.method, args.seeds, tasks)
    print(f"teacher validation ({args.method}, seeds {args.seeds}):",
          {k: [round(v, 4) for v in vals] for k, vals in table.items()}, "-> chosen", chosen)  # fmt: skip
    unlabeled = novel_structures(
        read_unlabeled(args.unlabeled, args.max_unlabeled), mols["smiles"].tolist()
    )
    cache: dict = {}
    rows = []
    for seed in args.seeds:
        split_path = args.splits / args.method / f"seed{seed}.json"
        split_json, _ = read_split(split_path, len(mols))
        dirs = [Path(teachers[n].format(split=args.method, seed=seed)) for n in chosen]
        soft, soft_s = soft_labels(
            dirs, unlabeled, tasks, split_json,
            args.cache / f"{args.method}_seed{seed}_{'+'.join(chosen)}.npz", cache,
        )  # fmt: skip
        plain_dir = Path(args.plain.format(split=args.method, seed=seed))
        plain_meta = read_meta(plain_dir)
        plain = json.loads((plain_dir / "metrics.json").read_text())
        config = DistillConfig(model=args.student, featurizers=plain_meta.featurizers,
                               params=params, seed=plain["seed"])  # fmt: skip
        if plain["seed"] != (seed if args.student_seed is None else args.student_seed):
            raise SystemExit(f"{plain_dir}: model seed {plain['seed']} is not the student's")
        info = {"name": args.method, "path": str(split_path)}
        arms = [("distilled", unlabeled, soft)]
        if seed in args.zero_control:
            arms.append(("zero", [], np.zeros((0, len(tasks)))))
        if seed in args.shuffled_control:  # same rows and label marginals, teacher's order lost
            arms.append(("shuffled", unlabeled, np.random.default_rng(seed).permutation(soft)))
        for arm, unl, sft in arms:
            out = args.runs / arm / args.method / f"seed{seed}"
            cpu = float("nan")
            if not (out / "metrics.json").exists():  # runs already written are read back
                t0 = time.process_time()
                run = distill_run(mols, tasks, split_json, info, unl, sft, config)
                cpu = time.process_time() - t0
                write_run(out, run)
            m = json.loads((out / "metrics.json").read_text())
            row = {
                "split": args.method, "seed": seed, "arm": arm, "teacher": "+".join(chosen),
                "teacher_valid": table["+".join(chosen)][args.seeds.index(seed)],
                "plain_valid": plain["valid"]["mean"]["roc_auc"],
                "valid": m["valid"]["mean"]["roc_auc"],
                "diff_valid": m["valid"]["mean"]["roc_auc"] - plain["valid"]["mean"]["roc_auc"],
                "n_unlabeled": len(unl), "best_epoch": m["best_epoch"],
                "epochs_run": m["epochs_run"], "plain_best_epoch": plain["best_epoch"],
                "plain_epochs_run": plain["epochs_run"], "student_cpu_s": round(cpu, 1),
                "plain_train_s": round(plain["seconds"], 1), "soft_cpu_s": round(soft_s, 1),
            }  # fmt: skip
            if args.read_test:
                row["plain_test"] = plain["test"]["mean"]["roc_auc"]
                row["test"] = m["test"]["mean"]["roc_auc"]
                row["diff_test"] = row["test"] - row["plain_test"]
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            rows.append(row)
    new = not args.output.exists()
    with args.output.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
