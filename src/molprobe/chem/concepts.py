"""Chemical concepts to probe for, at three levels, per molecule and per atom.

- Level 1, *radicals* (functional groups): RDKit's fragment definitions
  (``Data/FragmentDescriptors.csv``, the SMARTS behind ``rdkit.Chem.Fragments.fr_*``).
- Level 2, *interaction centres*: pharmacophoric feature families of RDKit's
  ``BaseFeatures.fdef`` (Donor, Acceptor, PosIonizable, NegIonizable, Aromatic, Hydrophobe,
  LumpedHydrophobe, ZnBinder), as presence / count bins ``>=1``, ``>=2``, ``>=3``.
- Level 3, *pharmacophores*: 2- and 3-point Gobbi-Poppinger 2D pharmacophores (RDKit
  ``Pharm2D`` + ``Gobbi_Pharm2D.factory``, topological distance bins), exact-distance pairs of
  centres (``pair:Donor-Acceptor@3``: a donor and an acceptor exactly 3 bonds apart), and the
  named structural alerts of :mod:`molprobe.chem.alerts`.

Harder (non-binary) targets sit in ``counts``: number of each group (``n:fr_COO``), of each
centre (``n:Donor``), and the shortest topological distance between two centre types
(``dist:Donor-Acceptor``; NaN when one is absent).

Atom membership follows RDKit atom order of ``Chem.MolFromSmiles(smiles)`` (hydrogens
implicit), the order the graph featurizer uses. Molecules that fail to parse have NaN labels
and no atoms; molecules whose Gobbi fingerprint exceeds the time cap have NaN Pharm2D labels.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rdkit import Chem, RDConfig, RDLogger

from molprobe.chem.alerts import ALERTS, alert_matches
from molprobe.errors import MolprobeError
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)

LEVELS = {1: "radicals", 2: "interaction centres", 3: "pharmacophores"}
FEATURE_FAMILIES = (
    "Donor",
    "Acceptor",
    "PosIonizable",
    "NegIonizable",
    "Aromatic",
    "Hydrophobe",
    "LumpedHydrophobe",
    "ZnBinder",
)
COUNT_BINS = (1, 2, 3)
# centre pairs whose exact topological distance is a level-3 concept
CENTRE_PAIRS = (
    ("Donor", "Acceptor"),
    ("Donor", "Donor"),
    ("Acceptor", "Acceptor"),
    ("Donor", "Aromatic"),
    ("Acceptor", "Aromatic"),
    ("Aromatic", "Aromatic"),
    ("PosIonizable", "Aromatic"),
    ("NegIonizable", "Aromatic"),
    ("Hydrophobe", "Acceptor"),
)
MAX_PAIR_DISTANCE = 8  # bonds; pair concepts for d = 1..MAX_PAIR_DISTANCE


@dataclass(frozen=True)
class ConceptOptions:
    """How concepts are computed.

    pharm2d: compute Gobbi 2D pharmacophores (the slow part). pharm2d_timeout_s: per-molecule
    cap (seconds of wall time; molecules over it get NaN Pharm2D labels). pharm2d_min_prevalence
    / pharm2d_max_kept: keep the most frequent Pharm2D bits present in at least this fraction of
    molecules, at most this many. n_jobs: worker processes (1 = in process).
    """

    pharm2d: bool = True
    pharm2d_timeout_s: float = 1.0
    pharm2d_min_prevalence: float = 0.01
    pharm2d_max_kept: int = 200
    n_jobs: int = 1


# ----------------------------------------------------------------------------- definitions


@dataclass(frozen=True)
class Fragment:
    """A level-1 group: ``name`` (``fr_*``), SMARTS, RDKit's description."""

    name: str
    smarts: str
    description: str


@lru_cache(maxsize=1)
def fragment_definitions() -> tuple[Fragment, ...]:
    """The fr_* groups of RDKit's ``FragmentDescriptors.csv`` (same parsing as
    ``rdkit.Chem.Fragments``; names with ``=``/``-`` replaced by ``_`` as RDKit does)."""
    path = Path(RDConfig.RDDataDir) / "FragmentDescriptors.csv"
    out = []
    with open(path) as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                continue
            name = parts[0].replace("=", "_").replace("-", "_")
            out.append(Fragment(name, parts[2], parts[1].replace('"', "")))
    return tuple(out)


