"""Distillation on unlabeled structures: the student learns soft labels (planted rule) and
nothing from shuffled ones; leakage guards (labeled overlap, teacher split, label columns)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.errors import MolprobeError
from molprobe.training.distill import DistillConfig, distill_run, novel_structures
from molprobe.training.metrics import evaluate
from tests.training._data import tox21_slice

HALOGEN = Chem.MolFromSmarts("[F,Cl,Br,I]")
STUDENT = DistillConfig(
    model="snn_fast",
    featurizers=[{"name": "ecfp"}],
    params={"n_layers": 2, "width": 64, "epochs": 15, "lr": 1e-3, "patience": 5},
    bootstrap=10,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def planted(tox21_path):
    """400 labeled molecules whose task is "has a halogen", but with *no* train labels (so only
    the soft labels can teach it), and 600 other Tox21 structures as the unlabeled set."""
    smiles, _, _ = tox21_slice(1000, str(tox21_path))
    rule = np.array([Chem.MolFromSmiles(s).HasSubstructMatch(HALOGEN) for s in smiles], float)
    y = rule[:400].copy()
    perm = np.random.default_rng(0).permutation(400)
    split = {"train": perm[:240].tolist(), "valid": perm[240:320].tolist(),
             "test": perm[320:].tolist(), "method": "random", "seed": 0}  # fmt: skip
    y[split["train"]] = np.nan
    mols = pd.DataFrame({"mol_id": [f"m{i}" for i in range(400)], "smiles": smiles[:400],
                         "halogen": y})  # fmt: skip
    unlabeled = novel_structures(smiles[400:], smiles[:400])
    soft = np.where(rule[400 : 400 + len(unlabeled)] > 0, 0.9, 0.1)[:, None]
    return mols, split, unlabeled, soft


def test_novel_structures_drops_labeled_and_repeated():
    assert novel_structures(["CCO", "c1ccccc1", "CCO", "CCN"], ["CCN"]) == ["CCO", "c1ccccc1"]


def test_student_learns_soft_labels_and_not_shuffled_ones(planted):
    mols, split, unlabeled, soft = planted
    assert 0.1 < soft.mean() < 0.9 and len(unlabeled) > 500
    info = {"name": "random/seed0", "path": "split.json"}
    run = distill_run(mols, ["halogen"], split, info, unlabeled, soft, STUDENT)
    learned = run.metrics["test"]["mean"]["roc_auc"]
    shuffled = np.random.default_rng(1).permutation(soft)
    null = distill_run(mols, ["halogen"], split, info, unlabeled, shuffled, STUDENT)
    chance = null.metrics["test"]["mean"]["roc_auc"]
    assert learned > 0.9, learned  # positive control: the rule arrives through soft labels only
    assert chance < 0.75, chance  # negative control: shuffled soft labels teach nothing
    assert run.meta.split["n_unlabeled"] == len(unlabeled) and run.meta.model_name == "snn_fast"
    # the written test predictions are the student's, on measured labels only
    pred = run.predictions
    assert len(pred) == len(split["test"]) and not pred["halogen_true"].isna().any()
    again = evaluate(pred[["halogen_true"]].to_numpy(), pred[["halogen"]].to_numpy(),
                     ["halogen"], "classification", 10, 0)  # fmt: skip
    assert again.to_dict()["mean"]["roc_auc"] == pytest.approx(learned)
    assert run.train_smiles == mols["smiles"].to_numpy()[split["train"]].tolist()
    valid = run.valid_predictions  # what calibration and validation weights read
    assert len(valid) == len(split["valid"]) and not valid["halogen_true"].isna().any()
    v = evaluate(valid[["halogen_true"]].to_numpy(), valid[["halogen"]].to_numpy(),
                 ["halogen"], "classification", 10, 0)  # fmt: skip
    assert v.to_dict()["mean"]["roc_auc"] == pytest.approx(run.metrics["valid"]["mean"]["roc_auc"])


def test_distill_refuses_leaks_and_bad_soft_labels(planted):
    mols, split, unlabeled, soft = planted
    info = {"name": "random/seed0"}
    with pytest.raises(MolprobeError, match="labeled molecules"):
        distill_run(mols, ["halogen"], split, info, [mols["smiles"][0], *unlabeled[1:]], soft,
                    STUDENT)  # fmt: skip
    with pytest.raises(MolprobeError, match="probabilities"):
        distill_run(mols, ["halogen"], split, info, unlabeled, soft * 2, STUDENT)
    with pytest.raises(MolprobeError, match="vector nets"):
        distill_run(mols, ["halogen"], split, info, unlabeled, soft, DistillConfig(model="gine"))


def test_teacher_of_another_split_is_refused():
    from molprobe.inference.teacher import check_teacher_split
    from molprobe.training.checkpoint import CheckpointMeta

    split = {"train": list(range(10)), "valid": [], "test": [], "method": "scaffold", "seed": 1}
    meta = CheckpointMeta("snn", "SNN", {}, {}, [], ["t"], "classification",
                          split={"method": "scaffold", "seed": 1, "n_train": 10})  # fmt: skip
    check_teacher_split(meta, split)
    meta.split = {"method": "random", "seed": 1, "n_train": 10}
    with pytest.raises(MolprobeError, match="not on this split"):
        check_teacher_split(meta, split)


def test_unlabeled_tables_give_structures_only(tmp_path):
    """Another dataset's label columns never reach the student: only smiles is read."""
    from molprobe.cli.distill import read_unlabeled

    path = tmp_path / "other.parquet"
    pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCl"], "NR-AR": [1.0, 0.0, 1.0, 0.0],
                  "mol_id": ["a", "b", "c", "d"]}).to_parquet(path)  # fmt: skip
    got = read_unlabeled([path], 0)
    assert got == ["CCO", "CCN", "CCC", "CCCl"] and all(isinstance(s, str) for s in got)
    assert len(read_unlabeled([path, path], 2)) == 2  # one from each table


