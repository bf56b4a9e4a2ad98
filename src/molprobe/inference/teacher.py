"""Teachers for distillation: soft labels (mean predicted probabilities) for unlabeled SMILES.

:func:`check_teacher_split` refuses a teacher trained on another split than the student's,
whose soft labels could carry that student's validation or test labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from molprobe.errors import MolprobeError
from molprobe.inference.inputs import FeatureCache, ModelInputs
from molprobe.inference.predict import predict_loaded
from molprobe.training.checkpoint import CheckpointMeta, load_model


def check_teacher_split(meta: CheckpointMeta, split_json: Mapping[str, Any]) -> None:
    """Refuse a teacher whose recorded split (method, seed, train size) is not this one."""
    rec = meta.split or {}
    want = (split_json.get("method"), split_json.get("seed"), len(split_json["train"]))
    got = (rec.get("method"), rec.get("seed"), rec.get("n_train"))
    if got != want:
        raise MolprobeError(
            f"teacher {meta.model_name} was trained on split {got} (method, seed, n_train), "
            f"not on this split {want}: its soft labels could carry test labels"
        )


def teacher_probabilities(
    teacher_dirs: Sequence,
    smiles: Sequence[str],
    tasks: Sequence[str],
    cache: FeatureCache | None = None,
) -> np.ndarray:
    """Mean predicted probability (n, T) of the teacher models for ``smiles`` (standardized),
    each featurizing with its own saved specs; tasks in ``tasks`` order. ``cache``: raw
    feature blocks of ``smiles`` (see :meth:`ModelInputs.featurize`), read and filled, so
    the teachers of several splits featurize the unlabeled set once."""
    if not teacher_dirs:
        raise MolprobeError("distillation needs at least one teacher model")
    total = np.zeros((len(smiles), len(tasks)))
    cache = {} if cache is None else cache
    for directory in teacher_dirs:
        loaded = load_model(directory)
        missing = [t for t in tasks if t not in loaded.meta.task_names]
        if missing or loaded.meta.task_type != "classification":
            raise MolprobeError(f"teacher {directory}: not a classifier of tasks {missing}")
        features = ModelInputs.from_checkpoint(loaded).featurize(smiles, cache)
        prob = predict_loaded(loaded, features)
        total += prob[:, [loaded.meta.task_names.index(t) for t in tasks]]
    return total / len(teacher_dirs)
