"""An interrupted workflow run, rerun, completes only what is missing and gives the same
outputs as an uninterrupted run (CPU training is repeatable for a fixed seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pandas as pd
import pytest

from tests.conftest import BIN
from tests.workflow.conftest import checkout, snakemake, workflow_env

pytestmark = pytest.mark.slow

TARGETS = [
    f"results/tox21/models/{m}/random/seed0/{f}"
    for m in ("snn", "rf", "gine")
    for f in ("metrics.json", "predictions.parquet")
]


def _untimed(d):
    if isinstance(d, dict):
        return {k: _untimed(v) for k, v in d.items() if "second" not in k and k != "device"}
    return d


def test_killed_run_resumes_to_identical_outputs(tmp_path, mirror, workflow_run):
    reference, _ = workflow_run
    checkout(tmp_path)
    env = workflow_env(mirror)
    cmd = [str(BIN / "snakemake"), "--cores", "2", "--configfile", "config/test.yaml",
           "--workflow-profile", "workflow/profiles/default", *TARGETS]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    features = tmp_path / "results/tox21/features/ecfp.npz"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not features.exists():
        time.sleep(0.2)
    assert features.exists(), "the run never reached featurization"
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and every job it started
    proc.wait()
    finished = [t for t in TARGETS if (tmp_path / t).exists()]
    assert len(finished) < len(TARGETS), "the run finished before it could be interrupted"

    # a SIGKILL leaves Snakemake's lock behind: the documented recovery is --unlock, then rerun
    unlock = snakemake(tmp_path, env, "--unlock", *TARGETS)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = snakemake(tmp_path, env, *TARGETS)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-5000:]
    log = rerun.stdout + rerun.stderr
    assert "rule standardize:" not in log and "rule fetch:" not in log  # finished jobs kept
    for target in TARGETS:
        a, b = tmp_path / target, reference / target
        if target.endswith(".json"):
            assert _untimed(json.loads(a.read_text())) == _untimed(json.loads(b.read_text())), (
                target
            )
        else:
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    again = snakemake(tmp_path, env, "-n", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr
