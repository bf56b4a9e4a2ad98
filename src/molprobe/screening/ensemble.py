"""Load trained models as a screening ensemble and featurize new molecules exactly as in training.

A model directory holds ``meta.json`` + ``model.pt`` / ``model.skops``; any folder above model
directories may be given and is searched recursively. Members of different families mix: each
featurizes with the spec(s) saved in its own meta.json, so screening sees the same features the
model was trained on (descriptor scaling uses the train-split statistics saved with the model).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molprobe.chem.standardize import StandardizeRecipe
from molprobe.errors import MolprobeError
from molprobe.inference.inputs import ModelInputs
from molprobe.inference.predict import predict_loaded
from molprobe.screening.domain import DEFAULT_THRESHOLD, DomainModel, default_cache_dir
from molprobe.training.checkpoint import META_FILE, LoadedModel, load_model

REFERENCE_FILE = "train_smiles.txt"  # training molecules, one SMILES a line (domain reference)
RECIPE_KEY = "standardize_recipe"  # optional entry of meta.json


def find_model_dirs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """Model directories at or below ``paths`` (sorted; each holds a meta.json)."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise MolprobeError(f"{p}: no such model directory")
        if (p / META_FILE).is_file():
            found.append(p)
        else:
            found += sorted(m.parent for m in p.rglob(META_FILE))
    unique = sorted(dict.fromkeys(d.resolve() for d in found))
    if not unique:
        raise MolprobeError(
            f"no trained models (meta.json) found under {', '.join(str(p) for p in paths)}"
        )
    return unique


@dataclass
class ModelEnsemble:
    """Trained models sharing one task list; ``predict`` gives every member's predictions."""

    members: list[LoadedModel]
    dirs: list[Path]
    tasks: list[str]
    task_type: str
    recipe: StandardizeRecipe
    domain: DomainModel
    batch_size: int = 512

    def predict(
        self,
        smiles: Sequence[str],
        raw_blocks: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """float32 (n_members, n_molecules, n_tasks): probabilities or values in task units.

        ``raw_blocks``: vector blocks the caller already computed, float32 (n, F) by
        :func:`block_key` of their featurizer spec (e.g. the ECFP4 bits of the domain check)."""
        out = np.empty((len(self.members), len(smiles), len(self.tasks)), dtype=np.float32)
        cache: dict[str, object] = {}  # members with the same inputs share one computation
        raw_blocks = dict(raw_blocks or {})  # ... and raw blocks before member scaling
        for k, member in enumerate(self.members):
            inputs = ModelInputs.from_checkpoint(member)
            if inputs.key not in cache:
                cache[inputs.key] = inputs.featurize(smiles, raw_blocks)
            out[k] = predict_loaded(member, cache[inputs.key], batch_size=self.batch_size)
        return out

    def model_inputs(self) -> list[ModelInputs]:
        """One `ModelInputs` per distinct member input (featurizers, scaler, dimensions), in
        member order: what `predict` featurizes, and what screening workers compute."""
        distinct: dict[str, ModelInputs] = {}
        for member in self.members:
            inputs = ModelInputs.from_checkpoint(member)
            distinct.setdefault(inputs.key, inputs)
        return list(distinct.values())


def load_ensemble(
    paths: Sequence[str | os.PathLike],
    device: str = "cpu",
    ad_threshold: float = DEFAULT_THRESHOLD,
) -> ModelEnsemble:
    """Load every model at or below ``paths``; all must predict the same tasks."""
    from molprobe.training.device import resolve_device

    dirs = find_model_dirs(paths)
    dev = resolve_device(device)
    members, reference, recipes = [], [], set()
    for d in dirs:
        loaded = load_model(d)
        if hasattr(loaded.model, "to"):
            loaded.model.to(dev)
        members.append(loaded)
        ref = d / REFERENCE_FILE
        if ref.is_file():
            reference += ref.read_text().split()
        raw = json.loads((d / META_FILE).read_text())
        recipes.add(json.dumps(raw.get(RECIPE_KEY) or StandardizeRecipe().spec, sort_keys=True))
    tasks = members[0].meta.task_names
    for d, m in zip(dirs, members, strict=True):
        if m.meta.task_names != tasks or m.meta.task_type != members[0].meta.task_type:
            raise MolprobeError(
                f"{d}: predicts {m.meta.task_names} ({m.meta.task_type}) but {dirs[0]} predicts "
                f"{tasks}; an ensemble needs the same tasks"
            )
    if len(recipes) > 1:
        raise MolprobeError("the models were trained with different standardization recipes")
    recipe = StandardizeRecipe.from_spec(json.loads(recipes.pop()))
    domain = DomainModel(threshold=ad_threshold).fit(reference, cache_dir=default_cache_dir())
    return ModelEnsemble(members, dirs, list(tasks), members[0].meta.task_type, recipe, domain)


@dataclass(frozen=True)
class EnsembleLoader:
    """Picklable zero-argument loader (each screening worker loads the models once)."""

    paths: tuple[str, ...]
    device: str = "cpu"
    ad_threshold: float = DEFAULT_THRESHOLD

    def __call__(self) -> ModelEnsemble:
        return load_ensemble(self.paths, self.device, self.ad_threshold)
