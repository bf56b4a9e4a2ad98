"""Planted ping-pong table: the audit's positive control (a shortcut that is really there).

The lecture's warning is a net that recognises the ping-pong ball by its table. Here the
"table" is a chemically meaningless decoy, a trimethylsilyl group (-Si(CH3)3) grafted onto a
C-H carbon (:func:`add_decoy`). In the **planted** condition the decoy co-occurs with the
positives of one task in the train and valid molecules (``positive_rate`` of the positives,
``negative_rate`` of the negatives carry it), so early stopping rewards the shortcut too. The
**clean** twin has the same molecules, split, seed and number of decoys, placed at random
(independent of the label). Test molecules are scored both without and with the decoy.

Measured per family, condition and seed on the test molecules:

- ``shift``: p(molecule + decoy) - p(molecule), mean over test molecules with a bootstrap 95%
  CI (the counterfactual: does adding the table raise the prediction?);
- ``auc_clean``: test ROC-AUC without decoys; ``auc_against``: with the decoy on every
  negative test molecule only (the ping-pong collapse: the table without the ball);
- ``decoy_credit``: share of |atom credit| (integrated gradients over every input) on the
  four decoy atoms of decoy-carrying test molecules, against ``decoy_atom_fraction`` (the
  attribution check's own positive control; NaN for forests).

A model is flagged when the 95% CI of ``auc_drop`` = auc_clean - auc_against (bootstrap over
the test molecules; over seeds: the seed mean, resampling each seed's molecules) lies above
``threshold``: its ranking falls apart once the decoy stops following the label.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rdkit import Chem

from molprobe.errors import MolprobeError
from molprobe.training.metrics import weighted_roc_auc

DECOY = "trimethylsilyl"
CONDITIONS = ("planted", "clean")
PLANTED_COLUMNS = [
    "model", "condition", "seed", "task", "n_train", "n_train_decoy", "n_train_positive",
    "n_test", "n_test_positive", "shift", "shift_ci_low", "shift_ci_high", "auc_clean",
    "auc_against", "auc_drop", "drop_ci_low", "drop_ci_high", "decoy_credit",
    "decoy_atom_fraction", "epochs", "best_epoch", "seconds", "flagged",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "model", "condition", "task", "n_seeds", "shift", "shift_ci_low", "shift_ci_high",
    "auc_clean", "auc_against", "auc_drop", "drop_ci_low", "drop_ci_high", "decoy_credit",
    "decoy_atom_fraction", "n_seeds_flagged", "seconds", "flagged",
]  # fmt: skip


@dataclass(frozen=True)
class PlantedConfig:
    """Settings of the planted ping-pong table.

    task: the task whose positives carry the decoy. n_molecules: molecules sampled (measured on
    ``task``; Si-free; with a C-H); positive_rate / negative_rate: share of train/valid
    positives / negatives given the decoy (planted condition); fractions: train/valid/test;
    seeds: one split, decoy placement and model init per seed; threshold: ROC-AUC drop
    (auc_clean - auc_against) whose CI lower bound above it flags a model; bootstrap:
    resamples of the test molecules.
    """

    task: str = "SR-MMP"
    n_molecules: int = 1500
    positive_rate: float = 0.9
    negative_rate: float = 0.05
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
    seeds: tuple[int, ...] = (0, 1, 2)
    threshold: float = 0.05
    bootstrap: int = 1000
    sample_seed: int = 0


@dataclass(frozen=True)
class Family:
    """One model family as the workflow trains it: registry ``name``, featurizer specs (in
    input order, e.g. ``[{"name": "ecfp", ...}, {"name": "descriptors"}]``) and ``params``
    (hyperparameters and TrainConfig fields, as ``molprobe train --params``)."""

    name: str
    featurizers: list[dict]
    params: dict = field(default_factory=dict)


@dataclass
class PlantedResult:
    """``runs``: one row per family, condition and seed (:data:`PLANTED_COLUMNS`);
    ``summary``: one row per family and condition over seeds (:data:`SUMMARY_COLUMNS`)."""

    runs: pd.DataFrame
    summary: pd.DataFrame
    config: PlantedConfig


def add_decoy(smiles: str) -> str | None:
    """``smiles`` with one hydrogen of its first C-H carbon replaced by -Si(CH3)3 (canonical
    SMILES), or None when the molecule has no C-H or already contains silicon."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or any(a.GetAtomicNum() == 14 for a in mol.GetAtoms()):
        return None
    mol = Chem.RWMol(Chem.AddHs(mol))
    hydrogen = next(
        (a.GetIdx() for a in mol.GetAtoms()
         if a.GetAtomicNum() == 1 and a.GetNeighbors()[0].GetAtomicNum() == 6),
        None,
    )  # fmt: skip
    if hydrogen is None:
        return None
    mol.GetAtomWithIdx(hydrogen).SetAtomicNum(14)
    for _ in range(3):
        c = mol.AddAtom(Chem.Atom(6))
        mol.AddBond(hydrogen, c, Chem.BondType.SINGLE)
    out = Chem.RemoveHs(mol.GetMol())
    Chem.SanitizeMol(out)
    return Chem.MolToSmiles(out)


