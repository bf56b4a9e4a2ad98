"""Trivial-feature baselines: how far do molecule size and a few bulk descriptors get?

Per split, seed and task the candidates are a class-balanced scikit-learn model (histogram
gradient boosting by default, or logistic regression on standardised descriptors) trained on
eight bulk descriptors of the train molecules, and each single descriptor in either direction.
The baseline is the candidate with the best **validation** ROC-AUC; only that one is scored on
the test molecules (with a bootstrap 95% CI), so the choice never reads test labels. A task
where this baseline comes within ``margin`` (0.05) ROC-AUC of the best deep model is flagged:
the deep model may have learned little beyond size or lipophilicity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdMolDescriptors
from threadpoolctl import threadpool_limits

from molprobe.errors import MolprobeError
from molprobe.shortcuts import DEEP_FAMILIES, AuditedModel
from molprobe.training.metrics import weighted_roc_auc

#: bulk descriptors (name -> function of an RDKit molecule): size, weight, lipophilicity,
#: net formal charge, ring count, polar surface (Å²), H-bond donors and acceptors
BULK_DESCRIPTORS = {
    "heavy_atoms": lambda m: m.GetNumHeavyAtoms(),
    "mol_weight": Descriptors.MolWt,
    "logp": Crippen.MolLogP,
    "formal_charge": Chem.GetFormalCharge,
    "rings": rdMolDescriptors.CalcNumRings,
    "tpsa": rdMolDescriptors.CalcTPSA,
    "hbd": Lipinski.NumHDonors,
    "hba": Lipinski.NumHAcceptors,
}
TRIVIAL_KINDS = ("hgb", "logreg")
TRIVIAL_COLUMNS = [
    "split", "seed", "task", "n_valid", "n_test", "n_positive", "chosen", "chosen_valid_auc",
    "roc_auc", "ci_low", "ci_high", "model_valid_auc", "best_descriptor", "best_descriptor_sign",
    "best_descriptor_valid_auc", "best_descriptor_auc", "trivial_auc_mean", "best_model",
    "best_model_auc", "gap", "flagged",
]  # fmt: skip
BOOTSTRAP = 200


def bulk_descriptors(smiles: Sequence[str]) -> pd.DataFrame:
    """float64 (n_molecules, 8) table of :data:`BULK_DESCRIPTORS` for standardized SMILES."""
    out = np.empty((len(smiles), len(BULK_DESCRIPTORS)))
    fns = list(BULK_DESCRIPTORS.values())
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise MolprobeError(f"RDKit cannot parse SMILES {smi!r}")
        out[i] = [float(f(mol)) for f in fns]
    return pd.DataFrame(out, columns=list(BULK_DESCRIPTORS))


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    n_pos = int((y == 1).sum())
    if n_pos == 0 or n_pos == y.size:
        return float("nan")
    return float(weighted_roc_auc(y, s, np.ones((1, y.size)))[0])


def _estimator(kind: str, seed: int):
    if kind == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=50, learning_rate=0.1, max_leaf_nodes=8, max_bins=64, min_samples_leaf=20,
            l2_regularization=1.0, class_weight="balanced", early_stopping=False,
            random_state=seed,
        )  # fmt: skip
    if kind == "logreg":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
        )
    raise MolprobeError(f"unknown trivial baseline {kind!r}; choose one of {TRIVIAL_KINDS}")


def _bootstrap_auc(y: np.ndarray, s: np.ndarray, n: int, seed: int) -> tuple[float, float]:
    """95% bootstrap interval of the ROC-AUC (multinomial resampling weights)."""
    if n <= 0 or y.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    w = rng.multinomial(y.size, np.full(y.size, 1 / y.size), size=n).astype(np.float64)
    aucs = weighted_roc_auc(y, s, w)
    aucs = aucs[np.isfinite(aucs)]
    if not aucs.size:
        return float("nan"), float("nan")
    return float(np.quantile(aucs, 0.025)), float(np.quantile(aucs, 0.975))


def trivial_scores(
    descriptors: pd.DataFrame,
    Y: np.ndarray,
    tasks: Sequence[str],
    train: np.ndarray,
    valid: np.ndarray,
    test: np.ndarray,
    kind: str = "hgb",
    seed: int = 0,
    bootstrap: int = BOOTSTRAP,
) -> pd.DataFrame:
    """Trivial baseline per task for one split, chosen on ``valid``, scored once on ``test``.

    Args:
        descriptors: (n_molecules, d) bulk descriptors aligned with ``Y`` rows.
        Y: (n_molecules, T) 0/1 labels, NaN = not measured. train / valid / test: row positions.
    Returns rows (see :data:`TRIVIAL_COLUMNS`): ``chosen`` is ``kind`` (the multi-descriptor
    model) or ``<descriptor>`` / ``-<descriptor>`` (a single descriptor, sign = direction),
    whichever has the best validation AUC; roc_auc / ci_low / ci_high its test AUC and 95% CI;
    best_descriptor(_sign, _valid_auc, _auc): the best single descriptor on validation and
    its test AUC in that direction. Test labels enter only the test AUCs.
    """
    X = descriptors.to_numpy(dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    names = list(descriptors.columns)
    rows = []
    for t, task in enumerate(tasks):
        tr, va, te = (r[~np.isnan(Y[r, t])] for r in (train, valid, test))
        y_tr, y_va, y_te = Y[tr, t], Y[va, t], Y[te, t]
        scores_va: dict[str, np.ndarray] = {}
        scores_te: dict[str, np.ndarray] = {}
        if np.unique(y_tr).size == 2:
            # one thread: small fits, where OpenMP start-up and oversubscription dominate
            with threadpool_limits(1):
                est = _estimator(kind, seed).fit(X[tr], y_tr.astype(int))
                scores_va[kind] = est.predict_proba(X[va])[:, 1]
                scores_te[kind] = est.predict_proba(X[te])[:, 1]
        single = {}
        for j, name in enumerate(names):
            auc = _auc(y_va, X[va, j])
            if np.isfinite(auc):
                sign = 1.0 if auc >= 0.5 else -1.0
                single[name] = (max(auc, 1 - auc), sign)
        best = max(single, key=lambda k: single[k][0]) if single else ""
        for name, (_, sign) in single.items():
            key = name if sign > 0 else f"-{name}"
            scores_va[key] = sign * X[va, names.index(name)]
            scores_te[key] = sign * X[te, names.index(name)]
        valid_auc = {k: _auc(y_va, v) for k, v in scores_va.items()}
        valid_auc = {k: v for k, v in valid_auc.items() if np.isfinite(v)}
        chosen = max(valid_auc, key=valid_auc.get) if valid_auc else ""
        auc = _auc(y_te, scores_te[chosen]) if chosen else np.nan
        lo, hi = (
            _bootstrap_auc(y_te, scores_te[chosen], bootstrap, seed) if chosen else (np.nan,) * 2
        )
        b_sign = single[best][1] if best else np.nan
        rows.append({"task": task, "n_valid": int(va.size), "n_test": int(te.size),
                     "n_positive": int((y_te == 1).sum()), "chosen": chosen,
                     "chosen_valid_auc": valid_auc.get(chosen, np.nan), "roc_auc": auc,
                     "ci_low": lo, "ci_high": hi, "model_valid_auc": valid_auc.get(kind, np.nan),
                     "best_descriptor": best, "best_descriptor_sign": b_sign,
                     "best_descriptor_valid_auc": single[best][0] if best else np.nan,
                     "best_descriptor_auc": _auc(y_te, b_sign * X[te, names.index(best)])
                     if best else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def best_model_auc(
    runs: Iterable[AuditedModel], families: Sequence[str] | None = DEEP_FAMILIES
) -> pd.DataFrame:
    """Per split and task: the model family with the highest seed-mean test ROC-AUC among
    ``families`` (all families when None or when none of them was trained).
    Columns: split, task, best_model, best_model_auc."""
    rows = []
    for run in runs:
        for t in (run.metrics.get("test") or {}).get("tasks") or []:
            v = (t.get("values") or {}).get("roc_auc")
            rows.append({"model": run.model, "split": run.split, "seed": run.seed,
                         "task": t["task"], "auc": np.nan if v is None else float(v)})  # fmt: skip
    df = pd.DataFrame(rows, columns=["model", "split", "seed", "task", "auc"])
    if df.empty:
        return pd.DataFrame(columns=["split", "task", "best_model", "best_model_auc"])
    if families is not None and df["model"].isin(families).any():
        df = df[df["model"].isin(families)]
    mean = df.groupby(["split", "task", "model"])["auc"].mean().reset_index()
    mean = mean[np.isfinite(mean["auc"])]
    idx = mean.groupby(["split", "task"])["auc"].idxmax()
    best = mean.loc[idx].rename(columns={"model": "best_model", "auc": "best_model_auc"})
    return best.reset_index(drop=True)


def trivial_table(
    descriptors: pd.DataFrame,
    Y: np.ndarray,
    tasks: Sequence[str],
    splits: Mapping[tuple[str, int], Mapping[str, np.ndarray]],
    runs: Sequence[AuditedModel],
    kind: str = "hgb",
    margin: float = 0.05,
) -> pd.DataFrame:
    """The trivial-baseline table (columns :data:`TRIVIAL_COLUMNS`), one row per split, seed
    and task. ``trivial_auc_mean`` is the baseline's mean over seeds; ``gap`` =
    best_model_auc - trivial_auc_mean; ``flagged`` when gap < ``margin``."""
    parts = []
    for (split, seed), rows in sorted(splits.items()):
        s = trivial_scores(descriptors, Y, tasks, np.asarray(rows["train"]),
                           np.asarray(rows["valid"]), np.asarray(rows["test"]), kind, seed)  # fmt: skip
        parts.append(s.assign(split=split, seed=seed))
    if not parts:
        return pd.DataFrame(columns=TRIVIAL_COLUMNS)
    df = pd.concat(parts, ignore_index=True)
    df["trivial_auc_mean"] = df.groupby(["split", "task"])["roc_auc"].transform("mean")
    df = df.merge(best_model_auc(runs), on=["split", "task"], how="left")
    df["gap"] = df["best_model_auc"] - df["trivial_auc_mean"]
    df["flagged"] = (df["gap"] < margin).fillna(False).astype(bool)
    return df[TRIVIAL_COLUMNS]
