"""Fast unit tests: similarity binning on hand-made fingerprints and molecules, and counter-ion
perturbations that keep the same standardized parent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from molprobe.chem.featurize import ECFP
from molprobe.chem.standardize import standardize_smiles
from molprobe.shortcuts.analog import (
    SIMILARITY_EDGES,
    assign_bins,
    bin_labels,
    binned_auc,
    tanimoto_max,
)
from molprobe.shortcuts.counterions import (
    COUNTERIONS,
    DATASET_SALT,
    dataset_salt_pairs,
    perturbation_pairs,
    prediction_shifts,
    shift_summary,
    summarise_shifts,
)
from molprobe.training.metrics import weighted_roc_auc


def test_bin_edges_are_half_open_and_last_bin_closed():
    sim = np.array([0.0, 0.29999, 0.3, 0.4, 0.45, 0.5, 0.69999, 0.7, 0.99, 1.0, -0.1, np.nan])
    assert assign_bins(sim, SIMILARITY_EDGES).tolist() == [0, 0, 1, 2, 2, 3, 3, 4, 4, 4, -1, -1]
    assert bin_labels(SIMILARITY_EDGES) == [
        "[0.00, 0.30)", "[0.30, 0.40)", "[0.40, 0.50)", "[0.50, 0.70)", "[0.70, 1.00]",
    ]  # fmt: skip


def test_binned_auc_counts_and_nan_for_single_class_bins():
    #            bin 0 (two classes)   bin 1 (positives only)  bin 4 (one row, negative)
    sim = np.array([0.1, 0.2, 0.25, 0.05, 0.35, 0.31, 0.9, 0.2])
    y = np.array([1, 0, 1, 0, 1, 1, 0, np.nan])  # the NaN label is not counted
    score = np.array([0.9, 0.1, 0.2, 0.3, 0.5, 0.6, 0.4, 0.99])
    t = binned_auc(y, score, sim).set_index("bin")
    assert t["n"].tolist() == [4, 2, 0, 0, 1]
    assert t["n_positive"].tolist() == [2, 2, 0, 0, 0]
    # bin 0: positives 0.9, 0.2 vs negatives 0.1, 0.3 -> 3 of 4 pairs ordered right
    assert t["roc_auc"].iloc[0] == pytest.approx(0.75)
    assert t["roc_auc"].iloc[1:].isna().all()
    assert t["sim_low"].tolist() == list(SIMILARITY_EDGES[:-1])


def test_tanimoto_max_on_hand_made_fingerprints():
    query = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 1]], dtype=np.uint8)
    ref = np.array([[1, 0, 0, 0], [1, 1, 1, 0]], dtype=np.uint8)
    sim = tanimoto_max(query, ref)
    assert sim[0] == pytest.approx(2 / 3)  # {0,1} vs {0,1,2}
    assert sim[1] == 0.0  # empty fingerprint
    assert sim[2] == pytest.approx(1 / 4)  # {2,3} vs {0,1,2}


def test_tanimoto_max_on_molecules_matches_rdkit():
    from rdkit import DataStructs
    from rdkit.Chem import MolFromSmiles, rdFingerprintGenerator

    train = ["c1ccccc1", "Cc1ccccc1", "CCO"]
    test = ["c1ccccc1", "CCc1ccccc1", "CCCCCCCCCC(=O)O"]
    ecfp = ECFP(radius=2, n_bits=2048)
    sim = tanimoto_max(ecfp(test), ecfp(train))
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(MolFromSmiles(s)) for s in train]
    expected = [max(DataStructs.BulkTanimotoSimilarity(gen.GetFingerprint(MolFromSmiles(s)), fps))
                for s in test]  # fmt: skip
    assert sim == pytest.approx(expected)
    assert sim[0] == 1.0 and sim[2] < 0.3


PARENTS = ["CC(=O)Nc1ccc(O)cc1", "CN1CCC[C@H]1c1cccnc1", "OC(=O)c1ccccc1O", "CO"]


def test_counterion_perturbation_keeps_the_same_standardized_parent():
    pairs = perturbation_pairs(PARENTS, COUNTERIONS)
    assert len(pairs) > 0
    for r in pairs.itertuples():
        assert r.perturbed != r.parent and "." in r.perturbed
        assert standardize_smiles(r.perturbed).smiles == standardize_smiles(r.parent).smiles
    # paracetamol keeps every counter-ion; for methanol, mesylate / acetate are larger than the
    # parent (largest fragment would change), so those pairs are dropped
    kinds = pairs.groupby("parent")["perturbation"].apply(set)
    assert kinds["CC(=O)Nc1ccc(O)cc1"] == set(COUNTERIONS)
    assert "mesylate" not in kinds["CO"] and "sodium" in kinds["CO"]


def test_dataset_salt_pairs_use_input_smiles():
    mols = pd.DataFrame(
        {"mol_id": ["a", "b", "c"],
         "input_smiles": ["CC(=O)[O-].[Na+]", "CCO", "Cl.CN(C)C"],
         "smiles": ["CC(=O)O", "CCO", "CN(C)C"]}
    )  # fmt: skip
    pairs = dataset_salt_pairs(mols)
    assert pairs["perturbed"].tolist() == ["CC(=O)[O-].[Na+]", "Cl.CN(C)C"]
    assert set(pairs["perturbation"]) == {DATASET_SALT}
    assert dataset_salt_pairs(mols, np.array([1])).empty


def test_prediction_shift_summary():
    pairs = perturbation_pairs(["CC(=O)Nc1ccc(O)cc1"], {"sodium": "[Na+]", "water": "O"})

    def predict(smiles):  # one task: the number of fragments / 10
        return np.array([[s.count(".") / 10] for s in smiles])

    shifts = prediction_shifts(predict, pairs)
    assert shifts[:, 0] == pytest.approx([0.1, 0.1])
    rows = pd.DataFrame(summarise_shifts(shifts, pairs, ["t"], model="m"))
    assert set(rows["perturbation"]) == {"sodium", "water", "all_added"}
    assert rows.set_index("perturbation").loc["all_added", "n"] == 2
    s = shift_summary(np.array([0.0, -0.2, 0.1, np.nan]))
    assert s["n"] == 3 and s["max_abs_shift"] == pytest.approx(0.2)
    assert s["median_abs_shift"] == pytest.approx(0.1) and math.isfinite(s["p95_abs_shift"])


def test_nearest_neighbour_baseline_and_bin_intervals_on_real_fingerprints(tox21_path):
    from molprobe.shortcuts.analog import binned_auc, nearest_neighbour_scores, tanimoto_matrix

    smiles = pd.read_csv(tox21_path, nrows=400)["smiles"].tolist()
    fp = ECFP(radius=2, n_bits=2048)(smiles)
    nitrogen = np.array([("N" in s or "n" in s) for s in smiles], dtype=float)
    train, test = np.arange(0, 300), np.arange(300, 400)
    # planted: test molecules that are training molecules -> 1-NN recalls their labels
    sim_self = tanimoto_matrix(fp[train[:100]], fp[train])
    nn_self = nearest_neighbour_scores(sim_self, nitrogen[train])
    auc_self = weighted_roc_auc(nitrogen[train[:100]], nn_self, np.ones((1, 100)))[0]
    assert auc_self == pytest.approx(1.0)
    # null: labels shuffled among training molecules carry nothing to new molecules
    rng = np.random.default_rng(0)
    sim = tanimoto_matrix(fp[test], fp[train])
    null = [weighted_roc_auc(nitrogen[test], nearest_neighbour_scores(
        sim, rng.permutation(nitrogen[train])), np.ones((1, 100)))[0] for _ in range(20)]  # fmt: skip
    assert abs(np.mean(null) - 0.5) < 0.08
    b = binned_auc(nitrogen[test], nearest_neighbour_scores(sim, nitrogen[train]),
                   sim.max(axis=1), nn_score=nearest_neighbour_scores(sim, nitrogen[train]))  # fmt: skip
    ok = b[np.isfinite(b["roc_auc"])]
    assert (
        len(ok) and (ok["ci_low"] <= ok["roc_auc"]).all() and (ok["roc_auc"] <= ok["ci_high"]).all()
    )
    assert np.allclose(ok["roc_auc"], ok["nn_auc"])  # the same scores give the same AUC
    assert b["n"].sum() == 100 and (b["n_positive"] <= b["n"]).all()
