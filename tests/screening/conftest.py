"""Real models shared by the screening tests (trained once per test session)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from molprobe.cli import main

TASKS = ["NR-AR", "NR-AhR", "SR-p53"]
LIBRARY = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "c1ccccc1[N+](=O)[O-]",
    "not a smiles",
    "",
    "CC(=O)[O-].[Na+]",
    "[Na+].[Cl-]",
    "C1=CC=CC=C1O",
    "Nc1ccc(cc1)S(N)(=O)=O",
    "C1CO1",
    "CCN(CC)CC",
    "c1cccc1",
    "OC(=O)CCCCCCCCCCC",
]


@pytest.fixture(scope="package", autouse=True)
def domain_cache(tmp_path_factory):
    """The domain's fingerprint cache in a temporary folder, not the user's."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("domain_cache")
        mp.setenv("MOLPROBE_CACHE_DIR", str(path))
        yield path


def run_cli(*argv: str) -> None:
    assert main(list(argv)) == 0


@pytest.fixture(scope="package")
def models(tmp_path_factory, tox21_path) -> Path:
    """An SNN (2 epochs), a GINE with a descriptor readout (1 epoch), a random forest and an
    SNN on ECFP + the fast descriptor set (the default screening family), trained on 300
    Tox21 rows."""
    d = tmp_path_factory.mktemp("models")
    raw = d / "tox21.csv"
    pd.read_csv(tox21_path, nrows=300)[["smiles", *TASKS]].to_csv(raw, index=False)
    mols = d / "molecules.parquet"
    run_cli("standardize", str(raw), "--output", str(mols), "--rejected", str(d / "rej.csv"))
    run_cli(
        "split", str(mols), "--method", "random", "--seed", "0", "--output", str(d / "split.json")
    )
    run_cli("featurize", str(mols), "--featurizer", "ecfp", "--output", str(d / "ecfp.npz"))
    run_cli("featurize", str(mols), "--featurizer", "graph", "--output", str(d / "graph.pt"))
    run_cli("featurize", str(mols), "--featurizer", "descriptors", "--output", str(d / "desc.npz"))
    run_cli(
        "featurize", str(mols), "--featurizer", "descriptors_fast", "--output", str(d / "fast.npz")
    )  # fmt: skip
    common = ["--molecules", str(mols), "--split", str(d / "split.json")]
    for model, feats, extra in (
        ("snn", ["ecfp.npz"], ["--epochs", "2", "--params", "n_layers=2", "width=32"]),
        # a graph net that also reads RDKit descriptors in its readout
        ("gine", ["graph.pt", "desc.npz"], ["--epochs", "1", "--params", "n_layers=2", "width=16"]),
        ("rf", ["ecfp.npz"], ["--params", "n_estimators=20"]),
        # the default screening family: ECFP bits + the fast descriptor set
        (
            "snn_fast",
            ["ecfp.npz", "fast.npz"],
            ["--epochs", "1", "--params", "n_layers=2", "width=32"],
        ),
    ):
        features = [a for f in feats for a in ("--features", str(d / f))]
        run_cli(
            "train", "--model", model, *common, *features,
            "--output-dir", str(d / "models" / model / "seed0"), *extra,
        )  # fmt: skip
    return d / "models"