@lru_cache(maxsize=1)
def _fragment_patterns() -> tuple[Chem.Mol, ...]:
    return tuple(Chem.MolFromSmarts(f.smarts) for f in fragment_definitions())


@lru_cache(maxsize=1)
def feature_factory():
    """RDKit's BaseFeatures.fdef feature factory (built once per process)."""
    from rdkit.Chem import ChemicalFeatures

    return ChemicalFeatures.BuildFeatureFactory(
        os.path.join(RDConfig.RDDataDir, "BaseFeatures.fdef")
    )


def gobbi_factory():
    """RDKit's Gobbi-Poppinger 2D pharmacophore signature factory (2-3 points)."""
    from rdkit.Chem.Pharm2D import Gobbi_Pharm2D

    return Gobbi_Pharm2D.factory


def pair_name(a: str, b: str, d: int) -> str:
    return f"pair:{a}-{b}@{d}"


# ----------------------------------------------------------------------------- per molecule


@dataclass
class MolConcepts:
    """Raw concepts of one molecule (output of :func:`mol_concepts`).

    fragment_counts (n_fragments,) int; centre_counts (n_families,) int; pair_distances
    (n_pairs, MAX_PAIR_DISTANCE) bool (d = column + 1); shortest (n_pairs,) float (NaN = absent);
    alert_counts (n_alerts,) int; atoms: {atom concept name: sorted atom indices};
    pharm2d_bits: on-bits, None when skipped or over the time cap; n_atoms; seconds.
    """

    n_atoms: int
    fragment_counts: np.ndarray
    centre_counts: np.ndarray
    pair_distances: np.ndarray
    shortest: np.ndarray
    alert_counts: np.ndarray
    atoms: dict[str, np.ndarray] = field(default_factory=dict)
    pharm2d_bits: tuple[int, ...] | None = None
    pharm2d_seconds: float = 0.0


class _Timeout(Exception):
    pass


def _raise_timeout(signum, frame):
    raise _Timeout


def _pharm2d_bits(mol: Chem.Mol, timeout_s: float) -> tuple[tuple[int, ...] | None, float]:
    """On-bits of the Gobbi 2D pharmacophore fingerprint, or None past ``timeout_s``.

    The cap uses SIGALRM (only in a process's main thread; elsewhere no cap). Gobbi's
    generator loops in Python, so the alarm interrupts it."""
    from rdkit.Chem.Pharm2D import Generate

    start = time.perf_counter()
    use_alarm = timeout_s > 0 and threading.current_thread() is threading.main_thread()
    old = None
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _raise_timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        fp = Generate.Gen2DFingerprint(mol, gobbi_factory())
        bits = tuple(int(b) for b in fp.GetOnBits())
    except _Timeout:
        bits = None
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    return bits, time.perf_counter() - start


