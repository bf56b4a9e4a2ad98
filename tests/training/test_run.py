"""The training stage's application functions from Python: train_run, evaluate_run,
compare_runs (only the named runs count), and ModelInputs rebuilding a model's inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from molprobe.chem.featurize import ECFP, RDKitDescriptors, save_features
from molprobe.errors import MolprobeError
from molprobe.fileio import write_json
from molprobe.inference.inputs import ModelInputs, block_key
from molprobe.inference.predict import predict_loaded
from molprobe.training.checkpoint import load_model, save_checkpoint
from molprobe.training.compare import compare_runs, metrics_files
from molprobe.training.run import TrainRunConfig, evaluate_run, train_run
from tests.training._data import tox21_slice

DESCRIPTORS = ["MolWt", "MolLogP", "TPSA"]


@pytest.fixture(scope="module")
def stage(tmp_path_factory, tox21_path):
    """A molecule table of 80 real Tox21 molecules, ECFP and descriptor files, two splits."""
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("run")
    smiles, Y, tasks = tox21_slice(80, str(tox21_path))
    mols = pd.DataFrame({"mol_id": [f"m{i}" for i in range(80)], "smiles": smiles})
    for t, task in enumerate(tasks):
        mols[task] = Y[:, t]
    for fz, name in ((ECFP(n_bits=256), "ecfp.npz"), (RDKitDescriptors(DESCRIPTORS), "desc.npz")):
        save_features(d / name, fz(smiles), fz.spec)
    splits = []
    for seed in (0, 1, 2):
        p = np.random.default_rng(seed).permutation(80).tolist()
        splits.append({"method": "random", "seed": seed, "train": p[:56], "valid": p[56:68],
                       "test": p[68:]})  # fmt: skip
    return d, mols, tasks, splits


def _train(stage, model, feats, seed, out=None, **params):
    d, mols, tasks, splits = stage
    config = TrainRunConfig(model=model, params=params, epochs=2, device="cpu", bootstrap=20)
    info = {"name": "random", "path": f"splits/random/seed{seed}.json"}
    run = train_run(mols, tasks, splits[seed], info, [d / f for f in feats], config)
    if out is not None:
        save_checkpoint(out, run.model, run.meta)
        write_json(out / "metrics.json", run.metrics)
        run.predictions.to_parquet(out / "predictions.parquet", index=False)
    return run


def test_train_run_then_evaluate_run_agree(stage, tmp_path):
    d, mols, tasks, splits = stage
    run = _train(stage, "snn", ["ecfp.npz", "desc.npz"], 0, tmp_path / "snn", n_layers=2, width=16)
    assert run.metrics["split"] == {"name": "random", "method": "random", "seed": 0,
                                    "path": "splits/random/seed0.json", "n_train": 56,
                                    "n_valid": 12, "n_test": 12}  # fmt: skip
    assert len(run.history) == 2 and len(run.predictions) == 12
    assert run.summary_line().startswith("snn random seed 0: test mean roc_auc ")
    test = np.array(splits[0]["test"])
    again = evaluate_run(tmp_path / "snn", mols, tasks, test, [d / "ecfp.npz", d / "desc.npz"], 20)
    assert again.evaluation.mean["roc_auc"] == pytest.approx(
        run.metrics["test"]["mean"]["roc_auc"], abs=1e-12
    )
    pd.testing.assert_frame_equal(again.predictions, run.predictions)


def test_model_inputs_rebuild_the_training_features(stage, tmp_path):
    """Featurizing SMILES anew, loading the feature files and reusing a cache give the model
    the same input and the same predictions; a file made with another featurizer is refused."""
    d, mols, tasks, _ = stage
    _train(stage, "snn", ["ecfp.npz", "desc.npz"], 0, tmp_path / "snn", n_layers=2, width=16)
    inputs = ModelInputs.from_checkpoint(tmp_path / "snn")
    assert inputs.kind == "vector" and [s["name"] for s in inputs.specs] == ["ecfp", "descriptors"]
    smiles = mols["smiles"].tolist()
    from_files = inputs.load([d / "ecfp.npz", d / "desc.npz"], len(mols))
    cache: dict = {}
    anew = inputs.featurize(smiles, cache)
    np.testing.assert_allclose(anew, from_files, rtol=1e-6)
    assert set(cache) == {block_key(s) for s in inputs.specs}  # raw blocks kept for reuse
    cached = {"ecfp": (np.load(d / "ecfp.npz")["X"], inputs.specs[0])}
    np.testing.assert_allclose(inputs.from_feature_cache(cached, smiles), anew, rtol=1e-6)
    loaded = load_model(tmp_path / "snn")
    np.testing.assert_allclose(
        predict_loaded(loaded, anew), predict_loaded(loaded, from_files), rtol=1e-6
    )
    other = ECFP(n_bits=128)
    save_features(tmp_path / "ecfp128.npz", other(smiles), other.spec)
    with pytest.raises(MolprobeError, match="featurizer mismatch"):
        inputs.load([tmp_path / "ecfp128.npz", d / "desc.npz"], len(mols))


def test_compare_reads_only_the_named_runs(stage, tmp_path):
    """A stale seed left by an earlier config (seed 2) must not enter the comparison when the
    workflow names its runs' metrics files; a folder argument still means everything below."""
    root = tmp_path / "models"
    aucs = {}
    for model in ("rf", "logreg"):
        for seed in (0, 1, 2):
            out = root / model / "random" / f"seed{seed}"
            params = {"n_estimators": 10} if model == "rf" else {}  # plumbing, not accuracy
            run = _train(stage, model, ["ecfp.npz"], seed, out, **params)
            aucs[model, seed] = run.metrics["test"]["mean"]["roc_auc"]
    named = [root / m / "random" / f"seed{s}" / "metrics.json" for m in ("rf", "logreg")
             for s in (0, 1)]  # fmt: skip
    result = compare_runs(metrics_files(named), ensemble=[])
    means = result.table[result.table["seed"] == "mean"].set_index("model")
    assert set(means.index) == {"rf", "logreg", "ensemble"} and means["n_seeds"].eq(2).all()
    for model in ("rf", "logreg"):
        expected = np.mean([aucs[model, 0], aucs[model, 1]])
        assert means.loc[model, "value"] == pytest.approx(expected, abs=1e-12)
    everything = compare_runs(metrics_files([root]))
    assert everything.summary.set_index("model")["n_seeds"].to_dict() == {"logreg": 3, "rf": 3}
    with pytest.raises(MolprobeError, match="no such file"):
        metrics_files([root / "nothing.json"])
    assert json.loads(named[0].read_text())["seed"] == 0
