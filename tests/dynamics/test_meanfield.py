"""Measured error-signal growth at init against mean-field theory, on real Tox21 ECFP."""

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from molprobe.chem.featurize import ECFP
from molprobe.dynamics.deep_nets import DeepNet
from molprobe.dynamics.gradients import per_layer_gradients, prepare_fingerprints
from molprobe.dynamics.meanfield import (
    BN_RELU_CHI,
    highway_carry,
    meanfield_chi,
    meanfield_profile,
    plain_chi,
)


@pytest.fixture(scope="module")
def tox21_batch(tox21_path):
    df = pd.read_csv(tox21_path, nrows=600)
    df = df[[Chem.MolFromSmiles(s) is not None for s in df["smiles"]]].head(256)
    x, _ = prepare_fingerprints(ECFP(radius=2, n_bits=2048)(df["smiles"].tolist()))
    tasks = [c for c in df.columns if c not in ("smiles", "mol_id")]
    return torch.as_tensor(x), torch.as_tensor(df[tasks].to_numpy(np.float32).copy())


def _measured_chi(arch: str, depth: int, x, y, seeds=(0, 1, 2)) -> float:
    """Geometric mean over seeds of (||delta_1|| / ||delta_L||)^(2/(L-1)) at init."""
    logs = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = DeepNet(arch, x.shape[1], y.shape[1], depth, width=128)
        layers, _ = per_layer_gradients(net, x, y)
        logs.append(2 * np.log(layers[0].error_signal / layers[-1].error_signal) / (depth - 1))
    return float(np.exp(np.mean(logs)))


def test_theory_constants():
    assert plain_chi("selu", 1.0, 16) == pytest.approx(np.full(15, 1.0716), abs=2e-3)
    assert plain_chi("relu", 3.0, 8) == pytest.approx(np.ones(7), abs=1e-9)
    assert pytest.approx(1.467, abs=1e-3) == BN_RELU_CHI
    assert plain_chi("sigmoid", 1.0, 4)[-1] < 0.1  # sigmoid' <= 1/4: vanishing


@pytest.mark.parametrize(("arch", "theory"), [("selu", 1.07), ("relu_bn", BN_RELU_CHI)])
def test_error_signal_growth_at_depth_16_agrees_with_mean_field(tox21_batch, arch, theory):
    x, y = tox21_batch
    chi = _measured_chi(arch, 16, x, y)
    assert chi == pytest.approx(theory, rel=0.25)
    assert chi > 1.0  # both grow mildly towards the input at init: no vanishing to remedy


@pytest.mark.parametrize("arch", ["tanh", "relu", "highway", "residual"])
def test_meanfield_profile_predicts_the_measured_ratio(tox21_batch, arch):
    x, y = tox21_batch
    torch.manual_seed(0)
    net = DeepNet(arch, x.shape[1], y.shape[1], 16, width=128)
    predicted = meanfield_profile(net, x)
    assert predicted[-1] == 1.0 and len(predicted) == 16
    chi_pred = float(np.exp(np.log(meanfield_chi(net, x)).mean()))
    assert _measured_chi(arch, 16, x, y) == pytest.approx(chi_pred, rel=0.25)


def test_highway_carry_is_not_the_identity(tox21_batch):
    x, y = tox21_batch
    torch.manual_seed(0)
    net = DeepNet("highway", x.shape[1], y.shape[1], 32, width=128)
    carry = highway_carry(net, x)
    assert 0.8 < carry.mean() < 0.95  # gate bias -2: sigmoid(-2) = 0.12 transform, 0.88 carry
    assert np.prod(carry) < 0.05  # over 31 blocks the identity path is nearly gone
    assert _measured_chi("highway", 32, x, y) < 0.9  # the error signal vanishes
