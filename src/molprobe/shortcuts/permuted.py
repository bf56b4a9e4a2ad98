"""Randomized-label control: the training pipeline with shuffled labels must score AUC ≈ 0.5.

For a trained model, the same family, hyperparameters, features and training code
(:func:`molprobe.training.loop.fit`) are run on labels whose rows are permuted within the
train part and within the valid part (whole label rows move together, so task correlations
and the missing-label pattern are kept); the test rows keep their real labels. Test ROC-AUC
above 0.55 means the evaluation leaks information about the test labels.
The twin is matched: same epoch budget, patience and early stopping on (shuffled) validation
labels as the real model (its saved train config), same number of trees; ``seeds`` twins per
model (different label permutations and inits) give the spread. ``max_epochs`` /
``max_trees`` > 0 cap the twin for quick runs, which turns it into a model-randomization test
rather than a matched twin (the table's ``matched`` column says which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError
from molprobe.shortcuts import AuditedModel

LEAK_THRESHOLD = 0.55
PERMUTED_COLUMNS = [
    "model", "split", "seed", "permutation", "task", "roc_auc", "ci_low", "ci_high", "n_test",
    "n_positive", "trained_auc", "epochs", "trained_epochs", "best_epoch", "matched", "seconds",
    "flagged",
]  # fmt: skip


@dataclass(frozen=True)
class PermutedConfig:
    """Shuffled-label twins: ``seeds`` twins per model (label permutations); ``max_epochs``
    (neural nets) and ``max_trees`` (forest ``n_estimators``) caps, 0 = as the real model
    (matched); ``bootstrap`` resamples for the AUC CI, ``device``, ``threads`` (torch CPU
    threads, 0 = leave as is)."""

    seeds: int = 3
    max_epochs: int = 0
    max_trees: int = 0
    bootstrap: int = 200
    device: str = "auto"
    threads: int = 0


def permute_labels(Y: np.ndarray, train: np.ndarray, valid: np.ndarray, seed: int) -> np.ndarray:
    """Copy of Y (n, T) with label rows shuffled among the train rows and among the valid rows;
    every other row (test) unchanged."""
    rng = np.random.default_rng(seed)
    out = np.array(Y, dtype=np.float64, copy=True)
    for rows in (np.asarray(train), np.asarray(valid)):
        if rows.size > 1:
            out[rows] = out[rng.permutation(rows)]
    return out


def model_inputs(meta, cached: Mapping[str, tuple[object, dict]], smiles: Sequence[str]):
    """The model input for all molecules, as the model was trained.

    Args:
        meta: the model's :class:`~molprobe.training.checkpoint.CheckpointMeta`.
        cached: featurizer name -> (features aligned with ``smiles``, spec) from the dataset's
            feature cache; a block whose cached spec differs from the model's is recomputed.
        smiles: standardized SMILES of every molecule (molecules.parquet order).
    Vector blocks are concatenated with the descriptor scaler saved in meta.json.
    """
    from molprobe.chem.featurize import make_featurizer, spec_difference
    from molprobe.models.registry import get_spec
    from molprobe.training.data import assemble_vectors

    kind = get_spec(meta.model_name).input_kind
    blocks = []
    for spec in meta.featurizers:
        hit = cached.get(spec.get("name"))
        if hit is not None and spec_difference(spec, hit[1]) is None and len(hit[0]) == len(smiles):
            blocks.append(hit[0])
            continue
        fz = make_featurizer(spec)
        if kind == "tokens":
            ids, _ = fz.encode(list(smiles), fz.max_len)
            blocks.append(ids)
        else:
            blocks.append(fz(list(smiles)))
    if kind == "vector":
        X, _ = assemble_vectors(blocks, meta.featurizers, meta.descriptor_scaler)
        return X
    if kind == "graph":
        if len(blocks) == 1:
            return blocks[0]
        X, _ = assemble_vectors(blocks[1:], meta.featurizers[1:], meta.descriptor_scaler)
        return blocks[0].with_mol_features(X)
    ids = np.asarray(blocks[0])
    vocab = int(meta.input_dims.get("vocab_size") or 0)
    return ids, (ids != 0).sum(axis=1), vocab


def train_permuted(
    run: AuditedModel,
    features,
    Y: np.ndarray,
    config: PermutedConfig | None = None,
    permutation_seed: int | None = None,
):
    """Retrain ``run``'s model family on permuted labels; returns (LoadedModel, TrainResult).

    ``features``: the model input for all molecules (:func:`model_inputs`); ``Y`` (n, T) real
    labels. The label permutation is seeded with ``permutation_seed`` (default: the run's seed).
    """
    import dataclasses

    from molprobe.models.registry import get_spec, make_params
    from molprobe.training.checkpoint import LoadedModel
    from molprobe.training.data import Split
    from molprobe.training.loop import TRAIN_KEYS, fit, make_train_config

    config = config or PermutedConfig()
    meta = run.loaded.meta
    spec = get_spec(meta.model_name)
    hyper = dict(meta.hyperparameters)
    if "n_estimators" in hyper and config.max_trees > 0:
        hyper["n_estimators"] = min(int(hyper["n_estimators"]), config.max_trees)
    params = make_params(meta.model_name, hyper)
    train_cfg = {k: v for k, v in (meta.train_config or {}).items() if k in TRAIN_KEYS}
    train_cfg["device"] = config.device
    if config.threads:
        train_cfg["num_threads"] = config.threads
    if spec.framework == "torch" and config.max_epochs > 0:
        train_cfg["epochs"] = min(
            int(train_cfg.get("epochs", config.max_epochs)), config.max_epochs
        )
    train_cfg["seed"] = int(train_cfg.get("seed", run.seed))
    cfg = make_train_config(meta.model_name, train_cfg)
    split = Split(*(np.asarray(run.rows[k], dtype=np.int64) for k in ("train", "valid", "test")))
    seed = run.seed if permutation_seed is None else permutation_seed
    Y_perm = permute_labels(Y, split.train, split.valid, seed)
    model, result = fit(meta.model_name, params, features, Y_perm, split, meta.task_type, cfg)
    new_meta = dataclasses.replace(
        meta, hyperparameters=dataclasses.asdict(params), train_config=dataclasses.asdict(cfg)
    )
    return LoadedModel(model, new_meta), result


def permuted_rows(
    run: AuditedModel,
    permuted,
    result,
    features,
    Y: np.ndarray,
    config: PermutedConfig,
    permutation: int = 0,
) -> list[dict]:
    """Rows of :data:`PERMUTED_COLUMNS`: per task and the task mean (``task == "mean"``), test
    ROC-AUC of the permuted-label model on the real labels with its bootstrap 95% CI.

    ``flagged``: AUC above :data:`LEAK_THRESHOLD` with a bootstrap CI lower bound above 0.5
    (for the task mean and for each task)."""
    from molprobe.inference.predict import predict
    from molprobe.training.metrics import evaluate

    if permuted.meta.task_type != "classification":
        raise MolprobeError("the randomized-label control needs classification tasks")
    tasks = list(permuted.meta.task_names)
    test = np.asarray(run.rows["test"])
    pred = predict(permuted.model, features, test, "classification")
    ev = evaluate(Y[test], pred, tasks, "classification", config.bootstrap, run.seed)
    trained = {t["task"]: (t.get("values") or {}).get("roc_auc")
               for t in (run.metrics.get("test") or {}).get("tasks") or []}  # fmt: skip
    trained_mean = ((run.metrics.get("test") or {}).get("mean") or {}).get("roc_auc")
    matched = config.max_epochs <= 0 and config.max_trees <= 0
    base = {"model": run.model, "split": run.split, "seed": run.seed, "permutation": permutation,
            "epochs": len(result.history), "best_epoch": int(result.best_epoch),
            "trained_epochs": int(run.metrics.get("epochs_run") or 0) or np.nan,
            "matched": matched, "seconds": float(result.seconds)}  # fmt: skip
    rows = []
    for ts in ev.tasks:
        auc, lo = ts.values["roc_auc"], ts.ci_low["roc_auc"]
        rows.append({**base, "task": ts.task, "roc_auc": auc, "ci_low": lo,
                     "ci_high": ts.ci_high["roc_auc"], "n_test": ts.n,
                     "n_positive": ts.n_positive,
                     "trained_auc": np.nan if trained.get(ts.task) is None else trained[ts.task],
                     "flagged": bool(auc > LEAK_THRESHOLD and lo > 0.5)})  # fmt: skip
    mean = ev.mean["roc_auc"]
    rows.append({**base, "task": "mean", "roc_auc": mean, "ci_low": ev.mean_ci_low["roc_auc"],
                 "ci_high": ev.mean_ci_high["roc_auc"], "n_test": int(test.size),
                 "n_positive": int(np.nansum(Y[test] == 1)),
                 "trained_auc": np.nan if trained_mean is None else float(trained_mean),
                 "flagged": bool(mean > LEAK_THRESHOLD and ev.mean_ci_low["roc_auc"] > 0.5)})  # fmt: skip
    return rows


def permuted_table(rows: list[dict]) -> pd.DataFrame:
    """The randomized-label table (columns :data:`PERMUTED_COLUMNS`)."""
    return pd.DataFrame(rows, columns=PERMUTED_COLUMNS)
