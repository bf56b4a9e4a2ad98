"""The screening student's teachers and unlabeled sample size, chosen on validation (issue 19
item 1).

Arms (the rest is ``fnn_bn_fast``'s settings in ``config/config.yaml`` and the defaults):

- ``W`` incumbent: teachers [snn, fnn_bn], ``distill.max_unlabeled`` 8000
- ``G`` GINE joins the teachers: [snn, fnn_bn, gine], 8000
- ``U`` more unlabeled structures: the teachers of ``--u-teachers`` (W's or G's), 24000
- ``T3`` today's teachers [snn, fnn_bn, gine_pretrained], 8000 (the incumbent of T5 and T3U)
- ``T5`` the whole neural ensemble [snn, fnn_bn, gine, attentivefp, gine_pretrained], 8000
- ``T3U`` T3's teachers on 24000 structures (the default since session 16; the incumbent of T5U)
- ``T5U`` T5's teachers on 24000 structures (session 17, rule 7)

Each run is the workflow's ``train_distilled`` rule command (``molprobe distill ...
--threads 1``) on a workflow directory holding ``results/{dataset}/data/`` (molecules.parquet,
standardize.json), ``splits/{split}/seed{seed}.json``, ``results/{muv,hiv}/data/molecules.parquet``
and the teachers' split runs ``results/{dataset}/models/{family}/{split}/seed{seed}/``;
outputs go to ``--runs-dir/{arm}/{split}/seed{seed}/``. One row per (arm, split, seed) is
appended to ``--output`` (CSV: the **validation** mean ROC-AUC read from the ``valid`` key of
metrics.json, best epoch, the student's training seconds, wall and CPU seconds of the whole
command); rows already there are skipped, so an interrupted study resumes. ``--import-runs
ARM DIR`` adds rows of runs made elsewhere (``DIR/{split}/seed{seed}/metrics.json``, no
wall/CPU). The test part of metrics.json is never read.

    python scripts/student_choices.py --workdir /tmp/stu10/wf --arms G \
        --splits scaffold random --output /tmp/stu10/choices.csv
    python scripts/student_choices.py --summarize /tmp/stu10/choices.csv

``--summarize`` prints the pre-registered comparisons: G vs W, U vs its 8000-structure
counterpart (``--u-teachers``' arm), T5 and T3U vs T3, T5U vs T3U: the paired difference (alternative - incumbent) per
(split, seed), its mean and 95 % t interval per split and over all completed pairs; the
alternative (it costs training time) is adopted when its mean over all completed pairs is
>= +0.002 and neither split's mean is negative, else the incumbent is kept.
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

STUDENT = "fnn_bn_fast"
#: config/config.yaml: models: fnn_bn_fast (features with `featurizers:` params, params)
FEATURIZERS = [
    {"name": "ecfp", "radius": 2, "n_bits": 2048, "counts": False},
    {"name": "descriptors_fast"},
]
PARAMS = ["epochs=30"]
T3 = ["snn", "fnn_bn", "gine_pretrained"]
T5 = ["snn", "fnn_bn", "gine", "attentivefp", "gine_pretrained"]
TEACHERS = {
    "W": ["snn", "fnn_bn"], "G": ["snn", "fnn_bn", "gine"],
    # session 16 (rules 4 and 5): today's teachers, the whole neural ensemble, T3 on 24,000
    "T3": T3, "T5": T5, "T3U": T3,
    "T5U": T5,  # session 17 (rule 7): the whole neural ensemble on 24,000
}  # fmt: skip
MAX_UNLABELED = {"W": 8000, "G": 8000, "U": 24000, "T3": 8000, "T5": 8000, "T3U": 24000,
                 "T5U": 24000}  # fmt: skip
#: (alternative, incumbent) pairs judged by --summarize
COMPARISONS = [("G", "W"), ("U", None), ("T5", "T3"), ("T3U", "T3"), ("T5U", "T3U")]
UNLABELED = ["muv", "hiv"]
COLUMNS = [
    "arm", "teachers", "max_unlabeled", "split", "seed", "valid_mean_roc_auc", "best_epoch",
    "epochs_run", "train_s", "wall_s", "cpu_s", "started_utc",
]  # fmt: skip
#: the alternative must gain at least this much (ROC-AUC) to be adopted
GAIN = 0.002


def done_rows(path: Path) -> set[tuple[str, str, str]]:
    """(arm, split, seed) already in the CSV."""
    if not path.exists():
        return set()
    with path.open() as fh:
        return {(r["arm"], r["split"], r["seed"]) for r in csv.DictReader(fh)}


def teachers_of(args, arm: str) -> list[str]:
    return TEACHERS[args.u_teachers if arm == "U" else arm]


def valid_row(arm: str, teachers: list[str], split: str, seed: int, metrics: dict) -> dict:
    """The CSV row of one run's metrics.json: validation only (the test key is never read)."""
    valid = metrics["valid"]
    return {
        "arm": arm, "teachers": "+".join(teachers), "max_unlabeled": MAX_UNLABELED[arm],
        "split": split, "seed": seed,
        "valid_mean_roc_auc": round(float(valid["mean"]["roc_auc"]), 5),
        "best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"],
        "train_s": round(float(metrics["seconds"]), 1),
    }  # fmt: skip


