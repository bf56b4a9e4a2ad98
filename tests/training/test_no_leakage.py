"""No Tox21 model reads another dataset's labels (ToxCast holds the Tox21 assays themselves).

The DAG of the default config (``snakemake -n -p --forceall``) is parsed into jobs; every
job that trains or studies a Tox21 model (everything under ``results/tox21/`` but the
screening of libraries, and the shared ``results/dynamics/`` modules) must descend from the
Tox21 file alone, and that file must be fetched from the Tox21 URL. The checker is shown to
catch a planted leak (a training job reading ToxCast molecules, a Tox21 entry pointing at
the ToxCast file). The one sanctioned crossing is the ``pretrain`` rule: `molprobe pretrain`
reads the SMILES of other datasets and nothing else (``tests/training/test_pretrain.py``), so
what descends through it carries structures, not labels. The other is the files a
distillation job (``train_distilled``, ``final_distilled``) names after ``--unlabeled``:
`molprobe distill` reads their ``smiles`` column only (``tests/training/test_distill_final.py``);
the same file given to such a job any other way is a source like any other."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field

import pytest

from tests.conftest import BIN, REPO

TOX21_RAW = "data/raw/tox21.csv.gz"
TRAINING_RULES = {"train", "train_final", "train_clean", "train_depth", "train_distilled",
                  "final_distilled"}  # fmt: skip
STRUCTURE_ONLY_RULES = {"pretrain"}  # read other datasets' SMILES only, never their labels
# rules whose inputs after this flag are read for their SMILES only (structures, no labels)
STRUCTURE_ONLY_FLAGS = {"train_distilled": "--unlabeled", "final_distilled": "--unlabeled"}


@dataclass
class Job:
    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    shell: str = ""


def parse_dry_run(text: str) -> list[Job]:
    """Jobs (rule, input, output, shell command) of a ``snakemake -n -p`` printout."""
    jobs: list[Job] = []
    for line in text.splitlines():
        if m := re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):$", line):
            jobs.append(Job(m.group(1)))
        elif jobs and (m := re.match(r"^    (input|output): (.*)$", line)):
            files = [f.strip() for f in m.group(2).split(",") if f.strip()]
            getattr(jobs[-1], f"{m.group(1)}s").extend(files)
        elif jobs and line.startswith("Shell command: "):
            jobs[-1].shell = line[len("Shell command: ") :]
    return [j for j in jobs if j.rule != "all"]


def structure_only_inputs(job: Job) -> set[str]:
    """The files ``job`` passes after its rule's :data:`STRUCTURE_ONLY_FLAGS` flag."""
    flag = STRUCTURE_ONLY_FLAGS.get(job.rule)
    if flag is None or not job.shell:
        return set()
    words, found, on = shlex.split(job.shell), set(), False
    for word in words:
        if word.startswith("-") or word.startswith(">"):
            on = word == flag
        elif on:
            found.add(word)
    return found


def raw_sources(jobs: list[Job]) -> dict[int, set[str]]:
    """For each job (by position): the raw data files among its transitive inputs, not
    counting what reaches it through a :data:`STRUCTURE_ONLY_RULES` job."""
    producer = {out: i for i, j in enumerate(jobs) for out in j.outputs}
    memo: dict[int, set[str]] = {}

    def sources(i: int) -> set[str]:
        if i not in memo:
            memo[i] = set()
            found = {o for o in jobs[i].outputs if o.startswith("data/raw/")}
            smiles_only = structure_only_inputs(jobs[i])
            for f in jobs[i].inputs:
                if f in smiles_only:
                    continue
                if f.startswith("data/raw/"):
                    found.add(f)
                if f in producer and jobs[producer[f]].rule not in STRUCTURE_ONLY_RULES:
                    found |= sources(producer[f])
            memo[i] = found
        return memo[i]

    return {i: sources(i) for i in range(len(jobs))}


def leaks(jobs: list[Job], dataset: str = "tox21") -> list[str]:
    """Every Tox21 training/analysis job that descends from a file other than Tox21's, and a
    Tox21 fetch that does not fetch the Tox21 file."""
    problems = []
    for i, srcs in raw_sources(jobs).items():
        j = jobs[i]
        outs = " ".join(j.outputs)
        ours = f"results/{dataset}/" in outs and f"results/{dataset}/screen/" not in outs
        if (ours or "results/dynamics/" in outs) and srcs != {f"data/raw/{dataset}.csv.gz"}:
            problems.append(f"{j.rule} -> {j.outputs[0]} reads {sorted(srcs)}")
        if j.rule == "fetch" and j.outputs == [f"data/raw/{dataset}.csv.gz"]:
            url = re.search(r"--url (\S+)", j.shell)
            if not url or not url.group(1).endswith(f"/{dataset}.csv.gz"):
                problems.append(f"fetch of {dataset} reads {url.group(1) if url else '?'}")
    return problems


