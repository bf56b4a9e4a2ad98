"""Shared pieces of the validation-choice drivers (``graph_choices.py``, ``student_choices.py``):
one timed workflow command per run, the CSV row it appends, the paired comparison of two arms' validation means
and the rule a costlier alternative must pass.
"""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats


def timed_command(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` (output to ``log``; a non-zero exit raises) and return its ``wall_s``,
    ``cpu_s`` (user + system of the command's process tree, seconds) and ``started_utc``."""
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with log.open("w") as fh:
        subprocess.run(cmd, check=True, stdout=fh, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "started_utc": started}


def append_row(output: Path, row: dict, columns: list[str]) -> None:
    """Append ``row`` to the CSV ``output`` (header first when the file is new) and print it."""
    new = not output.exists()
    with output.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(json.dumps(row), flush=True)


def paired(table: pd.DataFrame, alt: str, base: str) -> pd.DataFrame:
    """Per split and overall: pairs n, mean (and std) valid ROC-AUC of ``base`` and ``alt``,
    mean difference ``diff`` (alt - base) and its 95 % t interval (NaN below 2 pairs).
    ``table``: one row per run with ``arm``, ``split``, ``seed``, ``valid_mean_roc_auc``."""
    wide = table.pivot_table(index=["split", "seed"], columns="arm", values="valid_mean_roc_auc")
    if alt not in wide or base not in wide:
        return pd.DataFrame()
    wide = wide[[base, alt]].dropna()
    groups = [(s, g) for s, g in wide.groupby(level="split")] + [("all", wide)]
    rows = []
    for split, g in groups:
        d = g[alt] - g[base]
        n = len(d)
        half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        rows.append({
            "comparison": f"{alt} vs {base}", "split": split, "pairs": n,
            "mean_base": g[base].mean(), "std_base": g[base].std(ddof=1),
            "mean_alt": g[alt].mean(), "std_alt": g[alt].std(ddof=1), "diff": d.mean(),
            "ci_low": d.mean() - half, "ci_high": d.mean() + half,
        })  # fmt: skip
    return pd.DataFrame(rows)


def gains_enough(res: pd.DataFrame, gain: float, interval: bool = False) -> bool:
    """The rule for a costlier alternative on `paired` output: its mean difference over all
    pairs is at least ``gain`` (ROC-AUC) and no split's mean difference is negative; with
    ``interval``, also the overall 95 % t interval above 0."""
    overall = res[res["split"] == "all"].iloc[0]
    per_split = res[res["split"] != "all"]["diff"]
    above = overall["ci_low"] > 0 if interval else True
    return bool(overall["diff"] >= gain and (per_split >= 0).all() and above)
