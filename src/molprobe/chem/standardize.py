"""Standardize molecules with RDKit, and keep a ledger of every input that was rejected.

The recipe (`StandardizeRecipe`) is saved with every model, so screening standardizes exactly
as training did. Steps, in order, for one SMILES:

1. parse and sanitize (explicit hydrogens removed, as `Chem.MolFromSmiles` does);
2. optional full ``rdMolStandardize.Cleanup`` (normalize functional groups, disconnect metals,
   reionize; slow: about 1,200 molecules/s);
3. keep the largest *organic* fragment (one that contains carbon): strips salts, counter-ions,
   solvents and water. "Largest" follows rdMolStandardize.LargestFragmentChooser: most atoms
   counting hydrogens, then highest mass, then alphabetically first SMILES (so ``[C+]`` ionic-liquid cations
   win over the common triflimide anion, as in RDKit); about 3x faster than RDKit's chooser;
4. neutralize charges (``rdMolStandardize.Uncharger``: ``CC(=O)[O-]`` → ``CC(=O)O``;
   quaternary ammonium stays charged);
5. optional isotope removal (``[2H]``, ``[13C]`` → plain atoms);
6. heavy-atom limits, then canonical isomeric SMILES (stereo is kept).

Rejection reasons (the fixed vocabulary of the ``reason`` column of ``rejected.csv``):

- ``empty``: blank SMILES (or an empty line of a SMILES file);
- ``unparsable``: RDKit cannot parse the SMILES (syntax error), or the input row itself could not
  be read (an unreadable SDF record: its ``read_error`` is kept in ``detail``);
- ``valence``: parsed, but an atom exceeds its allowed valence (e.g. hypervalent ``[AlH3]``);
- ``kekulization``: parsed, but the aromatic system cannot be kekulized (e.g. ``c1cccc1``);
- ``no organic fragment``: no fragment contains carbon (``[Na+].[Cl-]``, ``[Fe]``, ``O``);
  only checked when ``largest_fragment`` is on;
- ``too large``: more than ``max_heavy_atoms`` heavy atoms after standardization;
- ``too small``: fewer than ``min_heavy_atoms`` heavy atoms after standardization;
- ``standardization failed``: an RDKit standardizer step raised (should be rare).

``rejected.csv`` also has a ``detail`` column with RDKit's message where one is cheap to get.
The unit of ``max_heavy_atoms`` / ``min_heavy_atoms`` is heavy (non-hydrogen) atoms.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

from molprobe.chem.io import MISSING_VALUES, detect_columns, read_molecules
from molprobe.errors import InputError

__all__ = [
    "REASONS",
    "Reconciliation",
    "StandardizeOutcome",
    "StandardizeRecipe",
    "StandardizeResult",
    "make_executor",
    "merge_duplicates",
    "reason_counts",
    "standardize_file",
    "standardize_frame",
    "standardize_many",
    "standardize_smiles",
]

RDLogger.DisableLog("rdApp.*")

EMPTY = "empty"
UNPARSABLE = "unparsable"
VALENCE = "valence"
KEKULIZATION = "kekulization"
NO_ORGANIC = "no organic fragment"
TOO_LARGE = "too large"
TOO_SMALL = "too small"
FAILED = "standardization failed"
REASONS = (EMPTY, UNPARSABLE, VALENCE, KEKULIZATION, NO_ORGANIC, TOO_LARGE, TOO_SMALL, FAILED)

#: columns of the molecule table (molecules.parquet) that are not tasks
MOLECULE_ID_COLUMNS = ("mol_id", "input_smiles", "smiles")
# molecules per task sent to a worker process
WORKER_BATCH = 2_000


# --------------------------------------------------------------------------- recipe


@dataclass(frozen=True)
class StandardizeRecipe:
    """How molecules are standardized; saved with models so screening matches training."""

    largest_fragment: bool = True  # keep the largest organic fragment (strip salts, solvents)
    neutralize: bool = True  # rdMolStandardize.Uncharger
    cleanup: bool = False  # full rdMolStandardize.Cleanup (slow, ~1,200 mol/s)
    remove_isotopes: bool = False
    max_heavy_atoms: int = 150
    min_heavy_atoms: int = 1

    def __post_init__(self):
        if self.min_heavy_atoms < 0 or self.max_heavy_atoms < self.min_heavy_atoms:
            raise ValueError(
                f"need 0 <= min_heavy_atoms <= max_heavy_atoms, got "
                f"{self.min_heavy_atoms} and {self.max_heavy_atoms}"
            )

    @property
    def spec(self) -> dict:
        """JSON-serialisable description: ``{"name": "rdkit-standardize", **fields}``."""
        return {"name": "rdkit-standardize", **asdict(self)}

    @classmethod
    def from_spec(cls, spec: dict) -> StandardizeRecipe:
        """Rebuild a recipe from `spec`; unknown keys are refused (they would change the result)."""
        spec = dict(spec)
        name = spec.pop("name", "rdkit-standardize")
        if name != "rdkit-standardize":
            raise ValueError(f"not a standardizer spec: name={name!r}")
        known = {f.name for f in fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown standardizer options: {sorted(unknown)}")
        return cls(**spec)


@dataclass(frozen=True)
class StandardizeResult:
    """Standardized canonical SMILES, or None with the rejection `reason` (see module doc)."""

    smiles: str | None
    reason: str | None
    detail: str | None = None
    # the standardized molecule: the parsed input when nothing changed it (same atoms, bonds
    # and ECFP as Chem.MolFromSmiles(smiles), atom order may differ), else the parsed output
    # (an edited molecule is always re-parsed: its output must parse). None for rejected
    # rows, and never sent between processes.
    mol: Chem.Mol | None = field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------------- one molecule

_TOOLS: dict[str, object] = {}


def _uncharger():
    if "uncharger" not in _TOOLS:
        _TOOLS["uncharger"] = rdMolStandardize.Uncharger(canonicalOrder=True)
    return _TOOLS["uncharger"]


_CARBON = Chem.MolFromSmarts("[#6]")
_CHARGED = Chem.MolFromSmarts("[!+0]")


def _has_carbon(mol: Chem.Mol) -> bool:
    return mol.HasSubstructMatch(_CARBON)


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:200]


def _parse(smiles: str) -> tuple[Chem.Mol | None, StandardizeResult | None]:
    """Parse + sanitize; on failure, re-parse without sanitization to tell why (failures are rare)."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is not None:
        return mol, None
    raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is None:
        return None, StandardizeResult(None, UNPARSABLE, "SMILES syntax error")
    try:
        Chem.SanitizeMol(raw)
    except Chem.AtomValenceException as err:
        return None, StandardizeResult(None, VALENCE, _short(err))
    except Chem.KekulizeException as err:
        return None, StandardizeResult(None, KEKULIZATION, _short(err))
    except Exception as err:  # noqa: BLE001 - other sanitization problems
        return None, StandardizeResult(None, UNPARSABLE, _short(err))
    # sanitizes on its own but MolFromSmiles failed (e.g. while removing hydrogens)
    return None, StandardizeResult(None, UNPARSABLE, "RDKit could not build the molecule")


