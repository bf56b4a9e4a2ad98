"""Which members the default ensemble has, chosen on validation (issue 20 item 3).

The ensemble of ``--base`` families (equal weights, :func:`molprobe.training.compare.ensemble_runs`,
the library path of ``molprobe compare --ensemble``) against arms that add or drop members:
``--arm LABEL=+a,+b,-c``. Members are the split runs ``MODELS_DIR/{family}/{split}/seed{seed}/``
(metrics.json, predictions.parquet, valid_predictions.parquet); ``--runs NAME=DIR`` adds runs
made elsewhere (``DIR/{split}/seed{seed}/``) under the member name NAME, e.g. students of
``student_choices.py``.

    python scripts/ensemble_choices.py --models-dir results/tox21/models \
        --base snn fnn_bn gine attentivefp rf gine_pretrained \
        --runs student=choices/T3U --arm plus_student=+student

Prints each arm's **validation** ensemble mean ROC-AUC per (split, seed), the paired
difference (arm - base) per split and over all pairs with its 95 % t interval, and the verdict
of the pre-registered rule (sessions 15-17): an arm is adopted when its mean gain over all
pairs is >= +0.002, the interval is above 0 and neither split's mean is negative. ``--test``
also prints the same table on the test split: read it once, after the decision.

A one-member base and arms compare families (the same rule at family level; session 18):

    python scripts/ensemble_choices.py --models-dir results/tox21/models \
        --base gine_pretrained --arm e30=+gpt_e30,-gine_pretrained
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from choice_study import gains_enough, paired

from molprobe.training.compare import collect_metrics, ensemble_runs

#: the arm must gain at least this much (ROC-AUC) to be adopted
GAIN = 0.002


def parse_arm(text: str, base: list[str]) -> tuple[str, list[str]]:
    """``LABEL=+a,-b`` -> (LABEL, base with a added and b dropped)."""
    label, _, changes = text.partition("=")
    members = list(base)
    for change in filter(None, changes.split(",")):
        sign, name = change[0], change[1:]
        if sign == "+" and name not in members:
            members.append(name)
        elif sign == "-" and name in members:
            members.remove(name)
        else:
            raise SystemExit(f"--arm {text}: {change!r} is not +member (new) or -member (present)")
    if not label or members == base or not members:
        raise SystemExit(f"--arm {text}: needs LABEL=+member or -member and a member left")
    return label, members


def member_runs(
    models_dir: Path, names: set[str], extra: dict[str, Path], part: str
) -> pd.DataFrame:
    """ROC-AUC rows of every split run of ``names`` (``extra`` runs renamed to their key)."""
    files = [f for f in sorted(models_dir.glob("*/*/seed*/metrics.json")) if f.parts[-4] in names]
    renamed = {}
    for name, directory in extra.items():
        for f in sorted(directory.glob("*/seed*/metrics.json")):
            files.append(f)
            renamed[str(f.parent)] = name
    runs = collect_metrics(files, metric="roc_auc", part=part)
    runs["name"] = [renamed.get(p, n) for p, n in zip(runs["path"], runs["name"], strict=True)]
    return runs


def ensemble_table(runs: pd.DataFrame, arms: dict[str, list[str]], part: str) -> pd.DataFrame:
    """One row per (arm, split, seed) with every member present: the ensemble's mean ROC-AUC
    in ``valid_mean_roc_auc`` (the column ``paired`` reads, whatever ``part``)."""
    rows = []
    for arm, members in arms.items():
        scored = ensemble_runs(runs, members, n_bootstrap=0, part=part, min_members=1)
        if scored.empty:
            continue
        for _, r in scored[scored["name"] == "ensemble"].iterrows():
            if len(r["path"].split(";")) == len(members):
                rows.append({"arm": arm, "split": r["split"], "seed": r["seed"],
                             "valid_mean_roc_auc": r["value"]})  # fmt: skip
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, arms: dict[str, list[str]], part: str) -> list[str]:
    """Print the table and the paired comparisons; the verdict lines (validation only)."""
    print(f"== {part}")
    wide = table.pivot_table(index=["split", "seed"], columns="arm", values="valid_mean_roc_auc")
    print(wide.round(4).to_string())
    verdicts = []
    for arm in arms:
        if arm == "base":
            continue
        res = paired(table, arm, "base")
        if res.empty:
            print(f"{arm}: no complete pairs")
            continue
        print(res.round(4).to_string(index=False))
        if part == "valid":
            n = int(res[res["split"] == "all"].iloc[0]["pairs"])
            choice = arm if gains_enough(res, GAIN, interval=True) else "base"
            verdicts.append(f"verdict {arm} vs base ({n} pairs): adopt {choice}")
            print(verdicts[-1])
    return verdicts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, required=True, help="results/{dataset}/models")
    p.add_argument("--base", nargs="+", required=True, help="the incumbent ensemble's members")
    p.add_argument("--arm", action="append", default=[], required=True,
                   help="LABEL=+member,-member (repeatable)")  # fmt: skip
    p.add_argument("--runs", action="append", default=[], metavar="NAME=DIR",
                   help="runs made elsewhere: DIR/{split}/seed{seed}/, member NAME")  # fmt: skip
    p.add_argument("--test", action="store_true", help="also print the test split (after the decision)")  # fmt: skip
    args = p.parse_args(argv)
    extra = {n: Path(d) for n, _, d in (r.partition("=") for r in args.runs)}
    arms = {"base": list(args.base), **dict(parse_arm(a, args.base) for a in args.arm)}
    names = {m for members in arms.values() for m in members} - set(extra)
    for part in ["valid"] + (["test"] if args.test else []):
        runs = member_runs(args.models_dir, names, extra, part)
        report(ensemble_table(runs, arms, part), arms, part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
