"""scikit-learn baselines: NaN-masked per-task fitting and skops persistence."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio

from molprobe.errors import MolprobeError
from molprobe.models.baselines import TaskwiseSklearn, load_baseline, save_baseline
from molprobe.models.registry import InputDims, build_model


class NotAnEstimator:
    """A type skops does not trust: loading a file that contains it must be refused."""

    def __init__(self):
        self.payload = [1, 2, 3]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, size=(80, 32)).astype(np.uint8)
    Y = np.stack([X[:, 0], X[:, 1] | X[:, 2], np.zeros(80)], axis=1).astype(float)
    Y[rng.random(Y.shape) < 0.2] = np.nan
    return X, Y


@pytest.mark.parametrize("name", ["rf", "logreg"])
def test_baseline_fits_measured_rows_and_round_trips(name, tmp_path):
    X, Y = _data()
    params = {"n_estimators": 20} if name == "rf" else {}
    model = build_model(name, params, InputDims(n_features=32), 3)
    model.fit(X, Y, "classification", seed=0)
    pred = model.predict(X)
    assert pred.shape == (80, 3)
    assert model.estimators_[2] is None and np.all(pred[:, 2] == 0.0)  # single-class task
    measured = ~np.isnan(Y[:, 0])
    assert np.corrcoef(pred[measured, 0], Y[measured, 0])[0, 1] > 0.8
    path = tmp_path / "model.skops"
    save_baseline(model, path)
    again = load_baseline(path)
    np.testing.assert_array_equal(again.predict(X), pred)


def test_rf_regression():
    X, _ = _data()
    y = X[:, :2].sum(axis=1, keepdims=True).astype(float)
    model = TaskwiseSklearn(
        "rf", {"n_estimators": 20, "max_features": "sqrt", "min_samples_leaf": 1}
    )
    pred = model.fit(X, y, "regression").predict(X)
    assert np.abs(pred[:, 0] - y[:, 0]).mean() < 0.5


def test_untrusted_skops_file_is_refused(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"estimators": [NotAnEstimator()], "kind": "rf"}, path)
    with pytest.raises(MolprobeError, match="untrusted types"):
        load_baseline(path)


def test_non_skops_file_is_refused(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip file")
    with pytest.raises(MolprobeError):
        load_baseline(path)
