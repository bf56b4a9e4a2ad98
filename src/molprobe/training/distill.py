"""Knowledge distillation on unlabeled structures: a fast student learns a teacher's soft labels.

The student (e.g. ``snn_fast`` on ECFP + the fast descriptor set) is trained on the split's
train molecules with their measured 0/1 labels *plus* unlabeled structures (e.g. MUV and HIV
SMILES) whose targets are the teacher's predicted probabilities (soft labels, binary
cross-entropy). Validation (early stopping) and test use the measured labels only.

Leakage rules, enforced here: the unlabeled set is a list of SMILES (no other dataset's
labels can enter); structures that occur in the labeled table (any part of it) are dropped, so
no valid/test molecule is trained on; the teachers must have been trained on this split's
train part (:func:`molprobe.inference.teacher.check_teacher_split`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from molprobe.chem.featurize import make_featurizer
from molprobe.errors import MolprobeError
from molprobe.models.registry import get_spec, make_params
from molprobe.training.checkpoint import CheckpointMeta
from molprobe.training.data import Split, assemble_vectors, make_source, model_outputs
from molprobe.training.final import (
    FinalRun,
    all_labeled_record,
    check_same_settings,
    chosen_epochs,
    final_record,
    labeled_rows,
    stop_at_epoch,
)
from molprobe.training.loop import TRAIN_KEYS, fit, make_train_config
from molprobe.training.metrics import N_BOOTSTRAP, evaluate
from molprobe.training.records import predictions_frame, run_metrics, split_record


@dataclass
class DistillConfig:
    """Student settings: registry family ``model`` (a vector model), its featurizer specs in
    column order, ``params`` (hyperparameters and training settings, as ``molprobe train
    --params``), seed (default: the split's), name in comparisons, bootstrap resamples."""

    model: str = "snn_fast"
    featurizers: list[dict[str, Any]] = field(
        default_factory=lambda: [{"name": "ecfp"}, {"name": "descriptors_fast"}]
    )
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    name: str | None = None
    bootstrap: int = N_BOOTSTRAP
    device: str = "cpu"


@dataclass
class DistillRun:
    """A distilled student (best validation epoch) with what ``molprobe train`` writes:
    meta.json content, metrics (valid and test on measured labels), history, test and
    validation predictions and the labeled training SMILES (the applicability-domain
    reference)."""

    model: Any
    meta: CheckpointMeta
    metrics: dict
    history: pd.DataFrame
    predictions: pd.DataFrame
    train_smiles: list[str]
    valid_predictions: pd.DataFrame | None = None


def novel_structures(unlabeled: Sequence[str], labeled: Sequence[str]) -> list[str]:
    """``unlabeled`` SMILES without duplicates and without any that are in ``labeled``
    (both standardized canonical SMILES), first occurrence order."""
    seen = set(labeled)
    out = []
    for smi in unlabeled:
        if smi not in seen:
            seen.add(smi)
            out.append(smi)
    return out


def probabilities(model, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Sigmoid outputs (len(rows), T) float64 of a vector net on CPU."""
    import torch

    out = model_outputs(model, make_source(X, "cpu"), rows, 512, torch.device("cpu"), False)
    return torch.sigmoid(out).double().numpy()


@dataclass
class StudentInputs:
    """What a student is fitted on: features X (n + n_unlabeled, D) of the labeled then the
    unlabeled rows, targets Y (0/1 labels, then soft labels), the fit split (train rows +
    every unlabeled row), the labeled matrix, feature specs, scaler, params, train config."""

    X: np.ndarray
    Y: np.ndarray
    fit_split: Split
    Y_lab: np.ndarray
    specs: list
    scaler_state: Any
    params: Any
    train_config: Any
    seed: int


def student_inputs(
    mols: pd.DataFrame,
    tasks: list[str],
    split: Split,
    unlabeled: Sequence[str],
    soft: np.ndarray,
    config: DistillConfig,
    seed: int,
    stop_epoch: int = 0,
) -> StudentInputs:
    """Check the soft labels and the leakage rules, featurize labeled + unlabeled SMILES
    (descriptors scaled on ``split.train``) and resolve the student's settings;
    ``stop_epoch`` > 0 trains exactly that many epochs (no early stopping)."""
    spec = get_spec(config.model)
    if spec.input_kind != "vector" or spec.framework != "torch":
        raise MolprobeError(f"distillation students are vector nets, not {config.model!r}")
    soft = np.asarray(soft, dtype=np.float64)
    if soft.shape != (len(unlabeled), len(tasks)) or not ((soft >= 0) & (soft <= 1)).all():
        raise MolprobeError(
            f"soft labels must be probabilities of shape {(len(unlabeled), len(tasks))}"
        )
    overlap = set(unlabeled) & set(mols["smiles"])
    if overlap:
        raise MolprobeError(f"{len(overlap)} unlabeled structures are labeled molecules")
    n, n_u = len(mols), len(unlabeled)
    Y_lab = mols[tasks].to_numpy(dtype=np.float64)
    if not np.isin(Y_lab[~np.isnan(Y_lab)], (0.0, 1.0)).all():
        raise MolprobeError("classification labels must be 0/1 (or missing)")
    smiles = [*mols["smiles"].tolist(), *unlabeled]
    featurizers = [make_featurizer(s) for s in config.featurizers]
    specs = [fz.spec for fz in featurizers]
    # descriptors scaled with the labeled train rows' statistics, as in `molprobe train`
    X, scaler_state = assemble_vectors([fz(smiles) for fz in featurizers], specs, None, split.train)
    Y = np.vstack([Y_lab, soft])
    fit_split = Split(np.concatenate([split.train, np.arange(n, n + n_u)]), split.valid, split.test)
    model_keys = {f.name for f in dataclasses.fields(spec.params_cls)}
    params = make_params(config.model, {k: v for k, v in config.params.items() if k in model_keys})
    unknown = set(config.params) - model_keys - TRAIN_KEYS
    if unknown:
        raise MolprobeError(f"unknown student parameter(s) {sorted(unknown)}")
    train_settings = {k: v for k, v in config.params.items() if k in TRAIN_KEYS}
    train_config = make_train_config(
        config.model, {**train_settings, "seed": seed, "device": config.device}
    )
    if stop_epoch > 0:
        train_config = stop_at_epoch(train_config, stop_epoch)
    return StudentInputs(X, Y, fit_split, Y_lab, specs, scaler_state, params, train_config, seed)


def distill_run(
    mols: pd.DataFrame,
    tasks: list[str],
    split_json: dict,
    split_info: Mapping[str, Any],
    unlabeled: Sequence[str],
    soft: np.ndarray,
    config: DistillConfig,
    standardize_recipe: dict | None = None,
) -> DistillRun:
    """Train ``config.model`` on the split's train rows of ``mols`` (0/1 labels) plus the
    ``unlabeled`` SMILES with soft labels ``soft`` (n_unlabeled, T) in [0, 1]; early-stop on
    the valid rows and score valid and test (measured labels only). Returns a
    :class:`DistillRun` whose checkpoint screens like any ``molprobe train`` model."""
    n = len(mols)
    split = Split.from_dict(split_json, n)
    seed = config.seed if config.seed is not None else int(split_json.get("seed", 0))
    si = student_inputs(mols, tasks, split, unlabeled, soft, config, seed)
    X, Y, Y_lab, params, train_config = si.X, si.Y, si.Y_lab, si.params, si.train_config
    specs, scaler_state, fit_split, n_u = si.specs, si.scaler_state, si.fit_split, len(unlabeled)
    model, result = fit(config.model, params, X, Y, fit_split, "classification", train_config)
    test_pred = probabilities(model, X, split.test)
    valid_pred = probabilities(model, X, split.valid)
    ev_test = evaluate(
        Y_lab[split.test], test_pred, tasks, "classification", config.bootstrap, seed
    )
    ev_valid = evaluate(Y_lab[split.valid], valid_pred, tasks, "classification", config.bootstrap, seed)  # fmt: skip
    info = {**split_record(split_info, split_json, split), "n_unlabeled": int(n_u)}
    train_smiles = mols["smiles"].to_numpy()[split.train].tolist()
    meta = CheckpointMeta.of_fit(
        model,
        params,
        make_source(X).dims,
        train_config,
        train_smiles,
        Y_lab[split.train],
        model_name=config.model,
        featurizers=specs,
        task_names=tasks,
        task_type="classification",
        descriptor_scaler=scaler_state,
        split=info,
        seed=seed,
        best_epoch=result.best_epoch,
        standardize_recipe=standardize_recipe,
    )
    name = config.name or f"{config.model}_distilled"
    metrics = run_metrics(name, config.model, params, info, seed, "classification", result,
                          ev_test, ev_valid)  # fmt: skip
    return DistillRun(
        model, meta, metrics, pd.DataFrame(result.history),
        predictions_frame(mols, split.test, tasks, test_pred, Y_lab), train_smiles,
        predictions_frame(mols, split.valid, tasks, valid_pred, Y_lab),
    )  # fmt: skip


def distill_final(
    mols: pd.DataFrame,
    tasks: list[str],
    unlabeled: Sequence[str],
    soft: np.ndarray,
    config: DistillConfig,
    split_metrics: Sequence[Mapping],
    standardize_recipe: dict | None = None,
) -> FinalRun:
    """The final distilled student: every labeled row of ``mols`` (0/1 labels) plus the
    ``unlabeled`` SMILES with soft labels ``soft`` (n_unlabeled, T) from the teachers' final
    models, trained for the median best epoch of the distilled split runs (``split_metrics``:
    their metrics.json contents, same family and hyperparameters), as ``train_final``."""
    seed = config.seed if config.seed is not None else 0
    Y_all = mols[tasks].to_numpy(dtype=np.float64)
    rows = labeled_rows(Y_all)
    if rows.size == 0:
        raise MolprobeError("no labeled molecules to train a final student on")
    choice = chosen_epochs(split_metrics)
    empty = np.zeros(0, dtype=np.int64)
    si = student_inputs(mols, tasks, Split(rows, empty, empty), unlabeled, soft, config, seed,
                        stop_epoch=choice.epochs)  # fmt: skip
    check_same_settings(split_metrics, config.model, si.params)
    model, result = fit(config.model, si.params, si.X, si.Y, si.fit_split, "classification",
                        si.train_config)  # fmt: skip
    train_smiles = mols["smiles"].to_numpy()[rows].tolist()
    info = all_labeled_record(rows.size, n_unlabeled=int(len(unlabeled)))
    meta = CheckpointMeta.of_fit(
        model,
        si.params,
        make_source(si.X).dims,
        si.train_config,
        train_smiles,
        si.Y_lab[rows],
        model_name=config.model,
        featurizers=si.specs,
        task_names=tasks,
        task_type="classification",
        descriptor_scaler=si.scaler_state,
        split=info,
        seed=seed,
        best_epoch=len(result.history),
        standardize_recipe=standardize_recipe,
    )
    record = final_record(
        config.model, seed, choice, si.params, si.train_config, result,
        n_molecules=len(mols), n_train=rows.size, n_unlabeled=len(unlabeled),
        epochs=choice.epochs, epoch_rule="median best validation epoch of the distilled split runs",
        extra={"distilled": True},
    )  # fmt: skip
    return FinalRun(model, meta, record, train_smiles)
