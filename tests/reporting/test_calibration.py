"""Calibration instruments with planted controls: calibrated probabilities give ECE near 0
and an overconfident model a large one that Platt scaling fitted on validation repairs;
spread that tracks error gives a high ROC-AUC, spread independent of error about 0.5."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from molprobe.reporting.calibration import (
    PlattScaler,
    RunPredictions,
    calibration_table,
    expected_calibration_error,
    null_ece,
    plot_reliability,
    reliability,
    spread_auc,
)


def _calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities with the prevalence of a Tox21 task (~8 %) and labels drawn from them."""
    rng = np.random.default_rng(seed)
    p = 1 / (1 + np.exp(-rng.normal(-3.0, 1.5, n)))
    return p, (rng.random(n) < p).astype(float)


def _overconfident(p: np.ndarray) -> np.ndarray:
    logit = np.log(p / (1 - p))
    return 1 / (1 + np.exp(-(2.5 * logit + 2.0)))


def test_ece_is_near_zero_for_calibrated_and_large_for_overconfident():
    p, y = _calibrated(20000, 0)
    assert expected_calibration_error(y, p) < 0.01
    bad = _overconfident(p)
    assert expected_calibration_error(y, bad) > 0.05
    # Platt scaling fitted on separate validation draws repairs it
    pv, yv = _calibrated(5000, 1)
    fixed = PlattScaler().fit(_overconfident(pv), yv).transform(bad)
    assert expected_calibration_error(y, fixed) < 0.01
    # the null ECE: what calibrated labels give on these probabilities (the floor), shrinking
    # with the number of molecules; the overconfident model sits far above its floor
    small = null_ece(p[:200])
    assert null_ece(p) < 0.01 < small and expected_calibration_error(y, bad) > 3 * null_ece(bad)
    r = reliability(y, p)
    assert r["n"].sum() == len(y) and (r["predicted"].diff().dropna() > 0).all()


def test_platt_leaves_a_one_class_task_unscaled():
    p = np.linspace(0.1, 0.9, 9)
    np.testing.assert_allclose(PlattScaler().fit(p, np.zeros(9)).transform(p), p)


def test_spread_auc_finds_planted_uncertainty_and_not_a_null():
    rng = np.random.default_rng(0)
    p, y = _calibrated(4000, 2)
    wrong = (p >= 0.5) != (y == 1)
    # planted: members disagree (wide spread) exactly on the wrong calls
    width = np.where(wrong, 0.2, 0.01)
    members = np.clip(p + width * rng.standard_normal((5, len(p))), 0, 1)
    members += p - members.mean(axis=0)  # keep the mean (and so the calls) as planted
    assert spread_auc(y, members) > 0.9
    # null: member noise independent of the molecule (so of the error)
    null = p + 0.05 * rng.standard_normal((5, len(p)))
    assert abs(spread_auc(y, null) - 0.5) < 0.1
    assert np.isnan(spread_auc(np.zeros(5), np.zeros((3, 5))))  # no wrong call


def _run(name, seed, p_test, y_test, p_valid, y_valid):
    def frame(p, y, tag):
        ids = [f"{tag}{i}" for i in range(len(p))]
        return pd.DataFrame({"mol_id": ids, "T1": p, "T1_true": y})

    return RunPredictions(name, "random", seed, frame(p_test, y_test, "t"),
                          frame(p_valid, y_valid, "v"))  # fmt: skip


def test_table_scores_families_and_ensemble_per_seed():
    runs = []
    for seed in (0, 1, 2):
        p, y = _calibrated(3000, 10 + seed)
        pv, yv = _calibrated(3000, 20 + seed)
        runs += [_run("good", seed, p, y, pv, yv),
                 _run("over", seed, _overconfident(p), y, _overconfident(pv), yv)]  # fmt: skip
    result = calibration_table(runs)
    t = result.table
    assert set(t["model"]) == {"good", "over", "ensemble"} and len(t) == 9
    s = result.summary.set_index("model")
    assert s.loc["good", "ece"] < 0.02 < 0.05 < s.loc["over", "ece"]
    assert s.loc["over", "ece_platt"] < 0.02 and s.loc["good", "n_seeds"] == 3
    assert s.loc["good", "ece"] < 2 * s.loc["good", "ece_null"]
    assert t.loc[t["model"] != "ensemble", "spread_auc"].isna().all()
    assert t.loc[t["model"] == "ensemble", "spread_auc"].notna().all()
    fig = plot_reliability(result)
    assert len(fig.axes) >= 1
    with pytest.raises(Exception, match="no runs"):
        from molprobe.reporting.calibration import read_run_predictions

        read_run_predictions([])
