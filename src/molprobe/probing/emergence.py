"""Which layer holds a concept: ridge probes of raw units, gain over the input and over
random-init copies, emergence and peak layers, bootstrap intervals.

Protocol (one call of :func:`probe_scores` per net):

- Every layer's raw units, standardised on each training fold; no projection, so trained and
  random nets are probed identically whatever their spectrum.
- L2 (ridge) regression of the 0/1 concept labels, solved through one eigendecomposition of
  the training Gram matrix for all concepts and penalties at once. The penalty grid is relative,
  λ = α · mean squared singular value, so it adapts to each layer's scale; α is chosen per
  concept inside each outer training fold by its exact leave-one-out AUC (closed form from the
  same eigendecomposition).
- Outer folds grouped by Bemis–Murcko scaffold; the score is the ROC-AUC of the pooled
  out-of-fold predictions.
- Conditional probes (the hierarchy confound): concepts of level 2 are also probed on
  [layer ⊕ log1p(level-1 group counts)], level 3 on [layer ⊕ log1p(level-2 centre counts)];
  the added AUC over the counts alone is what the layer knows beyond the level below.

From the out-of-fold scores of a trained net and of its random-init copies
(:func:`emergence_table`): per concept and layer ℓ

- ``gain_random`` = AUC(trained, ℓ) − mean AUC(random copies, ℓ);
- ``gain_input`` = AUC(trained, ℓ) − AUC(input);
- ``learned`` = AUC(trained, ℓ) − max(AUC(input), mean AUC(random copies, k) for k ≤ ℓ)
  (0 at the input): what training put at ℓ beyond the best the input or the untrained
  architecture gives up to that depth (random nets lose linear information with depth; a
  running maximum keeps that loss from inflating late gains). Levels 2 and 3 use the
  conditional AUCs.

Per concept family (nested concepts averaged first, so a family counts once): the
**emergence layer** is the first layer whose ``learned`` reaches ≥ ``threshold`` (80 %) of the
family's maximum; the **peak** is the maximum. A family whose maximum stays below its noise
floor gained nothing from training: emergence = peak = 0 (the input), flagged
``learned_any=False``. The floor is max(``min_gain``, ``noise_z`` × the null standard error of
an AUC difference): the Mann–Whitney standard error of one AUC under no signal,
√((n₊ + n₋ + 1) / (12 n₊ n₋)), times √(1 + 1/n_random) for the mean of the random copies it
is compared with, averaged over the family's concepts. On 150 + 150 molecules and 3 random
copies it is 0.077, so one net's chance gain of 0.06 (measured: a net trained hard on shuffled
labels) is not read as learned; on 20 of 755 positives it is 0.15.
Intervals: percentile bootstrap resampling molecules (and seeds, for level summaries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from molprobe.errors import MolprobeError
from molprobe.probing.probes import auc_columns, grouped_folds


@dataclass(frozen=True)
class EmergenceConfig:
    """n_outer: scaffold-grouped outer folds. alphas: relative ridge penalties.
    threshold: share of the maximum gain that marks emergence. min_gain: smallest maximum
    AUC gain counted as learned. noise_z: the gain must also exceed this many null standard
    errors of the AUC difference (:func:`noise_floor`). n_boot: bootstrap replicates. seed: folds and bootstrap."""

    n_outer: int = 5
    alphas: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0)
    threshold: float = 0.8
    min_gain: float = 0.02
    noise_z: float = 2.0
    n_boot: int = 200
    seed: int = 0


# ----------------------------------------------------------------------------- ridge probe


def _standardise(train: torch.Tensor, others: Sequence[torch.Tensor]):
    mean = train.mean(0)
    std = train.std(0, unbiased=False)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    return (train - mean) / std, [(o - mean) / std for o in others]


def ridge_scores(
    Xtr: torch.Tensor, Ytr: torch.Tensor, Xte: torch.Tensor, alphas: Sequence[float]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge predictions for every relative penalty, from one eigendecomposition.

    Xtr (n, d), Ytr (n, C) in {0, 1}, Xte (m, d); standardised on Xtr, intercept unpenalised.
    Uses the smaller of X Xᵀ (n × n) and Xᵀ X (d × d); λ = α · trace / min(n, d), the mean
    squared singular value. Returns (test predictions (n_alphas, m, C), exact leave-one-out
    predictions of the training rows (n_alphas, n, C), from the hat-matrix diagonal)."""
    Xtr, (Xte,) = _standardise(Xtr, [Xte])
    X, T = Xtr.float(), Xte.float()
    ymean = Ytr.float().mean(0)
    yc = Ytr.float() - ymean
    n, d = X.shape
    dual = n <= d
    lam, V = torch.linalg.eigh((X @ X.T if dual else X.T @ X).double())  # float64 eigh only
    lam, V = lam.clamp_min(0).float(), V.float()
    scale = lam.sum() / min(n, d)
    if dual:
        fit_left, right = V * lam, V.T @ yc  # X Xᵀ V = V Λ
        left = (T @ X.T) @ V
        sq = V**2 * lam  # hat diagonal: Σ_k V_ik² λ_k / (λ_k + λ)
    else:
        XV = X @ V
        fit_left, right = XV, V.T @ (X.T @ yc)
        left = T @ V
        sq = XV**2
    test, loo = [], []
    for a in alphas:
        inv = 1.0 / (lam + a * scale)
        test.append(left @ (right * inv[:, None]) + ymean)
        fit = fit_left @ (right * inv[:, None])
        h = (sq * inv).sum(1, keepdim=True) + 1.0 / n  # + the intercept's share
        loo.append((fit - h * yc) / (1 - h).clamp_min(1e-6) + ymean)
    return torch.stack(test).float(), torch.stack(loo).float()


