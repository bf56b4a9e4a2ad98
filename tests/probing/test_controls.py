"""Matched control tasks: same prevalence, radius matched to the concept's extent."""

import numpy as np
import pandas as pd

from molprobe.chem.concepts import compute_concepts
from molprobe.probing.controls import concept_radius, control_labels, environment_sets

SMILES = ["CC(=O)O", "CCN", "c1ccccc1O", "CCCCCC", "NCCCO", "CC(=O)Nc1ccc(O)cc1",
          "CCN(CC)CC", "O=C(O)c1ccccc1", "CCOC(=O)C", "c1ccncc1", "CCCl", "OCCO"] * 10  # fmt: skip


def test_radius_follows_locality():
    assert concept_radius("carboxylic_acid", "group") == 1
    assert concept_radius("pair:Donor-Acceptor@3-4", "pair") == 2
    assert concept_radius("pair:Donor-Acceptor@5-6", "pair") == 3
    assert concept_radius("pair:Donor-Acceptor@10-12", "pair") == 4
    assert concept_radius("triplet:Donor-Acceptor-Aromatic", "triplet") == 3


def test_controls_match_prevalence_and_are_not_the_concept():
    envs = environment_sets(SMILES, 3)
    assert all(set(e) == {0, 1, 2, 3} for e in envs)
    table = compute_concepts(SMILES).frequent(low=0.1, high=0.9)
    y = table.values
    radii = np.array(
        [
            concept_radius(c, k)
            for c, k in zip(table.meta["concept"], table.meta["kind"], strict=True)
        ]
    )
    ctrl = control_labels(envs, y.mean(0), np.minimum(radii, 3), seed=0)
    assert ctrl.shape == y.shape
    prev_gap = np.abs(ctrl.mean(0) - y.mean(0))
    assert np.median(prev_gap) < 0.1
    same = (ctrl == y).all(0)
    assert same.mean() < 0.5  # controls are mostly different labellings
    assert isinstance(table.meta, pd.DataFrame)
