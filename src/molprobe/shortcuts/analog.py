"""Analog bias: does a model's AUC collapse on test molecules unlike anything it was trained on?

Two views per model, split, seed and task:

- the whole test set (``bin == "all"``): the test ROC-AUC of metrics.json, so random and
  scaffold splits can be compared;
- test molecules binned by their max Tanimoto similarity (ECFP4 bits) to the training set,
  bins ``[0, 0.3), [0.3, 0.4), [0.4, 0.5), [0.5, 0.7), [0.7, 1]`` by default: n, positives,
  ROC-AUC with a bootstrap 95% CI (NaN when a bin holds a single class), and the AUC of a
  1-nearest-neighbour baseline in the same bin (score = max Tanimoto to a training positive
  minus max Tanimoto to a training negative of the task: positive iff the nearest measured
  training molecule is). A model no better than 1-NN near its training set is recalling
  analogs; one that beats it far from the training set generalises.

A model that is good only near its training molecules memorises analog series.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError
from molprobe.shortcuts import AuditedModel
from molprobe.training.metrics import weighted_roc_auc

#: default similarity bin edges (max Tanimoto to the training set); the last bin includes 1.0
SIMILARITY_EDGES = (0.0, 0.3, 0.4, 0.5, 0.7, 1.0)
SIMILARITY_COLUMNS = [
    "model", "split", "seed", "task", "bin", "sim_low", "sim_high", "n", "n_positive", "roc_auc",
    "ci_low", "ci_high", "nn_auc",
]  # fmt: skip
BOOTSTRAP = 200
#: a bin's AUC enters the summary only with at least this many positives and negatives
MIN_CLASS = 5


def tanimoto_max(query: np.ndarray, reference: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Max Tanimoto similarity of each query fingerprint to any reference fingerprint.

    Args:
        query: (n_query, n_bits) fingerprint bits (any nonzero value counts as an on-bit).
        reference: (n_reference, n_bits) bits of the same length.
    Returns float64 (n_query,) in [0, 1]; two empty fingerprints have similarity 0.
    """
    q = (np.asarray(query) != 0).astype(np.float32)
    r = (np.asarray(reference) != 0).astype(np.float32)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise MolprobeError(f"fingerprints of different shapes: {q.shape} vs {r.shape}")
    out = np.zeros(q.shape[0])
    if r.shape[0] == 0 or q.shape[0] == 0:
        return out
    r_count = r.sum(axis=1)
    for start in range(0, q.shape[0], chunk):
        block = q[start : start + chunk]
        inter = block @ r.T  # (b, n_ref) shared on-bits
        union = block.sum(axis=1)[:, None] + r_count[None, :] - inter
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = np.where(union > 0, inter / union, 0.0)
        out[start : start + chunk] = sim.max(axis=1)
    return out


