"""Small SMILES sequence models for the credit experiments, with one interface.

``build_sequence_model(arch, vocab_size, n_tasks, ...)``: ``rnn`` | ``lstm`` | ``gru`` are
one-layer unidirectional :class:`~molprobe.models.lstm.SmilesLSTM` (state after the last
token), ``transformer`` is :class:`SmilesTransformer`. Every model has ``embedding`` (the
token-embedding layer, id 0 = padding = zero vector) and ``forward(batch) -> logits (B, T)``
with ``batch = {"ids": (B, L) int64, "lengths": (B,) int64}``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM

SEQUENCE_ARCHS = ("rnn", "lstm", "gru", "transformer")


class SmilesTransformer(nn.Module):
    """Transformer encoder over SMILES tokens, masked mean pooling: (B, L) -> (B, n_tasks).

    Token + learned position embeddings (``max_len`` positions), ``n_layers`` pre-norm encoder
    layers with ``n_heads`` heads, padding masked out of attention and pooling.
    """

    def __init__(
        self,
        vocab_size: int,
        n_tasks: int,
        embed_dim: int = 32,
        n_heads: int = 4,
        n_layers: int = 2,
        max_len: int = 160,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.position = nn.Embedding(max_len, embed_dim)
        layer = nn.TransformerEncoderLayer(
            embed_dim, n_heads, 2 * embed_dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(embed_dim, n_tasks)

    def forward(self, batch: Any) -> torch.Tensor:
        ids, lengths = batch["ids"], batch["lengths"]
        pos = torch.arange(ids.shape[1], device=ids.device)
        mask = pos[None, :] < lengths[:, None]  # (B, L) True = real token
        h = self.embedding(ids) + self.position(pos)[None]
        h = self.encoder(h, src_key_padding_mask=~mask)
        pooled = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        return self.head(pooled)


def build_sequence_model(
    arch: str,
    vocab_size: int,
    n_tasks: int,
    embed_dim: int = 32,
    hidden_dim: int = 64,
    max_len: int = 160,
    seed: int = 0,
) -> nn.Module:
    """A freshly initialised model of ``arch`` (see :data:`SEQUENCE_ARCHS`), seeded."""
    if arch not in SEQUENCE_ARCHS:
        raise MolprobeError(f"arch must be one of {SEQUENCE_ARCHS}, got {arch!r}")
    torch.manual_seed(seed)
    if arch == "transformer":
        return SmilesTransformer(vocab_size, n_tasks, embed_dim=embed_dim, max_len=max_len)
    return SmilesLSTM(
        vocab_size,
        n_tasks,
        embed_dim=embed_dim,
        hidden_dim=hidden_dim,
        n_layers=1,
        dropout=0.0,
        cell=arch,
        pooling="last",
    )
