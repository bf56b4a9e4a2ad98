"""Gradients through time: how much of the loss gradient reaches early SMILES tokens.

A recurrent net reads a SMILES string token by token; the loss depends on the state after the
last token, so dLoss/dh_t for an earlier token t is a product of (T - t) step Jacobians. For a
vanilla tanh RNN that product shrinks geometrically; the LSTM's additive cell state carries it
(Hochreiter 1991; Hochreiter & Schmidhuber 1997). This module trains small one-layer
:class:`~molprobe.models.lstm.SmilesLSTM` models (cell ``rnn`` | ``lstm`` | ``gru``) and measures
||dLoss/dh_t|| against the distance ``T - 1 - t`` from the last token (0 = last token).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM
from molprobe.training.device import resolve_device
from molprobe.training.losses import masked_bce_with_logits

THROUGH_TIME_COLUMNS = [
    "arch",
    "step",
    "seed",
    "distance",
    "grad_norm",
    "grad_norm_state",
    "grad_norm_input",
    "relative",
    "relative_state",
    "relative_input",
    "n_molecules",
]
_MEASURES = ("grad_norm", "grad_norm_state", "grad_norm_input")
_CELLS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}


@dataclass(frozen=True)
class SequenceTrainConfig:
    """Small recurrent models for the dynamics experiments (trained for ``steps`` Adam steps)."""

    embed_dim: int = 32
    hidden_dim: int = 64
    steps: int = 300
    batch_size: int = 64
    learning_rate: float = 3e-3
    clip_norm: float = 1.0  # gradient-norm clipping, the same for every cell
    device: str = "auto"


def build_model(cell: str, vocab_size: int, n_tasks: int, config: SequenceTrainConfig, seed: int):
    """One-layer unidirectional :class:`SmilesLSTM` (no dropout, last-state pooling)."""
    torch.manual_seed(seed)
    return SmilesLSTM(
        vocab_size,
        n_tasks,
        embed_dim=config.embed_dim,
        hidden_dim=config.hidden_dim,
        n_layers=1,
        dropout=0.0,
        cell=cell,
        pooling="last",
    ).to(resolve_device(config.device))


def train_smiles_model(
    model: SmilesLSTM,
    ids: np.ndarray,
    lengths: np.ndarray,
    targets: np.ndarray,
    config: SequenceTrainConfig,
    seed: int,
) -> list[float]:
    """Train ``model`` in place with Adam on masked BCE; returns the loss per step.

    ids: (n, L) or (K, n, L) int64 token ids (K = alternative SMILES of each molecule, e.g.
    randomized SMILES for augmentation: each step draws one of the K strings per molecule);
    lengths: (n,) or (K, n); targets: (n, n_tasks) float, NaN = missing.
    """
    device = next(model.parameters()).device
    ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    len_t = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)
    if ids_t.dim() == 2:
        ids_t, len_t = ids_t.unsqueeze(0), len_t.unsqueeze(0)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    n_variants, n = ids_t.shape[0], ids_t.shape[1]
    if y.shape[0] != n:
        raise MolprobeError(f"{n} SMILES but {y.shape[0]} target rows")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    model.train()
    losses = []
    bs = min(config.batch_size, n)
    for _ in range(config.steps):
        rows = torch.randint(0, n, (bs,), generator=gen)
        variant = torch.randint(0, n_variants, (bs,), generator=gen)
        lens = len_t[variant, rows]
        width = int(lens.max())
        batch = {
            "ids": ids_t[variant, rows, :width].to(device),
            "lengths": lens.to(device),
        }
        opt.zero_grad(set_to_none=True)
        loss = masked_bce_with_logits(model(batch), y[rows].to(device))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def unrolled_cell(model: SmilesLSTM) -> nn.Module:
    """A ``nn.LSTMCell`` / ``GRUCell`` / ``RNNCell`` with the weights of the model's first layer."""
    if len(model.layers) != 1 or model.layers[0].bidirectional:
        raise MolprobeError("state gradients need a one-layer, unidirectional recurrent model")
    layer = model.layers[0]
    rnn = layer.rnn
    kwargs = {"nonlinearity": "tanh"} if layer.cell == "rnn" else {}
    cell = _CELLS[layer.cell](rnn.input_size, rnn.hidden_size, **kwargs).to(rnn.weight_ih_l0)
    with torch.no_grad():
        cell.weight_ih.copy_(rnn.weight_ih_l0)
        cell.weight_hh.copy_(rnn.weight_hh_l0)
        cell.bias_ih.copy_(rnn.bias_ih_l0)
        cell.bias_hh.copy_(rnn.bias_hh_l0)
    return cell


