"""Atom-level explanations of screening hits: which atoms drive a hit's strongest task.

For every hit, the task the ensemble predicts highest is explained by the ensemble members that
support an attribution method (:func:`molprobe.attribution.attribution_method`): graph nets by
gradient x input on the atom features (cheap), vector nets by integrated gradients over their
whole input, the ECFP part mapped onto the atoms of each fingerprint environment
(:mod:`molprobe.attribution`). Scikit-learn members have no attribution and are skipped. Each member's atom scores (for the task's logit) are scaled to
max |score| = 1 per molecule, then averaged over members, so every member counts equally.
Positive weights push the prediction up, negative ones down.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from molprobe.errors import MolprobeError


@dataclass(frozen=True)
class HitExplanations:
    """Per hit: the explained task and one weight per heavy atom (RDKit order of the SMILES,
    in [-1, 1]); ``method`` names the members and methods used, e.g.
    ``"gine x3 (gradient_x_input), snn x3 (integrated_gradients)"``."""

    tasks: list[str]
    atom_weights: list[list[float]]
    method: str


def strongest_task(predictions: np.ndarray, tasks: Sequence[str]) -> list[str]:
    """Per row of ``predictions`` (n_hits, n_tasks; NaN ignored), the task with the highest
    value."""
    if predictions.ndim != 2 or predictions.shape[1] != len(tasks) or not len(tasks):
        raise MolprobeError(f"predictions of shape {predictions.shape} for {len(tasks)} tasks")
    filled = np.where(np.isfinite(predictions), predictions, -np.inf)
    return [tasks[int(i)] for i in filled.argmax(axis=1)]


def _is_graph(model_name: str) -> bool:
    from molprobe.models.registry import get_spec

    return get_spec(model_name).input_kind == "graph"


def _unit_scale(scores: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(scores))) if scores.size else 0.0
    return scores / peak if peak > 0 else np.zeros_like(scores, dtype=float)


def explain_hits(
    members: Sequence, smiles: Sequence[str], tasks: Sequence[str], explain: Sequence[str]
) -> HitExplanations:
    """Ensemble attribution for each molecule's task in ``explain``.

    Args:
        members: loaded models (:class:`molprobe.training.checkpoint.LoadedModel`).
        smiles: standardized SMILES of the hits (atom order = ``Chem.MolFromSmiles``).
        tasks: the ensemble's task names (the models' task order).
        explain: per molecule, the task to explain (one of ``tasks``).
    """
    from rdkit import Chem

    from molprobe.attribution import attribution_method, molecule_attributions
    from molprobe.inference.inputs import ModelInputs

    if len(smiles) != len(explain):
        raise MolprobeError(f"{len(explain)} tasks to explain for {len(smiles)} molecules")
    unknown = sorted(set(explain) - set(tasks))
    if unknown:
        raise MolprobeError(f"tasks {unknown} are not tasks of the models ({', '.join(tasks)})")
    usable = []
    for m in members:
        if attribution_method(m.meta.model_name, m.meta.featurizers) is not None:
            graph = _is_graph(m.meta.model_name)
            usable.append((m, "gradient_x_input" if graph else "integrated_gradients"))
    if not usable:
        raise MolprobeError(
            "no ensemble member supports attribution (graph nets, or SNN/FNN with ECFP input)"
        )
    n_atoms = [Chem.MolFromSmiles(s).GetNumAtoms() for s in smiles]
    totals = [np.zeros(n, dtype=float) for n in n_atoms]
    by_task: dict[str, list[int]] = {}
    for i, task in enumerate(explain):
        by_task.setdefault(task, []).append(i)
    for task, rows in by_task.items():
        group = [smiles[i] for i in rows]
        raw_blocks: dict = {}  # the group's vector features, computed once for all members
        for member, how in usable:
            feats = ModelInputs.from_checkpoint(member).featurize(group, raw_blocks)
            credit = molecule_attributions(member.model, member.meta.model_name,
                                           member.meta.featurizers, feats, group,
                                           list(tasks).index(task), how)  # fmt: skip
            for i, c in zip(rows, credit, strict=True):
                totals[i] += _unit_scale(np.asarray(c.atoms, dtype=float))
    weights = [[round(float(v) / len(usable), 3) for v in t] for t in totals]
    counts = Counter((m.meta.model_name, how) for m, how in usable)
    method = ", ".join(f"{name} x{n} ({how})" for (name, how), n in sorted(counts.items()))
    return HitExplanations(list(explain), weights, method)
