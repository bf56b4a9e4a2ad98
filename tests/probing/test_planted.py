"""The instrument's own controls on real nets: GINE trained on planted labels (Tox21
molecules) must place the carboxylic acid early, the donor-acceptor-5-7 arrangement later,
and show no gain over random-init copies when trained on shuffled labels."""

import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from molprobe.probing.emergence import EmergenceConfig
from molprobe.probing.planted import PlantedConfig, run_planted

MIRROR = Path(
    os.environ.get("MOLPROBE_MIRROR", Path(__file__).resolve().parents[3] / "shared/data")
)


@pytest.fixture(scope="module")
def planted():
    path = MIRROR / "tox21.csv.gz"
    if not path.exists():
        pytest.fail(f"planted controls need the Tox21 mirror at {path} (set MOLPROBE_MIRROR)")
    torch.set_num_threads(1)
    smiles = pd.read_csv(path)["smiles"].tolist()
    summary, profile = run_planted(
        smiles, PlantedConfig(n_molecules=800), EmergenceConfig(n_outer=4, n_boot=30)
    )
    return summary.set_index("task"), profile


def test_nets_learn_the_planted_tasks(planted):
    summary, _ = planted
    assert summary.loc["acid", "test_auc"] > 0.95
    assert summary.loc["donor_acceptor_5_7", "test_auc"] > 0.75
    assert summary.loc["shuffled", "test_auc"] < 0.62


def test_no_single_group_implies_the_arrangement(planted):
    summary, _ = planted
    assert summary.loc["donor_acceptor_5_7", "max_single_group_auc"] < 0.75
    assert summary.loc["acid", "max_single_group_auc"] == pytest.approx(1.0)


@pytest.mark.xfail(
    strict=True,
    reason="known failure of the instrument (issue 17, README 'Probing'): the donor-acceptor "
    "arrangement's learned gain (0.05-0.07 AUC on 240 probe molecules) emerges at the same "
    "message-passing step as the acid; remove the mark when the planted control passes",
)
def test_acid_early_arrangement_late(planted):
    summary, _ = planted
    acid, pair = summary.loc["acid"], summary.loc["donor_acceptor_5_7"]
    assert acid["learned_any"] and pair["learned_any"]
    assert acid["emergence_index"] <= 2  # input, mp1, mp2 of input + 4 steps + pool
    assert pair["emergence_index"] > acid["emergence_index"]


def test_shuffled_labels_show_no_gain_over_random_copies(planted):
    summary, profile = planted
    assert not summary.loc["shuffled", "learned_any"]
    shuffled = profile[profile["task"] == "shuffled"]
    assert (shuffled["gain_random"] < 0.03).all()
