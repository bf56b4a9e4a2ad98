"""Report figures and structure grids on small synthetic tables that follow docs/contracts.md."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from molprobe.errors import MolprobeError
from molprobe.reporting import plots
from molprobe.reporting.structures import draw_grid, substructure_atoms, weight_colours


def _png(fig: Figure) -> Image.Image:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    plots.close(fig)
    return Image.open(io.BytesIO(buf.getvalue()))


def _labels(fig: Figure) -> tuple[str, str, str]:
    ax = fig.axes[0]
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_model_colours_are_stable_and_distinct():
    assert plots.model_colour("snn") == plots.MODEL_COLOURS["snn"]
    assert plots.model_colour("SNN_8layers") == plots.MODEL_COLOURS["snn"]
    assert plots.model_colour("fnn-bn") == plots.MODEL_COLOURS["fnn_bn"]
    assert plots.model_colour("new_family") == plots.model_colour("new_family")
    assert len(set(plots.MODEL_COLOURS.values())) == len(plots.MODEL_COLOURS)


def test_data_plots_have_titles_and_units():
    balance = pd.DataFrame(
        {"task": ["A", "B"], "n_positive": [3, 10], "n_negative": [90, 80], "n_missing": [7, 10]}
    )
    ledger = pd.DataFrame({"outcome": ["input rows", "kept", "rejected: unparsable"], "kind": ["input", "kept", "rejected"],
                           "count": [1000, 997, 3]})  # fmt: skip
    splits = pd.DataFrame({"method": ["random"] * 3, "seed": [0] * 3, "part": ["train", "valid", "test"],
                           "n_molecules": [80, 10, 10], "n_scaffolds": [40, 8, 9]})  # fmt: skip
    for fig in (
        plots.plot_task_balance(balance, "toy"),
        plots.plot_ledger(ledger),
        plots.plot_split_sizes(splits),
    ):
        title, xlabel, ylabel = _labels(fig)
        assert (title or fig._suptitle) and ("count" in xlabel or "count" in ylabel)
        assert _png(fig).size[0] > 100
    fig = plots.plot_ledger(ledger)
    assert fig.axes[0].get_xscale() == "log"  # counts span orders of magnitude
    plots.close(fig)


def test_model_plots():
    summary = pd.DataFrame({"name": ["snn", "rf", "snn", "rf"], "model": ["snn", "rf"] * 2,
                            "split": ["random", "random", "scaffold", "scaffold"], "mean": [0.8, 0.78, 0.72, 0.7],
                            "ci_low": [0.75, 0.7, 0.65, 0.6], "ci_high": [0.85, 0.83, 0.78, 0.77]})  # fmt: skip
    fig = plots.plot_model_comparison(summary)
    ax = fig.axes[0]
    # one entry per model, the baseline named as such, and the chance line
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "chance (0.5)",
        "rf (baseline)",
        "snn",
    ]
    assert all(t.get_fontsize() >= 8 for t in ax.get_legend().get_texts())
    colours = {p.get_facecolor()[:3] for p in ax.patches}
    assert len(colours) == 2
    assert sorted(bool(p.get_hatch()) for p in ax.patches) == [False, False, True, True]
    assert not any("no spread" in t.get_text() for t in ax.texts)
    plots.close(fig)
    one = plots.plot_model_comparison(summary.drop(columns=["ci_low", "ci_high"]))
    assert sum("1 seed" in t.get_text() for t in one.axes[0].texts) == 4  # no zero-width bars
    plots.close(one)

    rng = np.random.default_rng(0)
    y = {"t1": rng.integers(0, 2, 50).astype(float), "t2": np.r_[np.ones(5), np.zeros(45)]}
    y["t2"][3] = np.nan
    s = {k: v * 0.5 + rng.random(50) * 0.5 for k, v in y.items()}
    fig = plots.plot_roc_pr(y, s, "toy")
    assert len(fig.axes[0].get_lines()) == 3  # two tasks + chance diagonal
    plots.close(fig)
    with pytest.raises(MolprobeError, match="both positive and negative"):
        plots.plot_roc_pr({"t": np.ones(5)}, {"t": np.ones(5)})

    hist = pd.DataFrame({"run": ["a"] * 3 + ["b"] * 3, "model": ["snn"] * 3 + ["lstm"] * 3, "epoch": [1, 2, 3] * 2,
                         "train_loss": [0.7, 0.5, 0.4] * 2, "val_loss": [0.7, 0.6, 0.6] * 2,
                         "val_metric": [0.6, 0.7, 0.72] * 2})  # fmt: skip
    fig = plots.plot_training_curves(hist)
    assert fig.axes[0].get_yscale() == "log"
    plots.close(fig)

    depth = pd.DataFrame({"model": ["snn"] * 3 + ["fnn_bn"] * 3, "depth": [2, 8, 32] * 2,
                          "mean": [0.84, 0.845, 0.825, 0.8, 0.77, 0.737], "std": [0.01] * 6})  # fmt: skip
    fig = plots.plot_depth(depth)
    assert fig.axes[0].get_xscale() == "log"
    assert "layers" in fig.axes[0].get_xlabel()
    plots.close(fig)


def test_probe_dynamics_screen_plots():
    probes = pd.DataFrame([(layer, c, lvl, 0.5 + 0.1 * i + 0.05 * j, 0.5)
                           for i, layer in enumerate(["block1", "block2", "pooled"])
                           for j, (c, lvl) in enumerate([("hydroxyl", "radical"), ("aromatic ring", "centre")])],
                          columns=["layer", "concept", "level", "auc", "control_auc"])  # fmt: skip
    probes["selectivity"] = probes["auc"] - probes["control_auc"]
    fig = plots.plot_probe_heatmap(probes)
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (2, 3)  # concepts × layers
    assert image[0, 2] > image[0, 0]  # deeper layer scores higher in this table
    plots.close(fig)
    fig = plots.plot_probe_curves(probes)
    lines = fig.axes[0].get_lines()  # one per concept, then the dashed control mean
    assert [ln.get_label() for ln in lines] == ["hydroxyl", "aromatic ring", "control (mean)"]
    np.testing.assert_allclose(lines[0].get_ydata(), [0.5, 0.6, 0.7])
    np.testing.assert_allclose(lines[2].get_ydata(), [0.5, 0.5, 0.5])
    plots.close(fig)
    with pytest.raises(MolprobeError, match="lacks column"):
        plots.plot_probe_heatmap(probes.drop(columns=["layer"]))

    grads = pd.DataFrame([("snn", 4, layer, step, 0, 10.0 ** (-layer if step else 0), 1.0, 0.5)
                          for layer in range(4) for step in (0, 100)],
                         columns=["arch", "depth", "layer", "step", "seed", "grad_norm_weight", "grad_norm_input", "loss"])  # fmt: skip
    fig = plots.plot_gradient_norms(grads)
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    plots.close(fig)
    tt = pd.DataFrame(
        {"arch": ["lstm"] * 6, "distance": [0, 1, 2] * 2, "grad_norm": [1, 0.1, 0.01, 2, 0.2, 0.02]}
    )
    fig = plots.plot_gradient_through_time(tt)
    (line,) = fig.axes[0].get_lines()  # the median over the two rows at each distance
    np.testing.assert_allclose(line.get_ydata(), [1.5, 0.15, 0.015])
    assert fig.axes[0].get_yscale() == "log"
    plots.close(fig)
    credit = pd.DataFrame(
        {
            "arch": ["lstm", "lstm"],
            "group": ["long", "short"],
            "slope": [-0.1, -0.02],
            "augmented": [False, True],
        }
    )
    fig = plots.plot_lstm_credit(credit)
    heights = [p.get_height() for p in fig.axes[0].patches]  # group x arch, NaN = no such run
    assert len(heights) == 4
    np.testing.assert_allclose(sorted(h for h in heights if np.isfinite(h)), [-0.1, -0.02])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["lstm", "lstm (augmented)"]
    plots.close(fig)

    fig = plots.plot_score_distribution(np.random.default_rng(1).beta(1, 8, 500), 0.6)
    assert fig.axes[0].get_yscale() == "log"
    plots.close(fig)
    with pytest.raises(MolprobeError):
        plots.plot_score_distribution(np.array([np.nan]))


def test_draw_grid_svg_png_and_highlights():
    smiles = ["c1ccccc1O", "CCN", "not a smiles"]
    svg = draw_grid(
        smiles, ["phenol", "ethylamine", "bad"], highlight_atoms=[[6], None, None], mols_per_row=2
    )
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "#FF9933" in svg.upper()  # the highlighted oxygen is shaded orange
    plain = draw_grid(smiles[:1])
    assert "#FF9933" not in plain.upper()
    png = draw_grid(smiles[:2], fmt="png", size=(120, 100))
    img = Image.open(io.BytesIO(png))
    assert img.size == (240, 100)
    weights = draw_grid(["c1ccccc1O"], atom_weights=[[0, 0, 0, 0, 0, -0.5, 1.0]])
    assert (
        "#FF0000" in weights.upper() and "#7F7FFF" in weights.upper()
    )  # red positive, blue negative
    with pytest.raises(MolprobeError, match="weights"):
        draw_grid(["CCO"], atom_weights=[[1.0]])
    with pytest.raises(MolprobeError):
        draw_grid([])
    # a rejected, unsanitizable input is still drawn
    assert "<svg" in draw_grid(["C(C)(C)(C)(C)C"], ["pentavalent"], sanitize=False)


def test_weight_colours_and_substructure():
    colours, radii = weight_colours([0.0, 2.0, -1.0])
    assert 0 not in colours and colours[1] == (1.0, 0.0, 0.0) and colours[2] == (0.5, 0.5, 1.0)
    assert radii[1] > radii[2]
    assert substructure_atoms("c1ccccc1O", "[OX2H]") == [6]
    assert substructure_atoms("CCC", "[OX2H]") == []
    with pytest.raises(MolprobeError):
        substructure_atoms("CCO", "[[[")


def test_neuron_gallery_draws_the_best_held_out_detectors_of_the_first_seed():
    import pandas as pd

    from molprobe.reporting.pages import gallery_examples

    rows = []
    for seed in (0, 1):
        for layer_index, layer in ((0, "input"), (1, "block1")):
            for concept in ("ketone", "ester", "nitro"):
                rows += [{"seed": seed, "layer_index": layer_index, "layer": layer,
                          "concept": concept, "rank": r, "smiles": "CC(C)=O"} for r in range(8)]  # fmt: skip
    examples = pd.DataFrame(rows)
    neurons = pd.DataFrame({
        "seed": 0, "layer": ["block1"] * 3 + ["input"], "concept": ["ketone", "ester", "nitro", "nitro"],
        "heldout_auc": [0.70, 0.90, 0.99, 1.0], "n_positive": [40, 25, 12, 50],
    })  # fmt: skip
    chosen = gallery_examples(examples, neurons, n_detectors=2)
    # nitro has too few positives, the input layer is excluded, seed 1 is not drawn
    drawn = {tuple(k) for k in chosen[["layer", "concept"]].drop_duplicates().values.tolist()}
    assert drawn == {("block1", "ester"), ("block1", "ketone")}
    assert set(chosen["seed"]) == {0} and len(chosen) == 16
