"""Molecular graphs: heavy atoms as nodes, bonds as two directed edges, stored as one
concatenated :class:`GraphStore` per dataset.

Atom features (``atom_feature_names()``, 53 columns, float32), one-hot groups each with an
"other" slot unless noted:

=================  ===========================================================================
element            C N O S F Cl Br I P B Si Se H, ``metal`` (alkali, alkaline-earth, transition,
                   post-transition, lanthanide, actinide), ``other``
degree             total degree (heavy neighbours + H) 0..5, other
formal_charge      -2..+2, other
num_hs             total attached H 0..4, other
hybridization      SP SP2 SP3 SP3D SP3D2, other (S / unspecified)
chirality          unspecified, CW, CCW, other (tetrahedral tags as parsed from ``@``/``@@``)
aromatic           0/1
in_ring            0/1
ring_size_3..8     multi-hot: atom belongs to an SSSR ring of that size
mass               atomic mass / 100 (isotope mass when the SMILES names an isotope)
=================  ===========================================================================

Bond features (``bond_feature_names()``, 14 columns): bond type single / double / triple /
aromatic / other (read from the bond order 1 / 2 / 3 / 1.5, so a dative bond counts as single),
conjugated, in ring, stereo none / any / Z / E / cis / trans / other.

Featurization collects integer codes for all atoms of a batch in flat lists (a few RDKit calls
per atom, no per-atom Python objects kept) and one-hots them in a single numpy scatter.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem, RDLogger

from molprobe.errors import MolprobeError

RDLogger.DisableLog("rdApp.*")

# ----------------------------------------------------------------------------- feature layout

ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H")
DEGREES = (0, 1, 2, 3, 4, 5)
FORMAL_CHARGES = (-2, -1, 0, 1, 2)
NUM_HS = (0, 1, 2, 3, 4)
HYBRIDIZATIONS = ("SP", "SP2", "SP3", "SP3D", "SP3D2")
CHIRALITIES = ("CHI_UNSPECIFIED", "CHI_TETRAHEDRAL_CW", "CHI_TETRAHEDRAL_CCW")
RING_SIZES = (3, 4, 5, 6, 7, 8)
BOND_TYPES = ("SINGLE", "DOUBLE", "TRIPLE", "AROMATIC")
BOND_STEREOS = ("STEREONONE", "STEREOANY", "STEREOZ", "STEREOE", "STEREOCIS", "STEREOTRANS")

_METALS = frozenset(
    [3, 4, 11, 12, 13]
    + list(range(19, 32))  # K .. Ga
    + list(range(37, 51))  # Rb .. Sn
    + list(range(55, 85))  # Cs .. Po (lanthanides included)
    + list(range(87, 119))  # Fr .. (actinides included)
)


def _group(prefix: str, values) -> list[str]:
    return [f"{prefix}={v}" for v in values] + [f"{prefix}=other"]


def atom_feature_names() -> list[str]:
    """Column names of the atom feature matrix ``x``, in order."""
    return (
        [f"element={e}" for e in ELEMENTS]
        + ["element=metal", "element=other"]
        + _group("degree", DEGREES)
        + _group("formal_charge", FORMAL_CHARGES)
        + _group("num_hs", NUM_HS)
        + _group("hybridization", HYBRIDIZATIONS)
        + _group("chirality", [c.removeprefix("CHI_").lower() for c in CHIRALITIES])
        + ["aromatic", "in_ring"]
        + [f"ring_size={k}" for k in RING_SIZES]
        + ["mass/100"]
    )


def bond_feature_names() -> list[str]:
    """Column names of the bond feature matrix ``edge_attr``, in order."""
    return (
        _group("bond_type", [t.lower() for t in BOND_TYPES])
        + ["conjugated", "in_ring"]
        + _group("stereo", [s.removeprefix("STEREO").lower() for s in BOND_STEREOS])
    )


def _lookup(size: int, mapping: dict[int, int], default: int) -> np.ndarray:
    table = np.full(size, default, dtype=np.int64)
    for key, code in mapping.items():
        table[key] = code
    return table


# column offsets of each one-hot group in x
_ATOM_NAMES = atom_feature_names()
_OFF_ELEMENT = 0
_OFF_DEGREE = _ATOM_NAMES.index("degree=0")
_OFF_CHARGE = _ATOM_NAMES.index("formal_charge=-2")
_OFF_HS = _ATOM_NAMES.index("num_hs=0")
_OFF_HYB = _ATOM_NAMES.index("hybridization=SP")
_OFF_CHIRAL = _ATOM_NAMES.index("chirality=unspecified")
_COL_AROMATIC = _ATOM_NAMES.index("aromatic")
_COL_IN_RING = _ATOM_NAMES.index("in_ring")
_OFF_RING_SIZE = _ATOM_NAMES.index("ring_size=3")
_COL_MASS = _ATOM_NAMES.index("mass/100")
N_ATOM_FEATURES = len(_ATOM_NAMES)

_BOND_NAMES = bond_feature_names()
_OFF_BTYPE = 0
_COL_CONJ = _BOND_NAMES.index("conjugated")
_COL_BRING = _BOND_NAMES.index("in_ring")
_OFF_STEREO = _BOND_NAMES.index("stereo=none")
N_BOND_FEATURES = len(_BOND_NAMES)

_PT = Chem.GetPeriodicTable()
# atomic number -> column in x (element group)
_ELEMENT_COL = _lookup(
    256,
    {
        **{z: len(ELEMENTS) for z in _METALS},
        **{_PT.GetAtomicNumber(e): i for i, e in enumerate(ELEMENTS)},
    },
    len(ELEMENTS) + 1,
)
_MASS = np.array([_PT.GetAtomicWeight(z) for z in range(119)] + [0.0] * (256 - 119)) / 100.0
# value -> column, with "other" for anything outside the listed range (offset by 8 for negatives)
_DEGREE_COL = _OFF_DEGREE + _lookup(64, {d: i for i, d in enumerate(DEGREES)}, len(DEGREES))
_CHARGE_COL = _OFF_CHARGE + _lookup(
    32, {c + 8: i for i, c in enumerate(FORMAL_CHARGES)}, len(FORMAL_CHARGES)
)
_HS_COL = _OFF_HS + _lookup(64, {h: i for i, h in enumerate(NUM_HS)}, len(NUM_HS))
_HYB_COL = _OFF_HYB + _lookup(
    32,
    {int(Chem.HybridizationType.names[h]): i for i, h in enumerate(HYBRIDIZATIONS)},
    len(HYBRIDIZATIONS),
)
_CHIRAL_COL = _OFF_CHIRAL + _lookup(
    32, {int(Chem.ChiralType.names[c]): i for i, c in enumerate(CHIRALITIES)}, len(CHIRALITIES)
)
_STEREO_COL = _OFF_STEREO + _lookup(
    32, {int(Chem.BondStereo.names[s]): i for i, s in enumerate(BOND_STEREOS)}, len(BOND_STEREOS)
)
_RING_SIZE_COL = _lookup(
    1024, {k: _OFF_RING_SIZE + i for i, k in enumerate(RING_SIZES)}, -1
)  # -1: no column (ring > 8 atoms)
# bond order (GetBondTypeAsDouble) of BOND_TYPES, sorted: single 1, aromatic 1.5, double 2, triple 3
_BOND_ORDERS = np.array([1.0, 1.5, 2.0, 3.0])
_BOND_ORDER_COL = _OFF_BTYPE + np.array(
    [BOND_TYPES.index(t) for t in ("SINGLE", "AROMATIC", "DOUBLE", "TRIPLE")]
)
_ISOTOPE = re.compile(r"\[\d")

_A = Chem.Atom
_B = Chem.Bond


# ----------------------------------------------------------------------------- GraphStore


def _gather_ranges(ptr: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions of the concatenated ranges ``ptr[i]:ptr[i+1]`` for i in ``idx``, and their sizes."""
    counts = ptr[idx + 1] - ptr[idx]
    total = int(counts.sum())
    new_start = torch.cumsum(counts, 0) - counts
    shift = torch.repeat_interleave(ptr[idx] - new_start, counts, output_size=total)
    return torch.arange(total, device=ptr.device) + shift, counts


