"""Emergence statistic on synthetic layers where the answer is known."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from molprobe.probing.emergence import (
    EmergenceConfig,
    ProbeTargets,
    SeedProbes,
    WeightedAUC,
    emergence_layer,
    emergence_tables,
    probe_scores,
    ridge_oof,
)
from molprobe.probing.probes import grouped_folds

CFG = EmergenceConfig(n_outer=4, n_boot=40)
N, D = 400, 24


def test_emergence_layer_rule():
    assert emergence_layer(np.array([0, 0.1, 0.5, 0.85, 1.0]), 0.8, 0.02) == (3, 4, True)
    assert emergence_layer(np.array([0, 0.01, 0.005]), 0.8, 0.02) == (0, 0, False)
    assert emergence_layer(np.array([0, 0.3, 0.2, 0.1]), 0.8, 0.02) == (1, 1, True)


def test_weighted_auc_matches_sklearn_and_resampling():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(200, 3))
    y = (rng.random((200, 3)) < 0.3).astype(float)
    auc = WeightedAUC(s, y)
    for c in range(3):
        assert auc()[c] == pytest.approx(roc_auc_score(y[:, c], s[:, c]))
    idx = rng.integers(0, 200, 200)
    w = np.bincount(idx, minlength=200)
    # resampled rows with ties between copies of one molecule: equal up to tie handling
    ref = roc_auc_score(y[idx, 0], s[idx, 0])
    assert auc(w)[0] == pytest.approx(ref, abs=1e-9)


def test_ridge_probe_finds_a_linear_concept_and_not_noise():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(N, D)).astype(np.float32)
    y = np.stack([(X[:, 3] > 0.5), rng.random(N) < 0.3], 1).astype(np.float32)
    groups = np.arange(N) // 4
    oof = ridge_oof(X, y, groups, grouped_folds(groups, 4, 0), CFG)
    assert roc_auc_score(y[:, 0], oof[:, 0]) > 0.9
    assert abs(roc_auc_score(y[:, 1], oof[:, 1]) - 0.5) < 0.1


def _targets(y, controls=None):
    groups = np.arange(N) // 4
    return ProbeTargets(
        labels=y, concepts=["late", "early", "input"], levels=np.array([1, 1, 1]),
        families=np.array(["late", "early", "input"]), groups=groups,
        folds=grouped_folds(groups, CFG.n_outer, 0), conditioning={}, controls=controls,
    )  # fmt: skip


def test_emergence_finds_the_layer_where_training_adds_the_concept():
    """Three concepts: 'early' becomes readable at layer 1, 'late' at layer 3, 'input' is in
    the input already; random copies keep the input's information, slowly losing it."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(N, 3))
    y = (z > 0.4).astype(np.float32)
    noise = lambda: rng.normal(size=(N, D))  # noqa: E731
    inp = noise()
    inp[:, 0] = z[:, 2]  # the 'input' concept is an input unit

    def layer(k, trained):
        h = noise()
        h[:, 0] = z[:, 2] + 0.3 * k * rng.normal(size=N)  # inherited from the input
        if trained and k >= 1:
            h[:, 1] = z[:, 1]
        if trained and k >= 3:
            h[:, 2] = z[:, 0]
        return h.astype(np.float32)

    def net(trained):
        layers = {"input": inp.astype(np.float32)}
        layers.update({f"l{k}": layer(k, trained) for k in range(1, 5)})
        return probe_scores(layers, _targets(y), CFG)

    sp = SeedProbes(
        0, _targets(y), net(True), [net(False) for _ in range(3)], np.full((N, 3), np.nan)
    )
    fam, levels = emergence_tables([sp], CFG, levels=(1,))
    fam = fam.set_index("concept_family")
    assert fam.loc["early", "emergence_index"] == 1
    assert fam.loc["late", "emergence_index"] == 3
    assert not fam.loc["input", "learned_any"] and fam.loc["input", "emergence_index"] == 0
    assert fam.loc["late", "lo"] >= 2 and fam.loc["early", "hi"] <= 2
    assert len(levels) == 1 and levels.iloc[0]["n_seeds"] == 1
    prof = sp.concept_table()
    late = prof[prof["concept"] == "late"].set_index("layer")
    assert late.loc["l4", "gain_random"] > 0.3 and late.loc["l1", "gain_random"] < 0.1


def test_noise_floor_bounds_chance_gains_and_passes_real_ones():
    """The floor the verdict needs a gain to reach: on scores without signal a trained-minus-
    mean-of-3-random AUC difference crosses it rarely; a real gain of 0.15 crosses it."""
    from molprobe.probing.emergence import noise_floor

    rng = np.random.default_rng(0)
    y = np.r_[np.ones(150), np.zeros(150)]
    floor = noise_floor(y[:, None], n_random=3, z=2.0)[0]
    assert floor == pytest.approx(2 * np.sqrt(301 / (12 * 150 * 150)) * np.sqrt(4 / 3))
    diffs = [
        roc_auc_score(y, rng.normal(size=300))
        - np.mean([roc_auc_score(y, rng.normal(size=300)) for _ in range(3)])
        for _ in range(400)
    ]
    assert np.mean(np.array(diffs) >= floor) < 0.05  # one-sided, z = 2: ~2.3 % expected
    signal = roc_auc_score(y, y + rng.normal(scale=1.4, size=300))  # AUC ~0.69
    assert signal - 0.5 > floor
    assert np.isinf(noise_floor(np.zeros((10, 1)), 3, 2.0)[0])  # no positives: never learned
