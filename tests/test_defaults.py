"""One source per default: the workflow schema, the library's config objects and the CLI
agree, and common.smk restates none of them (the schema's defaults reach it through
``validate``)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re

import pytest
import yaml

from molprobe.chem.featurize import ECFP
from molprobe.cli import build_parser
from molprobe.models.registry import MODELS
from molprobe.reporting.pages import N_EXAMPLES, N_HITS, data_page
from molprobe.screening.domain import DEFAULT_THRESHOLD, DomainModel
from molprobe.screening.ensemble import EnsembleLoader, load_ensemble
from molprobe.screening.screen import ScreenSettings
from molprobe.training.metrics import N_BOOTSTRAP, evaluate
from molprobe.training.run import TrainRunConfig, evaluate_run
from tests.conftest import REPO

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


def schema_default(*keys: str):
    node = SCHEMA
    for key in keys:
        node = node["properties"][key]
    return node["default"]


# the required arguments of each command, so that parsing yields every option's default
REQUIRED = {
    "screen": ["--models", "m", "--input", "lib.csv", "--output", "hits.parquet"],
    "gather-hits": ["part.parquet", "--output", "hits.parquet"],
    "train": ["--model", "snn", "--molecules", "m", "--split", "s", "--features", "f",
              "--output-dir", "o"],
    "report data": ["--dataset", "d", "--molecules", "m", "--rejected", "r", "--summary", "s",
                    "--output-dir", "o"],
    "report screen": ["--hits", "h", "--top", "t", "--output-dir", "o"],
    "evaluate": ["--model-dir", "d", "--molecules", "m", "--split", "s", "--features", "f",
                 "--output", "o"],
}  # fmt: skip


def cli_default(command: str, dest: str):
    """The default of option ``dest`` of ``molprobe <command>``, as argparse fills it in."""
    argv = [*command.split(), *REQUIRED[command]]
    return getattr(build_parser().parse_args(argv), dest)


def signature_default(func, name: str):
    return inspect.signature(func).parameters[name].default


def test_applicability_domain_threshold_has_one_value():
    values = {
        "schema": schema_default("screen", "ad_threshold"),
        "DomainModel": DomainModel().threshold,
        "load_ensemble": signature_default(load_ensemble, "ad_threshold"),
        "EnsembleLoader": EnsembleLoader(("x",)).ad_threshold,
        "cli": cli_default("screen", "ad_threshold"),
    }
    assert values == dict.fromkeys(values, DEFAULT_THRESHOLD)


def test_screen_top_has_one_value():
    values = {
        "schema": schema_default("screen", "top"),
        "cli screen": cli_default("screen", "top"),
        "cli gather-hits": cli_default("gather-hits", "top"),
    }
    assert values == dict.fromkeys(values, ScreenSettings().top)
    assert cli_default("screen", "chunk_size") == ScreenSettings().chunk_size


def test_report_sizes_have_one_value():
    assert schema_default("report", "n_examples") == N_EXAMPLES
    assert cli_default("report data", "n_examples") == N_EXAMPLES
    assert signature_default(data_page, "n_examples") == N_EXAMPLES
    assert schema_default("report", "n_hits") == N_HITS == cli_default("report screen", "n_top")


def test_bootstrap_resamples_have_one_value():
    values = {
        "evaluate()": signature_default(evaluate, "n_bootstrap"),
        "TrainRunConfig": TrainRunConfig("snn").bootstrap,
        "evaluate_run": signature_default(evaluate_run, "bootstrap"),
        "cli train": cli_default("train", "bootstrap"),
        "cli evaluate": cli_default("evaluate", "bootstrap"),
    }
    assert values == dict.fromkeys(values, N_BOOTSTRAP)


def test_ecfp_schema_defaults_are_the_featurizer_defaults():
    keys = ("radius", "n_bits", "counts")
    expected = {k: signature_default(ECFP, k) for k in keys}
    assert schema_default("featurizers", "ecfp") == expected
    assert {k: schema_default("featurizers", "ecfp", k) for k in keys} == expected


# model class -> the registry parameters it takes under the same name
MODEL_CLASSES = {
    "snn": "molprobe.models.snn:SNN",
    "fnn_bn": "molprobe.models.fnn:FNN",
    "gine": "molprobe.models.gnn:GINE",
    "attentivefp": "molprobe.models.gnn:AttentiveFP",
    "lstm": "molprobe.models.lstm:SmilesLSTM",
}


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_registry_params_match_the_model_constructor(name):
    """Where a model's constructor has a default for a registry hyperparameter, it is the
    registry's (the registry dataclass is the source; the constructor must not drift)."""
    module, cls = MODEL_CLASSES[name].split(":")
    params = inspect.signature(getattr(importlib.import_module(module), cls)).parameters
    fields = {f.name: f.default for f in dataclasses.fields(MODELS[name].params_cls)}
    shared = {k for k in fields if k in params and params[k].default is not inspect.Parameter.empty}
    drift = {k: (fields[k], params[k].default) for k in shared if fields[k] != params[k].default}
    assert drift == {}, f"{name}: registry default vs constructor default"


def test_common_smk_restates_no_screen_or_report_size_default():
    text = (REPO / "workflow/rules/common.smk").read_text()
    body = text.split("def screen_settings():")[1].split("\ndef ")[0]
    assert "setdefault" not in body and not re.search(r"\b0\.35\b", text)
    assert not re.search(r"setdefault\(\"(n_examples|n_hits)\"", text)


def test_validate_fills_the_schema_defaults():
    """What screen_settings() relies on: snakemake's validate() fills nested defaults."""
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config.pop("screen", None)
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    assert config["screen"]["ad_threshold"] == DEFAULT_THRESHOLD
    assert config["screen"]["top"] == ScreenSettings().top
    assert config["report"]["n_hits"] == N_HITS
