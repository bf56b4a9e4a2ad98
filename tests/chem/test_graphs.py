"""Molecular graph featurizer and GraphStore."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from molprobe.chem.graphs import (
    GraphStore,
    MolGraph,
    atom_feature_names,
    bond_feature_names,
)
from molprobe.errors import MolprobeError

ATOM = {n: i for i, n in enumerate(atom_feature_names())}
BOND = {n: i for i, n in enumerate(bond_feature_names())}

# charged, chiral, E/Z, isotope, metal salt, macrocycle, fused rings, single atom
DIVERSE = [
    "CC(=O)O",
    "c1ccccc1",
    "CCO",
    "C[C@H](N)C(=O)[O-]",
    "C/C=C\\Cl",
    "[13CH3]O",
    "[Na+].[Cl-]",
    "C1CCCCCCCCCC1",
    "c1ccc2[nH]ccc2c1",
    "C1CC2CC1C2",
    "O=[N+]([O-])c1ccc(S(=O)(=O)N)cc1",
    "C",
    "F[Si](F)(F)F",
    "C#N",
    "F\\C=C\\F",
]


def _names(row, names=ATOM):
    inv = {i: n for n, i in names.items()}
    return {inv[i] for i in np.flatnonzero(row.numpy()) if inv[i] != "mass/100"}


def test_acetic_acid():
    store = MolGraph()(["CC(=O)O"])
    assert len(store) == 1
    assert store.x.shape == (4, len(ATOM)) and store.x.dtype == torch.float32
    assert store.edge_index.shape == (2, 6) and store.edge_index.dtype == torch.int64
    assert store.edge_attr.shape == (6, len(BOND))
    assert store.atom_ptr.tolist() == [0, 4] and store.edge_ptr.tolist() == [0, 6]
    # methyl carbon: C, 3 H, degree 4, sp3
    assert _names(store.x[0]) == {
        "element=C",
        "degree=4",
        "formal_charge=0",
        "num_hs=3",
        "hybridization=SP3",
        "chirality=unspecified",
    }
    assert store.x[0, ATOM["mass/100"]].item() == pytest.approx(0.12011, abs=1e-4)
    # the carbonyl bond (C1=O2) is double, in both directions
    ei = store.edge_index.t().tolist()
    for pair in ([1, 2], [2, 1]):
        attr = store.edge_attr[ei.index(pair)]
        assert attr[BOND["bond_type=double"]] == 1 and attr[BOND["bond_type=single"]] == 0
    # every bond appears in both directions with the same features
    for k in range(0, 6, 2):
        assert ei[k] == ei[k + 1][::-1]
        assert store.edge_attr[k].equal(store.edge_attr[k + 1])


def test_aromatic_and_ring_flags():
    store = MolGraph()(["CCO", "c1ccccc1"])
    eth, benz = store.x[:3], store.x[3:]
    assert eth[:, ATOM["aromatic"]].sum() == 0 and eth[:, ATOM["in_ring"]].sum() == 0
    assert (benz[:, ATOM["aromatic"]] == 1).all() and (benz[:, ATOM["ring_size=6"]] == 1).all()
    assert (benz[:, ATOM["ring_size=5"]] == 0).all()
    e0, e1 = store.edge_ptr[1].item(), store.edge_ptr[2].item()
    assert (store.edge_attr[e1 - 12 : e1, BOND["bond_type=aromatic"]] == 1).all()
    assert (store.edge_attr[e0:e1, BOND["in_ring"]] == 1).all()
    # local indices: benzene's edges refer to atoms 0..5
    assert store.edge_index[:, e0:e1].max() == 5


def _reference_features(smiles: str) -> tuple[np.ndarray, np.ndarray, list]:
    """Slow, obvious per-atom / per-bond version of the documented layout."""
    mol = Chem.MolFromSmiles(smiles)
    x = np.zeros((mol.GetNumAtoms(), len(ATOM)), dtype=np.float32)
    metals = {3, 4, 11, 12, 13, *range(19, 32), *range(37, 51), *range(55, 85), *range(87, 119)}
    ri = mol.GetRingInfo()

    def one_hot(prefix, value, allowed):
        x[a.GetIdx(), ATOM[f"{prefix}={value if value in allowed else 'other'}"]] = 1

    for a in mol.GetAtoms():
        sym = a.GetSymbol()
        elems = ("C", "N", "O", "S", "F", "Cl", "Br", "I", "P", "B", "Si", "Se", "H")
        el = sym if sym in elems else ("metal" if a.GetAtomicNum() in metals else "other")
        x[a.GetIdx(), ATOM[f"element={el}"]] = 1
        one_hot("degree", a.GetTotalDegree(), range(6))
        one_hot("formal_charge", a.GetFormalCharge(), range(-2, 3))
        one_hot("num_hs", a.GetTotalNumHs(), range(5))
        one_hot("hybridization", str(a.GetHybridization()), ("SP", "SP2", "SP3", "SP3D", "SP3D2"))
        tag = {"CHI_UNSPECIFIED": "unspecified", "CHI_TETRAHEDRAL_CW": "tetrahedral_cw"}
        tag["CHI_TETRAHEDRAL_CCW"] = "tetrahedral_ccw"
        x[a.GetIdx(), ATOM[f"chirality={tag.get(str(a.GetChiralTag()), 'other')}"]] = 1
        x[a.GetIdx(), ATOM["aromatic"]] = a.GetIsAromatic()
        x[a.GetIdx(), ATOM["in_ring"]] = a.IsInRing()
        for k in range(3, 9):
            x[a.GetIdx(), ATOM[f"ring_size={k}"]] = ri.IsAtomInRingOfSize(a.GetIdx(), k)
        x[a.GetIdx(), ATOM["mass/100"]] = a.GetMass() / 100
    bonds = []
    for b in mol.GetBonds():
        e = np.zeros(len(BOND), dtype=np.float32)
        t = str(b.GetBondType()).lower()
        e[
            BOND[f"bond_type={t if t in ('single', 'double', 'triple', 'aromatic') else 'other'}"]
        ] = 1
        e[BOND["conjugated"]] = b.GetIsConjugated()
        e[BOND["in_ring"]] = b.IsInRing()
        st = str(b.GetStereo()).removeprefix("STEREO").lower()
        e[BOND[f"stereo={st if st in ('none', 'any', 'z', 'e', 'cis', 'trans') else 'other'}"]] = 1
        bonds.append((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), e))
    return x, np.array([e for *_, e in bonds]).reshape(-1, len(BOND)), bonds


def test_matches_slow_reference_on_diverse_molecules():
    store = MolGraph()(DIVERSE)
    assert len(store) == len(DIVERSE)
    for i, smi in enumerate(DIVERSE):
        g = store.get(i)
        x_ref, e_ref, bonds = _reference_features(smi)
        np.testing.assert_allclose(g.x.numpy(), x_ref, atol=1e-6, err_msg=smi)
        expected_edges = []
        for b, e, _ in bonds:
            expected_edges += [[b, e], [e, b]]
        assert g.edge_index.t().tolist() == expected_edges, smi
        np.testing.assert_array_equal(g.edge_attr.numpy(), np.repeat(e_ref, 2, axis=0), smi)
    # spot checks a chemist would make
    ala = store.get(3).x
    assert ala[1, ATOM["chirality=tetrahedral_ccw"]] + ala[1, ATOM["chirality=tetrahedral_cw"]] == 1
    assert ala[:, ATOM["formal_charge=-1"]].sum() == 1
    ez = store.get(4).edge_attr
    assert ez[:, BOND["stereo=z"]].sum() + ez[:, BOND["stereo=cis"]].sum() == 2
    assert store.get(5).x[0, ATOM["mass/100"]].item() == pytest.approx(0.13003, abs=1e-4)
    assert store.get(6).x[0, ATOM["element=metal"]] == 1
    assert store.get(7).x[:, ATOM["in_ring"]].all()
    assert store.get(7).x[:, ATOM["ring_size=3"] : ATOM["ring_size=8"] + 1].sum() == 0
    assert store.get(11).edge_index.shape == (2, 0)


def _reference_batch(store: GraphStore, idx: list[int]) -> Batch:
    return Batch.from_data_list([store.get(i) for i in idx])


def test_batch_equals_per_molecule_concatenation():
    store = MolGraph()(DIVERSE)
    idx = [8, 0, 11, 3, 3, 6]
    y = torch.arange(len(idx), dtype=torch.float32).unsqueeze(1)
    got = store.batch(idx, y=y)
    ref = _reference_batch(store, idx)
    assert got.num_graphs == len(idx)
    for name in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert getattr(got, name).equal(getattr(ref, name)), name
    assert got.y.equal(y)
    assert store.batch(torch.tensor([2])).edge_index.min() == 0
    empty = store.batch([])
    assert empty.x.shape == (0, len(ATOM)) and empty.num_graphs == 0


def test_subset_concat_and_bounds():
    store = MolGraph()(DIVERSE)
    sub = store.subset([5, 1, 2])
    direct = MolGraph()([DIVERSE[5], DIVERSE[1], DIVERSE[2]])
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert getattr(sub, name).equal(getattr(direct, name)), name
    both = GraphStore.concat([store.subset([0, 1]), store.subset([2, 3])])
    assert both.x.equal(store.subset([0, 1, 2, 3]).x)
    assert both.edge_ptr.equal(store.subset([0, 1, 2, 3]).edge_ptr)
    with pytest.raises(IndexError):
        store.batch([len(DIVERSE)])


def test_save_load_weights_only(tmp_path):
    g = MolGraph()
    store = g(DIVERSE)
    path = tmp_path / "graphs.pt"
    store.save(path)
    raw = torch.load(path, weights_only=True)
    assert isinstance(raw, dict) and raw["x"].equal(store.x)
    back = GraphStore.load(path)
    assert back.spec == g.spec
    for name in ("x", "edge_index", "edge_attr", "atom_ptr", "edge_ptr"):
        assert getattr(back, name).equal(getattr(store, name)), name
    assert back.n_atom_features == g.n_atom_features == len(atom_feature_names())
    assert back.n_bond_features == g.n_bond_features == len(bond_feature_names())
    (tmp_path / "junk.pt").write_bytes(b"not a tensor file")
    with pytest.raises(MolprobeError, match="junk.pt"):
        GraphStore.load(tmp_path / "junk.pt")


def test_spec_layout_guard():
    spec = MolGraph().spec
    assert MolGraph.from_spec(spec).spec == spec
    bad = dict(spec, atom_features=spec["atom_features"][:-1])
    with pytest.raises(MolprobeError, match="layout"):
        MolGraph.from_spec(bad)
    with pytest.raises(MolprobeError, match="xyz"):
        MolGraph()(["CCO", "xyz"])


def test_molecule_features_follow_batches_subsets_and_concat():
    store = MolGraph()(DIVERSE)
    M = np.arange(len(DIVERSE) * 3, dtype=np.float32).reshape(-1, 3)
    aug = store.with_mol_features(M)
    assert aug.n_mol_features == 3 and store.n_mol_features == 0
    assert aug.batch([4, 0, 4]).mol_features.equal(torch.as_tensor(M[[4, 0, 4]]))
    assert not hasattr(store.batch([0]), "mol_features")
    assert aug.subset([2, 1]).mol_features.equal(torch.as_tensor(M[[2, 1]]))
    both = GraphStore.concat([aug.subset([0, 1]), aug.subset([2])])
    assert both.mol_features.equal(torch.as_tensor(M[:3]))
    with pytest.raises(MolprobeError, match="only some"):
        GraphStore.concat([aug.subset([0]), store.subset([1])])
    with pytest.raises(MolprobeError, match="inconsistent"):
        store.with_mol_features(M[:2])
