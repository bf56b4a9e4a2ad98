"""Neuron-level detectors (DeepTox style): each unit's activation scored as a detector of
each concept by its ROC-AUC over the probe molecules (or atoms).

:func:`heldout_detectors` is the honest version: the best unit of each concept is chosen on
one half of the molecules (split by scaffold) and its AUC and top-activating molecules are
reported on the other half, only for concepts with enough positives. Picking the best of
~1,000 units in-sample finds AUC ~0.8 for any rare label by chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError
from molprobe.probing.probes import unit_aucs


@dataclass(frozen=True)
class NeuronConfig:
    """threshold: AUC at or above which a unit counts as a detector. n_top: molecules shown
    for the best detector of each concept."""

    threshold: float = 0.9
    n_top: int = 8


def neuron_table(
    X: np.ndarray, Y: np.ndarray, concepts: list[str], cfg: NeuronConfig | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per concept: best unit, its AUC, how many units detect the concept.

    Args:
        X: (n, d) activations of one layer. Y: (n, C) labels in {0, 1, NaN}.
    Returns:
        (DataFrame with columns concept, n_units, best_unit, best_auc, n_detectors (AUC >=
        threshold), n_detectors_any_sign (max(AUC, 1 - AUC) >= threshold), mean_abs_auc;
        the (d, C) unit-AUC matrix).
    """
    cfg = cfg or NeuronConfig()
    aucs = unit_aucs(X, Y)  # (d, C)
    filled = np.nan_to_num(aucs, nan=0.5)
    best = filled.argmax(0)
    best_auc = aucs[best, np.arange(aucs.shape[1])]
    df = pd.DataFrame(
        {
            "concept": concepts,
            "n_units": X.shape[1],
            "best_unit": best.astype(np.int64),
            "best_auc": best_auc,
            "n_detectors": (filled >= cfg.threshold).sum(0),
            "n_detectors_any_sign": (np.maximum(filled, 1 - filled) >= cfg.threshold).sum(0),
            "mean_abs_auc": np.abs(filled - 0.5).mean(0) + 0.5,
        }
    )
    return df, aucs


def top_activating(X: np.ndarray, unit: int, n_top: int = 8) -> np.ndarray:
    """Row indices of the ``n_top`` largest activations of ``unit`` (descending)."""
    col = X[:, unit]
    k = min(n_top, len(col))
    idx = np.argpartition(-col, k - 1)[:k]
    return idx[np.argsort(-col[idx])]


def detector_examples(
    X: np.ndarray,
    Y: np.ndarray,
    neurons: pd.DataFrame,
    smiles: list[str],
    cfg: NeuronConfig | None = None,
) -> pd.DataFrame:
    """Top-activating molecules of each concept's best detector.

    Returns one row per (concept, rank): concept, unit, rank, row, smiles, activation,
    has_concept (label of that molecule)."""
    cfg = cfg or NeuronConfig()
    rows = []
    for c, rec in enumerate(neurons.itertuples(index=False)):
        for rank, r in enumerate(top_activating(X, int(rec.best_unit), cfg.n_top)):
            rows.append(
                (rec.concept, int(rec.best_unit), rank, int(r), smiles[r], float(X[r, rec.best_unit]),
                 float(Y[r, c]))
            )  # fmt: skip
    return pd.DataFrame(
        rows, columns=["concept", "unit", "rank", "row", "smiles", "activation", "has_concept"]
    )


