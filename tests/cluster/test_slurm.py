"""The SLURM profile against a real single-node SLURM on localhost.

``scripts/slurm/local_slurm.sh`` installs Debian's slurm-wlm + munge when missing and starts
munged, slurmctld and slurmd from a temporary folder. A slice of the small test config
(``TARGETS``) then runs twice: once with ``--profile workflow/profiles/slurm`` (every job
through ``sbatch``) and once locally with the workstation profile; the results must agree.
The tests marked ``cluster`` need that SLURM; the two profile checks at the end do not (fast).

Run with ``make test-cluster`` (``pytest -m cluster``). Where SLURM cannot be installed or
started (not root, no apt, daemons refused) the tests are skipped with the script's reason,
unless ``MOLPROBE_REQUIRE_SLURM=1`` (CI, ``make test-cluster``), where that is a failure.

The local cluster has no accounting database, so job status is queried with ``squeue``
(``--slurm-status-command squeue``); see docs/cluster.md.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from tests.conftest import BIN, REPO, data_required, require_mirror

# the tests that need a running SLURM; the profile checks at the end of this file do not

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
DATA_STAGE = {"data", "splits", "features"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


def _unavailable(reason: str):
    """Skip, or fail when the cluster test is required (CI)."""
    if REQUIRE:
        pytest.fail(f"MOLPROBE_REQUIRE_SLURM is set but {reason}")
    pytest.skip(reason)


def _mirror() -> Path:
    """The dataset mirror; required whenever the cluster test is (checked first) or data is."""
    return require_mirror(required=REQUIRE or data_required())


def _profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def _resource(value, attempt: int = 1):
    """A profile resource value: a number or an expression in ``attempt`` (e.g. ``8000 * attempt``)."""
    if isinstance(value, str):
        return eval(value, {"__builtins__": {}}, {"attempt": attempt})  # profile text, ours
    return value


def _node_size_for_profile(profile: dict) -> tuple[int, int]:
    """CPUs and MB that the test node must advertise so every request of the profile fits."""
    attempts = int(profile.get("retries", 0)) + 1
    rules = [profile.get("default-resources", {}), *profile.get("set-resources", {}).values()]
    cpus = [int(t) for t in profile.get("set-threads", {}).values()]
    cpus += [r["cpus_per_task"] for r in rules if isinstance(r.get("cpus_per_task"), int)]
    mem = [int(_resource(r["mem_mb"], attempts)) for r in rules if "mem_mb" in r]
    return max(cpus + [1]), max(mem + [1000])


def _checkout(dest: Path) -> Path:
    """Copy what a fresh clone holds for the workflow into ``dest``."""
    dest.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", dest / "Snakefile")
    shutil.copytree(REPO / "workflow", dest / "workflow")
    shutil.copytree(REPO / "config", dest / "config")
    return dest


def _clean_env(mirror: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MOLPROBE_MIRROR"] = str(mirror)
    return env


def _snakemake(workdir: Path, env: dict[str, str], *args: str, timeout: int = 600):
    cmd = [str(BIN / "snakemake"), "--configfile", "config/test.yaml", *args, *TARGETS]
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running single-node SLURM; yields its folder and the environment to reach it.

    Takes no ``mirror`` fixture: that one would skip before MOLPROBE_REQUIRE_SLURM is read.
    """
    mirror = _mirror()
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _unavailable("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    if shutil.which("slurmctld") is None and os.geteuid() != 0:
        _unavailable("SLURM is not installed and installing it with apt-get needs root")
    cpus, mem_mb = _node_size_for_profile(_profile())
    # A short path: munge's socket path must stay under the 108-byte limit of unix sockets.
    cluster_dir = Path(tempfile.mkdtemp(prefix="molprobe-slurm-"))
    env = _clean_env(mirror)
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
        _unavailable(f"local SLURM did not start (exit {started.returncode}): {lines[-1][-400:]}")
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


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    """The test config run through SLURM with the cluster profile (jobs from the profile)."""
    cluster_dir, env = slurm_cluster
    workdir = _checkout(tmp_path_factory.mktemp("slurm") / "wf")
    proc = _snakemake(workdir, env, "--profile", "workflow/profiles/slurm", *SLURM_TEST_FLAGS)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:] + _tail(cluster_dir / "log" / "slurmctld.log")
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    return workdir, env, log, run_id, cluster_dir


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The same config run on this machine with the workstation profile."""
    mirror = _mirror()
    workdir = _checkout(tmp_path_factory.mktemp("local") / "wf")
    env = _clean_env(mirror)
    proc = _snakemake(
        workdir, env, "--cores", "2", "--workflow-profile", "workflow/profiles/default"
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    return workdir


def _tail(path: Path, n: int = 20) -> str:
    if not path.is_file():
        return ""
    return "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def _slurm_jobs(env: dict[str, str], run_id: str) -> dict[str, dict[str, str]]:
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


def _megabytes(text: str) -> float:
    """scontrol's memory (``8000M``, ``62.50G``) in MB."""
    scale = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
    return round(float(text[:-1]) * scale[text[-1]]) if text[-1] in scale else float(text)


