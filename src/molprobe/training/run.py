"""Application layer of the training stage: one model on one split and seed (:func:`train_run`)
and a trained model scored on a split part (:func:`evaluate_run`). Typed configs in, typed
results out; ``molprobe train`` / ``molprobe evaluate`` only parse arguments and write files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from molprobe.errors import InputError
from molprobe.inference.inputs import ModelInputs
from molprobe.inference.predict import predict, predict_loaded
from molprobe.models.registry import get_spec
from molprobe.training.checkpoint import CheckpointMeta, LoadedModel, load_model, read_init_state
from molprobe.training.data import Split, make_source
from molprobe.training.features import load_inputs
from molprobe.training.loop import fit
from molprobe.training.metrics import N_BOOTSTRAP, PRIMARY, Evaluation, evaluate
from molprobe.training.records import predictions_frame, run_metrics, split_record
from molprobe.training.settings import label_matrix, resolve_settings


@dataclass(frozen=True)
class TrainRunConfig:
    """One training run. ``params``: model hyperparameters and training settings by name
    (split between the two by the model's parameter dataclass); ``epochs``, ``device``,
    ``threads`` override the matching training settings when given; ``seed`` defaults to the
    split's; ``bootstrap``: resamples for the metric CIs; ``name``: the run's name in
    comparisons (default: the model name); ``init``: starting weights, e.g. the encoder
    ``model.pt`` of ``molprobe pretrain`` (each of its tensors must match one of the
    model's by name and shape and replaces it; recorded in metrics.json)."""

    model: str
    task_type: str = "classification"
    params: Mapping[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    device: str | None = None
    seed: int | None = None
    threads: int | None = None
    name: str | None = None
    bootstrap: int = N_BOOTSTRAP
    init: Path | None = None


@dataclass
class TrainRun:
    """What :func:`train_run` produced: the model (best validation epoch) and its meta.json,
    metrics (metrics.json content), history (one row per epoch), test predictions and
    the training SMILES (the applicability-domain reference)."""

    model: Any
    meta: CheckpointMeta
    metrics: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    train_smiles: list[str]
    valid_predictions: pd.DataFrame | None = None

    def summary_line(self) -> str:
        m = self.metrics
        key = PRIMARY[m["task_type"]][0]
        t = m["test"]
        return (
            f"{m['model']} {m['split']['name']} seed {m['seed']}: test mean {key} "
            f"{t['mean'][key]:.3f} [{t['mean_ci_low'][key]:.3f}, {t['mean_ci_high'][key]:.3f}] "
            f"({m['epochs_run']} epochs, {m['seconds']:.1f} s on {m['device']})"
        )


def read_split(path: Path, n: int) -> tuple[dict, Split]:
    """A split JSON (row positions) -> (its content, :class:`Split` checked against ``n`` rows)."""
    try:
        split_json = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from None
    if not isinstance(split_json, dict):
        raise InputError(path, "expected a JSON object with train/valid/test lists")
    return split_json, Split.from_dict(split_json, n)


def split_name(path: Path, split_json: dict) -> str:
    """The split's name: its folder (``splits/<name>/seed0.json``), else its method."""
    parent = Path(path).parent.name
    if parent and parent not in (".", "splits"):
        return parent
    return str(split_json.get("method", "split"))


def train_run(
    mols: pd.DataFrame,
    tasks: list[str],
    split_json: dict,
    split_info: Mapping[str, Any],
    feature_paths: Sequence[Path],
    config: TrainRunConfig,
    standardize_recipe: dict | None = None,
    source: Path | str = "molecule table",
) -> TrainRun:
    """Train ``config.model`` on one split of ``mols`` (the molecule table) and score it.

    ``split_json``: the split file's content (row positions, method, seed); ``split_info``:
    its name and path as recorded in metrics.json; ``feature_paths``: feature files aligned
    with ``mols`` (descriptors are scaled with train-split statistics); ``source``: the
    molecule table's name in error messages."""
    spec = get_spec(config.model)
    n = len(mols)
    split = Split.from_dict(split_json, n)
    Y = label_matrix(mols, tasks, config.task_type, source)
    features, feat_specs, scaler_state = load_inputs(spec.input_kind, feature_paths, n, split.train)
    seed = config.seed if config.seed is not None else int(split_json.get("seed", 0))
    params, train_config = resolve_settings(
        config.model, config.params, seed, config.epochs, config.device, config.threads
    )

    model, result = fit(config.model, params, features, Y, split, config.task_type, train_config,
                        read_init_state(config.init))  # fmt: skip
    scaler = result.target_scaler
    test_pred = predict(model, features, split.test, config.task_type, scaler)
    valid_pred = predict(model, features, split.valid, config.task_type, scaler)
    ev_test = evaluate(Y[split.test], test_pred, tasks, config.task_type, config.bootstrap, seed)
    ev_valid = evaluate(Y[split.valid], valid_pred, tasks, config.task_type, config.bootstrap, seed)
    info = split_record(split_info, split_json, split)
    info = {k: info[k] for k in ("name", "method", "seed", "path", "n_train", "n_valid", "n_test")}
    train_smiles = mols["smiles"].to_numpy()[split.train].tolist()
    meta = CheckpointMeta.of_fit(
        model,
        params,
        make_source(features).dims,
        train_config,
        train_smiles,
        Y[split.train],
        model_name=config.model,
        featurizers=feat_specs,
        task_names=tasks,
        task_type=config.task_type,
        descriptor_scaler=scaler_state,
        target_scaler=scaler.to_dict() if scaler else None,
        split=info,
        seed=seed,
        best_epoch=result.best_epoch,
        standardize_recipe=standardize_recipe,
    )
    metrics = run_metrics(config.name or config.model, config.model, params, info, seed,
                          config.task_type, result, ev_test, ev_valid)  # fmt: skip
    if config.init is not None:
        metrics["init"] = str(config.init)
    return TrainRun(
        model=model,
        meta=meta,
        metrics=metrics,
        history=pd.DataFrame(result.history),
        predictions=predictions_frame(mols, split.test, tasks, test_pred, Y),
        train_smiles=train_smiles,
        valid_predictions=predictions_frame(mols, split.valid, tasks, valid_pred, Y),
    )


@dataclass
class EvaluateRun:
    """A trained model scored on rows of a split: the Evaluation and the predictions."""

    model: LoadedModel
    rows: np.ndarray
    evaluation: Evaluation
    predictions: pd.DataFrame


def evaluate_run(
    model_dir: Path,
    mols: pd.DataFrame,
    tasks: list[str],
    rows: np.ndarray,
    feature_paths: Sequence[Path],
    bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> EvaluateRun:
    """Score the model in ``model_dir`` on ``rows`` of ``mols``, with features from files made
    by the model's own featurizers (MolprobeError naming the parameter otherwise)."""
    inputs = ModelInputs.from_checkpoint(model_dir)
    features = inputs.load(feature_paths, len(mols))
    loaded = load_model(model_dir, expected_featurizer=inputs.specs)
    Y = mols[tasks].to_numpy(dtype=np.float64)
    pred = predict_loaded(loaded, features, rows)
    ev = evaluate(Y[rows], pred, tasks, loaded.meta.task_type, bootstrap, seed)
    return EvaluateRun(loaded, rows, ev, predictions_frame(mols, rows, tasks, pred, Y))
