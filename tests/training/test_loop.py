"""Short CUDA-agnostic training runs on ~100 real Tox21 molecules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from molprobe.errors import MolprobeError
from molprobe.inference.predict import predict
from molprobe.training.data import BatchLoader, Split, make_source
from molprobe.training.device import resolve_device
from molprobe.training.loop import fit, make_train_config
from molprobe.training.metrics import evaluate
from tests.training._data import ecfp_bits, random_split, tox21_slice

SMALL = {
    "snn": {"n_layers": 3, "width": 64},
    "fnn_bn": {"n_layers": 2, "width": 32},
    "gine": {"n_layers": 2, "width": 32},
    "attentivefp": {"n_layers": 2, "width": 32, "timesteps": 1},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: small models run faster without oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tox21_path):
    from molprobe.chem.graphs import MolGraph

    smiles, Y, tasks = tox21_slice(100, str(tox21_path))
    return {"vector": ecfp_bits(smiles, 512), "graph": MolGraph()(smiles), "Y": Y, "tasks": tasks}


def _run(name, data, device="auto", seed=0, epochs=2, **extra):
    feats = data["graph"] if name in ("gine", "attentivefp") else data["vector"]
    split = random_split(len(data["Y"]))
    config = make_train_config(
        name, {"epochs": epochs, "device": device, "seed": seed, "batch_size": 32, **extra}
    )
    model, result = fit(name, SMALL[name], feats, data["Y"], split, "classification", config)
    pred = predict(model, feats, split.test)
    return model, result, evaluate(data["Y"][split.test], pred, data["tasks"], n_bootstrap=20)


@pytest.mark.parametrize("name", ["snn", "gine"])
def test_two_epoch_run_on_auto_device(name, data):
    model, result, ev = _run(name, data, device="auto")
    assert result.device == str(resolve_device("auto"))
    assert len(result.history) == 2
    row = result.history[-1]
    assert {"epoch", "train_loss", "val_loss", "val_metric", "lr", "seconds"} <= set(row)
    grad_cols = [k for k in row if k.startswith("grad_norm/")]
    assert grad_cols == [
        f"grad_norm/{n}" for n, m in model.hidden_layers() if any(True for _ in m.parameters())
    ]
    assert all(math.isfinite(row[c]) and row[c] > 0 for c in grad_cols)
    assert math.isfinite(row["train_loss"])
    # the reported mean ROC-AUC is sklearn's, averaged over the tasks with both classes
    feats = data["graph"] if name == "gine" else data["vector"]
    test = random_split(len(data["Y"])).test
    y, p = data["Y"][test], predict(model, feats, test)
    aucs = []
    for t in range(y.shape[1]):
        ok = ~np.isnan(y[:, t])
        if len(np.unique(y[ok, t])) == 2:
            aucs.append(roc_auc_score(y[ok, t], p[ok, t]))
    assert aucs and ev.mean["roc_auc"] == pytest.approx(np.mean(aucs), abs=1e-9)


@pytest.mark.parametrize("name", ["snn", "attentivefp"])
def test_cpu_runs_are_repeatable(name, data):
    _, r1, e1 = _run(name, data, device="cpu", seed=3)
    _, r2, e2 = _run(name, data, device="cpu", seed=3)
    assert e1.to_dict() == e2.to_dict()
    assert [h["train_loss"] for h in r1.history] == [h["train_loss"] for h in r2.history]
    _, r3, _ = _run(name, data, device="cpu", seed=4)
    assert [h["train_loss"] for h in r3.history] != [h["train_loss"] for h in r1.history]


def test_best_epoch_weights_are_restored(data):
    model, result, _ = _run("fnn_bn", data, device="cpu", epochs=4, patience=0, lr=3e-3)
    split = random_split(len(data["Y"]))
    from molprobe.training.metrics import primary_metric

    val = primary_metric(
        data["Y"][split.valid], predict(model, data["vector"], split.valid), "classification"
    )
    best = max(h["val_metric"] for h in result.history)
    assert val == pytest.approx(best, abs=1e-6)
    assert result.history[result.best_epoch - 1]["val_metric"] == best


def test_regression_targets_are_standardised_and_restored(data):
    X = data["vector"]
    rng = np.random.default_rng(0)
    y = (X[:, :20].sum(axis=1) * 10.0 + 100.0 + rng.normal(size=len(X)))[:, None]
    split = random_split(len(X))
    config = make_train_config("snn", {"epochs": 3, "device": "cpu", "lr": 1e-3})
    model, result = fit("snn", SMALL["snn"], X, y, split, "regression", config)
    assert (
        result.target_scaler is not None
        and abs(result.target_scaler.mean[0] - y[split.train].mean()) < 1e-9
    )
    pred = predict(model, X, split.test, "regression", result.target_scaler)
    # predictions come back in task units (not standardised units around 0)
    assert abs(pred.mean() - y[split.train].mean()) < 2 * y[split.train].std()


def test_batches_cover_every_index_once(data):
    src = make_source(data["vector"])
    loader = BatchLoader(src, data["Y"], np.arange(37), batch_size=8, shuffle=True, seed=1)
    seen = torch.cat([b for b, _ in loader])
    assert seen.shape == (37, 512)
    assert len(loader) == 5


def test_bad_settings_are_user_errors():
    with pytest.raises(MolprobeError, match="unknown training setting"):
        make_train_config("snn", {"learning_rate": 1})
    with pytest.raises(MolprobeError, match="lr_schedule"):
        make_train_config("snn", {"lr_schedule": "step"})
    with pytest.raises(MolprobeError, match="overlap"):
        Split.from_dict({"train": [0, 1], "valid": [1], "test": [2]}, 3)
    with pytest.raises(MolprobeError, match="out of range"):
        Split.from_dict({"train": [0, 5], "valid": [], "test": []}, 3)
