"""Held-out neuron detectors: selection on one half, AUC on the other, enough positives."""

import numpy as np

from molprobe.probing.neurons import HeldoutConfig, heldout_detectors, scaffold_halves


def test_detectors_are_scored_on_molecules_they_were_not_chosen_on():
    rng = np.random.default_rng(0)
    n, d = 600, 1024
    X = rng.normal(size=(n, d)).astype(np.float32)
    real = (X[:, 7] > 1.0).astype(np.float32)  # unit 7 detects it
    rare = np.zeros(n, np.float32)
    rare[rng.choice(n, 12, replace=False)] = 1  # too few positives: skipped
    noise = (rng.random(n) < 0.05).astype(np.float32)  # ~30 positives, no detector exists
    Y = np.stack([real, rare, noise], 1)
    groups = np.arange(n) // 3
    smiles = [f"C{'C' * (i % 5)}" for i in range(n)]
    det, top = heldout_detectors(X, Y, ["real", "rare", "noise"], groups, smiles, HeldoutConfig())
    det = det.set_index("concept")
    assert "rare" not in det.index
    assert det.loc["real", "best_unit"] == 7 and det.loc["real", "heldout_auc"] > 0.95
    # the best of 1,024 units looks good in-sample and falls to chance on the other half
    assert det.loc["noise", "select_auc"] > 0.7
    assert abs(det.loc["noise", "heldout_auc"] - 0.5) < 0.15
    assert (det["n_positive_select"] + det["n_positive_eval"] == det["n_positive"]).all()
    sel, ev = scaffold_halves(groups, 0)
    assert set(top["row"]) <= set(ev.tolist())
    assert not set(groups[sel]) & set(groups[ev])
    assert top[top["concept"] == "real"]["has_concept"].mean() == 1.0
