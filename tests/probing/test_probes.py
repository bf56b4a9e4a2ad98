"""Linear probes: planted concepts are found, permuted labels are not, folds respect groups."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from molprobe.probing.probes import (
    ProbeConfig,
    auc_columns,
    grouped_folds,
    probe_layer,
    probe_node_layer,
    scaffold_groups,
    unit_aucs,
)

FAST = ProbeConfig(n_outer=4, n_inner=2, penalties=(1e-3, 1e-1), max_iter=25, sparse_k=(1, 4))


@pytest.fixture(scope="module")
def planted():
    """600 items, 32 units; concept 0 is a threshold of unit 5, concept 1 is noise."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 32)).astype(np.float32)
    y0 = (X[:, 5] + 0.2 * rng.normal(size=600) > 0.8).astype(np.float32)
    y1 = (rng.random(600) < 0.25).astype(np.float32)
    groups = np.arange(600) // 4
    folds = grouped_folds(groups, FAST.n_outer, 0)
    df = probe_layer(X, np.stack([y0, y1], 1), groups, folds, FAST)
    return df


def test_probe_recovers_planted_concept(planted):
    row = planted.iloc[0]
    assert row["auc"] > 0.9
    assert row["sparse1_auc"] > 0.9  # one unit carries it
    assert row["selectivity"] > 0.3
    assert row["mdl_compression"] > planted.iloc[1]["mdl_compression"]


def test_probe_fails_on_noise_and_permuted_labels(planted):
    assert abs(planted.iloc[1]["auc"] - 0.5) < 0.1
    assert (planted["control_auc"] - 0.5).abs().max() < 0.1  # permuted labels: chance


def test_learning_curve_and_columns(planted):
    for col in ("auc_at_1pct", "auc_at_10pct", "sparse4_auc", "mdl_bits", "penalty", "pr_auc"):
        assert col in planted
    assert planted.iloc[0]["auc_at_10pct"] > 0.7  # 10% of 450 = 45 molecules suffice


def test_auc_columns_matches_sklearn_with_missing_labels():
    rng = np.random.default_rng(1)
    s = rng.normal(size=(50, 3))
    y = (rng.random((50, 3)) < 0.4).astype(float)
    y[:7, 1] = np.nan
    got = auc_columns(s, y)
    for c in range(3):
        k = ~np.isnan(y[:, c])
        assert got[c] == pytest.approx(roc_auc_score(y[k, c], s[k, c]))
    aucs = unit_aucs(s, y)
    assert aucs[2, 1] == pytest.approx(roc_auc_score(y[7:, 1], s[7:, 2]))
    assert np.isnan(auc_columns(s[:, :1], np.zeros((50, 1))))[0]


def test_scaffold_folds_never_split_a_scaffold():
    smiles = ["c1ccccc1C", "c1ccccc1CC", "c1ccccc1O", "C1CCCCC1N", "C1CCCCC1O", "CCO", "CCCN",
              "c1ccncc1", "c1ccncc1C", "O=C1CCCC1", "O=C1CCCC1C", "c1ccc2ccccc2c1"]  # fmt: skip
    groups = scaffold_groups(smiles)
    assert groups[0] == groups[1] == groups[2] and groups[5] == groups[6] and groups[3] == groups[4]
    folds = grouped_folds(groups, 3, seed=0)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(smiles)))
    owner = {}
    for f, test in enumerate(folds):
        for i in test:
            assert owner.setdefault(groups[i], f) == f


def test_node_probe_with_environment_control():
    rng = np.random.default_rng(2)
    atom_ptr = np.concatenate([[0], np.cumsum(rng.integers(3, 8, 120))])
    n = atom_ptr[-1]
    H = rng.normal(size=(n, 16)).astype(np.float32)
    y = (H[:, 0] > 1).astype(np.float32)[:, None]
    env = rng.integers(0, 40, n)
    df = probe_node_layer(H, y, atom_ptr, env, FAST)
    assert df.loc[0, "auc"] > 0.9 and df.loc[0, "control_auc"] < 0.75
