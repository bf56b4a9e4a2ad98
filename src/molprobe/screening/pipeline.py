"""The featurizing half of screening: everything RDKit does for one chunk, with no model loaded.

`featurize_chunk` standardizes a chunk with the models' recipe and computes every raw input
block the ensemble reads (ECFP bits, descriptors, graphs, tokens: one computation per distinct
featurizer spec), the applicability-domain similarity and the structural alerts. It needs only
a `FeaturePlan` (recipe, domain reference, the members' featurizer specs from meta.json), so
it runs in worker processes that never load a model and never touch CUDA; the parent process,
which owns the device, turns the raw blocks into each member's input and runs batched
inference (`molprobe.screening.screen.score_features`).

Worker processes start from a fork server (never forked from a parent that may hold CUDA) and
send each featurized chunk back as one pickled ``bytes`` (torch tensors of graphs by value, no
shared-memory file descriptors).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rdkit import Chem

from molprobe.chem.alerts import match_alerts
from molprobe.chem.blocks import block_key, needs_torch, raw_block
from molprobe.chem.standardize import StandardizeRecipe, standardize_frame
from molprobe.screening.domain import DomainModel, fingerprint_featurizer, fingerprints

ECFP4_KEY = block_key(fingerprint_featurizer().spec)  # the domain's fingerprint block
KEPT_COLUMNS = ("row", "id", "input_smiles", "smiles")  # what a scored row carries along


def alert_names(mols: Sequence[Chem.Mol | None]) -> list[str]:
    """Structural alerts of each molecule, ``"; "``-joined ("" for none or unparsable)."""
    return ["; ".join(match_alerts(m)) if m is not None else "" for m in mols]


@dataclass(frozen=True)
class FeaturePlan:
    """What a featurizing worker needs: the standardization recipe, the fitted domain
    (reference fingerprints, ~2 KB per training molecule) and each distinct featurizer spec
    the members read (from meta.json: no weights, no torch)."""

    recipe: StandardizeRecipe
    domain: DomainModel
    specs: tuple[dict, ...]

    @classmethod
    def of(cls, ensemble) -> FeaturePlan:
        """The plan of an ensemble with ``recipe``, ``domain`` and ``model_inputs()``."""
        specs = {block_key(s): s for mi in ensemble.model_inputs() for s in mi.specs}
        return cls(ensemble.recipe, ensemble.domain, tuple(specs.values()))

    @property
    def needs_torch(self) -> bool:
        """Whether a worker imports torch for this plan (graphs); vector plans never do."""
        return any(needs_torch(s) for s in self.specs)


@dataclass
class FeaturizedChunk:
    """One chunk after RDKit, before any model.

    ``kept``: the rows that passed standardization (columns of `KEPT_COLUMNS` present);
    ``rejected``: the ledger rows (``row``, ``input``, ``reason``[, ``detail``]);
    ``blocks``: raw feature blocks by :func:`block_key` (aligned with ``kept``);
    ``similarity``: float32 (n_kept,) max Tanimoto to the training set; ``alerts``: one
    ``"; "``-joined string per kept row."""

    index: int
    n_rows: int
    kept: pd.DataFrame
    rejected: pd.DataFrame
    blocks: dict[str, object] = field(default_factory=dict)
    similarity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    alerts: list[str] = field(default_factory=list)


def featurize_chunk(chunk: pd.DataFrame, plan: FeaturePlan, index: int = 0) -> FeaturizedChunk:
    """Standardize one chunk from `read_molecules` and compute everything but predictions."""
    kept, rejected = standardize_frame(chunk, plan.recipe, keep_mols=True)
    # the standardizer's molecules serve the order-free pieces (ECFP4 bits for the domain and
    # the ECFP members, alerts, the fast descriptors); order-dependent featurizers (the full
    # descriptor set) read them only where the molecule was parsed from the very canonical
    # SMILES (the input was canonical), else they parse the canonical SMILES themselves,
    # exactly as at training time
    mols = kept.pop("mol").tolist()
    std = kept["smiles"].tolist()
    ecfp4 = fingerprints(mols)  # uint8 (n, 2048)
    alerts = alert_names(mols)  # before any descriptor sets properties on the molecules
    blocks: dict[str, object] = {ECFP4_KEY: ecfp4}
    if std:
        canonical = canonical_mols(mols, kept["input_smiles"].tolist(), std)
        for spec in plan.specs:  # every raw block a member reads; the parent assembles
            raw_block(spec, std, blocks, canonical, standardized=mols)
    rejected = rejected[["row", "input", "reason"] + (["detail"] if "detail" in rejected else [])]
    return FeaturizedChunk(
        index=index,
        n_rows=len(chunk),
        kept=kept[[c for c in KEPT_COLUMNS if c in kept]].reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
        blocks=blocks,
        similarity=plan.domain.similarity_from_fingerprints(ecfp4),
        alerts=alerts,
    )


def canonical_mols(
    mols: Sequence[Chem.Mol | None], inputs: Sequence[str], std: Sequence[str]
) -> list[Chem.Mol | None]:
    """The standardizer's molecule where its input (stripped) is the canonical SMILES: then
    it is ``Chem.MolFromSmiles(std[i])`` itself; None elsewhere (parse ``std[i]`` again)."""
    return [m if s.strip() == c else None for m, s, c in zip(mols, inputs, std, strict=True)]


# --------------------------------------------------------------------------- worker processes

_PLAN: dict = {}


def worker_init(plan: FeaturePlan, screen_pid: int | None = None) -> None:
    """Initializer of a featurizing worker: the plan kept for its chunks, one torch thread
    where the plan needs torch (graphs; vector plans leave torch unimported).
    ``screen_pid``: the screening process; the worker exits within a second of its death
    (a killed screen would otherwise leave its fork server and workers waiting forever)."""
    if plan.needs_torch:
        import torch

        torch.set_num_threads(1)
    _PLAN["plan"] = plan
    if screen_pid is not None:
        threading.Thread(target=_exit_with, args=(screen_pid,), daemon=True).start()


def _exit_with(pid: int, every_s: float = 1.0) -> None:
    """Exit this process (and so let the fork server go) once process ``pid`` is gone."""
    while True:
        time.sleep(every_s)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, another user's (pid reused): keep going
            pass


def worker_featurize(chunk: pd.DataFrame, index: int) -> bytes:
    """`featurize_chunk` in a worker; the result pickled by value (see module docstring)."""
    return pickle.dumps(featurize_chunk(chunk, _PLAN["plan"], index), pickle.HIGHEST_PROTOCOL)


def worker_cuda_initialized() -> bool:
    """Whether CUDA was initialized in this worker (never expected)."""
    import torch

    return bool(torch.cuda.is_initialized())


# imported once by the fork server, so each worker forks with RDKit and the featurizers
# loaded instead of importing them itself; torch (~2 CPU-s to import) only for plans that
# featurize graphs. No model is loaded.
PRELOAD = ["molprobe.screening.pipeline", "molprobe.chem.featurize"]
PRELOAD_TORCH = [*PRELOAD, "molprobe.chem.graphs"]


def mp_context(plan: FeaturePlan | None = None):
    """A fork server on Linux (children never inherit the parent's CUDA state), else spawn;
    its preloaded modules those of ``plan`` (torch only where it needs it; None: with torch).
    The fork server starts once per process: a later plan's workers import what it lacks."""
    import multiprocessing as mp

    if not sys.platform.startswith("linux"):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    torch_too = plan is None or plan.needs_torch
    ctx.set_forkserver_preload(PRELOAD_TORCH if torch_too else PRELOAD)
    return ctx


__all__ = [
    "ECFP4_KEY",
    "FeaturePlan",
    "FeaturizedChunk",
    "alert_names",
    "featurize_chunk",
    "mp_context",
]
