"""Shortcut audit: is a trained model right for the right reason?

The audit's positive control and five checks, each a pure function from in-memory objects to a
table (``pandas.DataFrame``):

- :mod:`~molprobe.shortcuts.planted`: the planted ping-pong table (a decoy tied to one task's
  positives vs a clean twin): every family that learns it must be flagged, no clean twin.
- :mod:`~molprobe.shortcuts.analog`: analog bias (random vs scaffold AUC; AUC binned by each
  test molecule's max Tanimoto similarity to its training set, with CIs and a 1-NN baseline).
- :mod:`~molprobe.shortcuts.trivial`: bulk-descriptor baselines chosen on validation.
- :mod:`~molprobe.shortcuts.counterions`: prediction shifts when counter-ions / salts / solvents
  are added, raw and through the standardizer.
- :mod:`~molprobe.shortcuts.attribution`: share of integrated-gradients credit (every input,
  :mod:`molprobe.attribution`) on structural-alert atoms and descriptors.
- :mod:`~molprobe.shortcuts.permuted`: matched shuffled-label twins must score AUC about 0.5 on
  the real test labels.

:mod:`~molprobe.shortcuts.run` is the application layer (``audit_shortcuts``,
``planted_control``); :mod:`~molprobe.shortcuts.findings` turns the tables into
``findings.md`` and a findings table; :mod:`~molprobe.shortcuts.plots` draws one figure per
check. Files are read and written only by ``molprobe.cli.shortcuts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

#: model families trained by gradient descent (the "deep" models trivial baselines are held to)
DEEP_FAMILIES = ("snn", "fnn_bn", "gine", "gine_pretrained", "attentivefp", "lstm")


@dataclass
class AuditedModel:
    """One trained model of the dataset: family, split name, seed, the loaded model
    (:class:`molprobe.training.checkpoint.LoadedModel`), its metrics.json content, its
    test predictions (predictions.parquet: mol_id, smiles, ``<task>``, ``<task>_true``) and the
    split's row positions (``train``/``valid``/``test`` numpy arrays into molecules.parquet)."""

    model: str
    split: str
    seed: int
    loaded: Any
    metrics: dict
    predictions: pd.DataFrame
    rows: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.model, self.split, self.seed)

    @property
    def tasks(self) -> list[str]:
        return list(self.loaded.meta.task_names)
