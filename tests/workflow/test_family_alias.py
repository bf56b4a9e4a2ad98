"""Families that name their registry model (`models: {family}: model:`) and named encoders
(`pretrain: encoders:`), through the workflow (~40 s on 2 idle cores): an alias of
gine_pretrained with the descriptor side channel, fine-tuned from a second encoder pretrained
on fewer structures, trains as its own family beside the registry one and is compared as
such; an AttentiveFP family fine-tunes from an AttentiveFP encoder whose entry removes the
shared GINE `pool` with a null; a family or encoder that names nothing known, or an
AttentiveFP encoder left with `pool`, stops the workflow at load."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.workflow.conftest import checkout, snakemake, workflow_env

pytestmark = pytest.mark.slow

ALIAS = "gine_pretrained_desc"
OVERRIDE = """train:
  models: [snn, gine_pretrained, gine_pretrained_desc]
pretrain:
  datasets: [muv, hiv]
  max_structures: 200
  params: {n_layers: 2, width: 32, pool: mean, epochs: 2}
  encoders:
    gine_small: {model: gine, max_structures: 120, params: {epochs: 1}}
models:
  gine_pretrained: {features: [graph], init: gine, params: {n_layers: 2, width: 32, epochs: 2}}
  gine_pretrained_desc:
    model: gine_pretrained
    features: [graph, descriptors]
    init: gine_small
    params: {n_layers: 2, width: 32, epochs: 2}
"""


def test_alias_family_trains_from_its_named_encoder(tmp_path, mirror):
    checkout(tmp_path)
    (tmp_path / "over.yaml").write_text(OVERRIDE)
    env = workflow_env(mirror)
    target = "results/tox21/comparison.csv"
    proc = snakemake(tmp_path, env, target, "--configfile", "config/test.yaml", "over.yaml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]

    small = json.loads((tmp_path / "results/pretrain/gine_small/meta.json").read_text())
    shared = json.loads((tmp_path / "results/pretrain/gine/meta.json").read_text())
    assert small["model"] == "gine" and small["params"]["epochs"] == 1
    assert small["params"]["width"] == 32  # the shared params, key by key under its own
    assert small["n_molecules"] < shared["n_molecules"] <= 200

    for split in ("random", "scaffold"):
        run = tmp_path / f"results/tox21/models/{ALIAS}/{split}/seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["name"] == ALIAS and metrics["model"] == "gine_pretrained"
        assert metrics["init"] == "results/pretrain/gine_small/model.pt"
        meta = json.loads((run / "meta.json").read_text())
        assert [f["name"] for f in meta["featurizers"]] == ["graph", "descriptors"]
        twin = tmp_path / f"results/tox21/models/gine_pretrained/{split}/seed0/metrics.json"
        assert json.loads(twin.read_text())["init"] == "results/pretrain/gine/model.pt"

    table = pd.read_csv(tmp_path / target)
    assert {"snn", "gine_pretrained", ALIAS} <= set(table["name"])


AFP_OVERRIDE = """train:
  models: [attentivefp_pretrained]
pretrain:
  datasets: [muv, hiv]
  max_structures: 150
  params: {n_layers: 4, width: 192, pool: mean, epochs: 1}
  encoders:
    afp: {model: attentivefp, params: {n_layers: 2, width: 32, pool: null}}
models:
  attentivefp_pretrained:
    model: attentivefp
    features: [graph]
    init: afp
    params: {n_layers: 2, width: 32, epochs: 2}
"""


def test_attentivefp_family_fine_tunes_from_an_attentivefp_encoder(tmp_path, mirror):
    checkout(tmp_path)
    (tmp_path / "over.yaml").write_text(AFP_OVERRIDE)
    target = "results/tox21/models/attentivefp_pretrained/random/seed0/metrics.json"
    proc = snakemake(tmp_path, workflow_env(mirror), target, "--configfile", "config/test.yaml",
                     "over.yaml")  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    encoder = json.loads((tmp_path / "results/pretrain/afp/meta.json").read_text())
    assert encoder["model"] == "attentivefp"
    assert "pool" not in encoder["params"]  # the shared GINE key, removed by the null
    assert {k: encoder["params"][k] for k in ("n_layers", "width", "epochs")} == {
        "n_layers": 2, "width": 32, "epochs": 1,
    }  # fmt: skip
    metrics = json.loads((tmp_path / target).read_text())
    assert metrics["model"] == "attentivefp" and metrics["name"] == "attentivefp_pretrained"
    assert metrics["init"] == "results/pretrain/afp/model.pt"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "models: {afp_x: {model: attentivefp, features: [graph], init: attentivefp}}\n",
            "AttentiveFP has no `pool`",
        ),
        ("train: {models: [snn, transformer9000]}\n", "family 'transformer9000' is not a registry"),
        ("models: {gine_x: {model: gine_pretrained, init: nosuch}}\n", "encoder 'nosuch'"),
    ],
)
def test_unknown_family_or_encoder_stops_at_load(tmp_path, mirror, override, message):
    checkout(tmp_path)
    (tmp_path / "over.yaml").write_text(override)
    proc = snakemake(tmp_path, workflow_env(mirror), "-n", "--configfile", "config/test.yaml",
                     "over.yaml")  # fmt: skip
    assert proc.returncode != 0
    log = proc.stdout + proc.stderr
    assert message in log, log[-3000:]
