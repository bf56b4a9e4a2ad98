"""The distilled screening student through the workflow (~60 s on 2 idle cores): the test
config with `fnn_bn_fast` taught by the default's teachers (snn, fnn_bn and the pretrained
graph net gine_pretrained, whose small encoder the `pretrain` rule builds) on 200 MUV + HIV
structures builds its final model by rule `final_distilled` (teachers' split runs and final
models included), and `molprobe screen` scores a few molecules with it."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.conftest import checkout, screen_three, snakemake, workflow_env

pytestmark = pytest.mark.slow

TARGET = "results/tox21/final/fnn_bn_fast/seed_0/meta.json"
TEACHERS = ("snn", "fnn_bn", "gine_pretrained")  # config/config.yaml's (checked below)
OVERRIDE = f"""distill: {{unlabeled: [muv, hiv], max_unlabeled: 200}}
pretrain:
  max_structures: 200
  params: {{n_layers: 2, width: 32, pool: mean, epochs: 1}}
models:
  fnn_bn_fast: {{params: {{epochs: 5, width: 64, n_layers: 2}}, teachers: [{", ".join(TEACHERS)}]}}
  gine_pretrained: {{features: [graph], init: gine, params: {{n_layers: 2, width: 32, epochs: 2}}}}
"""


def test_the_tested_teachers_are_the_defaults():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    assert tuple(config["models"]["fnn_bn_fast"]["teachers"]) == TEACHERS


def test_final_distilled_student_is_built_and_screens(tmp_path, mirror):
    checkout(tmp_path)
    (tmp_path / "over.yaml").write_text(OVERRIDE)
    env = workflow_env(mirror)
    proc = snakemake(tmp_path, env, TARGET, "--configfile", "config/test.yaml", "over.yaml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    log = proc.stdout + proc.stderr
    for rule in ("train_distilled", "final_distilled", "train_final"):
        assert f"rule {rule}:" in log or f"(Rule: {rule})" in log, rule
    final = tmp_path / "results/tox21/final/fnn_bn_fast/seed_0"
    record = json.loads((final / "final.json").read_text())
    runs = [
        json.loads(
            (tmp_path / f"results/tox21/models/fnn_bn_fast/{s}/seed0/metrics.json").read_text()
        )
        for s in ("random", "scaffold")
    ]
    assert record["distilled"] and record["n_unlabeled"] > 100
    assert all(r["split"]["n_unlabeled"] == record["n_unlabeled"] for r in runs)
    assert record["epochs_run"] == record["epochs"]
    for teacher in TEACHERS:
        assert (tmp_path / f"results/tox21/final/{teacher}/seed_0/meta.json").exists()
    assert "rule pretrain:" in log or "(Rule: pretrain)" in log
    screen, hits = screen_three(tmp_path, env, final)
    assert screen.returncode == 0, screen.stderr[-4000:]
    assert len(hits) == 3 and hits["NR-AR"].between(0, 1).all()