def sample_molecules(
    smiles: Sequence[str], labels: np.ndarray, config: PlantedConfig
) -> pd.DataFrame:
    """Up to ``n_molecules`` molecules measured on the task that can carry the decoy:
    columns smiles, smiles_decoy, y (0/1); a fixed random sample (``sample_seed``)."""
    y = np.asarray(labels, dtype=np.float64)
    keep = np.flatnonzero(np.isfinite(y))
    rng = np.random.default_rng(config.sample_seed)
    rows = []
    for i in rng.permutation(keep):
        decoy = add_decoy(smiles[i])
        if decoy is not None:
            rows.append({"smiles": smiles[i], "smiles_decoy": decoy, "y": float(y[i])})
        if len(rows) == config.n_molecules:
            break
    table = pd.DataFrame(rows, columns=["smiles", "smiles_decoy", "y"])
    if table.empty or table["y"].nunique() < 2:
        raise MolprobeError(f"task {config.task!r}: too few labelled molecules for the table")
    return table


def place_decoys(y: np.ndarray, fit_rows: np.ndarray, config: PlantedConfig, seed: int):
    """Bool (n,) decoy flags of the train+valid rows ``fit_rows`` for both conditions:
    ``{"planted": tied to the positives, "clean": same count at random rows}``."""
    rng = np.random.default_rng(seed + 7919)
    planted = np.zeros(y.size, dtype=bool)
    rate = np.where(y[fit_rows] == 1, config.positive_rate, config.negative_rate)
    planted[fit_rows] = rng.random(fit_rows.size) < rate
    clean = np.zeros(y.size, dtype=bool)
    clean[rng.choice(fit_rows, int(planted.sum()), replace=False)] = True
    return {"planted": planted, "clean": clean}


def featurize_all(families: Sequence[Family], smiles: Sequence[str]) -> dict[str, object]:
    """Every featurizer the families read, computed once on ``smiles``: spec JSON -> features
    (vectors (n, F), a GraphStore, or token ids with the tokenizer fitted on ``smiles``)."""
    from molprobe.chem.featurize import make_featurizer

    out: dict[str, object] = {}
    for fam in families:
        for spec in fam.featurizers:
            key = json.dumps(spec, sort_keys=True)
            if key in out:
                continue
            fz = make_featurizer(spec)
            if spec.get("name") == "tokens":
                if fz.vocab is None:
                    fz.fit(smiles)
                ids, _ = fz.encode(list(smiles), fz.max_len)
                out[key] = (np.asarray(ids), fz.vocab_size)
            else:
                out[key] = fz(list(smiles))
            out["spec:" + key] = fz.spec
    return out


def decoy_credit(model, fam: Family, features, X, rows: np.ndarray, smiles: Sequence[str]):
    """Mean share of |atom credit| (integrated gradients, :mod:`molprobe.attribution`) on the
    four decoy atoms of test molecules that carry the decoy, and the mean share of atoms they
    make up; (NaN, NaN) for families without attribution. ``rows``: positions in X."""
    from molprobe.attribution import attribution_method, molecule_attributions

    specs = [features["spec:" + json.dumps(s, sort_keys=True)] for s in fam.featurizers]
    if attribution_method(fam.name, specs) is None or not len(rows):
        return np.nan, np.nan
    sub = X[rows] if isinstance(X, np.ndarray) else X.subset(rows)
    credit = molecule_attributions(model, fam.name, specs, sub, list(smiles), 0)
    pattern = Chem.MolFromSmarts("[Si](-[CH3])(-[CH3])-[CH3]")
    shares, fractions = [], []
    for c, smi in zip(credit, smiles, strict=True):
        mol = Chem.MolFromSmiles(smi)
        mask = np.zeros(mol.GetNumAtoms(), dtype=bool)
        for match in mol.GetSubstructMatches(pattern):
            mask[list(match)] = True
        total = np.abs(c.atoms).sum()
        if total > 0 and mask.any():
            shares.append(np.abs(c.atoms[mask]).sum() / total)
            fractions.append(mask.mean())
    return (float(np.mean(shares)), float(np.mean(fractions))) if shares else (np.nan, np.nan)


