"""Structural alerts: SMARTS parse, hand-picked positives and negatives."""

import pytest
from rdkit import Chem

from molprobe.chem.alerts import ALERTS, alert_matches, alert_names, match_alerts


def test_every_alert_parses_and_has_a_source():
    assert len(alert_names()) == len(set(alert_names()))
    for alert in ALERTS:
        assert Chem.MolFromSmarts(alert.smarts) is not None, alert.name
        assert alert.source in {"Kazius2005", "BenigniBossa2008"}


@pytest.mark.parametrize(
    ("smiles", "alert"),
    [
        ("O=[N+]([O-])c1ccccc1", "aromatic_nitro"),
        ("Nc1ccccc1", "aromatic_amine"),
        ("CC1OC1", "epoxide"),
        ("C1CN1", "aziridine"),
        ("CN=[N+]=[N-]", "azide"),
        ("CN(C)N=O", "n_nitroso"),
        ("ClCCSCCCl", "nitrogen_or_sulfur_mustard"),
        ("c1ccc2c(c1)ccc1ccccc12", "polycyclic_aromatic_phenanthrene"),
        ("COS(C)(=O)=O", "alkyl_sulfonate_or_sulfate"),
        ("C=CC=O", "ab_unsaturated_aldehyde"),
        ("O=C1CCO1", "beta_propiolactone"),
    ],
)
def test_alert_positives(smiles, alert):
    assert alert in match_alerts(smiles)


@pytest.mark.parametrize(
    ("smiles", "alert"),
    [
        ("CC(=O)Nc1ccccc1", "aromatic_amine"),  # acetanilide: an amide, not a free amine
        ("CCCC[N+](=O)[O-]", "aromatic_nitro"),  # aliphatic nitro
        ("C1CCOC1", "epoxide"),  # THF is not an epoxide
        ("CC(F)(F)F", "aliphatic_halide"),
    ],
)
def test_alert_negatives(smiles, alert):
    assert alert not in match_alerts(smiles)


def test_alert_atoms_of_nitrobenzene():
    mol = Chem.MolFromSmiles("O=[N+]([O-])c1ccccc1")
    atoms = {a for m in alert_matches(mol)["aromatic_nitro"] for a in m}
    assert atoms == {0, 1, 2, 3}  # both oxygens, the nitrogen and the ipso carbon
    assert match_alerts("CCO") == []


def test_filter_catalog_finds_the_same_alerts_as_one_match_per_smarts(mirror):
    """The FilterCatalog pass (screening's path) equals plain SMARTS matching on 50,000 molecules."""
    import pandas as pd
    from rdkit import RDLogger

    from molprobe.chem.alerts import match_alerts_plain

    RDLogger.DisableLog("rdApp.*")
    smiles = pd.read_csv(mirror / "tox21.csv.gz", usecols=["smiles"])["smiles"].tolist()
    smiles += pd.read_csv(mirror / "muv.csv.gz", usecols=["smiles"])["smiles"].tolist()
    mols = [m for m in map(Chem.MolFromSmiles, smiles[:51_000]) if m is not None][:50_000]
    assert len(mols) == 50_000
    n_flagged = 0
    for mol in mols:
        expected = match_alerts_plain(mol)
        assert match_alerts(mol) == expected, Chem.MolToSmiles(mol)
        n_flagged += bool(expected)
    assert n_flagged > 5_000  # the comparison covers many molecules with alerts, not only none
