"""One source per default: the schema's `shortcuts:` defaults equal the library's dataclasses
(AuditConfig, PermutedConfig, PlantedConfig), which the CLI's defaults come from."""

from __future__ import annotations

from pathlib import Path

import yaml

from molprobe.shortcuts.permuted import PermutedConfig
from molprobe.shortcuts.planted import PlantedConfig
from molprobe.shortcuts.run import AuditConfig

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


def test_schema_defaults_equal_the_library_defaults():
    props = yaml.safe_load(SCHEMA.read_text())["properties"]["shortcuts"]["properties"]
    audit, perm, planted = AuditConfig(), PermutedConfig(), PlantedConfig()
    assert props["top"]["default"] == audit.top
    assert props["counterion_molecules"]["default"] == audit.counterion_molecules
    assert props["trivial_model"]["default"] == audit.trivial_model
    assert props["margin"]["default"] == audit.margin
    p = props["permuted"]["properties"]
    assert p["seeds"]["default"] == perm.seeds
    assert p["epochs"]["default"] == perm.max_epochs and p["trees"]["default"] == perm.max_trees
    q = props["planted"]["properties"]
    assert q["task"]["default"] == planted.task
    assert q["n_molecules"]["default"] == planted.n_molecules
    assert q["seeds"]["default"] == list(planted.seeds)
