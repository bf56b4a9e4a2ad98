"""Loading feature files (``molprobe featurize`` outputs) as the input of one model kind.

Vector files (ecfp.npz, descriptors.npz, ...) are concatenated; descriptor blocks are
imputed and scaled with train-split statistics (or a saved scaler state). Graph models take
the graph file first and optional vector files after it (molecule-level readout inputs).
Token models take one tokens.npz.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molprobe.chem.featurize import load_features
from molprobe.errors import InputError, MolprobeError
from molprobe.training.data import assemble_vectors


def load_vector_blocks(
    paths: Sequence[Path], n: int, train_idx: np.ndarray | None, scaler_state: dict | None = None
) -> tuple[np.ndarray, list[dict], dict | None]:
    """Concatenate vector feature files -> (X float32 (n, F), specs, descriptor scaler state)."""
    blocks, specs = [], []
    for path in paths:
        X, spec = load_features(path)
        if not isinstance(X, np.ndarray) or spec.get("name") == "tokens":
            raise InputError(path, f"expected vector features, got {spec.get('name')!r}")
        if X.shape[0] != n:
            raise InputError(path, f"{X.shape[0]} rows but the molecule table has {n}")
        blocks.append(X)
        specs.append(spec)
    X, state = assemble_vectors(blocks, specs, scaler_state, train_idx)
    return X, specs, state


def load_tokens(path: Path, n: int) -> tuple[tuple[np.ndarray, np.ndarray, int], dict]:
    """tokens.npz (ids (n, max_len), 0 = padding) -> ((ids, lengths, vocab_size), spec)."""
    from molprobe.chem.tokens import SmilesTokenizer

    ids, spec = load_features(path)
    if not isinstance(ids, np.ndarray) or spec.get("name") != "tokens":
        raise InputError(path, f"expected SMILES tokens, got {spec.get('name')!r} features")
    if ids.shape[0] != n:
        raise InputError(path, f"{ids.shape[0]} rows but the molecule table has {n}")
    vocab_size = SmilesTokenizer.from_spec(spec).vocab_size
    lengths = (ids != 0).sum(axis=1)
    return (ids, lengths, vocab_size), spec


def load_inputs(
    kind: str,
    paths: Sequence[Path],
    n: int,
    train_idx: np.ndarray | None,
    scaler_state: dict | None = None,
):
    """Features of the model's input kind (``vector`` | ``graph`` | ``tokens``) from files:
    (features, [spec...], descriptor scaler state or None).

    Descriptors are scaled with statistics of the ``train_idx`` rows, or with ``scaler_state``
    (the state saved with a trained model) when given."""
    paths = list(paths)
    if kind == "vector":
        return load_vector_blocks(paths, n, train_idx, scaler_state)
    if kind == "graph":
        if not paths:
            raise MolprobeError("graph models need a graph --features file")
        store, spec = load_features(paths[0])
        if isinstance(store, np.ndarray):
            raise InputError(
                paths[0], "expected a graph file (graph.pt) first, got vector features"
            )
        if len(store) != n:
            raise InputError(paths[0], f"{len(store)} graphs but the molecule table has {n}")
        if len(paths) == 1:
            return store, [spec], None
        X, specs, state = load_vector_blocks(paths[1:], n, train_idx, scaler_state)
        return store.with_mol_features(X), [spec, *specs], state
    if len(paths) != 1:
        raise MolprobeError(f"{kind} models take exactly one --features file, got {len(paths)}")
    feats, spec = load_tokens(paths[0], n)
    return feats, [spec], None