def _largest_organic_fragment(mol: Chem.Mol, smiles: str | None = None) -> Chem.Mol | None:
    """The largest fragment that contains carbon, or None when no fragment does. ``smiles``:
    the SMILES ``mol`` was parsed from, when nothing changed it since (without a ".", it is
    one fragment)."""
    if smiles is not None and "." not in smiles:
        return mol if _has_carbon(mol) else None
    frags = Chem.GetMolFrags(mol)
    if len(frags) == 1:
        return mol if _has_carbon(mol) else None
    best, best_key = None, None
    for i, idx in enumerate(frags):
        atoms = [mol.GetAtomWithIdx(j) for j in idx]
        if not any(a.GetAtomicNum() == 6 for a in atoms):
            continue
        n_hs = sum(a.GetTotalNumHs() for a in atoms)
        n_all = len(atoms) + n_hs
        mass = round(sum(a.GetMass() for a in atoms) + 1.008 * n_hs, 3)
        key = (n_all, mass)
        if best_key is not None and key < best_key[:2]:
            continue
        frag_smiles = Chem.MolFragmentToSmiles(mol, idx)
        if best_key is None or key > best_key[:2] or frag_smiles < best_key[2]:
            best, best_key = i, (*key, frag_smiles)
    if best is None:
        return None
    keep = set(frags[best])
    rw = Chem.RWMol(mol)
    for j in sorted((j for j in range(mol.GetNumAtoms()) if j not in keep), reverse=True):
        rw.RemoveAtom(j)
    frag = rw.GetMol()
    frag.UpdatePropertyCache(strict=False)
    return frag


