"""Concept library on hand-picked molecules: what a medicinal chemist would label, per level,
atom membership, concept families, filtering, caching."""

import numpy as np
import pytest
from rdkit import Chem

from molprobe.chem.centres import MIN_DISTANCE, find_centres
from molprobe.chem.concepts import ALERT_LEVEL, ConceptOptions, ConceptTable, compute_concepts

MOLS = {
    "acetic_acid": "CC(=O)O",
    "phenol": "Oc1ccccc1",
    "ethylamine": "CCN",
    "nitrobenzene": "O=[N+]([O-])c1ccccc1",
    "bad": "not a smiles",
    "aminopropanol": "NCCCO",  # donor/acceptor 4 bonds apart
    "hexane": "CCCCCC",
    "dmac": "CC(=O)N(C)C",  # N,N-dimethylacetamide
    "triethylamine": "CCN(CC)CC",
    "pyridine": "c1ccncc1",
    "acetone": "CC(C)=O",
    "tetrazole": "Cc1nn[nH]n1",
    "methanesulfonic_acid": "CS(=O)(=O)O",
    "benzene": "c1ccccc1",
    "naphthalene": "c1ccc2ccccc2c1",
    "decanol": "CCCCCCCCCCO",
    "procainamide": "CCN(CC)CCNC(=O)c1ccc(N)cc1",
    "glycine": "NCC(=O)O",  # donor and acceptor closer than 3 bonds only
}
NAMES = list(MOLS)


@pytest.fixture(scope="module")
def table() -> ConceptTable:
    return compute_concepts(list(MOLS.values()))


def present(table, name):
    i = NAMES.index(name)
    return {c for c, v in zip(table.concepts, table.values[i], strict=True) if v == 1}


def count(table, name, target):
    return table.column(target)[NAMES.index(name)]


def test_levels_kinds_and_shapes(table):
    assert table.values.shape == (len(MOLS), len(table.meta))
    assert set(table.meta["level"]) == {ALERT_LEVEL, 1, 2, 3}
    assert set(table.meta["kind"]) == {"group", "centre", "pair", "triplet", "alert"}
    # alerts are their own family, never a level of the hierarchy
    assert (table.meta.loc[table.meta["kind"] == "alert", "level"] == ALERT_LEVEL).all()
    assert table.frame().columns.names == ["level", "concept"]
    bad = NAMES.index("bad")
    assert np.isnan(table.values[bad]).all()  # unparsable: unknown, not absent
    assert table.atom_ptr[bad + 1] - table.atom_ptr[bad] == 0


def test_level1_is_functional_groups_not_rings_or_chains(table):
    level1 = set(table.meta.loc[table.meta["level"] == 1, "concept"])
    assert not {"fr_benzene", "fr_bicyclic", "fr_unbrch_alkane", "fr_pyridine"} & level1
    assert not present(table, "benzene") & level1
    assert not present(table, "naphthalene") & level1
    assert not present(table, "hexane") & level1
    assert {"carboxylic_acid", "carboxylic_acid_aliphatic"} <= present(table, "acetic_acid")
    assert "phenol" in present(table, "phenol") and "carboxylic_acid" not in present(
        table, "phenol"
    )
    assert "primary_amine" in present(table, "ethylamine")
    assert "tertiary_amine" in present(table, "triethylamine")
    assert "amide" in present(table, "dmac") and "tertiary_amine" not in present(table, "dmac")
    assert "nitro_aromatic" in present(table, "nitrobenzene")
    assert {"amide", "tertiary_amine", "aniline"} <= present(table, "procainamide")


def test_donors_follow_n_h_o_h_s_h(table):
    assert "Donor>=1" not in present(table, "dmac")  # no N-H
    assert "Donor>=1" not in present(table, "triethylamine")
    assert "Donor>=1" not in present(table, "pyridine")
    assert "Donor>=1" in present(table, "phenol")
    assert count(table, "aminopropanol", "n:Donor") == 2
    assert count(table, "procainamide", "n:Donor") == 2  # amide N-H and aniline NH2


def test_acceptors_include_amine_carbonyl_nitro_and_pyridine_n(table):
    assert "Acceptor>=1" in present(table, "triethylamine")  # tertiary amine N
    assert "Acceptor>=1" in present(table, "acetone")  # carbonyl O
    assert count(table, "nitrobenzene", "n:Acceptor") == 2  # both nitro O
    assert count(table, "pyridine", "n:Acceptor") == 1  # pyridine-type N
    assert count(table, "dmac", "n:Acceptor") == 1  # amide O, not the amide N
    mol = Chem.MolFromSmiles(MOLS["pyridine"])
    (n_atom,) = find_centres(mol)["Acceptor"]
    assert mol.GetAtomWithIdx(n_atom[0]).GetSymbol() == "N"


