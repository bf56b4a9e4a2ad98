"""Verdict on planted layer profiles; neuron detectors; figures are written."""

import numpy as np
import pandas as pd
import pytest

from molprobe.probing.neurons import detector_examples, neuron_table
from molprobe.probing.plots import plot_heatmap, plot_level_curves
from molprobe.probing.verdict import (
    VerdictConfig,
    level_locations,
    ordering_sentence,
    verdict_markdown,
)

LAYERS = ["input", "l1", "l2", "l3"]


def _probes(peaks: dict[int, int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(3):
        for level, peak in peaks.items():
            for c in range(6):
                for i, layer in enumerate(LAYERS):
                    gain = 0.2 * (i == peak) + 0.01 * rng.normal()
                    rows.append(dict(model="m", seed=seed, init="trained", layer=layer, layer_index=i,
                                     level=level, concept=f"c{level}_{c}", auc=0.8 + gain,
                                     random_auc=0.8, gain=gain, sparse4_auc=0.6 + 0.05 * i,
                                     mdl_compression=1 + 0.1 * i))  # fmt: skip
    return pd.DataFrame(rows)


def test_ordering_detected_and_rejected():
    cfg = VerdictConfig(n_boot=100)
    good = level_locations(_probes({1: 1, 2: 2, 3: 3}), cfg)
    assert "holds (" in ordering_sentence("m", good)
    gain = good[good["measure"] == "gain"].set_index("level")
    assert gain.loc[2, "layer"] == "l2" and gain.loc[2, "share"] > 0.9
    bad = level_locations(_probes({1: 3, 2: 2, 3: 1}), cfg)
    assert "does not hold" in ordering_sentence("m", bad)


def test_verdict_markdown_and_plots(tmp_path):
    df = _probes({1: 1, 2: 2, 3: 3})
    text = verdict_markdown(df, cfg=VerdictConfig(n_boot=50))
    assert "## m" in text and "radicals -> centres -> pharmacophores holds" in text
    plot_heatmap(df, tmp_path / "h.png")
    plot_level_curves(df, tmp_path / "c.png")
    assert (tmp_path / "h.png").stat().st_size > 1000 and (tmp_path / "c.png").stat().st_size > 1000


def test_neuron_detectors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10))
    y = (X[:, 7] > 0.5).astype(float)
    Y = np.stack([y, 1 - y, (rng.random(200) < 0.3).astype(float)], 1)
    nt, aucs = neuron_table(X, Y, ["a", "not_a", "noise"])
    assert aucs.shape == (10, 3)
    assert nt.loc[0, "best_unit"] == 7 and nt.loc[0, "best_auc"] == 1.0
    assert nt.loc[0, "n_detectors"] == 1 and nt.loc[1, "n_detectors"] == 0
    assert nt.loc[1, "n_detectors_any_sign"] == 1  # unit 7 is an inverse detector
    assert nt.loc[2, "n_detectors"] == 0
    ex = detector_examples(X, Y, nt, [f"C{i}" for i in range(200)])
    top = ex[ex["concept"] == "a"]
    assert (top["has_concept"] == 1).all() and top["activation"].is_monotonic_decreasing


def test_detector_atoms_mark_the_concept_in_each_top_molecule():
    from molprobe.chem.concepts import compute_concepts
    from molprobe.errors import MolprobeError
    from molprobe.probing.neurons import detector_atoms

    smiles = ["CC(=O)O", "Oc1ccccc1", "CCN", "OCC(=O)O"]
    table = compute_concepts(smiles)
    examples = pd.DataFrame(dict(layer="l1", concept="fr_COO", unit=3, rank=[0, 1],
                                 row=[3, 1], smiles=[smiles[3], smiles[1]],
                                 activation=[2.0, 1.0], has_concept=[1.0, 0.0]))  # fmt: skip
    top = pd.DataFrame(dict(concept=["fr_COO"], layer=["l1"], best_auc=[0.95]))
    out = detector_atoms(examples, top, table)
    assert out["auc"].tolist() == [0.95, 0.95]
    assert sorted(out["atoms"][0]) == [1, 2, 3, 4]  # [#6]C(=O)[OH] of glycolic acid OCC(=O)O
    assert list(out["atoms"][1]) == []  # phenol has no carboxylic acid
    other_unit = top.assign(best_unit=[7])  # another seed's best neuron: not these examples
    with pytest.raises(MolprobeError, match="another unit"):
        detector_atoms(examples, other_unit, table)
    wrong = examples.assign(row=[0, 1])  # rows of another molecule order
    with pytest.raises(MolprobeError, match="do not match"):
        detector_atoms(wrong, top, table)
