"""Fixtures of the SLURM tests: one local cluster for the whole session, and the slice of
the test config (``TARGETS``) run on this machine, which both the cluster-profile test
(``test_slurm.py``) and the job-array test (``test_slurm_array.py``) compare against."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.cluster.local_cluster import (
    SCRIPT,
    checkout,
    clean_env,
    cluster_profile,
    mirror_path,
    node_size_for_profile,
    snakemake,
    unavailable,
)


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node SLURM; yields its folder and the environment to reach it.
    The daemons are stopped (and the folder deleted) when the session ends.

    Takes no ``mirror`` fixture: that one would skip before MOLPROBE_REQUIRE_SLURM is read.
    """
    mirror = mirror_path()
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    if shutil.which("slurmctld") is None and os.geteuid() != 0:
        unavailable("SLURM is not installed and installing it with apt-get needs root")
    cpus, mem_mb = node_size_for_profile(cluster_profile())
    # A short path: munge's socket path must stay under the 108-byte limit of unix sockets.
    cluster_dir = Path(tempfile.mkdtemp(prefix="molprobe-slurm-"))
    env = clean_env(mirror)
    # room for two of the biggest jobs side by side (oversubscribed on a small machine)
    env["LOCAL_SLURM_CPUS"] = str(max(2 * cpus, os.cpu_count() or 1))
    env["LOCAL_SLURM_MEM_MB"] = str(mem_mb)
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(cluster_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if started.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop", str(cluster_dir)], env=env, timeout=120)
        lines = [ln for ln in started.stderr.splitlines() if "error" in ln] or [started.stderr]
        unavailable(f"local SLURM did not start (exit {started.returncode}): {lines[-1][-400:]}")
    env["SLURM_CONF"] = str(cluster_dir / "slurm.conf")
    # the wrappers in bin/ pin SLURM_CONF for the `srun` that the plugin's job step calls
    env["PATH"] = f"{cluster_dir / 'bin'}{os.pathsep}{env['PATH']}"
    try:
        yield cluster_dir, env
    finally:
        stop = subprocess.run(
            ["bash", str(SCRIPT), "stop", str(cluster_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert stop.returncode == 0, stop.stderr


@pytest.fixture(scope="session")
def local_run(tmp_path_factory):
    """The slice of the test config run on this machine with the workstation profile."""
    mirror = mirror_path()
    workdir = checkout(tmp_path_factory.mktemp("local") / "wf")
    env = clean_env(mirror)
    proc = snakemake(
        workdir, env, "--cores", "2", "--workflow-profile", "workflow/profiles/default"
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return workdir
