"""`molprobe report <stage>` on small synthetic stage outputs laid out as in docs/contracts.md."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from molprobe.cli import main
from molprobe.cli.report import OUTPUTS

SMILES = [
    "Oc1ccccc1",
    "Nc1ccccc1",
    "CC1CCCCC1",
    "CCO",
    "c1ccncc1",
    "CCCC",
    "CC(=O)O",
    "c1ccc2ccccc2c1",
]


def _assert_outputs(outdir, stage):
    for name in OUTPUTS[stage]:
        path = outdir / name
        assert path.is_file() and path.stat().st_size > 0, name
        if name.endswith(".png"):
            assert Image.open(path).size[0] > 100


@pytest.fixture
def data_stage(tmp_path):
    d = tmp_path / "results/toy/data"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    mols = pd.DataFrame({"mol_id": [f"m{i}" for i in range(8)], "input_smiles": SMILES, "smiles": SMILES,
                         "T1": rng.integers(0, 2, 8).astype(float), "T2": [np.nan, 1, 0, 0, 1, 0, np.nan, 0]})  # fmt: skip
    mols.to_parquet(d / "molecules.parquet")
    pd.DataFrame({"row": [3, 9], "input": ["C1CC", "[Na+].[Cl-]"], "reason": ["unparsable", "no organic fragment"],
                  "detail": ["", ""]}).to_csv(d / "rejected.csv", index=False)  # fmt: skip
    (d / "standardize.json").write_text(json.dumps({"n_in": 11, "n_kept": 8, "n_rejected": 2, "n_merged": 1,
        "reasons": {"unparsable": 1, "no organic fragment": 1}, "task_columns": ["T1", "T2"]}))  # fmt: skip
    s = tmp_path / "results/toy/splits/random"
    s.mkdir(parents=True)
    (s / "seed0.json").write_text(json.dumps({"method": "random", "seed": 0, "train": [0, 1, 2, 3, 4, 5],
                                              "valid": [6], "test": [7]}))  # fmt: skip
    return tmp_path


def test_report_data_and_summary(data_stage, capsys):
    root = data_stage / "results/toy"
    out = data_stage / "results/report/toy/data"
    rc = main(["report", "data", "--dataset", "toy", "--molecules", str(root / "data/molecules.parquet"),
               "--rejected", str(root / "data/rejected.csv"), "--summary", str(root / "data/standardize.json"),
               "--splits", str(root / "splits/random/seed0.json"), "--n-examples", "4", "--output-dir", str(out)])  # fmt: skip
    assert rc == 0
    _assert_outputs(out, "data")
    head = json.loads((out / "headline.json").read_text())
    assert (
        head["numbers"]["n_kept"] == 8
        and "11 input rows → 8 molecules kept, 2 rejected" in head["lines"][0]
    )
    assert pd.read_csv(out / "tasks.csv")["task"].tolist() == ["T1", "T2"]
    assert "unparsable" in (out / "rejected.html").read_text()

    rst, html = data_stage / "summary.rst", data_stage / "summary.html"
    assert (
        main(
            [
                "report",
                "summary",
                "--headlines",
                str(out / "headline.json"),
                "--rst",
                str(rst),
                "--html",
                str(html),
            ]
        )
        == 0
    )
    text = rst.read_text()
    assert text.startswith("**Data — toy**") and "- 11 input rows" in text
    from docutils.core import publish_parts

    assert "8 molecules kept" in publish_parts(text, writer="html")["body"]  # valid RST


def test_report_data_bad_summary_is_one_line_error(data_stage, capsys):
    root = data_stage / "results/toy"
    (root / "data/standardize.json").write_text("{not json")
    rc = main(["report", "data", "--dataset", "toy", "--molecules", str(root / "data/molecules.parquet"),
               "--rejected", str(root / "data/rejected.csv"), "--summary", str(root / "data/standardize.json"),
               "--output-dir", str(data_stage / "out")])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "standardize.json" in err and err.count("\n") == 1


def _models_stage(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for name, model, base in (("snn", "snn", 0.75), ("rf", "rf", 0.7)):
        for split in ("random", "scaffold"):
            for seed in (0, 1):
                run = tmp_path / "models" / name / split / f"seed{seed}"
                run.mkdir(parents=True)
                y = rng.integers(0, 2, (30, 2)).astype(float)
                pred = pd.DataFrame({"mol_id": [f"m{i}" for i in range(30)], "smiles": ["C"] * 30,
                                     "A": y[:, 0] * 0.4 + rng.random(30) * 0.6, "A_true": y[:, 0],
                                     "B": rng.random(30), "B_true": y[:, 1]})  # fmt: skip
                pred.to_parquet(run / "predictions.parquet")
                meta = {"name": name, "model": model, "split": {"name": split}, "seed": seed}
                (run / "metrics.json").write_text(json.dumps(meta))
                pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [0.7, 0.5, 0.4], "val_loss": [0.7, 0.6, 0.62],
                              "val_metric": [0.6, 0.7, 0.69]}).to_csv(run / "history.csv", index=False)  # fmt: skip
                v = base + 0.01 * seed - (0.05 if split == "scaffold" else 0)
                rows.append((name, model, split, str(seed), "roc_auc", v, v - 0.05, v + 0.05))
    for split in ("random", "scaffold"):  # `compare --ensemble` rows: best, but no run directory
        for seed in (0, 1):
            rows.append(("ensemble", "ensemble", split, str(seed), "roc_auc", 0.9, 0.85, 0.95))
    comp = pd.DataFrame(
        rows, columns=["name", "model", "split", "seed", "metric", "value", "ci_low", "ci_high"]
    )
    comp.to_csv(tmp_path / "comparison.csv", index=False)
    return tmp_path


def test_report_models_and_depth(tmp_path):
    root = _models_stage(tmp_path)
    declared = sorted((root / "models").glob("*/*/seed*"))
    # a stale run of an earlier config beside the declared ones: unreadable if it were read
    stale = root / "models" / "snn" / "scaffold" / "seed7"
    stale.mkdir()
    (stale / "metrics.json").write_text("{not json")
    (stale / "history.csv").write_text("\x00garbage")
    out = tmp_path / "report/models"
    assert main(["report", "models", "--dataset", "toy", "--comparison", str(root / "comparison.csv"),
                 "--runs", *map(str, declared), "--output-dir", str(out)]) == 0  # fmt: skip
    assert main(["report", "models", "--dataset", "toy", "--comparison", str(root / "comparison.csv"),
                 "--runs", *map(str, declared), str(stale), "--output-dir", str(tmp_path / "x")]) == 2  # fmt: skip
    _assert_outputs(out, "models")
    head = json.loads((out / "headline.json").read_text())
    assert head["numbers"]["best"] == "snn" and "scaffold split" in head["lines"][0]
    assert any(line.startswith("Ensemble of the families") for line in head["lines"])
    table = pd.read_csv(out / "comparison.csv")
    assert len(table) == 6 and table["n_seeds"].eq(2).all()
    depth = pd.DataFrame(
        {
            "model": ["snn", "snn", "fnn_bn", "fnn_bn"],
            "depth": [2, 16] * 2,
            "mean": [0.8, 0.82, 0.8, 0.74],
        }
    )
    depth.to_csv(tmp_path / "depth.csv", index=False)
    assert (
        main(
            [
                "report",
                "depth",
                "--table",
                str(tmp_path / "depth.csv"),
                "--output",
                str(out / "depth.png"),
            ]
        )
        == 0
    )
    assert Image.open(out / "depth.png").size[0] > 100


def test_report_probes_dynamics_screen(tmp_path):
    probes = pd.DataFrame([(layer, c, 0.5 + 0.1 * i, 0.5) for i, layer in enumerate(["l1", "l2"]) for c in ("OH", "ring")],
                          columns=["layer", "concept", "auc", "control_auc"])  # fmt: skip
    probes["selectivity"] = probes["auc"] - probes["control_auc"]
    probes.to_parquet(tmp_path / "probes.parquet")
    pd.DataFrame(
        {"concept": ["OH", "ring"], "best_unit": [3, 5], "best_auc": [0.95, 0.9]}
    ).to_parquet(tmp_path / "neurons.parquet")
    pd.DataFrame({"concept": ["OH", "OH"], "layer": "l1", "unit": [3, 3], "rank": [0, 1],
                  "smiles": ["Oc1ccccc1", "CCC"], "activation": [2.0, 1.5], "has_concept": [1.0, 0.0],
                  "auc": 0.95, "atoms": [[0], []]}).to_parquet(tmp_path / "examples.parquet")  # fmt: skip
    out = tmp_path / "report/probes"
    assert main(["report", "probes", "--model", "snn", "--probes", str(tmp_path / "probes.parquet"),
                 "--neurons", str(tmp_path / "neurons.parquet"), "--examples", str(tmp_path / "examples.parquet"),
                 "--output-dir", str(out)]) == 0  # fmt: skip
    _assert_outputs(out, "probes")
    svg = (out / "neurons.svg").read_text()
    from molprobe.reporting.pages import detector_legend

    row = pd.read_parquet(tmp_path / "examples.parquet").iloc[0].to_dict()
    assert detector_legend(row) == "OH · l1 unit 3: 2.00 (+) AUC 0.95"  # RDKit draws text as paths
    assert "#FF9933" in svg.upper()  # the hydroxyl oxygen of phenol is highlighted
    assert "most selective concept" in json.loads((out / "headline.json").read_text())["lines"][0]

    grads = pd.DataFrame([("snn", 3, layer, step, 0, 10.0 ** (-(2 - layer) * step / 10), 1.0, 0.5) for layer in range(3)
                          for step in (0, 10)],
                         columns=["arch", "depth", "layer", "step", "seed", "grad_norm_weight", "grad_norm_input", "loss"])  # fmt: skip
    grads.to_parquet(tmp_path / "gradients.parquet")
    pd.DataFrame({"arch": ["lstm"], "group": ["all"], "slope": [-0.05]}).to_parquet(
        tmp_path / "credit.parquet"
    )
    out = tmp_path / "report/dynamics"
    assert main(["report", "dynamics", "--gradients", str(tmp_path / "gradients.parquet"),
                 "--lstm-credit", str(tmp_path / "credit.parquet"), "--output-dir", str(out)]) == 0  # fmt: skip
    _assert_outputs(out, "dynamics")
    assert (out / "lstm_credit.png").is_file()
    assert "0.01× that at the output" in json.loads((out / "headline.json").read_text())["lines"][0]

    rng = np.random.default_rng(0)
    hits = pd.DataFrame({"row": range(200), "smiles": ["CCO"] * 200, "score": rng.random(200)})
    hits.to_parquet(tmp_path / "hits.parquet")
    top = hits.nlargest(3, "score").assign(smiles=SMILES[:3], std_smiles=SMILES[:3], A_std=0.05, ad_similarity=0.6,
                                           in_domain=[True, True, False], alerts=["", "aniline", ""],
                                           atom_weights=[json.dumps([0.1] * 7), None, None])  # fmt: skip
    top.to_csv(tmp_path / "hits.top.csv", index=False)
    out = tmp_path / "report/screen"
    assert main(["report", "screen", "--library", "lib", "--hits", str(tmp_path / "hits.parquet"),
                 "--top", str(tmp_path / "hits.top.csv"), "--output-dir", str(out)]) == 0  # fmt: skip
    _assert_outputs(out, "screen")
    assert "200 molecules scored" in json.loads((out / "headline.json").read_text())["lines"][0]
    assert "atom_weights" not in (out / "hits.csv").read_text()
