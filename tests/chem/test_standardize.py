"""Standardization: reasons, recipe, fragment choice, duplicate merging, whole-file reconciliation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem.MolStandardize import rdMolStandardize

from molprobe.chem.io import read_molecules
from molprobe.chem.standardize import (
    REASONS,
    Reconciliation,
    StandardizeRecipe,
    merge_duplicates,
    standardize_file,
    standardize_frame,
    standardize_many,
    standardize_smiles,
)
from molprobe.errors import InputError

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


# --------------------------------------------------------------------------- one molecule


@pytest.mark.parametrize(
    "smiles, expected",
    [
        ("CC(=O)[O-].[Na+]", "CC(=O)O"),  # sodium acetate: salt stripped, neutralized
        ("CCN(CC)CC.Cl", "CCN(CC)CC"),  # hydrochloride
        ("OCC.O", "CCO"),  # hydrate
        ("[H]C([H])([H])O", "CO"),  # explicit hydrogens removed
        ("C[N+](C)(C)C.[Cl-]", "C[N+](C)(C)C"),  # quaternary ammonium stays charged
        ("C[C@H](N)C(=O)O", "C[C@H](N)C(=O)O"),  # stereo kept
        ("  c1ccccc1O  ", "Oc1ccccc1"),  # surrounding whitespace ignored
        ("[2H]C(Cl)Cl", "[2H]C(Cl)Cl"),  # isotopes kept by default
    ],
)
def test_known_molecules(smiles, expected):
    result = standardize_smiles(smiles, StandardizeRecipe())
    assert result.reason is None
    assert result.smiles == expected


@pytest.mark.parametrize(
    "smiles, reason",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("C1CC", "unparsable"),
        ("this is not smiles", "unparsable"),
        ("CC(C)(C)(C)(C)C", "valence"),
        ("NC(=O)NC1N=C(O[AlH3](O)O)NC1=O", "valence"),  # a Tox21 entry
        ("c1cccc1", "kekulization"),
        ("[Na+].[Cl-]", "no organic fragment"),
        ("[Fe]", "no organic fragment"),
        ("O", "no organic fragment"),
        ("[H][H]", "no organic fragment"),
        ("C" * 151, "too large"),
    ],
)
def test_rejection_reasons(smiles, reason):
    result = standardize_smiles(smiles, StandardizeRecipe())
    assert result.smiles is None
    assert result.reason == reason
    assert reason in REASONS


def test_reason_detail_has_rdkit_message():
    assert "valence" in standardize_smiles("CC(C)(C)(C)(C)C").detail.lower()
    assert "kekulize" in standardize_smiles("c1cccc1").detail.lower()


def test_recipe_switches():
    salt = "CC(=O)[O-].[Na+]"
    assert standardize_smiles(salt, StandardizeRecipe(neutralize=False)).smiles == "CC(=O)[O-]"
    kept = standardize_smiles(salt, StandardizeRecipe(largest_fragment=False)).smiles
    assert kept == "CC(=O)[O-].[Na+]"  # the uncharger leaves a balanced salt alone
    # without the fragment step, inorganic entries are not rejected for lack of carbon
    assert standardize_smiles("[Na+].[Cl-]", StandardizeRecipe(largest_fragment=False)).smiles
    no_iso = StandardizeRecipe(remove_isotopes=True)
    assert standardize_smiles("[2H]C([2H])([2H])O", no_iso).smiles == "CO"
    assert standardize_smiles("[13CH3]O", no_iso).smiles == "CO"
    small = StandardizeRecipe(min_heavy_atoms=3)
    assert standardize_smiles("CC", small).reason == "too small"
    assert standardize_smiles("CCC", small).smiles == "CCC"
    assert standardize_smiles("C" * 20, StandardizeRecipe(max_heavy_atoms=19)).reason == (
        "too large"
    )


def test_cleanup_normalizes_functional_groups():
    nitro = "C[N+](=O)[O-]"
    charge_sep = "CN(=O)=O"  # pentavalent nitro form: Cleanup normalizes it
    cleanup = StandardizeRecipe(cleanup=True)
    assert standardize_smiles(charge_sep, cleanup).smiles == standardize_smiles(nitro).smiles


def test_one_fragment_without_a_dot_but_cleanup_disconnects_metals():
    # a SMILES without "." is one fragment, as parsed: the largest-fragment step keeps it ...
    assert standardize_smiles("CC(=O)O[Na]").smiles == "CC(=O)[O][Na]"
    assert standardize_smiles("[Na][Cl]").reason == "no organic fragment"
    # ... but Cleanup's metal disconnection makes fragments of it: the step sees them
    assert standardize_smiles("CC(=O)O[Na]", StandardizeRecipe(cleanup=True)).smiles == "CC(=O)O"


def test_recipe_spec_roundtrip():
    recipe = StandardizeRecipe(cleanup=True, max_heavy_atoms=80)
    spec = recipe.spec
    assert spec["name"] == "rdkit-standardize" and spec["max_heavy_atoms"] == 80
    assert StandardizeRecipe.from_spec(spec) == recipe
    with pytest.raises(ValueError, match="unknown"):
        StandardizeRecipe.from_spec({**spec, "tautomers": True})
    with pytest.raises(ValueError):
        StandardizeRecipe(min_heavy_atoms=5, max_heavy_atoms=4)


@pytest.mark.parametrize(
    "mixture",
    [
        "CCC[n+]1ccn(C)c1C.O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F",  # ionic liquid
        "NC1CCCCC1.NC1CCCCC1.O=P(O)(O)OC[C@H](O)CO",
        "c1noc2c1CCCC2.c1onc2c1CCCC2",  # isomers: tie broken by SMILES
        "CC(=O)OC(C)C(=O)OCC[N+](C)(C)C.CC(=O)OC(C)C(=O)OCC[N+](C)(C)C."
        "O=S(=O)([O-])c1cccc2c(S(=O)(=O)[O-])cccc12",
    ],
)
def test_largest_fragment_matches_rdkit_chooser(mixture):
    mol = Chem.MolFromSmiles(mixture)
    chooser = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
    uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
    expected = Chem.MolToSmiles(uncharger.uncharge(chooser.choose(mol)))
    assert standardize_smiles(mixture).smiles == expected


# --------------------------------------------------------------------------- frames


def test_standardize_frame_passes_read_errors():
    chunk = next(read_molecules(BAD / "broken_middle.sdf", columns=["active"]))
    kept, rejected = standardize_frame(chunk, StandardizeRecipe())
    assert kept["row"].tolist() == [0, 3]
    assert kept["smiles"].tolist() == ["CCO", "C[C@H](N)C(=O)O"]
    assert kept["id"].tolist() == ["ethanol", "alanine"]
    assert kept["active"].tolist() == ["1", "1"]
    assert rejected["row"].tolist() == [1, 2]
    assert rejected["reason"].tolist() == ["unparsable", "valence"]
    assert rejected["detail"][0] == "unparsable SDF record"
    assert list(rejected.columns) == ["row", "input", "reason", "detail"]


def test_standardize_frame_parallel_equals_serial(tox21_path):
    chunk = next(read_molecules(tox21_path, chunk_size=1_200))
    k1, r1 = standardize_frame(chunk, StandardizeRecipe(), n_jobs=1)
    k2, r2 = standardize_frame(chunk, StandardizeRecipe(), n_jobs=2)
    pd.testing.assert_frame_equal(k1, k2)
    pd.testing.assert_frame_equal(r1, r2)
    assert len(k1) + len(r1) == 1_200


# --------------------------------------------------------------------------- duplicates


def test_merge_duplicates_classification_rule():
    df = pd.DataFrame(
        {
            "row": [0, 1, 2, 3, 4, 5, 6],
            "input_smiles": ["a0", "a1", "a2", "b0", "b1", "c0", "d0"],
            "smiles": ["A", "A", "A", "B", "B", "C", "A"],
            # A: 1,1,0,nan -> majority 1 ; B: 0,1 tie -> NaN ; C alone
            "t1": [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, np.nan],
            # A: nothing measured -> NaN ; B: 1, NaN -> 1
            "t2": [np.nan, np.nan, np.nan, 1.0, np.nan, 0.0, np.nan],
        }
    )
    merged, n_merged = merge_duplicates(df, ["t1", "t2"], "classification")
    assert n_merged == 4
    assert merged["smiles"].tolist() == ["A", "B", "C"]
    assert merged["row"].tolist() == [0, 3, 5]  # first row kept
    assert merged["input_smiles"].tolist() == ["a0", "b0", "c0"]
    assert merged["t1"].tolist()[0] == 1.0 and math.isnan(merged["t1"][1])
    assert merged["t1"][2] == 1.0
    assert math.isnan(merged["t2"][0]) and merged["t2"][1] == 1.0 and merged["t2"][2] == 0.0


def test_merge_duplicates_regression_mean_and_no_duplicates():
    df = pd.DataFrame(
        {"row": [0, 1, 2], "input_smiles": ["x", "y", "z"], "smiles": ["A", "A", "B"]}
    )
    df["y"] = [1.0, 2.5, np.nan]
    merged, n = merge_duplicates(df, ["y"], "regression")
    assert n == 1 and merged["y"][0] == pytest.approx(1.75) and math.isnan(merged["y"][1])
    unique, n0 = merge_duplicates(df.iloc[1:], ["y"], "regression")
    assert n0 == 0 and len(unique) == 2
    with pytest.raises(ValueError):
        merge_duplicates(df, ["y"], "ranking")


def test_duplicates_fixture_through_file():
    out = standardize_file(BAD / "duplicates.csv", task_columns=["t1", "t2"])
    mol = out.molecules.set_index("smiles")
    # CCO, OCC and C[CH2]O are one molecule: t1 1,0,NaN -> tie -> NaN; t2 0,0,1 -> 0
    assert math.isnan(mol.loc["CCO", "t1"]) and mol.loc["CCO", "t2"] == 0.0
    assert mol.loc["CCO", "mol_id"] == "mol000000"
    assert mol.loc["CCO", "input_smiles"] == "CCO"
    # sodium acetate and acetic acid: t1 1,1 -> 1; t2 NaN,1 -> 1
    assert mol.loc["CC(=O)O", "t1"] == 1.0 and mol.loc["CC(=O)O", "t2"] == 1.0
    assert mol.loc["CC(=O)O", "input_smiles"] == "CC(=O)[O-].[Na+]"
    assert out.report.n_merged == 3 and out.report.n_kept == 3
    reg = standardize_file(BAD / "duplicates.csv", task_columns=["y"], task_type="regression")
    assert reg.molecules.set_index("smiles").loc["CCO", "y"] == pytest.approx(2.0)


# --------------------------------------------------------------------------- files: bad inputs

# fixture -> (n_in, n_kept, n_merged, reasons); extra keyword arguments in the 5th slot
CORPUS = {
    "unparsable.csv": (5, 2, 0, {"unparsable": 3}),
    "valence.csv": (3, 1, 0, {"valence": 2}),
    "nonkekulizable.smi": (3, 1, 0, {"kekulization": 2}),
    "empty_lines.smi": (6, 3, 0, {"empty": 3}),
    "blank_smiles.csv": (4, 1, 0, {"empty": 3}),
    "whitespace.csv": (2, 2, 0, {}),
    "long_molecule.smi": (2, 1, 0, {"too large": 1}),
    "salts.csv": (4, 4, 0, {}),
    "metals.smi": (5, 1, 0, {"no organic fragment": 4}),
    "isotopes.smi": (3, 3, 0, {}),
    "explicit_h.smi": (3, 2, 0, {"no organic fragment": 1}),
    "crlf.csv": (3, 2, 0, {"unparsable": 1}),
    "bom.csv": (2, 2, 0, {}),
    "non_utf8.csv": (3, 2, 0, {"unparsable": 1}),
    "quoted.csv": (3, 3, 0, {}),
    "header_only.csv": (0, 0, 0, {}),
    "empty.csv": (0, 0, 0, {}),
    "broken_middle.sdf": (4, 2, 0, {"unparsable": 1, "valence": 1}),
    "duplicates.csv": (6, 3, 3, {}),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_input_corpus_reconciles(name):
    n_in, n_kept, n_merged, reasons = CORPUS[name]
    id_column = {"quoted.csv": "id", "non_utf8.csv": "name"}.get(name)
    out = standardize_file(BAD / name, id_column=id_column)
    rep = out.report
    assert (rep.n_in, rep.n_kept, rep.n_merged, rep.reasons) == (n_in, n_kept, n_merged, reasons)
    assert rep.n_in == rep.n_kept + rep.n_rejected + rep.n_merged
    assert len(out.molecules) == rep.n_kept and len(out.rejected) == rep.n_rejected
    assert list(out.molecules.columns[:3]) == ["mol_id", "input_smiles", "smiles"]
    assert out.molecules["mol_id"].is_unique
    assert set(out.rejected["reason"]) <= set(REASONS)
    # every kept SMILES is canonical and parses again
    for smi in out.molecules["smiles"]:
        assert Chem.MolToSmiles(Chem.MolFromSmiles(smi)) == smi


def test_corpus_task_columns_and_ids():
    out = standardize_file(BAD / "quoted.csv", id_column="id")
    assert out.task_columns == ["Neoplasms benign, malignant", "Eye disorders"]
    assert out.molecules["mol_id"].tolist() == ["A", "B", "C, quoted"]
    assert out.molecules["Eye disorders"].isna().tolist() == [False, False, True]
    assert out.molecules["Neoplasms benign, malignant"].dtype == np.float64
    smi = standardize_file(BAD / "metals.smi")
    assert smi.molecules["mol_id"].tolist() == ["sodium_acetate"]  # name from the SMILES file
    assert smi.molecules["smiles"].tolist() == ["CC(=O)O"]


@pytest.mark.parametrize(
    "name, match, row",
    [
        ("no_smiles_column.csv", "no SMILES column", None),
        ("wrong_delimiter.csv", "wrong delimiter", None),
        ("truncated.csv.gz", "truncated or corrupt gzip", "any"),
        ("non_numeric_label.csv", "task column 'active' has a non-numeric value 'yes'", 1),
    ],
)
def test_fatal_inputs_raise(name, match, row):
    with pytest.raises(InputError, match=match) as err:
        standardize_file(BAD / name)
    assert name in str(err.value)
    if row == "any":
        assert err.value.row is not None
    else:
        assert err.value.row == row


def test_duplicate_ids_made_unique(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("mol_id,smiles,y\nX,CCO,1\nX,CCN,0\n,CCC,1\n")
    out = standardize_file(path)  # mol_id column picked up by default
    assert out.task_columns == ["y"]
    assert out.molecules["mol_id"].tolist() == ["X", "X-1", "mol000002"]


@pytest.mark.parametrize("chunk_size", [1, 7, 10_000])
def test_file_result_independent_of_chunk_size(chunk_size):
    ref = standardize_file(BAD / "duplicates.csv", chunk_size=10_000)
    out = standardize_file(BAD / "duplicates.csv", chunk_size=chunk_size)
    pd.testing.assert_frame_equal(ref.molecules, out.molecules)
    ref = standardize_file(BAD / "empty_lines.smi", chunk_size=10_000)
    out = standardize_file(BAD / "empty_lines.smi", chunk_size=chunk_size)
    pd.testing.assert_frame_equal(ref.rejected, out.rejected)
    assert out.rejected["row"].tolist() == [1, 3, 4]


def test_reconciliation_check_catches_lost_rows():
    Reconciliation(5, 3, 1, 1, {"empty": 1}).check()
    with pytest.raises(RuntimeError, match="bookkeeping"):
        Reconciliation(5, 3, 1, 0, {"empty": 1}).check()
    assert Reconciliation(5, 3, 1, 1).line() == "n_in=5 kept=3 rejected=1 merged=1"


def test_neutralized_output_always_parses_again():
    """Ferrocene's cyclopentadienide neutralizes to a non-kekulizable ring: rejected, not kept."""
    from rdkit import Chem

    from molprobe.chem.standardize import standardize_smiles

    res = standardize_smiles("[Fe+2].c1cc[cH-]c1.c1cc[cH-]c1")
    assert res.smiles is None or Chem.MolFromSmiles(res.smiles) is not None
    assert res.reason == "kekulization"


