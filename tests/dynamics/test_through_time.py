"""Gradient through time: the unrolled pass equals the packed model; hand-checked last step."""

import numpy as np
import pytest
import torch

from molprobe.dynamics.through_time import (
    SequenceTrainConfig,
    build_model,
    state_gradients,
    summarize_by_distance,
    train_smiles_model,
)
from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM


def _data(n=6, length=15, vocab=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(4, length + 1, (n,), generator=g)
    ids = torch.zeros(n, length, dtype=torch.int64)
    for i, k in enumerate(lengths.tolist()):
        ids[i, :k] = torch.randint(1, vocab, (k,), generator=g)
    y = (torch.rand(n, 2, generator=g) > 0.5).float()
    y[0, 1] = float("nan")
    return ids, lengths, y


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_unrolled_pass_matches_model_and_last_state_gradient(cell):
    cfg = SequenceTrainConfig(embed_dim=5, hidden_dim=7, device="cpu")
    model = build_model(cell, 12, 2, cfg, seed=1).eval()
    ids, lengths, y = _data()
    table, logits = state_gradients(model, ids, lengths, y)
    with torch.no_grad():
        torch.testing.assert_close(logits, model({"ids": ids, "lengths": lengths}))
    # at the last token: dLoss_i/dh_T = W_head^T (sigmoid(z_i) - y_i) / n_observed_i
    mask = ~torch.isnan(y)
    resid = torch.where(mask, torch.sigmoid(logits) - torch.nan_to_num(y), 0.0)
    expected = (resid / mask.sum(1, keepdim=True)) @ model.head.weight.detach()
    last = table[table["distance"] == 0].sort_values("molecule")["grad_norm"].to_numpy()
    np.testing.assert_allclose(last, expected.norm(dim=1).numpy(), rtol=1e-4)
    assert len(table) == int(lengths.sum())
    assert set(table.groupby("molecule")["distance"].max()) == set((lengths - 1).tolist())


def test_vanilla_rnn_gradient_shrinks_with_distance():
    torch.manual_seed(0)
    model = SmilesLSTM(12, 2, embed_dim=5, hidden_dim=16, n_layers=1, dropout=0, cell="rnn")
    with torch.no_grad():
        model.layers[0].rnn.weight_hh_l0.mul_(0.3)  # contractive recurrence
    ids, lengths, y = _data(n=8, length=20)
    table, _ = state_gradients(model.eval(), ids, lengths, y)
    s = summarize_by_distance(table, min_molecules=3)
    assert s.loc[s["distance"] == 0, "relative"].item() == pytest.approx(1.0)
    far = s[s["distance"] >= 5]["relative"]
    assert (far < 1e-2).all()


def test_training_lowers_the_loss_and_rejects_stacked_models():
    ids, lengths, y = _data(n=32, length=10, seed=3)
    cfg = SequenceTrainConfig(embed_dim=8, hidden_dim=16, steps=60, batch_size=32, device="cpu")
    model = build_model("lstm", 12, 2, cfg, seed=0)
    losses = train_smiles_model(model, ids.numpy(), lengths.numpy(), y.numpy(), cfg, seed=0)
    assert len(losses) == 60
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    stacked = SmilesLSTM(12, 2, embed_dim=4, hidden_dim=4, n_layers=2)
    with pytest.raises(MolprobeError):
        state_gradients(stacked, ids, lengths, y)