def standardize_smiles(smiles: str, recipe: StandardizeRecipe | None = None) -> StandardizeResult:
    """Standardize one SMILES with `recipe` (default recipe when None); never raises for bad input."""
    recipe = recipe or StandardizeRecipe()
    smiles = (smiles or "").strip() if isinstance(smiles, str) else ""
    if not smiles:
        return StandardizeResult(None, EMPTY)
    mol, failure = _parse(smiles)
    if failure is not None:
        return failure
    parsed = mol
    try:
        if recipe.cleanup:
            mol = rdMolStandardize.Cleanup(mol)
        if recipe.largest_fragment:
            mol = _largest_organic_fragment(mol, smiles if mol is parsed else None)
            if mol is None:
                return StandardizeResult(None, NO_ORGANIC)
        unchanged = not recipe.cleanup and not recipe.remove_isotopes and mol is parsed
        recheck = False
        if recipe.neutralize and mol.HasSubstructMatch(_CHARGED):  # no charge: nothing to do
            mol = _uncharger().uncharge(mol)
            recheck, unchanged = True, False
        if recipe.remove_isotopes:
            isotopic = False
            for atom in mol.GetAtoms():
                if atom.GetIsotope():
                    atom.SetIsotope(0)
                    isotopic = True
            if isotopic:
                mol = Chem.RemoveHs(mol)
        heavy = mol.GetNumHeavyAtoms()
        if heavy > recipe.max_heavy_atoms:
            return StandardizeResult(
                None, TOO_LARGE, f"{heavy} heavy atoms > {recipe.max_heavy_atoms}"
            )
        if heavy < recipe.min_heavy_atoms:
            return StandardizeResult(
                None, TOO_SMALL, f"{heavy} heavy atoms < {recipe.min_heavy_atoms}"
            )
        out = Chem.MolToSmiles(mol)
        if not unchanged:  # an edited molecule: its output must parse again, or it is rejected
            mol = Chem.MolFromSmiles(out)
            if mol is None and recheck:
                # neutralizing can leave an aromatic ring that no longer kekulizes (ferrocene's
                # cyclopentadienide -> "c1cccc1")
                msg = f"neutralized form {out} does not parse"
                return StandardizeResult(None, KEKULIZATION, msg)
            if mol is None:
                return StandardizeResult(None, FAILED, f"standardized form {out} does not parse")
    except Exception as err:  # noqa: BLE001 - RDKit standardizers raise assorted errors
        return StandardizeResult(None, FAILED, _short(err))
    return StandardizeResult(out, None, mol=mol)


def standardize_many(
    smiles: Sequence[str], recipe_spec: dict | StandardizeRecipe, keep_mols: bool = False
) -> list[StandardizeResult]:
    """Standardize a batch (top-level and picklable, so worker processes can run it); the
    results carry their molecules only with ``keep_mols`` (pickling them costs more than
    parsing again)."""
    recipe = (
        recipe_spec
        if isinstance(recipe_spec, StandardizeRecipe)
        else StandardizeRecipe.from_spec(recipe_spec)
    )
    results = [standardize_smiles(s, recipe) for s in smiles]
    if keep_mols:
        return results
    return [r if r.mol is None else replace(r, mol=None) for r in results]


# --------------------------------------------------------------------------- data frames


def make_executor(n_jobs: int) -> Executor:
    """A process pool for `standardize_frame`; the caller shuts it down (use as a context manager)."""
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    return ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context(method))


