"""`molprobe train` and `molprobe compare` end to end on a tiny real Tox21 slice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from molprobe.cli import main
from tests.training._data import tox21_slice


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, tox21_path):
    from molprobe.chem.featurize import ECFP, RDKitDescriptors, save_features
    from molprobe.chem.graphs import MolGraph

    d = tmp_path_factory.mktemp("train_cli")
    smiles, Y, tasks = tox21_slice(80, str(tox21_path))
    mols = pd.DataFrame(
        {"mol_id": [f"m{i}" for i in range(len(smiles))], "input_smiles": smiles, "smiles": smiles}
    )
    for t, task in enumerate(tasks):
        mols[task] = Y[:, t]
    mols.to_parquet(d / "molecules.parquet")
    for seed in (0, 1):
        p = np.random.default_rng(seed).permutation(len(smiles)).tolist()
        split = {
            "method": "random",
            "seed": seed,
            "fractions": [0.7, 0.15, 0.15],
            "train": p[:56],
            "valid": p[56:68],
            "test": p[68:],
        }
        (d / "splits" / "random").mkdir(parents=True, exist_ok=True)
        (d / "splits" / "random" / f"seed{seed}.json").write_text(json.dumps(split))
    for fz, name in (
        (ECFP(n_bits=256), "ecfp.npz"),
        (RDKitDescriptors(["MolWt", "MolLogP", "TPSA"]), "descriptors.npz"),
        (MolGraph(), "graphs.pt"),
    ):
        save_features(d / name, fz(smiles), fz.spec)
    return d, tasks


def _train(d, model, features, out, seed=0, extra=()):
    argv = [
        "train",
        "--model",
        model,
        "--molecules",
        str(d / "molecules.parquet"),
        "--split",
        str(d / "splits" / "random" / f"seed{seed}.json"),
    ]
    for f in features:
        argv += ["--features", str(d / f)]
    argv += [
        "--output-dir",
        str(out),
        "--epochs",
        "2",
        "--device",
        "auto",
        "--threads",
        "1",
        "--bootstrap",
        "20",
        *extra,
    ]
    return main(argv)


def test_train_writes_all_outputs_and_compare_collects_them(workdir, capsys):
    d, tasks = workdir
    res = d / "results"
    runs = [
        ("snn", ["ecfp.npz", "descriptors.npz"], ["--params", "n_layers=2", "width=32", "lr=1e-3"]),
        ("gine", ["graphs.pt"], ["--params", '{"n_layers": 2, "width": 16}']),
        ("rf", ["ecfp.npz"], ["--params", "n_estimators=10"]),
    ]
    for model, feats, extra in runs:
        for seed in (0, 1):
            out = res / model / "random" / f"seed{seed}"
            assert _train(d, model, feats, out, seed, extra) == 0
            weights = "model.skops" if model == "rf" else "model.pt"
            for f in (weights, "meta.json", "metrics.json", "history.csv", "predictions.parquet"):
                assert (out / f).is_file(), f
    out = res / "snn" / "random" / "seed0"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 0 and metrics["split"]["name"] == "random"
    assert set(metrics["test"]["mean"]) == {"roc_auc", "pr_auc"}
    assert metrics["test"]["mean_ci_low"]["roc_auc"] <= metrics["test"]["mean"]["roc_auc"]
    assert "valid" in metrics and len(metrics["test"]["tasks"]) == len(tasks)
    meta = json.loads((out / "meta.json").read_text())
    assert [f["name"] for f in meta["featurizers"]] == ["ecfp", "descriptors"]
    assert meta["descriptor_scaler"] is not None and meta["hyperparameters"]["n_layers"] == 2
    assert meta["train_config"]["lr"] == 1e-3
    history = pd.read_csv(out / "history.csv")
    assert list(history["epoch"]) == [1, 2] and "grad_norm/block1" in history.columns
    pred = pd.read_parquet(out / "predictions.parquet")
    assert len(pred) == 12 and {"mol_id", "smiles", tasks[0], f"{tasks[0]}_true"} <= set(
        pred.columns
    )
    assert pred[tasks[0]].between(0, 1).all()

    capsys.readouterr()
    assert (
        main(
            [
                "compare",
                str(res),
                "--output",
                str(d / "comparison.csv"),
                "--plot",
                str(d / "comparison.png"),
                "--ensemble",
            ]
        )
        == 0
    )
    table = pd.read_csv(d / "comparison.csv")
    summary = table[table["seed"] == "mean"]
    assert set(summary["model"]) == {"snn", "gine", "rf", "ensemble"}
    assert (summary["n_seeds"] == 2).all() and summary["std"].notna().all()
    rf = table[(table["model"] == "rf") & (table["seed"] != "mean")]["value"]
    assert summary[summary["model"] == "rf"]["value"].iloc[0] == pytest.approx(rf.mean())
    assert (d / "comparison.png").stat().st_size > 1000
    # the ensemble averages the three models' test predictions of the same split and seed
    from molprobe.training.metrics import evaluate

    frames = [
        pd.read_parquet(res / m / "random" / "seed0" / "predictions.parquet")
        for m in ("gine", "rf", "snn")
    ]
    avg = np.mean([f[tasks].to_numpy() for f in frames], axis=0)
    expected = evaluate(
        frames[0][[f"{t}_true" for t in tasks]].to_numpy(), avg, tasks, n_bootstrap=0
    )
    ens = table[(table["model"] == "ensemble") & (table["seed"] == "0")]["value"].iloc[0]
    assert ens == pytest.approx(expected.mean["roc_auc"])


def test_train_refuses_wrong_features_and_bad_params(workdir, tmp_path, capsys):
    d, _ = workdir
    assert _train(d, "gine", ["ecfp.npz"], tmp_path / "a") == 2
    assert "expected a graph file" in capsys.readouterr().err
    assert _train(d, "snn", ["ecfp.npz"], tmp_path / "b", extra=["--params", "depth=3"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert not (tmp_path / "b" / "model.pt").exists()


def test_evaluate_reproduces_test_metrics_and_refuses_other_featurizer(workdir, tmp_path, capsys):
    from molprobe.chem.featurize import ECFP, save_features

    d, _ = workdir
    out = tmp_path / "snn"
    extra = ["--params", "n_layers=2", "width=16"]
    assert _train(d, "snn", ["ecfp.npz", "descriptors.npz"], out, 0, extra) == 0
    split = str(d / "splits" / "random" / "seed0.json")
    argv = [
        "evaluate",
        "--model-dir",
        str(out),
        "--molecules",
        str(d / "molecules.parquet"),
        "--split",
        split,
    ]
    feats = ["--features", str(d / "ecfp.npz"), "--features", str(d / "descriptors.npz")]
    argv_ok = [*argv, *feats, "--output", str(tmp_path / "eval.json"), "--bootstrap", "20"]
    assert main(argv_ok) == 0
    trained = json.loads((out / "metrics.json").read_text())["test"]["mean"]
    again = json.loads((tmp_path / "eval.json").read_text())["test"]["mean"]
    assert again["roc_auc"] == pytest.approx(trained["roc_auc"], abs=1e-9)

    smiles = pd.read_parquet(d / "molecules.parquet")["smiles"].tolist()
    fz = ECFP(radius=3, n_bits=256)
    save_features(tmp_path / "ecfp6.npz", fz(smiles), fz.spec)
    bad = [
        *argv,
        "--features",
        str(tmp_path / "ecfp6.npz"),
        "--features",
        str(d / "descriptors.npz"),
    ]
    capsys.readouterr()
    assert main([*bad, "--output", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "featurizer mismatch" in err and "radius" in err


def test_train_lstm_on_tokens(workdir, tmp_path):
    from molprobe.chem.featurize import save_features
    from molprobe.chem.tokens import SmilesTokenizer

    d, _ = workdir
    smiles = pd.read_parquet(d / "molecules.parquet")["smiles"].tolist()
    tok = SmilesTokenizer().fit(smiles)
    save_features(tmp_path / "tokens.npz", tok(smiles), tok.spec)
    out = tmp_path / "lstm"
    extra = ["--params", "hidden_dim=16", "embed_dim=8", "n_layers=1"]
    assert _train(d, "lstm", [str(tmp_path / "tokens.npz")], out, 0, extra) == 0
    history = pd.read_csv(out / "history.csv")
    assert "grad_norm/lstm1" in history.columns
    meta = json.loads((out / "meta.json").read_text())
    assert meta["input_dims"]["vocab_size"] == tok.vocab_size


def test_graph_net_with_descriptor_readout(workdir, tmp_path, capsys):
    """A GINE reading RDKit descriptors beside its pooled graph embedding (chemprop-style
    extra features): trains, records both featurizers and the scaler, evaluates again only
    with the same inputs."""
    d, _ = workdir
    out = tmp_path / "gine_desc"
    extra = ["--params", "n_layers=2", "width=16"]
    assert _train(d, "gine", ["graphs.pt", "descriptors.npz"], out, 0, extra) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert [f["name"] for f in meta["featurizers"]] == ["graph", "descriptors"]
    assert meta["input_dims"]["mol_dim"] == 3 and meta["descriptor_scaler"] is not None
    argv = ["evaluate", "--model-dir", str(out), "--molecules", str(d / "molecules.parquet"),
            "--split", str(d / "splits" / "random" / "seed0.json"), "--bootstrap", "20"]  # fmt: skip
    both = ["--features", str(d / "graphs.pt"), "--features", str(d / "descriptors.npz")]
    assert main([*argv, *both, "--output", str(tmp_path / "e.json")]) == 0
    trained = json.loads((out / "metrics.json").read_text())["test"]["mean"]["roc_auc"]
    again = json.loads((tmp_path / "e.json").read_text())["test"]["mean"]["roc_auc"]
    assert again == pytest.approx(trained, abs=1e-9)
    capsys.readouterr()
    graph_only = ["--features", str(d / "graphs.pt"), "--output", str(tmp_path / "f.json")]
    assert main([*argv, *graph_only]) == 2
    assert "featurizer" in capsys.readouterr().err
    descriptors_first = [*both[2:], *both[:2], "--output", str(tmp_path / "g.json")]
    assert main([*argv, *descriptors_first]) == 2


def test_train_logs_one_line_per_epoch_when_not_a_terminal(workdir, tmp_path, tool_env):
    """Under Snakemake stderr goes to a log file: no progress bar, one INFO line per epoch."""
    import subprocess

    from tests.conftest import BIN, REPO

    d, _ = workdir
    cmd = [str(BIN / "molprobe"), "train", "--model", "snn", "--molecules", str(d / "molecules.parquet"),
           "--split", str(d / "splits/random/seed0.json"), "--features", str(d / "ecfp.npz"),
           "--output-dir", str(tmp_path / "snn"), "--epochs", "3", "--threads", "1",
           "--bootstrap", "5", "--params", "n_layers=2", "width=16", "patience=0"]  # fmt: skip
    env = dict(tool_env, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    epochs = [line for line in proc.stderr.splitlines() if "molprobe.training.loop: epoch" in line]
    assert [line.split(": epoch ")[1].split(":")[0] for line in epochs] == ["1", "2", "3"]
    assert "\r" not in proc.stderr  # no bar drawn into the log


def test_train_starts_from_a_pretrained_encoder(workdir, tmp_path, capsys):
    """`molprobe train --init` (the fine-tuning path of `molprobe pretrain`'s encoder): with a
    vanishing learning rate the trained encoder equals the pretrained one; without --init it
    does not; an encoder of another width is refused, naming the mismatch."""
    import torch

    d, _ = workdir
    smiles = pd.read_parquet(d / "molecules.parquet")["smiles"]
    structures = tmp_path / "structures.csv"
    pd.DataFrame({"smiles": smiles}).to_csv(structures, index=False)
    pre = tmp_path / "pretrain"
    gine = ["n_layers=2", "width=16", "pool=mean"]
    rc = main(["pretrain", "--structures", str(structures), "--params", *gine, "epochs=1",
               "--descriptors", "MolWt", "MolLogP", "--device", "cpu", "--threads", "1",
               "--output-dir", str(pre)])  # fmt: skip
    assert rc == 0
    encoder = torch.load(pre / "model.pt")
    params = ["--params", *gine, "lr=1e-12"]
    init = ["--init", str(pre / "model.pt")]
    assert _train(d, "gine", ["graphs.pt"], tmp_path / "ft", extra=[*params, *init]) == 0
    assert _train(d, "gine", ["graphs.pt"], tmp_path / "fresh", extra=params) == 0
    tuned = torch.load(tmp_path / "ft" / "model.pt")
    fresh = torch.load(tmp_path / "fresh" / "model.pt")
    weights = [k for k in encoder if k.endswith("weight") and "norm" not in k]
    assert weights and all(torch.allclose(tuned[k], encoder[k], atol=1e-8) for k in weights)
    assert not any(torch.allclose(fresh[k], encoder[k], atol=1e-3) for k in weights)
    metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert metrics["init"] == str(pre / "model.pt")
    assert "init" not in json.loads((tmp_path / "fresh" / "metrics.json").read_text())
    capsys.readouterr()
    wide = ["--params", "n_layers=2", "width=32", "pool=mean", *init]
    assert _train(d, "gine", ["graphs.pt"], tmp_path / "wide", extra=wide) == 2
    assert "do not fit 'gine'" in capsys.readouterr().err
    assert not (tmp_path / "wide" / "model.pt").exists()
    not_weights = tmp_path / "not_weights.pt"
    not_weights.write_text("smiles\nCCO\n")
    bad = ["--params", *gine, "--init", str(not_weights)]
    assert _train(d, "gine", ["graphs.pt"], tmp_path / "bad", extra=bad) == 2
    assert f"{not_weights}: refusing to load" in capsys.readouterr().err