def tanimoto_matrix(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Tanimoto similarities float32 (n_query, n_reference) of fingerprint bits (0 for two
    empty fingerprints)."""
    q = (np.asarray(query) != 0).astype(np.float32)
    r = (np.asarray(reference) != 0).astype(np.float32)
    inter = q @ r.T
    union = q.sum(axis=1)[:, None] + r.sum(axis=1)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0).astype(np.float32)


def nearest_neighbour_scores(sim: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """1-NN score (n_test,) of one task: max similarity to a training positive minus max
    similarity to a training negative; ``sim`` (n_test, n_train), ``y_train`` (n_train,) 0/1/NaN."""
    pos, neg = y_train == 1, y_train == 0
    if not pos.any() or not neg.any():
        return np.full(sim.shape[0], np.nan)
    return sim[:, pos].max(axis=1) - sim[:, neg].max(axis=1)


def bin_labels(edges: Sequence[float]) -> list[str]:
    """``[0.00, 0.30)`` style names of the bins between consecutive ``edges`` (last closed)."""
    names = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        close = "]" if i == len(edges) - 2 else ")"
        names.append(f"[{lo:.2f}, {hi:.2f}{close}")
    return names


def assign_bins(similarity: np.ndarray, edges: Sequence[float] = SIMILARITY_EDGES) -> np.ndarray:
    """Bin index (0-based) of each similarity; values outside [edges[0], edges[-1]] get -1.

    Bins are half-open ``[lo, hi)`` except the last, which includes its upper edge.
    """
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise MolprobeError(f"similarity bin edges must increase, got {edges.tolist()}")
    s = np.asarray(similarity, dtype=np.float64)
    idx = np.searchsorted(edges, s, side="right") - 1
    idx[s == edges[-1]] = edges.size - 2
    idx[(s < edges[0]) | (s > edges[-1]) | np.isnan(s)] = -1
    return idx


def binned_auc(
    y_true: np.ndarray,
    y_score: np.ndarray,
    similarity: np.ndarray,
    edges: Sequence[float] = SIMILARITY_EDGES,
    nn_score: np.ndarray | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """ROC-AUC of one task within each similarity bin.

    Args:
        y_true: (n,) 0/1 labels, NaN = not measured (those rows are left out).
        y_score: (n,) predicted probabilities. similarity: (n,) max Tanimoto to training.
        nn_score: (n,) 1-NN baseline scores (:func:`nearest_neighbour_scores`) or None.
    Returns one row per bin: ``bin`` (name), ``sim_low``, ``sim_high``, ``n`` (measured
    molecules), ``n_positive``, ``roc_auc`` (NaN when the bin holds one class or is empty),
    ``ci_low`` / ``ci_high`` (bootstrap 95%), ``nn_auc`` (the 1-NN baseline's AUC).
    """
    y = np.asarray(y_true, dtype=np.float64)
    s = np.asarray(y_score, dtype=np.float64)
    measured = ~np.isnan(y) & ~np.isnan(s)
    idx = assign_bins(similarity, edges)
    rng = np.random.default_rng(seed)
    rows = []
    for b, name in enumerate(bin_labels(edges)):
        keep = measured & (idx == b)
        yb, sb = y[keep], s[keep]
        n_pos = int((yb == 1).sum())
        auc = lo = hi = nn = np.nan
        if 0 < n_pos < yb.size:
            auc = float(weighted_roc_auc(yb, sb, np.ones((1, yb.size)))[0])
            w = rng.multinomial(yb.size, np.full(yb.size, 1 / yb.size), size=bootstrap)
            boot = weighted_roc_auc(yb, sb, w.astype(np.float64))
            boot = boot[np.isfinite(boot)]
            if boot.size:
                lo, hi = (float(v) for v in np.quantile(boot, [0.025, 0.975]))
            if nn_score is not None and np.isfinite(nn_score[keep]).all():
                nn = float(weighted_roc_auc(yb, nn_score[keep], np.ones((1, yb.size)))[0])
        rows.append({"bin": name, "sim_low": float(edges[b]), "sim_high": float(edges[b + 1]),
                     "n": int(keep.sum()), "n_positive": n_pos, "roc_auc": auc, "ci_low": lo,
                     "ci_high": hi, "nn_auc": nn})  # fmt: skip
    return pd.DataFrame(rows)


def _metrics_task_auc(metrics: dict) -> dict[str, float]:
    """Per-task test ROC-AUC from a metrics.json dict (NaN where missing)."""
    out = {}
    for t in (metrics.get("test") or {}).get("tasks") or []:
        value = (t.get("values") or {}).get("roc_auc")
        out[t["task"]] = float("nan") if value is None else float(value)
    return out


def similarity_table(
    runs: Iterable[AuditedModel],
    fingerprints: np.ndarray,
    smiles_row: dict[str, int],
    edges: Sequence[float] = SIMILARITY_EDGES,
    Y: np.ndarray | None = None,
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The analog-bias table over all models (columns :data:`SIMILARITY_COLUMNS`).

    Args:
        runs: trained models with their test predictions and split rows.
        fingerprints: (n_molecules, n_bits) ECFP4 bits aligned with molecules.parquet.
        smiles_row: standardized SMILES -> row in molecules.parquet (maps prediction rows).
        Y / tasks: (n_molecules, T) labels and their task names, for the 1-NN baseline
            (``nn_auc`` NaN without them).
    For each model and task: one ``all`` row (test ROC-AUC from metrics.json, over the whole
    test set) and one row per similarity bin (AUC recomputed from predictions.parquet).
    """
    cache: dict[tuple[str, int], tuple] = {}
    rows = []
    for run in runs:
        key = (run.split, run.seed)
        if key not in cache:
            train = np.asarray(run.rows["train"])
            test = np.asarray(run.rows["test"])
            nn = {}
            if Y is not None and tasks is not None:
                full = tanimoto_matrix(fingerprints[test], fingerprints[train])
                for t, name in enumerate(tasks):
                    nn[name] = nearest_neighbour_scores(full, np.asarray(Y)[train, t])
                sim = full.max(axis=1).astype(np.float64) if train.size else np.zeros(test.size)
            else:
                sim = tanimoto_max(fingerprints[test], fingerprints[train])
            cache[key] = (test, sim, nn)
        test, sim, nn = cache[key]
        sim_of = dict(zip(test.tolist(), sim.tolist(), strict=True))
        row_of = {int(r): i for i, r in enumerate(test.tolist())}
        pred = run.predictions
        pos = pred["smiles"].map(smiles_row)
        if pos.isna().any():
            raise MolprobeError(
                f"{run.model} {run.split} seed {run.seed}: predictions hold molecules that are "
                "not in the molecule table (was it re-standardized?)"
            )
        pred_sim = np.array([sim_of.get(int(p), np.nan) for p in pos])
        task_auc = _metrics_task_auc(run.metrics)
        for task in run.tasks:
            y = pred[f"{task}_true"].to_numpy(dtype=np.float64)
            p = pred[task].to_numpy(dtype=np.float64)
            measured = ~np.isnan(y)
            rows.append({"model": run.model, "split": run.split, "seed": run.seed, "task": task,
                         "bin": "all", "sim_low": float(edges[0]), "sim_high": float(edges[-1]),
                         "n": int(measured.sum()), "n_positive": int((y[measured] == 1).sum()),
                         "roc_auc": task_auc.get(task, np.nan)})  # fmt: skip
            nn_score = None
            if task in nn:
                nn_score = np.array([nn[task][row_of[int(r)]] if int(r) in row_of else np.nan
                                     for r in pos])  # fmt: skip
            b = binned_auc(y, p, pred_sim, edges, nn_score, seed=run.seed)
            for rec in b.to_dict("records"):
                rows.append({"model": run.model, "split": run.split, "seed": run.seed,
                             "task": task, **rec})  # fmt: skip
    return pd.DataFrame(rows, columns=SIMILARITY_COLUMNS)


def analog_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per model: test AUC (task mean, seed mean) on the random and scaffold splits, and on the
    least and most similar bins (pooled over splits; only bins with at least
    :data:`MIN_CLASS` positives and negatives of a task count). Columns: model, auc_random,
    auc_scaffold, split_gap (random - scaffold), auc_low_sim, auc_high_sim, bin_gap
    (high - low), n_low_sim (molecules per seed, task mean), low_bin, high_bin."""
    if table.empty:
        return pd.DataFrame()
    whole = table[table["bin"] == "all"]
    binned = table[table["bin"] != "all"]
    rows = []
    for model, g in whole.groupby("model", sort=True):
        per_split = g.groupby("split")["roc_auc"].mean()
        b = binned[binned["model"] == model]
        b = b[(b["n_positive"] >= MIN_CLASS) & (b["n"] - b["n_positive"] >= MIN_CLASS)]
        # per bin: mean over tasks and seeds of the AUCs with enough of both classes
        agg = {"roc_auc": "mean", "n_positive": "mean"}
        if "nn_auc" in b.columns:
            agg["nn_auc"] = "mean"
        by_bin = b.groupby(["sim_low", "bin"]).agg(agg).reset_index()
        by_bin = by_bin[np.isfinite(by_bin["roc_auc"])].sort_values("sim_low")
        n_by_bin = b.groupby(["sim_low"])["n"].mean()
        low = by_bin.iloc[0] if len(by_bin) else None
        high = by_bin.iloc[-1] if len(by_bin) else None
        rows.append(
            {
                "model": model,
                "auc_random": float(per_split.get("random", np.nan)),
                "auc_scaffold": float(per_split.get("scaffold", np.nan)),
                "auc_low_sim": float(low["roc_auc"]) if low is not None else np.nan,
                "auc_high_sim": float(high["roc_auc"]) if high is not None else np.nan,
                "low_bin": low["bin"] if low is not None else "",
                "high_bin": high["bin"] if high is not None else "",
                "n_low_sim": float(n_by_bin.get(low["sim_low"], np.nan))
                if low is not None
                else np.nan,
                "pos_low_sim": float(low["n_positive"]) if low is not None else np.nan,
                "pos_high_sim": float(high["n_positive"]) if high is not None else np.nan,
                "nn_low_sim": float(low.get("nn_auc", np.nan)) if low is not None else np.nan,
                "nn_high_sim": float(high.get("nn_auc", np.nan)) if high is not None else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["split_gap"] = out["auc_random"] - out["auc_scaffold"]
    out["bin_gap"] = out["auc_high_sim"] - out["auc_low_sim"]
    return out
