"""The README's commands run as written: its snakemake invocations from a plain shell (the
venv not on PATH), its `make` targets exist, its one-step `molprobe` commands run in order,
and the Makefile refuses an old Python in one line."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, REPO

README = REPO / "README.md"
PLAIN_PATH = os.pathsep.join(["/usr/bin", "/bin"])  # a shell where the venv is not activated


def bash_commands(text: str) -> list[str]:
    """Every command of the README's ```bash blocks, continuation lines joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [line.strip() for line in joined.splitlines() if line.strip()]
    return commands


def readme_commands(program: str) -> list[list[str]]:
    """The README's commands that start with `program`, split like a shell (comments dropped)."""
    found = []
    for line in bash_commands(README.read_text()):
        argv = shlex.split(line, comments=True)
        if argv and argv[0] == program:
            found.append(argv)
    return found


def checkout(dest: Path) -> Path:
    """What a fresh clone holds for the workflow."""
    for name in ("Snakefile", "workflow", "config"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    return dest


def plain_env(mirror: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH=PLAIN_PATH, MOLPROBE_MIRROR=str(mirror))
    return env


def test_readme_documents_snakemake_through_the_venv():
    commands = readme_commands(".venv/bin/snakemake")
    assert commands, "the README shows no `.venv/bin/snakemake ...` command"
    assert all("--workflow-profile" in argv for argv in commands)


@pytest.mark.parametrize("argv", readme_commands(".venv/bin/snakemake"), ids=shlex.join)
def test_readme_snakemake_command_runs_from_a_plain_shell(tmp_path, mirror, argv):
    """The documented shape, with the venv's snakemake but without the venv on PATH: the
    dry run plans the jobs, and a real run of the first two rules finds `molprobe`."""
    env = plain_env(mirror)
    # the control: from this shell, `molprobe` is not found unless the workflow puts it there
    assert shutil.which("molprobe", path=env["PATH"]) is None
    workdir = checkout(tmp_path)
    snakemake = [str(BIN / "snakemake"), *argv[1:]]
    dry = subprocess.run([*snakemake, "-n"], cwd=workdir, env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert "rule fetch" in dry.stdout + dry.stderr

    config = dict(a.split("=", 1) for a in argv[argv.index("--config") + 1 :] if "=" in a)
    dataset = config.get("run_datasets", "[tox21]").strip("[]").split(",")[0]
    target = f"results/{dataset}/data/molecules.parquet"
    run = [snakemake[0], target, *snakemake[1:]]
    run[run.index("--config") + 1 : run.index("--config") + 1] = ["max_rows=40"]
    real = subprocess.run(run, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    logs = "".join(p.read_text() for p in sorted((workdir / "results/logs").rglob("*.log")))
    assert real.returncode == 0, real.stderr[-3000:] + logs
    assert "command not found" not in logs
    assert (workdir / target).stat().st_size > 0


def test_readme_make_targets_exist():
    targets = {argv[1] for argv in readme_commands("make") if len(argv) > 1}
    assert {"quick", "run", "test", "lint"} <= targets
    for target in sorted(targets):
        proc = subprocess.run(["make", "-n", target], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, f"make {target}: {proc.stderr}"


def test_readme_molprobe_steps_run_in_order(tmp_path, mirror):
    """The one-step commands (fetch, standardize, split, featurize) as the README writes them,
    with the venv activated as it says."""
    steps = [argv for argv in readme_commands("molprobe") if argv[1] != "screen"]
    assert [argv[1] for argv in steps][:4] == ["fetch", "standardize", "split", "featurize"]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{PLAIN_PATH}", MOLPROBE_MIRROR=str(mirror))
    for argv in steps:
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert proc.returncode == 0, shlex.join(argv) + "\n" + proc.stderr[-2000:]
    assert (tmp_path / "ecfp.npz").stat().st_size > 0


def fake_old_python(path: Path) -> Path:
    """A real interpreter that reports itself as Python 3.10 (none older is installed here)."""
    path.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "Python 3.10.14"; exit 0; fi\n'
        f'exec {shlex.quote(sys.executable)} -c "import sys; '
        'sys.version_info = (3, 10, 14, \\"final\\", 0); exec(sys.argv[1])" "$2"\n'
    )
    path.chmod(0o755)
    return path


def test_makefile_refuses_an_old_python_in_one_line(tmp_path):
    no_venv = f"VENV={tmp_path / 'no-venv'}"
    old = fake_old_python(tmp_path / "python3.10")
    proc = subprocess.run(["make", "-s", "check-python", f"PYTHON={old}", no_venv],
                          cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "needs Python >= 3.11" in lines[0] and "3.10.14" in lines[0]
    ok = subprocess.run(["make", "-s", "check-python", f"PYTHON={sys.executable}", no_venv],
                        cwd=REPO, capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout == "", ok.stdout + ok.stderr


def dry_run_rules(workdir: Path, env: dict, *config: str) -> dict[str, int]:
    """{rule: job count} of a dry run (Snakemake's job-stats table)."""
    proc = subprocess.run([str(BIN / "snakemake"), "-n", "--cores", "2", *config], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = proc.stdout.split("Job stats:")[1].split("total")[0]
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


def test_quick_config_runs_every_stage_of_the_default_workflow(tmp_path, mirror):
    """`make quick` plans every rule the default workflow has, each trained family included,
    on one seed and a subsample."""
    workdir, env = checkout(tmp_path), plain_env(mirror)
    default = dry_run_rules(workdir, env)
    quick = dry_run_rules(workdir, env, "--configfile", "config/quick.yaml")
    assert set(default) <= set(quick), sorted(set(default) - set(quick))
    assert quick["train"] < default["train"] and quick["probe"] <= default["probe"]
    cfg = yaml.safe_load((REPO / "config" / "quick.yaml").read_text())
    full = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert set(full["train"]["models"]) <= set(cfg["train"]["models"])
    assert cfg["splits"]["seeds"] == [0] and 0 < cfg["max_rows"] <= 5000