def run_one(args, arm: str, split: str, seed: int) -> dict:
    """Distil one arm on one split and seed with the workflow's command; its validation row."""
    root = Path(args.workdir) / "results"
    data = root / args.dataset
    run = f"{split}/seed{seed}"
    out = Path(args.runs_dir) / arm / split / f"seed{seed}"
    out.mkdir(parents=True, exist_ok=True)
    teachers = teachers_of(args, arm)
    cmd = ["molprobe", "distill", "--molecules", str(data / "data" / "molecules.parquet")]
    cmd += ["--split", str(data / "splits" / f"{run}.json"), "--unlabeled"]
    cmd += [str(root / u / "data" / "molecules.parquet") for u in UNLABELED]
    cmd += ["--model", STUDENT, "--teacher"]
    cmd += [str(data / "models" / t / run) for t in teachers]
    for spec in FEATURIZERS:
        cmd += ["--featurizer", json.dumps(spec)]
    cmd += ["--max-unlabeled", str(MAX_UNLABELED[arm]), "--params", *PARAMS]
    cmd += ["--name", STUDENT, "--standardize-summary", str(data / "data" / "standardize.json")]
    cmd += ["--seed", str(seed), "--threads", "1", "--device", "cpu", "--output-dir", str(out)]
    timing = timed_command(cmd, out / "distill.log")
    row = valid_row(arm, teachers, split, seed, json.loads((out / "metrics.json").read_text()))
    return {**row, **timing}


def summarize(path: str, u_teachers: str) -> int:
    """Print the runs (validation only), the paired differences and the verdicts."""
    table = pd.read_csv(path)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False))
    print(table.groupby("arm")[["train_s", "wall_s", "cpu_s", "best_epoch"]].mean().round(1))
    for alt, base in COMPARISONS:
        base = base or u_teachers
        res = paired(table, alt, base)
        if res.empty:
            continue
        print(res.round(4).to_string(index=False))
        n = int(res[res["split"] == "all"].iloc[0]["pairs"])
        # session 16's and 17's rules (T5, T3U, T5U) also want the 95 % interval above 0
        choice = alt if gains_enough(res, GAIN, interval=alt.startswith("T")) else base
        print(f"verdict {alt} vs {base} ({n} pairs): adopt {choice}")
    return 0


def import_runs(args, arm: str, directory: str, output: Path) -> None:
    """Rows of runs made elsewhere (DIR/{split}/seed{seed}/metrics.json), no wall/CPU."""
    done = done_rows(output)
    for split in args.splits:
        for seed in args.seeds:
            path = Path(directory) / split / f"seed{seed}" / "metrics.json"
            if (arm, split, str(seed)) in done or not path.exists():
                continue
            row = valid_row(arm, teachers_of(args, arm), split, seed, json.loads(path.read_text()))
            append_row(output, {**row, "wall_s": "", "cpu_s": "", "started_utc": ""}, COLUMNS)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--summarize", metavar="CSV", help="print the comparison of a CSV and exit")
    p.add_argument("--import-runs", nargs=2, metavar=("ARM", "DIR"),
                   help="add the validation rows of an arm's runs made elsewhere")  # fmt: skip
    p.add_argument("--workdir", help="workflow directory with results/")
    p.add_argument("--dataset", default="tox21")
    p.add_argument("--arms", nargs="+", default=["G"], choices=list(MAX_UNLABELED))
    p.add_argument("--u-teachers", default="W", choices=list(TEACHERS),
                   help="the teacher set (arm) U uses and is compared with")  # fmt: skip
    p.add_argument("--splits", nargs="+", default=["scaffold"], choices=["scaffold", "random"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--runs-dir", help="run outputs (default: WORKDIR/choices)")
    p.add_argument("--output", help="CSV of validation means (appended)")
    args = p.parse_args(argv)
    if args.summarize:
        return summarize(args.summarize, args.u_teachers)
    if not args.output:
        p.error("--output is required")
    output = Path(args.output)
    if args.import_runs:
        import_runs(args, *args.import_runs, output)
        return 0
    if not args.workdir:
        p.error("--workdir is required for runs")
    args.runs_dir = args.runs_dir or os.path.join(args.workdir, "choices")
    for split in args.splits:
        for seed in args.seeds:
            for arm in args.arms:
                if (arm, split, str(seed)) not in done_rows(output):
                    append_row(output, run_one(args, arm, split, seed), COLUMNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
