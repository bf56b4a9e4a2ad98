"""Family weights of the ensemble are chosen on validation predictions: a planted
uninformative member gets (almost) no weight; members that validation cannot tell apart
keep equal weights; the test part only scores the chosen weights."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from molprobe.training.compare import compare_runs, simplex_grid, validation_weights

TASKS = ["T1", "T2"]


def _labels(n, seed):
    return (np.random.default_rng(seed).random((n, len(TASKS))) < 0.3).astype(float)


def _informative(y, seed, noise=0.35):
    rng = np.random.default_rng(seed)
    return np.clip(0.3 + 0.4 * (y - 0.3) + noise * rng.standard_normal(y.shape), 0.01, 0.99)


def _frame(p, y, tag):
    out = {"mol_id": [f"{tag}{i}" for i in range(len(y))]}
    for t, task in enumerate(TASKS):
        out[task], out[f"{task}_true"] = p[:, t], y[:, t]
    return pd.DataFrame(out)


def _write_run(d, name, seed, p_test, y_test, p_valid, y_valid):
    d.mkdir(parents=True)
    part = {"mean": {"roc_auc": 0.5}, "mean_ci_low": {"roc_auc": 0.4},
            "mean_ci_high": {"roc_auc": 0.6}}  # fmt: skip
    metrics = {"name": name, "model": name, "split": {"name": "random"}, "seed": seed,
               "task_type": "classification", "test": part,
               "valid": {**part, "mean": {"roc_auc": 0.55 if name == "good" else 0.5}}}  # fmt: skip
    (d / "metrics.json").write_text(json.dumps(metrics))
    _frame(p_test, y_test, "t").to_parquet(d / "predictions.parquet")
    _frame(p_valid, y_valid, "v").to_parquet(d / "valid_predictions.parquet")
    return d / "metrics.json"


def test_simplex_grid_covers_the_simplex():
    g = simplex_grid(3, 10)
    assert g.shape == (66, 3) and np.allclose(g.sum(axis=1), 1) and g.min() == 0
    assert len({tuple(r) for r in np.round(g, 6)}) == 66


def test_uninformative_member_is_weighted_out(tmp_path):
    files = []
    for seed in (0, 1, 2):
        yt, yv = _labels(600, 10 + seed), _labels(600, 20 + seed)
        rng = np.random.default_rng(seed)
        files.append(_write_run(tmp_path / f"good{seed}", "good", seed, _informative(yt, seed),
                                yt, _informative(yv, 100 + seed), yv))  # fmt: skip
        files.append(_write_run(tmp_path / f"noise{seed}", "noise", seed, rng.random(yt.shape),
                                yt, rng.random(yv.shape), yv))  # fmt: skip
    runs = compare_runs(files, ensemble=[]).runs
    ens = runs[runs["name"] == "ensemble"].set_index("seed")
    valw = runs[runs["name"] == "ensemble_valw"].set_index("seed")
    assert len(valw) == 3
    for seed in (0, 1, 2):
        weights = dict(kv.split("=") for kv in valw.loc[seed, "path"].split(" ")[0].split(";"))
        assert float(weights["good"]) >= 0.8
        assert valw.loc[seed, "value"] > ens.loc[seed, "value"]
    # the validation view (for choices): the runs' validation means, the equal-weights
    # ensemble of the validation predictions, no weighted one
    valid = compare_runs(files, ensemble=[], part="valid").runs
    assert set(valid["name"]) == {"good", "noise", "ensemble"}
    assert (valid.loc[valid["name"] == "good", "value"] == 0.55).all()


def test_indistinguishable_members_keep_equal_weights():
    y = _labels(400, 3)
    p = _informative(y, 4)
    w, w_score, eq_score = validation_weights(np.stack([p, p, p]), y)
    np.testing.assert_allclose(w, 1 / 3)
    assert w_score == eq_score
