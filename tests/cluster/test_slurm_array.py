"""Library-scale screening through a real SLURM: the chunk jobs go out as ONE job array.

The models the screen needs (``screen.models`` of ``config/test.yaml`` on ``screen.split``)
are trained on this machine: the session's ``local_run`` already holds the SNN and the forest,
the GINE is added, and the MUV library (300 rows) is cut into ``N_CHUNKS`` (4) chunks. Only the
screen then goes through the session's ``slurm_cluster`` with
``--profile workflow/profiles/slurm --profile workflow/profiles/slurm-array``. Checked: one
``sbatch --array`` call holds every chunk job (SLURM's ``ArrayJobId``/``ArrayTaskId`` in
``scontrol`` and in the job-completion record, all COMPLETED, each chunk once); the gathered
table equals one local ``molprobe screen`` of the whole library with the same models (ids,
SMILES, flags exactly, floats to 1e-5; every input row scored or rejected); that call,
extrapolated to the profile's ``slurm-array-limit``, stays well under Linux's limit on one
argument (past it the plugin runs every task as the first one); a rerun has nothing to do.
Run with ``make test-cluster``.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.cluster.local_cluster import (
    SLURM_TEST_FLAGS,
    clean_env,
    cluster_profile,
    mirror_path,
    resource,
    slurm_jobs,
    snakemake,
    tail,
)
from tests.conftest import BIN, REPO

TEST_CONFIG = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
LIBRARY = "muv"
LIBRARY_ROWS = TEST_CONFIG["max_rows"]  # the fetch keeps the first max_rows rows
CHUNK_SIZE = 75  # 4 chunk jobs of 75 molecules: all fit on the test node at once
N_CHUNKS = -(-LIBRARY_ROWS // CHUNK_SIZE)
# the chunk size for this test; the final models (another 6 trainings) are not needed to test
# the submission: the screen takes the runs on `screen.split`, which local_run partly holds
OVERLAY = {"screen": {"chunk_size": CHUNK_SIZE}, "final": {"enabled": False}}
CONFIGS = ("config/test.yaml", "config/array.yaml")
ARRAY_PROFILES = ("--profile", "workflow/profiles/slurm", "--profile", "workflow/profiles/slurm-array")  # fmt: skip
HITS = f"results/tox21/screen/{LIBRARY}/hits.parquet"
# what the plugin (2.8.0) logs for each sbatch --array call and for each single submission
ARRAY_SUBMITTED = re.compile(
    r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)\."
    r" The individual task IDs are (\d+)-(\d+)\."
)
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+)")
# (--verbose) the sbatch call, whose --wrap carries the other tasks' commands (compressed)
SBATCH_CALL = re.compile(r"Submitting array job with sbatch call: (.*)$", re.M)
TASK_COMMANDS = re.compile(r"--slurm-jobstep-array-execs=(\S+)")
# Linux's limit on one argument (MAX_ARG_STRLEN, with its NUL): the plugin runs the call as
# `sh -c CALL`; a longer call fails with E2BIG and the plugin retries in "script mode"
ARG_LIMIT = 131072
ARRAY_PROFILE = REPO / "workflow" / "profiles" / "slurm-array" / "config.yaml"


def _screen_models() -> list[str]:
    """meta.json of every member of the test config's screening ensemble (runs on screen.split)."""
    split = TEST_CONFIG["screen"]["split"]
    return [
        f"results/tox21/models/{model}/{split}/seed{seed}/meta.json"
        for model in TEST_CONFIG["screen"]["models"]
        for seed in TEST_CONFIG["splits"]["seeds"]
    ]


