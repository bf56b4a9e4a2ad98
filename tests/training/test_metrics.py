"""Metrics agree with scikit-learn; single-class tasks are skipped and counted; bootstrap CIs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

from molprobe.training.metrics import evaluate, weighted_average_precision, weighted_roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_auc_and_ap_match_sklearn_with_ties_and_weights(seed):
    rng = np.random.default_rng(seed)
    n = 60
    y = rng.integers(0, 2, n).astype(float)
    s = np.round(rng.random(n), 1)  # many ties
    w = np.ones((1, n))
    assert weighted_roc_auc(y, s, w)[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert weighted_average_precision(y, s, w)[0] == pytest.approx(
        average_precision_score(y, s), abs=1e-12
    )
    k = rng.integers(0, 3, n)  # integer weights = repeating molecules
    rep = np.repeat(np.arange(n), k)
    assert weighted_roc_auc(y, s, k[None].astype(float))[0] == pytest.approx(
        roc_auc_score(y[rep], s[rep])
    )
    assert weighted_average_precision(y, s, k[None].astype(float))[0] == pytest.approx(
        average_precision_score(y[rep], s[rep])
    )


def test_evaluate_classification_skips_single_class_task():
    rng = np.random.default_rng(0)
    n = 200
    Y = rng.integers(0, 2, (n, 3)).astype(float)
    Y[:, 2] = 0.0
    Y[rng.random((n, 3)) < 0.3] = np.nan
    P = np.clip(np.nan_to_num(Y, nan=0.5) * 0.3 + rng.random((n, 3)) * 0.7, 0, 1)
    ev = evaluate(Y, P, ["a", "b", "c"], "classification", n_bootstrap=200, seed=1)
    m = ~np.isnan(Y[:, 0])
    assert ev.tasks[0].values["roc_auc"] == pytest.approx(roc_auc_score(Y[m, 0], P[m, 0]))
    assert np.isnan(ev.tasks[2].values["roc_auc"])
    assert ev.n_tasks_skipped == 1 and ev.skipped_tasks == ["c"]
    mean = np.mean([ev.tasks[0].values["roc_auc"], ev.tasks[1].values["roc_auc"]])
    assert ev.mean["roc_auc"] == pytest.approx(mean)
    assert ev.mean_ci_low["roc_auc"] < ev.mean["roc_auc"] < ev.mean_ci_high["roc_auc"]
    assert ev.mean_ci_high["roc_auc"] - ev.mean_ci_low["roc_auc"] < 0.2
    again = evaluate(Y, P, ["a", "b", "c"], "classification", n_bootstrap=200, seed=1)
    assert again.to_dict() == ev.to_dict()
    text = json.dumps(ev.to_dict())  # NaN written as null
    assert "NaN" not in text


def test_evaluate_regression():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 1))
    p = y + rng.normal(scale=0.5, size=(100, 1))
    ev = evaluate(y, p, ["logS"], "regression", n_bootstrap=50)
    assert ev.mean["rmse"] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)))
    assert ev.mean["mae"] == pytest.approx(np.mean(np.abs(p - y)))
    assert ev.mean["r2"] == pytest.approx(r2_score(y, p))
    assert ev.primary == ev.mean["rmse"]
