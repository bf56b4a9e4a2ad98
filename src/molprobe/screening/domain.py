"""Applicability domain: max Tanimoto similarity (ECFP4, 2048 bits) to the training molecules.

A library molecule is *in domain* when its nearest training neighbour has Tanimoto
similarity >= ``threshold`` (default 0.35; below ~0.3 ECFP4 neighbours are rarely related).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator

DEFAULT_THRESHOLD = 0.35


def _generator():
    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)


@dataclass
class DomainModel:
    """Nearest-neighbour applicability domain over a reference set of SMILES."""

    threshold: float = DEFAULT_THRESHOLD

    def fit(self, smiles: Sequence[str]) -> DomainModel:
        RDLogger.DisableLog("rdApp.*")
        gen = _generator()
        fps = []
        for s in dict.fromkeys(smiles):  # unique, order kept
            mol = Chem.MolFromSmiles(s)
            if mol is not None:
                fps.append(gen.GetFingerprint(mol))
        self.reference_ = fps
        return self

    @property
    def n_reference(self) -> int:
        return len(self.reference_)

    def similarity(self, mols: Sequence[Chem.Mol | None]) -> np.ndarray:
        """Max Tanimoto to the reference per molecule, float32 (n,); NaN for None."""
        gen = _generator()
        out = np.full(len(mols), np.nan, dtype=np.float32)
        if not self.reference_:
            return out
        for i, mol in enumerate(mols):
            if mol is not None:
                sims = DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(mol), self.reference_)
                out[i] = max(sims)
        return out

    def in_domain(self, similarity: np.ndarray) -> np.ndarray:
        return np.nan_to_num(similarity, nan=0.0) >= self.threshold
