"""The config schema refuses bad values with a message naming the key, and fills defaults."""

from __future__ import annotations

import copy

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from tests.conftest import REPO

SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")


@pytest.fixture
def config() -> dict:
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def _refused(config: dict) -> str:
    with pytest.raises(WorkflowError) as err:
        validate(config, SCHEMA)
    return str(err.value)


def test_default_and_test_configs_are_valid(config):
    validate(config, SCHEMA)
    merged = copy.deepcopy(config)
    merged.update(yaml.safe_load((REPO / "config/test.yaml").read_text()))
    validate(merged, SCHEMA)


def test_malformed_model_name_is_refused(config):
    # names are registry models or `models:` aliases; the workflow refuses an unknown one at
    # load (tests/workflow/test_family_alias.py), the schema a name no family can have
    config["train"]["models"] = ["snn", "Transformer 9000"]
    message = _refused(config)
    assert "Transformer 9000" in message and "models" in message


def test_alias_needs_a_registry_model(config):
    config["models"]["gine_pretrained_desc"] = {"model": "transformer9000"}
    assert "transformer9000" in _refused(config)


def test_negative_epochs_are_refused(config):
    config["models"]["snn"]["params"]["epochs"] = -3
    message = _refused(config)
    assert "epochs" in message and "-3" in message


def test_missing_dataset_registry_is_refused(config):
    del config["datasets"]
    assert "datasets" in _refused(config)


def test_unknown_top_level_key_is_refused(config):
    config["trian"] = {"models": ["snn"]}
    assert "trian" in _refused(config)


def test_bad_split_fractions_are_refused(config):
    config["splits"]["fractions"] = [0.8, 0.2]
    assert "fractions" in _refused(config)


def test_defaults_are_filled(config):
    del config["standardize"]
    validate(config, SCHEMA)
    assert config["standardize"]["largest_fragment"] is True
    assert config["standardize"]["max_heavy_atoms"] == 150