def resolve_jobs(n_jobs: int) -> int:
    """`n_jobs` <= 0 means all cores."""
    return max(1, os.cpu_count() or 1) if n_jobs <= 0 else n_jobs


def _run_batches(
    smiles: list[str],
    recipe: StandardizeRecipe,
    n_jobs: int,
    executor: Executor | None,
    keep_mols: bool = False,
) -> list[StandardizeResult]:
    if (n_jobs <= 1 and executor is None) or len(smiles) <= WORKER_BATCH // 4:
        return standardize_many(smiles, recipe, keep_mols)
    batches = [smiles[i : i + WORKER_BATCH] for i in range(0, len(smiles), WORKER_BATCH)]
    spec = recipe.spec
    if executor is not None:
        parts = executor.map(standardize_many, batches, [spec] * len(batches))
        return [r for part in parts for r in part]
    with make_executor(n_jobs) as pool:
        parts = pool.map(standardize_many, batches, [spec] * len(batches))
        return [r for part in parts for r in part]


_READER_COLUMNS = ("row", "input", "read_error")


def standardize_frame(
    chunk: pd.DataFrame,
    recipe: StandardizeRecipe | None = None,
    n_jobs: int = 1,
    *,
    executor: Executor | None = None,
    keep_mols: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardize one chunk from `read_molecules`.

    Returns ``(kept, rejected)``: kept has ``row``, ``input_smiles``, ``smiles`` and every other
    column of the chunk carried along (``id``, task columns); rejected has ``row``, ``input``,
    ``reason``, ``detail``. Rows with a ``read_error`` are rejected as ``unparsable``.
    With ``n_jobs > 1`` (or an `executor` from `make_executor`) batches run in worker processes.
    ``keep_mols``: kept also has a ``mol`` column, each row's standardized RDKit molecule (see
    `StandardizeResult.mol`; in-process runs only: molecules do not travel between processes).
    """
    recipe = recipe or StandardizeRecipe()
    n_jobs = resolve_jobs(n_jobs)
    if keep_mols and (n_jobs > 1 or executor is not None):
        raise ValueError("keep_mols needs in-process standardization (n_jobs=1, no executor)")
    inputs = chunk["input"].fillna("").astype(str).tolist()
    read_error = chunk["read_error"].tolist() if "read_error" in chunk else [None] * len(chunk)
    todo = [i for i, err in enumerate(read_error) if err is None or err != err]
    results = _run_batches([inputs[i] for i in todo], recipe, n_jobs, executor, keep_mols)

    out_mols: list[Chem.Mol | None] = [None] * len(chunk)
    out_smiles: list[str | None] = [None] * len(chunk)
    reasons: list[str | None] = [UNPARSABLE] * len(chunk)
    details: list[str | None] = [str(e) if e is not None else None for e in read_error]
    for i, res in zip(todo, results, strict=True):
        out_smiles[i], reasons[i], details[i] = res.smiles, res.reason, res.detail
        out_mols[i] = res.mol
    ok = np.array([s is not None for s in out_smiles], dtype=bool)

    carried = [c for c in chunk.columns if c not in _READER_COLUMNS]
    kept = pd.DataFrame(
        {
            "row": chunk["row"].to_numpy()[ok].astype("int64"),
            "input_smiles": pd.Series([inputs[i] for i in np.flatnonzero(ok)], dtype=object),
            "smiles": pd.Series([out_smiles[i] for i in np.flatnonzero(ok)], dtype=object),
        }
    )
    for col in carried:
        kept[col] = chunk[col].to_numpy()[ok]
    if keep_mols:
        kept["mol"] = pd.Series([out_mols[i] for i in np.flatnonzero(ok)], dtype=object)
    bad = np.flatnonzero(~ok)
    rejected = pd.DataFrame(
        {
            "row": chunk["row"].to_numpy()[bad].astype("int64"),
            "input": pd.Series([inputs[i] for i in bad], dtype=object),
            "reason": pd.Series([reasons[i] for i in bad], dtype=object),
            "detail": pd.Series([details[i] for i in bad], dtype=object),
        }
    )
    return kept, rejected


def merge_duplicates(
    df: pd.DataFrame, task_columns: Sequence[str], task_type: str = "classification"
) -> tuple[pd.DataFrame, int]:
    """Merge rows with the same standardized ``smiles`` into one; returns (merged, n_merged).

    The merged row keeps the first row's other columns (``row``, ``input_smiles``, ``id``).
    Labels, per task, over the measured (non-NaN) values of the duplicates:

    - classification (binary 0/1): the mean rounded to the majority label; a tie (as many 0 as 1)
      becomes NaN (not measured), since the measurements contradict each other;
    - regression: the mean.

    A task nobody measured stays NaN. Row order follows the first occurrence.
    """
    if task_type not in ("classification", "regression"):
        raise ValueError(f"task_type must be classification or regression, got {task_type!r}")
    dup = df["smiles"].duplicated(keep=False)
    if not dup.any():
        return df.reset_index(drop=True), 0
    merged = df.drop_duplicates("smiles", keep="first").reset_index(drop=True)
    task_columns = list(task_columns)
    if task_columns:
        means = df.loc[dup].groupby("smiles", sort=False)[task_columns].mean()
        if task_type == "classification":
            values = means.to_numpy(dtype=float)
            rounded = np.where(values > 0.5, 1.0, 0.0)
            rounded[np.isclose(values, 0.5) | np.isnan(values)] = np.nan
            means = pd.DataFrame(rounded, index=means.index, columns=task_columns)
        where = merged["smiles"].isin(means.index).to_numpy()
        new = means.loc[merged.loc[where, "smiles"]].to_numpy(dtype=float)
        merged.loc[where, task_columns] = new
    return merged, len(df) - len(merged)


# --------------------------------------------------------------------------- whole files


@dataclass
class Reconciliation:
    """Where every input row went: ``n_in == n_kept + n_rejected + n_merged``."""

    n_in: int
    n_kept: int
    n_rejected: int
    n_merged: int
    reasons: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise if rows were lost or invented (that would be a bug, not a data problem)."""
        total = self.n_kept + self.n_rejected + self.n_merged
        if self.n_in != total or sum(self.reasons.values()) != self.n_rejected:
            raise RuntimeError(
                f"standardize bookkeeping bug: n_in={self.n_in} != kept {self.n_kept} + "
                f"rejected {self.n_rejected} + merged {self.n_merged}, reasons {self.reasons}"
            )

    def line(self) -> str:
        """One line for logs: ``n_in=7831 kept=7823 rejected=8 merged=0``."""
        return (
            f"n_in={self.n_in} kept={self.n_kept} rejected={self.n_rejected} merged={self.n_merged}"
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StandardizeOutcome:
    """`molecules` (contract table: mol_id, input_smiles, smiles, task columns as float),
    `rejected` (row, input, reason, detail) and the `report`."""

    molecules: pd.DataFrame
    rejected: pd.DataFrame
    report: Reconciliation
    task_columns: list[str] = field(default_factory=list)
    metadata_columns: list[str] = field(default_factory=list)  # text columns, kept as given
    id_column: str | None = None  # the column mol_id came from (None: names or mol{row})
    ignored_columns: list[str] = field(default_factory=list)  # text columns named like outputs


# text columns with these names would clash with the reader's or the molecule table's columns
_RESERVED_NAMES = frozenset({"row", "input", "id", "read_error", "mol", *MOLECULE_ID_COLUMNS})


def _coerce_tasks(path: Path, chunk: pd.DataFrame, task_columns: Sequence[str]) -> None:
    """Turn task columns of `chunk` into float in place (NaN = missing); refuse non-numbers."""
    readable = chunk["read_error"].isna().to_numpy()
    for col in task_columns:
        text = chunk[col].fillna("").astype(str).str.strip()
        missing = text.str.lower().isin(MISSING_VALUES).to_numpy()
        values = pd.to_numeric(text.where(~missing, None), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(np.isnan(values) & ~missing & readable)
        if len(bad):
            i = bad[0]
            raise InputError(
                path,
                f"task column {col!r} has a non-numeric value {text.iloc[i]!r} "
                "(choose the task columns with --task-columns, or name the id column)",
                row=int(chunk["row"].iloc[i]),
            )
        chunk[col] = values


def _assign_mol_ids(molecules: pd.DataFrame) -> pd.Series:
    """`id` when given, else ``mol{row:06d}``; repeated ids get ``-{row}`` appended."""
    fallback = molecules["row"].map(lambda r: f"mol{int(r):06d}")
    if "id" in molecules:
        ids = molecules["id"].astype(object)
        given = ids.notna() & (ids.astype(str).str.strip() != "")
        mol_id = ids.astype(str).where(given, fallback)
    else:
        mol_id = fallback
    repeated = mol_id.duplicated(keep="first")
    if repeated.any():
        mol_id = mol_id.where(~repeated, mol_id + "-" + molecules["row"].astype(str))
    return mol_id.astype(object)


def standardize_file(
    path: str | os.PathLike,
    recipe: StandardizeRecipe | None = None,
    smiles_column: str | None = None,
    task_columns: Sequence[str] | None = None,
    task_type: str = "classification",
    id_column: str | None = None,
    n_jobs: int = 1,
    chunk_size: int = 10_000,
) -> StandardizeOutcome:
    """Read, standardize and de-duplicate a whole dataset; reconcile every input row.

    Columns get their roles from `molprobe.chem.io.detect_columns`: the SMILES column, the
    identifier (`id_column`, else the first of mol_id/id/compound_id/cid/name), the labels
    (`task_columns`, else every numeric column) and text metadata (kept as strings after the
    tasks). Label values become float (empty/NA = NaN); a non-numeric one raises `InputError`
    naming row and column. ``mol_id`` is the identifier, else ``mol{row:06d}`` (SMILES/SDF
    files: the molecule name when present).
    """
    recipe = recipe or StandardizeRecipe()
    path = Path(path)
    roles = detect_columns(path, smiles_column, id_column, task_columns)
    smiles_column, id_column = roles.smiles, roles.id
    task_columns = list(roles.labels)
    metadata = [c for c in roles.metadata if c not in _RESERVED_NAMES]
    ignored = [c for c in roles.metadata if c in _RESERVED_NAMES]

    n_jobs = resolve_jobs(n_jobs)
    kept_parts, rejected_parts, n_in = [], [], 0
    executor = make_executor(n_jobs) if n_jobs > 1 else None
    try:
        for chunk in read_molecules(
            path, smiles_column, id_column, [*task_columns, *metadata], chunk_size=chunk_size
        ):
            n_in += len(chunk)
            _coerce_tasks(path, chunk, task_columns)
            kept, rejected = standardize_frame(chunk, recipe, n_jobs, executor=executor)
            kept_parts.append(kept)
            rejected_parts.append(rejected)
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)

    kept = pd.concat(kept_parts, ignore_index=True)
    rejected = pd.concat(rejected_parts, ignore_index=True)
    merged, n_merged = merge_duplicates(kept, task_columns, task_type)
    merged.insert(0, "mol_id", _assign_mol_ids(merged))
    molecules = merged[["mol_id", "input_smiles", "smiles", *task_columns, *metadata]].copy()
    for col in task_columns:
        molecules[col] = molecules[col].astype("float64")
    report = Reconciliation(
        n_in=n_in,
        n_kept=len(molecules),
        n_rejected=len(rejected),
        n_merged=n_merged,
        reasons=reason_counts(rejected["reason"]),
    )
    report.check()
    return StandardizeOutcome(
        molecules.reset_index(drop=True),
        rejected,
        report,
        task_columns,
        metadata,
        id_column,
        ignored,
    )


def reason_counts(reasons: Iterable[str]) -> dict[str, int]:
    """{reason: count}, most frequent first."""
    counts = Counter(reasons)
    return {r: int(counts[r]) for r in sorted(counts, key=lambda r: (-counts[r], r))}
