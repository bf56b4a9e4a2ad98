"""Level-2 interaction centres and their level-3 arrangements, from one definition.

A *centre* is a set of atoms (RDKit atom order) of one type:

- ``Donor``: each N, O or S atom carrying a hydrogen (N-H, O-H, S-H; ammonium N-H too).
- ``Acceptor``: each O with a free lone pair (carbonyl, hydroxyl, ether, nitro, N-oxide,
  sulfonyl and carboxylate O; not aromatic furan-type O or O+), each pyridine-type aromatic N
  (two neighbours, no H, uncharged), each sp3 amine N (only C/H neighbours, not amide,
  aniline or enamine N: tertiary amines included), imine N and nitrile N.
- ``PosIonizable``: aliphatic amine N (as above, any number of H), amidine and guanidine
  groups, cationic N (ammonium, pyridinium; not nitro, N-oxide or azide N+).
- ``NegIonizable``: carboxylic, sulfonic, sulfinic and phosphoric/phosphonic acids (or their
  anions), tetrazoles, acyl sulfonamides and any other anionic O/S/N outside zwitterionic
  nitro, N-oxide and azide groups (matches of one type that share atoms are merged).
- ``Aromatic``: each aromatic ring (smallest set of smallest rings; fused rings separately).
- ``Hydrophobe``: connected groups of non-aromatic carbons not bonded to N, O, F, P or S,
  with Cl, Br and I, holding at least 3 atoms or one of Cl/Br/I.

The SMARTS follow the pharmacophore feature definitions of RDKit's ``BaseFeatures.fdef`` and
Gobbi & Poppinger (1998) where these agree with textbook medicinal chemistry (the choices
that differ: tertiary amines are acceptors, amide N-H is a donor, imidazole is not counted as
positively ionizable).

Level 3 uses the same centres: the topological distance of two centres is the smallest
number of bonds between one atom of each (centres that share atoms are never partners);
pairs and triplets count only at distances >= :data:`MIN_DISTANCE` bonds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations_with_replacement

import numpy as np
from rdkit import Chem

CENTRE_TYPES = ("Donor", "Acceptor", "PosIonizable", "NegIonizable", "Aromatic", "Hydrophobe")
MIN_DISTANCE = 3  # bonds: closer centres belong to one local group, not a pharmacophore
MAX_DISTANCE = 12  # bonds: farther pairs are not counted
# pair distance bins (bonds, inclusive): one concept each, one concept family per pair type
DISTANCE_BINS = ((3, 4), (5, 6), (7, 9), (10, 12))
PAIR_TYPES = tuple(combinations_with_replacement(CENTRE_TYPES, 2))
TRIPLET_TYPES = tuple(combinations_with_replacement(CENTRE_TYPES, 3))

_AMINE = "[NX3;+0;!$(N~[!#6;!#1]);!$(N-[#6]=[#7,#8,#16]);!$(N-a);!$(N-C=C);!$(N-C#N)]"
SMARTS: dict[str, tuple[str, ...]] = {
    "Donor": ("[#7,#8,#16;!H0]",),
    "Acceptor": (
        "[OX1;!$([O+])]",
        "[OX2;+0;!a]",
        "[nX2;+0;H0]",
        _AMINE,
        "[NX2;+0;!a]=[#6]",
        "[NX1]#[#6]",
    ),
    "PosIonizable": (
        _AMINE,
        "[NX3;!$(N-C=[O,S])][CX3]=[NX2;+0;!$(N-[O,N])]",
        "[#7+;!$([#7+]~[#8-]);!$([#7+]=[#8]);!$([#7+]~[#7-]);!$([#7+]=[#7-]);!$([#7+]#[#7])]",
    ),
    "NegIonizable": (
        "[CX3](=O)[OX2H1,OX1-]",
        "[SX4,SX3](=O)[OX2H1,OX1-]",
        "[PX4](=O)[OX2H1,OX1-]",
        "c1nn[nH]n1",
        "c1nnn[nH]1",
        "[CX3](=O)[NH1]S(=O)(=O)",
        "[O-,S-,N-,n-;!$([O-][#7+]);!$([N-]=[N+]);!$([N-][N+]#N);!$([N-]~[N+]~[N-])]",
    ),
}
HYDROPHOBE_ATOM = "[$([#6;!a;!$([#6]~[#7,#8,#9,#15,#16])]),$([Cl,Br,I])]"


@lru_cache(maxsize=1)
def _patterns() -> dict[str, tuple[Chem.Mol, ...]]:
    out = {k: tuple(Chem.MolFromSmarts(s) for s in v) for k, v in SMARTS.items()}
    out["Hydrophobe"] = (Chem.MolFromSmarts(HYDROPHOBE_ATOM),)
    return out


def _merge(groups: list[frozenset[int]]) -> list[tuple[int, ...]]:
    """Union groups that share atoms (one centre per connected overlap)."""
    merged: list[set[int]] = []
    for g in groups:
        overlapping = [m for m in merged if m & g]
        new = set(g)
        for m in overlapping:
            new |= m
            merged.remove(m)
        merged.append(new)
    return sorted(tuple(sorted(m)) for m in merged)


def find_centres(mol: Chem.Mol) -> dict[str, list[tuple[int, ...]]]:
    """``{centre type: [atom-index tuple per centre]}`` for every type of
    :data:`CENTRE_TYPES` (empty lists where absent)."""
    pats = _patterns()
    out: dict[str, list[tuple[int, ...]]] = {}
    for kind in ("Donor", "Acceptor"):  # one centre per atom
        atoms = {m[0] for p in pats[kind] for m in mol.GetSubstructMatches(p, uniquify=True)}
        out[kind] = [(a,) for a in sorted(atoms)]
    for kind in ("PosIonizable", "NegIonizable"):  # groups; overlapping matches merged
        groups = [frozenset(m) for p in pats[kind] for m in mol.GetSubstructMatches(p)]
        out[kind] = _merge(groups)
    ri = mol.GetRingInfo()
    out["Aromatic"] = sorted(
        tuple(sorted(r))
        for r in ri.AtomRings()
        if all(mol.GetAtomWithIdx(a).GetIsAromatic() for a in r)
    )
    hyd = {m[0] for m in mol.GetSubstructMatches(pats["Hydrophobe"][0])}
    comps = _merge(
        [frozenset((b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in mol.GetBonds()
         if b.GetBeginAtomIdx() in hyd and b.GetEndAtomIdx() in hyd]
        + [frozenset((a,)) for a in hyd]
    )  # fmt: skip
    halo = {"Cl", "Br", "I"}
    out["Hydrophobe"] = [
        c for c in comps if len(c) >= 3 or any(mol.GetAtomWithIdx(a).GetSymbol() in halo for a in c)
    ]
    return out


@dataclass
class Arrangements:
    """Level-3 arrangements of one molecule.

    pairs: (n_pair_types, n_bins) bool, a pair of centres of that type pair at a distance in
    that bin; shortest: (n_pair_types,) float, shortest distance >= MIN_DISTANCE (NaN when
    none); triplets: (n_triplet_types,) bool, three centres of those types with every
    pairwise distance in [MIN_DISTANCE, MAX_DISTANCE]; atoms: {concept name: atom indices}.
    """

    pairs: np.ndarray
    shortest: np.ndarray
    triplets: np.ndarray
    atoms: dict[str, np.ndarray]


def pair_name(a: str, b: str, lo: int, hi: int) -> str:
    return f"pair:{a}-{b}@{lo}-{hi}"


def triplet_name(a: str, b: str, c: str) -> str:
    return f"triplet:{a}-{b}-{c}"


def arrangements(mol: Chem.Mol, centres: dict[str, list[tuple[int, ...]]]) -> Arrangements:
    """Pairs and triplets of :func:`find_centres` centres at >= MIN_DISTANCE bonds."""
    pairs = np.zeros((len(PAIR_TYPES), len(DISTANCE_BINS)), bool)
    shortest = np.full(len(PAIR_TYPES), np.nan, np.float32)
    triplets = np.zeros(len(TRIPLET_TYPES), bool)
    atoms: dict[str, np.ndarray] = {}
    flat = [(k, c) for k in CENTRE_TYPES for c in centres[k]]
    if len(flat) < 2:
        return Arrangements(pairs, shortest, triplets, atoms)
    dmat = Chem.GetDistanceMatrix(mol)
    n = len(flat)
    cd = np.full((n, n), np.inf)
    for i in range(n):
        for j in range(i + 1, n):
            a, b = flat[i][1], flat[j][1]
            if set(a) & set(b):
                continue
            d = dmat[np.ix_(a, b)].min()
            if d < 1e6:
                cd[i, j] = cd[j, i] = d
    ok = (cd >= MIN_DISTANCE) & (cd <= MAX_DISTANCE)
    kind = np.array([k for k, _ in flat])
    idx = {k: np.flatnonzero(kind == k) for k in CENTRE_TYPES}

    def members(rows: np.ndarray) -> np.ndarray:
        return np.unique(np.concatenate([np.asarray(flat[r][1]) for r in rows]))

    for p, (a, b) in enumerate(PAIR_TYPES):
        ia, ib = idx[a], idx[b]
        if not len(ia) or not len(ib):
            continue
        sub = cd[np.ix_(ia, ib)]
        good = ok[np.ix_(ia, ib)]
        if good.any():
            shortest[p] = sub[good].min()
        for q, (lo, hi) in enumerate(DISTANCE_BINS):
            hit = good & (sub >= lo) & (sub <= hi)
            if hit.any():
                pairs[p, q] = True
                r, c = np.nonzero(hit)
                atoms[pair_name(a, b, lo, hi)] = members(np.concatenate([ia[r], ib[c]]))
    for t, (a, b, c) in enumerate(TRIPLET_TYPES):
        ia, ib, ic = idx[a], idx[b], idx[c]
        if not (len(ia) and len(ib) and len(ic)):
            continue
        ab = ok[np.ix_(ia, ib)].astype(np.int64)
        bc = ok[np.ix_(ib, ic)].astype(np.int64)
        ac = ok[np.ix_(ia, ic)]
        w = ((ab @ bc) > 0) & ac  # (i, k) closing a triangle through some j
        if w.any():
            triplets[t] = True
            mid = np.diag(ab.T @ w.astype(np.int64) @ bc.T) > 0
            rows = np.concatenate([ia[w.any(1)], ib[mid], ic[w.any(0)]])
            atoms[triplet_name(a, b, c)] = members(rows)
    return Arrangements(pairs, shortest, triplets, atoms)
