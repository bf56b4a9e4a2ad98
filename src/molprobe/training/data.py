"""Mini-batches for training and prediction, built with index tensors (no per-molecule Python).

A *feature source* holds all molecules' features of one input kind and returns a batch for
an index tensor:

- :class:`VectorSource`: ndarray (n, F) -> float32 tensor (B, F)
- :class:`GraphSource`: :class:`molprobe.chem.graphs.GraphStore` -> ``torch_geometric`` Batch
- :class:`TokenSource`: token ids (n, L) + lengths (n,) -> ``{"ids": (B, L), "lengths": (B,)}``

Features live on the training device for the whole run (Tox21 ECFP: 64 MB as float32).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from molprobe.errors import MolprobeError
from molprobe.models.registry import InputDims


class VectorSource:
    """Vector features (n_molecules, n_features) -> batches of float32 (B, n_features)."""

    kind = "vector"

    def __init__(self, X: np.ndarray, device: torch.device | str = "cpu"):
        X = np.asarray(X)
        if X.ndim != 2:
            raise MolprobeError(f"vector features must be 2-D (n, F), got shape {X.shape}")
        self.X = torch.as_tensor(X.astype(np.float32, copy=False)).to(device)

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def dims(self) -> InputDims:
        return InputDims(n_features=self.X.shape[1])

    def take(self, idx: torch.Tensor) -> torch.Tensor:
        """Rows ``idx`` (B, F): a view where they are consecutive (prediction batches), no
        copy; models never write to their input."""
        if idx.numel() > 1 and bool((idx[1:] - idx[:-1] == 1).all()):
            start = int(idx[0])
            return self.X[start : start + idx.numel()]
        return self.X[idx.to(self.X.device)]


class GraphSource:
    """A GraphStore on the device -> ``Batch`` with x, edge_index, edge_attr, batch."""

    kind = "graph"

    def __init__(self, store, device: torch.device | str = "cpu"):
        self.store = store.to(device)

    def __len__(self) -> int:
        return len(self.store)

    @property
    def dims(self) -> InputDims:
        return InputDims(
            atom_dim=self.store.n_atom_features,
            bond_dim=self.store.n_bond_features,
            mol_dim=self.store.n_mol_features,
        )

    def take(self, idx: torch.Tensor):
        return self.store.batch(idx.to(self.store.atom_ptr.device))


class TokenSource:
    """SMILES token ids (n, L) int64 (0 = padding) + lengths (n,) -> ``{"ids", "lengths"}``.

    Each batch is trimmed to its longest sequence. ``vocab_size`` is the number of ids.
    """

    kind = "tokens"

    def __init__(self, ids, lengths, vocab_size: int, device: torch.device | str = "cpu"):
        self.ids = torch.as_tensor(np.asarray(ids), dtype=torch.long).to(device)
        self.lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long).to(device)
        self.vocab_size = int(vocab_size)

    def __len__(self) -> int:
        return self.ids.shape[0]

    @property
    def dims(self) -> InputDims:
        return InputDims(vocab_size=self.vocab_size)

    def take(self, idx: torch.Tensor):
        idx = idx.to(self.ids.device)
        lengths = self.lengths[idx]
        max_len = max(int(lengths.max()), 1) if lengths.numel() else 1
        return {"ids": self.ids[idx, :max_len], "lengths": lengths}


def make_source(features, device: torch.device | str = "cpu"):
    """Wrap features as a source: ndarray -> vector, GraphStore -> graph, a
    ``(ids, lengths, vocab_size)`` tuple or an object with ``ids``/``lengths``/``vocab_size``
    -> tokens. An existing source is returned unchanged."""
    if isinstance(features, VectorSource | GraphSource | TokenSource):
        return features
    if isinstance(features, np.ndarray | torch.Tensor):
        return VectorSource(np.asarray(features), device)
    if hasattr(features, "batch") and hasattr(features, "atom_ptr"):
        return GraphSource(features, device)
    if isinstance(features, tuple) and len(features) == 3:
        return TokenSource(*features, device=device)
    if all(hasattr(features, a) for a in ("ids", "lengths", "vocab_size")):
        return TokenSource(features.ids, features.lengths, features.vocab_size, device)
    raise MolprobeError(f"cannot use {type(features).__name__} as model input")


@dataclass(frozen=True)
class Split:
    """Row positions (into the molecule table) of the train / valid / test molecules."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    @classmethod
    def from_dict(cls, d: dict, n_molecules: int | None = None) -> Split:
        """From a split JSON (``{"train": [...], "valid": [...], "test": [...]}``); checks that
        indices are in range and the three sets are disjoint."""
        try:
            parts = [
                np.asarray(d[k], dtype=np.int64).reshape(-1) for k in ("train", "valid", "test")
            ]
        except KeyError as err:
            raise MolprobeError(f"split has no {err.args[0]!r} list") from None
        allidx = np.concatenate(parts)
        if (
            n_molecules is not None
            and allidx.size
            and (allidx.min() < 0 or allidx.max() >= n_molecules)
        ):
            raise MolprobeError(
                f"split indices out of range for {n_molecules} molecules (max {allidx.max()})"
            )
        if np.unique(allidx).size != allidx.size:
            raise MolprobeError("split train/valid/test overlap or contain duplicates")
        if parts[0].size == 0:
            raise MolprobeError("split has an empty train set")
        return cls(*parts)


