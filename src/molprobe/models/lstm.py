"""SMILES recurrent property model: embedding -> stacked LSTM/GRU/RNN -> linear head.

Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 1997. The SMILES
string is tokenized (``molprobe.chem.tokens.SmilesTokenizer``, id 0 = padding) and read
left to right; each recurrent layer is its own module so that a forward hook on it yields
that layer's summary of the molecule (B, hidden * directions): the hidden state after the
last real token (``pooling="last"``) or the mean over real tokens (``pooling="mean"``).
Padded sequences are packed, so the output does not depend on how much padding a batch has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from molprobe.errors import MolprobeError

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
POOLINGS = ("last", "mean")


def _batch_field(batch: Any, name: str) -> Any:
    """``batch[name]`` for a mapping, ``batch.name`` for a namedtuple/dataclass/PyG batch."""
    if isinstance(batch, Mapping):
        return batch[name]
    return getattr(batch, name)


class RecurrentLayer(nn.Module):
    """One recurrent layer over a padded batch.

    ``forward(x (B, L, D_in), lengths (B,), sink: dict) -> summary (B, H * directions)``.
    The full output sequence (B, L, H * directions), zero at padded positions, is written to
    ``sink["sequence"]`` for the next layer; the return value (what a forward hook sees) is
    the per-molecule summary.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        cell: str = "lstm",
        bidirectional: bool = False,
        pooling: str = "last",
        forget_bias: float = 1.0,
    ):
        super().__init__()
        if cell not in CELLS:
            raise MolprobeError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if pooling not in POOLINGS:
            raise MolprobeError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.cell = cell
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.hidden_size = hidden_size
        kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](
            input_size,
            hidden_size,
            num_layers=1,
            batch_first=True,
            bidirectional=bidirectional,
            **kwargs,
        )
        if cell == "lstm":
            # gate order (input, forget, cell, output): start by remembering (Gers et al. 2000;
            # Jozefowicz et al. 2015), otherwise f ~ 0.5 halves the cell gradient every token
            with torch.no_grad():
                for name, bias in self.rnn.named_parameters():
                    if name.startswith("bias_"):
                        bias[hidden_size : 2 * hidden_size] = (
                            forget_bias if name.startswith("bias_ih") else 0.0
                        )

    @property
    def output_size(self) -> int:
        return self.hidden_size * (2 if self.bidirectional else 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, sink: dict) -> torch.Tensor:
        total_length = x.shape[1]
        lengths_cpu = lengths.detach().to("cpu", torch.int64).clamp(min=1)
        packed = pack_padded_sequence(x, lengths_cpu, batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        if isinstance(h_n, tuple):  # LSTM: (h, c)
            h_n = h_n[0]
        seq, _ = pad_packed_sequence(out, batch_first=True, total_length=total_length)
        sink["sequence"] = seq
        if self.pooling == "last":
            # h_n: (directions, B, H), already the state after each molecule's last real
            # token (forward) / first token (backward), in the original batch order.
            return h_n.transpose(0, 1).reshape(x.shape[0], -1)
        mask = (
            torch.arange(total_length, device=x.device)[None, :] < lengths_cpu.to(x.device)[:, None]
        )
        summed = (seq * mask.unsqueeze(-1)).sum(dim=1)
        return summed / lengths_cpu.to(x.device, seq.dtype).unsqueeze(-1)


class SmilesLSTM(nn.Module):
    """Multi-task SMILES model: ``forward(batch) -> logits (B, n_tasks)``.

    ``batch`` holds ``ids`` (B, L) int64 token ids (0 = padding) and ``lengths`` (B,) int64
    (a dict or any object with these attributes); a bare ids tensor is also accepted, with
    lengths taken from the non-padding tokens.

    Args:
        vocab_size: number of token ids (padding 0 included).
        n_tasks: number of output logits.
        embed_dim: token embedding size.
        hidden_dim: recurrent state size per direction.
        n_layers: stacked recurrent layers, each its own module (see :meth:`hidden_layers`).
        dropout: dropout on embeddings, between layers and before the head.
        bidirectional: read the string both ways.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (vanilla tanh RNN).
        pooling: ``"last"`` (state after the last real token) or ``"mean"`` (masked mean).
        forget_bias: initial LSTM forget-gate bias (1.0: start by remembering).
    """

    def __init__(
        self,
        vocab_size: int,
        n_tasks: int,
        embed_dim: int = 64,
        hidden_dim: int = 256,
        n_layers: int = 2,
        dropout: float = 0.1,
        bidirectional: bool = False,
        cell: str = "lstm",
        pooling: str = "last",
        forget_bias: float = 1.0,
    ):
        super().__init__()
        if vocab_size < 2:
            raise MolprobeError(f"vocab_size must be >= 2, got {vocab_size}")
        if n_layers < 1:
            raise MolprobeError(f"n_layers must be >= 1, got {n_layers}")
        self.hparams = {
            "vocab_size": vocab_size,
            "n_tasks": n_tasks,
            "embed_dim": embed_dim,
            "hidden_dim": hidden_dim,
            "n_layers": n_layers,
            "dropout": dropout,
            "bidirectional": bidirectional,
            "cell": cell,
            "pooling": pooling,
            "forget_bias": forget_bias,
        }
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        layers = []
        size = embed_dim
        for _ in range(n_layers):
            layer = RecurrentLayer(size, hidden_dim, cell, bidirectional, pooling, forget_bias)
            layers.append(layer)
            size = layer.output_size
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(size, n_tasks)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token embeddings (B, L, embed_dim) for ids (B, L); padding rows are zero."""
        return self.embedding(ids)

    def forward_from_embeddings(self, emb: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_tasks) from token embeddings (B, L, embed_dim): for credit assignment."""
        h = self.dropout(emb)
        summary = None
        for i, layer in enumerate(self.layers):
            sink: dict = {}
            summary = layer(h, lengths, sink)
            h = sink["sequence"]
            if i < len(self.layers) - 1:
                h = self.dropout(h)
        return self.head(self.dropout(summary))

    def forward(self, batch: Any, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if isinstance(batch, torch.Tensor):
            ids = batch
        else:
            ids = _batch_field(batch, "ids")
            lengths = _batch_field(batch, "lengths")
        if ids.dim() != 2:
            raise MolprobeError(f"ids must be (batch, length), got shape {tuple(ids.shape)}")
        if lengths is None:
            lengths = (ids != 0).sum(dim=1)
        return self.forward_from_embeddings(self.embed(ids), lengths)

    def hidden_layers(self) -> list[tuple[str, nn.Module]]:
        """``[("lstm1", ...), ..., ("lstmN", ...)]`` (prefix = cell); hooks yield (B, H*dirs)."""
        prefix = self.hparams["cell"]
        return [(f"{prefix}{i + 1}", layer) for i, layer in enumerate(self.layers)]