def mol_concepts(mol: Chem.Mol, pharm2d: bool = True, timeout_s: float = 1.0) -> MolConcepts:
    """All raw concepts of one RDKit molecule (atom order as given)."""
    atoms: dict[str, np.ndarray] = {}
    frags = fragment_definitions()
    frag_counts = np.zeros(len(frags), dtype=np.int32)
    for i, (frag, patt) in enumerate(zip(frags, _fragment_patterns(), strict=True)):
        matches = mol.GetSubstructMatches(patt, uniquify=True, maxMatches=1000)
        if matches:
            frag_counts[i] = len(matches)
            atoms[frag.name] = np.unique(np.fromiter((a for m in matches for a in m), np.int32))

    family_index = {f: i for i, f in enumerate(FEATURE_FAMILIES)}
    centre_counts = np.zeros(len(FEATURE_FAMILIES), dtype=np.int32)
    centres: dict[str, list[tuple[int, ...]]] = {f: [] for f in FEATURE_FAMILIES}
    for feat in feature_factory().GetFeaturesForMol(mol):
        fam = feat.GetFamily()
        if fam in family_index:
            centre_counts[family_index[fam]] += 1
            centres[fam].append(tuple(feat.GetAtomIds()))
    for fam, feats in centres.items():
        if feats:
            atoms[fam] = np.unique(np.fromiter((a for f in feats for a in f), np.int32))

    pair_distances = np.zeros((len(CENTRE_PAIRS), MAX_PAIR_DISTANCE), dtype=bool)
    shortest = np.full(len(CENTRE_PAIRS), np.nan, dtype=np.float32)
    if any(centres[a] and centres[b] for a, b in CENTRE_PAIRS):
        dmat = Chem.GetDistanceMatrix(mol)
        for p, (a, b) in enumerate(CENTRE_PAIRS):
            fa, fb = centres[a], centres[b]
            members: dict[int, set[int]] = {}
            best = np.inf
            for i, x in enumerate(fa):
                for j, y in enumerate(fb):
                    if a == b and j <= i:
                        continue
                    if set(x) & set(y):
                        continue  # one group cannot be its own partner (OH is donor and acceptor)
                    d = dmat[np.ix_(x, y)].min()
                    if not np.isfinite(d) or d > 1e6:
                        continue  # different fragments
                    d = int(d)
                    best = min(best, d)
                    if 1 <= d <= MAX_PAIR_DISTANCE:
                        pair_distances[p, d - 1] = True
                        members.setdefault(d, set()).update(x + y)
            if np.isfinite(best):
                shortest[p] = best
            for d, m in members.items():
                atoms[pair_name(a, b, d)] = np.array(sorted(m), dtype=np.int32)

    found = alert_matches(mol)
    alert_counts = np.zeros(len(ALERTS), dtype=np.int32)
    for k, alert in enumerate(ALERTS):
        if alert.name in found:
            alert_counts[k] = len(found[alert.name])
            atoms[alert.name] = np.unique(
                np.fromiter((a for m in found[alert.name] for a in m), np.int32)
            )

    bits, secs = (None, 0.0)
    if pharm2d:
        bits, secs = _pharm2d_bits(mol, timeout_s)
    return MolConcepts(
        n_atoms=mol.GetNumAtoms(),
        fragment_counts=frag_counts,
        centre_counts=centre_counts,
        pair_distances=pair_distances,
        shortest=shortest,
        alert_counts=alert_counts,
        atoms=atoms,
        pharm2d_bits=bits,
        pharm2d_seconds=secs,
    )


def _smiles_concepts(task: tuple[str, bool, float]) -> MolConcepts | None:
    smiles, pharm2d, timeout_s = task
    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return None
    return mol_concepts(mol, pharm2d=pharm2d, timeout_s=timeout_s)


# ----------------------------------------------------------------------------- the table


