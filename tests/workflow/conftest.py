"""One real workflow run on the small test config, shared by the end-to-end tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO


def checkout(dest: Path) -> None:
    """Copy what a fresh clone holds for the workflow into ``dest``."""
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow")
    shutil.copytree(REPO / "config", dest / "config")


def snakemake(workdir: Path, env: dict, *extra: str, timeout: int = 1200):
    cmd = [str(BIN / "snakemake"), "--cores", "2", "--configfile", "config/test.yaml",
           "--workflow-profile", "workflow/profiles/default", *extra]  # fmt: skip
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


def workflow_env(mirror: Path) -> dict:
    return dict(
        os.environ,
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        MOLPROBE_MIRROR=str(mirror),
    )


def screen_three(workdir: Path, env: dict, model_dir: Path):
    """`molprobe screen` of three small molecules with the model in ``model_dir``: the
    finished process and the hit table (None when it failed)."""
    import pandas as pd

    lib = workdir / "lib.csv"
    lib.write_text("smiles,mol_id\nCCO,a\nc1ccccc1O,b\nClc1ccc(Cl)cc1,c\n")
    out = workdir / "hits.parquet"
    proc = subprocess.run(
        [str(BIN / "molprobe"), "screen", "--models", str(model_dir), "--input", str(lib),
         "--output", str(out), "--workers", "1", "--no-progress", "--device", "cpu"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return proc, pd.read_parquet(out) if proc.returncode == 0 else None


@pytest.fixture(scope="session")
def workflow_run(tmp_path_factory, mirror):
    """(workdir, env) after `snakemake` ran every default target of config/test.yaml."""
    workdir = tmp_path_factory.mktemp("wf")
    checkout(workdir)
    env = workflow_env(mirror)
    proc = snakemake(workdir, env)
    log = workdir / "snakemake-run.log"
    log.write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    return workdir, env


@pytest.fixture(scope="session")
def report_html(workflow_run) -> Path:
    """The self-contained HTML report of that run."""
    workdir, env = workflow_run
    rep = snakemake(workdir, env, "--report", "report.html")
    assert rep.returncode == 0, rep.stdout[-4000:] + rep.stderr[-8000:]
    path = workdir / "report.html"
    assert path.is_file() and path.stat().st_size > 100_000
    return path
