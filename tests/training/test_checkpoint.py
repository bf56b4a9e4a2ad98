"""Checkpoint round trip, and refusal of tampered weights / mismatched featurizers."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import torch

from molprobe.errors import MolprobeError
from molprobe.inference.predict import predict
from molprobe.models.registry import build_model, make_params
from molprobe.training.checkpoint import (
    CheckpointMeta,
    data_fingerprint,
    load_model,
    read_meta,
    save_checkpoint,
)
from molprobe.training.data import make_source
from tests.training._data import ecfp_bits, tox21_slice

ECFP_SPEC = {"name": "ecfp", "radius": 2, "n_bits": 256, "counts": False, "chirality": False}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One torch thread: small models run faster without oversubscribing a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Payload:
    """Pickling this object runs code on load: the classic model.pt attack."""

    def __reduce__(self):
        return (eval, ("__import__('os').system('touch PWNED')",))


@pytest.fixture(scope="module")
def mols(tox21_path):
    smiles, Y, tasks = tox21_slice(40, str(tox21_path))
    return smiles, Y, tasks


def _save(tmp_path, name, params, features, smiles, Y, tasks, featurizers):
    torch.manual_seed(0)
    src = make_source(features)
    model = build_model(name, make_params(name, params), src.dims, len(tasks))
    if hasattr(model, "input_norm"):
        model.input_norm.fit(np.asarray(features))
    if hasattr(model, "estimators_") or name in ("rf", "logreg"):
        model.fit(features, Y, "classification")
    meta = CheckpointMeta(
        model_name=name,
        model_class=type(model).__qualname__,
        hyperparameters=dataclasses.asdict(make_params(name, params)),
        input_dims=dataclasses.asdict(src.dims),
        featurizers=featurizers,
        task_names=tasks,
        task_type="classification",
        data_fingerprint=data_fingerprint(smiles, Y),
        seed=0,
    )
    save_checkpoint(tmp_path, model, meta)
    return model


@pytest.mark.parametrize(
    "name,params",
    [
        ("snn", {"n_layers": 2, "width": 32}),
        ("fnn_bn", {"n_layers": 2, "width": 16}),
        ("rf", {"n_estimators": 10}),
    ],
)
def test_vector_round_trip_gives_identical_predictions(tmp_path, mols, name, params):
    smiles, Y, tasks = mols
    X = ecfp_bits(smiles, 256)
    model = _save(tmp_path, name, params, X, smiles, Y, tasks, [ECFP_SPEC])
    if hasattr(model, "eval"):
        model.eval()
    loaded = load_model(tmp_path, expected_featurizer=ECFP_SPEC)
    np.testing.assert_array_equal(predict(loaded.model, X), predict(model, X))
    assert loaded.meta.task_names == tasks and loaded.meta.featurizers == [ECFP_SPEC]
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["molprobe_version"] and len(meta["data_fingerprint"]) == 64


def test_graph_round_trip(tmp_path, mols):
    from molprobe.chem.graphs import MolGraph

    smiles, Y, tasks = mols
    fz = MolGraph()
    G = fz(smiles)
    model = _save(tmp_path, "gine", {"n_layers": 2, "width": 16}, G, smiles, Y, tasks, [fz.spec])
    model.eval()
    loaded = load_model(tmp_path, expected_featurizer=fz.spec)
    np.testing.assert_array_equal(predict(loaded.model, G), predict(model, G))


def test_tampered_weights_are_refused(tmp_path, mols, monkeypatch):
    smiles, Y, tasks = mols
    _save(
        tmp_path,
        "snn",
        {"n_layers": 2, "width": 8},
        ecfp_bits(smiles, 256),
        smiles,
        Y,
        tasks,
        [ECFP_SPEC],
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(pickle.dumps({"block": Payload()}))
    with pytest.raises(MolprobeError, match="refusing to load"):
        load_model(tmp_path)
    assert not (tmp_path / "PWNED").exists()
    torch.save({"weights": torch.zeros(2), "note": "x"}, tmp_path / "model.pt")  # not all tensors
    with pytest.raises(MolprobeError, match="refusing to load"):
        load_model(tmp_path)


def test_featurizer_mismatch_is_refused_naming_the_parameter(tmp_path, mols):
    smiles, Y, tasks = mols
    _save(
        tmp_path,
        "snn",
        {"n_layers": 2, "width": 8},
        ecfp_bits(smiles, 256),
        smiles,
        Y,
        tasks,
        [ECFP_SPEC],
    )
    with pytest.raises(MolprobeError, match="radius"):
        load_model(tmp_path, expected_featurizer={**ECFP_SPEC, "radius": 3})
    with pytest.raises(MolprobeError, match="descriptors"):
        load_model(tmp_path, expected_featurizer={"name": "descriptors", "names": ["MolWt"]})


def test_bad_meta_is_refused(tmp_path, mols):
    smiles, Y, tasks = mols
    _save(
        tmp_path,
        "snn",
        {"n_layers": 2, "width": 8},
        ecfp_bits(smiles, 256),
        smiles,
        Y,
        tasks,
        [ECFP_SPEC],
    )
    meta = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps({**meta, "format": 99}))
    with pytest.raises(MolprobeError, match="format 99"):
        read_meta(tmp_path)
    del meta["task_names"]
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(MolprobeError, match="task_names"):
        load_model(tmp_path)
    with pytest.raises(MolprobeError, match="no such file"):
        load_model(tmp_path / "missing")


def test_fingerprint_depends_on_smiles_and_labels():
    Y = np.array([[1.0, np.nan]])
    assert data_fingerprint(["CCO"], Y) == data_fingerprint(["CCO"], Y.copy())
    assert data_fingerprint(["CCO"], Y) != data_fingerprint(["CCN"], Y)
    assert data_fingerprint(["CCO"], Y) != data_fingerprint(["CCO"], np.array([[0.0, np.nan]]))
