"""Graph neural nets on molecular graphs (torch-geometric).

Both models take a ``torch_geometric.data.Batch`` with ``x`` (n_atoms, F_atom) float32,
``edge_index`` (2, n_edges) int64, ``edge_attr`` (n_edges, F_bond) float32 and ``batch``
(n_atoms,) int64 (molecule of each atom), and return logits (B, n_tasks).

Probing / gradient monitoring hook the modules listed by ``hidden_layers()``:
``mp1..mpN`` output node embeddings (n_atoms, width) after each message-passing step,
``pool`` outputs the pooled graph embedding (B, width).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GATConv, GINEConv, global_add_pool, global_mean_pool
from torch_geometric.nn.models.attentive_fp import GATEConv

from molprobe.errors import MolprobeError

POOLS = ("sum", "mean")


def _mlp(d_in: int, d_hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_hidden, d_out)
    )


def with_mol_features(h: torch.Tensor, batch, mol_dim: int) -> torch.Tensor:
    """Graph embedding (B, width) joined with the batch's molecule-level inputs
    ``batch.mol_features`` (B, mol_dim) when the model was built with ``mol_dim`` > 0."""
    if not mol_dim:
        return h
    M = getattr(batch, "mol_features", None)
    if M is None or M.shape[-1] != mol_dim:
        got = "none" if M is None else M.shape[-1]
        raise MolprobeError(
            f"this graph net reads {mol_dim} molecule features per graph, got {got}"
        )
    return torch.cat([h, M.to(h.dtype)], dim=1)


class GINEStep(nn.Module):
    """One residual GINE message-passing step:
    ``x' = x + Dropout(ReLU(BN(MLP((1+eps) x + sum_j ReLU(x_j + W e_ij)))))``.

    Hu et al., "Strategies for Pre-training Graph Neural Networks", ICLR 2020.
    ``forward(x (n_atoms, width), edge_index, edge_attr) -> (n_atoms, width)``: the node
    embeddings after this step (what a forward hook sees).
    """

    def __init__(self, width: int, edge_dim: int, dropout: float):
        super().__init__()
        mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.ReLU(), nn.Linear(2 * width, width))
        self.conv = GINEConv(mlp, train_eps=True, edge_dim=edge_dim)
        self.norm = nn.BatchNorm1d(width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, edge_index, edge_attr):
        h = self.conv(x, edge_index, edge_attr)
        return x + self.dropout(F.relu(self.norm(h)))


class GraphPool(nn.Module):
    """Sum or mean over each molecule's atoms: (n_atoms, width) -> (B, width)."""

    def __init__(self, pool: str):
        super().__init__()
        if pool not in POOLS:
            raise MolprobeError(f"pool must be one of {POOLS}, got {pool!r}")
        self.pool = pool

    def forward(self, x, batch, num_graphs: int):
        fn = global_add_pool if self.pool == "sum" else global_mean_pool
        return fn(x, batch, size=num_graphs)


