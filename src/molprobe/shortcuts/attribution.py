"""Attribution sanity: do the top-scored molecules' attributions fall on known toxicophores?

Per model, task and top-scored test molecule, each heavy atom gets an attribution score:

- vector nets on ECFP (SNN, FNN): integrated gradients (Sundararajan et al., ICML 2017) on the
  fingerprint input, from the all-bits-off baseline, of the task's logit; each on-bit's credit
  is split equally over the atoms of the Morgan environments that set it (RDKit bitInfo);
- graph nets (GINE, AttentiveFP): gradient × input on the atom feature matrix, summed per atom.

The share of |attribution| on structural-alert atoms (:func:`molprobe.chem.alerts.alert_matches`)
is compared with the share of the molecule's atoms that are alert atoms (what a uniform
attribution would give) and with the same quantity for a model trained on shuffled labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from molprobe.chem.alerts import alert_matches
from molprobe.errors import MolprobeError

ATTRIBUTION_COLUMNS = [
    "model", "split", "seed", "control", "method", "task", "mol_id", "smiles", "score",
    "n_atoms", "n_alert_atoms", "alert_atom_fraction", "alert_share", "alert_share_positive",
]  # fmt: skip
IG_STEPS = 32


def alert_atoms(mol: Chem.Mol) -> np.ndarray:
    """Bool mask (n_atoms,) of atoms in any structural alert match."""
    mask = np.zeros(mol.GetNumAtoms(), dtype=bool)
    for matches in alert_matches(mol).values():
        for match in matches:
            mask[list(match)] = True
    return mask


def ecfp_bit_atoms(
    mol: Chem.Mol, radius: int = 2, n_bits: int = 2048, chirality: bool = False
) -> dict[int, list[int]]:
    """Folded ECFP bit -> the atoms of every environment that sets it (an atom appears once per
    environment it belongs to). Same generator settings as :class:`molprobe.chem.featurize.ECFP`."""
    gen = rdFingerprintGenerator.GetMorganGenerator(
        radius=radius, fpSize=n_bits, includeChirality=chirality
    )
    ao = rdFingerprintGenerator.AdditionalOutput()
    ao.AllocateBitInfoMap()
    gen.GetFingerprint(mol, additionalOutput=ao)
    out: dict[int, list[int]] = {}
    for bit, envs in ao.GetBitInfoMap().items():
        atoms: list[int] = []
        for center, rad in envs:
            if rad == 0:
                atoms.append(center)
                continue
            env = set()
            for b in Chem.FindAtomEnvironmentOfRadiusN(mol, rad, center):
                bond = mol.GetBondWithIdx(b)
                env.update((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
            atoms += sorted(env) if env else [center]
        out[int(bit)] = atoms
    return out


def bits_to_atoms(bit_attribution: np.ndarray, bit_atoms: dict[int, list[int]], n_atoms: int):
    """Atom scores (n_atoms,) from bit attributions (n_bits,): each bit's credit split equally
    over its environment atoms (``bit_atoms``); bits without environments give nothing."""
    out = np.zeros(n_atoms)
    for bit, atoms in bit_atoms.items():
        if atoms:
            np.add.at(out, atoms, bit_attribution[bit] / len(atoms))
    return out


def integrated_gradients(
    model: torch.nn.Module,
    X: np.ndarray,
    task: int,
    columns: slice | None = None,
    steps: int = IG_STEPS,
) -> np.ndarray:
    """Integrated gradients (n, F) of the logit of ``task`` for inputs X (n, F).

    The baseline is X with ``columns`` (default: all) set to 0 (fingerprint bits off); other
    columns (e.g. descriptors) stay at their values. Riemann midpoint rule with ``steps``.
    """
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(X, dtype=np.float32), device=device)
    base = x.clone()
    base[:, columns if columns is not None else slice(None)] = 0.0
    total = torch.zeros_like(x)
    model.eval()
    for k in range(steps):
        alpha = (k + 0.5) / steps
        xi = (base + alpha * (x - base)).requires_grad_(True)
        out = model(xi)[:, task].sum()
        (grad,) = torch.autograd.grad(out, xi)
        total += grad
    return ((x - base) * total / steps).detach().cpu().numpy()


def gradient_x_input(model: torch.nn.Module, store, task: int) -> list[np.ndarray]:
    """Per-molecule atom scores (list of (n_atoms_i,)): Σ_features x · ∂logit/∂x on the atom
    feature matrix of a :class:`molprobe.chem.graphs.GraphStore` (all its molecules)."""
    device = next(model.parameters()).device
    batch = store.to(device).batch(torch.arange(len(store), device=device))
    x = batch.x.detach().clone().requires_grad_(True)
    batch.x = x
    model.eval()
    out = model(batch)[:, task].sum()
    (grad,) = torch.autograd.grad(out, x)
    per_atom = (grad * x).sum(dim=1).detach().cpu().numpy()
    ptr = store.atom_ptr.cpu().numpy()
    return [per_atom[ptr[i] : ptr[i + 1]] for i in range(len(store))]


def _ecfp_block(specs: Sequence[dict]) -> tuple[dict, slice] | None:
    """The ECFP spec of a vector model and its columns in the model input (None if absent)."""
    start = 0
    for spec in specs:
        if spec.get("name") == "ecfp":
            return spec, slice(start, start + int(spec["n_bits"]))
        if spec.get("name") == "descriptors":
            start += len(spec["names"])
        else:
            return None
    return None


def attribution_method(loaded) -> str | None:
    """``integrated_gradients`` (torch vector model with ECFP input), ``gradient_x_input``
    (graph nets) or None (not supported: scikit-learn baselines, SMILES LSTM)."""
    from molprobe.models.registry import get_spec

    spec = get_spec(loaded.meta.model_name)
    if spec.framework != "torch":
        return None
    if spec.input_kind == "graph":
        return "gradient_x_input"
    if spec.input_kind == "vector" and _ecfp_block(loaded.meta.featurizers) is not None:
        return "integrated_gradients"
    return None


def atom_attributions(
    loaded, smiles: Sequence[str], task: int, raw_blocks: dict | None = None
) -> list[np.ndarray]:
    """Attribution per heavy atom (RDKit order of ``Chem.MolFromSmiles``) of each molecule for
    the logit of ``task`` (an index into the model's tasks). ``raw_blocks``: optional vector
    feature cache for these ``smiles``, shared by several models (see
    :func:`molprobe.screening.ensemble.member_features`)."""
    from molprobe.screening.ensemble import member_features

    method = attribution_method(loaded)
    if method is None:
        raise MolprobeError(f"no attribution method for model {loaded.meta.model_name!r}")
    feats = member_features(loaded, list(smiles), raw_blocks=raw_blocks)
    if method == "gradient_x_input":
        return gradient_x_input(loaded.model, feats, task)
    spec, cols = _ecfp_block(loaded.meta.featurizers)
    ig = integrated_gradients(loaded.model, feats, task, cols)[:, cols]
    out = []
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        bit_atoms = ecfp_bit_atoms(mol, int(spec["radius"]), int(spec["n_bits"]),
                                   bool(spec.get("chirality", False)))  # fmt: skip
        out.append(bits_to_atoms(ig[i], bit_atoms, mol.GetNumAtoms()))
    return out


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
    t = list(loaded.meta.task_names).index(task)
    method = attribution_method(loaded)
    atom_scores = atom_attributions(loaded, smiles, t)
    rows = []
    for mid, smi, score, a in zip(mol_ids, smiles, scores, atom_scores, strict=True):
        mask = alert_atoms(Chem.MolFromSmiles(smi))
        share, share_pos = alert_share(a, mask)
        rows.append({**labels, "method": method, "task": task, "mol_id": mid, "smiles": smi,
                     "score": float(score), "n_atoms": int(mask.size),
                     "n_alert_atoms": int(mask.sum()),
                     "alert_atom_fraction": float(mask.mean()) if mask.size else np.nan,
                     "alert_share": share, "alert_share_positive": share_pos})  # fmt: skip
    return rows


def top_scored(predictions: pd.DataFrame, task: str, top: int) -> pd.DataFrame:
    """The ``top`` test molecules with the highest predicted probability for ``task``."""
    return predictions.sort_values(task, ascending=False, kind="mergesort").head(top)


def attribution_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model, split, seed, control and task over molecules that carry an alert:
    n_molecules, mean alert_share, mean alert_atom_fraction and enrichment
    (alert_share / alert_atom_fraction, 1 = no preference for alert atoms)."""
    cols = ["model", "split", "seed", "control", "task"]
    if table.empty:
        return pd.DataFrame(columns=[*cols, "n_molecules", "alert_share", "alert_atom_fraction",
                                     "enrichment"])  # fmt: skip
    sub = table[(table["n_alert_atoms"] > 0) & np.isfinite(table["alert_share"])]
    out = (
        sub.groupby(cols)
        .agg(
            n_molecules=("mol_id", "count"),
            alert_share=("alert_share", "mean"),
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
        if attribution_method(run.loaded) is None:
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
