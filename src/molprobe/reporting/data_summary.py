"""Data-stage summaries for the report: dataset size, labels per task, the standardization
ledger, split sizes with Bemis–Murcko scaffold counts, example molecules, and the headline
numbers of the summary page. Pure functions on tables and dicts; no file access."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from molprobe.chem.splits import murcko_scaffold
from molprobe.chem.standardize import MOLECULE_ID_COLUMNS as ID_COLUMNS
from molprobe.errors import MolprobeError

PARTS = ("train", "valid", "test")


def task_columns(molecules: pd.DataFrame, summary: Mapping | None = None) -> list[str]:
    """Task columns: those recorded in standardize.json, else every numeric non-id column."""
    if summary and summary.get("task_columns"):
        tasks = [t for t in summary["task_columns"] if t in molecules.columns]
        if tasks:
            return tasks
    return [
        c
        for c in molecules.columns
        if c not in ID_COLUMNS and pd.api.types.is_numeric_dtype(molecules[c])
    ]


def is_classification(values: pd.Series) -> bool:
    """True when every measured value is 0 or 1."""
    v = values.dropna().to_numpy(dtype=float)
    return bool(len(v)) and bool(np.isin(v, (0.0, 1.0)).all())


def task_balance(molecules: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """One row per task: n_measured, n_positive, n_negative, n_missing, percent_positive
    (of the measured molecules). Regression tasks get mean and std instead of positives."""
    rows = []
    for task in tasks:
        col = molecules[task].astype(float)
        measured = int(col.notna().sum())
        row = {"task": task, "n_measured": measured, "n_missing": int(col.isna().sum())}
        if is_classification(col):
            pos = int((col == 1).sum())
            row.update(n_positive=pos, n_negative=measured - pos,
                       percent_positive=100.0 * pos / measured if measured else float("nan"))  # fmt: skip
        else:
            row.update(n_positive=np.nan, n_negative=np.nan, percent_positive=np.nan,
                       mean=float(col.mean()), std=float(col.std()))  # fmt: skip
        rows.append(row)
    cols = ["task", "n_measured", "n_positive", "n_negative", "n_missing", "percent_positive"]
    out = pd.DataFrame(rows)
    return out[cols + [c for c in out.columns if c not in cols]]


def ledger_table(summary: Mapping) -> pd.DataFrame:
    """Where the input rows went (from standardize.json): outcome, kind, count, percent of
    input. Kinds: 'input', 'kept', 'merged' (duplicates folded into a kept molecule),
    'rejected' (one row per reason, most frequent first)."""
    try:
        n_in = int(summary["n_in"])
        rows = [("input rows", "input", n_in), ("kept", "kept", int(summary["n_kept"]))]
        rows.append(("merged duplicates", "merged", int(summary.get("n_merged", 0))))
        reasons = dict(summary.get("reasons") or {})
    except (KeyError, TypeError, ValueError) as err:
        raise MolprobeError(f"standardize summary lacks {err}; not a standardize.json?") from None
    for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        rows.append((f"rejected: {reason}", "rejected", int(count)))
    df = pd.DataFrame(rows, columns=["outcome", "kind", "count"])
    df["percent_of_input"] = 100.0 * df["count"] / n_in if n_in else np.nan
    return df


def split_table(smiles: Sequence[str], splits: Sequence[Mapping]) -> pd.DataFrame:
    """Sizes and scaffold counts of each split (split JSON dicts: method, seed, train, valid,
    test as row positions).

    Columns: method, seed, part, n_molecules, percent, n_scaffolds (distinct Bemis–Murcko
    scaffolds; acyclic molecules share the empty scaffold), n_scaffolds_in_train (how many of
    this part's scaffolds also occur in train: 0 for a clean scaffold split)."""
    scaffolds = np.array([murcko_scaffold(s) for s in smiles], dtype=object)
    n = len(scaffolds)
    rows = []
    for split in splits:
        try:
            parts = {p: np.asarray(split[p], dtype=np.int64) for p in PARTS}
            method, seed = str(split["method"]), int(split["seed"])
        except (KeyError, TypeError, ValueError) as err:
            raise MolprobeError(f"split file lacks {err}") from None
        for p, idx in parts.items():
            if len(idx) and (idx.min() < 0 or idx.max() >= n):
                raise MolprobeError(
                    f"{method} seed {seed}: {p} holds row {idx.max()} but there are {n} molecules"
                )
        train_scaffolds = set(scaffolds[parts["train"]])
        for p, idx in parts.items():
            part_scaffolds = set(scaffolds[idx])
            rows.append(
                {
                    "method": method,
                    "seed": seed,
                    "part": p,
                    "n_molecules": len(idx),
                    "percent": 100.0 * len(idx) / n if n else np.nan,
                    "n_scaffolds": len(part_scaffolds),
                    "n_scaffolds_in_train": len(part_scaffolds & train_scaffolds)
                    if p != "train"
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def example_molecules(
    molecules: pd.DataFrame, tasks: Sequence[str], n: int = 12, seed: int = 0
) -> pd.DataFrame:
    """A reproducible sample of ``n`` molecules (mol_id, smiles, legend); half of them, when
    available, active in at least one task. The legend names the molecule and its active tasks."""
    rng = np.random.default_rng(seed)
    if len(molecules) == 0:
        return pd.DataFrame(columns=["mol_id", "smiles", "legend"])
    labels = molecules[list(tasks)].astype(float) if tasks else pd.DataFrame(index=molecules.index)
    active = (labels == 1).any(axis=1).to_numpy() if tasks else np.zeros(len(molecules), bool)
    act_idx, other_idx = np.flatnonzero(active), np.flatnonzero(~active)
    k_act = min(len(act_idx), n // 2)
    chosen = list(rng.choice(act_idx, k_act, replace=False)) if k_act else []
    k_other = min(len(other_idx), n - k_act)
    chosen += list(rng.choice(other_idx, k_other, replace=False)) if k_other else []
    chosen = sorted(int(i) for i in chosen)
    legends = []
    for i in chosen:
        hits = [t for t in tasks if labels.iloc[i][t] == 1] if tasks else []
        tag = (
            ", ".join(hits[:3]) + (" …" if len(hits) > 3 else "")
            if hits
            else "inactive / unlabelled"
        )
        legends.append(f"{molecules['mol_id'].iloc[i]}: {tag}")
    return pd.DataFrame({"mol_id": molecules["mol_id"].iloc[chosen].to_numpy(),
                         "smiles": molecules["smiles"].iloc[chosen].to_numpy(), "legend": legends})  # fmt: skip


def rejected_examples(rejected: pd.DataFrame, n: int = 12) -> pd.DataFrame:
    """Up to ``n`` rejected inputs, taking reasons in turn so every reason is shown.
    Columns: row, input, reason, legend."""
    if rejected.empty:
        return pd.DataFrame(columns=["row", "input", "reason", "legend"])
    groups = [g for _, g in rejected.groupby("reason", sort=True)]
    picked = []
    depth = 0
    while len(picked) < n and any(depth < len(g) for g in groups):
        for g in groups:
            if depth < len(g) and len(picked) < n:
                picked.append(g.iloc[depth])
        depth += 1
    out = pd.DataFrame(picked)[["row", "input", "reason"]].reset_index(drop=True)
    out["legend"] = [
        f"row {r}: {reason}" for r, reason in zip(out["row"], out["reason"], strict=True)
    ]
    return out


@dataclass(frozen=True)
class DatasetHeadline:
    """The headline numbers of one dataset for the summary page."""

    dataset: str
    n_in: int
    n_kept: int
    n_rejected: int
    n_merged: int
    n_tasks: int
    task_type: str
    n_labels: int  # measured (molecule, task) pairs
    percent_positive: float  # of measured labels (classification), NaN otherwise
    splits: str  # e.g. "random, scaffold × seeds 0, 1, 2"


def dataset_headline(
    dataset: str, summary: Mapping, balance: pd.DataFrame, splits: pd.DataFrame
) -> DatasetHeadline:
    """Collect the headline numbers of one dataset from its summaries."""
    pos = balance["n_positive"].sum(min_count=1)
    measured = balance["n_measured"].sum()
    methods = ", ".join(dict.fromkeys(splits["method"])) if len(splits) else "none"
    seeds = ", ".join(str(s) for s in sorted(set(splits["seed"]))) if len(splits) else ""
    return DatasetHeadline(
        dataset=dataset,
        n_in=int(summary["n_in"]),
        n_kept=int(summary["n_kept"]),
        n_rejected=int(summary["n_rejected"]),
        n_merged=int(summary.get("n_merged", 0)),
        n_tasks=len(balance),
        task_type=str(summary.get("task_type", "classification")),
        n_labels=int(measured),
        percent_positive=100.0 * float(pos) / measured
        if measured and pd.notna(pos)
        else float("nan"),
        splits=f"{methods} × seeds {seeds}" if seeds else methods,
    )


def overview_table(h: DatasetHeadline) -> pd.DataFrame:
    """The dataset overview as a two-column table (quantity, value)."""
    rows = [
        ("input rows", h.n_in),
        ("molecules kept", h.n_kept),
        ("rejected rows", h.n_rejected),
        ("duplicates merged", h.n_merged),
        ("tasks", h.n_tasks),
        ("task type", h.task_type),
        ("measured labels (molecule × task)", h.n_labels),
        (
            "positive labels (%)",
            "–" if np.isnan(h.percent_positive) else f"{h.percent_positive:.1f}",
        ),
        ("splits", h.splits),
    ]
    return pd.DataFrame({"quantity": [r[0] for r in rows], "value": [str(r[1]) for r in rows]})