@pytest.fixture(scope="module")
def array_run(slurm_cluster, local_run, tmp_path_factory):
    """Models and chunks made locally, then the screen through SLURM with the array profile."""
    cluster_dir, env = slurm_cluster
    workdir = tmp_path_factory.mktemp("array") / "wf"
    shutil.copytree(local_run, workdir, symlinks=True)  # keeps mtimes: nothing is redone
    (workdir / "config" / "array.yaml").write_text(yaml.safe_dump(OVERLAY))
    local_env = clean_env(mirror_path())
    prep = snakemake(
        workdir,
        local_env,
        "--cores",
        "2",
        "--workflow-profile",
        "workflow/profiles/default",
        targets=(*_screen_models(), f"results/libraries/{LIBRARY}/chunks.json"),
        configfiles=CONFIGS,
    )
    prep_log = prep.stdout + prep.stderr
    assert prep.returncode == 0, prep_log[-6000:]
    # the SNN and the forest of local_run are reused (the time budget of the test relies on it)
    assert not re.search(r"model=(snn|rf), split", prep_log), prep_log[-3000:]
    manifest = yaml.safe_load((workdir / f"results/libraries/{LIBRARY}/chunks.json").read_text())
    assert len(manifest["chunks"]) == N_CHUNKS

    start = time.monotonic()
    proc = snakemake(
        workdir,
        env,
        *ARRAY_PROFILES,
        *SLURM_TEST_FLAGS,
        "--verbose",  # logs the sbatch call
        targets=(HITS,),
        configfiles=CONFIGS,
    )
    seconds = time.monotonic() - start
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:] + tail(cluster_dir / "log" / "slurmctld.log")
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    chunks = [re.fullmatch(r"chunk-(\d+)\.csv\.gz", name).group(1) for name in manifest["chunks"]]
    print(f"array screen of {N_CHUNKS} chunks through SLURM: {seconds:.0f} s wall")
    return SimpleNamespace(
        workdir=workdir, env=env, log=log, run_id=run_id, cluster_dir=cluster_dir, chunks=chunks
    )