class GINE(nn.Module):
    """GIN with edge features, residual connections and an MLP head.

    Args:
        atom_dim / bond_dim: per-atom / per-bond feature sizes of the GraphStore.
        n_tasks: outputs. n_layers: message-passing steps. width: embedding size.
        pool: ``sum`` or ``mean``. dropout: dropout in steps and head.
        mol_dim: molecule-level inputs (e.g. scaled RDKit descriptors) joined to the pooled
            embedding before the head (0 = graph only).
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        n_tasks: int,
        n_layers: int = 4,
        width: int = 192,
        pool: str = "sum",
        dropout: float = 0.1,
        mol_dim: int = 0,
    ):
        super().__init__()
        if n_layers < 1:
            raise MolprobeError(f"n_layers must be >= 1, got {n_layers}")
        self.atom_encoder = nn.Linear(atom_dim, width)
        self.steps = nn.ModuleList(GINEStep(width, bond_dim, dropout) for _ in range(n_layers))
        self.pool = GraphPool(pool)
        self.mol_dim = mol_dim
        self.head = _mlp(width + mol_dim, width, n_tasks, dropout)

    def embed(self, batch) -> torch.Tensor:
        """Pooled graph embedding (B, width)."""
        x = self.atom_encoder(batch.x)
        for step in self.steps:
            x = step(x, batch.edge_index, batch.edge_attr)
        return self.pool(x, batch.batch, batch.num_graphs)

    def forward(self, batch) -> torch.Tensor:
        return self.head(with_mol_features(self.embed(batch), batch, self.mol_dim))

    def hidden_layers(self) -> list[tuple[str, nn.Module]]:
        """``mp1..mpN`` -> node embeddings (n_atoms, width) after each step; ``pool`` -> (B, width)."""
        return [(f"mp{i + 1}", s) for i, s in enumerate(self.steps)] + [("pool", self.pool)]


class AttentiveStep(nn.Module):
    """One AttentiveFP atom-embedding step: graph attention message + GRU update.

    The first step uses an edge-aware attention (GATEConv), later ones GATConv.
    ``forward(x (n_atoms, width), edge_index, edge_attr) -> (n_atoms, width)``.
    """

    def __init__(self, width: int, edge_dim: int, dropout: float, first: bool):
        super().__init__()
        self.first = first
        if first:
            self.conv = GATEConv(width, width, edge_dim, dropout)
        else:
            self.conv = GATConv(
                width, width, dropout=dropout, add_self_loops=False, negative_slope=0.01
            )
        self.gru = nn.GRUCell(width, width)
        self.dropout = dropout

    def forward(self, x, edge_index, edge_attr):
        h = self.conv(x, edge_index, edge_attr) if self.first else self.conv(x, edge_index)
        h = F.dropout(F.elu(h), p=self.dropout, training=self.training)
        return F.relu(self.gru(h, x))


class AttentiveReadout(nn.Module):
    """AttentiveFP molecule readout: a virtual super-node attends over its atoms for
    ``timesteps`` GRU updates. ``forward(x, batch, num_graphs) -> (B, width)``.

    The atom weights of the last attention step are kept in ``last_attention`` (n_atoms,)
    after each forward (each molecule's weights sum to 1).
    """

    def __init__(self, width: int, timesteps: int, dropout: float):
        super().__init__()
        self.conv = GATConv(
            width, width, dropout=dropout, add_self_loops=False, negative_slope=0.01
        )
        self.gru = nn.GRUCell(width, width)
        self.timesteps = timesteps
        self.dropout = dropout
        self.last_attention: torch.Tensor | None = None

    def forward(self, x, batch, num_graphs: int):
        atoms = torch.arange(batch.size(0), device=batch.device)
        edge_index = torch.stack([atoms, batch], dim=0)
        out = F.relu(global_add_pool(x, batch, size=num_graphs))
        for _ in range(self.timesteps):
            h, (_, alpha) = self.conv(
                (x, out), edge_index, size=(x.size(0), num_graphs), return_attention_weights=True
            )
            self.last_attention = alpha.detach().view(-1)
            h = F.dropout(F.elu(h), p=self.dropout, training=self.training)
            out = F.relu(self.gru(h, out))
        return out


class AttentiveFP(nn.Module):
    """AttentiveFP (Xiong et al., J. Med. Chem. 2020), after torch_geometric's implementation,
    restructured so every atom-embedding step and the readout can be hooked.

    Args:
        atom_dim / bond_dim: feature sizes. n_tasks: outputs. n_layers: atom steps (>= 1).
        timesteps: readout attention steps. width: embedding size. dropout: dropout rate.
        mol_dim: molecule-level inputs joined to the readout before the head (0 = none).
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        n_tasks: int,
        n_layers: int = 3,
        timesteps: int = 2,
        width: int = 128,
        dropout: float = 0.1,
        mol_dim: int = 0,
    ):
        super().__init__()
        if n_layers < 1 or timesteps < 1:
            raise MolprobeError("AttentiveFP needs n_layers >= 1 and timesteps >= 1")
        self.atom_encoder = nn.Linear(atom_dim, width)
        self.steps = nn.ModuleList(
            AttentiveStep(width, bond_dim, dropout, first=(i == 0)) for i in range(n_layers)
        )
        self.readout = AttentiveReadout(width, timesteps, dropout)
        self.dropout = dropout
        self.mol_dim = mol_dim
        self.head = nn.Linear(width + mol_dim, n_tasks)

    def embed(self, batch) -> torch.Tensor:
        """Graph embedding (B, width)."""
        x = F.leaky_relu(self.atom_encoder(batch.x))
        for step in self.steps:
            x = step(x, batch.edge_index, batch.edge_attr)
        return self.readout(x, batch.batch, batch.num_graphs)

    def forward(self, batch) -> torch.Tensor:
        out = F.dropout(self.embed(batch), p=self.dropout, training=self.training)
        return self.head(with_mol_features(out, batch, self.mol_dim))

    @torch.no_grad()
    def atom_attention(self, batch) -> torch.Tensor:
        """Readout attention weight of every atom (n_atoms,) at the last timestep, in eval mode;
        weights of each molecule sum to 1 (``batch.batch`` maps atoms to molecules)."""
        was_training = self.training
        self.eval()
        try:
            self.embed(batch)
        finally:
            self.train(was_training)
        return self.readout.last_attention

    def hidden_layers(self) -> list[tuple[str, nn.Module]]:
        """``mp1..mpN`` -> (n_atoms, width); ``pool`` (attentive readout) -> (B, width)."""
        return [(f"mp{i + 1}", s) for i, s in enumerate(self.steps)] + [("pool", self.readout)]
