"""One source for the screening engine's defaults: library, CLI, config schema (fast)."""

from __future__ import annotations

from molprobe.screening.screen import ScreenSettings
from tests.test_defaults import cli_default, schema_default


def test_screen_workers_has_one_default():
    values = {
        "library": ScreenSettings().workers,
        "cli": cli_default("screen", "workers"),
        "schema": schema_default("screen", "workers"),
    }
    assert len(set(values.values())) == 1, values


def test_screen_runs_the_models_on_the_gpu_when_there_is_one():
    assert cli_default("screen", "device") == "auto"
