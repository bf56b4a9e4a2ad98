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
