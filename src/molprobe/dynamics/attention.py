"""Does AttentiveFP's readout attention point at the atoms that carry the label?

Per held-out molecule, the *enrichment* is the ROC-AUC of the readout attention weights
(last timestep, :meth:`AttentiveFP.atom_attention`) for telling the marked atoms from the
rest (0.5 = attention ignores them, 1 = all marked atoms rank first). Marked atoms:

- planted task (``planted``): the atoms of S on the balanced "contains one S" task of
  :mod:`.planted_credit` (ground truth known);
- real Tox21 task (``task``): the atoms of every matched structural alert
  (:mod:`molprobe.chem.alerts`), a chemist's prior rather than a ground truth.

The enrichment is a ranking statistic: near-uniform attention with tiny, feature-driven
differences can rank the marked atoms first, so the attention *share* on them over their
atom share (``share_ratio``; 1 = no more attention than uniform) is reported beside it.
Each is measured for the trained model and two controls: the same architecture at random
initialization and trained on shuffled labels; >= 3 seeds, mean with a 95 % t-interval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from scipy import stats
from sklearn.metrics import roc_auc_score

from molprobe.chem.alerts import alert_matches
from molprobe.chem.graphs import MolGraph
from molprobe.chem.splits import Split
from molprobe.dynamics.planted_credit import planted_molecules
from molprobe.inference.predict import predict
from molprobe.models.gnn import AttentiveFP
from molprobe.training.loop import TrainConfig, train_model

log = logging.getLogger(__name__)

CONDITIONS = ("trained", "random_init", "shuffled_label")


@dataclass(frozen=True)
class AttentionConfig:
    """Settings of the attention experiment."""

    group: str = "nitro"  # planted S
    task: str | None = "SR-ARE"  # real Tox21 task with structural alerts (None = skip)
    task_molecules: int = 2000  # random subset of the labelled molecules of ``task``
    seeds: Sequence[int] = (0, 1, 2)
    epochs: int = 20
    width: int = 64
    n_layers: int = 2
    timesteps: int = 2
    device: str = "auto"


def attention_enrichment(attention: np.ndarray, marked: np.ndarray) -> float:
    """ROC-AUC of per-atom attention (n_atoms,) for the marked atoms (bool); NaN if one class."""
    marked = np.asarray(marked, dtype=bool)
    if marked.all() or not marked.any():
        return np.nan
    return float(roc_auc_score(marked, attention))


def _split(n: int, seed: int) -> Split:
    order = np.random.default_rng(seed).permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return Split("random", seed, (0.6, 0.2, 0.2), order[:a], order[a:b], order[b:])


def _run_one(smiles, y, marks, setting, condition, seed, config) -> list[dict]:
    """Train (or not) one AttentiveFP and score attention on the test molecules with marks."""
    store = MolGraph()(smiles)
    split = _split(len(smiles), seed)
    torch.manual_seed(seed)
    model = AttentiveFP(
        store.x.shape[1],
        store.edge_attr.shape[1],
        1,
        n_layers=config.n_layers,
        timesteps=config.timesteps,
        width=config.width,
        dropout=0.0,
    )
    labels = y.copy()
    if condition == "shuffled_label":
        labels = np.random.default_rng(seed + 1000).permutation(labels)
    tc = TrainConfig(epochs=config.epochs, patience=5, device=config.device, seed=seed, amp=False)
    if condition != "random_init":
        train_model(model, store, labels[:, None], split, config=tc)
    model = model.cpu()
    test = split.test
    prob = predict(model, store, indices=test, batch_size=256)[:, 0]
    auc = roc_auc_score(y[test], prob) if len(set(y[test])) == 2 else np.nan
    batch = store.batch(torch.as_tensor(test))
    att = model.atom_attention(batch).cpu().numpy()
    owner = batch.batch.cpu().numpy()
    rows = []
    for k, i in enumerate(test):
        if marks[i] is None or not marks[i].any():
            continue
        a = att[owner == k]
        if a.shape[0] != marks[i].shape[0]:
            continue
        rows.append(
            {
                "setting": setting,
                "condition": condition,
                "seed": seed,
                "molecule": int(i),
                "n_atoms": int(a.shape[0]),
                "n_marked": int(marks[i].sum()),
                "enrichment": attention_enrichment(a, marks[i]),
                "marked_attention_share": float(a[marks[i]].sum() / a.sum()),
                "uniform_share": float(marks[i].mean()),
                "roc_auc": float(auc),
            }
        )
    return rows


def _planted_inputs(smiles, group):
    mols, y, s_atoms, rows = planted_molecules(smiles, group)
    marks = []
    for mol, s in zip(mols, s_atoms, strict=True):
        m = np.zeros(mol.GetNumAtoms(), dtype=bool)
        m[list(s)] = True
        marks.append(m if s else None)
    return [smiles[r] for r in rows], y, marks


def _alert_inputs(smiles, labels, n, seed=0):
    ok = [i for i, v in enumerate(labels) if np.isfinite(v) and "." not in smiles[i]]
    ok = [i for i in ok if Chem.MolFromSmiles(smiles[i]) is not None]
    rng = np.random.default_rng(seed)
    if n and len(ok) > n:
        ok = sorted(rng.choice(ok, n, replace=False).tolist())
    marks = []
    for i in ok:
        mol = Chem.MolFromSmiles(smiles[i])
        m = np.zeros(mol.GetNumAtoms(), dtype=bool)
        for matches in alert_matches(mol).values():
            for match in matches:
                m[list(match)] = True
        marks.append(m)
    return [smiles[i] for i in ok], np.asarray(labels, dtype=np.float32)[ok], marks


def run_attention(
    smiles: Sequence[str], labels: pd.DataFrame | None, config: AttentionConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-molecule enrichment table and its summary per (setting, condition).

    smiles: the dataset's SMILES; labels: its task columns (only ``config.task`` is read).
    """
    settings = [("planted_" + config.group, *_planted_inputs(list(smiles), config.group))]
    if config.task is not None and labels is not None and config.task in labels.columns:
        settings.append(
            (
                config.task,
                *_alert_inputs(list(smiles), labels[config.task].to_numpy(), config.task_molecules),
            )
        )
    rows = []
    for setting, smi, y, marks in settings:
        for condition in CONDITIONS:
            for seed in config.seeds:
                rows += _run_one(smi, y, marks, setting, condition, seed, config)
                log.info("attention: %s %s seed %d done", setting, condition, seed)
    table = pd.DataFrame(rows)
    return table, attention_summary(table)