@dataclass(repr=False)
class GraphStore:
    """All molecular graphs of a dataset, concatenated.

    x (n_atoms_total, F_atom) float32; edge_index (2, n_edges_total) int64 with *local* atom
    indices (0-based within each molecule), each bond as two directed edges;
    edge_attr (n_edges_total, F_bond) float32; atom_ptr / edge_ptr (n_molecules + 1) int64
    offsets: molecule i owns atoms ``atom_ptr[i]:atom_ptr[i+1]`` and edges
    ``edge_ptr[i]:edge_ptr[i+1]``. ``spec`` is the featurizer spec that made it.
    ``mol_features``: optional molecule-level inputs (n_molecules, F_mol) float32 (e.g. scaled
    RDKit descriptors) that batches carry as ``mol_features`` (B, F_mol) for the readout, as
    chemprop's extra features; set with :meth:`with_mol_features`, never saved in graph.pt.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    edge_attr: torch.Tensor
    atom_ptr: torch.Tensor
    edge_ptr: torch.Tensor
    spec: dict | None = field(default=None)
    mol_features: torch.Tensor | None = field(default=None)

    def __post_init__(self):
        n = self.atom_ptr.numel() - 1
        ok = (
            n >= 0
            and self.edge_ptr.numel() == n + 1
            and self.x.dim() == 2
            and self.edge_attr.dim() == 2
            and self.edge_index.dim() == 2
            and self.edge_index.shape[0] == 2
            and int(self.atom_ptr[-1]) == self.x.shape[0]
            and int(self.edge_ptr[-1]) == self.edge_index.shape[1] == self.edge_attr.shape[0]
            and (
                self.mol_features is None
                or (self.mol_features.dim() == 2 and self.mol_features.shape[0] == n)
            )
        )
        if not ok:
            raise MolprobeError(
                "GraphStore: inconsistent tensors "
                f"(x {tuple(self.x.shape)}, edge_index {tuple(self.edge_index.shape)}, "
                f"edge_attr {tuple(self.edge_attr.shape)}, atom_ptr {tuple(self.atom_ptr.shape)}, "
                f"edge_ptr {tuple(self.edge_ptr.shape)}, mol_features "
                f"{None if self.mol_features is None else tuple(self.mol_features.shape)})"
            )

    def __len__(self) -> int:
        return self.atom_ptr.numel() - 1

    def __repr__(self) -> str:
        return (
            f"GraphStore({len(self)} molecules, {self.x.shape[0]} atoms x {self.n_atom_features} "
            f"features, {self.edge_index.shape[1]} edges x {self.n_bond_features} features)"
        )

    @property
    def n_atom_features(self) -> int:
        return self.x.shape[1]

    @property
    def n_bond_features(self) -> int:
        return self.edge_attr.shape[1]

    @property
    def n_mol_features(self) -> int:
        """Molecule-level input columns (0 without them)."""
        return 0 if self.mol_features is None else self.mol_features.shape[1]

    def with_mol_features(self, features) -> GraphStore:
        """The same graphs with molecule-level inputs (n_molecules, F_mol), float32."""
        M = torch.as_tensor(np.asarray(features, dtype=np.float32), device=self.x.device)
        return replace(self, mol_features=M)

    @property
    def n_atoms(self) -> torch.Tensor:
        """Heavy atoms per molecule, int64 (n_molecules,)."""
        return self.atom_ptr[1:] - self.atom_ptr[:-1]

    def to(self, device) -> GraphStore:
        """A copy on ``device`` (batches are then built there)."""
        return GraphStore(
            self.x.to(device),
            self.edge_index.to(device),
            self.edge_attr.to(device),
            self.atom_ptr.to(device),
            self.edge_ptr.to(device),
            self.spec,
            None if self.mol_features is None else self.mol_features.to(device),
        )

    def _index(self, indices) -> torch.Tensor:
        idx = torch.as_tensor(indices, dtype=torch.long, device=self.atom_ptr.device).reshape(-1)
        n = len(self)
        if idx.numel() and (int(idx.min()) < -n or int(idx.max()) >= n):
            raise IndexError(f"molecule index out of range for a GraphStore of {n} molecules")
        return torch.where(idx < 0, idx + n, idx)

    def _select(self, indices):
        idx = self._index(indices)
        atom_pos, atom_counts = _gather_ranges(self.atom_ptr, idx)
        edge_pos, edge_counts = _gather_ranges(self.edge_ptr, idx)
        zero = torch.zeros(1, dtype=torch.long, device=idx.device)
        atom_ptr = torch.cat([zero, torch.cumsum(atom_counts, 0)])
        edge_ptr = torch.cat([zero, torch.cumsum(edge_counts, 0)])
        return idx, atom_pos, edge_pos, atom_counts, edge_counts, atom_ptr, edge_ptr

    def subset(self, indices) -> GraphStore:
        """The molecules at ``indices`` (in that order) as a new store."""
        idx, atom_pos, edge_pos, _, _, atom_ptr, edge_ptr = self._select(indices)
        return GraphStore(
            self.x[atom_pos],
            self.edge_index[:, edge_pos],
            self.edge_attr[edge_pos],
            atom_ptr,
            edge_ptr,
            self.spec,
            None if self.mol_features is None else self.mol_features[idx],
        )

    def batch(self, indices, y: torch.Tensor | None = None):
        """A ``torch_geometric.data.Batch`` of the molecules at ``indices``, built with tensor ops.

        Fields: x, edge_index (global within the batch), edge_attr, batch (n_atoms,), ptr (B+1,),
        and ``y`` (B, n_tasks) if given (already aligned with ``indices``).
        """
        from torch_geometric.data import Batch

        idx, atom_pos, edge_pos, atom_counts, edge_counts, atom_ptr, edge_ptr = self._select(
            indices
        )
        n_edges = int(edge_ptr[-1])
        edge_index = self.edge_index[:, edge_pos] + torch.repeat_interleave(
            atom_ptr[:-1], edge_counts, output_size=n_edges
        )
        graph_of_atom = torch.repeat_interleave(
            torch.arange(idx.numel(), device=idx.device), atom_counts, output_size=int(atom_ptr[-1])
        )
        out = Batch(
            x=self.x[atom_pos],
            edge_index=edge_index,
            edge_attr=self.edge_attr[edge_pos],
            batch=graph_of_atom,
            ptr=atom_ptr,
        )
        if y is not None:
            out.y = y
        if self.mol_features is not None:
            out.mol_features = self.mol_features[idx]
        out._num_graphs = idx.numel()
        return out

    def get(self, i: int):
        """Molecule ``i`` as a ``torch_geometric.data.Data`` (local edge indices)."""
        from torch_geometric.data import Data

        a0, a1 = int(self.atom_ptr[i]), int(self.atom_ptr[i + 1])
        e0, e1 = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        return Data(
            x=self.x[a0:a1], edge_index=self.edge_index[:, e0:e1], edge_attr=self.edge_attr[e0:e1]
        )

    @classmethod
    def concat(cls, stores: Sequence[GraphStore]) -> GraphStore:
        """Stores one after another (molecule order kept); spec of the first."""
        if not stores:
            raise MolprobeError("GraphStore.concat: nothing to concatenate")
        has_mol = {s.mol_features is not None for s in stores}
        if len(has_mol) > 1:
            raise MolprobeError("GraphStore.concat: only some stores have molecule features")

        def ptrs(name):
            out, base = [stores[0].__dict__[name][:1]], 0
            for s in stores:
                p = s.__dict__[name]
                out.append(p[1:] + base)
                base += int(p[-1])
            return torch.cat(out)

        return cls(
            torch.cat([s.x for s in stores]),
            torch.cat([s.edge_index for s in stores], dim=1),
            torch.cat([s.edge_attr for s in stores]),
            ptrs("atom_ptr"),
            ptrs("edge_ptr"),
            stores[0].spec,
            torch.cat([s.mol_features for s in stores]) if True in has_mol else None,
        )

    def to_dict(self) -> dict:
        """Plain dict of tensors (+ spec as JSON text), loadable with weights_only=True."""
        return {
            "format": "molprobe.GraphStore/1",
            "x": self.x.cpu(),
            "edge_index": self.edge_index.cpu(),
            "edge_attr": self.edge_attr.cpu(),
            "atom_ptr": self.atom_ptr.cpu(),
            "edge_ptr": self.edge_ptr.cpu(),
            "spec_json": json.dumps(self.spec, sort_keys=True),
        }

    def save(self, path: str | os.PathLike, spec: dict | None = None) -> None:
        """Write atomically with ``torch.save`` as a plain dict (see :meth:`to_dict`)."""
        from molprobe.fileio import write_bytes

        data = self.to_dict()
        if spec is not None:
            data["spec_json"] = json.dumps(spec, sort_keys=True)
        write_bytes(Path(path), lambda fh: torch.save(data, fh))

    @classmethod
    def load(cls, path: str | os.PathLike) -> GraphStore:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise MolprobeError(f"{path}: cannot read graph file ({err})") from None
        if not isinstance(data, dict) or data.get("format") != "molprobe.GraphStore/1":
            raise MolprobeError(f"{path}: not a molprobe GraphStore file")
        return cls(
            data["x"],
            data["edge_index"],
            data["edge_attr"],
            data["atom_ptr"],
            data["edge_ptr"],
            json.loads(data["spec_json"]),
        )


# ----------------------------------------------------------------------------- featurizer


class MolGraph:
    """SMILES -> :class:`GraphStore` (heavy-atom graph; features in the module docstring)."""

    name = "graph"

    def __init__(self, atom_features=None, bond_features=None):
        # the names are part of the spec so a saved model refuses a changed layout
        for given, current, what in (
            (atom_features, atom_feature_names(), "atom"),
            (bond_features, bond_feature_names(), "bond"),
        ):
            if given is not None and list(given) != current:
                raise MolprobeError(
                    f"graph featurizer: the saved {what} feature layout differs from this "
                    f"molprobe version ({len(given)} vs {len(current)} columns); re-featurize"
                )

    @classmethod
    def from_spec(cls, spec: dict) -> MolGraph:
        extra = set(spec) - {"name", "atom_features", "bond_features"}
        if extra:
            raise MolprobeError(f"graph featurizer: unknown parameter(s) {sorted(extra)}")
        return cls(spec.get("atom_features"), spec.get("bond_features"))

    @property
    def spec(self) -> dict:
        return {
            "name": self.name,
            "atom_features": atom_feature_names(),
            "bond_features": bond_feature_names(),
        }

    n_atom_features = N_ATOM_FEATURES
    n_bond_features = N_BOND_FEATURES

    def compute_arrays(self, smiles: Sequence[str]) -> dict[str, np.ndarray]:
        """Numpy version of :meth:`__call__` (used by worker processes).

        The loop only collects per-atom / per-bond integer codes with *local* atom and bond
        indices into flat lists; offsets, one-hot encoding and edge doubling happen in
        :meth:`_assemble` with numpy over the whole batch.
        """
        z: list[int] = []
        charge: list[int] = []
        n_hs: list[int] = []
        hyb: list[int] = []
        arom: list[bool] = []
        begin: list[int] = []  # local atom indices of each bond
        end: list[int] = []
        border: list[float] = []  # 1, 1.5, 2, 3 (bond type as double)
        conj: list[bool] = []
        bring: list[bool] = []
        ring_atom: list[int] = []  # local atom index + ring size, per SSSR ring membership
        ring_len: list[int] = []
        # rare tags, stored sparsely as (molecule, local index, value)
        chiral: list[tuple[int, int, int]] = []
        stereo: list[tuple[int, int, int]] = []
        isotope_mass: list[tuple[int, int, float]] = []
        n_atoms = np.empty(len(smiles), dtype=np.int64)
        n_bonds = np.empty(len(smiles), dtype=np.int64)
        n_ring = np.empty(len(smiles), dtype=np.int64)
        from_smiles = Chem.MolFromSmiles
        for i, smi in enumerate(smiles):
            mol = from_smiles(smi)
            if mol is None:
                raise MolprobeError(
                    f"RDKit cannot parse SMILES {smi!r} (standardize the input first)"
                )
            atoms = list(mol.GetAtoms())
            bonds = list(mol.GetBonds())
            n_atoms[i] = len(atoms)
            n_bonds[i] = len(bonds)
            z += map(_A.GetAtomicNum, atoms)
            charge += map(_A.GetFormalCharge, atoms)
            n_hs += map(_A.GetTotalNumHs, atoms)
            hyb += map(int, map(_A.GetHybridization, atoms))
            arom += map(_A.GetIsAromatic, atoms)
            begin += map(_B.GetBeginAtomIdx, bonds)
            end += map(_B.GetEndAtomIdx, bonds)
            border += map(_B.GetBondTypeAsDouble, bonds)
            conj += map(_B.GetIsConjugated, bonds)
            bring += map(_B.IsInRing, bonds)
            k = len(ring_atom)
            for ring in mol.GetRingInfo().AtomRings():
                ring_atom += ring
                ring_len += [len(ring)] * len(ring)
            n_ring[i] = len(ring_atom) - k
            # tags that only a SMILES with '@', '/', '\\' or an isotope ('[13C') can carry
            if "@" in smi:
                chiral += [
                    (i, a, t) for a, t in enumerate(map(int, map(_A.GetChiralTag, atoms))) if t
                ]
            if "/" in smi or "\\" in smi:
                stereo += [(i, b, t) for b, t in enumerate(map(int, map(_B.GetStereo, bonds))) if t]
            if "[" in smi and _ISOTOPE.search(smi):
                isotope_mass += [(i, a, m) for a, m in enumerate(map(_A.GetMass, atoms))]
        return self._assemble(
            n_atoms,
            n_bonds,
            n_ring,
            np.array(z, dtype=np.int64),
            np.array(charge, dtype=np.int64),
            np.array(n_hs, dtype=np.int64),
            np.array(hyb, dtype=np.int64),
            np.array(arom, dtype=bool),
            np.array(begin, dtype=np.int64),
            np.array(end, dtype=np.int64),
            np.array(border, dtype=np.float64),
            np.array(conj, dtype=bool),
            np.array(bring, dtype=bool),
            np.array(ring_atom, dtype=np.int64),
            np.array(ring_len, dtype=np.int64),
            np.array(chiral, dtype=np.int64).reshape(-1, 3),
            np.array(stereo, dtype=np.int64).reshape(-1, 3),
            np.array(isotope_mass, dtype=np.float64).reshape(-1, 3),
        )

    @staticmethod
    def _assemble(
        n_atoms,
        n_bonds,
        n_ring,
        z,
        charge,
        n_hs,
        hyb,
        arom,
        begin,
        end,
        border,
        conj,
        bring,
        ring_atom,
        ring_len,
        chiral,
        stereo,
        isotope_mass,
    ) -> dict[str, np.ndarray]:
        n_at, n_bd = int(n_atoms.sum()), int(n_bonds.sum())
        atom_ptr = np.zeros(len(n_atoms) + 1, dtype=np.int64)
        np.cumsum(n_atoms, out=atom_ptr[1:])
        bond_ptr = np.zeros(len(n_bonds) + 1, dtype=np.int64)
        np.cumsum(n_bonds, out=bond_ptr[1:])
        bond_atom_offset = np.repeat(atom_ptr[:-1], n_bonds)
        gbegin, gend = begin + bond_atom_offset, end + bond_atom_offset
        # ---- atoms: one scatter of all one-hot columns
        heavy_degree = np.bincount(np.concatenate([gbegin, gend]), minlength=n_at)
        tag = np.zeros(n_at, dtype=np.int64)
        tag[atom_ptr[chiral[:, 0]] + chiral[:, 1]] = chiral[:, 2]
        cols = np.stack(
            [
                _ELEMENT_COL[np.clip(z, 0, 255)],
                _DEGREE_COL[np.clip(heavy_degree + n_hs, 0, 63)],
                _CHARGE_COL[np.clip(charge + 8, 0, 31)],
                _HS_COL[np.clip(n_hs, 0, 63)],
                _HYB_COL[np.clip(hyb, 0, 31)],
                _CHIRAL_COL[np.clip(tag, 0, 31)],
            ],
            axis=1,
        )
        x = np.zeros((n_at, N_ATOM_FEATURES), dtype=np.float32)
        np.put_along_axis(x, cols, 1.0, axis=1)
        x[:, _COL_AROMATIC] = arom
        g_ring_atom = ring_atom + np.repeat(atom_ptr[:-1], n_ring)
        x[g_ring_atom, _COL_IN_RING] = 1.0
        ring_cols = _RING_SIZE_COL[np.clip(ring_len, 0, 1023)]
        keep = ring_cols >= 0
        x[g_ring_atom[keep], ring_cols[keep]] = 1.0
        mass = _MASS[np.clip(z, 0, 255)]
        iso = isotope_mass[:, :2].astype(np.int64)
        mass[atom_ptr[iso[:, 0]] + iso[:, 1]] = isotope_mass[:, 2] / 100.0
        x[:, _COL_MASS] = mass
        # ---- bonds: each bond twice (i->j, j->i), features repeated
        st = np.zeros(n_bd, dtype=np.int64)
        st[bond_ptr[stereo[:, 0]] + stereo[:, 1]] = stereo[:, 2]
        pos = np.clip(np.searchsorted(_BOND_ORDERS, border), 0, len(_BOND_ORDERS) - 1)
        btype = np.where(_BOND_ORDERS[pos] == border, _BOND_ORDER_COL[pos], _OFF_BTYPE + 4)
        bcols = np.stack([btype, _STEREO_COL[np.clip(st, 0, 31)]], 1)
        battr = np.zeros((n_bd, N_BOND_FEATURES), dtype=np.float32)
        np.put_along_axis(battr, bcols, 1.0, axis=1)
        battr[:, _COL_CONJ] = conj
        battr[:, _COL_BRING] = bring
        edge_attr = np.repeat(battr, 2, axis=0)
        src = np.stack([begin, end], axis=1).reshape(-1)
        dst = np.stack([end, begin], axis=1).reshape(-1)
        return {
            "x": x,
            "edge_index": np.stack([src, dst]),
            "edge_attr": edge_attr,
            "atom_ptr": atom_ptr,
            "edge_ptr": 2 * bond_ptr,
        }

    def from_arrays(self, parts: Sequence[dict[str, np.ndarray]]) -> GraphStore:
        """One GraphStore from the numpy outputs of :meth:`compute_arrays` (in order)."""
        stores = [
            GraphStore(
                torch.from_numpy(p["x"]),
                torch.from_numpy(p["edge_index"]),
                torch.from_numpy(p["edge_attr"]),
                torch.from_numpy(p["atom_ptr"]),
                torch.from_numpy(p["edge_ptr"]),
                self.spec,
            )
            for p in parts
        ]
        return stores[0] if len(stores) == 1 else GraphStore.concat(stores)

    def __call__(self, smiles: Sequence[str]) -> GraphStore:
        return self.from_arrays([self.compute_arrays(smiles)])

    def __repr__(self) -> str:
        return f"MolGraph({N_ATOM_FEATURES} atom features, {N_BOND_FEATURES} bond features)"
