"""The gradient-flow experiment: tidy tables over stages, seeds and depths; its summary."""

import numpy as np
import pytest

from molprobe.dynamics.gradient_flow import (
    GRADIENT_COLUMNS,
    STAGES,
    GradientFlowConfig,
    geometric_interval,
    gradient_summary,
    run_gradient_flow,
)
from molprobe.dynamics.gradients import JACOBIAN_COLUMNS
from molprobe.errors import MolprobeError


def test_experiment_tables_are_tidy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 10)).astype(np.float32)
    y = (x[:, :2] + 0.5 * rng.standard_normal((80, 2)) > 0).astype(np.float32)
    y[::3, 1] = np.nan
    cfg = GradientFlowConfig(
        archs=("sigmoid", "relu_bn", "highway"),
        depths=(2, 4),
        seeds=(0, 1, 2),
        width=8,
        batch_size=8,
        measure_size=16,
        max_epochs=4,
        patience=2,
        jacobian_molecules=3,
        jacobian_depths=(4,),
    )
    res = run_gradient_flow(x, y, cfg)
    g = res.gradients
    assert list(g.columns) == GRADIENT_COLUMNS
    assert len(g) == 3 * (2 + 4) * 3 * 3  # archs x layers x seeds x stages
    assert set(g["stage"]) == set(STAGES)
    assert (g.loc[g["stage"] == "init", "step"] == 0).all()
    assert g.loc[g["stage"] == "init", "meanfield_error_signal"].notna().all()
    assert g.loc[g["stage"] != "init", "meanfield_error_signal"].isna().all()
    assert (g["error_signal"] > 0).all() and (g["grad_norm_weight"] > 0).all()
    assert list(res.jacobian.columns) == JACOBIAN_COLUMNS
    assert set(res.jacobian["depth"]) == {4} and len(res.jacobian) == 3 * 3 * 3 * 3
    a = g[g["stage"] == "init"]["error_signal"].to_numpy()
    b = g[g["stage"] == "epoch1"]["error_signal"].to_numpy()
    assert not np.allclose(a, b)  # training changed the weights
    s = res.summary
    assert len(s) == 3 * 2 * 3 and (s["n_seeds"] == 3).all()
    init = s[s["stage"] == "init"]
    assert (init["error_signal_ratio_low"] <= init["error_signal_ratio"]).all()
    assert (init["error_signal_ratio"] <= init["error_signal_ratio_high"]).all()
    assert res.runs["best_epoch"].between(1, 4).all()
    assert res.runs.loc[res.runs["arch"] == "highway", "carry"].between(0.5, 1).all()
    with pytest.raises(MolprobeError):
        GradientFlowConfig(archs=("sigmoid", "gelu"))


def test_geometric_interval_and_ratio_summary():
    m, lo, hi = geometric_interval([2.0, 8.0])
    assert m == pytest.approx(4.0) and lo < 4.0 < hi
    assert np.isnan(geometric_interval([3.0])[1])
    import pandas as pd

    rows = []
    for seed, (first, last) in enumerate([(4.0, 1.0), (16.0, 1.0)]):
        for layer, v in ((1, first), (2, 2.0), (3, last)):
            rows.append(
                {
                    "arch": "tanh",
                    "depth": 3,
                    "layer": layer,
                    "stage": "init",
                    "step": 0,
                    "seed": seed,
                    "error_signal": v,
                    "meanfield_error_signal": v,
                    "grad_norm_weight": 1.0,
                    "grad_norm_input": 1.0,
                    "loss": 0.5,
                }
            )
    s = gradient_summary(pd.DataFrame(rows))
    assert s.loc[0, "error_signal_ratio"] == pytest.approx(8.0)
    assert s.loc[0, "chi_measured"] == pytest.approx(8.0)  # 8^(2/2)
    assert s.loc[0, "weight_grad_ratio"] == pytest.approx(1.0)
