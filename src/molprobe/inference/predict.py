"""Predictions of a trained model (torch or scikit-learn) for featurized molecules."""

from __future__ import annotations

import numpy as np
import torch

from molprobe.training.data import make_source, model_outputs
from molprobe.training.device import amp_enabled
from molprobe.training.losses import TargetScaler


def predict(
    model,
    features,
    indices=None,
    task_type: str = "classification",
    target_scaler: TargetScaler | None = None,
    batch_size: int = 512,
) -> np.ndarray:
    """Predictions (n, T) float64 for the molecules at ``indices`` (all when None):
    probabilities (classification) or values in task units (regression). Torch models run
    on the device of their parameters; scikit-learn baselines take the vector features."""
    if hasattr(model, "estimators_"):
        X = np.asarray(features)
        return model.predict(X if indices is None else X[np.asarray(indices)])
    device = next(model.parameters()).device
    source = make_source(features, device)
    if indices is None:
        indices = np.arange(len(source))
    out = model_outputs(model, source, indices, batch_size, device, amp_enabled(device, False))
    if task_type == "classification":
        return torch.sigmoid(out).double().numpy()
    values = out.double().numpy()
    return target_scaler.inverse(values) if target_scaler is not None else values


def predict_loaded(loaded, features, indices=None, batch_size: int = 512) -> np.ndarray:
    """:func:`predict` for a :class:`~molprobe.training.checkpoint.LoadedModel`, with the
    task type and target scaler saved in its meta.json."""
    meta = loaded.meta
    scaler = TargetScaler.from_dict(meta.target_scaler) if meta.target_scaler else None
    return predict(loaded.model, features, indices, meta.task_type, scaler, batch_size)
