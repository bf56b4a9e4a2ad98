"""Pretraining on unlabeled structures: the loader passes structures only (a MUV slice with
its 17 assay columns and identifiers comes out as SMILES alone), the descriptor-pretrained
GINE predicts held-out descriptors better than their mean, and its encoder (not its head)
starts a real Tox21 fine-tuning run."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import torch

from molprobe.chem.graphs import MolGraph
from molprobe.cli import main
from molprobe.training.data import Split
from molprobe.training.loop import fit, make_train_config
from molprobe.training.pretrain import (
    STRUCTURE_COLUMNS,
    PretrainConfig,
    pretrain_encoder,
    pretrain_on_files,
    read_structures,
)
from tests.training._data import tox21_slice

GINE = {"n_layers": 2, "width": 32, "dropout": 0.0}
DESCRIPTORS = ["MolWt", "MolLogP", "TPSA", "NumHDonors", "NumHAcceptors", "RingCount"]


@pytest.fixture(scope="module")
def muv_file(tmp_path_factory, mirror):
    """The first 400 rows of MUV as CSV (smiles, the 17 assay label columns, an identifier),
    plus a duplicate, an unparsable SMILES and an empty one."""
    with gzip.open(mirror / "muv.csv.gz", "rt") as fh:
        df = pd.read_csv(fh, nrows=400)
    df["mol_id"] = [f"MUV{i}" for i in range(len(df))]  # an identifier column, also dropped
    extra = df.iloc[:3].copy()
    extra["smiles"] = [df["smiles"].iloc[0], "not_a_smiles", ""]
    path = tmp_path_factory.mktemp("muv") / "muv_slice.csv"
    pd.concat([df, extra]).to_csv(path, index=False)
    return path, df


def test_loader_keeps_structures_only(muv_file):
    path, df = muv_file
    labels = [c for c in df.columns if c.startswith("MUV-")]
    assert len(labels) == 17 and "mol_id" in df.columns  # the file really has labels
    got = read_structures([path])
    assert tuple(got.columns) == STRUCTURE_COLUMNS
    assert got["smiles"].is_unique and len(got) <= 400 and len(got) >= 390
    assert set(got["source"]) == {"muv_slice.csv"}
    # excluding structures (e.g. a fine-tuning set) removes exactly those
    some = set(got["smiles"].iloc[:10])
    assert len(read_structures([path], exclude=some)) == len(got) - 10


def test_pretrained_encoder_predicts_descriptors_and_starts_finetuning(muv_file, tox21_path):
    torch.set_num_threads(1)
    smiles = read_structures([muv_file[0]])["smiles"].tolist()
    cfg = PretrainConfig(params={**GINE, "epochs": 15, "lr": 3e-3, "patience": 0},
                         descriptors=DESCRIPTORS, valid_fraction=0.2, device="cpu")  # fmt: skip
    res = pretrain_encoder(smiles, cfg)
    assert res.descriptors == DESCRIPTORS and res.n_molecules == len(smiles)
    # positive control: held-out descriptors are predicted well below the mean predictor
    assert res.best_rmse < 0.85 * res.baseline_rmse, (res.best_rmse, res.baseline_rmse)
    assert not any(k.startswith("head.") for k in res.encoder)

    tox_smiles, Y, _ = tox21_slice(80, str(tox21_path))
    graphs = MolGraph()(tox_smiles)
    p = np.random.default_rng(0).permutation(80)
    split = Split(p[:56], p[56:68], p[68:])
    tc = make_train_config("gine", {"epochs": 1, "device": "cpu", "seed": 0})
    model, _ = fit("gine", GINE, graphs, Y, split, "classification", tc, init_state=res.encoder)
    fresh, _ = fit("gine", GINE, graphs, Y, split, "classification", tc)
    # one epoch moves the weights a little: the fine-tuned encoder stays near the pretrained
    # one, much nearer than a fresh start ends up
    key = "atom_encoder.weight"
    start = res.encoder[key]
    assert (model.state_dict()[key] - start).norm() < 0.5 * (fresh.state_dict()[key] - start).norm()
    assert model.state_dict()["head.3.weight"].shape[0] == Y.shape[1]


def test_cli_pretrain_writes_a_headless_encoder_without_the_excluded_structures(muv_file, tmp_path):
    """`molprobe pretrain` (the rule `pretrain`): structures only, the fine-tuning set's
    structures left out, a seeded sample; model.pt holds no head, meta.json says what it read."""
    path, _ = muv_file
    some = read_structures([path])["smiles"].iloc[:50].tolist()
    exclude = tmp_path / "molecules.parquet"
    pd.DataFrame({"mol_id": range(50), "smiles": some, "T1": 1.0}).to_parquet(exclude)
    out = tmp_path / "pretrain" / "gine"
    rc = main(["pretrain", "--structures", str(path), "--exclude", str(exclude),
               "--params", "n_layers=2", "width=16", "pool=mean", "epochs=2",
               "--descriptors", *DESCRIPTORS, "--max-structures", "300", "--device", "cpu",
               "--threads", "1", "--output-dir", str(out)])  # fmt: skip
    assert rc == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["n_molecules"] == 300 and meta["n_excluded"] == 50
    assert meta["descriptors"] == DESCRIPTORS and meta["sources"] == ["muv_slice.csv"]
    state = torch.load(out / "model.pt")
    assert state and not any(k.startswith("head.") for k in state)
    assert len(pd.read_csv(out / "history.csv")) == 2
    with pytest.raises(Exception, match="no structures"):
        pretrain_on_files([path], PretrainConfig(), exclude=set(read_structures([path])["smiles"]))
