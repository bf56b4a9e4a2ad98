"""Final models for use: one family trained on every labeled molecule of a dataset, for the
epoch count its cross-validated split runs chose (:func:`chosen_epochs`: the median best
validation epoch over splits and seeds). Nothing is held out, so a final model has no
metrics of its own; the split runs carry them (:func:`train_final`)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molprobe.errors import InputError, MolprobeError
from molprobe.models.registry import get_spec
from molprobe.training.checkpoint import CheckpointMeta, read_init_state
from molprobe.training.data import Split, make_source
from molprobe.training.features import load_inputs
from molprobe.training.loop import fit
from molprobe.training.settings import label_matrix, resolve_settings


@dataclass(frozen=True)
class FinalConfig:
    """One final model: family ``model``, its ``params`` (the same as its split runs'),
    ``seed`` (weights and batch order), ``device`` / ``threads`` / ``init`` (starting weights,
    which the split runs must have had too) as for ``molprobe train``."""

    model: str
    task_type: str = "classification"
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str | None = None
    threads: int | None = None
    init: Path | None = None


@dataclass(frozen=True)
class EpochChoice:
    """The epoch count of a final model: ``epochs`` = median of ``best_epochs`` (one per
    split run, in ``runs`` order: ``split/seed``), rounded half up."""

    epochs: int
    best_epochs: list[int]
    runs: list[str]


@dataclass
class FinalRun:
    """What :func:`train_final` produced: the model, its meta.json, final.json content
    (``record``) and the training SMILES (the applicability-domain reference)."""

    model: Any
    meta: CheckpointMeta
    record: dict
    train_smiles: list[str]


def chosen_epochs(split_metrics: Sequence[Mapping]) -> EpochChoice:
    """Median best validation epoch of the split runs' metrics.json contents."""
    if not split_metrics:
        raise MolprobeError("a final model needs the metrics of at least one split run")
    best = [int(m["best_epoch"]) for m in split_metrics]
    runs = [f"{m['split']['name']}/seed{m['seed']}" for m in split_metrics]
    return EpochChoice(max(1, math.floor(float(np.median(best)) + 0.5)), best, runs)


def labeled_rows(Y: np.ndarray) -> np.ndarray:
    """Row positions of molecules with at least one label (Y: (n, T), NaN = missing)."""
    return np.flatnonzero(~np.isnan(np.asarray(Y, dtype=np.float64)).all(axis=1))


def check_same_settings(split_metrics: Sequence[Mapping], model: str, params) -> None:
    """The split runs must be runs of this family with these hyperparameters."""
    want = json.loads(json.dumps(dataclasses.asdict(params)))  # as metrics.json holds them
    for m in split_metrics:
        if m["model"] != model or m["hyperparameters"] != want:
            raise MolprobeError(
                f"split run {m['split']['name']}/seed{m['seed']} is {m['model']} with "
                f"{m['hyperparameters']}, not {model} with {want}: the final model must use "
                "the settings its epochs were chosen with"
            )


def train_final(
    mols: pd.DataFrame,
    tasks: list[str],
    feature_paths: Sequence[Path],
    config: FinalConfig,
    split_metrics: Sequence[Mapping],
    standardize_recipe: dict | None = None,
    source: Path | str = "molecule table",
) -> FinalRun:
    """Train ``config.model`` on every labeled row of ``mols`` for the split runs' chosen
    epoch count (``split_metrics``: their metrics.json contents, same family and
    hyperparameters). The learning-rate schedule spans the configured ``epochs`` as in the
    split runs and training stops at the chosen epoch; the plateau schedule, having no
    validation part to watch, keeps its learning rate."""
    spec = get_spec(config.model)
    Y = label_matrix(mols, tasks, config.task_type, source)
    rows = labeled_rows(Y)
    if rows.size == 0:
        raise InputError(source, "no labeled molecules to train a final model on")
    empty = np.zeros(0, dtype=np.int64)
    split = Split(rows, empty, empty)
    features, feat_specs, scaler_state = load_inputs(
        spec.input_kind, feature_paths, len(mols), rows
    )
    params, train_config = resolve_settings(
        config.model, config.params, config.seed, None, config.device, config.threads
    )
    check_same_settings(split_metrics, config.model, params)
    check_same_start(split_metrics, config.init)
    choice = chosen_epochs(split_metrics)
    if spec.framework == "torch":
        train_config = stop_at_epoch(train_config, choice.epochs)
    model, result = fit(config.model, params, features, Y, split, config.task_type, train_config,
                        read_init_state(config.init))  # fmt: skip
    train_smiles = mols["smiles"].to_numpy()[rows].tolist()
    info = all_labeled_record(rows.size)
    scaler = result.target_scaler
    meta = CheckpointMeta.of_fit(
        model,
        params,
        make_source(features).dims,
        train_config,
        train_smiles,
        Y[rows],
        model_name=config.model,
        featurizers=feat_specs,
        task_names=tasks,
        task_type=config.task_type,
        descriptor_scaler=scaler_state,
        target_scaler=scaler.to_dict() if scaler else None,
        split=info,
        seed=config.seed,
        best_epoch=len(result.history),
        standardize_recipe=standardize_recipe,
    )
    record = final_record(
        config.model, config.seed, choice, params, train_config, result,
        n_molecules=len(mols), n_train=rows.size, n_unlabeled=len(mols) - rows.size,
        epochs=choice.epochs if spec.framework == "torch" else None,
        epoch_rule="median best validation epoch of the split runs",
        extra={"init": str(config.init)} if config.init is not None else None,
    )  # fmt: skip
    return FinalRun(model, meta, record, train_smiles)


def check_same_start(split_metrics: Sequence[Mapping], init: Path | None) -> None:
    """A final model starts as its split runs did: all from pretrained weights (metrics.json
    ``init``) or all fresh, so their best epochs carry over."""
    for m in split_metrics:
        if (m.get("init") is None) != (init is None):
            run = f"{m['split']['name']}/seed{m['seed']}"
            had = f"started from {m['init']}" if m.get("init") else "started fresh"
            raise MolprobeError(
                f"split run {run} {had}, but this final model "
                + (f"starts from {init}" if init is not None else "starts fresh")
                + ": give both the same --init"
            )


def all_labeled_record(n_train: int, **extra) -> dict:
    """The ``split`` record (meta.json) of a final model: ``n_train`` labeled rows train,
    none validate or test; ``extra`` keys follow (e.g. ``n_unlabeled``)."""
    return {"name": "all_labeled", "method": "all_labeled", "seed": None, "path": None,
            "n_train": int(n_train), "n_valid": 0, "n_test": 0, **extra}  # fmt: skip


def stop_at_epoch(train_config, epochs: int):
    """``train_config`` that trains exactly ``epochs`` epochs (no early stopping; the
    learning-rate schedule still spans the configured epochs); more than configured is an
    error."""
    if epochs > train_config.epochs:
        raise MolprobeError(f"chosen epoch {epochs} exceeds the configured {train_config.epochs}")
    return dataclasses.replace(train_config, stop_epoch=epochs, patience=0)


def final_record(
    model: str,
    seed: int,
    choice: EpochChoice,
    params,
    train_config,
    result,
    *,
    n_molecules: int,
    n_train: int,
    n_unlabeled: int,
    epochs: int | None,
    epoch_rule: str,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """final.json content of a final model: what it was trained on, for how many epochs by
    which rule (``choice``: the split runs' best epochs), its settings and cost; ``extra``
    keys follow ``seed``."""
    return {
        "model": model,
        "seed": seed,
        **dict(extra or {}),
        "n_molecules": int(n_molecules),
        "n_train": int(n_train),
        "n_unlabeled": int(n_unlabeled),
        "epochs": epochs,
        "epochs_run": len(result.history),
        "epoch_rule": epoch_rule,
        "split_runs": dict(zip(choice.runs, choice.best_epochs, strict=True)),
        "hyperparameters": dataclasses.asdict(params),
        "train_config": dataclasses.asdict(train_config),
        "device": result.device,
        "seconds": result.seconds,
    }