def test_ionizable_centres_are_not_just_carboxylic_acids(table):
    for name in ("acetic_acid", "tetrazole", "methanesulfonic_acid"):
        assert "NegIonizable>=1" in present(table, name), name
    assert "carboxylic_acid" not in present(table, "tetrazole")
    assert "NegIonizable>=1" not in present(table, "phenol")
    assert "PosIonizable>=1" in present(table, "triethylamine")
    assert "PosIonizable>=1" not in present(table, "dmac")  # amide N is not basic
    assert "PosIonizable>=1" not in present(table, "nitrobenzene")  # nitro N+ is not a cation


def test_aromatic_and_hydrophobe_centres(table):
    assert count(table, "naphthalene", "n:Aromatic") == 2
    assert count(table, "benzene", "n:Aromatic") == 1
    assert "Hydrophobe>=1" in present(table, "hexane")
    assert "Hydrophobe>=1" not in present(table, "triethylamine")  # ethyls on N are polar-bound


def test_level3_only_at_three_bonds_or_more(table):
    assert MIN_DISTANCE == 3
    assert "pair:Donor-Acceptor@3-4" in present(table, "aminopropanol")
    assert count(table, "aminopropanol", "dist:Donor-Acceptor") == 4
    # glycine: NH2 and the acid O are 3 bonds apart, the acid's own OH/C=O are not partners
    assert count(table, "glycine", "dist:Donor-Acceptor") == 3
    assert not {c for c in present(table, "acetic_acid") if c.startswith(("pair:", "triplet:"))}
    assert np.isnan(count(table, "hexane", "dist:Donor-Acceptor"))
    assert "pair:Donor-Acceptor@7-9" in present(table, "procainamide")
    assert "triplet:Donor-Acceptor-PosIonizable" in present(table, "procainamide")
    # level 3 uses the level-2 centres: no pair concept without both centres present
    frame = table.frame()
    for lvl, name in frame.columns:
        if lvl == 3 and name.startswith("pair:"):
            a, b = name[5:].split("@")[0].split("-")
            has = frame[(lvl, name)] == 1
            assert (frame.loc[has, (2, f"{a}>=1")] == 1).all()
            assert (frame.loc[has, (2, f"{b}>=1")] == 1).all()


def test_concept_families_group_nested_concepts(table):
    fam = table.meta.set_index("concept")["concept_family"]
    assert fam["carboxylic_acid"] == fam["carboxylic_acid_aliphatic"] == "carboxylic acid"
    assert fam["Donor>=1"] == fam["Donor>=2"] == fam["Donor>=3"]
    assert fam["pair:Donor-Acceptor@3-4"] == fam["pair:Donor-Acceptor@5-6"]
    assert fam["pair:Donor-Acceptor@3-4"] != fam["pair:Donor-Donor@3-4"]
    assert table.meta["source"].str.len().min() > 0


def test_atom_membership_follows_rdkit_order(table):
    assert table.atoms_of(NAMES.index("acetic_acid"), "carboxylic_acid").tolist() == [1, 2, 3]
    assert table.atoms_of(NAMES.index("phenol"), "Aromatic").tolist() == [1, 2, 3, 4, 5, 6]
    assert table.atoms_of(NAMES.index("ethylamine"), "PosIonizable").tolist() == [2]
    assert table.atoms_of(NAMES.index("nitrobenzene"), "alert:aromatic_nitro").tolist() == [
        0,
        1,
        2,
        3,
    ]
    mol = Chem.MolFromSmiles(MOLS["aminopropanol"])
    pair = table.atoms_of(NAMES.index("aminopropanol"), "pair:Donor-Acceptor@3-4").tolist()
    assert sorted(mol.GetAtomWithIdx(i).GetSymbol() for i in pair) == ["N", "O"]


def test_select_frequent_and_roundtrip(table, tmp_path):
    sub = table.select([3, 1])
    assert sub.smiles == [MOLS["nitrobenzene"], MOLS["phenol"]]
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
    smiles = list(MOLS.values())[:6]
    a = compute_concepts(smiles)
    b = compute_concepts(smiles, ConceptOptions(n_jobs=2))
    np.testing.assert_array_equal(a.values, b.values)
