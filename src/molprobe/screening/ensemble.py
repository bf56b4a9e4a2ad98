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
from molprobe.screening.domain import DEFAULT_THRESHOLD, DomainModel
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


def member_features(
    loaded: LoadedModel,
    smiles: Sequence[str],
    raw_blocks: dict[str, object] | None = None,
):
    """Features of ``smiles`` for one model, built from the specs saved with it.

    ``raw_blocks``: optional cache of unscaled vector blocks and graphs by featurizer spec (:func:`block_key`),
    shared by the members of an ensemble (seeds differ in their fitted descriptor scaler, not
    in the descriptors or graphs)."""
    from molprobe.chem.featurize import make_featurizer

    meta = loaded.meta
    specs = meta.featurizers
    kind = _input_kind(meta.model_name)
    if kind == "vector":
        return _vector_input(meta, specs, smiles, raw_blocks)
    featurizer = make_featurizer(specs[0])
    if kind == "graph":
        key = block_key(specs[0])  # seeds share the graphs; their descriptor scalers differ
        if raw_blocks is not None and key in raw_blocks:
            store = raw_blocks[key]
        else:
            store = featurizer(list(smiles))
            if raw_blocks is not None:
                raw_blocks[key] = store
        if len(specs) > 1:  # molecule-level inputs of the readout (e.g. descriptors)
            store = store.with_mol_features(_vector_input(meta, specs[1:], smiles, raw_blocks))
        return store
    ids, lengths = featurizer.encode(list(smiles), featurizer.max_len)
    return ids, lengths, int(meta.input_dims.get("vocab_size") or featurizer.vocab_size)


def block_key(spec: dict) -> str:
    """Cache key of a vector featurizer's raw output (its spec, keys sorted)."""
    return json.dumps(spec, sort_keys=True)


def _vector_input(meta, specs, smiles, raw_blocks) -> np.ndarray:
    """The vector blocks of ``specs`` side by side, float32 (n, F), descriptors scaled with
    the model's saved train-split scaler; raw blocks are looked up in / added to ``raw_blocks``."""
    from molprobe.chem.featurize import make_featurizer
    from molprobe.training.data import assemble_vectors

    if meta.descriptor_scaler is None and any(s.get("name") == "descriptors" for s in specs):
        raise MolprobeError(f"model {meta.model_name}: descriptor scaler missing")
    blocks = []
    for spec in specs:
        key = block_key(spec)
        if raw_blocks is not None and key in raw_blocks:
            X = np.asarray(raw_blocks[key], dtype=np.float32)  # callers may cache uint8 bits
        else:
            X = np.asarray(make_featurizer(spec)(list(smiles)), dtype=np.float32)
            if raw_blocks is not None:
                raw_blocks[key] = X
        blocks.append(X)
    X, _ = assemble_vectors(blocks, specs, meta.descriptor_scaler)
    return X


def _input_kind(model_name: str) -> str:
    from molprobe.models.registry import get_spec

    return get_spec(model_name).input_kind


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
        from molprobe.training.loop import predict
        from molprobe.training.losses import TargetScaler

        out = np.empty((len(self.members), len(smiles), len(self.tasks)), dtype=np.float32)
        cache: dict[str, object] = {}  # members with the same featurizer share one computation
        raw_blocks = dict(raw_blocks or {})  # ... and vector blocks before member scaling
        for k, member in enumerate(self.members):
            key = json.dumps(
                [member.meta.featurizers, member.meta.descriptor_scaler, member.meta.input_dims],
                sort_keys=True,
            )
            if key not in cache:
                cache[key] = member_features(member, smiles, raw_blocks)
            feats = cache[key]
            scaler = (
                TargetScaler.from_dict(member.meta.target_scaler)
                if member.meta.target_scaler
                else None
            )
            out[k] = predict(
                member.model, feats, None, self.task_type, scaler, batch_size=self.batch_size
            )
        return out


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
    domain = DomainModel(threshold=ad_threshold).fit(reference)
    return ModelEnsemble(members, dirs, list(tasks), members[0].meta.task_type, recipe, domain)


@dataclass(frozen=True)
class EnsembleLoader:
    """Picklable zero-argument loader (each screening worker loads the models once)."""

    paths: tuple[str, ...]
    device: str = "cpu"
    ad_threshold: float = DEFAULT_THRESHOLD

    def __call__(self) -> ModelEnsemble:
        return load_ensemble(self.paths, self.device, self.ad_threshold)