def _rule_of(job: dict[str, str]) -> str:
    """The rule name from the plugin's job comment ``rule_<name>[_wildcards_<...>]``."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


@pytest.mark.cluster
@pytest.mark.slow
def test_jobs_went_through_sbatch(slurm_run):
    workdir, env, log, run_id, cluster_dir = slurm_run
    submitted = {slurm_id for _, slurm_id in SUBMITTED.findall(log)}
    assert submitted, "snakemake reported no SLURM job ids:\n" + log[-3000:]

    # slurmctld knows every job by the run id, and each one completed
    jobs = _slurm_jobs(env, run_id)
    assert set(jobs) == submitted
    assert {job["JobState"] for job in jobs.values()} == {"COMPLETED"}
    assert {"standardize", "featurize", "train"} <= {_rule_of(j) for j in jobs.values()}

    # SLURM's own job-completion record (independent of squeue's MinJobAge window)
    record = (cluster_dir / "log" / "jobcomp.txt").read_text()
    completed = set(re.findall(r"JobId=(\d+) .*?JobState=COMPLETED", record))
    assert submitted <= completed

    # the plugin's per-job SLURM logs: .snakemake/slurm_logs/rule_<rule>/<wildcards>/<id>.log
    logs = {p.stem: p for p in (workdir / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert submitted <= set(logs)
    for slurm_id in submitted:
        assert "Finished jobid" in logs[slurm_id].read_text(), logs[slurm_id]


@pytest.mark.cluster
@pytest.mark.slow
def test_profile_requests_reach_slurm(slurm_run):
    """Each job got the CPUs, memory (and GPU) that the profile asks for its rule."""
    _, env, _, run_id, _ = slurm_run
    profile = _profile()
    defaults = profile.get("default-resources", {})
    for slurm_id, job in _slurm_jobs(env, run_id).items():
        rule = _rule_of(job)
        wanted = {**defaults, **profile.get("set-resources", {}).get(rule, {})}
        where = f"SLURM job {slurm_id} (rule {rule})"
        assert _megabytes(job["MinMemoryNode"]) == _resource(wanted["mem_mb"]), where
        assert int(job["TimeLimit"].split(":")[0]) * 60 + int(
            job["TimeLimit"].split(":")[1]
        ) == _resource(wanted["runtime"]), where
        threads = profile.get("set-threads", {}).get(rule)
        if threads is not None and "cpus_per_task" in wanted:
            assert int(job["NumCPUs"]) == threads, where
        model = re.search(r"_wildcards_tox21_([a-z_]+?)_(random|scaffold)_", job["Comment"])
        scope = {"attempt": 1, "wildcards": SimpleNamespace(model=model and model.group(1))}
        gpu = eval(str(wanted.get("gpu", 0)), {"__builtins__": {}}, scope)
        asks_gpu = gpu or "gpu" in str(wanted.get("gres", ""))
        # --gpus=1 shows as TresPerJob=gres:gpu:1, --gres=gpu:1 as TresPerNode=gres:gpu:1
        requested = job.get("TresPerJob", "") + job.get("TresPerNode", "")
        assert bool(asks_gpu) == ("gpu" in requested), f"{where}: {requested!r}"


def _untimed(value):
    """JSON without wall-clock fields (``seconds``, ``molecules_per_second``, ``*_time``...)."""
    if isinstance(value, dict):
        return {
            k: _untimed(v)
            for k, v in value.items()
            if not re.search(r"seconds|per_second|time|elapsed", k)
        }
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _same_file(a: Path, b: Path) -> None:
    if a.suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    elif a.suffix == ".npz":
        with np.load(a, allow_pickle=False) as x, np.load(b, allow_pickle=False) as y:
            assert sorted(x.files) == sorted(y.files), a
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{a}:{key}")
    elif a.suffix == ".pt":
        x, y = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
        assert x.keys() == y.keys(), a
        for key in x:
            if isinstance(x[key], torch.Tensor):
                assert torch.equal(x[key], y[key]), f"{a}:{key}"
            else:
                assert x[key] == y[key], f"{a}:{key}"
    elif a.suffix == ".json":
        assert _untimed(json.loads(a.read_text())) == _untimed(json.loads(b.read_text())), a
    elif a.suffix == ".gz":
        assert gzip.decompress(a.read_bytes()) == gzip.decompress(b.read_bytes()), a
    else:
        assert a.read_bytes() == b.read_bytes(), a


def _close_json(a, b, where: str) -> None:
    """Equal JSON, numbers within 1e-4 relative (training on other thread counts sums in another order)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _close_json(a[key], b[key], f"{where}:{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close_json(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-6, nan_ok=True), where
    else:
        assert a == b, where


@pytest.mark.cluster
@pytest.mark.slow
def test_outputs_equal_a_local_run(slurm_run, local_run):
    slurm_dir = slurm_run[0]

    def outputs(root: Path) -> set[Path]:
        files = {p.relative_to(root) for p in (root / "results").rglob("*") if p.is_file()}
        files |= {p.relative_to(root) for p in (root / "data").rglob("*") if p.is_file()}
        return {p for p in files if p.parts[:2] != ("results", "logs")}

    produced = outputs(slurm_dir)
    assert produced == outputs(local_run)
    # data stage: identical (byte for byte, or array for array)
    data_stage = [p for p in produced if p.parts[0] == "data" or p.parts[2] in DATA_STAGE]
    assert {p.name for p in data_stage} >= {"molecules.parquet", "ecfp.npz", "seed0.json"}
    for rel in sorted(data_stage):
        _same_file(slurm_dir / rel, local_run / rel)
    # models: the same metrics and predictions up to float summation order
    models = [p for p in produced if p.parts[2] == "models"]
    assert {p.name for p in models} >= {"metrics.json", "predictions.parquet"}
    for rel in sorted(models):
        a, b = slurm_dir / rel, local_run / rel
        if rel.name == "metrics.json":
            _close_json(
                _untimed(json.loads(a.read_text())), _untimed(json.loads(b.read_text())), str(rel)
            )
        elif rel.suffix == ".parquet":
            pd.testing.assert_frame_equal(
                pd.read_parquet(a), pd.read_parquet(b), check_exact=False, rtol=1e-4, atol=1e-6
            )


@pytest.mark.cluster
@pytest.mark.slow
def test_resume_has_nothing_to_do(slurm_run):
    workdir, env, *_ = slurm_run
    proc = _snakemake(workdir, env, "--profile", "workflow/profiles/slurm", "-n", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr


# --- the profile itself: fast, no SLURM needed ---------------------------------------------


def test_profile_names_only_rules_that_exist(tmp_path):
    """Snakemake silently ignores set-resources/set-threads for unknown rules: catch typos."""
    workdir = _checkout(tmp_path / "wf")
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--list-rules"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = set(proc.stdout.split())
    profile = _profile()
    named = set(profile.get("set-resources", {})) | set(profile.get("set-threads", {}))
    assert named <= rules, f"not rules of the workflow: {sorted(named - rules)}"
    # every rule that gets extra threads is also given the CPUs for them
    assert set(profile["set-threads"]) <= set(profile["set-resources"])


def test_profile_dry_run_resolves_on_the_default_config(tmp_path, mirror):
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _unavailable("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    workdir = _checkout(tmp_path / "wf")
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--profile", "workflow/profiles/slurm", "-n"],
        cwd=workdir,
        env=_clean_env(mirror),
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "This was a dry-run" in out
    # the GPU request follows the model: neural nets ask for one, the sklearn baselines do not
    jobs = re.findall(r"wildcards: dataset=\w+, model=(\w+), split=.*\n.*\n\s+resources: (.*)", out)
    assert jobs, "no train jobs in the dry run"
    for model, resources in jobs:
        gpu = re.search(r"gpu=(\d+)", resources).group(1)
        assert gpu == ("0" if model in ("rf", "logreg") else "1"), (model, resources)
