"""Shared test fixtures: paths to the repository, the dataset mirror and the venv's tools."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# screening caches the applicability-domain reference fingerprints; the tests (and the workflow
# and CLI subprocesses they start, which inherit this environment) keep theirs out of ~/.cache
if "MOLPROBE_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["MOLPROBE_CACHE_DIR"] = tempfile.mkdtemp(prefix="molprobe-test-cache-")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def data_required() -> bool:
    """True under CI (``CI=true``) or ``MOLPROBE_REQUIRE_DATA=1``: missing data fails, never skips."""
    return _flag("CI") or _flag("MOLPROBE_REQUIRE_DATA")


def unavailable(reason: str, *, required: bool) -> None:
    """Skip a test whose prerequisite is missing, or fail it when the prerequisite is required."""
    if required:
        pytest.fail(f"required but missing: {reason}", pytrace=False)
    pytest.skip(reason)


def find_mirror() -> Path | None:
    """The dataset mirror ($MOLPROBE_MIRROR, else ../shared/data) holding tox21.csv.gz, or None."""
    env = os.environ.get("MOLPROBE_MIRROR")
    for candidate in (env, REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "tox21.csv.gz").is_file():
            return Path(candidate).resolve()
    return None


def require_mirror(*, required: bool | None = None) -> Path:
    """The mirror, or skip (fail when ``required``; default: :func:`data_required`)."""
    found = find_mirror()
    if found is None:
        unavailable(
            "no dataset mirror: set MOLPROBE_MIRROR to a folder holding tox21.csv.gz",
            required=data_required() if required is None else required,
        )
    return found


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local dataset mirror ($MOLPROBE_MIRROR or ../shared/data); fails under CI when absent."""
    return require_mirror()


@pytest.fixture(scope="session")
def tox21_path(mirror: Path) -> Path:
    return mirror / "tox21.csv.gz"


@pytest.fixture
def tool_env(mirror: Path) -> dict[str, str]:
    """Environment for subprocesses: the venv's bin first on PATH, the mirror set."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MOLPROBE_MIRROR"] = str(mirror)
    return env


# --------------------------------------------------------------------------- parallel runs
# `make test` runs pytest-xdist (TEST_WORKERS, default 2) with the scheduler below: each test
# module is one work unit, so a module-scoped fixture (a trained planted-control net) is built
# once; the modules that share the session's workflow run (`workflow_run`, ~6 min) form one
# unit, so that run is built once too. Units go out in collection order, the longest first.
# (xdist's own `--dist loadgroup` marks do not group under pytest 9.2: it renames
# `item._nodeid`, which pytest no longer reads.)
WORKFLOW_RUN_MODULES = (
    "tests/workflow/test_interrupted.py",
    "tests/workflow/test_report.py",
    "tests/workflow/test_workflow.py",
)
HEAVY_FIRST = (*WORKFLOW_RUN_MODULES, "tests/probing/test_planted.py")


def module_of(nodeid: str) -> str:
    """The test module of a node id (``tests/x/test_y.py::test_z[1]`` -> ``tests/x/test_y.py``)."""
    return nodeid.split("::", 1)[0]


def work_unit(nodeid: str) -> str:
    """The parallel work unit of a test: its module, or "workflow_run" for the modules whose
    tests share the session's workflow run."""
    module = module_of(nodeid)
    return "workflow_run" if module in WORKFLOW_RUN_MODULES else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop when a module outside WORKFLOW_RUN_MODULES uses the workflow run (in parallel
    runs it would build that ~6-min run again), then sort the heaviest modules first."""
    strays = sorted(
        {
            module_of(i.nodeid)
            for i in items
            if "workflow_run" in i.fixturenames and work_unit(i.nodeid) != "workflow_run"
        }
    )
    if strays:
        raise pytest.UsageError(
            f"{', '.join(strays)} use(s) the workflow_run fixture: add to WORKFLOW_RUN_MODULES"
            " in tests/conftest.py"
        )
    rank = {m: n for n, m in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda i: rank.get(module_of(i.nodeid), len(rank)))  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """With ``--dist loadscope``: xdist's scope scheduler with :func:`work_unit` as the scope."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ModuleScheduling(config, log)
