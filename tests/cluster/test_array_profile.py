"""The job-array profile for library-scale screening (``workflow/profiles/slurm-array``), by a
Snakemake dry run on a library of 2,000 chunks: no SLURM needed.

The dry run goes through the SLURM executor plugin's settings (an unknown ``slurm-array-*``
key is an error), lists one screen_chunk job per chunk with the profile's threads as
``--workers``, and a gather job whose command line stays short (it reads the chunk list from
the manifest; 10^4 paths would pass Linux's 128 KiB limit on one shell argument).
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import BIN, REPO

ARRAY = REPO / "workflow" / "profiles" / "slurm-array" / "config.yaml"
N_CHUNKS = 2000


def _plugin_settings() -> set[str]:
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.fail("snakemake-executor-plugin-slurm is not installed: pip install -e '.[slurm]'")
    from snakemake_executor_plugin_slurm import ExecutorSettings

    return {f.name for f in dataclasses.fields(ExecutorSettings)}


def test_array_profile_keys_are_known_and_cannot_strand_jobs():
    """Every slurm-* key is a setting of the installed plugin; nothing caps a scheduling
    round below the array size (the plugin drops jobs handed over in smaller batches)."""
    profile = yaml.safe_load(ARRAY.read_text())
    known = _plugin_settings()
    for key in (k for k in profile if k.startswith("slurm-")):
        assert key.removeprefix("slurm-").replace("-", "_") in known, key
    assert profile["slurm-array-jobs"] == "screen_chunk"
    assert profile["jobs"] == "unlimited"
    limit = int(profile["slurm-array-limit"])
    per_round = int(str(profile["max-jobs-per-timespan"]).split("/")[0])
    assert per_round >= 100 * limit and int(profile["cores"]) >= 1000 * limit


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> str:
    """``snakemake -n`` with the cluster + array profiles on a 2,000-chunk library."""
    _plugin_settings()
    wf = tmp_path_factory.mktemp("wf")
    shutil.copy(REPO / "Snakefile", wf / "Snakefile")
    shutil.copytree(REPO / "workflow", wf / "workflow")
    shutil.copytree(REPO / "config", wf / "config")
    raw = wf / "data" / "raw" / "muv.csv.gz"
    raw.parent.mkdir(parents=True)
    with gzip.open(raw, "wt") as fh:
        fh.write("smiles\nCCO\n")
    chunks = wf / "results" / "libraries" / "muv" / "chunks"
    chunks.mkdir(parents=True)  # the checkpoint's outputs, newer than its input
    names = [f"chunk-{i:05d}.csv.gz" for i in range(N_CHUNKS)]
    for name in names:
        (chunks / name).write_bytes(b"")
    (chunks.parent / "chunks.json").write_text(json.dumps({"chunks": names}))
    target = "results/tox21/screen/muv/hits.parquet"
    cmd = [str(BIN / "snakemake"), target, "-n", "--profile", "workflow/profiles/slurm",
           "--profile", "workflow/profiles/slurm-array", "--configfile", "config/test.yaml"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=wf, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "profiles workflow/profiles/slurm and workflow/profiles/slurm-array" in out
    return out


def test_dry_run_lists_one_array_task_per_chunk(dry_run):
    assert re.search(rf"^screen_chunk\s+{N_CHUNKS}$", dry_run, re.M), dry_run[-2000:]
    commands = re.findall(r"molprobe screen --models .*$", dry_run, re.M)
    assert len(commands) == N_CHUNKS
    offsets = sorted(int(re.search(r"--row-offset (\d+)", c).group(1)) for c in commands)
    assert offsets == [i * offsets[1] for i in range(N_CHUNKS)]  # chunk i starts at i * size
    assert all("--workers 2" in c and "--device auto" in c for c in commands)


def test_gather_command_line_stays_short(dry_run):
    (gather,) = re.findall(r"molprobe gather-hits .*$", dry_run, re.M)
    assert "--manifest results/libraries/muv/chunks.json" in gather
    assert len(gather.encode()) < 1000  # the same for 10^5 chunks; paths would be ~5 MB