def test_standardized_molecule_comes_along_and_matches_its_smiles():
    """The standardizer hands over its molecule: the parsed input when nothing changed it, the
    re-parsed output when something did (an edited molecule's output must parse). Either way
    it has the canonical SMILES and ECFP4 of parsing the output again; worker batches never
    carry molecules."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    recipe = StandardizeRecipe()
    cases = {
        "OC1=CC=CC=C1C(O)=O": True,  # unchanged (Kekulé input, aromatic output): the input
        "CC(=O)[O-]": False,  # neutralized: re-parsed
        "CC(=O)[O-].[Na+]": False,  # salt stripped and neutralized: re-parsed
        "Oc1ccccc1.O": False,  # water stripped: re-parsed
    }
    for smiles, is_input in cases.items():
        res = standardize_smiles(smiles, recipe)
        assert res.mol is not None, smiles
        again = Chem.MolFromSmiles(res.smiles)
        assert Chem.MolToSmiles(res.mol) == res.smiles
        assert (gen.GetFingerprintAsNumPy(res.mol) == gen.GetFingerprintAsNumPy(again)).all()
        if not is_input:  # the parsed output itself: same atom order as featurizers see
            assert [a.GetSymbol() for a in res.mol.GetAtoms()] == [
                a.GetSymbol() for a in again.GetAtoms()
            ]
    assert standardize_smiles("[Na+].[Cl-]", recipe).mol is None  # rejected: no molecule
    assert all(r.mol is None for r in standardize_many(list(cases), recipe))
    assert all(r.mol is not None for r in standardize_many(list(cases), recipe, keep_mols=True))


def test_molecules_are_kept_only_in_process():
    chunk = pd.DataFrame({"row": [0, 1], "input": ["CCO", "c1ccccc1O"]})
    kept, _ = standardize_frame(chunk, StandardizeRecipe(), keep_mols=True)
    assert all(m is not None for m in kept["mol"])
    with pytest.raises(ValueError, match="in-process"):
        standardize_frame(chunk, StandardizeRecipe(), n_jobs=2, keep_mols=True)
