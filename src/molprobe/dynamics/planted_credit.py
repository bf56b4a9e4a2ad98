"""Credit assignment with a planted signal: does a SMILES model credit S wherever it is written?

The label is planted: on real molecules, y = 1 when the molecule contains exactly one
substructure S (default: a nitro group) and y = 0 when it contains none (molecules with
several S are dropped); positives and negatives are balanced. So the ground truth is known:
the evidence for y = 1 is S. Randomized SMILES (random atom order) write S at different
string positions. Per string, integrated gradients (captum ``LayerIntegratedGradients`` on
the token embedding, baseline = every token replaced by padding) give an attribution per
token; the *credit share* is the |attribution| on all of S's tokens (atoms with their
brackets, and the bonds, parentheses and ring digits written between two S atoms) over the
total. Hypothesis H0 (the lecture's "uniform credit"): the share does not depend on S's
relative position (0 = first token, 1 = last). Tested per model by the within-molecule slope
of share vs position and the early/late ratio (share at position < 1/3 over > 2/3), with
t-intervals over seeds. Integrated gradients need a smooth path; trained recurrent nets
implement a near-discontinuous latch (the logit jumps once S is "seen"), so completeness is
reported per string and the occlusion share (captum ``FeatureAblation``: the logit drop when
one token is set to padding) is tested beside it. Models are trained and attributed on disjoint folds; credit
conclusions are drawn only for models whose held-out ROC-AUC reaches ``min_auc``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from captum.attr import FeatureAblation, LayerIntegratedGradients
from rdkit import Chem, RDLogger
from scipy import stats
from sklearn.metrics import roc_auc_score

from molprobe.chem.tokens import SmilesTokenizer, tokenize
from molprobe.dynamics.lstm_credit import (
    atom_token_map,
    is_atom_token,
    randomized_smiles_with_order,
)
from molprobe.dynamics.sequence_models import SEQUENCE_ARCHS, build_sequence_model
from molprobe.dynamics.through_time import SequenceTrainConfig, train_smiles_model
from molprobe.errors import MolprobeError
from molprobe.training.device import resolve_device

log = logging.getLogger(__name__)

#: planted substructures S: SMARTS whose matched atoms are S's atoms
PLANTED_GROUPS: dict[str, str] = {
    "nitro": "[NX3+](=O)[O-]",
    "aromatic_nitro": "[NX3+;$(N-a)](=O)[O-]",
    "carboxylic_acid": "[CX3](=O)[OX2H1]",
}
CREDIT_COLUMNS = [
    "arch",
    "seed",
    "fold",
    "molecule",
    "randomization",
    "smiles",
    "position",
    "n_tokens",
    "n_s_tokens",
    "credit_share",
    "ablation_share",
    "uniform_share",
    "logit",
    "completeness_error",
]


@dataclass(frozen=True)
class PlantedCreditConfig:
    """Settings of the planted-credit experiment (counts in molecules or strings)."""

    group: str = "nitro"
    archs: Sequence[str] = SEQUENCE_ARCHS
    seeds: Sequence[int] = (0, 1, 2)
    max_positives: int = 0  # 0 = every molecule with exactly one S
    randomizations: int = 4  # randomized SMILES per analysed molecule
    augment_variants: int = 10  # randomized SMILES per training molecule
    max_len: int = 120  # tokens; molecules with a longer randomized SMILES are dropped
    folds: int = 2  # train on k-1 folds, attribute the held-out fold
    steps: int = 400  # Adam steps per model
    batch_size: int = 64
    learning_rate: float = 3e-3
    embed_dim: int = 32
    hidden_dim: int = 64
    ig_steps: int = 16
    min_auc: float = 0.95  # credit conclusions only for models this good on held-out folds
    device: str = "auto"

    def __post_init__(self):
        if self.group not in PLANTED_GROUPS:
            raise MolprobeError(f"group must be one of {sorted(PLANTED_GROUPS)}")
        bad = [a for a in self.archs if a not in SEQUENCE_ARCHS]
        if bad:
            raise MolprobeError(f"unknown arch(s) {bad}; choose from {SEQUENCE_ARCHS}")
        if self.folds < 2:
            raise MolprobeError("folds must be >= 2 (attributions on held-out molecules)")


@dataclass
class PlantedCreditResults:
    """Per-string credit, per (arch, seed) model facts and the per-arch test of H0."""

    credit: pd.DataFrame
    models: pd.DataFrame
    summary: pd.DataFrame


def s_token_mask(tokens: Sequence[str], atom_order: Sequence[int], s_atoms: set[int]) -> np.ndarray:
    """Boolean mask over ``tokens``: the tokens that write S.

    S's atom tokens, every bond or parenthesis whose nearest atom tokens on both sides are S
    atoms (one side at the string's ends), and the ring digits written on S atoms.
    """
    where = atom_token_map(tokens, atom_order)
    in_s = np.zeros(len(tokens), dtype=bool)
    for atom in s_atoms:
        in_s[where[atom]] = True
    atom_pos = [i for i, t in enumerate(tokens) if is_atom_token(t)]
    for i, tok in enumerate(tokens):
        if is_atom_token(tok):
            continue
        left = [p for p in atom_pos if p < i]
        right = [p for p in atom_pos if p > i]
        ring = _is_ring_digit(tok) or (i + 1 < len(tokens) and _is_ring_digit(tokens[i + 1]))
        if ring:  # a ring-bond digit (and its bond symbol) belongs to the atom it is written on
            sides = [in_s[left[-1]]] if left else []
        else:
            sides = ([in_s[left[-1]]] if left else []) + ([in_s[right[0]]] if right else [])
        in_s[i] = bool(sides) and all(sides)
    return in_s


def _is_ring_digit(token: str) -> bool:
    return token.isdigit() or (token.startswith("%") and token[1:].isdigit())


def planted_molecules(
    smiles: Sequence[str], group: str, max_positives: int = 0, seed: int = 0
) -> tuple[list[Chem.Mol], np.ndarray, list[tuple[int, ...]], list[int]]:
    """Balanced planted task: molecules, labels (n,), S atoms per molecule, source rows.

    Positives: one-fragment molecules with exactly one S; negatives: as many without S,
    drawn at random (``seed``). Unparsable SMILES are skipped.
    """
    RDLogger.DisableLog("rdApp.*")
    pattern = Chem.MolFromSmarts(PLANTED_GROUPS[group])
    pos, neg = [], []
    for row, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi) if "." not in smi else None
        if mol is None:
            continue
        matches = mol.GetSubstructMatches(pattern)
        if len(matches) == 1:
            pos.append((row, mol, tuple(matches[0])))
        elif not matches:
            neg.append((row, mol, ()))
    rng = np.random.default_rng(seed)
    if max_positives and len(pos) > max_positives:
        pos = [pos[i] for i in sorted(rng.choice(len(pos), max_positives, replace=False))]
    if not pos:
        raise MolprobeError(f"no molecule contains exactly one {group}")
    if len(neg) < len(pos):
        raise MolprobeError(f"{len(pos)} molecules with {group} but only {len(neg)} without")
    neg = [neg[i] for i in sorted(rng.choice(len(neg), len(pos), replace=False))]
    both = pos + neg
    labels = np.array([1.0] * len(pos) + [0.0] * len(neg), dtype=np.float32)
    return [m for _, m, _ in both], labels, [s for _, _, s in both], [r for r, _, _ in both]


def token_attributions(
    model: torch.nn.Module, ids: torch.Tensor, lengths: torch.Tensor, n_steps: int = 32
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrated gradients of logit 0 per token: attributions (B, L), logits (B,), deltas (B,).

    captum ``LayerIntegratedGradients`` on ``model.embedding`` (summed over embedding dims);
    baseline: the same string with every token except begin/end (ids 2, 3) set to padding
    (zero embedding). ``deltas`` = sum of attributions - (f(x) - f(baseline)) (completeness).
    """
    model.eval()

    def logit(i, n):
        return model({"ids": i, "lengths": n})[:, 0]

    baseline = torch.where((ids == 2) | (ids == 3), ids, torch.zeros_like(ids))
    lig = LayerIntegratedGradients(logit, model.embedding)
    with torch.backends.cudnn.flags(enabled=False):
        attr, delta = lig.attribute(
            ids,
            baselines=baseline,
            additional_forward_args=(lengths,),
            n_steps=n_steps,
            internal_batch_size=min(len(ids) * n_steps, 4096),
            return_convergence_delta=True,
        )
        with torch.no_grad():
            out = logit(ids, lengths)
            base = logit(baseline, lengths)
    total = (out - base).abs().clamp(min=1e-8)
    return (
        attr.sum(-1).detach().cpu().numpy(),
        out.detach().cpu().numpy(),
        (delta.abs() / total).detach().cpu().numpy(),
    )


def token_ablation(model: torch.nn.Module, ids: torch.Tensor, lengths: torch.Tensor) -> np.ndarray:
    """Occlusion credit per token (B, L): logit(x) - logit(x with that token set to padding).

    captum ``FeatureAblation`` (one feature per token, all tokens ablated in one batched
    forward of B x L strings); exact by construction, so it checks
    integrated gradients where their completeness fails (sharp, latch-like recurrent nets).
    """
    model.eval()

    def logit(i, n):
        return model({"ids": i, "lengths": n})[:, 0]

    with torch.backends.cudnn.flags(enabled=False), torch.no_grad():
        attr = FeatureAblation(logit).attribute(
            ids,
            baselines=0,
            additional_forward_args=(lengths,),
            perturbations_per_eval=ids.shape[1],  # every token of the batch in one forward
        )
    return attr.detach().cpu().numpy()


def _variants(mols, s_atoms, n, max_len):
    """Per molecule: n randomized SMILES and their S-token masks (None if any is too long)."""
    out = []
    for k, mol in enumerate(mols):
        rows = []
        for smi, order in randomized_smiles_with_order(mol, n, seed=10_000 + k):
            tokens = tokenize(smi)
            if len(tokens) > max_len - 2:
                rows = None
                break
            mask = s_token_mask(tokens, order, set(s_atoms[k])) if s_atoms[k] else None
            rows.append((smi, mask))
        out.append(rows)
    return out


def _encode(tokenizer, smiles, max_len):
    ids, lengths = tokenizer.encode(smiles, max_len)
    return torch.as_tensor(ids), torch.as_tensor(lengths)


def run_planted_credit(smiles: Sequence[str], config: PlantedCreditConfig) -> PlantedCreditResults:
    """Train every arch x seed on k-1 folds of the planted task, attribute the held-out fold."""
    mols, labels, s_atoms, _ = planted_molecules(smiles, config.group, config.max_positives)
    analysis = _variants(mols, s_atoms, config.randomizations, config.max_len)
    train_var = _variants(mols, s_atoms, config.augment_variants, config.max_len)
    keep = [i for i in range(len(mols)) if analysis[i] is not None and train_var[i] is not None]
    log.info("planted %s: %d molecules (%d with S)", config.group, len(keep), labels[keep].sum())
    all_strings = [s for i in keep for s, _ in analysis[i] + train_var[i]]
    tokenizer = SmilesTokenizer().fit(all_strings)
    device = resolve_device(config.device)
    fold_of = np.random.default_rng(1).permutation(len(keep)) % config.folds
    train_cfg = SequenceTrainConfig(
        steps=config.steps,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        device=config.device,
    )
    credit_rows, model_rows = [], []
    for arch in config.archs:
        for seed in config.seeds:
            aucs = []
            for fold in range(config.folds):
                tr = [keep[j] for j in range(len(keep)) if fold_of[j] != fold]
                te = [keep[j] for j in range(len(keep)) if fold_of[j] == fold]
                k_var = config.augment_variants
                enc = [
                    _encode(tokenizer, [train_var[i][v][0] for i in tr], config.max_len)
                    for v in range(k_var)
                ]
                ids = np.stack([e[0].numpy() for e in enc])
                lens = np.stack([e[1].numpy() for e in enc])
                model = build_sequence_model(
                    arch,
                    tokenizer.vocab_size,
                    1,
                    config.embed_dim,
                    config.hidden_dim,
                    config.max_len,
                    seed=seed + 100 * fold,
                ).to(device)
                train_smiles_model(model, ids, lens, labels[tr, None], train_cfg, seed)
                rows, auc = _attribute_fold(
                    model, arch, seed, fold, te, analysis, labels, tokenizer, config, device
                )
                credit_rows += rows
                aucs.append(auc)
            model_rows.append(
                {
                    "arch": arch,
                    "seed": seed,
                    "roc_auc": float(np.mean(aucs)),
                    "roc_auc_min_fold": float(np.min(aucs)),
                }
            )
            log.info("planted credit: %s seed %d, held-out ROC-AUC %.3f", arch, seed, np.mean(aucs))
    credit = pd.DataFrame(credit_rows, columns=CREDIT_COLUMNS)
    models = pd.DataFrame(model_rows).merge(
        seed_credit_statistics(credit), on=["arch", "seed"], how="left"
    )
    return PlantedCreditResults(credit, models, credit_hypothesis_test(models, config.min_auc))


def _attribute_fold(model, arch, seed, fold, te, analysis, labels, tokenizer, config, device):
    """Held-out ROC-AUC over all strings of fold ``te``; credit rows for its positives."""
    rows, probs, ys = [], [], []
    for i in te:
        smis = [s for s, _ in analysis[i]]
        ids, lens = _encode(tokenizer, smis, config.max_len)
        width = int(lens.max())
        ids, lens = ids[:, :width].to(device), lens.to(device)
        if labels[i] == 0:
            with torch.no_grad():
                model.eval()
                probs += model({"ids": ids, "lengths": lens})[:, 0].cpu().tolist()
            ys += [0] * len(smis)
            continue
        attr, logit, delta = token_attributions(model, ids, lens, config.ig_steps)
        ablation = np.abs(token_ablation(model, ids, lens))
        probs += logit.tolist()
        ys += [1] * len(smis)
        for k, (smi, mask) in enumerate(analysis[i]):
            n_tok = len(mask)
            a = np.abs(attr[k, 1 : n_tok + 1])  # id position 0 is the begin token
            b = ablation[k, 1 : n_tok + 1]
            where = np.flatnonzero(mask)
            rows.append(
                {
                    "arch": arch,
                    "seed": seed,
                    "fold": fold,
                    "molecule": int(i),
                    "randomization": k,
                    "smiles": smi,
                    "position": float(where.mean() / max(n_tok - 1, 1)),
                    "n_tokens": n_tok,
                    "n_s_tokens": int(mask.sum()),
                    "credit_share": float(a[mask].sum() / max(a.sum(), 1e-12)),
                    "ablation_share": float(b[mask].sum() / max(b.sum(), 1e-12)),
                    "uniform_share": float(mask.mean()),
                    "logit": float(logit[k]),
                    "completeness_error": float(delta[k]),
                }
            )
    return rows, float(roc_auc_score(ys, probs)) if len(set(ys)) == 2 else np.nan


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x**2).sum()) if (x**2).sum() > 0 else np.nan


