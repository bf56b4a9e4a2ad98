"""Concept library on hand-picked molecules: each level, atom membership, filtering, caching."""

import numpy as np
import pytest
from rdkit import Chem

from molprobe.chem.concepts import ConceptOptions, ConceptTable, compute_concepts

SMILES = [
    "CC(=O)O",  # 0 acetic acid
    "Oc1ccccc1",  # 1 phenol
    "CCN",  # 2 ethylamine
    "O=[N+]([O-])c1ccccc1",  # 3 nitrobenzene
    "not a smiles",  # 4 unparsable
    "NCCCO",  # 5 3-aminopropanol: donor/acceptor 4 bonds apart
    "CCCCCC",  # 6 hexane
]


@pytest.fixture(scope="module")
def table() -> ConceptTable:
    return compute_concepts(SMILES, ConceptOptions(pharm2d=True, pharm2d_min_prevalence=0.0))


def present(table, i):
    return {c for c, v in zip(table.concepts, table.values[i], strict=True) if v == 1}


def test_levels_and_shapes(table):
    assert table.values.shape == (len(SMILES), len(table.meta))
    assert set(table.meta["level"]) == {1, 2, 3}
    assert set(table.meta["family"]) == {"fragment", "centre", "pair", "alert", "pharm2d"}
    assert table.frame().columns.names == ["level", "concept"]
    assert np.isnan(table.values[4]).all()  # unparsable: unknown, not absent
    assert table.atom_ptr[-1] == table.atom_members.shape[0]
    assert table.atom_ptr[5] - table.atom_ptr[4] == 0


def test_level1_radicals(table):
    assert {"fr_COO", "fr_Al_COO"} <= present(table, 0)
    assert {"fr_phenol", "fr_Ar_OH"} <= present(table, 1)
    assert "fr_NH2" in present(table, 2)
    assert "fr_nitro_arom" in present(table, 3)
    assert "fr_COO" not in present(table, 1)
    assert {c for c in present(table, 6) if c.startswith("fr_")} == {"fr_unbrch_alkane"}


def test_level2_centres(table):
    assert {"NegIonizable>=1", "Donor>=1", "Acceptor>=2"} <= present(table, 0)
    assert "Aromatic>=1" in present(table, 1) and "Aromatic>=2" not in present(table, 1)
    assert {"Donor>=1", "PosIonizable>=1"} <= present(table, 2)
    assert "NegIonizable>=1" not in present(table, 2)
    assert table.column("n:Donor")[5] == 2


def test_level3_pharmacophores(table):
    assert "aromatic_nitro" in present(table, 3)
    assert "aromatic_nitro" not in present(table, 1)
    assert "pair:Donor-Acceptor@4" in present(table, 5)
    assert table.column("dist:Donor-Acceptor")[5] == 4
    assert np.isnan(table.column("dist:Donor-Acceptor")[6])
    ph = table.meta.loc[table.meta["family"] == "pharm2d", "concept"]
    assert len(ph) > 0 and all(c.startswith("ph:") for c in ph)


def test_atom_membership_follows_rdkit_order(table):
    assert table.atoms_of(0, "fr_COO").tolist() == [0, 1, 2, 3]
    assert table.atoms_of(1, "Aromatic").tolist() == [1, 2, 3, 4, 5, 6]
    assert table.atoms_of(1, "fr_Ar_OH").tolist() == [0, 1]
    assert table.atoms_of(2, "PosIonizable").tolist() == [2]
    assert table.atoms_of(3, "aromatic_nitro").tolist() == [0, 1, 2, 3]
    mol = Chem.MolFromSmiles(SMILES[5])
    pair = table.atoms_of(5, "pair:Donor-Acceptor@4").tolist()
    assert sorted(mol.GetAtomWithIdx(i).GetSymbol() for i in pair) == ["N", "O"]


def test_select_frequent_and_roundtrip(table, tmp_path):
    sub = table.select([3, 1])
    assert sub.smiles == [SMILES[3], SMILES[1]]
    assert sub.atoms_of(1, "Aromatic").tolist() == [1, 2, 3, 4, 5, 6]
    freq = table.frequent(low=0.2, high=0.8)
    prev = freq.prevalence()
    assert ((prev >= 0.2) & (prev <= 0.8)).all() and len(freq.meta) < len(table.meta)
    table.save(tmp_path / "c")
    back = ConceptTable.load(tmp_path / "c")
    np.testing.assert_array_equal(back.values, table.values)
    np.testing.assert_array_equal(back.counts, table.counts)
    assert (back.atom_members != table.atom_members).nnz == 0
    assert back.meta.equals(table.meta)


def test_parallel_matches_serial():
    a = compute_concepts(SMILES[:4], ConceptOptions(pharm2d=False))
    b = compute_concepts(SMILES[:4], ConceptOptions(pharm2d=False, n_jobs=2))
    np.testing.assert_array_equal(a.values, b.values)
