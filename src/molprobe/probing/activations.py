"""Layer activations via forward hooks, and random-init copies of a model.

``collect_activations(model, batches, device)`` runs the model in eval mode over the
batches and returns, for every ``hidden_layers()`` entry, the hook output stacked over all
batches: (n_molecules, width) for molecule-level layers, (n_atoms_total, width) for the node
embeddings of graph nets. The model input is recorded as layer ``input`` (layer 0): the
feature vectors (B, F) of vector models, the atom features ``x`` (n_atoms, F_atom) of graphs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.training.device import resolve_device

INPUT_LAYER = "input"


class ActivationSet(dict):
    """``{layer name: ndarray}`` in layer order, plus where atoms are.

    Attributes:
        node_layers: names whose rows are atoms (graph nets) rather than molecules.
        atom_ptr: (n_molecules + 1,) int64 offsets of each molecule's atoms in node layers
            (None for models without graph input).
    """

    node_layers: frozenset[str] = frozenset()
    atom_ptr: np.ndarray | None = None

    @property
    def n_molecules(self) -> int:
        if self.atom_ptr is not None:
            return len(self.atom_ptr) - 1
        return len(next(iter(self.values()))) if self else 0

    def molecule_level(self, pool: str = "sum") -> dict[str, np.ndarray]:
        """Every layer as (n_molecules, width): node layers pooled (``sum`` or ``mean``)."""
        return {
            name: pool_nodes(a, self.atom_ptr, pool) if name in self.node_layers else a
            for name, a in self.items()
        }


def pool_nodes(nodes: np.ndarray, atom_ptr: np.ndarray, how: str = "sum") -> np.ndarray:
    """Pool node rows (n_atoms, width) per molecule -> (n_molecules, width)."""
    counts = np.diff(atom_ptr)
    mol = np.repeat(np.arange(len(counts)), counts)
    out = np.zeros((len(counts), nodes.shape[1]), np.float64)
    np.add.at(out, mol, nodes)
    if how == "mean":
        out /= np.maximum(counts, 1)[:, None]
    elif how != "sum":
        raise MolprobeError(f"pool must be 'sum' or 'mean', got {how!r}")
    return out.astype(np.float32)


def _is_graph(batch) -> bool:
    return hasattr(batch, "num_graphs") and hasattr(batch, "batch") and hasattr(batch, "x")


def _to_device(batch, device: torch.device):
    if isinstance(batch, torch.Tensor) or hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    return batch


def _first_tensor(output) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise MolprobeError(f"hooked layer returned {type(output).__name__}, not a tensor")


@torch.no_grad()
def collect_activations(
    model: nn.Module,
    batches: Iterable,
    device: str | torch.device = "auto",
    layers: Sequence[tuple[str, nn.Module]] | None = None,
    include_input: bool = True,
) -> ActivationSet:
    """Hook outputs of every hidden layer over ``batches`` (eval mode, no gradients).

    Args:
        model: a module with ``hidden_layers()`` (or pass ``layers`` explicitly).
        batches: model inputs: tensors (B, F), tuples of tensors, or torch_geometric Batches.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    Returns:
        :class:`ActivationSet` of float32 arrays, ``input`` first when ``include_input``.
    """
    dev = resolve_device(device)
    if layers is None:
        if not hasattr(model, "hidden_layers"):
            raise MolprobeError(f"{type(model).__name__} has no hidden_layers()")
        layers = model.hidden_layers()
    names = [n for n, _ in layers]
    if len(set(names)) != len(names) or INPUT_LAYER in names:
        raise MolprobeError(f"layer names must be unique and not {INPUT_LAYER!r}: {names}")
    was_training = model.training
    model.to(dev).eval()
    store: dict[str, list[np.ndarray]] = {n: [] for n in names}
    current: dict[str, torch.Tensor] = {}

    def make_hook(name):
        def hook(module, args, output):
            current[name] = _first_tensor(output).detach()

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in layers]
    inputs: list[np.ndarray] = []
    atom_counts: list[np.ndarray] = []
    node_votes: dict[str, bool] = {}
    graph = False
    try:
        for batch in batches:
            batch = _to_device(batch, dev)
            current.clear()
            model(batch)
            graph = _is_graph(batch)
            if graph:
                n_nodes, n_graphs = int(batch.num_nodes), int(batch.num_graphs)
                atom_counts.append(torch.bincount(batch.batch, minlength=n_graphs).cpu().numpy())
                if include_input:
                    inputs.append(batch.x.float().cpu().numpy())
            elif include_input:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                inputs.append(x.float().reshape(len(x), -1).cpu().numpy())
            for name in names:
                if name not in current:
                    raise MolprobeError(f"layer {name!r} was not called in the forward pass")
                out = current[name].float()
                if out.ndim > 2:
                    out = out.reshape(out.shape[0], -1)
                if graph and n_nodes != n_graphs:
                    node_votes[name] = out.shape[0] == n_nodes
                store[name].append(out.cpu().numpy())
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    result = ActivationSet()
    if include_input:
        result[INPUT_LAYER] = np.concatenate(inputs).astype(np.float32)
    for name in names:
        result[name] = np.concatenate(store[name]).astype(np.float32)
    if graph:
        counts = np.concatenate(atom_counts)
        result.atom_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        nodes = {n for n, v in node_votes.items() if v}
        if include_input:
            nodes.add(INPUT_LAYER)
        result.node_layers = frozenset(nodes)
    return result


# ----------------------------------------------------------------------------- random copies


def _is_batchnorm(m: nn.Module) -> bool:
    return isinstance(m, nn.modules.batchnorm._BatchNorm)


def random_copy(
    trained: nn.Module,
    seed: int,
    build: Callable[[], nn.Module] | None = None,
    calibration_batches: Iterable | None = None,
    device: str | torch.device = "auto",
) -> nn.Module:
    """A randomly initialised copy of ``trained``'s architecture.

    ``build`` (e.g. the model registry's builder) constructs it under ``torch.manual_seed
    (seed)``; without it the trained model is deep-copied and every submodule with
    ``reset_parameters`` is re-initialised. Non-BatchNorm buffers (e.g. input standardiser
    statistics, which are data, not learned weights) are copied from the trained model;
    BatchNorm running statistics are re-estimated on ``calibration_batches`` when given, so
    the random net sees normalised inputs as the trained one does.
    """
    torch.manual_seed(seed)
    if build is not None:
        model = build()
    else:
        model = copy.deepcopy(trained)
        for m in model.modules():
            if hasattr(m, "reset_parameters") and m is not model:
                m.reset_parameters()
    trained_modules = dict(trained.named_modules())
    for name, module in model.named_modules():
        src = trained_modules.get(name)
        if src is None or _is_batchnorm(module):
            continue
        for bname, buf in module.named_buffers(recurse=False):
            other = getattr(src, bname, None)
            if isinstance(other, torch.Tensor) and other.shape == buf.shape:
                buf.copy_(other)
    if calibration_batches is not None:
        recalibrate_batchnorm(model, calibration_batches, device)
    return model


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable, device="auto") -> nn.Module:
    """Re-estimate BatchNorm running mean/var (cumulative average) over ``batches``;
    dropout stays off. No-op for models without BatchNorm."""
    bns = [m for m in model.modules() if _is_batchnorm(m)]
    if not bns:
        return model
    dev = resolve_device(device)
    model.to(dev).eval()
    saved = []
    for m in bns:
        m.reset_running_stats()
        saved.append(m.momentum)
        m.momentum = None
        m.train()
    for batch in batches:
        model(_to_device(batch, dev))
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    model.eval()
    return model