class BatchLoader:
    """Iterate ``(batch, y)`` over ``indices`` in mini-batches.

    Args:
        source: a feature source (see :func:`make_source`).
        Y: labels (n_molecules, T) float, NaN = missing (already standardised for regression).
        indices: row positions to iterate. batch_size: molecules per batch.
        shuffle: new permutation each epoch from ``seed`` + epoch counter.
        drop_last_single: drop a final batch of one molecule (BatchNorm cannot train on it).
    """

    def __init__(
        self,
        source,
        Y: np.ndarray | None,
        indices: Sequence[int],
        batch_size: int = 128,
        shuffle: bool = False,
        seed: int = 0,
        drop_last_single: bool = False,
    ):
        self.source = source
        self.indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last_single = drop_last_single
        self._generator = torch.Generator().manual_seed(int(seed))
        # labels stay on the CPU; the training loop moves each (B, T) slice to the device
        self.Y = None if Y is None else torch.as_tensor(np.asarray(Y, dtype=np.float32))

    def __len__(self) -> int:
        return (len(self.indices) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[tuple[object, torch.Tensor | None]]:
        order = self.indices
        if self.shuffle:
            order = order[torch.randperm(len(order), generator=self._generator)]
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.drop_last_single and idx.numel() == 1 and len(order) > 1:
                continue
            y = self.Y[idx] if self.Y is not None else None
            yield self.source.take(idx), y


def model_outputs(
    model, source, indices, batch_size: int, device: torch.device, use_amp: bool
) -> torch.Tensor:
    """Raw model outputs (n, T) float32 on the CPU for the rows ``indices`` of ``source``."""
    from molprobe.training.device import autocast

    loader = BatchLoader(source, None, indices, batch_size=batch_size)
    chunks = []
    model.eval()
    with torch.no_grad():
        for batch, _ in loader:
            with autocast(device, use_amp):
                chunks.append(model(batch).float().cpu())
    if not chunks:
        return torch.zeros((0, 0))
    return torch.cat(chunks)


def assemble_vectors(
    blocks: Sequence[np.ndarray],
    specs: Sequence[dict],
    descriptor_scaler: dict | None = None,
    train_rows: np.ndarray | None = None,
) -> tuple[np.ndarray, dict | None]:
    """Concatenate vector feature blocks (each (n, F_i), in ``specs`` order) into the model
    input (n, sum F_i) float32.

    Descriptor blocks (spec name ``descriptors``) are median-imputed, standardised and
    clipped by :class:`molprobe.chem.featurize.DescriptorScaler`: with ``descriptor_scaler``
    (a saved state from meta.json) as saved, else fitted on ``train_rows``. Returns
    ``(X, scaler state or None)``; use the same call with the saved state when screening.
    """
    from molprobe.chem.featurize import DescriptorScaler

    if len(blocks) != len(specs) or not blocks:
        raise MolprobeError(f"got {len(blocks)} feature blocks for {len(specs)} featurizer specs")
    out, state = [], None
    for X, spec in zip(blocks, specs, strict=True):
        X = np.asarray(X)
        if X.shape[0] != blocks[0].shape[0]:
            raise MolprobeError("feature blocks have different numbers of rows")
        if spec.get("name") == "descriptors":
            if descriptor_scaler is not None:
                scaler = DescriptorScaler.from_dict(descriptor_scaler)
            else:
                rows = np.arange(X.shape[0]) if train_rows is None else train_rows
                scaler = DescriptorScaler().fit(X[rows])
            X = scaler.transform(X)
            state = scaler.to_dict()
        out.append(X.astype(np.float32, copy=False))
    return (np.hstack(out) if len(out) > 1 else out[0]), state