def test_student_checkpoint_rebuilds_its_inputs_from_smiles(planted, tmp_path):
    """What screening does: the saved student (ECFP + descriptors_fast, scaler fitted on the
    labeled train rows) featurizes SMILES anew and predicts exactly what training scored."""
    from molprobe.inference.inputs import ModelInputs
    from molprobe.inference.predict import predict_loaded
    from molprobe.training.checkpoint import load_model, save_checkpoint

    mols, split, unlabeled, soft = planted
    config = DistillConfig(
        model="snn_fast", featurizers=[{"name": "ecfp"}, {"name": "descriptors_fast"}],
        params={"n_layers": 2, "width": 32, "epochs": 2}, bootstrap=10,
    )  # fmt: skip
    run = distill_run(mols, ["halogen"], split, {"name": "r"}, unlabeled[:200], soft[:200], config)
    assert run.meta.featurizers[1]["name"] == "descriptors" and run.meta.descriptor_scaler
    save_checkpoint(tmp_path, run.model, run.meta)
    loaded = load_model(tmp_path)
    test_smiles = run.predictions["smiles"].tolist()
    again = predict_loaded(loaded, ModelInputs.from_checkpoint(loaded).featurize(test_smiles))
    np.testing.assert_allclose(again[:, 0], run.predictions["halogen"], rtol=1e-5, atol=1e-6)


def test_teachers_share_one_feature_cache(planted, tmp_path):
    """The teachers of several splits featurize the unlabeled set once: a shared cache is
    filled on the first call, gives identical soft labels on the next, and is what they read
    (a cache with the blocks zeroed changes the soft labels)."""
    from molprobe.inference.inputs import block_key
    from molprobe.inference.teacher import teacher_probabilities
    from molprobe.training.checkpoint import save_checkpoint

    mols, split, unlabeled, soft = planted
    config = DistillConfig(
        model="fnn_bn_fast", featurizers=[{"name": "ecfp"}, {"name": "descriptors_fast"}],
        params={"n_layers": 2, "width": 32, "epochs": 3}, bootstrap=10,
    )  # fmt: skip
    run = distill_run(mols, ["halogen"], split, {"name": "r"}, unlabeled, soft, config)
    save_checkpoint(tmp_path, run.model, run.meta)
    smiles = unlabeled[:150]
    cache: dict = {}
    first = teacher_probabilities([tmp_path], smiles, ["halogen"], cache)
    assert set(cache) == {block_key(s) for s in run.meta.featurizers}
    again = teacher_probabilities([tmp_path, tmp_path], smiles, ["halogen"], cache)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, teacher_probabilities([tmp_path], smiles, ["halogen"]))
    zeroed = {k: np.zeros_like(np.asarray(v)) for k, v in cache.items()}
    other = teacher_probabilities([tmp_path], smiles, ["halogen"], zeroed)
    assert np.abs(other - first).max() > 1e-3
