"""The graph nets' two choices re-checked on validation (issue 20 item 3).

Arms (the rest is the family's settings in ``config/config.yaml`` and the defaults):

- ``A`` incumbent: features [graph, descriptors], ``lr_schedule=cosine``
- ``B`` no descriptor side channel: features [graph], ``lr_schedule=cosine``
- ``C`` no cosine: features [graph, descriptors], the TrainConfig default ``plateau``
- ``D`` graph only, longer: features [graph], ``lr_schedule=cosine``, 30 epochs
- ``E`` graph only, no cosine: features [graph], ``plateau``
- ``F`` graph only, longer, no cosine: features [graph], ``plateau``, 30 epochs (D's
  schedule question)

An arm's ``params`` override the family's (``epochs`` included: D's 30 replaces EPOCHS).

Each run is the workflow's ``train`` rule command (``molprobe train ... --threads 1``) on a
workflow directory holding ``results/{dataset}/data/molecules.parquet``,
``splits/{split}/seed{seed}.json`` and ``features/{graph.pt,descriptors.npz}``; outputs go
to ``--runs-dir/{model}_{arm}/{split}/seed{seed}/``. One row per (arm, split, seed) is
appended to ``--output`` (CSV: the **validation** mean ROC-AUC read from the ``valid`` key of
metrics.json, best epoch, wall and CPU seconds); rows already there are skipped, so an
interrupted study resumes. The test part of metrics.json is never read.

    python scripts/graph_choices.py --workdir /tmp/gine9 --arms A B C \
        --splits scaffold --seeds 0 1 2 --output /tmp/gine9/choices.csv
    python scripts/graph_choices.py --summarize /tmp/gine9/choices.csv
    python scripts/graph_choices.py --workdir /tmp/gine9 --model attentivefp \
        --splits scaffold random --runs-dir /tmp/afp10/choices --output /tmp/afp10/choices.csv

``--summarize`` prints the pre-registered comparison against ``--reference`` (default A):
per factor (A: B vs A, C vs A; B: D vs B, E vs B; D: F vs D) the paired difference (alternative -
reference) per (split, seed), its mean and 95 % t interval per split and over all completed
pairs, and the verdict. A same-cost alternative is adopted when its mean is at most 0.002
below the reference's over all completed pairs; a costlier one (D, 1.5x the epochs) when its
mean is at least 0.002 above and neither split's mean is negative; else the reference is kept.

    python scripts/graph_choices.py --workdir /tmp/afp11 --model attentivefp --arms B D E \
        --splits scaffold random --output /tmp/afp11/choices.csv
    python scripts/graph_choices.py --summarize /tmp/afp11/choices.csv --reference B
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import pandas as pd
from choice_study import append_row, gains_enough, paired, timed_command

#: family -> the epochs its studies ran with (config/config.yaml's at the time; AttentiveFP has
#: trained 30 since arm D was adopted, so arm B keeps the study's 20)
EPOCHS = {"gine": 30, "attentivefp": 20}
ARMS: dict[str, dict] = {
    "A": {"features": ["graph", "descriptors"], "params": {"lr_schedule": "cosine"}},
    "B": {"features": ["graph"], "params": {"lr_schedule": "cosine"}},
    "C": {"features": ["graph", "descriptors"], "params": {"lr_schedule": "plateau"}},
    "D": {"features": ["graph"], "params": {"lr_schedule": "cosine", "epochs": 30}},
    "E": {"features": ["graph"], "params": {"lr_schedule": "plateau"}},
    "F": {"features": ["graph"], "params": {"lr_schedule": "plateau", "epochs": 30}},
}
FEATURE_FILES = {"graph": "graph.pt", "descriptors": "descriptors.npz"}
COLUMNS = [
    "model", "arm", "split", "seed", "valid_mean_roc_auc", "best_epoch", "epochs_run",
    "wall_s", "cpu_s", "started_utc",
]  # fmt: skip


def done_rows(path: Path) -> set[tuple[str, str, str, str]]:
    """(model, arm, split, seed) already in the CSV."""
    if not path.exists():
        return set()
    with path.open() as fh:
        return {(r["model"], r["arm"], r["split"], r["seed"]) for r in csv.DictReader(fh)}


def run_one(args, arm: str, split: str, seed: int) -> dict:
    """Train one arm on one split and seed with the workflow's command; its validation row."""
    out = Path(args.runs_dir) / f"{args.model}_{arm}" / split / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    timing = timed_command(train_command(args, arm, split, seed, out), out / "train.log")
    metrics = json.loads((out / "metrics.json").read_text())
    valid = metrics["valid"]  # validation only; the test key is never read
    return {
        "model": args.model, "arm": arm, "split": split, "seed": seed,
        "valid_mean_roc_auc": round(float(valid["mean"]["roc_auc"]), 5),
        "best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"],
        **timing,
    }  # fmt: skip


