"""Integrated gradients and gradient x input on captum, over every input a model reads.

Baselines are all zeros: fingerprint bits off, scaled descriptors at the training centre
(:class:`molprobe.chem.featurize.DescriptorScaler` output 0), atom and bond features empty.
Completeness: the attributions of a molecule sum to f(x) - f(baseline) of the task's logit,
up to the integral's discretisation error (``delta``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients

IG_STEPS = 32


def _task_logit(model: torch.nn.Module, task: int):
    def forward(*inputs):
        return model(*inputs)[:, task]

    return forward


def integrated_gradients(
    model: torch.nn.Module, X: np.ndarray, task: int, steps: int = IG_STEPS, baseline=None
) -> tuple[np.ndarray, np.ndarray]:
    """IG (n, F) of the logit of ``task`` for vector inputs X (n, F) over all columns, from
    ``baseline`` (default zeros), Gauss-Legendre with ``steps``; and delta (n,) = f(x) -
    f(baseline) - sum of the row's attributions."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
    base = torch.zeros_like(x) if baseline is None else torch.as_tensor(baseline).to(x)
    model.eval()
    ig = IntegratedGradients(_task_logit(model, task))
    attr, delta = ig.attribute(x, base, n_steps=steps, return_convergence_delta=True)
    return attr.detach().cpu().numpy(), -delta.detach().cpu().numpy()


@dataclass
class GraphAttribution:
    """IG of one molecule of a graph net: atoms (n_atoms, F_atom), edges (n_edges, F_bond) in
    the store's directed-edge order, mol (F_mol,) or None, delta (float)."""

    atoms: np.ndarray
    edges: np.ndarray
    mol: np.ndarray | None
    delta: float


def graph_integrated_gradients(model: torch.nn.Module, store, task: int,
                               steps: int = IG_STEPS) -> list[GraphAttribution]:  # fmt: skip
    """IG of the logit of ``task`` over atom features, bond features and (when the store has
    them) molecule-level features of each molecule of a
    :class:`molprobe.chem.graphs.GraphStore`, one molecule at a time (captum scales the
    leading dimension; every step is one copy of the molecule's graph in a batch)."""
    device = next(model.parameters()).device
    store = store.to(device)
    model.eval()
    out = []
    for i in range(len(store)):
        one = store.batch(torch.tensor([i], device=device))
        has_mol = getattr(one, "mol_features", None) is not None

        def forward(x3, e3, *m3, i=i):
            k = x3.shape[0]
            batch = store.batch(torch.full((k,), i, device=device))
            batch.x = x3.reshape(-1, x3.shape[-1])
            batch.edge_attr = e3.reshape(-1, e3.shape[-1])
            if m3:
                batch.mol_features = m3[0]
            return model(batch)[:, task]

        inputs = (one.x[None], one.edge_attr[None]) + ((one.mol_features,) if has_mol else ())
        base = tuple(torch.zeros_like(t) for t in inputs)
        attr, delta = IntegratedGradients(forward).attribute(
            inputs, base, n_steps=steps, return_convergence_delta=True
        )
        mol = attr[2][0].detach().cpu().numpy() if has_mol else None
        out.append(GraphAttribution(attr[0][0].detach().cpu().numpy(),
                                    attr[1][0].detach().cpu().numpy(), mol,
                                    -float(delta.detach().cpu()[0])))  # fmt: skip
    return out


def gradient_x_input(model: torch.nn.Module, store, task: int) -> list[np.ndarray]:
    """Per-molecule atom scores (list of (n_atoms_i,)): Σ_features x · ∂logit/∂x on the atom
    feature matrix of a :class:`molprobe.chem.graphs.GraphStore` (captum ``InputXGradient``)."""
    device = next(model.parameters()).device
    store = store.to(device)
    batch = store.batch(torch.arange(len(store), device=device))
    model.eval()

    def forward(x):
        batch.x = x
        return model(batch)[:, task].sum()[None]

    attr = InputXGradient(forward).attribute(batch.x.detach().clone().requires_grad_(True))
    per_atom = attr.sum(dim=1).detach().cpu().numpy()
    ptr = store.atom_ptr.cpu().numpy()
    return [per_atom[ptr[i] : ptr[i + 1]] for i in range(len(store))]