def family_inputs(fam: Family, features: Mapping[str, object], rows: np.ndarray, train: np.ndarray):
    """The model input of ``fam`` for the feature rows ``rows`` (descriptors scaled on the
    positions ``train`` into ``rows``)."""
    from molprobe.models.registry import get_spec
    from molprobe.training.data import assemble_vectors

    kind = get_spec(fam.name).input_kind
    blocks = [features[json.dumps(s, sort_keys=True)] for s in fam.featurizers]
    if kind == "tokens":
        ids, vocab = blocks[0]
        ids = ids[rows]
        return ids, (ids != 0).sum(axis=1), vocab
    if kind == "graph":
        store = blocks[0].subset(rows)
        if len(blocks) == 1:
            return store
        X, _ = assemble_vectors([b[rows] for b in blocks[1:]], fam.featurizers[1:], None, train)
        return store.with_mol_features(X)
    X, _ = assemble_vectors([b[rows] for b in blocks], fam.featurizers, None, train)
    return X


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(weighted_roc_auc(y, s, np.ones((1, y.size)))[0])


def intervals(parts: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int, seed: int):
    """95% bootstrap intervals of the seed-mean shift and AUC drop.

    Args:
        parts: per seed (y (m,), p_clean (m,), p_decoy (m,)) of its test molecules.
        n: resamples; every seed's molecules are resampled (multinomial weights) each time.
    Returns ((shift_low, shift_high), (drop_low, drop_high)).
    """
    rng = np.random.default_rng(seed)
    shift, drop = np.zeros(n), np.zeros(n)
    for y, p_clean, p_decoy in parts:
        w = rng.multinomial(y.size, np.full(y.size, 1 / y.size), size=n).astype(np.float64)
        shift += w @ (p_decoy - p_clean) / y.size
        against = np.where(y == 1, p_clean, p_decoy)
        drop += weighted_roc_auc(y, p_clean, w) - weighted_roc_auc(y, against, w)
    shift, drop = shift / len(parts), drop / len(parts)
    q = (0.025, 0.975)
    return tuple(np.nanquantile(shift, q)), tuple(np.nanquantile(drop, q))


def train_one(fam: Family, features, table: pd.DataFrame, split, decoy: np.ndarray,
              seed: int, device: str = "cpu", threads: int = 0,
              n_attributed: int = 20) -> tuple[dict, tuple]:  # fmt: skip
    """Train ``fam`` on train/valid rows (decoy SMILES where ``decoy``), predict the test rows
    without and with the decoy; attribute ``n_attributed`` decoy-carrying test molecules
    (:func:`decoy_credit`). Returns (run info, (y, p_clean, p_decoy) of the test rows)."""
    from molprobe.inference.predict import predict
    from molprobe.models.registry import make_params
    from molprobe.training.data import Split
    from molprobe.training.loop import TRAIN_KEYS, fit, make_train_config

    n = len(table)
    y = table["y"].to_numpy()
    fit_rows = np.concatenate([split.train, split.valid])
    # feature rows: 0..n-1 parents, n..2n-1 decoy versions
    rows = np.concatenate([np.where(decoy[fit_rows], fit_rows + n, fit_rows),
                           split.test, split.test + n])  # fmt: skip
    n_tr, n_va, n_te = len(split.train), len(split.valid), len(split.test)
    local = Split(np.arange(n_tr), np.arange(n_tr, n_tr + n_va),
                  np.arange(n_tr + n_va, n_tr + n_va + n_te))  # fmt: skip
    X = family_inputs(fam, features, rows, local.train)
    Y = np.concatenate([y[fit_rows], y[split.test], y[split.test]])[:, None]
    hyper = {k: v for k, v in fam.params.items() if k not in TRAIN_KEYS}
    train_cfg = {k: v for k, v in fam.params.items() if k in TRAIN_KEYS}
    train_cfg.update(seed=seed, device=device)
    if threads:
        train_cfg["num_threads"] = threads
    t0 = time.perf_counter()
    model, result = fit(fam.name, make_params(fam.name, hyper), X, Y, local, "classification",
                        make_train_config(fam.name, train_cfg))  # fmt: skip
    test_rows = np.arange(n_tr + n_va, len(rows))
    p = np.asarray(predict(model, X, test_rows, "classification"), dtype=np.float64)[:, 0]
    p_clean, p_decoy = p[:n_te], p[n_te:]
    y_te = y[split.test]
    against = np.where(y_te == 1, p_clean, p_decoy)
    info = {"n_train": n_tr, "n_train_decoy": int(decoy[split.train].sum()),
            "n_train_positive": int((y[split.train] == 1).sum()), "n_test": n_te,
            "n_test_positive": int((y_te == 1).sum()), "auc_clean": _auc(y_te, p_clean),
            "auc_against": _auc(y_te, against), "epochs": len(result.history),
            "best_epoch": int(result.best_epoch), "seconds": time.perf_counter() - t0}  # fmt: skip
    info["auc_drop"] = info["auc_clean"] - info["auc_against"]
    k = min(n_attributed, n_te)
    decoy_rows = np.arange(n_tr + n_va + n_te, n_tr + n_va + n_te + k)
    smiles = table["smiles_decoy"].to_numpy()[split.test[:k]]
    info["decoy_credit"], info["decoy_atom_fraction"] = decoy_credit(
        model, fam, features, X, decoy_rows, smiles
    )
    return info, (y_te, p_clean, p_decoy)


