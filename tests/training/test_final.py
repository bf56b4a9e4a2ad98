"""Final models: trained on every labeled molecule (and no unlabeled one) for the median
best validation epoch of the split runs, end to end through `molprobe train` and
`molprobe train-final` on a real Tox21 slice; screening then loads them like any model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from molprobe.chem.featurize import ECFP, RDKitDescriptors, load_features, save_features
from molprobe.cli import main
from molprobe.errors import MolprobeError
from molprobe.training.checkpoint import data_fingerprint, load_model
from molprobe.training.final import FinalConfig, chosen_epochs, labeled_rows, train_final
from tests.training._data import tox21_slice

N, N_UNLABELED = 90, 10
SNN = ["n_layers=2", "width=16", "epochs=6", "patience=0"]
RF = ["n_estimators=4"]  # plumbing: a few trees are enough
TASKS = ["NR-AhR", "SR-ARE", "SR-MMP"]  # 3 of the 12 (the most actives): the plumbing is per task


@pytest.fixture(scope="module")
def stage(tmp_path_factory, tox21_path):
    """90 real Tox21 molecules with 3 tasks, the last 10 with every label removed; ECFP + 3
    descriptors; two split runs per family (SNN, RF) written by `molprobe train`."""
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("final")
    smiles, Y, all_tasks = tox21_slice(N, str(tox21_path))
    Y, tasks = Y[:, [all_tasks.index(t) for t in TASKS]].copy(), TASKS
    Y[-N_UNLABELED:] = np.nan
    mols = pd.DataFrame({"mol_id": [f"m{i}" for i in range(N)], "smiles": smiles})
    for t, task in enumerate(tasks):
        mols[task] = Y[:, t]
    mols.to_parquet(d / "molecules.parquet")
    save_features(d / "ecfp.npz", ECFP(n_bits=256)(smiles), ECFP(n_bits=256).spec)
    desc = RDKitDescriptors(["MolWt", "MolLogP", "TPSA"])
    save_features(d / "desc.npz", desc(smiles), desc.spec)
    (d / "splits" / "random").mkdir(parents=True)
    for seed in (0, 1):
        p = np.random.default_rng(seed).permutation(N).tolist()
        split = {"method": "random", "seed": seed, "train": p[:60], "valid": p[60:75],
                 "test": p[75:]}  # fmt: skip
        (d / "splits" / "random" / f"seed{seed}.json").write_text(json.dumps(split))
    for model, params in (("snn", SNN), ("rf", RF)):
        for seed in (0, 1):
            out = d / "models" / model / f"seed{seed}"
            feats = ["--features", str(d / "ecfp.npz")]
            if model == "snn":
                feats += ["--features", str(d / "desc.npz")]
            rc = main(["train", "--model", model, "--molecules", str(d / "molecules.parquet"),
                       "--split", str(d / "splits" / "random" / f"seed{seed}.json"), *feats,
                       "--params", *params, "--device", "cpu", "--threads", "1",
                       "--bootstrap", "10", "--output-dir", str(out)])  # fmt: skip
            assert rc == 0
    return d, mols, tasks, Y


def _metrics(d, model):
    return [json.loads((d / "models" / model / f"seed{s}" / "metrics.json").read_text())
            for s in (0, 1)]  # fmt: skip


def test_chosen_epochs_is_the_median_best_epoch():
    runs = [{"best_epoch": b, "split": {"name": n}, "seed": s}
            for b, n, s in ((3, "random", 0), (8, "random", 1), (5, "scaffold", 0), (6, "x", 1))]  # fmt: skip
    choice = chosen_epochs(runs)
    assert choice.epochs == 6 and choice.best_epochs == [3, 8, 5, 6]  # median 5.5 -> 6
    assert choice.runs == ["random/seed0", "random/seed1", "scaffold/seed0", "x/seed1"]
    assert chosen_epochs(runs[:3]).epochs == 5
    with pytest.raises(MolprobeError, match="at least one split run"):
        chosen_epochs([])


def test_split_runs_write_validation_predictions(stage):
    d, *_ = stage
    valid = pd.read_parquet(d / "models" / "snn" / "seed0" / "valid_predictions.parquet")
    split = json.loads((d / "splits" / "random" / "seed0.json").read_text())
    assert valid["mol_id"].tolist() == [f"m{i}" for i in split["valid"]]


def test_cli_trains_on_every_labeled_row_for_the_chosen_epochs(stage, tmp_path):
    d, mols, tasks, Y = stage
    best = [m["best_epoch"] for m in _metrics(d, "snn")]
    want = int(np.floor(np.median(best) + 0.5))
    out = tmp_path / "final" / "snn" / "seed_0"
    runs = [str(d / "models" / "snn" / f"seed{s}" / "metrics.json") for s in (0, 1)]
    rc = main(["train-final", "--model", "snn", "--molecules", str(d / "molecules.parquet"),
               "--features", str(d / "ecfp.npz"), "--features", str(d / "desc.npz"),
               "--runs", *runs, "--params", *SNN, "--seed", "0", "--device", "cpu",
               "--threads", "1", "--output-dir", str(out)])  # fmt: skip
    assert rc == 0
    record = json.loads((out / "final.json").read_text())
    assert record["n_train"] == N - N_UNLABELED and record["n_unlabeled"] == N_UNLABELED
    assert record["epochs"] == want and record["epochs_run"] == want
    assert sorted(record["split_runs"].values()) == sorted(best)
    smiles = (out / "train_smiles.txt").read_text().split()
    assert smiles == mols["smiles"].tolist()[: N - N_UNLABELED]
    loaded = load_model(out)
    rows = np.arange(N - N_UNLABELED)
    assert loaded.meta.data_fingerprint == data_fingerprint(smiles, Y[rows])
    assert loaded.meta.split["n_train"] == N - N_UNLABELED and loaded.meta.split["n_test"] == 0
    # the schedule spans the configured 6 epochs; training stopped at the chosen one
    assert loaded.meta.train_config["epochs"] == 6
    assert loaded.meta.train_config["stop_epoch"] == want


def test_library_final_rf_and_settings_check(stage):
    d, mols, tasks, Y = stage
    assert labeled_rows(Y).tolist() == list(range(N - N_UNLABELED))
    feats = [d / "ecfp.npz"]
    cfg = FinalConfig(model="rf", params={"n_estimators": 4}, seed=1)
    run = train_final(mols, tasks, feats, cfg, _metrics(d, "rf"))
    assert run.record["n_train"] == N - N_UNLABELED and run.record["epochs"] is None
    proba = run.model.predict(load_features(d / "ecfp.npz")[0][:5].astype(np.float32))
    assert proba.shape == (5, len(tasks)) and np.isfinite(proba).all()
    # split runs made with other hyperparameters cannot set this model's epochs
    other = FinalConfig(model="rf", params={"n_estimators": 50})
    with pytest.raises(MolprobeError, match="settings its epochs were chosen with"):
        train_final(mols, tasks, feats, other, _metrics(d, "rf"))
    with pytest.raises(MolprobeError, match="not rf"):
        train_final(mols, tasks, feats, cfg, _metrics(d, "snn"))
    # a final model starts as its split runs did: fresh runs cannot set a fine-tune's epochs
    tuned = FinalConfig(model="rf", params={"n_estimators": 4}, init=d / "encoder.pt")
    with pytest.raises(MolprobeError, match="started fresh, but this final model starts from"):
        train_final(mols, tasks, feats, tuned, _metrics(d, "rf"))
    started = [{**m, "init": "encoder.pt"} for m in _metrics(d, "rf")]
    with pytest.raises(MolprobeError, match="started from encoder.pt, but this final model"):
        train_final(mols, tasks, feats, cfg, started)


def test_calibration_cli_on_the_split_runs(stage, tmp_path):
    """`molprobe calibration` scores the real split runs of two families and their ensemble."""
    d, *_ = stage
    dirs = [str(d / "models" / m / f"seed{s}") for m in ("snn", "rf") for s in (0, 1)]
    out = tmp_path / "calibration.csv"
    plot = tmp_path / "calibration.png"
    assert main(["calibration", *dirs, "--output", str(out), "--plot", str(plot)]) == 0
    table = pd.read_csv(out)
    assert set(table["model"]) == {"snn", "rf", "ensemble"}
    assert set(table["seed"]) == {0, 1} and table["ece"].between(0, 1).all()
    assert plot.stat().st_size > 0