def attention_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, condition): mean enrichment over seeds with a 95 % t-interval."""
    out = []
    for (setting, condition), d in table.groupby(["setting", "condition"], sort=False):
        per_seed = d.groupby("seed").agg(
            enrichment=("enrichment", "mean"),
            share=("marked_attention_share", "mean"),
            uniform=("uniform_share", "mean"),
            roc_auc=("roc_auc", "first"),
        )
        e = per_seed["enrichment"].to_numpy()
        half = (
            stats.t.ppf(0.975, len(e) - 1) * e.std(ddof=1) / np.sqrt(len(e))
            if len(e) > 1
            else np.nan
        )
        out.append(
            {
                "setting": setting,
                "condition": condition,
                "n_seeds": len(e),
                "n_molecules": int(d["molecule"].nunique()),
                "enrichment": float(e.mean()),
                "enrichment_low": float(e.mean() - half),
                "enrichment_high": float(e.mean() + half),
                "marked_attention_share": float(per_seed["share"].mean()),
                "uniform_share": float(per_seed["uniform"].mean()),
                "share_ratio": float(per_seed["share"].mean() / per_seed["uniform"].mean()),
                "roc_auc": float(per_seed["roc_auc"].mean()),
            }
        )
    return pd.DataFrame(out)


def summary_lines(summary: pd.DataFrame) -> list[str]:
    """One line per (setting, condition): enrichment with interval, share ratio, ROC-AUC."""
    return [
        f"  {r['setting']:<14} {r['condition']:<14} enrichment {r['enrichment']:.3f} "
        f"[{r['enrichment_low']:.3f}, {r['enrichment_high']:.3f}], attention share / uniform "
        f"{r['share_ratio']:.3f}, ROC-AUC {r['roc_auc']:.3f}"
        for _, r in summary.iterrows()
    ]
