"""Checkpoints: ``model.pt`` (state_dict only) or ``model.skops`` (baselines) + ``meta.json``.

``meta.json`` records everything needed to rebuild and trust the model: registry name,
class, hyperparameters, input sizes, featurizer spec(s), descriptor scaler state, task
names and type, target standardisation, molprobe version, training-data fingerprint,
split and seed. Loading rebuilds the model from the registry and reads the weights with
``torch.load(weights_only=True)``, so a model.pt that tries to run code is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from molprobe import __version__
from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import write_atomic, write_json  # noqa: F401  (re-exported: the one writer)
from molprobe.models.registry import InputDims, build_model, get_spec, make_params

log = logging.getLogger(__name__)

META_FORMAT = 1
WEIGHTS_FILE = "model.pt"
SKLEARN_FILE = "model.skops"
META_FILE = "meta.json"
REQUIRED_KEYS = (
    "format",
    "model_name",
    "model_class",
    "hyperparameters",
    "input_dims",
    "featurizers",
    "task_names",
    "task_type",
    "molprobe_version",
)


@dataclass
class CheckpointMeta:
    """Contents of meta.json (see module docstring); ``featurizers`` is a list of specs in
    the order their columns are concatenated."""

    model_name: str
    model_class: str
    hyperparameters: dict[str, Any]
    input_dims: dict[str, int]
    featurizers: list[dict[str, Any]]
    task_names: list[str]
    task_type: str
    descriptor_scaler: dict[str, Any] | None = None
    target_scaler: dict[str, Any] | None = None
    train_config: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    split: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    best_epoch: int = 0
    standardize_recipe: dict[str, Any] | None = None  # how the training molecules were standardized
    molprobe_version: str = __version__
    format: int = META_FORMAT

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CheckpointMeta:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def of_fit(
        cls,
        model: Any,
        params: Any,
        dims: Any,
        train_config: Any,
        train_smiles: Sequence[str],
        train_labels: np.ndarray,
        **fields: Any,
    ) -> CheckpointMeta:
        """The meta of a model just fitted: its class path, hyperparameters, input dims and
        training settings (dataclasses, stored as dicts) and the fingerprint of its training
        data (SMILES and labels, shape (n_train, n_tasks)); ``fields`` are the other fields
        (model_name, featurizers, task_names, task_type, scalers, split, seed, ...)."""
        return cls(
            model_class=f"{type(model).__module__}.{type(model).__qualname__}",
            hyperparameters=dataclasses.asdict(params),
            input_dims=dataclasses.asdict(dims),
            train_config=dataclasses.asdict(train_config),
            data_fingerprint=data_fingerprint(train_smiles, train_labels),
            **fields,
        )


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint directory, in eval mode, plus its metadata."""

    model: Any
    meta: CheckpointMeta


def data_fingerprint(smiles: Sequence[str], Y: np.ndarray) -> str:
    """sha256 (hex) of the training SMILES (newline-joined) and labels (float64, NaN kept)."""
    h = hashlib.sha256()
    h.update("\n".join(smiles).encode())
    h.update(np.ascontiguousarray(np.asarray(Y, dtype=np.float64)).tobytes())
    return h.hexdigest()


def save_checkpoint(directory: str | os.PathLike, model: Any, meta: CheckpointMeta) -> None:
    """Write the weights (torch: ``model.pt`` state_dict; baselines: ``model.skops``) and
    ``meta.json`` into ``directory`` atomically."""
    directory = Path(directory)
    spec = get_spec(meta.model_name)
    if spec.framework == "torch":
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        write_atomic(directory / WEIGHTS_FILE, lambda p: torch.save(state, p))
    else:
        from molprobe.models.baselines import save_baseline

        write_atomic(directory / SKLEARN_FILE, lambda p: save_baseline(model, p))
    write_json(directory / META_FILE, meta.to_dict())