def ridge_oof(
    X: np.ndarray, Y: np.ndarray, groups: np.ndarray, folds: list[np.ndarray], cfg: EmergenceConfig
) -> np.ndarray:
    """Out-of-fold ridge scores (n, C) over the scaffold-grouped outer ``folds``; the penalty
    of each concept is chosen in each outer training fold by its leave-one-out AUC (closed
    form; ties -> the larger penalty). ``groups`` is kept for the caller's folds."""
    if np.isnan(Y).any():
        raise MolprobeError("ridge probes need complete labels (drop unparsable molecules)")
    Xt = torch.as_tensor(np.asarray(X, np.float32))
    Yt = torch.as_tensor(np.asarray(Y, np.float32))
    n, C = Y.shape
    rows = np.arange(n)
    oof = np.zeros((n, C), np.float32)
    A = len(cfg.alphas)
    for test in folds:
        train = np.setdiff1d(rows, test)
        te, loo = ridge_scores(Xt[train], Yt[train], Xt[test], cfg.alphas)
        flat = loo.numpy().transpose(1, 0, 2).reshape(len(train), A * C)
        auc = auc_columns(flat, np.tile(Y[train], (1, A))).reshape(A, C)
        auc = np.nan_to_num(auc, nan=-1.0)
        best = (auc >= auc.max(0) - 1e-3)[::-1].argmax(0)
        best = A - 1 - best  # the largest penalty within 1e-3 of the best AUC
        oof[test] = te.numpy()[best, :, np.arange(C)].T
    return oof


@dataclass
class ProbeTargets:
    """What every net is probed against (shared by trained and random nets).

    labels: (n, C) 0/1; concepts, levels, families: (C,); groups: (n,) scaffold ids;
    folds: outer test indices; conditioning: {level: (n, m) counts of the level below};
    controls: (n, C) matched control-task labels (:mod:`molprobe.probing.controls`) or None."""

    labels: np.ndarray
    concepts: list[str]
    levels: np.ndarray
    families: np.ndarray
    groups: np.ndarray
    folds: list[np.ndarray]
    conditioning: dict[int, np.ndarray]
    controls: np.ndarray | None = None


