"""Reading the molecule table (molecules.parquet): the one reader every stage and CLI uses."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.chem.standardize import MOLECULE_ID_COLUMNS as ID_COLUMNS
from molprobe.errors import InputError


def read_molecule_table(path: Path, required: Sequence[str] = ("mol_id", "smiles")) -> pd.DataFrame:
    """molecules.parquet as a DataFrame; InputError naming the file when it cannot be read or
    lacks a ``required`` column."""
    try:
        mols = pd.read_parquet(path)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except Exception as err:
        raise InputError(path, f"cannot read Parquet: {err}") from None
    for col in required:
        if col not in mols.columns:
            raise InputError(path, f"missing column {col!r}")
    return mols


def task_columns(mols: pd.DataFrame, path: Path, tasks: Sequence[str] | None) -> list[str]:
    """The given ``tasks`` (checked), or every numeric non-id column."""
    if tasks is None:
        tasks = [
            c
            for c in mols.columns
            if c not in ID_COLUMNS and np.issubdtype(mols[c].dtype, np.number)
        ]
    missing = [t for t in tasks if t not in mols.columns]
    if missing:
        raise InputError(path, f"no task column(s) {missing}")
    if not tasks:
        raise InputError(path, "no task columns")
    return list(tasks)


def read_labelled_molecules(
    path: Path, tasks: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The molecule table (``mol_id``, ``smiles`` required) and its task columns (``tasks``,
    checked, or every numeric non-id column)."""
    mols = read_molecule_table(path, ("mol_id", "smiles"))
    return mols, task_columns(mols, path, tasks)