def read_meta(directory: str | os.PathLike) -> CheckpointMeta:
    """Read and validate ``meta.json`` (required keys, format version, known model)."""
    path = Path(directory) / META_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise MolprobeError(f"{path}: no such file (not a molprobe model directory)") from None
    except json.JSONDecodeError as err:
        raise MolprobeError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise MolprobeError(f"{path}: expected a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise MolprobeError(f"{path}: missing key(s) {missing}")
    if raw["format"] != META_FORMAT:
        raise MolprobeError(
            f"{path}: checkpoint format {raw['format']} is not supported by molprobe "
            f"{__version__} (expects {META_FORMAT})"
        )
    get_spec(raw["model_name"])  # unknown model -> MolprobeError
    if raw["molprobe_version"] != __version__:
        log.warning(
            "%s: model saved by molprobe %s, loading with %s",
            path,
            raw["molprobe_version"],
            __version__,
        )
    return CheckpointMeta.from_dict(raw)


def check_featurizers(meta: CheckpointMeta, expected: dict | Sequence[dict] | None) -> None:
    """Refuse features made differently from the model's: MolprobeError naming the parameter."""
    if expected is None:
        return
    expected = [expected] if isinstance(expected, dict) else list(expected)
    saved = meta.featurizers
    if [s.get("name") for s in saved] != [e.get("name") for e in expected]:
        raise MolprobeError(
            f"featurizer mismatch: model {meta.model_name!r} was trained on "
            f"{[s.get('name') for s in saved]}, got {[e.get('name') for e in expected]}"
        )
    from molprobe.chem.featurize import spec_difference

    for s, e in zip(saved, expected, strict=True):
        diff = spec_difference(s, e)
        if diff is not None:
            raise MolprobeError(
                f"featurizer mismatch for {s.get('name')!r}: {diff} (the model was trained "
                "with the expected value; re-featurize with the model's spec)"
            )


#: what ``torch.load(weights_only=True)`` raises on a file that is not a plain tensor
#: state_dict (IndexError: its unpickler on some non-pickle bytes, e.g. a text file)
UNREADABLE_WEIGHTS = (
    pickle.UnpicklingError,
    RuntimeError,
    EOFError,
    ValueError,
    AttributeError,
    IndexError,
)


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (a model's model.pt, a pretrained encoder), read with
    ``torch.load(weights_only=True)``: a file that is missing, corrupt or not a plain tensor
    state_dict (e.g. a pickle carrying code) raises MolprobeError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MolprobeError(f"{path}: no such file") from None
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except UNREADABLE_WEIGHTS as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise MolprobeError(
            f"{path}: refusing to load: not a plain tensor state_dict (it may contain code or "
            f"be corrupt): {first}"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise MolprobeError(f"{path}: refusing to load: expected a state_dict of tensors")
    return state


def read_init_state(path: str | os.PathLike | None) -> dict[str, torch.Tensor] | None:
    """The starting weights of a fine-tuning run (``--init``; None: a fresh start): the
    tensors of ``path``, at least one."""
    if path is None:
        return None
    state = read_state_dict(path)
    if not state:
        raise InputError(path, "holds no tensors")
    return state


def load_model(
    directory: str | os.PathLike, expected_featurizer: dict | Sequence[dict] | None = None
) -> LoadedModel:
    """Rebuild a trained model from ``directory`` (meta.json + model.pt / model.skops).

    ``expected_featurizer``: the spec(s) of the features you will feed; a difference in
    any parameter raises MolprobeError naming it. A model.pt that is not a plain tensor
    state_dict (e.g. a pickle carrying code) is refused.
    """
    directory = Path(directory)
    meta = read_meta(directory)
    check_featurizers(meta, expected_featurizer)
    spec = get_spec(meta.model_name)
    params = make_params(meta.model_name, meta.hyperparameters)
    dims = InputDims(**meta.input_dims)
    if spec.framework == "sklearn":
        from molprobe.models.baselines import load_baseline

        path = directory / SKLEARN_FILE
        if not path.is_file():
            raise MolprobeError(f"{path}: no such file")
        return LoadedModel(load_baseline(path), meta)

    path = directory / WEIGHTS_FILE
    state = read_state_dict(path)
    model = build_model(meta.model_name, params, dims, len(meta.task_names))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise MolprobeError(
            f"{path}: weights do not fit model {meta.model_class} with the saved hyperparameters: "
            f"{str(err).splitlines()[0]}"
        ) from None
    model.eval()
    return LoadedModel(model, meta)
