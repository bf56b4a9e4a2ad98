"""The shortcut audit on real tiny models (trained with `molprobe train` in seconds): output
files, a planted size shortcut flagged by the trivial baseline, and the randomized-label
control (AUC near 0.5 with shuffled labels, clearly above with real labels)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from molprobe.cli import main
from molprobe.cli.shortcuts import OUTPUT_TABLES, load_cached_features, load_runs, register
from molprobe.shortcuts import permuted
from molprobe.training.metrics import weighted_roc_auc

pytestmark = pytest.mark.slow

TASKS = ["NR-AhR", "SR-MMP"]
PLANTED = "big"  # label = the standardized molecule has more than 20 heavy atoms


def _run(*argv: str) -> None:
    assert main(list(argv)) == 0


def _shortcuts(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["shortcuts", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, tox21_path) -> Path:
    """results/{dataset}-shaped folder: 500 Tox21 rows + a planted size task, random and
    scaffold splits, cached ECFP + graphs, an SNN / GINE / RF on the random split and an SNN
    on the scaffold split."""
    d = tmp_path_factory.mktemp("tox") / "tox"
    for sub in ("data", "features", "splits/random", "splits/scaffold"):
        (d / sub).mkdir(parents=True)
    raw = d / "raw.csv"
    pd.read_csv(tox21_path, nrows=500)[["smiles", *TASKS]].to_csv(raw, index=False)
    mols_path = d / "data" / "molecules.parquet"
    _run("standardize", str(raw), "--output", str(mols_path), "--rejected",
         str(d / "data" / "rejected.csv"), "--summary", str(d / "data" / "standardize.json"))  # fmt: skip
    mols = pd.read_parquet(mols_path)
    heavy = mols["smiles"].map(lambda s: Chem.MolFromSmiles(s).GetNumHeavyAtoms())
    mols[PLANTED] = (heavy > 20).astype(float)
    mols.to_parquet(mols_path, index=False)
    for method in ("random", "scaffold"):
        _run("split", str(mols_path), "--method", method, "--seed", "0",
             "--fractions", "0.7", "0.1", "0.2",
             "--output", str(d / "splits" / method / "seed0.json"))  # fmt: skip
    _run("featurize", str(mols_path), "-f", "ecfp", "--output", str(d / "features" / "ecfp.npz"))
    _run("featurize", str(mols_path), "-f", "graph", "--output", str(d / "features" / "graph.pt"))
    for model, split, feats, extra in (
        (
            "snn",
            "random",
            "ecfp.npz",
            ["--epochs", "8", "--params", "n_layers=2", "width=64", "lr=1e-3"],
        ),
        (
            "snn",
            "scaffold",
            "ecfp.npz",
            ["--epochs", "8", "--params", "n_layers=2", "width=64", "lr=1e-3"],
        ),
        ("gine", "random", "graph.pt", ["--epochs", "2", "--params", "n_layers=2", "width=16"]),
        ("rf", "random", "ecfp.npz", ["--params", "n_estimators=30"]),
    ):
        _run("train", "--model", model, "--molecules", str(mols_path),
             "--split", str(d / "splits" / split / "seed0.json"),
             "--features", str(d / "features" / feats), "--bootstrap", "20",
             "--device", "cpu", "--output-dir", str(d / "models" / model / split / "seed0"),
             *extra)  # fmt: skip
    return d


@pytest.fixture(scope="module")
def audit(dataset) -> Path:
    out = dataset / "shortcuts"
    rc = _shortcuts("--dataset-dir", str(dataset), "--output-dir", str(out), "--top", "10",
                    "--permuted-epochs", "2", "--permuted-trees", "10",
                    "--counterion-molecules", "30", "--device", "cpu")  # fmt: skip
    assert rc == 0
    return out


def test_writes_every_table_plot_and_findings(audit, dataset):
    for name in OUTPUT_TABLES:
        assert (audit / f"{name}.parquet").is_file()
        png = audit / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    sim = pd.read_parquet(audit / "similarity_bins.parquet")
    assert set(sim["model"]) == {"snn", "gine", "rf"} and set(sim["split"]) == {
        "random",
        "scaffold",
    }
    whole = sim[(sim["bin"] == "all") & (sim["model"] == "rf")].set_index("task")["roc_auc"]
    metrics = json.loads((dataset / "models/rf/random/seed0/metrics.json").read_text())
    for t in metrics["test"]["tasks"]:
        assert whole[t["task"]] == pytest.approx(t["values"]["roc_auc"])
    binned = sim[sim["bin"] != "all"]
    per_run = binned.groupby(["model", "split", "task"])["n"].sum()
    totals = sim[sim["bin"] == "all"].set_index(["model", "split", "task"])["n"]
    assert (per_run == totals.loc[per_run.index]).all()  # every test molecule lands in a bin
    ions = pd.read_parquet(audit / "counterions.parquet")
    assert {"all_added", "sodium", "water"} <= set(ions["perturbation"])
    assert (ions.loc[ions["n"] > 0, "max_abs_shift"] >= 0).all()
    raw = ions[(ions["pipeline"] == "raw") & (ions["n"] > 0)]
    through = ions[(ions["pipeline"] == "standardized") & (ions["n"] > 0)]
    assert len(raw) == len(through) > 0
    assert raw["max_abs_shift"].max() > 0  # raw salt forms do move some prediction
    assert (through["max_abs_shift"] < 1e-6).all()  # the default recipe strips every fragment
    att = pd.read_parquet(audit / "attribution.parquet")
    assert set(att["model"]) == {"snn", "gine"}  # the forest has no attribution method
    assert set(att["control"]) == {"trained", "permuted"}
    assert att["alert_share"].dropna().between(0, 1).all()


def test_planted_size_task_is_flagged_by_the_trivial_baseline(audit):
    trivial = pd.read_parquet(audit / "trivial_baselines.parquet")
    big = trivial[(trivial["task"] == PLANTED) & (trivial["split"] == "random")].iloc[0]
    assert big["roc_auc"] > 0.95 and big["flagged"]
    assert big["best_descriptor"] in ("heavy_atoms", "mol_weight")
    findings = (audit / "findings.md").read_text()
    flags = findings.split("## Flags")[1].split("\n## ")[0]
    assert f"Trivial features: {PLANTED} (random split)" in flags
    for section in ("## Analog bias", "## Trivial-feature baselines", "## Counter-ion",
                    "## Attribution sanity", "## Randomized-label control"):  # fmt: skip
        assert section in findings


def test_permuted_label_control_is_near_chance_while_real_labels_are_not(dataset):
    mols = pd.read_parquet(dataset / "data" / "molecules.parquet")
    runs = load_runs(dataset, len(mols), models=["rf"], splits=["random"])
    run = runs[0]
    tasks = run.tasks
    Y = mols[tasks].to_numpy(dtype=np.float64)
    feats = permuted.model_inputs(
        run.loaded.meta, load_cached_features(dataset, ["ecfp"]), mols["smiles"].tolist()
    )
    t = tasks.index(PLANTED)
    test = run.rows["test"]
    y = Y[test, t]
    real = run.predictions[PLANTED].to_numpy()
    real_auc = weighted_roc_auc(y, real, np.ones((1, y.size)))[0]
    cfg = permuted.PermutedConfig(max_trees=20, bootstrap=50, device="cpu")
    aucs = []
    for k in range(5):
        model, result = permuted.train_permuted(run, feats, Y, cfg, permutation_seed=k)
        rows = permuted.permuted_rows(run, model, result, feats, Y, cfg)
        aucs.append(next(r["roc_auc"] for r in rows if r["task"] == PLANTED))
        assert next(r for r in rows if r["task"] == "mean")["trained_auc"] > 0.5
    assert abs(np.mean(aucs) - 0.5) < 0.1, aucs
    assert real_auc > 0.8 and real_auc > max(aucs) + 0.1, (real_auc, aucs)


def test_planted_control_through_the_cli_reaches_findings(dataset, tmp_path):
    """`molprobe shortcuts-planted` on the dataset's molecule table, then `molprobe shortcuts
    --planted`: findings.md and findings.csv list the planted models (with their number and
    interval) and not their clean twins."""
    import torch

    torch.set_num_threads(1)
    planted_dir = tmp_path / "planted"
    families = {"snn": {"features": ["ecfp"], "params": {"n_layers": 2, "width": 64,
                                                         "epochs": 8, "lr": 1e-3}},
                "rf": {"features": ["ecfp"], "params": {"n_estimators": 50}}}  # fmt: skip
    _run("shortcuts-planted", "--molecules", str(dataset / "data" / "molecules.parquet"),
         "--output-dir", str(planted_dir), "--task", "SR-MMP", "--n-molecules", "400",
         "--seeds", "0", "1", "2", "--families", json.dumps(families),
         "--featurizers", json.dumps({"ecfp": {"n_bits": 1024}}), "--device", "cpu")  # fmt: skip
    summary = pd.read_parquet(planted_dir / "planted_summary.parquet")
    assert (planted_dir / "planted.png").read_bytes()[:4] == b"\x89PNG"
    flagged = set(zip(summary.loc[summary["flagged"], "model"],
                      summary.loc[summary["flagged"], "condition"], strict=True))  # fmt: skip
    assert flagged == {("snn", "planted"), ("rf", "planted")}, summary.to_string()
    out = tmp_path / "audit"
    rc = _shortcuts("--dataset-dir", str(dataset), "--output-dir", str(out), "--families", "rf",
                    "--no-permuted", "--counterion-molecules", "10", "--device", "cpu",
                    "--planted", str(planted_dir / "planted_summary.parquet"))  # fmt: skip
    assert rc == 0
    table = pd.read_csv(out / "findings.csv")
    planted = table[table["check"] == "planted control"]
    assert set(planted["subject"]) == {"snn (planted, SR-MMP)", "rf (planted, SR-MMP)"}
    assert (planted["ci_low"] > 0.05).all() and (planted["value"] > planted["ci_low"]).all()
    text = (out / "findings.md").read_text()
    assert "## Planted ping-pong control" in text
    flags = text.split("## Flags")[1].split("\n## ")[0]
    assert "Planted ping-pong control: rf trained on the planted table" in flags
    assert "95% CI" in flags and "clean table" not in flags


def test_matched_twin_keeps_the_real_models_epochs_and_early_stopping(dataset):
    mols = pd.read_parquet(dataset / "data" / "molecules.parquet")
    run = load_runs(dataset, len(mols), models=["snn"], splits=["random"])[0]
    Y = mols[run.tasks].to_numpy(dtype=np.float64)
    feats = permuted.model_inputs(
        run.loaded.meta, load_cached_features(dataset, ["ecfp"]), mols["smiles"].tolist()
    )
    real = run.loaded.meta.train_config
    matched, result = permuted.train_permuted(run, feats, Y, permuted.PermutedConfig(seeds=1))
    for key in ("epochs", "patience", "lr", "batch_size", "lr_schedule"):
        assert matched.meta.train_config[key] == real[key], key
    assert 1 <= len(result.history) <= real["epochs"]
    rows = permuted.permuted_rows(run, matched, result, feats, Y, permuted.PermutedConfig())
    capped, capped_result = permuted.train_permuted(
        run, feats, Y, permuted.PermutedConfig(max_epochs=2)
    )
    assert capped.meta.train_config["epochs"] == 2 and len(capped_result.history) <= 2
    assert all(r["matched"] for r in rows) and {r["trained_epochs"] for r in rows} == {8}