@pytest.fixture(scope="module")
def local_screen(array_run, tmp_path_factory) -> Path:
    """One ``molprobe screen`` of the whole library on this machine, no SLURM: the command
    that SLURM ran for a chunk (models, thresholds, device), on the uncut library file."""
    command = re.search(r"^Shell command: (molprobe screen --models .*)$", array_run.log, re.M)
    args = shlex.split(command.group(1).split(" > ")[0])[1:]
    output = tmp_path_factory.mktemp("local_screen") / "hits.parquet"
    replace = {"--input": f"data/raw/{LIBRARY}.csv.gz", "--output": str(output)}
    replace |= {"--row-offset": "0", "--workers": "1"}
    for i, arg in enumerate(args[:-1]):
        if arg in replace:
            args[i + 1] = replace[arg]
    proc = subprocess.run(
        [str(BIN / "molprobe"), *args],
        cwd=array_run.workdir,
        env=clean_env(mirror_path()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return output


def _records(path: Path, run_id: str) -> list[dict[str, str]]:
    """SLURM's job-completion record (jobcomp/filetxt) of this run's jobs."""
    rows = [dict(re.findall(r"(\w+)=(\S*)", line)) for line in path.read_text().splitlines()]
    return [row for row in rows if row.get("Name") == run_id]


@pytest.mark.cluster
@pytest.mark.slow
def test_screen_chunks_went_to_slurm_as_one_array(array_run):
    log, run_id = array_run.log, array_run.run_id
    arrays = ARRAY_SUBMITTED.findall(log)
    assert len(arrays) == 1, log[-4000:]  # N_CHUNKS tasks < slurm-array-limit: one sbatch call
    ((snakemake_ids, array_id, first, last),) = arrays
    assert (int(first), int(last)) == (1, N_CHUNKS)
    assert len(snakemake_ids.split(",")) == N_CHUNKS
    assert not SUBMITTED.findall(log)  # nothing went out as a single job (gather is local)

    # slurmctld: one array job, a task per chunk, each with the profile's CPUs, all completed
    jobs = slurm_jobs(array_run.env, run_id).values()
    assert {job["ArrayJobId"] for job in jobs} == {array_id}
    assert sorted(int(job["ArrayTaskId"]) for job in jobs) == list(range(1, N_CHUNKS + 1))
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}
    assert {job["Comment"].split("_wildcards_")[0] for job in jobs} == {"rule_screen_chunk"}
    # every task gets the profile's request for the rule (the plugin takes the first job's)
    profile = cluster_profile()
    wanted = profile["set-resources"]["screen_chunk"]
    assert {int(job["NumCPUs"]) for job in jobs} == {profile["set-threads"]["screen_chunk"]}
    assert {job["TimeLimit"] for job in jobs} == {f"{resource(wanted['runtime']) // 60:02d}:00:00"}
    # --mem: the request plus the plugin's "memory fudge" for the task list it passes (< 1 %)
    mem = {int(job["MinMemoryNode"].removesuffix("M")) for job in jobs}
    assert len(mem) == 1 and 0 <= mem.pop() - resource(wanted["mem_mb"]) < 80, jobs

    # SLURM's own job-completion record says the same
    records = _records(array_run.cluster_dir / "log" / "jobcomp.txt", run_id)
    assert {(r["ArrayJobId"], r["JobState"]) for r in records} == {(array_id, "COMPLETED")}
    assert sorted(int(r["ArrayTaskId"]) for r in records) == list(range(1, N_CHUNKS + 1))

    # each task's SLURM log (%A_%a.log): the job step that ran the shell command of one chunk
    # (`localrule screen_chunk`, inside the plugin's srun) and finished it; every chunk once
    logdir = array_run.workdir / ".snakemake" / "slurm_logs" / "rule_screen_chunk"
    ran = re.compile(rf"^localrule screen_chunk:\n\s+input: results/libraries/{LIBRARY}/chunks/chunk-(\d+)", re.M)  # fmt: skip
    done = []
    for task in range(1, N_CHUNKS + 1):
        text = (logdir / f"{array_id}_{task}.log").read_text()
        assert len(ran.findall(text)) == 1, text[-3000:]
        done += ran.findall(text)
        assert "Finished jobid: 0 (Rule: screen_chunk)" in text, text[-3000:]
    assert sorted(done) == sorted(array_run.chunks)


@pytest.mark.cluster
@pytest.mark.slow
def test_array_limit_keeps_each_sbatch_call_under_the_argument_limit(array_run):
    """The plugin (2.8.0) passes every task's command on one sbatch command line. Past
    ARG_LIMIT it falls back to a batch script in which every task runs the FIRST task's job
    and the others fail (shown on this cluster, docs/cluster.md), so `slurm-array-limit` must
    keep a full array call short: extrapolated from this call, with a 25 % margin."""
    (call,) = SBATCH_CALL.findall(array_run.log)
    per_task = len(TASK_COMMANDS.search(call).group(1)) / (N_CHUNKS - 1)
    assert 500 < per_task < 5000, per_task  # bytes per task (compressed, base64)
    limit = int(yaml.safe_load(ARRAY_PROFILE.read_text())["slurm-array-limit"])
    assert len(call) + per_task * (limit - N_CHUNKS) < 0.75 * ARG_LIMIT, (len(call), per_task)
    assert "exceeds argument-length limits" not in array_run.log


@pytest.mark.cluster
@pytest.mark.slow
def test_array_hits_equal_a_local_screen(array_run, local_screen):
    gathered = pd.read_parquet(array_run.workdir / HITS)
    local = pd.read_parquet(local_screen)
    rejected = pd.read_csv(str(array_run.workdir / HITS).replace(".parquet", ".rejected.csv"))
    local_rejected = pd.read_csv(str(local_screen).replace(".parquet", ".rejected.csv"))
    # every input row accounted for: scored or rejected, once
    rows = np.concatenate([gathered["row"].to_numpy(), rejected["row"].to_numpy()])
    assert sorted(rows) == list(range(LIBRARY_ROWS))
    pd.testing.assert_frame_equal(rejected, local_rejected)

    assert list(gathered.columns) == list(local.columns)
    assert len(gathered) > 0.9 * LIBRARY_ROWS
    floats = [c for c in gathered.columns if pd.api.types.is_float_dtype(gathered[c])]
    assert "score" in floats and len(floats) > 12  # tasks, their spread, score, AD similarity
    exact = [c for c in gathered.columns if c not in floats]
    assert {"row", "smiles", "std_smiles", "in_domain", "alerts"} <= set(exact)
    pd.testing.assert_frame_equal(gathered[exact], local[exact])
    pd.testing.assert_frame_equal(
        gathered[floats], local[floats], check_exact=False, rtol=0, atol=1e-5
    )


@pytest.mark.cluster
@pytest.mark.slow
def test_array_rerun_has_nothing_to_do(array_run):
    proc = snakemake(
        array_run.workdir,
        array_run.env,
        *ARRAY_PROFILES,
        *SLURM_TEST_FLAGS,
        "-n",
        targets=(HITS,),
        configfiles=CONFIGS,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr
