"""A training run's settings and labels from its config values: the model's hyperparameters
and the TrainConfig (:func:`resolve_settings`), the label matrix (:func:`label_matrix`).
Shared by split runs and final models, so both read ``--params`` the same way."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from molprobe.errors import InputError, MolprobeError
from molprobe.models.registry import get_spec, make_params
from molprobe.training.loop import TRAIN_KEYS, TrainConfig, make_train_config


def label_matrix(mols: pd.DataFrame, tasks: list[str], task_type: str, source) -> np.ndarray:
    """The task columns as float64 (n, T), NaN = missing; classification labels must be 0/1."""
    Y = mols[tasks].to_numpy(dtype=np.float64)
    if task_type == "classification" and not np.isin(Y[~np.isnan(Y)], (0.0, 1.0)).all():
        raise InputError(source, "classification labels must be 0/1 (or missing)")
    return Y


def resolve_settings(
    model: str,
    params: Mapping[str, Any],
    seed: int,
    epochs: int | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> tuple[Any, TrainConfig]:
    """(model params, TrainConfig) from ``params`` (hyperparameters and training settings by
    name) and the explicit overrides (``epochs``, ``device``, ``threads`` when given)."""
    spec = get_spec(model)
    model_keys = {f.name for f in dataclasses.fields(spec.params_cls)}
    model_over = {k: v for k, v in params.items() if k in model_keys}
    train_over = {k: v for k, v in params.items() if k not in model_keys}
    unknown = set(train_over) - TRAIN_KEYS
    if unknown:
        raise MolprobeError(
            f"--params: unknown key(s) {sorted(unknown)}; model {model!r} takes "
            f"{sorted(model_keys)}, training takes {sorted(TRAIN_KEYS)}"
        )
    for key, value in (("epochs", epochs), ("device", device), ("num_threads", threads)):
        if value is not None:
            train_over[key] = value
    train_over["seed"] = seed
    return make_params(model, model_over), make_train_config(model, train_over)
