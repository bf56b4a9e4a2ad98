"""The records a training run writes beside its model: the split it used, metrics.json and
the prediction tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from molprobe.training.data import Split
from molprobe.training.metrics import Evaluation


def split_record(
    split_info: Mapping[str, Any], split_json: Mapping[str, Any], split: Split
) -> dict:
    """The split a run used, as metrics.json and meta.json store it: name, path, method, seed
    and the sizes of its three parts (molecules)."""
    return {
        **split_info,
        "method": split_json.get("method"),
        "seed": split_json.get("seed"),
        "n_train": int(len(split.train)),
        "n_valid": int(len(split.valid)),
        "n_test": int(len(split.test)),
    }


def run_metrics(
    name: str, model: str, params: Any, split: Mapping[str, Any], seed: int, task_type: str,
    result: Any, test: Evaluation, valid: Evaluation,
) -> dict:  # fmt: skip
    """metrics.json of a split run: what was trained, how long it ran, and its test and
    validation evaluations."""
    return {
        "name": name,
        "model": model,
        "hyperparameters": dataclasses.asdict(params),
        "split": dict(split),
        "seed": seed,
        "task_type": task_type,
        "device": result.device,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "seconds": result.seconds,
        "seconds_per_epoch": result.seconds_per_epoch,
        "test": test.to_dict(),
        "valid": valid.to_dict(),
    }


def predictions_frame(
    mols: pd.DataFrame, rows: np.ndarray, tasks: list[str], pred: np.ndarray, Y: np.ndarray
) -> pd.DataFrame:
    """mol_id, smiles, then per task its prediction and ``<task>_true`` for ``rows``."""
    out = {"mol_id": mols["mol_id"].to_numpy()[rows], "smiles": mols["smiles"].to_numpy()[rows]}
    for t, task in enumerate(tasks):
        out[task] = pred[:, t]
        out[f"{task}_true"] = Y[rows, t]
    return pd.DataFrame(out)