def planted_audit(
    smiles: Sequence[str],
    labels: np.ndarray,
    families: Sequence[Family],
    config: PlantedConfig | None = None,
    device: str = "cpu",
    threads: int = 0,
    progress=None,
) -> PlantedResult:
    """Train every family on the planted table and on its clean twin for every seed.

    Args:
        smiles: standardized SMILES; labels: (n,) 0/1/NaN labels of ``config.task``.
        families: the families to audit. progress: optional callable(str) for one line per run.
    """
    from molprobe.chem.splits import random_split

    config = config or PlantedConfig()
    if len(config.seeds) < 1 or not families:
        raise MolprobeError("the planted audit needs at least one seed and one family")
    table = sample_molecules(smiles, labels, config)
    features = featurize_all(families, [*table["smiles"], *table["smiles_decoy"]])
    y = table["y"].to_numpy()
    rows, preds = [], {}
    for seed in config.seeds:
        split = random_split(len(table), config.fractions, seed)
        decoys = place_decoys(y, np.concatenate([split.train, split.valid]), config, seed)
        for fam in families:
            for cond in CONDITIONS:
                info, part = train_one(fam, features, table, split, decoys[cond], seed,
                                       device, threads)  # fmt: skip
                (lo, hi), (dlo, dhi) = intervals([part], config.bootstrap, seed)
                preds[(fam.name, cond, seed)] = part
                rows.append({"model": fam.name, "condition": cond, "seed": seed,
                             "task": config.task, **info,
                             "shift": float((part[2] - part[1]).mean()), "shift_ci_low": lo,
                             "shift_ci_high": hi, "drop_ci_low": dlo, "drop_ci_high": dhi,
                             "flagged": bool(dlo > config.threshold)})  # fmt: skip
                if progress is not None:
                    r = rows[-1]
                    progress(f"{fam.name} {cond} seed {seed}: shift {r['shift']:+.3f} "
                             f"[{lo:+.3f}, {hi:+.3f}], AUC {r['auc_clean']:.3f} -> "
                             f"{r['auc_against']:.3f} against ({r['seconds']:.1f} s)")  # fmt: skip
    runs = pd.DataFrame(rows, columns=PLANTED_COLUMNS)
    return PlantedResult(runs, summarize(runs, preds, config), config)


def summarize(runs: pd.DataFrame, preds: Mapping[tuple, tuple], config: PlantedConfig):
    """One row per family and condition: seed means; the CIs resample the test molecules of
    every seed (:func:`intervals`; :data:`SUMMARY_COLUMNS`)."""
    out = []
    for (model, cond), g in runs.groupby(["model", "condition"], sort=False):
        parts = [preds[(model, cond, s)] for s in g["seed"]]
        (lo, hi), (dlo, dhi) = intervals(parts, config.bootstrap, 0)
        out.append({"model": model, "condition": cond, "task": config.task,
                    "n_seeds": len(g), "shift": g["shift"].mean(), "shift_ci_low": lo,
                    "shift_ci_high": hi, "auc_clean": g["auc_clean"].mean(),
                    "auc_against": g["auc_against"].mean(), "auc_drop": g["auc_drop"].mean(),
                    "drop_ci_low": dlo, "drop_ci_high": dhi,
                    "decoy_credit": g["decoy_credit"].mean(),
                    "decoy_atom_fraction": g["decoy_atom_fraction"].mean(),
                    "n_seeds_flagged": int(g["flagged"].sum()), "seconds": g["seconds"].sum(),
                    "flagged": bool(dlo > config.threshold)})  # fmt: skip
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)