def state_gradients(
    model: SmilesLSTM, ids: torch.Tensor, lengths: torch.Tensor, targets: torch.Tensor
) -> tuple[pd.DataFrame, torch.Tensor]:
    """Per molecule i and real token t: norms of dLoss_i/dh_t, d/d(h_t, c_t) and d/dx_t.

    ids (B, L) int64, lengths (B,), targets (B, n_tasks) with NaN = missing. Explicit unrolling
    with the model's own weights. The loss is the sum over molecules of each molecule's masked
    BCE, so molecule i's gradients come from its own loss only. ``grad_norm``: the hidden
    output h_t after token t (for the LSTM with its cell state c_t held fixed);
    ``grad_norm_state``: the whole recurrent state ([h_t, c_t] for the LSTM, h_t otherwise);
    ``grad_norm_input``: the embedding x_t of token t. Returns a table (molecule, distance,
    grad_norm, grad_norm_state, grad_norm_input), distance = T_i - 1 - t (0 = last token), and
    the logits (B, n_tasks) of the unrolled pass (equal to ``model(...)``).
    """
    cell = unrolled_cell(model)
    is_lstm = isinstance(cell, nn.LSTMCell)
    device = next(model.parameters()).device
    ids = ids.to(device)
    lengths = lengths.to(device)
    targets = targets.to(device)
    emb = model.embed(ids).detach().requires_grad_(True)
    n, length = ids.shape
    hidden = model.layers[0].hidden_size
    h = emb.new_zeros(n, hidden)
    c = emb.new_zeros(n, hidden)
    hs, cs = [], []
    for t in range(length):
        active = (t < lengths).unsqueeze(-1)
        if is_lstm:
            h_new, c_new = cell(emb[:, t], (h, c))
            c = torch.where(active, c_new, c)
            c.retain_grad()
            cs.append(c)
        else:
            h_new = cell(emb[:, t], h)
        h = torch.where(active, h_new, h)
        h.retain_grad()
        hs.append(h)
    logits = model.head(h)
    mask = ~torch.isnan(targets)
    per_entry = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), reduction="none"
    )
    per_molecule = (per_entry * mask).sum(1) / mask.sum(1).clamp(min=1)
    per_molecule.sum().backward()

    def grads(states):  # (B, L, H); the last cell state feeds nothing, so its grad is None
        return torch.stack(
            [s.grad if s.grad is not None else torch.zeros_like(s) for s in states], 1
        )

    g_h = grads(hs)
    g_state = torch.cat([g_h, grads(cs)], -1) if is_lstm else g_h
    norms = {
        "grad_norm": g_h.norm(dim=-1),
        "grad_norm_state": g_state.norm(dim=-1),
        "grad_norm_input": emb.grad.norm(dim=-1),
    }
    norms = {k: v.detach().cpu().numpy() for k, v in norms.items()}
    cols: dict[str, list] = {"molecule": [], "distance": [], **{k: [] for k in norms}}
    for i, n_tok in enumerate(lengths.tolist()):
        cols["molecule"].append(np.full(n_tok, i))
        cols["distance"].append(n_tok - 1 - np.arange(n_tok))
        for k, v in norms.items():
            cols[k].append(v[i, :n_tok])
    table = pd.DataFrame({k: np.concatenate(v) for k, v in cols.items()})
    return table, logits.detach()


def summarize_by_distance(table: pd.DataFrame, min_molecules: int = 10) -> pd.DataFrame:
    """Per distance from the last token: the geometric mean over molecules of each gradient
    norm (``grad_norm*``) and of each molecule's norm relative to its own norm at distance 0
    (``relative*``, 1 at distance 0), and the number of molecules.

    Distances reached by fewer than ``min_molecules`` molecules are dropped.
    """
    t = table.copy()
    tiny = np.finfo(np.float64).tiny
    t = t[t["molecule"].isin(t.loc[t["distance"] == 0, "molecule"])]
    for measure, rel in zip(
        _MEASURES, ("relative", "relative_state", "relative_input"), strict=True
    ):
        last = t[t["distance"] == 0].set_index("molecule")[measure]
        t[rel] = t[measure] / t["molecule"].map(last)
        t[measure] = np.log(np.maximum(t[measure].to_numpy(np.float64), tiny))
        t[rel] = np.log(np.maximum(t[rel].to_numpy(np.float64), tiny))
    logs = [*_MEASURES, "relative", "relative_state", "relative_input"]
    out = t.groupby("distance")[logs].mean().apply(np.exp)
    out["n_molecules"] = t.groupby("distance")["molecule"].nunique()
    out = out[out["n_molecules"] >= min_molecules].reset_index()
    return out


def through_time_table(
    models: Sequence[tuple[str, int, int, SmilesLSTM]],
    ids: np.ndarray,
    lengths: np.ndarray,
    targets: np.ndarray,
    min_molecules: int = 10,
) -> pd.DataFrame:
    """Tidy table over models given as (arch, step, seed, model), on the same molecules."""
    ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    len_t = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)
    y_t = torch.as_tensor(np.asarray(targets), dtype=torch.float32)
    width = int(len_t.max())
    frames = []
    for arch, step, seed, model in models:
        model.eval()
        table, _ = state_gradients(model, ids_t[:, :width], len_t, y_t)
        summary = summarize_by_distance(table, min_molecules)
        summary.insert(0, "seed", seed)
        summary.insert(0, "step", step)
        summary.insert(0, "arch", arch)
        frames.append(summary)
        model.zero_grad(set_to_none=True)
    if not frames:
        return pd.DataFrame(columns=THROUGH_TIME_COLUMNS)
    return pd.concat(frames, ignore_index=True)[THROUGH_TIME_COLUMNS]