def make_targets(
    table, cfg: EmergenceConfig, low: float = 0.02, high: float = 0.98, controls: bool = True
) -> ProbeTargets:
    """:class:`ProbeTargets` from a :class:`~molprobe.chem.concepts.ConceptTable` of the probe
    molecules (all parsable): concepts with prevalence in [low, high], scaffold folds, the
    counts of the level below for levels 2 (group counts) and 3 (centre counts), and (when
    ``controls``) one matched control task per concept."""
    from molprobe.probing.controls import matched_controls
    from molprobe.probing.probes import scaffold_groups

    if np.isnan(table.values).any():
        raise MolprobeError("probe molecules must all parse (drop rows with NaN labels first)")
    table = table.frequent(None, low, high)
    if len(table.meta) == 0:
        raise MolprobeError("no concept has a prevalence within [low, high] in the probe set")
    groups = scaffold_groups(table.smiles)
    cm = table.count_meta
    cond = {
        2: table.counts[:, (cm["level"] == 1).to_numpy()],
        3: table.counts[:, ((cm["level"] == 2) & cm["concept"].str.startswith("n:")).to_numpy()],
    }
    return ProbeTargets(
        labels=table.values.astype(np.float32),
        concepts=table.concepts,
        levels=table.meta["level"].to_numpy(),
        families=table.meta["concept_family"].to_numpy(),
        groups=groups,
        folds=grouped_folds(groups, cfg.n_outer, cfg.seed),
        conditioning={k: np.log1p(np.nan_to_num(v)).astype(np.float32) for k, v in cond.items()},
        controls=(
            matched_controls(table.smiles, table.meta, table.values, cfg.seed)[0]
            if controls
            else None
        ),
    )


@dataclass
class NetScores:
    """Out-of-fold probe scores of one net: plain (L, n, C) on each layer alone, and
    conditional (L, n, C) on [layer ⊕ lower counts] (NaN for concepts without a lower level);
    control (L, n, C) on each concept's control task (None without controls)."""

    layers: list[str]
    plain: np.ndarray
    conditional: np.ndarray
    control: np.ndarray | None = None


def probe_scores(
    layers: dict[str, np.ndarray], targets: ProbeTargets, cfg: EmergenceConfig
) -> NetScores:
    """Plain and conditional out-of-fold scores of every layer (name -> (n, width), input
    first) of one net."""
    n, C = targets.labels.shape
    L = len(layers)
    plain = np.zeros((L, n, C), np.float32)
    cond = np.full((L, n, C), np.nan, np.float32)
    has_ctrl = targets.controls is not None
    ctrl = np.zeros((L, n, C), np.float32) if has_ctrl else None
    Y = np.concatenate([targets.labels, targets.controls], 1) if has_ctrl else targets.labels
    for li, (name, X) in enumerate(layers.items()):
        if len(X) != n:
            raise MolprobeError(f"layer {name!r} has {len(X)} rows, labels {n}")
        both = ridge_oof(X, Y, targets.groups, targets.folds, cfg)
        plain[li] = both[:, :C]
        if has_ctrl:
            ctrl[li] = both[:, C:]
        for level, counts in targets.conditioning.items():
            cols = np.flatnonzero(targets.levels == level)
            if len(cols):
                Z = np.concatenate([X, counts], axis=1)
                y = targets.labels[:, cols]
                cond[li][:, cols] = ridge_oof(Z, y, targets.groups, targets.folds, cfg)
    return NetScores(list(layers), plain, cond, ctrl)


def lower_only_scores(targets: ProbeTargets, cfg: EmergenceConfig) -> np.ndarray:
    """Out-of-fold scores (n, C) of the lower-level counts alone (NaN for level 1/alerts)."""
    n, C = targets.labels.shape
    out = np.full((n, C), np.nan, np.float32)
    for level, counts in targets.conditioning.items():
        cols = np.flatnonzero(targets.levels == level)
        if len(cols):
            y = targets.labels[:, cols]
            out[:, cols] = ridge_oof(counts, y, targets.groups, targets.folds, cfg)
    return out


