"""Trivial baselines are chosen on validation: test labels never change the choice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from molprobe.chem.splits import random_split
from molprobe.shortcuts.trivial import bulk_descriptors, trivial_scores


@pytest.fixture(scope="module")
def tox21(tox21_path):
    df = pd.read_csv(tox21_path, nrows=700)
    df = df[df["smiles"].map(lambda s: isinstance(s, str))].reset_index(drop=True)
    desc = bulk_descriptors(df["smiles"].tolist())
    Y = df[["NR-AhR", "SR-MMP"]].to_numpy(dtype=np.float64)
    big = (desc["heavy_atoms"] > 20).astype(float).to_numpy()  # planted size task
    return desc, np.column_stack([Y, big])


def test_choice_never_reads_test_labels(tox21):
    desc, Y = tox21
    tasks = ["NR-AhR", "SR-MMP", "big"]
    split = random_split(len(Y), (0.7, 0.15, 0.15), 0)
    a = trivial_scores(desc, Y, tasks, split.train, split.valid, split.test, "hgb", 0)
    Y_shuffled = Y.copy()
    rng = np.random.default_rng(1)
    Y_shuffled[split.test] = Y[rng.permutation(split.test)]
    b = trivial_scores(desc, Y_shuffled, tasks, split.train, split.valid, split.test, "hgb", 0)
    choice = ["chosen", "chosen_valid_auc", "best_descriptor", "best_descriptor_valid_auc"]
    pd.testing.assert_frame_equal(a[choice], b[choice])
    assert not np.allclose(a["roc_auc"], b["roc_auc"])  # the test AUCs do read them
    big = a.set_index("task").loc["big"]
    assert big["best_descriptor"] in ("heavy_atoms", "mol_weight")
    assert big["roc_auc"] > 0.95 and big["ci_low"] <= big["roc_auc"] <= big["ci_high"]
    shuffled_big = b.set_index("task").loc["big"]
    assert shuffled_big["ci_low"] < 0.5 < shuffled_big["ci_high"] + 0.05