def train_command(args, arm: str, split: str, seed: int, out: Path) -> list[str]:
    """The workflow's ``molprobe train`` command of one arm, split and seed (outputs to
    ``out``); the arm's params override the family's (``epochs`` included)."""
    data = Path(args.workdir) / "results" / args.dataset
    spec = ARMS[arm]
    params = {"epochs": EPOCHS[args.model], **spec["params"]}
    cmd = ["molprobe", "train", "--model", args.model]
    cmd += ["--molecules", str(data / "data" / "molecules.parquet")]
    cmd += ["--split", str(data / "splits" / split / f"seed{seed}.json")]
    for f in spec["features"]:
        cmd += ["--features", str(data / "features" / FEATURE_FILES[f])]
    cmd += ["--task-type", "classification", "--params", json.dumps(params)]
    cmd += ["--standardize-summary", str(data / "data" / "standardize.json")]
    cmd += ["--seed", str(seed), "--threads", "1", "--device", "cpu", "--output-dir", str(out)]
    return cmd


#: the simpler alternative wins when at most this much below the incumbent (ROC-AUC); a
#: costlier one must be at least this much above it
TIE = 0.002
#: reference arm -> (alternative, what the reference has that the alternative changes, costlier?)
COMPARISONS: dict[str, list[tuple[str, str, bool]]] = {
    "A": [("B", "descriptor side channel", False), ("C", "cosine schedule", False)],
    "B": [("D", "20 epochs", True), ("E", "cosine schedule", False)],
    "D": [("F", "cosine schedule", False)],
}


def adopted(res: pd.DataFrame, costlier: bool) -> bool:
    """Whether the alternative passes the rule on ``paired`` output (ROC-AUC differences)."""
    if costlier:
        return gains_enough(res, TIE)
    return res[res["split"] == "all"].iloc[0]["diff"] >= -TIE


def summarize(path: str, reference: str = "A") -> int:
    """Print the runs (validation only), the paired differences and the verdicts against
    the ``reference`` arm."""
    table = pd.read_csv(path)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    print(table.groupby("arm")[["wall_s", "cpu_s", "epochs_run"]].mean().round(1))
    for alt, choice, costlier in COMPARISONS[reference]:
        res = paired(table, alt, reference)
        if res.empty:
            continue
        print(res.round(4).to_string(index=False))
        pairs = res[res["split"] == "all"].iloc[0]["pairs"]
        keep = not adopted(res, costlier)
        print(
            f"verdict {alt} vs {reference} ({pairs} pairs): "
            + (f"keep the {choice}" if keep else f"drop the {choice} (arm {alt})")
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--summarize", metavar="CSV", help="print the comparison of a CSV and exit")
    p.add_argument("--reference", default="A", choices=sorted(COMPARISONS), help="incumbent arm")
    p.add_argument("--workdir", help="workflow directory with results/")
    p.add_argument("--dataset", default="tox21")
    p.add_argument("--model", default="gine", choices=sorted(EPOCHS))
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--splits", nargs="+", default=["scaffold"], choices=["scaffold", "random"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--runs-dir", help="run outputs (default: WORKDIR/choices)")
    p.add_argument("--output", help="CSV of validation means (appended)")
    args = p.parse_args(argv)
    if args.summarize:
        return summarize(args.summarize, args.reference)
    if not (args.workdir and args.output):
        p.error("--workdir and --output are required for runs")
    args.runs_dir = args.runs_dir or os.path.join(args.workdir, "choices")
    output = Path(args.output)
    done = done_rows(output)
    for split in args.splits:
        for seed in args.seeds:
            for arm in args.arms:
                if (args.model, arm, split, str(seed)) in done:
                    continue
                append_row(output, run_one(args, arm, split, seed), COLUMNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