def seed_credit_statistics(credit: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, seed): pooled and within-molecule slope of share vs position, early/late."""
    rows = []
    for (arch, seed), d in credit.groupby(["arch", "seed"], sort=False):
        row = {
            "arch": arch,
            "seed": seed,
            "n_molecules": d["molecule"].nunique(),
            "n_strings": len(d),
            "mean_uniform_share": d["uniform_share"].mean(),
            "completeness_error_median": d["completeness_error"].median(),
            "complete_fraction": float((d["completeness_error"] < 0.1).mean()),
        }
        for col, prefix in (("credit_share", ""), ("ablation_share", "ablation_")):
            xw = d["position"] - d.groupby("molecule")["position"].transform("mean")
            yw = d[col] - d.groupby("molecule")[col].transform("mean")
            early = d.loc[d["position"] < 1 / 3, col].mean()
            late = d.loc[d["position"] > 2 / 3, col].mean()
            row[f"{prefix}slope"] = _slope(d["position"].to_numpy(), d[col].to_numpy())
            row[f"{prefix}within_slope"] = _slope(xw.to_numpy(), yw.to_numpy())
            row[f"{prefix}early_share"] = early
            row[f"{prefix}late_share"] = late
            row[f"{prefix}early_late_ratio"] = early / late if late > 0 else np.nan
            row[f"mean_{col}"] = d[col].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def _t_interval(v: np.ndarray) -> tuple[float, float, float]:
    v = v[np.isfinite(v)]
    if v.size < 2:
        return (float(v.mean()) if v.size else np.nan), np.nan, np.nan
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def credit_hypothesis_test(models: pd.DataFrame, min_auc: float = 0.95) -> pd.DataFrame:
    """Per arch: ROC-AUC, within-molecule slope and log early/late ratio with 95 % t-intervals
    over seeds, and the verdict on H0 (uniform credit) for the models that learned the task."""
    rows = []
    for arch, d in models.groupby("arch", sort=False):
        auc, auc_lo, auc_hi = _t_interval(d["roc_auc"].to_numpy())
        learned = bool((d["roc_auc"] >= min_auc).all())
        row = {
            "arch": arch,
            "n_seeds": len(d),
            "n_molecules": int(d["n_molecules"].max()),
            "roc_auc": auc,
            "roc_auc_low": auc_lo,
            "roc_auc_high": auc_hi,
            "learned": learned,
            "mean_uniform_share": d["mean_uniform_share"].mean(),
            "completeness_error_median": d["completeness_error_median"].median(),
            "complete_fraction": d["complete_fraction"].mean(),
        }
        for prefix in ("", "ablation_"):
            sl, sl_lo, sl_hi = _t_interval(d[f"{prefix}within_slope"].to_numpy(dtype=float))
            lr, lr_lo, lr_hi = _t_interval(np.log(d[f"{prefix}early_late_ratio"].to_numpy(float)))
            if not learned:
                verdict = f"no conclusion: held-out ROC-AUC below {min_auc}"
            elif np.isfinite(sl_lo) and (sl_lo > 0 or sl_hi < 0):
                side = "end" if sl > 0 else "start"
                verdict = f"uniform credit rejected: credit rises toward the {side}"
            else:
                verdict = "consistent with uniform credit (slope interval contains 0)"
            row.update(
                {
                    f"{prefix}within_slope": sl,
                    f"{prefix}within_slope_low": sl_lo,
                    f"{prefix}within_slope_high": sl_hi,
                    f"{prefix}early_late_ratio": float(np.exp(lr)),
                    f"{prefix}early_late_ratio_low": float(np.exp(lr_lo)),
                    f"{prefix}early_late_ratio_high": float(np.exp(lr_hi)),
                    f"{prefix}verdict": verdict,
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def verdict_lines(summary: pd.DataFrame) -> list[str]:
    """One line per arch: ROC-AUC, within-molecule slope with its interval, verdict."""
    return [
        f"  {r['arch']:<11} ROC-AUC {r['roc_auc']:.3f}; within-molecule slope "
        f"{r['within_slope']:+.3f} [{r['within_slope_low']:+.3f}, {r['within_slope_high']:+.3f}]"
        f" (occlusion {r['ablation_within_slope']:+.3f}); {r['verdict']}"
        for _, r in summary.iterrows()
    ]
