"""``python -m molprobe.cli`` is the ``molprobe`` command (run uninstalled by the device check)."""

from __future__ import annotations

import subprocess
import sys

from molprobe import __version__


def test_python_m_molprobe_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "molprobe.cli", "--version"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"molprobe {__version__}"
    bad = subprocess.run([sys.executable, "-m", "molprobe.cli", "no-such-command"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
