"""Chemical concepts to probe for, per molecule and per atom.

Three levels of the hierarchy the probes test, and one family outside it:

- Level 1, *radicals*: functional groups (:mod:`molprobe.chem.groups`, curated SMARTS with
  sources; no ring, scaffold or chain counts).
- Level 2, *interaction centres* (:mod:`molprobe.chem.centres`): Donor, Acceptor,
  PosIonizable, NegIonizable, Aromatic, Hydrophobe, as presence / count bins ``>=1``,
  ``>=2``, ``>=3`` (one concept family per centre type).
- Level 3, *pharmacophores*: 2-point arrangements of the same centres in distance bins
  (``pair:Donor-Acceptor@5-6``: a donor and an acceptor 5 or 6 bonds apart; one concept family
  per pair type) and 3-point arrangements (``triplet:Acceptor-Aromatic-Donor``), all at
  topological distances >= 3 bonds.
- Level 0, *structural alerts* (:mod:`molprobe.chem.alerts`, ``alert:aromatic_nitro``): their
  own family (kind ``alert``), not part of the hierarchy, never pooled with levels 1-3.

``meta`` gives each binary concept a ``level``, a ``kind`` (group | centre | pair | triplet |
alert), a ``concept_family`` (nested and near-duplicate concepts share one, so per-level
statistics count each family once), a chemist's ``description`` and a ``source``.

Non-binary targets sit in ``counts``: matches of each group (``n:carboxylic_acid``), centres
of each type (``n:Donor``) and the shortest distance >= 3 bonds of each centre pair type
(``dist:Donor-Acceptor``; NaN when there is none). The conditional (hierarchy) probes use the
counts of the level below.

Atom membership follows RDKit atom order of ``Chem.MolFromSmiles(smiles)`` (hydrogens
implicit), the order the graph featurizer uses. Molecules that fail to parse have NaN labels
and no atoms.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rdkit import Chem, RDLogger

from molprobe.chem.alerts import ALERTS, alert_matches
from molprobe.chem.centres import (
    CENTRE_TYPES,
    DISTANCE_BINS,
    PAIR_TYPES,
    TRIPLET_TYPES,
    arrangements,
    find_centres,
    pair_name,
    triplet_name,
)
from molprobe.chem.groups import GROUPS, group_matches
from molprobe.errors import MolprobeError
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)

LEVELS = {1: "radicals", 2: "interaction centres", 3: "pharmacophores"}
ALERT_LEVEL = 0  # structural alerts: a family of their own, outside the hierarchy
LEVEL_NAMES = {ALERT_LEVEL: "structural alerts", **LEVELS}
COUNT_BINS = (1, 2, 3)
META_COLUMNS = ["concept", "level", "kind", "concept_family", "description", "source"]


@dataclass(frozen=True)
class ConceptOptions:
    """How concepts are computed. n_jobs: worker processes (1 = in process)."""

    n_jobs: int = 1


# ----------------------------------------------------------------------------- per molecule


@dataclass
class MolConcepts:
    """Raw concepts of one molecule (output of :func:`mol_concepts`).

    group_counts (n_groups,) int; centre_counts (n_centre_types,) int; pairs (n_pair_types,
    n_bins) bool; shortest (n_pair_types,) float (NaN = no pair >= 3 bonds apart); triplets
    (n_triplet_types,) bool; alert_counts (n_alerts,) int; atoms: {atom concept: sorted atom
    indices}; n_atoms.
    """

    n_atoms: int
    group_counts: np.ndarray
    centre_counts: np.ndarray
    pairs: np.ndarray
    shortest: np.ndarray
    triplets: np.ndarray
    alert_counts: np.ndarray
    atoms: dict[str, np.ndarray] = field(default_factory=dict)


def alert_name(name: str) -> str:
    """Concept name of a structural alert (``alert:<name>``: alerts and groups share names
    such as ``epoxide``)."""
    return f"alert:{name}"


def _atoms(matches) -> np.ndarray:
    return np.unique(np.fromiter((a for m in matches for a in m), np.int32))


def mol_concepts(mol: Chem.Mol) -> MolConcepts:
    """All raw concepts of one RDKit molecule (atom order as given)."""
    atoms: dict[str, np.ndarray] = {}
    found = group_matches(mol)
    group_counts = np.array([len(found.get(g.name, ())) for g in GROUPS], np.int32)
    atoms.update({name: _atoms(m) for name, m in found.items()})
    centres = find_centres(mol)
    centre_counts = np.array([len(centres[k]) for k in CENTRE_TYPES], np.int32)
    atoms.update({k: _atoms(v) for k, v in centres.items() if v})
    arr = arrangements(mol, centres)
    atoms.update(arr.atoms)
    hits = alert_matches(mol)
    alert_counts = np.array([len(hits.get(a.name, ())) for a in ALERTS], np.int32)
    atoms.update({alert_name(name): _atoms(m) for name, m in hits.items() if m})
    return MolConcepts(
        n_atoms=mol.GetNumAtoms(),
        group_counts=group_counts,
        centre_counts=centre_counts,
        pairs=arr.pairs,
        shortest=arr.shortest,
        triplets=arr.triplets,
        alert_counts=alert_counts,
        atoms=atoms,
    )


def _smiles_concepts(smiles: str) -> MolConcepts | None:
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return None if mol is None else mol_concepts(mol)


# ----------------------------------------------------------------------------- the table


@dataclass
class ConceptTable:
    """Concept labels of a list of molecules.

    Attributes:
        smiles: (n_molecules,) input SMILES.
        meta: one row per binary concept, columns :data:`META_COLUMNS` (level 1-3, or 0 for
            structural alerts).
        values: (n_molecules, n_concepts) float32: 1 present, 0 absent, NaN unknown.
        count_meta: one row per count target: ``concept``, ``level``, ``kind``, ``description``.
        counts: (n_molecules, n_counts) float32 (NaN unknown / distance undefined).
        atom_ptr: (n_molecules + 1,) int64 offsets of each molecule's atoms.
        atom_meta: one row per atom-level concept: ``concept``, ``level``, ``kind``.
        atom_members: sparse CSR (n_atoms_total, n_atom_concepts) bool membership.
    """

    smiles: list[str]
    meta: pd.DataFrame
    values: np.ndarray
    count_meta: pd.DataFrame
    counts: np.ndarray
    atom_ptr: np.ndarray
    atom_meta: pd.DataFrame
    atom_members: sp.csr_matrix

    @property
    def n_molecules(self) -> int:
        return len(self.smiles)

    @property
    def concepts(self) -> list[str]:
        return self.meta["concept"].tolist()

    def frame(self) -> pd.DataFrame:
        """Molecule-level labels as a DataFrame with (level, concept) column MultiIndex."""
        cols = pd.MultiIndex.from_arrays(
            [self.meta["level"].to_numpy(), self.meta["concept"].to_numpy()],
            names=["level", "concept"],
        )
        return pd.DataFrame(self.values, columns=cols)

    def column(self, concept: str) -> np.ndarray:
        """Labels (n_molecules,) of one binary concept or count target."""
        names = self.concepts
        if concept in names:
            return self.values[:, names.index(concept)]
        counts = self.count_meta["concept"].tolist()
        if concept in counts:
            return self.counts[:, counts.index(concept)]
        raise MolprobeError(f"unknown concept {concept!r}")

    def prevalence(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Fraction of molecules (of ``rows``) with each concept, NaNs ignored: (n_concepts,)."""
        v = self.values if rows is None else self.values[rows]
        with np.errstate(invalid="ignore"):
            return np.nanmean(v, axis=0) if len(v) else np.full(v.shape[1], np.nan)

    def atoms_of(self, mol: int, concept: str) -> np.ndarray:
        """Atom indices (local, RDKit order) of molecule ``mol`` in atom concept ``concept``."""
        k = self.atom_meta["concept"].tolist().index(concept)
        lo, hi = self.atom_ptr[mol], self.atom_ptr[mol + 1]
        col = self.atom_members[lo:hi, k].toarray().ravel()
        return np.flatnonzero(col)

    def select(self, rows: Sequence[int] | np.ndarray | None = None, concepts=None) -> ConceptTable:
        """A table for a subset of molecules (in the given order) and/or binary concepts."""
        rows = np.arange(self.n_molecules) if rows is None else np.asarray(rows, dtype=np.int64)
        keep = np.arange(len(self.meta))
        if concepts is not None:
            index = {c: i for i, c in enumerate(self.concepts)}
            missing = [c for c in concepts if c not in index]
            if missing:
                raise MolprobeError(f"unknown concepts: {missing[:5]}")
            keep = np.array([index[c] for c in concepts], dtype=np.int64)
        n_atoms = np.diff(self.atom_ptr)[rows]
        atom_rows = (
            np.concatenate([np.arange(self.atom_ptr[r], self.atom_ptr[r + 1]) for r in rows])
            if len(rows)
            else np.zeros(0, np.int64)
        )
        return ConceptTable(
            smiles=[self.smiles[r] for r in rows],
            meta=self.meta.iloc[keep].reset_index(drop=True),
            values=self.values[np.ix_(rows, keep)],
            count_meta=self.count_meta.copy(),
            counts=self.counts[rows],
            atom_ptr=np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64),
            atom_meta=self.atom_meta.copy(),
            atom_members=self.atom_members[atom_rows].tocsr(),
        )

    def frequent(self, rows=None, low: float = 0.01, high: float = 0.99) -> ConceptTable:
        """Keep binary concepts whose prevalence among ``rows`` lies in [low, high] (all
        molecules kept; the filter is computed on ``rows``, e.g. the probe set)."""
        prev = self.prevalence(rows)
        keep = (prev >= low) & (prev <= high)
        return self.select(None, [c for c, k in zip(self.concepts, keep, strict=True) if k])

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike) -> None:
        """Write the table as Parquet files into ``directory`` (created)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        mols = pd.DataFrame(self.values, columns=self.concepts)
        mols.insert(0, "n_atoms", np.diff(self.atom_ptr))
        mols.insert(0, "smiles", self.smiles)
        write_parquet(mols, d / "molecules.parquet")
        write_parquet(self.meta, d / "meta.parquet")
        counts = pd.DataFrame(self.counts, columns=self.count_meta["concept"].tolist())
        write_parquet(counts, d / "counts.parquet")
        write_parquet(self.count_meta, d / "count_meta.parquet")
        write_parquet(self.atom_meta, d / "atom_meta.parquet")
        coo = self.atom_members.tocoo()
        atoms = pd.DataFrame(
            {"atom": coo.row.astype(np.int64), "concept": coo.col.astype(np.int32)}
        )
        write_parquet(atoms, d / "atoms.parquet")

    @classmethod
    def load(cls, directory: str | os.PathLike) -> ConceptTable:
        d = Path(directory)
        try:
            mols = pd.read_parquet(d / "molecules.parquet")
            meta = pd.read_parquet(d / "meta.parquet")
            counts = pd.read_parquet(d / "counts.parquet")
            count_meta = pd.read_parquet(d / "count_meta.parquet")
            atom_meta = pd.read_parquet(d / "atom_meta.parquet")
            atoms = pd.read_parquet(d / "atoms.parquet")
        except (OSError, ValueError) as err:
            raise MolprobeError(f"{d}: not a concept table ({err})") from err
        n_atoms = mols["n_atoms"].to_numpy(np.int64)
        ptr = np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64)
        members = sp.csr_matrix(
            (np.ones(len(atoms), bool), (atoms["atom"].to_numpy(), atoms["concept"].to_numpy())),
            shape=(int(ptr[-1]), len(atom_meta)),
        )
        return cls(
            smiles=mols["smiles"].tolist(),
            meta=meta,
            values=mols[meta["concept"].tolist()].to_numpy(np.float32),
            count_meta=count_meta,
            counts=counts.to_numpy(np.float32),
            atom_ptr=ptr,
            atom_meta=atom_meta,
            atom_members=members,
        )


# ----------------------------------------------------------------------------- assembly


def concept_definitions() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(meta rows, count rows, atom rows) of every concept, in column order.

    meta rows follow :data:`META_COLUMNS`; count rows: concept, level, kind, description;
    atom rows: concept, level, kind."""
    meta, count_meta, atom_meta = [], [], []
    for g in GROUPS:
        meta.append((g.name, 1, "group", g.family, g.label, g.source))
        count_meta.append((f"n:{g.name}", 1, "group", f"number of {g.label} matches"))
        atom_meta.append((g.name, 1, "group"))
    src = "molprobe.chem.centres"
    for k in CENTRE_TYPES:
        for b in COUNT_BINS:
            meta.append((f"{k}>={b}", 2, "centre", k, f"at least {b} {k} centre(s)", src))
        count_meta.append((f"n:{k}", 2, "centre", f"number of {k} centres"))
        atom_meta.append((k, 2, "centre"))
    for a, b in PAIR_TYPES:
        for lo, hi in DISTANCE_BINS:
            name = pair_name(a, b, lo, hi)
            meta.append(
                (name, 3, "pair", f"pair:{a}-{b}", f"{a} and {b} {lo}-{hi} bonds apart", src)
            )
            atom_meta.append((name, 3, "pair"))
        count_meta.append((f"dist:{a}-{b}", 3, "pair", f"shortest {a}-{b} distance >= 3 bonds"))
    for a, b, c in TRIPLET_TYPES:
        name = triplet_name(a, b, c)
        meta.append((name, 3, "triplet", name, f"{a}, {b} and {c} pairwise >= 3 bonds apart", src))
        atom_meta.append((name, 3, "triplet"))
    for al in ALERTS:
        name = alert_name(al.name)
        meta.append((name, ALERT_LEVEL, "alert", name, al.description, al.source))
        atom_meta.append((name, ALERT_LEVEL, "alert"))
    return meta, count_meta, atom_meta  # fmt: skip


