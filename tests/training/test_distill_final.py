"""The final distilled student end to end on a tiny real Tox21 slice: teachers' final models
(``molprobe train-final``), distilled split runs (``molprobe distill --split``), then
``molprobe distill --runs``: every labeled molecule + the unlabeled soft rows for the split
runs' median best epoch; only the unlabeled tables' smiles column is read; a split-run
teacher is refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from molprobe.cli import main
from molprobe.training.checkpoint import load_model
from tests.training._data import distill_tables

TINY = ["n_layers=2", "width=32"]
ECFP = '{"name": "ecfp", "n_bits": 256}'


def _run(args):
    before = torch.get_num_threads()
    try:
        return main(args)
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tox21_path):
    d = tmp_path_factory.mktemp("distill_final")
    tasks = distill_tables(d, tox21_path)
    common = ["--molecules", str(d / "molecules.parquet"), "--threads", "1"]
    teacher_runs = []
    for seed in (0, 1):
        assert _run(["train", "--model", "fnn_bn", *common, "--split", str(d / f"seed{seed}.json"),
                     "--features", str(d / "ecfp.npz"), "--params", *TINY, "epochs=3",
                     "--bootstrap", "10", "--output-dir", str(d / f"teacher{seed}")]) == 0  # fmt: skip
        teacher_runs.append(str(d / f"teacher{seed}" / "metrics.json"))
    assert _run(["train-final", "--model", "fnn_bn", *common, "--features", str(d / "ecfp.npz"),
                 "--runs", *teacher_runs, "--params", *TINY, "epochs=3",
                 "--output-dir", str(d / "teacher_final")]) == 0  # fmt: skip
    student = ["--model", "fnn_bn_fast", "--featurizer", ECFP, "--featurizer", "descriptors_fast",
               "--unlabeled", str(d / "unlabeled.parquet"), "--params", *TINY, "epochs=6",
               "patience=2"]  # fmt: skip
    for seed in (0, 1):
        assert _run(["distill", *common, *student, "--split", str(d / f"seed{seed}.json"),
                     "--teacher", str(d / f"teacher{seed}"), "--seed", str(seed),
                     "--output-dir", str(d / f"student{seed}")]) == 0  # fmt: skip
    return d, tasks, common, student


def test_final_student_trains_the_chosen_epochs_on_all_labeled_and_unlabeled(workdir, monkeypatch):
    d, tasks, common, student = workdir
    reads = []
    real = pd.read_parquet

    def spy(path, *args, **kwargs):  # the real reader, recording what is asked of it
        reads.append((str(path), kwargs.get("columns")))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", spy)
    runs = [str(d / f"student{s}" / "metrics.json") for s in (0, 1)]
    out = d / "final_student"
    assert _run(["distill", *common, *student, "--runs", *runs, "--teacher",
                 str(d / "teacher_final"), "--output-dir", str(out)]) == 0  # fmt: skip
    for name in ("model.pt", "meta.json", "final.json", "train_smiles.txt"):
        assert (out / name).exists(), name
    best = [json.loads((d / f"student{s}" / "metrics.json").read_text())["best_epoch"]
            for s in (0, 1)]  # fmt: skip
    record = json.loads((out / "final.json").read_text())
    want = max(1, int(np.floor(np.median(best) + 0.5)))
    assert record["epochs"] == want and record["epochs_run"] == want
    assert record["distilled"] and record["n_unlabeled"] == 60
    labeled = pd.read_parquet(d / "molecules.parquet")[tasks].notna().any(axis=1).sum()
    assert record["n_train"] == labeled
    assert len((out / "train_smiles.txt").read_text().split()) == labeled
    unl = [cols for path, cols in reads if path.endswith("unlabeled.parquet")]
    assert unl == [["smiles"]]  # structures only: its label column is never read
    loaded = load_model(out)
    assert loaded.meta.split["method"] == "all_labeled"
    assert len(loaded.meta.featurizers) == 2  # the --featurizer JSON spec's params are kept
    assert loaded.meta.featurizers[0]["name"] == "ecfp"
    assert loaded.meta.featurizers[0]["n_bits"] == 256


def test_final_student_refuses_a_split_run_teacher(workdir, capsys):
    d, _, common, student = workdir
    runs = [str(d / f"student{s}" / "metrics.json") for s in (0, 1)]
    out = d / "refused"
    assert _run(["distill", *common, *student, "--runs", *runs, "--teacher",
                 str(d / "teacher0"), "--output-dir", str(out)]) != 0  # fmt: skip
    assert "not on this split" in capsys.readouterr().err
    assert not (out / "model.pt").exists()
