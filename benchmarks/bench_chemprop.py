"""chemprop beside molprobe on the workflow's own splits (not a unit test; `make bench-train`).

    python benchmarks/bench_chemprop.py --results results/tox21 --split random --seeds 0 1 2
    python benchmarks/bench_chemprop.py --chemprop /opt/chemprop-venv/bin/chemprop --epochs 50

chemprop is not a molprobe dependency (it pins its own RDKit); install it in a separate
environment (``python -m venv cp && cp/bin/pip install torch==2.13.0 chemprop``) and pass its
executable with ``--chemprop`` (default: ``chemprop`` on PATH; skipped when absent).

For each seed it writes the standardized molecules of ``results/<dataset>/data/molecules.parquet``
with a train/val/test column taken from ``results/<dataset>/splits/<split>/seed<n>.json``, runs
``chemprop train`` (D-MPNN, its defaults, one CPU thread unless told otherwise), scores chemprop's
test predictions with molprobe's own metric code (mean ROC-AUC over tasks, bootstrap CI), and
prints them beside every molprobe model's ``metrics.json`` for the same split and seed, with
training seconds per epoch (chemprop: wall time of ``chemprop train`` / epochs, start-up included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

SPLIT_NAMES = {"train": "train", "valid": "val", "test": "test"}


def chemprop_input(molecules: pd.DataFrame, tasks: list[str], split: dict) -> pd.DataFrame:
    """smiles, task columns (NaN = unknown) and chemprop's split column (train/val/test)."""
    df = molecules[["smiles", *tasks]].copy()
    df["split"] = ""
    for part, name in SPLIT_NAMES.items():
        df.iloc[np.asarray(split[part], dtype=np.int64), df.columns.get_loc("split")] = name
    return df[df["split"] != ""].reset_index(drop=True)


def run_chemprop(exe: str, data: Path, tasks: list[str], out: Path, epochs: int, seed: int):
    """Train chemprop; returns (test predictions DataFrame, wall seconds, epochs run)."""
    cmd = [
        exe, "train", "--data-path", str(data), "--task-type", "classification",
        "--smiles-columns", "smiles", "--target-columns", *tasks, "--splits-column", "split",
        "--epochs", str(epochs), "--pytorch-seed", str(seed), "--output-dir", str(out),
        "--accelerator", "cpu", "--devices", "1", "--num-workers", "0", "--metrics", "roc", "prc",
    ]  # fmt: skip
    t = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t
    preds = sorted(out.rglob("test_predictions.csv"))
    if not preds:
        raise SystemExit(f"chemprop wrote no test_predictions.csv under {out}")
    return pd.read_csv(preds[0]), seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results/tox21"))
    ap.add_argument("--split", default="random")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=50, help="chemprop's default is 50")
    ap.add_argument("--chemprop", default="chemprop", help="chemprop executable")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for chemprop")
    ap.add_argument("--workdir", type=Path, default=Path("benchmarks/out/chemprop"))
    ap.add_argument("--json", type=Path, default=None, help="write the table as JSON")
    args = ap.parse_args(argv)

    from molprobe.training.metrics import evaluate

    exe = shutil.which(args.chemprop)
    if exe is None:
        print(f"chemprop not found ({args.chemprop}): skipped. See this script's docstring.")
        return 0
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    molecules = pd.read_parquet(args.results / "data" / "molecules.parquet")
    skip = {"mol_id", "input_smiles", "smiles"}
    tasks = [c for c in molecules.columns if c not in skip]
    rows = []
    for seed in args.seeds:
        split_path = args.results / "splits" / args.split / f"seed{seed}.json"
        split = json.loads(split_path.read_text())
        work = args.workdir / args.split / f"seed{seed}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        data = chemprop_input(molecules, tasks, split)
        data.to_csv(work / "data.csv", index=False)
        pred, seconds = run_chemprop(exe, work / "data.csv", tasks, work / "run", args.epochs, seed)
        test = data[data["split"] == "test"].reset_index(drop=True)
        if pred["smiles"].tolist() != test["smiles"].tolist():
            raise SystemExit("chemprop's test predictions are not in the test split's order")
        ev = evaluate(test[tasks].to_numpy(float), pred[tasks].to_numpy(float), tasks,
                      n_bootstrap=200, seed=seed)  # fmt: skip
        rows.append(dict(model="chemprop (D-MPNN)", seed=seed, test_auc=ev.mean["roc_auc"],
                         ci_low=ev.mean_ci_low["roc_auc"], ci_high=ev.mean_ci_high["roc_auc"],
                         s_per_epoch=seconds / args.epochs, epochs=args.epochs))  # fmt: skip
        print(f"chemprop seed {seed}: test ROC-AUC {rows[-1]['test_auc']:.3f} "
              f"({seconds:.0f} s, {seconds / args.epochs:.1f} s/epoch)", flush=True)  # fmt: skip
        for metrics in sorted(
            (args.results / "models").glob(f"*/{args.split}/seed{seed}/metrics.json")
        ):
            m = json.loads(metrics.read_text())
            rows.append(dict(model=m["model"], seed=seed, test_auc=m["test"]["mean"]["roc_auc"],
                             ci_low=m["test"]["mean_ci_low"]["roc_auc"],
                             ci_high=m["test"]["mean_ci_high"]["roc_auc"],
                             s_per_epoch=m.get("seconds_per_epoch"), epochs=m.get("epochs_run")))  # fmt: skip
    table = pd.DataFrame(rows)
    print(f"\nTox21 {args.split} split, test mean ROC-AUC (molprobe metric code on both):")
    print(table.round(3).to_string(index=False))
    summary = table.groupby("model").agg(
        test_auc=("test_auc", "mean"), sd=("test_auc", "std"), seeds=("seed", "count"),
        s_per_epoch=("s_per_epoch", "mean"),
    )  # fmt: skip
    print(summary.sort_values("test_auc", ascending=False).round(3).to_string())
    if args.json:
        args.json.write_text(table.to_json(orient="records", indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
