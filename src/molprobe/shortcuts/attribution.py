"""Attribution sanity: do the top-scored molecules' attributions fall on known toxicophores?

Per model, task and top-scored test molecule, integrated gradients (:mod:`molprobe.attribution`,
captum) credit every input the model reads: ECFP bits (split over their environment atoms),
RDKit descriptors, and for graph nets atom and bond features and the molecule-level
descriptors. Reported per molecule:

- ``alert_share``: share of |atom credit| on structural-alert atoms
  (:func:`molprobe.chem.alerts.alert_matches`), against ``alert_atom_fraction`` (the share of
  atoms that are alert atoms: what a uniform attribution would give);
- ``descriptor_share``: share of all |credit| on descriptor inputs;
- ``alert_share_all``: share of all |credit| on alert atoms plus the alert-like fragment
  descriptors (:data:`ALERT_DESCRIPTORS`, e.g. ``fr_nitro``), so models that read an alert
  through a descriptor are not under-counted.

The alerts are mutagenicity (Kazius et al. 2005) and carcinogenicity (Benigni-Bossa 2008)
alerts: they are not nuclear-receptor or stress-response toxicophores, so for Tox21's NR and
SR tasks a low share is no proof of a shortcut. Compared with a shuffled-label twin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from rdkit import Chem

from molprobe.attribution import attribution_method, molecule_attributions
from molprobe.chem.alerts import alert_matches

ATTRIBUTION_COLUMNS = [
    "model", "split", "seed", "control", "method", "task", "mol_id", "smiles", "score",
    "n_atoms", "n_alert_atoms", "alert_atom_fraction", "alert_share", "alert_share_positive",
    "descriptor_share", "alert_share_all", "completeness_delta",
]  # fmt: skip
#: RDKit fragment descriptors that count a Kazius / Benigni-Bossa alert's group
ALERT_DESCRIPTORS = (
    "fr_nitro", "fr_nitro_arom", "fr_nitro_arom_nonortho", "fr_nitroso", "fr_N_O", "fr_azo",
    "fr_azide", "fr_diazo", "fr_epoxide", "fr_hdrzine", "fr_hdrzone", "fr_alkyl_halide",
    "fr_aldehyde", "fr_isocyan", "fr_isothiocyan", "fr_aniline", "fr_Ar_NH",
)  # fmt: skip


def alert_atoms(mol: Chem.Mol) -> np.ndarray:
    """Bool mask (n_atoms,) of atoms in any structural alert match."""
    mask = np.zeros(mol.GetNumAtoms(), dtype=bool)
    for matches in alert_matches(mol).values():
        for match in matches:
            mask[list(match)] = True
    return mask


def model_method(loaded) -> str | None:
    """The attribution method of a loaded model (None: scikit-learn, SMILES LSTM)."""
    return attribution_method(loaded.meta.model_name, loaded.meta.featurizers)


def alert_share(scores: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(share of |score| on masked atoms, share of the positive part on masked atoms);
    NaN when the total is 0."""
    a = np.abs(scores)
    pos = np.clip(scores, 0, None)
    share = float(a[mask].sum() / a.sum()) if a.sum() > 0 else np.nan
    share_pos = float(pos[mask].sum() / pos.sum()) if pos.sum() > 0 else np.nan
    return share, share_pos