# ----------------------------------------------------------------------------- emergence


class WeightedAUC:
    """ROC-AUC of many score columns under molecule weights (bootstrap multiplicities).

    scores (n, K), labels (n, K) in {0, 1}; columns sorted once, each call O(n K). Ties in the
    scores are broken by order (ridge scores are continuous)."""

    def __init__(self, scores: np.ndarray, labels: np.ndarray):
        scores = np.nan_to_num(np.asarray(scores, np.float64), nan=0.0)
        self.order = np.argsort(scores, axis=0, kind="stable")
        self.ys = np.take_along_axis(np.asarray(labels, np.float64), self.order, axis=0)
        self.nan = np.isnan(np.asarray(scores)).all(0)

    def __call__(self, weights: np.ndarray | None = None) -> np.ndarray:
        w = np.ones(len(self.order)) if weights is None else np.asarray(weights, np.float64)
        ws = w[self.order]
        pos = ws * self.ys
        neg = ws - pos
        below = np.cumsum(neg, axis=0) - neg
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (pos * below).sum(0) / (pos.sum(0) * neg.sum(0))
        auc[self.nan] = np.nan
        return auc


@dataclass
class SeedProbes:
    """Everything probed for one trained seed: its targets, the trained net's scores, its
    random-init copies' scores and the lower-level-only scores (n, C)."""

    seed: int
    targets: ProbeTargets
    trained: NetScores
    randoms: list[NetScores]
    lower: np.ndarray

    def __post_init__(self):
        t = self.targets
        L, n, C = self.trained.plain.shape
        blocks = [self.trained.plain, self.trained.conditional]
        for r in self.randoms:
            blocks += [r.plain, r.conditional]
        self._has_ctrl = t.controls is not None and self.trained.control is not None
        ctrl = [self.trained.control] + [r.control for r in self.randoms] if self._has_ctrl else []
        S = np.concatenate([b.transpose(1, 0, 2).reshape(n, L * C) for b in blocks + ctrl], 1)
        S = np.concatenate([S, self.lower], axis=1)
        Y = np.tile(t.labels, (1, len(blocks) * L))
        if self._has_ctrl:
            Y = np.concatenate([Y, np.tile(t.controls, (1, len(ctrl) * L))], 1)
        Y = np.concatenate([Y, t.labels], 1)
        self._auc = WeightedAUC(S, Y)
        self._shape = (len(blocks), L, C)
        self._n_ctrl = len(ctrl)

    @property
    def layers(self) -> list[str]:
        return self.trained.layers

    def profiles(self, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per layer × concept (L, C) measures on molecules weighted by ``weights``: auc,
        random_auc, auc_cond, added_over_lower, gain_random, gain_input, learned."""
        nb, L, C = self._shape
        flat = self._auc(weights)
        blocks = flat[: nb * L * C].reshape(nb, L, C)
        nc = self._n_ctrl
        ctrl = flat[nb * L * C : (nb + nc) * L * C].reshape(nc, L, C)
        base = flat[(nb + nc) * L * C :]
        a, ac = blocks[0], blocks[1]
        r = np.nanmean(blocks[2::2], axis=0)
        rc = np.nanmean(blocks[3::2], axis=0) if nb > 2 else np.full_like(ac, np.nan)
        has_cond = ~np.isnan(self.trained.conditional).all(axis=(0, 1))
        use_cond = (np.isin(self.targets.levels, (2, 3)) & has_cond)[None]
        t = np.where(use_cond, ac, a)
        rr = np.where(use_cond, rc, r)
        gain_random = t - rr
        gain_input = t - t[0]
        # baseline: the best the input or any untrained layer up to this depth gives, so the
        # decay of random nets with depth cannot make gains grow late
        rr0 = np.where(np.isnan(rr), -np.inf, rr)
        rr0[0] = t[0]
        learned = t - np.maximum.accumulate(rr0, axis=0)
        learned[0] = 0.0
        extra = {}
        if nc:
            control_gain = ctrl[0] - np.nanmean(ctrl[1:], axis=0) if nc > 1 else ctrl[0] * np.nan
            plain_gain = a - r
            extra = {
                "control_auc": ctrl[0], "control_gain": control_gain,
                "selectivity": plain_gain - control_gain,
            }  # fmt: skip
        return extra | {
            "auc": a, "random_auc": r, "auc_cond": np.where(use_cond, ac, np.nan),
            "added_over_lower": np.where(use_cond, ac - base[None], np.nan),
            "gain_random": gain_random, "gain_input": gain_input, "learned": learned,
        }  # fmt: skip

    def concept_table(self) -> pd.DataFrame:
        """Long table: seed, layer_index, layer, concept, level, concept_family, measures."""
        prof = self.profiles()
        L, C = prof["auc"].shape
        t = self.targets
        df = pd.DataFrame(
            {
                "seed": self.seed,
                "layer_index": np.repeat(np.arange(L), C),
                "layer": np.repeat(self.layers, C),
                "concept": np.tile(t.concepts, L),
                "level": np.tile(t.levels, L),
                "concept_family": np.tile(t.families, L),
                "n_positive": np.tile(t.labels.sum(0).astype(np.int64), L),
            }
        )
        for k, v in prof.items():
            df[k] = v.ravel()
        return df


def noise_floor(labels: np.ndarray, n_random: int, z: float) -> np.ndarray:
    """Per concept (C,): ``z`` null standard errors of AUC(trained) − mean AUC(``n_random``
    random copies) on 0/1 ``labels`` (n, C): √((n₊ + n₋ + 1) / (12 n₊ n₋)) · √(1 + 1/n_random),
    the Mann–Whitney variance of an AUC without signal (the two probes treated as independent).
    Concepts without both classes get +inf."""
    y = np.asarray(labels, np.float64)
    pos = y.sum(0)
    neg = len(y) - pos
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((pos + neg + 1) / (12 * pos * neg))
    se = np.where((pos > 0) & (neg > 0), se, np.inf)
    return z * se * np.sqrt(1 + 1 / max(n_random, 1))


def emergence_layer(
    profile: np.ndarray, threshold: float, min_gain: float
) -> tuple[int, int, bool]:
    """(emergence index, peak index, learned_any) of a per-layer gain profile (L,)."""
    if not np.isfinite(profile).any() or np.nanmax(profile) < min_gain:
        return 0, 0, False
    peak = int(np.nanargmax(profile))
    first = int(np.flatnonzero(np.nan_to_num(profile, nan=-np.inf) >= threshold * profile[peak])[0])
    return first, peak, True


def family_profiles(learned: np.ndarray, families: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Average an (L, C) profile over each concept family: (names, (L, n_families))."""
    names = list(dict.fromkeys(families.tolist()))
    with np.errstate(all="ignore"):
        prof = [np.nanmean(learned[:, families == f], axis=1) for f in names]
    return names, np.stack(prof, axis=1)


def family_floors(sp: SeedProbes, cfg: EmergenceConfig) -> dict[str, float]:
    """The gain each concept family must reach to count as learned: max(min_gain, its
    concepts' mean :func:`noise_floor`)."""
    floor = noise_floor(sp.targets.labels, len(sp.randoms), cfg.noise_z)
    fams = sp.targets.families
    return {
        f: max(cfg.min_gain, float(np.mean(floor[fams == f]))) for f in dict.fromkeys(fams.tolist())
    }


def _family_indices(
    sp: SeedProbes, learned: np.ndarray, cfg: EmergenceConfig, floors: dict[str, float]
):
    names, prof = family_profiles(learned, sp.targets.families)
    out = np.array(
        [emergence_layer(prof[:, j], cfg.threshold, floors[f]) for j, f in enumerate(names)]
    )
    return names, out  # (F, 3): emergence, peak, learned_any


def emergence_tables(
    seeds: Sequence[SeedProbes], cfg: EmergenceConfig, levels: Sequence[int] = (1, 2, 3, 0)
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Emergence per (seed, concept family) with molecule-bootstrap intervals, and per level
    (median over its families, mean over seeds) with intervals resampling seeds and molecules.

    Returns (families: seed, level, concept_family, emergence_layer, emergence_index, lo, hi,
    peak_layer, peak_index, peak_lo, peak_hi, learned_any, max_gain, noise_floor, n_concepts;
    levels: level, emergence_index, lo, hi, peak_index, peak_lo, peak_hi, emergence_layer,
    peak_layer, n_families, n_seeds, per_seed)."""
    rng = np.random.default_rng(cfg.seed)
    fam_rows, point_level, boot_level = [], {}, {}
    for sp in seeds:
        n = len(sp.targets.labels)
        fam_level = {
            f: int(lv) for f, lv in zip(sp.targets.families, sp.targets.levels, strict=True)
        }
        floors = family_floors(sp, cfg)  # from the labels alone: the same in every replicate
        names, point = _family_indices(sp, sp.profiles()["learned"], cfg, floors)
        boots = np.empty((cfg.n_boot, len(names), 3))
        for b in range(cfg.n_boot):
            w = np.bincount(rng.integers(0, n, n), minlength=n)
            boots[b] = _family_indices(sp, sp.profiles(w)["learned"], cfg, floors)[1]
        prof = family_profiles(sp.profiles()["learned"], sp.targets.families)[1]
        for j, f in enumerate(names):
            lo, hi = np.percentile(boots[:, j, 0], [2.5, 97.5])
            plo, phi = np.percentile(boots[:, j, 1], [2.5, 97.5])
            fam_rows.append({
                "seed": sp.seed, "level": fam_level[f], "concept_family": f,
                "emergence_layer": sp.layers[int(point[j, 0])], "emergence_index": int(point[j, 0]),
                "lo": lo, "hi": hi, "peak_layer": sp.layers[int(point[j, 1])],
                "peak_index": int(point[j, 1]), "peak_lo": plo, "peak_hi": phi,
                "learned_any": bool(point[j, 2]), "max_gain": float(np.nanmax(prof[:, j])),
                "noise_floor": floors[f],
                "n_concepts": int((sp.targets.families == f).sum()),
            })  # fmt: skip
        lv = np.array([fam_level[f] for f in names])
        for level in levels:
            m = lv == level
            if m.any():
                point_level.setdefault(level, []).append(np.median(point[m][:, :2], axis=0))
                boot_level.setdefault(level, []).append(np.median(boots[:, m, :2], axis=1))
    level_rows = []
    layers = seeds[0].layers if seeds else []
    for level in levels:
        if level not in point_level:
            continue
        per_seed = np.stack(point_level[level])  # (S, 2)
        boot = np.stack(boot_level[level])  # (S, B, 2)
        S = len(per_seed)
        pick = rng.integers(0, S, (cfg.n_boot, S))
        reps = boot[pick, np.arange(cfg.n_boot)[:, None]].mean(1)  # (B, 2)
        est = per_seed.mean(0)
        lo, hi = np.percentile(reps, [2.5, 97.5], axis=0)
        level_rows.append({
            "level": level, "emergence_index": est[0], "lo": lo[0], "hi": hi[0],
            "peak_index": est[1], "peak_lo": lo[1], "peak_hi": hi[1],
            "emergence_layer": layers[int(round(est[0]))], "peak_layer": layers[int(round(est[1]))],
            "n_families": int(sum(1 for r in fam_rows if r["level"] == level) / S),
            "n_seeds": S, "per_seed": " ".join(f"{v:.1f}" for v in per_seed[:, 0]),
        })  # fmt: skip
    return pd.DataFrame(fam_rows), pd.DataFrame(level_rows)
