"""Small real Tox21 slices for the model / training tests (RDKit-parsed, no mocks)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

TOX21 = Path(__file__).resolve().parents[3] / "shared" / "data" / "tox21.csv.gz"


@functools.lru_cache(maxsize=4)
def tox21_slice(n: int = 120, path: str | None = None) -> tuple[list[str], np.ndarray, list[str]]:
    """First ``n`` parsable, organic Tox21 molecules: (canonical SMILES, labels (n, 12) with NaN,
    task names)."""
    df = pd.read_csv(path or TOX21, nrows=3 * n)
    tasks = [c for c in df.columns if c not in ("smiles", "mol_id")]
    smiles, rows = [], []
    for i, s in enumerate(df["smiles"]):
        mol = Chem.MolFromSmiles(s)
        if mol is None or mol.GetNumHeavyAtoms() < 2 or "." in s:
            continue
        smiles.append(Chem.MolToSmiles(mol))
        rows.append(i)
        if len(smiles) == n:
            break
    Y = df.iloc[rows][tasks].to_numpy(dtype=np.float64)
    return smiles, Y, tasks


def ecfp_bits(smiles: list[str], n_bits: int = 2048) -> np.ndarray:
    """ECFP4 bits (uint8) computed directly with RDKit."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=n_bits)
    return np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles]).astype(
        np.uint8
    )


def random_split(n: int, seed: int = 0):
    from molprobe.training.data import Split

    p = np.random.default_rng(seed).permutation(n)
    a, b = int(0.7 * n), int(0.85 * n)
    return Split(p[:a], p[a:b], p[b:])