def start_dry_run(*extra: str) -> subprocess.Popen:
    """``snakemake -n -p --forceall`` started in the background (read it with
    :func:`dry_run_jobs`): the two DAGs of this module are built at the same time."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    cmd = ["snakemake", "-n", "-p", "--forceall", "--nolock", *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def dry_run_jobs(proc: subprocess.Popen) -> list[Job]:
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out[-4000:]
    return parse_dry_run(out)


LEAK_URL = "https://deepchemdata.s3-us-west-1.amazonaws.com/datasets/toxcast_data.csv.gz"


@pytest.fixture(scope="module")
def dags(tmp_path_factory) -> tuple[list[Job], list[Job]]:
    """The default DAG and, built alongside, the fetch of Tox21 under a config whose Tox21
    entry points at the ToxCast file (the swap shows in that one job: only its target)."""
    override = tmp_path_factory.mktemp("leak") / "leak.yaml"
    override.write_text(f"datasets:\n  tox21:\n    url: {LEAK_URL}\n")
    swapped = start_dry_run("--configfile", "config/config.yaml", str(override), "--", TOX21_RAW)
    default = start_dry_run()
    return dry_run_jobs(default), dry_run_jobs(swapped)


@pytest.fixture(scope="module")
def default_jobs(dags) -> list[Job]:
    return dags[0]


def test_default_dag_trains_tox21_models_on_tox21_alone(default_jobs):
    rules = {j.rule for j in default_jobs}
    assert rules >= TRAINING_RULES, "the checker must see every training rule"
    assert {"screen_gather", "shortcuts", "probe"} <= rules
    assert leaks(default_jobs) == []
    trained = [j for j in default_jobs if j.rule == "train" and j.inputs]
    assert len(trained) >= 30  # 5 families x 2 splits x 3 seeds, each with its inputs parsed
    # the final models, the models screening uses, read the Tox21 table only
    finals = [j for j in default_jobs if j.rule in ("train_final", "final_distilled")]
    assert finals and all("--molecules results/tox21/data/molecules.parquet" in j.shell
                          for j in finals)  # fmt: skip


def test_checker_finds_planted_leaks(default_jobs, dags):
    """Positive controls: a Tox21 training job reading ToxCast's molecule table, and the
    Tox21 registry entry pointing at the ToxCast file."""
    planted = list(default_jobs) + [
        Job("fetch", [], ["data/raw/toxcast.csv.gz"], "molprobe fetch toxcast"),
        Job("standardize", ["data/raw/toxcast.csv.gz"], ["results/toxcast/data/m.parquet"]),
        Job("train_final", ["results/toxcast/data/m.parquet"], ["results/tox21/final/x/a.json"]),
    ]
    found = leaks(planted)
    assert len(found) == 1 and "toxcast" in found[0] and "train_final" in found[0]
    swapped = dags[1]
    assert [j.rule for j in swapped] == ["fetch"]
    assert any(p.startswith("fetch of tox21 reads") for p in leaks(swapped))


def test_structures_only_pretraining_is_not_a_leak_but_the_same_path_elsewhere_is():
    """A Tox21 run started from an encoder pretrained on MUV structures (rule `pretrain`)
    reads no MUV label; the same file made by any other rule counts as a MUV source."""
    jobs = [
        Job("fetch", [], [TOX21_RAW], "molprobe fetch tox21 --url https://host/tox21.csv.gz"),
        Job("fetch", [], ["data/raw/muv.csv.gz"], "molprobe fetch muv --url https://host/muv.csv.gz"),
        Job("standardize", [TOX21_RAW], ["results/tox21/data/molecules.parquet"]),
        Job("pretrain", ["data/raw/muv.csv.gz", "results/tox21/data/molecules.parquet"],
            ["results/pretrain/gine/model.pt"]),
        Job("train", ["results/tox21/data/molecules.parquet", "results/pretrain/gine/model.pt"],
            ["results/tox21/models/gine_pre/random/seed0/meta.json"]),
    ]  # fmt: skip
    assert leaks(jobs) == []
    jobs[3].rule = "standardize"  # not structures-only: the MUV file now reaches the run
    found = leaks(jobs)
    assert len(found) == 1 and "muv" in found[0] and found[0].startswith("train ->")


def test_unlabeled_structures_of_a_distilled_student_are_not_a_leak_but_its_molecules_are():
    """A distilled Tox21 student reads MUV's standardized table after ``--unlabeled`` (SMILES
    only): no MUV source; the same table as its ``--molecules`` is one."""
    muv_table = "results/muv/data/molecules.parquet"
    jobs = [
        Job("fetch", [], [TOX21_RAW], "molprobe fetch tox21 --url https://host/tox21.csv.gz"),
        Job("fetch", [], ["data/raw/muv.csv.gz"], "molprobe fetch muv --url https://host/muv.csv.gz"),
        Job("standardize", [TOX21_RAW], ["results/tox21/data/molecules.parquet"]),
        Job("standardize", ["data/raw/muv.csv.gz"], [muv_table]),
        Job("train_distilled", ["results/tox21/data/molecules.parquet", muv_table],
            ["results/tox21/models/fnn_bn_fast/random/seed0/meta.json"],
            "molprobe distill --molecules results/tox21/data/molecules.parquet --unlabeled "
            f"{muv_table} --model fnn_bn_fast --output-dir x > log 2>&1"),
    ]  # fmt: skip
    assert leaks(jobs) == []
    jobs[4].shell = f"molprobe distill --molecules {muv_table} --unlabeled a.parquet"
    found = leaks(jobs)
    assert len(found) == 1 and "muv" in found[0] and found[0].startswith("train_distilled ->")
