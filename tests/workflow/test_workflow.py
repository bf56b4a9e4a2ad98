"""End to end: the real Snakemake workflow on a 300-molecule Tox21 subsample."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from tests.conftest import BIN, REPO

pytestmark = pytest.mark.slow


def _checkout(dest):
    """Copy what a fresh clone holds for the workflow into ``dest``."""
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow")
    shutil.copytree(REPO / "config", dest / "config")


def _snakemake(workdir, env, *extra):
    cmd = [
        str(BIN / "snakemake"),
        "--cores",
        "2",
        "--configfile",
        "config/test.yaml",
        "--workflow-profile",
        "workflow/profiles/default",
        *extra,
    ]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory, mirror):
    import os

    workdir = tmp_path_factory.mktemp("wf")
    _checkout(workdir)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env["MOLPROBE_MIRROR"] = str(mirror)
    proc = _snakemake(workdir, env)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    return workdir, env


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
    proc = _snakemake(workdir, env, "-n")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr
