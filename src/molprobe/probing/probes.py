"""Linear probes of layer representations for many concepts at once, with controls.

One call of :func:`probe_layer` fits an L2-regularised logistic regression for every concept
of a label matrix Y (n, C) on the representation X (n, d) of one layer, as a single
multi-output linear model in torch (full-batch L-BFGS; on GPU when present). Around the raw
out-of-fold ROC-AUC it computes the measures that do not saturate:

- ``control_auc`` / ``selectivity``: the same probe on labels permuted across molecules
  (Hewitt & Liang 2019 control tasks); at node level labels are random per atom environment.
- learning curve: AUC when training on 1% and 10% of each training fold (``auc_at_1pct``...).
- online code length (Voita & Titov 2020, "Information-theoretic probing with minimum
  description length"): ``mdl_bits`` and ``mdl_compression`` = uniform code / online code.
- sparse probes: AUC of a probe on the k units with the largest single-unit AUC on the
  training fold (``sparse1_auc``, ``sparse4_auc``, ``sparse16_auc``).
- hierarchy confound: AUC on [layer ⊕ lower-level counts] (``auc_with_lower``) beside the AUC
  of the lower-level counts alone (``auc_lower_only``, from :func:`probe_features`).

Protocol: features are standardised on each training fold and, when wider than
``max_dim``, projected on the fold's top ``max_dim`` principal components (a speed measure on
CPU; set ``max_dim=None`` to probe the raw units). The L2 penalty of each concept is chosen
by grouped inner cross-validation on the first outer training fold (``select_every_fold``
repeats it in every fold). Outer folds are grouped (Bemis–Murcko scaffolds for molecules,
molecules for atoms); AUCs are computed on the pooled out-of-fold scores.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata
from sklearn.model_selection import GroupKFold

from molprobe.errors import MolprobeError
from molprobe.training.device import resolve_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeConfig:
    """Probe protocol settings.

    n_outer / n_inner: grouped CV folds. penalties: L2 strengths λ on the mean log-loss
    (sklearn's C = 1 / (λ n)). max_iter: L-BFGS iterations per fit. max_dim: PCA cap on the
    feature width (None = raw). curve_fractions: learning-curve training fractions (< 1).
    mdl_fractions: online-code block ends (fractions of the probe set, increasing, last 1.0).
    sparse_k: unit counts of the sparse probes. n_controls: permuted-label repeats.
    rare_prevalence: concepts rarer than this are flagged (their PR-AUC is the better score).
    select_every_fold: inner CV in every outer fold (slower) instead of the first only.
    seed: folds, permutations and subsamples. device: "auto", "cpu" or "cuda".
    """

    n_outer: int = 5
    n_inner: int = 3
    penalties: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)
    max_iter: int = 30
    max_dim: int | None = 256
    curve_fractions: tuple[float, ...] = (0.01, 0.1)
    mdl_fractions: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0)
    sparse_k: tuple[int, ...] = (1, 4, 16)
    n_controls: int = 1
    rare_prevalence: float = 0.05
    select_every_fold: bool = False
    seed: int = 0
    device: str = "auto"


# ----------------------------------------------------------------------------- folds


def scaffold_groups(smiles: Sequence[str]) -> np.ndarray:
    """Integer Bemis–Murcko scaffold id per molecule (n,); acyclic molecules share one id."""
    from molprobe.chem.splits import murcko_scaffold

    ids: dict[str, int] = {}
    return np.array([ids.setdefault(murcko_scaffold(s), len(ids)) for s in smiles], np.int64)


def grouped_folds(groups: np.ndarray, n_folds: int, seed: int = 0) -> list[np.ndarray]:
    """Test-row indices of ``n_folds`` folds; every group lies in exactly one fold."""
    groups = np.asarray(groups)
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise MolprobeError("grouped folds need at least two groups (scaffolds / molecules)")
    k = min(n_folds, n_groups)
    splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(groups)), groups=groups)]


# ----------------------------------------------------------------------------- scores


def _mask_patterns(labels: np.ndarray):
    """Yield (row mask, column indices) for each distinct pattern of known labels."""
    known = ~np.isnan(labels)
    if known.all():
        yield np.ones(len(labels), bool), np.arange(labels.shape[1])
        return
    patterns, inverse = np.unique(known.T, axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        yield pattern, np.flatnonzero(inverse.ravel() == p)


def auc_columns(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """ROC-AUC of each column: scores (n, C) or (n, 1) broadcast, labels (n, C) in {0, 1, NaN}.

    Ties get average ranks; NaN where a column lacks positives or negatives."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, np.float64)
    if scores.shape[1] == 1 and labels.shape[1] > 1:
        scores = np.repeat(scores, labels.shape[1], axis=1)
    out = np.full(labels.shape[1], np.nan)
    for rows, cols in _mask_patterns(labels):
        if not rows.any():
            continue
        y = labels[np.ix_(rows, cols)]
        r = rankdata(scores[np.ix_(rows, cols)], axis=0)
        n_pos = y.sum(0)
        n_neg = len(y) - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = ((r * y).sum(0) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        auc[(n_pos == 0) | (n_neg == 0)] = np.nan
        out[cols] = auc
    return out


def average_precision_columns(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Average precision (PR-AUC) of each column; NaN where a column has no positives."""
    from sklearn.metrics import average_precision_score

    out = np.full(labels.shape[1], np.nan)
    for c in range(labels.shape[1]):
        known = ~np.isnan(labels[:, c])
        y = labels[known, c]
        if 0 < y.sum() < len(y):
            out[c] = average_precision_score(y, scores[known, c])
    return out


def unit_aucs(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """AUC of every unit (column of X, n × d) as a detector of every concept (Y, n × C): (d, C).

    Vectorised: average ranks of each unit, one matrix product per pattern of known labels."""
    X = np.asarray(X, np.float64)
    Y = np.asarray(Y, np.float64)
    out = np.full((X.shape[1], Y.shape[1]), np.nan)
    for rows, cols in _mask_patterns(Y):
        if not rows.any():
            continue
        r = rankdata(X[rows], axis=0)
        y = Y[np.ix_(rows, cols)]
        n_pos = y.sum(0)
        n_neg = len(y) - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (r.T @ y - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
        auc[:, (n_pos == 0) | (n_neg == 0)] = np.nan
        out[:, cols] = auc
    return out


# ----------------------------------------------------------------------------- fitting


def _prepare(train: torch.Tensor, others: list[torch.Tensor], max_dim: int | None):
    """Standardise with training statistics; PCA to ``max_dim`` when wider."""
    mean = train.mean(0)
    std = train.std(0, unbiased=False)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    train = (train - mean) / std
    others = [(o - mean) / std for o in others]
    if max_dim is not None and train.shape[1] > max_dim:
        q = min(max_dim, train.shape[0])
        _, _, v = torch.svd_lowrank(train, q=q, niter=3)  # a rotation: the L2 penalty is kept
        train = train @ v
        others = [o @ v for o in others]
    return train, others


def fit_logistic(
    X: torch.Tensor, Y: torch.Tensor, penalties: torch.Tensor, max_iter: int = 50
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-output L2 logistic regression.

    X (n, d) float32; Y (n, C) in {0, 1, NaN} (NaN rows ignored per column); penalties (C,)
    λ per column on the mean log-loss. Returns W (d, C), b (C,). Columns are independent
    problems solved jointly by L-BFGS.
    """
    known = ~torch.isnan(Y)
    y = torch.nan_to_num(Y, nan=0.0)
    w_known = known.float() / known.sum(0).clamp_min(1)
    prev = (y * known).sum(0) / known.sum(0).clamp_min(1)
    prev = prev.clamp(1e-3, 1 - 1e-3)
    W = torch.zeros(X.shape[1], Y.shape[1], device=X.device, requires_grad=True)
    b = torch.log(prev / (1 - prev)).detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [W, b], lr=1.0, max_iter=max_iter, history_size=10, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        z = X @ W + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
        total = (loss * w_known).sum() + 0.5 * (penalties * (W * W).sum(0)).sum()
        total.backward()
        return total

    opt.step(closure)
    return W.detach(), b.detach()


def _fit_predict(Xtr, Ytr, Xte_list, penalties, cfg: ProbeConfig):
    """Standardise/PCA on Xtr, fit, return logits for each of Xte_list (numpy)."""
    Xtr, Xte_list = _prepare(Xtr, list(Xte_list), cfg.max_dim)
    W, b = fit_logistic(Xtr, Ytr, penalties, cfg.max_iter)
    return [(x @ W + b).cpu().numpy() for x in Xte_list]


def select_penalties(
    X: torch.Tensor, Y: torch.Tensor, groups: np.ndarray, cfg: ProbeConfig
) -> np.ndarray:
    """Per-column λ (C,) maximising inner-CV AUC (ties -> the larger λ)."""
    grid = np.asarray(cfg.penalties, np.float32)
    C, L = Y.shape[1], len(grid)
    folds = grouped_folds(groups, cfg.n_inner, cfg.seed + 1)
    Yrep = Y.repeat(1, L)  # column l*C + c
    pen = torch.as_tensor(np.repeat(grid, C), device=X.device)
    oof = np.zeros((len(Y), C * L), np.float32)
    for test in folds:
        train = np.setdiff1d(np.arange(len(Y)), test)
        (pred,) = _fit_predict(X[train], Yrep[train], [X[test]], pen, cfg)
        oof[test] = pred
    auc = auc_columns(oof, Yrep.cpu().numpy()).reshape(L, C)
    auc = np.nan_to_num(auc, nan=-1.0)
    best = np.zeros(C, np.int64)
    for c in range(C):  # largest λ within 1e-3 of the best AUC
        best[c] = np.flatnonzero(auc[:, c] >= auc[:, c].max() - 1e-3).max()
    return grid[best]


def _permute_columns(Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Control labels: each column permuted among its known rows (prevalence kept)."""
    out = Y.copy()
    for c in range(Y.shape[1]):
        known = np.flatnonzero(~np.isnan(Y[:, c]))
        out[known, c] = Y[rng.permutation(known), c]
    return out


def fit_logistic_small(
    G: torch.Tensor, Y: torch.Tensor, penalty: float = 1e-3, n_iter: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched Newton (IRLS) logistic regression for many small problems.

    G (C, n, k) features of problem c; Y (C, n) labels in {0, 1, NaN}. Returns W (C, k),
    b (C,). ``penalty`` is λ on the mean log-loss (the bias is not penalised)."""
    C, n, k = G.shape
    known = ~torch.isnan(Y)
    y = torch.nan_to_num(Y, nan=0.0)
    w_obs = known.to(G.dtype) / known.sum(1, keepdim=True).clamp_min(1)
    A = torch.cat([G, torch.ones(C, n, 1, dtype=G.dtype, device=G.device)], 2)  # (C, n, k+1)
    theta = torch.zeros(C, k + 1, dtype=G.dtype, device=G.device)
    reg = torch.full((k + 1,), penalty, dtype=G.dtype, device=G.device)
    reg[-1] = 1e-6
    eye = torch.diag(reg)
    for _ in range(n_iter):
        z = torch.bmm(A, theta.unsqueeze(-1)).squeeze(-1)
        p = torch.sigmoid(z)
        grad = torch.bmm(((p - y) * w_obs).unsqueeze(1), A).squeeze(1) + reg * theta
        s = (p * (1 - p) * w_obs).clamp_min(1e-9)
        H = torch.bmm((A * s.unsqueeze(-1)).transpose(1, 2), A) + eye
        step = torch.linalg.solve(H, grad.unsqueeze(-1)).squeeze(-1)
        theta = theta - step
        if step.abs().max() < 1e-4:
            break
    return theta[:, :k], theta[:, k]


def _sparse_oof(
    X: np.ndarray, Y: np.ndarray, folds: list[np.ndarray], cfg: ProbeConfig, device
) -> dict[int, np.ndarray]:
    """Out-of-fold logits {k: (n, C)} of probes on the k units with the best single-unit
    AUC (|AUC - 0.5|) on each training fold."""
    n, d = X.shape
    ks = sorted({min(k, d) for k in cfg.sparse_k})
    oof = {k: np.zeros(Y.shape, np.float32) for k in cfg.sparse_k}
    for test in folds:
        train = np.setdiff1d(np.arange(n), test)
        aucs = unit_aucs(X[train], Y[train])  # (d, C)
        order = np.argsort(-np.abs(np.nan_to_num(aucs, nan=0.5) - 0.5), axis=0)  # (d, C)
        xtr = torch.as_tensor(X[train], dtype=torch.float32, device=device)
        xte = torch.as_tensor(X[test], dtype=torch.float32, device=device)
        mean, std = xtr.mean(0), xtr.std(0, unbiased=False).clamp_min(1e-6)
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
        ytr = torch.as_tensor(Y[train], dtype=torch.float32, device=device).T  # (C, n_train)
        for k in ks:
            idx = torch.as_tensor(order[:k].T.copy(), device=device)  # (C, k)
            W, b = fit_logistic_small(xtr[:, idx].permute(1, 0, 2), ytr)
            z = torch.einsum("cnk,ck->cn", xte[:, idx].permute(1, 0, 2), W) + b[:, None]
            for kk in cfg.sparse_k:
                if min(kk, d) == k:
                    oof[kk][test] = z.T.cpu().numpy()
    return oof


def _online_code(
    X: torch.Tensor, Y: np.ndarray, penalties: np.ndarray, cfg: ProbeConfig, device
) -> tuple[np.ndarray, np.ndarray]:
    """Online code length (bits) of each column's labels given X, and the uniform code (bits).

    Molecules in a seeded random order; the first block is sent with 1 bit per label, each
    following block with -log2 p under a probe trained on everything before it."""
    n = len(Y)
    order = np.random.default_rng(cfg.seed + 7).permutation(n)
    ends = sorted({max(2, int(round(f * n))) for f in cfg.mdl_fractions} | {n})
    Yo = Y[order]
    Xo = X[torch.as_tensor(order, device=device)]
    known = ~np.isnan(Yo)
    bits = known[: ends[0]].sum(0).astype(np.float64)  # uniform code for the first block
    pen = torch.as_tensor(penalties, dtype=torch.float32, device=device)
    for start, stop in zip(ends[:-1], ends[1:], strict=True):
        ytr = torch.as_tensor(Yo[:start], dtype=torch.float32, device=device)
        (logit,) = _fit_predict(Xo[:start], ytr, [Xo[start:stop]], pen, cfg)
        p = 1 / (1 + np.exp(-np.clip(logit, -30, 30)))
        y = Yo[start:stop]
        with np.errstate(invalid="ignore"):
            nll = -(y * np.log2(np.clip(p, 1e-6, 1)) + (1 - y) * np.log2(np.clip(1 - p, 1e-6, 1)))
        bits += np.nansum(nll, axis=0)
    uniform = known.sum(0).astype(np.float64)
    return bits, uniform


# ----------------------------------------------------------------------------- the probe


def probe_layer(
    X: np.ndarray,
    Y: np.ndarray,
    groups: np.ndarray,
    folds: list[np.ndarray],
    cfg: ProbeConfig,
    *,
    lower_sets: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    measures: Sequence[str] = ("control", "curve", "mdl", "sparse"),
    control_groups: np.ndarray | None = None,
) -> pd.DataFrame:
    """Probe one representation for every concept.

    Args:
        X: (n, d) representation of n probe items (molecules or atoms).
        Y: (n, C) labels in {0, 1, NaN}.
        groups: (n,) group ids for the inner CV (scaffolds or molecules).
        folds: outer test-index arrays (:func:`grouped_folds`), shared across layers/models.
        lower_sets: (counts (n, m), column mask (C,)) pairs: the masked concepts are also
            probed on [X ⊕ log1p(counts)] (hierarchy confound) -> ``auc_with_lower``.
        measures: which of control, curve, mdl, sparse to compute.
        control_groups: (n,) type ids; when given the control labels are random per type
            (node-level control) instead of permuted per molecule.
    Returns:
        DataFrame with one row per concept (column order of Y); see the module docstring.
    """
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise MolprobeError(f"probe_layer: X {X.shape} and Y {Y.shape} do not align")
    dev = resolve_device(cfg.device)
    n, C = Y.shape
    rng = np.random.default_rng(cfg.seed)
    Xt = torch.as_tensor(np.asarray(X, np.float32), device=dev)
    Y = np.asarray(Y, np.float32)
    Yt = torch.as_tensor(Y, device=dev)
    all_rows = np.arange(n)
    res: dict[str, np.ndarray] = {}

    # penalty selection
    first_train = np.setdiff1d(all_rows, folds[0])
    pens = select_penalties(Xt[first_train], Yt[first_train], groups[first_train], cfg)
    per_fold_pens = [pens]
    if cfg.select_every_fold:
        per_fold_pens += [
            select_penalties(Xt[tr], Yt[tr], groups[tr], cfg)
            for tr in (np.setdiff1d(all_rows, f) for f in folds[1:])
        ]

    # main probe (+ permuted controls, + learning curve) fold by fold
    controls = []
    if "control" in measures:
        for _ in range(cfg.n_controls):
            controls.append(
                _random_by_type(Y, control_groups, rng)
                if control_groups is not None
                else _permute_columns(Y, rng)
            )
    Ybig = np.concatenate([Y, *controls], axis=1)
    Ybig_t = torch.as_tensor(Ybig, device=dev)
    oof = np.zeros(Ybig.shape, np.float32)
    curve_oof = {f: np.zeros((n, C), np.float32) for f in cfg.curve_fractions}
    prepared = []
    for i, test in enumerate(folds):
        train = np.setdiff1d(all_rows, test)
        p = per_fold_pens[i] if cfg.select_every_fold else pens
        pen = torch.as_tensor(np.tile(p, 1 + len(controls)), dtype=torch.float32, device=dev)
        Xtr, (Xte,) = _prepare(Xt[train], [Xt[test]], cfg.max_dim)
        prepared.append((Xtr, Xte))
        W, b = fit_logistic(Xtr, Ybig_t[train], pen, cfg.max_iter)
        oof[test] = (Xte @ W + b).cpu().numpy()
        if "curve" in measures:
            for f in cfg.curve_fractions:
                m = max(2, int(round(f * len(train))))
                sub = rng.choice(train, size=m, replace=False)
                pen1 = torch.as_tensor(p, dtype=torch.float32, device=dev)
                (curve_oof[f][test],) = _fit_predict(Xt[sub], Yt[sub], [Xt[test]], pen1, cfg)
    res["auc"] = auc_columns(oof[:, :C], Y)
    res["pr_auc"] = average_precision_columns(oof[:, :C], Y)
    if controls:
        ctrl = np.stack(
            [
                auc_columns(oof[:, C * (j + 1) : C * (j + 2)], controls[j])
                for j in range(len(controls))
            ]
        )
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res["control_auc"] = np.nanmean(ctrl, axis=0)
        res["selectivity"] = res["auc"] - res["control_auc"]
    if "curve" in measures:
        for f in cfg.curve_fractions:
            res[f"auc_at_{_pct(f)}pct"] = auc_columns(curve_oof[f], Y)

    if "sparse" in measures:
        for k, scores in _sparse_oof(X, Y, folds, cfg, dev).items():
            res[f"sparse{k}_auc"] = auc_columns(scores, Y)

    if "mdl" in measures:
        bits, uniform = _online_code(Xt, Y, pens, cfg, dev)
        res["mdl_bits"] = bits
        with np.errstate(divide="ignore", invalid="ignore"):
            res["mdl_compression"] = uniform / bits

    if lower_sets:
        with_lower = np.full(C, np.nan)
        for feats, mask in lower_sets:
            cols = np.flatnonzero(mask)
            if len(cols) == 0:
                continue
            L = torch.as_tensor(np.log1p(np.nan_to_num(feats)).astype(np.float32), device=dev)
            oof_l = np.zeros((n, len(cols)), np.float32)
            for test, (Xtr, Xte) in zip(folds, prepared, strict=True):
                train = np.setdiff1d(all_rows, test)
                Ltr, (Lte,) = _prepare(L[train], [L[test]], None)
                W, b = fit_logistic(
                    torch.cat([Xtr, Ltr], 1),
                    Yt[train][:, cols],
                    torch.as_tensor(pens[cols], device=dev),
                    cfg.max_iter,
                )
                oof_l[test] = (torch.cat([Xte, Lte], 1) @ W + b).cpu().numpy()
            with_lower[cols] = auc_columns(oof_l, Y[:, cols])
        res["auc_with_lower"] = with_lower

    prevalence = np.nanmean(Y, axis=0)
    out = pd.DataFrame(res)
    out.insert(0, "penalty", pens)
    out.insert(0, "n_positive", np.nansum(Y, axis=0).astype(np.int64))
    out.insert(0, "prevalence", prevalence)
    out.insert(0, "rare", prevalence < cfg.rare_prevalence)
    return out


def probe_features(
    X: np.ndarray, Y: np.ndarray, groups: np.ndarray, folds: list[np.ndarray], cfg: ProbeConfig
) -> np.ndarray:
    """Plain out-of-fold AUC (C,) of a probe on features X (e.g. lower-level concept counts,
    log1p-transformed by the caller); no controls. Used for ``auc_lower_only``."""
    df = probe_layer(X, Y, groups, folds, cfg, measures=())
    return df["auc"].to_numpy()


def _random_by_type(Y: np.ndarray, types: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Control labels per item type (e.g. atom environment): each type gets label 1 with the
    concept's prevalence, shared by all items of that type."""
    uniq, inv = np.unique(types, return_inverse=True)
    out = np.empty_like(Y)
    for c in range(Y.shape[1]):
        prev = np.nanmean(Y[:, c]) if (~np.isnan(Y[:, c])).any() else 0.0
        lab = (rng.random(len(uniq)) < prev).astype(np.float32)
        out[:, c] = lab[inv]
    out[np.isnan(Y)] = np.nan
    return out


def _pct(f: float) -> str:
    p = f * 100
    return str(int(p)) if math.isclose(p, round(p)) else f"{p:g}".replace(".", "_")


# ----------------------------------------------------------------------------- whole models


@dataclass
class ProbeData:
    """What every layer is probed against (shared by trained and random-init models).

    labels: (n, C) molecule labels; concepts / levels: (C,) names and levels (1-3);
    groups: (n,) scaffold ids; folds: outer test indices; lower: {level: (n, m) counts of the
    level below} for the hierarchy confound (2 -> level-1 group counts, 3 -> level-2 centre
    counts); lower_only_auc: (C,) AUC of those counts alone (NaN for level 1).
    """

    labels: np.ndarray
    concepts: list[str]
    levels: np.ndarray
    groups: np.ndarray
    folds: list[np.ndarray]
    lower: dict[int, np.ndarray]
    lower_only_auc: np.ndarray


def make_probe_data(
    table, cfg: ProbeConfig, low: float = 0.01, high: float = 0.99, max_pharm2d: int = 60
) -> ProbeData:
    """ProbeData from a :class:`~molprobe.chem.concepts.ConceptTable` of the probe molecules:
    keeps concepts with prevalence in [low, high] (of the Gobbi Pharm2D bits only the
    ``max_pharm2d`` with prevalence closest to 50%), scaffold-grouped outer folds, and the
    lower-level-only baselines (one probe per level, independent of any layer)."""
    table = table.frequent(None, low, high)
    ph = (table.meta["family"] == "pharm2d").to_numpy()
    if ph.sum() > max_pharm2d:
        balance = np.abs(table.prevalence() - 0.5)
        ranked = np.flatnonzero(ph)[np.argsort(balance[ph], kind="stable")]
        drop = set(ranked[max_pharm2d:].tolist())
        table = table.select(None, [c for i, c in enumerate(table.concepts) if i not in drop])
    if len(table.meta) == 0:
        raise MolprobeError("no concept has a prevalence within [low, high] in the probe set")
    groups = scaffold_groups(table.smiles)
    folds = grouped_folds(groups, cfg.n_outer, cfg.seed)
    levels = table.meta["level"].to_numpy()
    cm = table.count_meta
    lower = {
        2: table.counts[:, (cm["level"] == 1).to_numpy()],
        3: table.counts[:, ((cm["level"] == 2) & cm["concept"].str.startswith("n:")).to_numpy()],
    }
    lower_only = np.full(len(levels), np.nan)
    for lvl, feats in lower.items():
        cols = np.flatnonzero(levels == lvl)
        if len(cols):
            x = np.log1p(np.nan_to_num(feats)).astype(np.float32)
            lower_only[cols] = probe_features(x, table.values[:, cols], groups, folds, cfg)
    return ProbeData(
        table.values.astype(np.float32), table.concepts, levels, groups, folds, lower, lower_only
    )


def probe_model_layers(
    layers: dict[str, np.ndarray],
    data: ProbeData,
    cfg: ProbeConfig,
    measures: Sequence[str] = ("control", "curve", "mdl", "sparse"),
    hierarchy: bool = True,
) -> pd.DataFrame:
    """Probe every molecule-level layer (name -> (n, width), in order) for every concept.

    Returns rows (layer, layer_index, level, concept, ...measures) for all layers."""
    frames = []
    for li, (name, X) in enumerate(layers.items()):
        if len(X) != len(data.labels):
            raise MolprobeError(f"layer {name!r} has {len(X)} rows, labels {len(data.labels)}")
        lower_sets = (
            [(feats, data.levels == lvl) for lvl, feats in data.lower.items()] if hierarchy else []
        )
        df = probe_layer(
            X, data.labels, data.groups, data.folds, cfg, measures=measures, lower_sets=lower_sets
        )
        if hierarchy:
            df["auc_lower_only"] = data.lower_only_auc
            df["added_over_lower"] = df["auc_with_lower"] - data.lower_only_auc
        df.insert(0, "concept", data.concepts)
        df.insert(0, "level", data.levels)
        df.insert(0, "width", X.shape[1])
        df.insert(0, "layer_index", li)
        df.insert(0, "layer", name)
        frames.append(df)
        log.info("probed layer %s (%d units): mean AUC %.3f", name, X.shape[1], df["auc"].mean())
    return pd.concat(frames, ignore_index=True)


BASELINE_MEASURES = ("auc", "sparse1_auc", "sparse4_auc", "sparse16_auc", "mdl_compression",
                     "auc_at_1pct", "auc_at_10pct", "selectivity", "added_over_lower")  # fmt: skip


def add_random_baseline(trained: pd.DataFrame, random: pd.DataFrame) -> pd.DataFrame:
    """Join the mean (and sd) over random-init copies onto the trained rows by (layer,
    concept): ``random_<m>``, ``random_<m>_sd`` and ``<m>_gain`` = trained - random mean;
    ``gain`` is the AUC gain."""
    keys = ["layer", "concept"]
    measures = [m for m in BASELINE_MEASURES if m in trained and m in random]
    agg = random.groupby(keys)[measures].agg(["mean", "std"])
    agg.columns = [f"random_{m}" if s == "mean" else f"random_{m}_sd" for m, s in agg.columns]
    out = trained.merge(agg.reset_index(), on=keys, how="left")
    for m in measures:
        out[f"{m}_gain"] = out[m] - out[f"random_{m}"]
    out["gain"] = out["auc_gain"]
    return out


def probe_node_layer(
    H: np.ndarray,
    atom_labels: np.ndarray,
    atom_ptr: np.ndarray,
    env_types: np.ndarray,
    cfg: ProbeConfig,
    measures: Sequence[str] = ("control", "sparse"),
) -> pd.DataFrame:
    """Per-atom probes: node embeddings H (n_atoms, d) vs atom concept membership
    (n_atoms, C); outer folds grouped by molecule; control labels random per atom
    environment type ``env_types`` (n_atoms,), e.g. the radius-t Morgan identifier."""
    mol = np.repeat(np.arange(len(atom_ptr) - 1), np.diff(atom_ptr))
    folds = grouped_folds(mol, cfg.n_outer, cfg.seed)
    return probe_layer(
        H, atom_labels.astype(np.float32), mol, folds, cfg, measures=measures,
        control_groups=env_types,
    )  # fmt: skip
