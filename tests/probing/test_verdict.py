"""Verdict sentences on planted level tables; plain layer names; figures are written."""

import numpy as np
import pandas as pd

from molprobe.probing.plots import plot_concept_heatmap, plot_emergence_curves, top_concepts
from molprobe.probing.verdict import ordering_sentence, plain_layer_name, verdict_markdown

LAYERS = ["input", "mp1", "mp2", "mp3", "pool"]


def _levels(points, halfwidth):
    return pd.DataFrame(
        [
            {"level": lv, "emergence_index": e, "lo": e - halfwidth, "hi": e + halfwidth,
             "peak_index": e, "peak_lo": e - halfwidth, "peak_hi": e + halfwidth,
             "emergence_layer": LAYERS[int(round(e))], "peak_layer": LAYERS[int(round(e))],
             "n_families": 5, "n_seeds": 3, "per_seed": f"{e} {e} {e}"}
            for lv, e in zip((1, 2, 3), points, strict=True)
        ]
    )  # fmt: skip


def test_ordering_holds_only_with_separated_intervals():
    assert "ordering radicals -> centres -> pharmacophores holds (" in ordering_sentence(
        "gine", _levels((1, 2, 3), 0.3)
    )
    overlap = ordering_sentence("gine", _levels((1, 2, 3), 0.8))
    assert "point estimates only" in overlap
    reversed_ = ordering_sentence("gine", _levels((3, 2, 1), 0.2))
    assert "does not hold" in reversed_
    assert "pharmacophores <= interaction centres <= radicals" in reversed_
    flat = ordering_sentence("snn", _levels((0, 0, 0), 0.0))
    assert "does not hold" in flat
    partial = ordering_sentence("snn", _levels((1, 2, 3), 0.1).iloc[:2])
    assert "cannot judge" in partial


def test_plain_layer_names():
    assert plain_layer_name("input") == "fingerprint input"
    assert plain_layer_name("input", graph=True) == "atom features (summed)"
    assert plain_layer_name("mp2") == "message-passing step 2"
    assert plain_layer_name("pool") == "pooled molecule"
    assert plain_layer_name("block3") == "hidden layer 3"


def _probes():
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(2):
        for level in (1, 2, 3):
            for fam in range(15):
                for li, layer in enumerate(LAYERS):
                    rows.append({"seed": seed, "layer_index": li, "layer": layer,
                                 "layer_name": plain_layer_name(layer, True), "level": level,
                                 "concept": f"c{level}_{fam}", "concept_family": f"f{level}_{fam}",
                                 "description": f"concept {level}/{fam}",
                                 "learned": 0.1 * (li >= level) + 0.01 * rng.normal()})  # fmt: skip
    return pd.DataFrame(rows)


def test_figures_and_markdown(tmp_path):
    probes = _probes()
    top = top_concepts(probes, n=30)
    assert len(top) <= 30 and len(set(top)) == len(top)
    plot_concept_heatmap(probes, tmp_path / "heat.png")
    plot_emergence_curves(probes, tmp_path / "curves.png")
    assert (tmp_path / "heat.png").stat().st_size > 1000
    assert (tmp_path / "curves.png").stat().st_size > 1000
    fam = pd.DataFrame({"level": [1, 2, 3], "learned_any": [True, True, False]})
    erasure = pd.DataFrame(
        [{"seed": s, "level": lv, "layer": "mp1", "rank": 4, "auc": 0.8, "auc_random_sd": 0.005,
          "drop_concept": d + 0.002 * s, "drop_random": 0.01}
         for s in range(3) for lv, d in ((1, 0.1), (2, 0.012))]
    )  # fmt: skip
    text = verdict_markdown("gine", _levels((1, 2, 3), 0.3), fam, erasure)
    assert "holds" in text
    assert "Level 1: the net uses the erased concepts" in text
    assert "Level 2: the net shows no clear sign of using" in text
    assert "emerges at the input" not in text
    flat = verdict_markdown("snn", _levels((0, 0, 0), 0.0), fam, erasure)
    assert 'What "emerges at the input" means here' in flat
