"""The planted ping-pong table: a trimethylsilyl decoy tied to the SR-MMP positives of real
Tox21 molecules is learned (and flagged) by every family trained on it, and the clean twin
(same molecules, split and decoy count, decoys at random) is not flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.chem.standardize import standardize_smiles
from molprobe.shortcuts.planted import (
    Family,
    PlantedConfig,
    add_decoy,
    intervals,
    place_decoys,
    planted_audit,
)
from molprobe.training.metrics import weighted_roc_auc

ECFP = {"name": "ecfp", "radius": 2, "n_bits": 1024}
FAMILIES = [
    Family("snn", [ECFP], {"n_layers": 2, "width": 64, "epochs": 8, "lr": 1e-3}),
    Family("fnn_bn", [ECFP], {"n_layers": 2, "width": 64, "epochs": 8}),
    Family("gine", [{"name": "graph"}], {"n_layers": 2, "width": 32, "epochs": 6}),
    Family("attentivefp", [{"name": "graph"}], {"n_layers": 2, "width": 32, "epochs": 6}),
    Family("rf", [ECFP], {"n_estimators": 50}),
]


def test_add_decoy_grafts_trimethylsilyl_on_a_carbon():
    out = Chem.MolFromSmiles(add_decoy("c1ccccc1O"))
    assert out.GetNumAtoms() == 7 + 4
    assert out.HasSubstructMatch(Chem.MolFromSmarts("c[Si](C)(C)C"))
    assert out.HasSubstructMatch(Chem.MolFromSmiles("c1ccccc1O"))
    assert add_decoy("O") is None  # no C-H
    assert add_decoy("C[Si](C)(C)C") is None  # already silylated
    assert add_decoy("[2H]C(Cl)(Cl)Cl") is not None  # explicit H atoms are handled


def test_place_decoys_ties_the_decoy_to_positives_only_when_planted():
    y = np.r_[np.ones(200), np.zeros(800)]
    fit_rows = np.arange(0, 1000, 2)
    d = place_decoys(y, fit_rows, PlantedConfig(), seed=0)
    for cond in ("planted", "clean"):
        assert not d[cond][1::2].any()  # test rows never carry a decoy in training
    assert d["planted"].sum() == d["clean"].sum()
    pos, neg = y[fit_rows] == 1, y[fit_rows] == 0
    assert d["planted"][fit_rows][pos].mean() > 0.8 > 0.1 > d["planted"][fit_rows][neg].mean()
    clean_pos = d["clean"][fit_rows][pos].mean()
    clean_neg = d["clean"][fit_rows][neg].mean()
    assert abs(clean_pos - clean_neg) < 0.1


def test_intervals_cover_a_known_shift_and_no_drop_for_a_label_blind_decoy():
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.3).astype(float)
    p = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.2, 400), 0, 1)
    (lo, hi), (dlo, dhi) = intervals([(y, p, p + 0.2)], 500, 0)
    assert lo == pytest.approx(0.2) and hi == pytest.approx(0.2)
    auc = weighted_roc_auc(y, p, np.ones((1, y.size)))[0]
    against = weighted_roc_auc(y, np.where(y == 1, p, p + 0.2), np.ones((1, y.size)))[0]
    assert 0.1 < dlo < auc - against < dhi  # decoy on the negatives only: the ranking collapses
    (lo, hi), (dlo, dhi) = intervals([(y, p, p)], 500, 0)
    assert lo == hi == 0 and dlo == dhi == 0


@pytest.fixture(scope="module")
def tox21_mmp(tox21_path):
    df = pd.read_csv(tox21_path)
    df = df[df["SR-MMP"].notna()].sample(1100, random_state=0)
    smiles, labels = [], []
    for smi, label in zip(df["smiles"], df["SR-MMP"], strict=True):
        res = standardize_smiles(smi)
        if res.smiles is not None:
            smiles.append(res.smiles)
            labels.append(label)
    return smiles, np.asarray(labels)


def test_planted_shortcut_is_flagged_and_its_clean_twin_is_not(tox21_mmp):
    torch.set_num_threads(1)
    smiles, labels = tox21_mmp
    config = PlantedConfig(task="SR-MMP", n_molecules=800, seeds=(0, 1, 2), bootstrap=300)
    result = planted_audit(smiles, labels, FAMILIES, config, device="cpu", threads=1)
    runs, summary = result.runs, result.summary
    print(summary.round(3).to_string())
    assert len(runs) == len(FAMILIES) * 2 * 3 and len(summary) == len(FAMILIES) * 2
    assert (runs["n_train_decoy"] > 0).all() and (runs["n_test_positive"] >= 5).all()
    s = summary.set_index(["model", "condition"])
    for fam in FAMILIES:
        planted, clean = s.loc[(fam.name, "planted")], s.loc[(fam.name, "clean")]
        assert planted["flagged"], (fam.name, planted.to_dict())
        assert not clean["flagged"], (fam.name, clean.to_dict())
        assert planted["shift_ci_low"] > 0 and planted["shift"] > clean["shift"]
        assert planted["drop_ci_low"] > config.threshold > clean["drop_ci_low"]
        assert planted["n_seeds"] == clean["n_seeds"] == 3
    # attribution's own control: models that lean hard on the decoy (shift > 0.1) credit it
    # above its share of atoms and above their clean twins; the forest has no attribution
    strong = [
        f.name for f in FAMILIES if f.name != "rf" and s.loc[(f.name, "planted"), "shift"] > 0.1
    ]
    assert len(strong) >= 3, strong
    for name in strong:
        planted, clean = s.loc[(name, "planted")], s.loc[(name, "clean")]
        assert planted["decoy_credit"] > max(clean["decoy_credit"], planted["decoy_atom_fraction"])
    assert np.isnan(s.loc[("rf", "planted"), "decoy_credit"])
