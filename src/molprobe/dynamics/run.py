"""Application layer of the dynamics stage: from a molecule table's arrays to result objects.

The CLI (``molprobe.cli.dynamics``) parses arguments, calls one function here and writes files.
"""

from __future__ import annotations

import numpy as np

from molprobe.dynamics.gradient_flow import (
    GradientFlowConfig,
    GradientFlowResults,
    run_gradient_flow,
)
from molprobe.dynamics.gradients import prepare_fingerprints
from molprobe.errors import InputError


def subsample_rows(n_rows: int, n_molecules: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a random subset of ``n_molecules`` rows (all rows when 0 or more)."""
    rows = np.arange(n_rows)
    if n_molecules and n_rows > n_molecules:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n_molecules, replace=False))
    return rows


def gradient_flow(
    bits: np.ndarray, targets: np.ndarray, config: GradientFlowConfig
) -> GradientFlowResults:
    """Gradient flow on fingerprint bits (n, n_bits) and labels (n, n_tasks), NaN = missing.

    Rare and near-constant bits are dropped and the rest z-scored (``prepare_fingerprints``).
    """
    x, _ = prepare_fingerprints(bits)
    return run_gradient_flow(x, np.asarray(targets, dtype=np.float32), config)


def ecfp_bits(smiles, path=None) -> np.ndarray:
    """ECFP4 bits (n, 2048) of ``smiles``, or the matrix saved at ``path`` (aligned rows)."""
    if path is None:
        from molprobe.chem.featurize import ECFP

        return ECFP(radius=2, n_bits=2048)(list(smiles))
    from molprobe.chem.featurize import load_features

    features, _ = load_features(path)
    if getattr(features, "ndim", 0) != 2 or features.shape[0] != len(smiles):
        raise InputError(path, f"expected a ({len(smiles)} molecules, bits) feature matrix")
    return features