def attribution_rows(
    loaded,
    task: str,
    mol_ids: Sequence[str],
    smiles: Sequence[str],
    scores: Sequence[float],
    **labels,
) -> list[dict]:
    """Rows of :data:`ATTRIBUTION_COLUMNS` (minus the ``labels`` you pass: model, split, seed,
    control) for the given molecules and one task."""
    from molprobe.shortcuts.permuted import model_inputs

    meta = loaded.meta
    t = list(meta.task_names).index(task)
    feats = model_inputs(meta, {}, list(smiles))
    credit = molecule_attributions(loaded.model, meta.model_name, meta.featurizers, feats,
                                   list(smiles), t)  # fmt: skip
    rows = []
    for mid, smi, score, c in zip(mol_ids, smiles, scores, credit, strict=True):
        mask = alert_atoms(Chem.MolFromSmiles(smi))
        share, share_pos = alert_share(c.atoms, mask)
        desc = np.abs(np.array(list(c.descriptors.values()), dtype=float))
        alert_desc = sum(abs(v) for k, v in c.descriptors.items() if k in ALERT_DESCRIPTORS)
        total = np.abs(c.atoms).sum() + desc.sum() + abs(c.unmapped)
        rows.append({**labels, "method": "integrated_gradients", "task": task, "mol_id": mid,
                     "smiles": smi, "score": float(score), "n_atoms": int(mask.size),
                     "n_alert_atoms": int(mask.sum()),
                     "alert_atom_fraction": float(mask.mean()) if mask.size else np.nan,
                     "alert_share": share, "alert_share_positive": share_pos,
                     "descriptor_share": float(desc.sum() / total) if total > 0 else np.nan,
                     "alert_share_all": float((np.abs(c.atoms[mask]).sum() + alert_desc) / total)
                     if total > 0 else np.nan,
                     "completeness_delta": c.delta})  # fmt: skip
    return rows


def top_scored(predictions: pd.DataFrame, task: str, top: int) -> pd.DataFrame:
    """The ``top`` test molecules with the highest predicted probability for ``task``."""
    return predictions.sort_values(task, ascending=False, kind="mergesort").head(top)


def attribution_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, split, seed, control and task over molecules that carry an alert:
    n_molecules, mean alert_share, alert_share_all, descriptor_share, alert_atom_fraction and
    enrichment (alert_share / alert_atom_fraction, 1 = no preference for alert atoms)."""
    cols = ["model", "split", "seed", "control", "task"]
    if table.empty:
        return pd.DataFrame(columns=[*cols, "n_molecules", "alert_share", "alert_share_all",
                                     "descriptor_share", "alert_atom_fraction",
                                     "enrichment"])  # fmt: skip
    sub = table[(table["n_alert_atoms"] > 0) & np.isfinite(table["alert_share"])]
    out = (
        sub.groupby(cols)
        .agg(
            n_molecules=("mol_id", "count"),
            alert_share=("alert_share", "mean"),
            alert_share_all=("alert_share_all", "mean"),
            descriptor_share=("descriptor_share", "mean"),
            alert_atom_fraction=("alert_atom_fraction", "mean"),
        )  # fmt: skip
        .reset_index()
    )
    out["enrichment"] = out["alert_share"] / out["alert_atom_fraction"]
    return out


def default_tasks(Y: np.ndarray, tasks: Sequence[str], n: int = 3) -> list[str]:
    """The ``n`` tasks with the most positive labels (ties: table order)."""
    pos = np.nansum(np.asarray(Y, dtype=np.float64) == 1, axis=0)
    order = sorted(range(len(tasks)), key=lambda t: (-pos[t], t))
    return [tasks[t] for t in order[:n]]


def attribution_table(
    items: Sequence[tuple[object, object | None]], tasks: Sequence[str], top: int = 50
) -> pd.DataFrame:
    """Attribution rows (columns :data:`ATTRIBUTION_COLUMNS`) for the ``top`` test molecules
    with the highest predicted probability per task.

    Args:
        items: (AuditedModel, shuffled-label LoadedModel or None) pairs; models without an
            attribution method (scikit-learn, LSTM) are skipped. The shuffled-label model is
            attributed on the same molecules (``control == "permuted"``; its own scores).
        tasks: task names to audit (those the model lacks are skipped).
    """
    from molprobe.shortcuts.counterions import model_probabilities

    rows: list[dict] = []
    for run, permuted in items:
        if model_method(run.loaded) is None:
            continue
        labels = {"model": run.model, "split": run.split, "seed": run.seed}
        for task in tasks:
            if task not in run.tasks:
                continue
            mols = top_scored(run.predictions, task, top)
            ids, smiles = mols["mol_id"].tolist(), mols["smiles"].tolist()
            rows += attribution_rows(run.loaded, task, ids, smiles, mols[task].tolist(),
                                     **labels, control="trained")  # fmt: skip
            if permuted is not None:
                t = list(permuted.meta.task_names).index(task)
                scores = model_probabilities(permuted, smiles)[:, t]
                rows += attribution_rows(permuted, task, ids, smiles, scores.tolist(),
                                         **labels, control="permuted")  # fmt: skip
    return pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS)
