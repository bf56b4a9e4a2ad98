"""Count fingerprints beside ECFP: ECFP counts as their own cached block, atom pairs and
topological torsions (RDKit's ``rdFingerprintGenerator``).

Registry names: ``ecfp_counts`` (:class:`ECFPCounts`, the ``ecfp`` featurizer with
``counts=True``; its spec is a plain ``ecfp`` spec, so checkpoints and screening rebuild it as
ECFP) and ``fp_counts`` (:class:`CountFingerprint`: ``kind`` atompair | torsion).
Output: uint8 (n_molecules, n_bits), the number of times a bit's features occur, capped at 255.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molprobe.chem.featurize import ECFP, parse_smiles
from molprobe.errors import MolprobeError

#: ``fp_counts`` kinds -> RDKit generator factory
GENERATORS = {
    "atompair": rdFingerprintGenerator.GetAtomPairGenerator,
    "torsion": rdFingerprintGenerator.GetTopologicalTorsionGenerator,
}


class ECFPCounts(ECFP):
    """ECFP counts (radius 2 = ECFP4 by default), uint8 (n, n_bits): :class:`ECFP` with
    ``counts=True``, cached apart from the ECFP bits other families read."""

    def __init__(
        self, radius: int = 2, n_bits: int = 2048, counts: bool = True, chirality: bool = False
    ):
        super().__init__(radius=radius, n_bits=n_bits, counts=counts, chirality=chirality)


class CountFingerprint:
    """Atom-pair (``kind="atompair"``) or topological-torsion (``kind="torsion"``) count
    fingerprint folded to ``n_bits``: ``__call__(smiles)`` -> uint8 (n, n_bits), counts
    capped at 255."""

    name = "fp_counts"

    def __init__(self, kind: str = "atompair", n_bits: int = 2048):
        if kind not in GENERATORS:
            raise MolprobeError(
                f"fp_counts: kind must be one of {sorted(GENERATORS)}, got {kind!r}"
            )
        if int(n_bits) < 1:
            raise MolprobeError(f"fp_counts: need n_bits >= 1, got {n_bits}")
        self.kind = kind
        self.n_bits = int(n_bits)
        self._gen = GENERATORS[kind](fpSize=self.n_bits)

    @property
    def spec(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_bits": self.n_bits}

    @property
    def n_features(self) -> int:
        return self.n_bits

    def mol_features(self, mol: Chem.Mol) -> np.ndarray:
        """Counts of one RDKit molecule, uint8 (n_bits,)."""
        return np.minimum(self._gen.GetCountFingerprintAsNumPy(mol), 255).astype(np.uint8)

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.empty((len(smiles), self.n_bits), dtype=np.uint8)
        count = self._gen.GetCountFingerprintAsNumPy
        for i, smi in enumerate(smiles):
            np.minimum(count(parse_smiles(smi)), 255, out=out[i], casting="unsafe")
        return out

    def __repr__(self) -> str:
        return f"CountFingerprint(kind={self.kind!r}, n_bits={self.n_bits})"
