"""Helpers shared by the tests that run the workflow through a real single-node SLURM.

``scripts/slurm/local_slurm.sh`` installs Debian's slurm-wlm + munge when missing and starts
munged, slurmctld and slurmd from a temporary folder (fixture ``slurm_cluster`` in
``conftest.py``). Where SLURM cannot be installed or started (not root, no apt, daemons
refused) the tests are skipped with the script's reason, unless ``MOLPROBE_REQUIRE_SLURM=1``
(CI, ``make test-cluster``), where that is a failure.

The local cluster has no accounting database, so job status is queried with ``squeue``
(``--slurm-status-command squeue``); see docs/cluster.md.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, REPO, data_required, require_mirror

SCRIPT = REPO / "scripts" / "slurm" / "local_slurm.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
REQUIRE = os.environ.get("MOLPROBE_REQUIRE_SLURM", "") not in ("", "0")
# Flags added to the profile for the test cluster: it has no accounting (no sacct), and the
# first status check after 2 s instead of 40 s keeps the run short. Successful jobs' SLURM
# logs are kept so the test can read them.
SLURM_TEST_FLAGS = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
)
# A slice of the test config that exercises each kind of request: the data stage, a neural
# model (asks for a GPU) and a scikit-learn baseline (does not). The whole test config is
# ~70 jobs, too many for a few minutes on a 2-core machine.
TARGETS = (
    "results/tox21/data/molecules.parquet",
    "results/tox21/splits/random/seed0.json",
    "results/tox21/splits/scaffold/seed0.json",
    "results/tox21/features/ecfp.npz",
    "results/tox21/features/graph.pt",
    "results/tox21/models/snn/random/seed0/metrics.json",
    "results/tox21/models/rf/random/seed0/metrics.json",
)


def unavailable(reason: str):
    """Skip, or fail when the cluster test is required (CI)."""
    if REQUIRE:
        pytest.fail(f"MOLPROBE_REQUIRE_SLURM is set but {reason}")
    pytest.skip(reason)


def mirror_path() -> Path:
    """The dataset mirror; required whenever the cluster test is (checked first) or data is."""
    return require_mirror(required=REQUIRE or data_required())


def cluster_profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def resource(value, attempt: int = 1):
    """A profile resource value: a number or an expression in ``attempt`` (e.g. ``8000 * attempt``)."""
    if isinstance(value, str):
        return eval(value, {"__builtins__": {}}, {"attempt": attempt})  # profile text, ours
    return value


def node_size_for_profile(profile: dict) -> tuple[int, int]:
    """CPUs and MB that the test node must advertise so every request of the profile fits."""
    attempts = int(profile.get("retries", 0)) + 1
    rules = [profile.get("default-resources", {}), *profile.get("set-resources", {}).values()]
    cpus = [int(t) for t in profile.get("set-threads", {}).values()]
    cpus += [r["cpus_per_task"] for r in rules if isinstance(r.get("cpus_per_task"), int)]
    mem = [int(resource(r["mem_mb"], attempts)) for r in rules if "mem_mb" in r]
    return max(cpus + [1]), max(mem + [1000])


def checkout(dest: Path) -> Path:
    """Copy what a fresh clone holds for the workflow into ``dest``."""
    dest.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow")
    shutil.copytree(REPO / "config", dest / "config")
    return dest


def clean_env(mirror: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MOLPROBE_MIRROR"] = str(mirror)
    return env


def snakemake(
    workdir: Path,
    env: dict[str, str],
    *args: str,
    targets: tuple[str, ...] = TARGETS,
    configfiles: tuple[str, ...] = ("config/test.yaml",),
    timeout: int = 600,
):
    """Run Snakemake in ``workdir`` on ``targets`` with the given config files and flags."""
    cmd = [str(BIN / "snakemake"), "--configfile", *configfiles, *args, *targets]
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


def tail(path: Path, n: int = 20) -> str:
    if not path.is_file():
        return ""
    return "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def slurm_jobs(env: dict[str, str], run_id: str) -> dict[str, dict[str, str]]:
    """``scontrol show job`` of every job this run submitted (they share the run id as name)."""
    out = subprocess.run(
        ["scontrol", "-o", "show", "job"], env=env, capture_output=True, text=True, check=True
    ).stdout
    jobs = {}
    for line in out.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("JobName") == run_id:
            jobs[fields["JobId"]] = fields
    return jobs
