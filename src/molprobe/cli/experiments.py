"""CLI: `molprobe depth-table` — the depth experiment (SNN vs FNN-BN at several depths)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError
from molprobe.fileio import atomic_path


def register(sub) -> None:
    p = sub.add_parser(
        "depth-table",
        help="collect the depth experiment's metrics.json into model x depth x split rows",
    )
    p.add_argument("root", type=Path, help="folder holding {model}/depth{n}/{split}/seed{s}/")
    p.add_argument("--output", type=Path, required=True, help="depth.csv")
    p.set_defaults(func=cmd_depth_table)


def depth_runs(root: Path) -> pd.DataFrame:
    """One row per run: family, depth, split, seed, test mean metric (+ its bootstrap CI)."""
    rows = []
    for path in sorted(root.glob("*/depth*/*/seed*/metrics.json")):
        m = json.loads(path.read_text())
        key = "roc_auc" if m.get("task_type", "classification") == "classification" else "rmse"
        test = m["test"]
        rows.append(
            {
                "family": path.parts[-5],
                "depth": int(path.parts[-4].removeprefix("depth")),
                "split": path.parts[-3],
                "seed": int(path.parts[-2].removeprefix("seed")),
                "metric": key,
                "value": test["mean"][key],
                "ci_low": test.get("mean_ci_low", {}).get(key, np.nan),
                "ci_high": test.get("mean_ci_high", {}).get(key, np.nan),
                "epochs_run": m.get("epochs_run"),
            }
        )
    if not rows:
        raise MolprobeError(f"{root}: no depth-experiment metrics.json found")
    return pd.DataFrame(rows)


def depth_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per family × split × depth; `model` labels the plot line,
    `drop_from_best` is how far each depth falls below that line's best depth."""
    g = runs.groupby(["family", "split", "depth", "metric"], as_index=False)
    table = g.agg(
        mean=("value", "mean"),
        std=("value", "std"),
        n_seeds=("seed", "nunique"),
        ci_low=("ci_low", "mean"),
        ci_high=("ci_high", "mean"),
    )
    table["model"] = table["family"] + " (" + table["split"] + ")"
    higher_better = table["metric"].iloc[0] != "rmse"
    best = table.groupby("model")["mean"].transform("max" if higher_better else "min")
    table["drop_from_best"] = (best - table["mean"]) if higher_better else (table["mean"] - best)
    if (table["n_seeds"] > 1).any():  # with several seeds the band is the seed spread
        table = table.drop(columns=["ci_low", "ci_high"])
    else:
        table = table.drop(columns=["std"])
    return table.sort_values(["family", "split", "depth"]).reset_index(drop=True)


def cmd_depth_table(args: argparse.Namespace) -> int:
    table = depth_table(depth_runs(args.root))
    with atomic_path(args.output) as tmp:
        table.to_csv(tmp, index=False)
    for model, d in table.groupby("model"):
        worst = d.loc[d["drop_from_best"].idxmax()]
        print(
            f"{model}: best {d['mean'].max():.3f}; at depth {int(worst['depth'])} "
            f"{worst['drop_from_best']:.3f} below its best"
        )
    return 0
