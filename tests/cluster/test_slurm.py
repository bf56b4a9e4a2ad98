"""The SLURM profile against a real single-node SLURM on localhost.

A slice of the small test config (``TARGETS`` in ``local_cluster.py``) runs twice: once with
``--profile workflow/profiles/slurm`` (every job through ``sbatch``, on the session's
``slurm_cluster``) and once locally with the workstation profile (``local_run``); the results
must agree. The tests marked ``cluster`` need that SLURM; the two profile checks at the end do
not (fast). Run with ``make test-cluster`` (``pytest -m cluster``); ``local_cluster.py`` says
when they skip and when they fail instead.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from tests.cluster.local_cluster import (
    SLURM_TEST_FLAGS,
    checkout,
    clean_env,
    cluster_profile,
    resource,
    slurm_jobs,
    snakemake,
    tail,
    unavailable,
)
from tests.conftest import BIN

DATA_STAGE = {"data", "splits", "features"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    """The test config run through SLURM with the cluster profile (jobs from the profile)."""
    cluster_dir, env = slurm_cluster
    workdir = checkout(tmp_path_factory.mktemp("slurm") / "wf")
    proc = snakemake(workdir, env, "--profile", "workflow/profiles/slurm", *SLURM_TEST_FLAGS)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:] + tail(cluster_dir / "log" / "slurmctld.log")
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    return workdir, env, log, run_id, cluster_dir


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
    jobs = slurm_jobs(env, run_id)
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
    profile = cluster_profile()
    defaults = profile.get("default-resources", {})
    for slurm_id, job in slurm_jobs(env, run_id).items():
        rule = _rule_of(job)
        wanted = {**defaults, **profile.get("set-resources", {}).get(rule, {})}
        where = f"SLURM job {slurm_id} (rule {rule})"
        assert _megabytes(job["MinMemoryNode"]) == resource(wanted["mem_mb"]), where
        assert int(job["TimeLimit"].split(":")[0]) * 60 + int(
            job["TimeLimit"].split(":")[1]
        ) == resource(wanted["runtime"]), where
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
    proc = snakemake(workdir, env, "--profile", "workflow/profiles/slurm", "-n", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr


# --- the profile itself: fast, no SLURM needed ---------------------------------------------


def test_profile_names_only_rules_that_exist(tmp_path):
    """Snakemake silently ignores set-resources/set-threads for unknown rules: catch typos."""
    workdir = checkout(tmp_path / "wf")
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--list-rules"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rules = set(proc.stdout.split())
    profile = cluster_profile()
    named = set(profile.get("set-resources", {})) | set(profile.get("set-threads", {}))
    assert named <= rules, f"not rules of the workflow: {sorted(named - rules)}"
    # every rule that gets extra threads is also given the CPUs for them
    assert set(profile["set-threads"]) <= set(profile["set-resources"])


def test_profile_dry_run_resolves_on_the_default_config(tmp_path, mirror):
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        unavailable("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    workdir = checkout(tmp_path / "wf")
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--profile", "workflow/profiles/slurm", "-n"],
        cwd=workdir,
        env=clean_env(mirror),
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
