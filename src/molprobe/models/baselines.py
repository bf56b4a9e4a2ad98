"""Classical baselines on fingerprints: one scikit-learn estimator per task.

Each task's estimator is fitted on that task's measured rows only (NaN labels skipped).
A task with a single class in its training rows predicts that class's frequency (a constant).
Persistence uses ``skops.io`` (no pickle): on load, every type that skops does not trust
by default must be in :data:`TRUSTED_TYPES`, otherwise the file is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from molprobe.errors import MolprobeError

#: Types outside skops' default trust list that our estimators legitimately contain.
TRUSTED_TYPES = frozenset({"sklearn.tree._tree.Tree"})

KINDS = ("rf", "logreg")


def _make_estimator(kind: str, params: Mapping[str, Any], task_type: str, seed: int):
    if kind == "rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        common = dict(
            n_estimators=int(params["n_estimators"]),
            max_features=params["max_features"],
            min_samples_leaf=int(params["min_samples_leaf"]),
            n_jobs=int(params.get("n_jobs", 1)),
            random_state=seed,
        )
        if task_type == "classification":
            return RandomForestClassifier(class_weight=params.get("class_weight"), **common)
        return RandomForestRegressor(**common)
    if kind == "logreg":
        if task_type != "classification":
            raise MolprobeError(
                "model 'logreg' is for classification tasks; use 'rf' for regression"
            )
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(
            C=float(params["C"]),
            class_weight=params.get("class_weight"),
            max_iter=int(params["max_iter"]),
            random_state=seed,
        )
    raise MolprobeError(f"unknown baseline {kind!r}; choose one of {KINDS}")


class TaskwiseSklearn:
    """Per-task scikit-learn models on vector features.

    ``fit(X (n, F), Y (n, T) with NaN, task_type, seed)``; ``predict(X) -> (n, T)``:
    positive-class probabilities (classification) or values (regression).
    Fitted state: ``estimators_`` (list, None where a task is constant), ``constants_`` (T,).
    """

    def __init__(self, kind: str, params: Mapping[str, Any]):
        if kind not in KINDS:
            raise MolprobeError(f"unknown baseline {kind!r}; choose one of {KINDS}")
        self.kind = kind
        self.params = dict(params)

    def fit(self, X: np.ndarray, Y: np.ndarray, task_type: str = "classification", seed: int = 0):
        X = np.nan_to_num(np.asarray(X, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        self.task_type = task_type
        self.estimators_: list = []
        self.constants_ = np.full(Y.shape[1], np.nan)
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            y = Y[rows, t]
            if y.size == 0:
                self.estimators_.append(None)
                continue
            if task_type == "classification" and np.unique(y).size < 2:
                self.estimators_.append(None)
                self.constants_[t] = float(y.mean())
                continue
            if task_type == "classification":
                y = y.astype(np.int64)
            est = _make_estimator(self.kind, self.params, task_type, seed)
            est.fit(X[rows], y)
            self.estimators_.append(est)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.nan_to_num(np.asarray(X, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        out = np.empty((X.shape[0], len(self.estimators_)), dtype=np.float64)
        for t, est in enumerate(self.estimators_):
            if est is None:
                out[:, t] = self.constants_[t]
            elif self.task_type == "classification":
                proba = est.predict_proba(X)
                out[:, t] = proba[:, list(est.classes_).index(1)]
            else:
                out[:, t] = est.predict(X)
        return out


def save_baseline(model: TaskwiseSklearn, path: str | os.PathLike) -> None:
    """Write a fitted baseline with skops.io (plain types + sklearn estimators, no pickle)."""
    import skops.io as sio

    state = {
        "kind": model.kind,
        "params": model.params,
        "task_type": model.task_type,
        "estimators": list(model.estimators_),
        "constants": np.asarray(model.constants_, dtype=np.float64),
    }
    sio.dump(state, path)


def load_baseline(path: str | os.PathLike) -> TaskwiseSklearn:
    """Load a baseline saved by :func:`save_baseline`; refuse files containing any type that
    is neither trusted by skops nor in :data:`TRUSTED_TYPES`."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    # one pass: skops' load audits every type against its defaults + ours and raises on the
    # first file that holds anything else (a separate get_untrusted_types pass read the whole
    # file a second time: ~5 s of an ~11 s load for a 200-tree, 12-task forest)
    try:
        state = sio.load(path, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as err:
        raise MolprobeError(f"{path}: refusing to load untrusted types ({err})") from None
    except Exception as err:  # corrupt zip, wrong format
        raise MolprobeError(f"{path}: not a readable skops model file ({err})") from None
    if not isinstance(state, dict) or "estimators" not in state:
        raise MolprobeError(f"{path}: not a molprobe baseline model")
    model = TaskwiseSklearn(state["kind"], state["params"])
    model.task_type = state["task_type"]
    model.estimators_ = list(state["estimators"])
    model.constants_ = np.asarray(state["constants"], dtype=np.float64)
    return model
