"""Pretraining on unlabeled structures (the CheMeleon idea): a graph net learns to predict
standardized RDKit descriptors of structures from other datasets, and its encoder then
starts the fine-tuning on the labeled tasks.

Only structures cross over: :func:`read_structures` keeps the SMILES column of each file
and drops every other column (assay labels, identifiers) as it reads, so no other
dataset's labels (ToxCast holds the Tox21 assays) can reach a Tox21 model.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger

from molprobe.chem.featurize import DescriptorScaler, RDKitDescriptors
from molprobe.chem.graphs import MolGraph
from molprobe.chem.io import read_molecules
from molprobe.errors import MolprobeError
from molprobe.training.data import Split
from molprobe.training.loop import fit
from molprobe.training.settings import resolve_settings

STRUCTURE_COLUMNS = ("smiles", "source")  # all that read_structures returns
HEAD_PREFIX = "head."  # the task head: never transferred


def read_structures(
    paths: Sequence[str | os.PathLike],
    smiles_column: str | None = None,
    exclude: Collection[str] = (),
    min_heavy_atoms: int = 2,
) -> pd.DataFrame:
    """Unique canonical SMILES of the molecule files ``paths`` (csv/tsv/smi/sdf, .gz), with
    the file each came from: columns :data:`STRUCTURE_COLUMNS` only. Unparsable SMILES,
    molecules under ``min_heavy_atoms`` and canonical SMILES in ``exclude`` are skipped."""
    RDLogger.DisableLog("rdApp.*")
    seen, rows = set(exclude), []
    for path in paths:
        for chunk in read_molecules(path, smiles_column):  # no `columns`: labels are not read
            for text in chunk["input"]:
                mol = Chem.MolFromSmiles(text) if isinstance(text, str) and text else None
                if mol is None or mol.GetNumHeavyAtoms() < min_heavy_atoms:
                    continue
                smiles = Chem.MolToSmiles(mol)
                if smiles not in seen:
                    seen.add(smiles)
                    rows.append((smiles, Path(path).name))
    return pd.DataFrame(rows, columns=list(STRUCTURE_COLUMNS))


@dataclass(frozen=True)
class PretrainConfig:
    """Descriptor pretraining of ``model`` (a graph family) with ``params`` (its
    hyperparameters, equal to the fine-tuned model's encoder, and training settings);
    ``descriptors``: RDKit descriptor names (None = all 2D descriptors); ``valid_fraction``:
    structures held out to watch the descriptor RMSE. Measured: with all ~210 descriptors a
    sum-pooled GINE collapses to the mean predictor after one epoch; ``pool: mean`` learns
    (README, "Pretraining on unlabeled structures")."""

    model: str = "gine"
    params: Mapping[str, Any] = field(default_factory=dict)
    descriptors: Sequence[str] | None = None
    valid_fraction: float = 0.05
    seed: int = 0
    device: str | None = None
    threads: int | None = None


@dataclass
class PretrainResult:
    """encoder: the pretrained weights without the head (name -> tensor); history: one row
    per epoch (val_metric = descriptor RMSE in standard deviations); descriptors: target
    names; n_molecules: structures trained on; baseline_rmse: the RMSE of predicting the
    train mean on the held-out structures (about 1)."""

    encoder: dict[str, torch.Tensor]
    history: pd.DataFrame
    descriptors: list[str]
    n_molecules: int
    best_rmse: float
    baseline_rmse: float


def descriptor_targets(
    smiles: Sequence[str], names: Sequence[str] | None
) -> tuple[np.ndarray, list[str]]:
    """Standardized (median-imputed, clipped) RDKit descriptors (n, D) and their names;
    constant descriptors are dropped."""
    calc = RDKitDescriptors(names)
    X = DescriptorScaler().fit_transform(calc(smiles))
    keep = X.std(axis=0) > 0
    return X[:, keep].astype(np.float64), [n for n, k in zip(calc.names, keep, strict=True) if k]


def encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights without its task head (what fine-tuning starts from)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()
            if not k.startswith(HEAD_PREFIX)}  # fmt: skip


def pretrain_encoder(smiles: Sequence[str], config: PretrainConfig) -> PretrainResult:
    """Train ``config.model`` on graph-only inputs of ``smiles`` to regress their
    standardized descriptors; early stopping on the held-out structures' RMSE."""
    if not 0 < config.valid_fraction < 1:
        raise MolprobeError("valid_fraction must be in (0, 1)")
    graphs = MolGraph()(list(smiles))
    Y, names = descriptor_targets(smiles, config.descriptors)
    order = np.random.default_rng(config.seed).permutation(len(Y))
    n_valid = max(1, int(round(config.valid_fraction * len(Y))))
    split = Split(order[n_valid:], order[:n_valid], np.zeros(0, dtype=np.int64))
    params, train_config = resolve_settings(
        config.model, config.params, config.seed, None, config.device, config.threads
    )
    model, result = fit(config.model, params, graphs, Y, split, "regression", train_config)
    mean = Y[split.train].mean(axis=0)
    baseline = float(np.sqrt(((Y[split.valid] - mean) ** 2).mean(axis=0)).mean())
    return PretrainResult(encoder_state(model), pd.DataFrame(result.history), names,
                          len(Y), result.best_val_metric, baseline)  # fmt: skip


def pretrain_on_files(
    paths: Sequence[str | os.PathLike],
    config: PretrainConfig,
    exclude: Collection[str] = (),
    max_structures: int = 0,
    smiles_column: str | None = None,
) -> PretrainResult:
    """:func:`read_structures` of ``paths`` without the canonical SMILES in ``exclude`` (the
    fine-tuning molecules), a seeded sample of ``max_structures`` of them (0 = all), then
    :func:`pretrain_encoder`."""
    structures = read_structures(paths, smiles_column, exclude)
    if structures.empty:
        raise MolprobeError("no structures to pretrain on")
    if 0 < max_structures < len(structures):
        structures = structures.sample(n=max_structures, random_state=config.seed)
    return pretrain_encoder(structures["smiles"].tolist(), config)