@dataclass
class ConceptTable:
    """Concept labels of a list of molecules.

    Attributes:
        smiles: (n_molecules,) input SMILES.
        meta: one row per binary concept: ``concept``, ``level`` (1-3), ``family``
            (fragment | centre | pair | alert | pharm2d), ``description``, ``source``.
        values: (n_molecules, n_concepts) float32: 1 present, 0 absent, NaN unknown.
        count_meta: one row per count target: ``concept``, ``level``, ``family``, ``description``.
        counts: (n_molecules, n_counts) float32 (NaN unknown / distance undefined).
        atom_ptr: (n_molecules + 1,) int64 offsets of each molecule's atoms.
        atom_meta: one row per atom-level concept: ``concept``, ``level``, ``family``.
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


def _base_definitions():
    """(meta rows, count rows, atom rows) of every concept except Pharm2D bits."""
    meta, count_meta, atom_meta = [], [], []
    for f in fragment_definitions():
        meta.append((f.name, 1, "fragment", f.description, "RDKit FragmentDescriptors.csv"))
        count_meta.append((f"n:{f.name}", 1, "fragment", f.description))
        atom_meta.append((f.name, 1, "fragment"))
    for fam in FEATURE_FAMILIES:
        for k in COUNT_BINS:
            meta.append(
                (
                    f"{fam}>={k}",
                    2,
                    "centre",
                    f"at least {k} {fam} feature(s)",
                    "RDKit BaseFeatures.fdef",
                )
            )
        count_meta.append((f"n:{fam}", 2, "centre", f"number of {fam} features"))
        atom_meta.append((fam, 2, "centre"))
    for a, b in CENTRE_PAIRS:
        for d in range(1, MAX_PAIR_DISTANCE + 1):
            meta.append(
                (
                    pair_name(a, b, d),
                    3,
                    "pair",
                    f"a {a} and a {b} exactly {d} bonds apart",
                    "RDKit BaseFeatures.fdef",
                )
            )
            atom_meta.append((pair_name(a, b, d), 3, "pair"))
        count_meta.append((f"dist:{a}-{b}", 3, "pair", f"shortest {a}-{b} distance (bonds)"))
    for alert in ALERTS:
        meta.append((alert.name, 3, "alert", alert.description, alert.source))
        atom_meta.append((alert.name, 3, "alert"))
    return meta, count_meta, atom_meta  # fmt: skip


def compute_concepts(smiles: Sequence[str], options: ConceptOptions | None = None) -> ConceptTable:
    """Concept labels of every molecule in ``smiles`` (see module docstring).

    Runs ``options.n_jobs`` worker processes (fork) when > 1. Logs molecules per second and
    how many hit the Pharm2D time cap.
    """
    options = options or ConceptOptions()
    smiles = [str(s) if s is not None else "" for s in smiles]
    tasks = [(s, options.pharm2d, options.pharm2d_timeout_s) for s in smiles]
    start = time.perf_counter()
    if options.n_jobs > 1 and len(tasks) > 1:
        ctx = mp.get_context("fork")
        with ctx.Pool(options.n_jobs) as pool:
            results = pool.map(
                _smiles_concepts, tasks, chunksize=max(1, len(tasks) // (options.n_jobs * 16))
            )
    else:
        results = [_smiles_concepts(t) for t in tasks]
    elapsed = time.perf_counter() - start
    n_fail = sum(r is None for r in results)
    n_cap = sum(r is not None and options.pharm2d and r.pharm2d_bits is None for r in results)
    log.info(
        "concepts: %d molecules in %.1f s (%.0f mol/s), %d unparsable, %d over the Pharm2D cap",
        len(smiles), elapsed, len(smiles) / max(elapsed, 1e-9), n_fail, n_cap,
    )  # fmt: skip
    return assemble(smiles, results, options)


def assemble(
    smiles: list[str], results: list[MolConcepts | None], options: ConceptOptions
) -> ConceptTable:
    """Build the :class:`ConceptTable` from per-molecule results (None = unparsable)."""
    n = len(smiles)
    meta, count_meta, atom_meta = _base_definitions()
    bins = np.asarray(COUNT_BINS)
    base = np.full((n, len(meta)), np.nan, np.float32)
    counts = np.full((n, len(count_meta)), np.nan, np.float32)
    n_atoms = np.zeros(n, np.int64)
    for i, r in enumerate(results):
        if r is None:
            continue
        n_atoms[i] = r.n_atoms
        row = np.concatenate(
            [
                r.fragment_counts > 0,
                (r.centre_counts[:, None] >= bins[None, :]).ravel(),
                r.pair_distances.ravel(),
                r.alert_counts > 0,
            ]
        )
        base[i] = row
        counts[i] = np.concatenate([r.fragment_counts, r.centre_counts, r.shortest])

    # Pharm2D: keep frequent bits
    ph_meta, ph_values = [], np.zeros((n, 0), np.float32)
    if options.pharm2d:
        ok = [i for i, r in enumerate(results) if r is not None and r.pharm2d_bits is not None]
        bit_counts: dict[int, int] = {}
        for i in ok:
            for b in results[i].pharm2d_bits:
                bit_counts[b] = bit_counts.get(b, 0) + 1
        min_count = options.pharm2d_min_prevalence * max(len(ok), 1)
        frequent = sorted((c, b) for b, c in bit_counts.items() if c >= min_count and c < len(ok))
        kept = sorted(b for _, b in frequent[::-1][: options.pharm2d_max_kept])
        col = {b: j for j, b in enumerate(kept)}
        ph_values = np.full((n, len(kept)), np.nan, np.float32)
        for i in ok:
            ph_values[i] = 0
            for b in results[i].pharm2d_bits:
                j = col.get(b)
                if j is not None:
                    ph_values[i, j] = 1
        factory = gobbi_factory()
        for b in kept:
            desc = factory.GetBitDescription(b)
            n_points = len(desc.split("|")[0].split())
            ph_meta.append(
                ("ph:" + " ".join(desc.split()), 3, "pharm2d",
                 f"{n_points}-point Gobbi pharmacophore {desc} (bit {b})", "RDKit Gobbi_Pharm2D")
            )  # fmt: skip

    # atom membership
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
    meta_cols = ["concept", "level", "family", "description", "source"]
    return ConceptTable(
        smiles=list(smiles),
        meta=pd.DataFrame(meta + ph_meta, columns=meta_cols),
        values=np.concatenate([base, ph_values], axis=1),
        count_meta=pd.DataFrame(count_meta, columns=["concept", "level", "family", "description"]),
        counts=counts,
        atom_ptr=ptr,
        atom_meta=pd.DataFrame(atom_meta, columns=["concept", "level", "family"]),
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
