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


def distill_tables(d, tox21_path) -> list[str]:
    """In folder ``d``: molecules.parquet (the first 100 of 160 Tox21 molecules, labeled),
    unlabeled.parquet (the other 60; a label column beside them that must never be read),
    seed0.json / seed1.json (random 70/15/15 splits) and ecfp.npz (256-bit ECFP of the
    labeled rows). Returns the task names."""
    import json

    from molprobe.chem.featurize import ECFP, save_features

    smiles, Y, tasks = tox21_slice(160, str(tox21_path))
    lab, unl = smiles[:100], smiles[100:]
    mols = pd.DataFrame({"mol_id": [f"m{i}" for i in range(100)], "input_smiles": lab,
                         "smiles": lab})  # fmt: skip
    for t, task in enumerate(tasks):
        mols[task] = Y[:100, t]
    mols.to_parquet(d / "molecules.parquet")
    pd.DataFrame({"smiles": unl, "NR-AR": np.ones(len(unl))}).to_parquet(d / "unlabeled.parquet")
    for seed in (0, 1):
        p = np.random.default_rng(seed).permutation(100).tolist()
        split = {"method": "random", "seed": seed, "train": p[:70], "valid": p[70:85],
                 "test": p[85:]}  # fmt: skip
        (d / f"seed{seed}.json").write_text(json.dumps(split))
    fz = ECFP(n_bits=256)
    save_features(d / "ecfp.npz", fz(lab), fz.spec)
    return tasks
