"""Raw (unscaled) feature blocks of molecules, keyed by featurizer spec; no torch imported.

A block is what one featurizer spec computes for a list of standardized SMILES: ECFP bits
uint8 (n, n_bits), descriptors float (n, D), a graph store, token ids (n, L). Models that
read the same spec share its block (:func:`block_key`), so an ensemble computes each once.
Screening workers call :func:`raw_block` with the standardizer's molecules; this module
imports RDKit only (graph featurizers import torch themselves, on first use).
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping, Sequence

from rdkit import Chem

from molprobe.chem.featurize import RDKitDescriptors, make_featurizer

FeatureCache = MutableMapping[str, object]  # block_key(spec) -> raw (unscaled) block


def block_key(spec: dict) -> str:
    """Cache key of a featurizer's raw output: its spec as JSON, keys sorted."""
    return json.dumps(spec, sort_keys=True)


def raw_block(
    spec: dict,
    smiles: Sequence[str],
    cache: FeatureCache | None = None,
    mols: Sequence[Chem.Mol | None] | None = None,
    standardized: Sequence[Chem.Mol] | None = None,
):
    """The raw block of ``spec`` for ``smiles`` (standardized), read from or stored in
    ``cache``. ``mols``: aligned with ``smiles``, each exactly ``Chem.MolFromSmiles(smiles[i])``
    or None (parsed here); descriptor sets read them instead of parsing again.
    ``standardized``: the standardizer's molecule of each ``smiles[i]`` in any atom order;
    descriptor sets that do not depend on it (``atom_order_free``) read these instead."""
    key = block_key(spec)
    if cache is not None and key in cache:
        return cache[key]
    smiles = list(smiles)
    fz = make_featurizer(spec)
    if spec.get("name") == "tokens":
        raw = fz.encode(smiles, fz.max_len)[0]
    elif isinstance(fz, RDKitDescriptors):  # given molecules are read, None ones parsed
        order_free = standardized is not None and fz.atom_order_free
        raw = fz(smiles, standardized if order_free else mols)
    else:
        raw = fz(smiles)
    if cache is not None:
        cache[key] = raw
    return raw


def needs_torch(spec: dict) -> bool:
    """Whether computing ``spec``'s block imports torch (graph stores hold torch tensors)."""
    return spec.get("name") == "graph"


__all__ = ["FeatureCache", "block_key", "needs_torch", "raw_block"]
