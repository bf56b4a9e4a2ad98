"""`make test`'s parallel runner: every test module runs in one pytest-xdist worker (its
module fixtures are built once), and the workflow_run modules form one unit."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, WORKFLOW_RUN_MODULES, work_unit

WRITES_WORKER = """import os

import pytest


@pytest.mark.parametrize("n", range(6))
def test_worker(n):
    out = os.environ["PARALLEL_OUT"]
    with open(os.path.join(out, f"{__name__}-{n}"), "w") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "none"))
"""


def _suite(tmp_path, modules: dict[str, str]) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    for name, text in modules.items():
        (tests / name).write_text(text)


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PARALLEL_OUT=str(tmp_path / "out"))
    (tmp_path / "out").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "tests"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_work_units_are_modules_and_the_workflow_run_group():
    assert work_unit("tests/chem/test_io.py::test_a[1]") == "tests/chem/test_io.py"
    assert {work_unit(f"{m}::test_x") for m in WORKFLOW_RUN_MODULES} == {"workflow_run"}


def test_each_module_runs_in_one_worker(tmp_path):
    _suite(tmp_path, {f"test_m{i}.py": WRITES_WORKER for i in range(4)})
    proc = _pytest(tmp_path, "-n", "2", "--dist", "loadscope", "--no-loadscope-reorder")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    seen: dict[str, set[str]] = {}
    for f in (tmp_path / "out").iterdir():
        seen.setdefault(f.name.rsplit("-", 1)[0], set()).add(f.read_text())
    assert len(seen) == 4 and sum(1 for _ in (tmp_path / "out").iterdir()) == 24
    assert all(len(workers) == 1 for workers in seen.values()), seen
    assert set().union(*seen.values()) == {"gw0", "gw1"}  # both workers got work


def test_a_module_outside_the_list_using_the_workflow_run_stops_the_run(tmp_path):
    stray = (
        "import pytest\n\n\n@pytest.fixture\ndef workflow_run():\n    return 1\n\n\n"
        "def test_x(workflow_run):\n    assert workflow_run == 1\n"
    )
    _suite(tmp_path, {"test_stray.py": stray})
    proc = _pytest(tmp_path)
    assert proc.returncode != 0
    assert "tests/test_stray.py use(s) the workflow_run fixture" in proc.stdout + proc.stderr