def compute_concepts(smiles: Sequence[str], options: ConceptOptions | None = None) -> ConceptTable:
    """Concept labels of every molecule in ``smiles`` (see module docstring).

    Runs ``options.n_jobs`` worker processes (fork) when > 1; logs molecules per second."""
    options = options or ConceptOptions()
    smiles = [str(s) if s is not None else "" for s in smiles]
    start = time.perf_counter()
    if options.n_jobs > 1 and len(smiles) > 1:
        with mp.get_context("fork").Pool(options.n_jobs) as pool:
            chunk = max(1, len(smiles) // (options.n_jobs * 16))
            results = pool.map(_smiles_concepts, smiles, chunksize=chunk)
    else:
        results = [_smiles_concepts(s) for s in smiles]
    elapsed = time.perf_counter() - start
    log.info(
        "concepts: %d molecules in %.1f s (%.0f mol/s), %d unparsable",
        len(smiles), elapsed, len(smiles) / max(elapsed, 1e-9), sum(r is None for r in results),
    )  # fmt: skip
    return assemble(smiles, results)


def assemble(smiles: list[str], results: list[MolConcepts | None]) -> ConceptTable:
    """Build the :class:`ConceptTable` from per-molecule results (None = unparsable)."""
    n = len(smiles)
    meta, count_meta, atom_meta = concept_definitions()
    bins = np.asarray(COUNT_BINS)
    values = np.full((n, len(meta)), np.nan, np.float32)
    counts = np.full((n, len(count_meta)), np.nan, np.float32)
    n_atoms = np.zeros(n, np.int64)
    for i, r in enumerate(results):
        if r is None:
            continue
        n_atoms[i] = r.n_atoms
        values[i] = np.concatenate(
            [
                r.group_counts > 0,
                (r.centre_counts[:, None] >= bins[None, :]).ravel(),
                r.pairs.ravel(),
                r.triplets,
                r.alert_counts > 0,
            ]
        )
        counts[i] = np.concatenate([r.group_counts, r.centre_counts, r.shortest])
    atom_index = {name: k for k, (name, _, _) in enumerate(atom_meta)}
    ptr = np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64)
    rows_list, cols_list = [], []
    for i, r in enumerate(results):
        if r is None:
            continue
        for name, idx in r.atoms.items():
            rows_list.append(ptr[i] + idx.astype(np.int64))
            cols_list.append(np.full(len(idx), atom_index[name], np.int32))
    rows = np.concatenate(rows_list) if rows_list else np.zeros(0, np.int64)
    cols = np.concatenate(cols_list) if cols_list else np.zeros(0, np.int32)
    members = sp.csr_matrix(
        (np.ones(len(rows), bool), (rows, cols)), shape=(int(ptr[-1]), len(atom_meta))
    )
    return ConceptTable(
        smiles=list(smiles),
        meta=pd.DataFrame(meta, columns=META_COLUMNS),
        values=values,
        count_meta=pd.DataFrame(count_meta, columns=["concept", "level", "kind", "description"]),
        counts=counts,
        atom_ptr=ptr,
        atom_meta=pd.DataFrame(atom_meta, columns=["concept", "level", "kind"]),
        atom_members=members,
    )


def atom_environments(
    smiles: Sequence[str], radius: int, n_bits: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Morgan (ECFP) environments of every atom up to ``radius`` bonds.

    Returns (features (n_atoms_total, n_bits) uint8: bits of the environments of radius
    0..radius centred on each atom, folded modulo n_bits; types (n_atoms_total,) int64: the
    unfolded identifier of each atom's largest environment, for node-level control tasks).
    Atoms follow RDKit order of ``Chem.MolFromSmiles``; unparsable molecules have no atoms.
    """
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius)
    feats, types = [], []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        if mol is None:
            continue
        ao = rdFingerprintGenerator.AdditionalOutput()
        ao.AllocateAtomToBits()
        gen.GetSparseCountFingerprint(mol, additionalOutput=ao)
        block = np.zeros((mol.GetNumAtoms(), n_bits), np.uint8)
        for a, ids in enumerate(ao.GetAtomToBits()):
            for ident in ids:
                block[a, ident % n_bits] = 1
            types.append(ids[-1] if ids else -1)
        feats.append(block)
    if not feats:
        return np.zeros((0, n_bits), np.uint8), np.zeros(0, np.int64)
    return np.concatenate(feats), np.asarray(types, np.int64)
