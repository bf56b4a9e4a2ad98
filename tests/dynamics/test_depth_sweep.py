"""The depth experiment: per-cell runs on real Tox21 ECFP, lr chosen on validation only."""

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from molprobe.chem.featurize import ECFP
from molprobe.chem.splits import random_split
from molprobe.dynamics.depth_sweep import (
    DEPTH_FAMILIES,
    DepthSweepConfig,
    depth_run,
    depth_summary,
    standardize_on,
)


@pytest.fixture(scope="module")
def tox21_small(tox21_path):
    df = pd.read_csv(tox21_path, nrows=700)
    df = df[[Chem.MolFromSmiles(s) is not None for s in df["smiles"]]].reset_index(drop=True)
    tasks = [c for c in df.columns if c not in ("smiles", "mol_id")]
    return ECFP(radius=2, n_bits=1024)(df["smiles"].tolist()), df[tasks].to_numpy(np.float32)


def test_standardization_uses_training_rows_only():
    rng = np.random.default_rng(0)
    bits = (rng.random((100, 20)) < 0.4).astype(np.uint8)
    rows = np.arange(60)
    x = standardize_on(bits, rows)
    np.testing.assert_allclose(x[rows].mean(0), 0, atol=1e-5)
    assert not np.allclose(x[60:].mean(0), 0, atol=1e-3)


def test_depth_cells_learn_and_the_summary_chooses_on_validation(tox21_small):
    bits, y = tox21_small
    split = random_split(len(y), (0.7, 0.15, 0.15), seed=0)
    config = DepthSweepConfig(learning_rates=(1e-3, 1e-5), width=32, max_epochs=4, patience=2)
    runs = pd.concat(
        [depth_run(bits, y, split, f, 2, s, config) for f in ("snn", "fnn_bn") for s in (0, 1)]
    )
    assert set(runs["arch"]) == {DEPTH_FAMILIES["snn"], DEPTH_FAMILIES["fnn_bn"]}
    assert len(runs) == 2 * 2 * 2 and runs["test_roc_auc"].between(0, 1).all()
    good = runs[runs["lr"] == 1e-3]
    assert good["val_roc_auc"].mean() > 0.55  # better than chance after 4 epochs on 490 molecules
    table = depth_summary(runs)
    assert len(table) == 2 and (table["n_seeds"] == 2).all()
    for _, row in table.iterrows():  # the chosen lr has the best mean validation AUC
        d = runs[runs["family"] == row["family"]]
        assert row["lr"] == d.groupby("lr")["val_roc_auc"].mean().idxmax()
    assert {"model", "mean", "ci_low", "ci_high"} <= set(table.columns)
    assert (table["ci_low"] <= table["mean"]).all()
