"""Train/valid/test splits: random and Bemis–Murcko scaffold, deterministic given a seed.

A split is three sorted arrays of row positions into molecules.parquet. Scaffold splits keep
every molecule of one scaffold in one part, so the test set holds chemotypes the model never saw.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem.Scaffolds import MurckoScaffold

from molprobe.errors import MolprobeError

METHODS = ("random", "scaffold")


@dataclass(frozen=True)
class Split:
    """Row positions (into the molecule table) of each part."""

    method: str
    seed: int
    fractions: tuple[float, float, float]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "seed": self.seed,
            "fractions": list(self.fractions),
            "sizes": {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)},
            "train": self.train.tolist(),
            "valid": self.valid.tolist(),
            "test": self.test.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Split:
        return cls(
            method=d["method"],
            seed=int(d["seed"]),
            fractions=tuple(d["fractions"]),
            train=np.asarray(d["train"], dtype=np.int64),
            valid=np.asarray(d["valid"], dtype=np.int64),
            test=np.asarray(d["test"], dtype=np.int64),
        )


def _check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise MolprobeError(
            f"split fractions must be three non-negative numbers summing to 1, got {list(fractions)}"
        )
    return tuple(float(f) for f in fractions)


def murcko_scaffold(smiles: str) -> str:
    """Bemis–Murcko scaffold SMILES (ring systems + linkers, no chirality); '' for acyclic."""
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles  # unparsable input forms its own group
    return MurckoScaffold.MurckoScaffoldSmiles(mol=mol, includeChirality=False)


def random_split(n: int, fractions: Sequence[float], seed: int) -> Split:
    fr = _check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fr[0] * n))
    n_valid = int(round(fr[1] * n))
    parts = order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]
    return Split("random", seed, fr, *(np.sort(p) for p in parts))


def scaffold_split(smiles: Sequence[str], fractions: Sequence[float], seed: int) -> Split:
    """Balanced scaffold split (as in chemprop): scaffold sets larger than half the test
    size go first (to train, so large chemotypes do not swamp valid/test), the rest in a
    seeded random order; sets fill train, then valid, then test."""
    fr = _check_fractions(fractions)
    n = len(smiles)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(smiles):
        groups[murcko_scaffold(s)].append(i)
    sets = list(groups.values())
    rng = np.random.default_rng(seed)
    big_limit = fr[2] * n / 2
    big = [s for s in sets if len(s) > big_limit]
    small = [s for s in sets if len(s) <= big_limit]
    rng.shuffle(big)
    rng.shuffle(small)
    n_train, n_valid = fr[0] * n, fr[1] * n
    train, valid, test = [], [], []
    for group in big + small:
        if len(train) + len(group) <= n_train:
            train.extend(group)
        elif len(valid) + len(group) <= n_valid:
            valid.extend(group)
        else:
            test.extend(group)
    as_array = lambda xs: np.sort(np.asarray(xs, dtype=np.int64))  # noqa: E731
    return Split("scaffold", seed, fr, as_array(train), as_array(valid), as_array(test))


def make_split(method: str, smiles: Sequence[str], fractions: Sequence[float], seed: int) -> Split:
    if method == "random":
        return random_split(len(smiles), fractions, seed)
    if method == "scaffold":
        return scaffold_split(smiles, fractions, seed)
    raise MolprobeError(f"unknown split method {method!r}; choose one of {', '.join(METHODS)}")