def detector_atoms(examples: pd.DataFrame, top: pd.DataFrame, molecules) -> pd.DataFrame:
    """The top-activating molecules of the chosen detectors, with the concept's atoms.

    examples: :func:`detector_examples` rows with a ``layer`` column, ``row`` indexing
    ``molecules`` (a :class:`molprobe.chem.concepts.ConceptTable` of the probe molecules).
    top: one row per shown detector (concept, layer, best_auc, optional best_unit), in
    display order, from the same model as the examples.
    Returns the examples of those detectors plus ``auc`` and ``atoms`` (atom indices of the
    concept in each molecule, RDKit order; empty for molecule-level-only concepts)."""
    atom_concepts = set(molecules.atom_meta["concept"])
    parts = []
    for r in top.itertuples(index=False):
        e = examples[(examples["concept"] == r.concept) & (examples["layer"] == r.layer)].copy()
        if [molecules.smiles[int(i)] for i in e["row"]] != e["smiles"].tolist():
            raise MolprobeError("detector examples do not match the probe molecules")
        if "best_unit" in top.columns and (e["unit"] != int(r.best_unit)).any():
            raise MolprobeError(f"{r.concept} at {r.layer}: examples are of another unit")
        e["auc"] = float(r.best_auc)
        e["atoms"] = [
            molecules.atoms_of(int(i), r.concept).tolist() if r.concept in atom_concepts else []
            for i in e["row"]
        ]
        parts.append(e)
    cols = [*examples.columns, "auc", "atoms"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


@dataclass(frozen=True)
class HeldoutConfig:
    """min_positives: concepts with fewer positives among the probe molecules are skipped.
    n_top: top-activating molecules reported (from the evaluation half). seed: the halves."""

    min_positives: int = 20
    n_top: int = 8
    seed: int = 0


def scaffold_halves(groups: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split rows into a selection half and an evaluation half (about half of the molecules
    each), whole scaffold groups each."""
    uniq, size = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(uniq))
    # whole groups in random order until half of the molecules are taken
    taken = np.cumsum(size[order]) <= len(groups) / 2
    taken[0] = True
    pick = set(uniq[order[taken]].tolist())
    sel = np.array([g in pick for g in groups])
    return np.flatnonzero(sel), np.flatnonzero(~sel)


def heldout_detectors(
    X: np.ndarray,
    Y: np.ndarray,
    concepts: list[str],
    groups: np.ndarray,
    smiles: list[str],
    cfg: HeldoutConfig | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Best unit per concept chosen on the selection half, scored on the evaluation half.

    Args:
        X: (n, d) activations; Y: (n, C) labels in {0, 1}; groups: (n,) scaffold ids.
    Returns:
        (detectors: concept, n_units, n_positive, n_positive_select, n_positive_eval,
        best_unit, select_auc, heldout_auc; top: concept, unit, rank, row, smiles,
        activation, has_concept — the evaluation half's top-activating molecules).
    """
    cfg = cfg or HeldoutConfig()
    sel, ev = scaffold_halves(groups, cfg.seed)
    n_pos = np.nansum(Y, axis=0)
    keep = np.flatnonzero(n_pos >= cfg.min_positives)
    rows, tops = [], []
    if len(keep) and len(sel) and len(ev):
        a_sel = unit_aucs(X[sel], Y[np.ix_(sel, keep)])  # (d, K)
        best = np.nan_to_num(a_sel, nan=0.0).argmax(0)
        for k, c in enumerate(keep):
            u = int(best[k])
            a_ev = unit_aucs(X[ev][:, [u]], Y[ev][:, [c]])[0, 0]
            rows.append((concepts[c], X.shape[1], int(n_pos[c]), int(np.nansum(Y[sel, c])),
                         int(np.nansum(Y[ev, c])), u, float(a_sel[u, k]), float(a_ev)))  # fmt: skip
            for rank, r in enumerate(top_activating(X[ev], u, cfg.n_top)):
                i = int(ev[r])
                tops.append((concepts[c], u, rank, i, smiles[i], float(X[i, u]), float(Y[i, c])))
    det = pd.DataFrame(rows, columns=["concept", "n_units", "n_positive", "n_positive_select",
                                      "n_positive_eval", "best_unit", "select_auc", "heldout_auc"])  # fmt: skip
    top = pd.DataFrame(
        tops, columns=["concept", "unit", "rank", "row", "smiles", "activation", "has_concept"]
    )
    return det, top
