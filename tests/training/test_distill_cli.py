"""`molprobe distill` end to end on a tiny real Tox21 slice: a teacher trained by `molprobe
train` on the split, unlabeled structures from a table with label columns (only smiles is
read), the files `molprobe train` writes, and a teacher of another split refused."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from molprobe.cli import main
from molprobe.training.metrics import evaluate
from tests.training._data import distill_tables

TINY = ["n_layers=2", "width=32"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tox21_path):
    d = tmp_path_factory.mktemp("distill_cli")
    tasks = distill_tables(d, tox21_path)
    before = torch.get_num_threads()
    for seed in (0, 1):
        assert main(["train", "--model", "fnn_bn_fast", "--molecules", str(d / "molecules.parquet"),
                     "--split", str(d / f"seed{seed}.json"), "--features", str(d / "ecfp.npz"),
                     "--params", *TINY, "--epochs", "2", "--threads", "1", "--bootstrap", "10",
                     "--output-dir", str(d / f"teacher{seed}")]) == 0  # fmt: skip
    torch.set_num_threads(before)
    return d, tasks


def _distill(d, teacher, out):
    return main(["distill", "--molecules", str(d / "molecules.parquet"),
                 "--split", str(d / "seed0.json"), "--teacher", str(d / teacher),
                 "--unlabeled", str(d / "unlabeled.parquet"), "--model", "fnn_bn_fast",
                 "--featurizer", "ecfp", "--featurizer", "descriptors_fast",
                 "--params", *TINY, "epochs=3", "--threads", "1", "--output-dir", str(out)])  # fmt: skip


def test_distill_cli_writes_what_train_writes(workdir):
    d, tasks = workdir
    before = torch.get_num_threads()
    assert _distill(d, "teacher0", d / "student") == 0
    torch.set_num_threads(before)
    out = d / "student"
    for name in ("model.pt", "meta.json", "metrics.json", "history.csv", "predictions.parquet",
                 "valid_predictions.parquet", "train_smiles.txt"):  # fmt: skip
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"]["n_unlabeled"] == 60 and metrics["model"] == "fnn_bn_fast"
    valid = pd.read_parquet(out / "valid_predictions.parquet")
    assert len(valid) == 15
    truth = valid[[f"{t}_true" for t in tasks]].to_numpy(dtype=float)
    again = evaluate(truth, valid[tasks].to_numpy(dtype=float), tasks, "classification", 10, 0)
    assert again.to_dict()["mean"]["roc_auc"] == pytest.approx(metrics["valid"]["mean"]["roc_auc"])
    assert len((out / "train_smiles.txt").read_text().split()) == 70  # labeled train rows only


def test_distill_cli_refuses_a_teacher_of_another_split(workdir, capsys):
    d, _ = workdir
    assert _distill(d, "teacher1", d / "refused") != 0
    assert "not on this split" in capsys.readouterr().err
    assert not (d / "refused" / "model.pt").exists()
