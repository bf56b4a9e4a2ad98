"""Shared test fixtures: paths to the repository, the dataset mirror and the venv's tools."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _mirror() -> Path | None:
    env = os.environ.get("MOLPROBE_MIRROR")
    for candidate in (env, REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "tox21.csv.gz").is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local dataset mirror ($MOLPROBE_MIRROR or ../shared/data)."""
    found = _mirror()
    if found is None:
        pytest.skip("no dataset mirror: set MOLPROBE_MIRROR to a folder holding tox21.csv.gz")
    return found


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
