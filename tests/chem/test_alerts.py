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
