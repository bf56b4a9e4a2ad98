"""The fine-tuned graph family through the workflow (~40 s on 2 idle cores): with
`gine_pretrained: {init: gine}` the `pretrain` rule's encoder (200 MUV + HIV structures here)
is an input of the family's split runs and final model, each starts from it (`--init`,
recorded in metrics.json / final.json), and `molprobe screen` scores with the final model.
An encoder of another width stops the split run with the one-line misfit error."""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import checkout, screen_three, snakemake, workflow_env

pytestmark = pytest.mark.slow

FINAL = "results/tox21/final/gine_pretrained/seed_0/meta.json"
OVERRIDE = """pretrain:
  datasets: [muv, hiv]
  max_structures: 200
  params: {{n_layers: 2, width: {pretrain_width}, pool: mean, epochs: 2}}
models:
  gine_pretrained: {{features: [graph], init: gine, params: {{n_layers: 2, width: 32, epochs: 3}}}}
"""


def test_fine_tuned_family_starts_from_the_pretrained_encoder(tmp_path, mirror):
    checkout(tmp_path)
    (tmp_path / "over.yaml").write_text(OVERRIDE.format(pretrain_width=32))
    env = workflow_env(mirror)
    proc = snakemake(tmp_path, env, FINAL, "--configfile", "config/test.yaml", "over.yaml")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    log = proc.stdout + proc.stderr
    for rule in ("pretrain", "train", "train_final"):
        assert f"rule {rule}:" in log or f"(Rule: {rule})" in log, rule
    encoder = "results/pretrain/gine/model.pt"
    assert (tmp_path / encoder).exists()
    for split in ("random", "scaffold"):
        run = tmp_path / f"results/tox21/models/gine_pretrained/{split}/seed0"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["init"] == encoder and metrics["model"] == "gine_pretrained"
        assert metrics["hyperparameters"]["pool"] == "mean"  # the family's own default
    final = tmp_path / "results/tox21/final/gine_pretrained/seed_0"
    assert json.loads((final / "final.json").read_text())["init"] == encoder

    screen, hits = screen_three(tmp_path, env, final)
    assert screen.returncode == 0, screen.stderr[-4000:]
    assert len(hits) == 3 and hits["NR-AR"].between(0, 1).all()

    # an encoder wider than the family: the split run refuses it, naming the misfit
    (tmp_path / "over.yaml").write_text(OVERRIDE.format(pretrain_width=48))
    run = "results/tox21/models/gine_pretrained/random/seed0/metrics.json"
    proc = snakemake(tmp_path, env, run, "--configfile", "config/test.yaml", "over.yaml",
                     "--forcerun", "pretrain")  # fmt: skip
    assert proc.returncode != 0
    train_log = (tmp_path / "results/logs/tox21/train/gine_pretrained_random_seed0.log").read_text()
    assert "starting tensors do not fit" in train_log, train_log[-2000:]
