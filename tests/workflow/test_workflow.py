"""End to end: the real Snakemake workflow on a 300-molecule Tox21 subsample."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from tests.workflow.conftest import snakemake

pytestmark = pytest.mark.slow


def test_data_stage_reconciles(workflow_run):
    workdir, _ = workflow_run
    data = workdir / "results/tox21/data"
    summary = json.loads((data / "standardize.json").read_text())
    molecules = pd.read_parquet(data / "molecules.parquet")
    rejected = pd.read_csv(data / "rejected.csv")
    assert summary["n_in"] == 300
    assert summary["n_kept"] == len(molecules)
    assert summary["n_rejected"] == len(rejected)
    assert summary["n_in"] == summary["n_kept"] + summary["n_rejected"] + summary["n_merged"]
    assert {"mol_id", "input_smiles", "smiles", "NR-AR", "SR-p53"} <= set(molecules.columns)
    assert molecules["smiles"].is_unique


def test_splits_partition_the_molecules(workflow_run):
    workdir, _ = workflow_run
    n = len(pd.read_parquet(workdir / "results/tox21/data/molecules.parquet"))
    for method in ("random", "scaffold"):
        split = json.loads((workdir / f"results/tox21/splits/{method}/seed0.json").read_text())
        parts = [np.asarray(split[k]) for k in ("train", "valid", "test")]
        joined = np.concatenate(parts)
        assert len(joined) == n and len(np.unique(joined)) == n
        assert all(len(p) > 0 for p in parts)


def test_features_align_with_molecules(workflow_run):
    workdir, _ = workflow_run
    n = len(pd.read_parquet(workdir / "results/tox21/data/molecules.parquet"))
    with np.load(workdir / "results/tox21/features/ecfp.npz") as ecfp:
        assert ecfp["X"].shape == (n, 2048)


def test_rerun_has_nothing_to_do(workflow_run):
    workdir, env = workflow_run
    proc = snakemake(workdir, env, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


MODELS = ["snn", "fnn_bn", "gine", "attentivefp", "rf", "lstm", "logreg"]


def test_every_model_family_trained_and_compared(workflow_run):
    workdir, _ = workflow_run
    for model in MODELS:
        for split in ("random", "scaffold"):
            run = workdir / f"results/tox21/models/{model}/{split}/seed0"
            metrics = json.loads((run / "metrics.json").read_text())
            auc = metrics["test"]["mean"]["roc_auc"]
            meta = json.loads((run / "meta.json").read_text())
            assert meta["model_name"] == model and len(meta["task_names"]) == 12
            preds = pd.read_parquet(run / "predictions.parquet")
            assert len(preds) == metrics["split"]["n_test"]
            # the reported AUC is sklearn's on the written predictions (tasks with both classes)
            aucs = []
            for task in meta["task_names"]:
                seen = preds[preds[f"{task}_true"].notna()]
                if seen[f"{task}_true"].nunique() == 2:
                    aucs.append(roc_auc_score(seen[f"{task}_true"], seen[task]))
            assert auc == pytest.approx(np.mean(aucs), abs=1e-9), (model, split)
    table = pd.read_csv(workdir / "results/tox21/comparison.csv")
    assert set(MODELS) <= set(table.astype(str).to_numpy().ravel())


def test_depth_experiment_table(workflow_run):
    workdir, _ = workflow_run
    depth = pd.read_csv(workdir / "results/tox21/depth/depth.csv")
    assert set(depth["family"]) == {"snn", "fnn_bn"} and set(depth["depth"]) == {2, 8}
    assert depth["mean"].between(0, 1).all()


def test_dynamics_tables(workflow_run):
    workdir, _ = workflow_run
    grads = pd.read_parquet(workdir / "results/dynamics/gradients.parquet")
    assert {"arch", "depth", "layer", "step", "seed", "grad_norm_weight"} <= set(grads.columns)
    assert set(grads["arch"]) >= {
        "sigmoid",
        "tanh",
        "relu",
        "relu_bn",
        "selu",
        "highway",
        "residual",
    }
    credit = pd.read_parquet(workdir / "results/dynamics/lstm_credit.parquet")
    assert {"arch", "position", "credit_share"} <= set(credit.columns)
    assert set(credit["arch"]) >= {"lstm", "rnn"}


def test_probes_cover_every_layer_and_level(workflow_run):
    workdir, _ = workflow_run
    for model in ("snn", "gine"):
        probes = pd.read_parquet(workdir / f"results/tox21/probes/{model}/probes.parquet")
        assert {"layer", "level", "concept", "auc", "gain"} <= set(probes.columns)
        assert probes["layer"].nunique() >= 3  # input + hidden layers
        assert set(probes["level"]) == {
            0,
            1,
            2,
            3,
        }  # alerts (own family), groups, centres, arrangements
        verdict = (workdir / f"results/tox21/probes/{model}/verdict.md").read_text()
        assert verdict.startswith(f"# Probing verdict: {model}\n")
        assert re.search(rf"\n{model}: the ordering .+ (holds|does not hold)", verdict), verdict


def test_screening_library_reconciles(workflow_run):
    workdir, _ = workflow_run
    screen = workdir / "results/tox21/screen/muv"
    hits = pd.read_parquet(screen / "hits.parquet")
    rejected = pd.read_csv(screen / "hits.rejected.csv", keep_default_na=False)
    assert len(hits) + len(rejected) == 300
    assert sorted(hits["row"].tolist() + rejected["row"].tolist()) == list(range(300))
    assert {"NR-AR", "NR-AR_std", "ad_similarity", "in_domain", "alerts"} <= set(hits.columns)
    top = pd.read_csv(screen / "hits.top.csv")
    assert len(top) == 20 and top["score"].is_monotonic_decreasing
    chunks = sorted((workdir / "results/libraries/muv/chunks").glob("chunk-*.csv.gz"))
    assert len(chunks) == 3  # 300 rows in chunks of 120


def test_shortcut_audit_written(workflow_run):
    workdir, _ = workflow_run
    out = workdir / "results/tox21/shortcuts"
    for name in (
        "similarity_bins",
        "trivial_baselines",
        "counterions",
        "attribution",
        "permuted_labels",
    ):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.png").is_file()
    permuted = pd.read_parquet(out / "permuted_labels.parquet")
    assert len(permuted) > 0
    findings = (out / "findings.md").read_text()
    assert findings.startswith("# Shortcut audit: tox21") and "\n## Flags\n" in findings
    # the randomized-label section names every model that was retrained on shuffled labels
    section = findings.split("## Randomized-label control")[1]
    assert all(f"**{m}**" in section for m in set(permuted["model"]))
