"""One way to rebuild a trained model's inputs: :class:`ModelInputs`.

A checkpoint's meta.json records the featurizer spec of every input block (in column order),
the descriptor scaler fitted on its train split and the token vocabulary. ``ModelInputs``
turns that record into the model's input for any molecules, either by featurizing SMILES
anew (screening, shortcut perturbations) or by loading feature files and checking that they
were made with the same featurizers (evaluation, probing).

Feature kinds (the model family's ``input_kind``):
    vector: float32 (n, F), the blocks side by side, descriptors scaled as in training;
    graph: a GraphStore, with the vector blocks after the first spec as molecule features;
    tokens: (ids (n, L) int, lengths (n,), vocab_size).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rdkit import Chem

from molprobe.chem.blocks import FeatureCache, block_key, raw_block
from molprobe.chem.featurize import make_featurizer, spec_difference
from molprobe.errors import MolprobeError
from molprobe.models.registry import get_spec
from molprobe.training.checkpoint import CheckpointMeta, LoadedModel, check_featurizers, read_meta
from molprobe.training.data import assemble_vectors
from molprobe.training.features import load_inputs


@dataclass(frozen=True)
class ModelInputs:
    """How one trained model reads molecules (from its meta.json).

    Attributes: ``meta`` (the checkpoint's :class:`CheckpointMeta`); derived ``kind``
    (vector | graph | tokens), ``specs`` (featurizer specs in column order).
    """

    meta: CheckpointMeta

    @classmethod
    def from_checkpoint(cls, model: str | os.PathLike | LoadedModel) -> ModelInputs:
        """From a model directory (meta.json) or a loaded model."""
        if isinstance(model, LoadedModel):
            return cls(model.meta)
        return cls(read_meta(Path(model)))

    @property
    def kind(self) -> str:
        return get_spec(self.meta.model_name).input_kind

    @property
    def specs(self) -> list[dict]:
        return list(self.meta.featurizers)

    @property
    def key(self) -> str:
        """Equal for models that read identical inputs (featurizers, scaler, dimensions)."""
        m = self.meta
        return json.dumps([m.featurizers, m.descriptor_scaler, m.input_dims], sort_keys=True)

    # ------------------------------------------------------------------ from SMILES

    def featurize(
        self,
        smiles: Sequence[str],
        cache: FeatureCache | None = None,
        mols: Sequence[Chem.Mol | None] | None = None,
    ):
        """The model input for ``smiles`` (standardized), featurized with the saved specs.

        ``cache``: raw blocks by :func:`block_key`, read and filled here; members of an
        ensemble share it (seeds differ in their fitted descriptor scaler, not in the raw
        descriptors, fingerprints or graphs). ``mols``: aligned with ``smiles``, each either
        exactly ``Chem.MolFromSmiles(smiles[i])`` (parsed from that very string, so atom
        order and every descriptor value are the same) or None; descriptors read them
        instead of parsing again."""
        smiles = list(smiles)
        specs = self.specs
        if self.kind == "vector":
            return self._vectors(specs, smiles, cache, mols)
        raw = raw_block(specs[0], smiles, cache)
        if self.kind == "graph":
            if len(specs) > 1:  # molecule-level inputs of the readout (e.g. descriptors)
                raw = raw.with_mol_features(self._vectors(specs[1:], smiles, cache, mols))
            return raw
        ids = np.asarray(raw)
        vocab = self.meta.input_dims.get("vocab_size") or make_featurizer(specs[0]).vocab_size
        return ids, (ids != 0).sum(axis=1), int(vocab)

    def from_feature_cache(self, cached: Mapping[str, tuple[object, dict]], smiles: Sequence[str]):
        """The model input for all molecules of a dataset whose features are cached.

        ``cached``: featurizer name -> (features aligned with ``smiles``, spec), e.g. the
        dataset's feature files; a block whose cached spec differs from the model's (or whose
        length differs) is recomputed from ``smiles``."""
        cache: dict[str, object] = {}
        for spec in self.specs:
            hit = cached.get(spec.get("name"))
            same = hit is not None and spec_difference(spec, hit[1]) is None
            if same and len(hit[0]) == len(smiles):
                cache[block_key(spec)] = hit[0]
        return self.featurize(smiles, cache)

    # ------------------------------------------------------------------ from files

    def load(self, paths: Sequence[Path], n: int):
        """The model input from feature files aligned with a molecule table of ``n`` rows;
        MolprobeError when the files were made with other featurizers than the model's."""
        features, specs, _ = load_inputs(
            self.kind, list(paths), n, None, scaler_state=self.meta.descriptor_scaler
        )
        check_featurizers(self.meta, specs)
        return features

    # ------------------------------------------------------------------ helpers

    def _vectors(self, specs: list[dict], smiles: list[str], cache: FeatureCache | None, mols=None):
        if self.meta.descriptor_scaler is None and any(
            s.get("name") == "descriptors" for s in specs
        ):
            raise MolprobeError(f"model {self.meta.model_name}: descriptor scaler missing")
        blocks = [np.asarray(raw_block(s, smiles, cache, mols), dtype=np.float32) for s in specs]
        X, _ = assemble_vectors(blocks, specs, self.meta.descriptor_scaler)
        return X
