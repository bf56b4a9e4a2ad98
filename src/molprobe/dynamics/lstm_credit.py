"""Uniform credit assignment: does a SMILES model credit a group the same wherever it stands?

A molecule has many valid SMILES; randomized SMILES (random atom order) place a functional
group at different positions of the string. For a model that assigns credit uniformly over
the sequence (the LSTM's claim), the group's share of the attribution should not depend on
where the group is written, and the prediction should not depend on which SMILES was read.
A vanilla RNN forgets: early tokens get little gradient, so credit should grow toward the end.

Pipeline (:func:`run_lstm_credit`): train small one-layer LSTM and RNN models on a Tox21-like
table (with and without randomized-SMILES augmentation), take held-out molecules that contain
exactly one nitro, carboxylic-acid or hydroxyl group, write K randomized SMILES of each, map
tokens to atoms, attribute the task logit to the token embeddings (integrated gradients or
gradient x input) and record the group's share of the absolute credit against its relative
position in the string (0 = first token, 1 = last).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from rdkit import Chem, RDLogger

from molprobe.dynamics.through_time import (
    SequenceTrainConfig,
    build_model,
    through_time_table,
    train_smiles_model,
)
from molprobe.errors import MolprobeError
from molprobe.models.lstm import SmilesLSTM

log = logging.getLogger(__name__)

#: functional groups: SMARTS whose matched atoms are the group's atoms
GROUPS: dict[str, str] = {
    "nitro": "[NX3+](=O)[O-]",
    "carboxylic_acid": "[CX3](=O)[OX2H1]",
    "hydroxyl": "[OX2H1;$(O[#6;!$(C=O)])]",  # alcohol / phenol O (acids excluded)
}
#: atoms written without brackets in SMILES (organic subset, aromatic forms, wildcard)
ORGANIC_ATOM_TOKENS = frozenset(
    ["B", "C", "N", "O", "P", "S", "F", "Cl", "Br", "I", "b", "c", "n", "o", "p", "s", "*"]
)
CREDIT_COLUMNS = [
    "arch",
    "augmented",
    "seed",
    "molecule",
    "group",
    "randomization",
    "smiles",
    "position",
    "n_tokens",
    "n_group_tokens",
    "credit_share",
    "uniform_share",
    "prediction",
]
SUMMARY_COLUMNS = [
    "arch",
    "augmented",
    "seed",
    "group",
    "n",
    "slope",
    "r",
    "within_slope",
    "within_r",
    "mean_credit_share",
    "mean_uniform_share",
    "prediction_std",
]


class Tokenizer(Protocol):
    """What this module needs from ``molprobe.chem.tokens.SmilesTokenizer``."""

    def tokenize(self, smiles: str) -> list[str]: ...

    def fit(self, smiles: Sequence[str]): ...

    def encode(self, smiles: Sequence[str], max_len: int) -> tuple[np.ndarray, np.ndarray]: ...


# --------------------------------------------------------------------------- SMILES <-> atoms


def randomized_smiles_with_order(mol: Chem.Mol, n: int, seed: int) -> list[tuple[str, list[int]]]:
    """``n`` randomized SMILES of ``mol`` with, for each, the atom index written at each atom
    token (output order), deterministic given ``seed``.

    The atoms are renumbered by a random permutation and written with ``canonical=False``
    (random atom order, the randomized SMILES of Arús-Pous et al. 2019, equivalent to RDKit's
    ``doRandom=True`` but reproducible without RDKit's global random state);
    ``_smilesAtomOutputOrder`` is mapped back to the original atom indices.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        perm = rng.permutation(mol.GetNumAtoms()).tolist()
        rmol = Chem.RenumberAtoms(mol, perm)  # new atom j = old atom perm[j]
        smiles = Chem.MolToSmiles(rmol, canonical=False)
        order_new = _output_order(rmol)
        out.append((smiles, [perm[j] for j in order_new]))
    return out


def _output_order(mol: Chem.Mol) -> list[int]:
    """Atom indices in the order the last ``MolToSmiles`` call wrote them."""
    raw = mol.GetProp("_smilesAtomOutputOrder")  # e.g. "[3,2,0,1,]"
    return [int(v) for v in raw.strip("[]").split(",") if v.strip()]


def is_atom_token(token: str) -> bool:
    """True for tokens that write one atom: bracket atoms and the organic subset."""
    return token.startswith("[") or token in ORGANIC_ATOM_TOKENS


def atom_token_map(tokens: Sequence[str], atom_order: Sequence[int]) -> dict[int, int]:
    """Map atom index -> token index, given the tokens of a SMILES and its atom output order.

    Raises MolprobeError when the number of atom tokens differs from the number of atoms.
    """
    positions = [i for i, tok in enumerate(tokens) if is_atom_token(tok)]
    if len(positions) != len(atom_order):
        raise MolprobeError(
            f"{len(positions)} atom tokens but {len(atom_order)} atoms in {''.join(tokens)!r}"
        )
    return {atom: pos for atom, pos in zip(atom_order, positions, strict=True)}


def single_group_match(mol: Chem.Mol, pattern: Chem.Mol) -> tuple[int, ...] | None:
    """The atoms of the group when ``mol`` contains exactly one occurrence, else None."""
    matches = mol.GetSubstructMatches(pattern)
    return tuple(matches[0]) if len(matches) == 1 else None


# --------------------------------------------------------------------------- attribution


def token_credit(
    model: SmilesLSTM,
    ids: torch.Tensor,
    lengths: torch.Tensor,
    task: int,
    method: str = "integrated_gradients",
    steps: int = 16,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attribution of the task logit to each token: (B, L) credits and (B,) probabilities.

    ``gradient_x_input``: sum over embedding dims of emb * dlogit/demb. ``integrated_gradients``
    (Sundararajan et al. 2017): emb * mean of the gradients at ``steps`` midpoints between the
    all-zero embedding (= the padding embedding) and emb. Padded positions get 0.
    """
    if method not in ("integrated_gradients", "gradient_x_input"):
        raise MolprobeError(f"unknown attribution method {method!r}")
    model.eval()
    device = next(model.parameters()).device
    ids, lengths = ids.to(device), lengths.to(device)
    # cuDNN cannot back-propagate through an RNN in eval mode; the native kernels can
    with torch.backends.cudnn.flags(enabled=False):
        emb = model.embed(ids).detach()
        with torch.no_grad():
            prob = torch.sigmoid(model.forward_from_embeddings(emb, lengths)[:, task])
        alphas = (
            [1.0] if method == "gradient_x_input" else [(k + 0.5) / steps for k in range(steps)]
        )
        total = torch.zeros_like(emb)
        for a in alphas:
            x = (emb * a).requires_grad_(True)
            out = model.forward_from_embeddings(x, lengths)[:, task]
            (grad,) = torch.autograd.grad(out.sum(), x)
            total += grad
        credit = (emb * total / len(alphas)).sum(-1)
    return credit.detach(), prob.detach()


def _token_offset(tokenizer: Tokenizer, smiles: str, max_len: int) -> int:
    """Index in ``encode`` output of the first SMILES token (1 if a start token is added)."""
    n_tok = len(tokenizer.tokenize(smiles))
    _, lengths = tokenizer.encode([smiles], max_len)
    extra = int(lengths[0]) - n_tok
    if extra in (0, 1, 2):
        return 0 if extra == 0 else 1
    raise MolprobeError(f"tokenizer encodes {n_tok} tokens of {smiles!r} as {int(lengths[0])}")


# --------------------------------------------------------------------------- experiment


@dataclass(frozen=True)
class CreditConfig:
    """Settings of the credit-assignment and through-time experiments."""

    task: str | None = "NR-AhR"  # task whose logit is attributed (None: the first task)
    groups: Sequence[str] = ("nitro", "carboxylic_acid", "hydroxyl")
    molecules_per_group: int = 20
    randomizations: int = 10  # randomized SMILES per analysed molecule
    n_train: int = 2000  # training molecules (the rest is held out for analysis)
    augment_variants: int = 5  # randomized SMILES per training molecule when augmenting
    max_len: int = 120  # tokens; longer strings are truncated in training, skipped in analysis
    archs: Sequence[str] = ("lstm", "rnn")  # compared for credit
    through_time_archs: Sequence[str] = ("rnn", "lstm", "gru")
    through_time_molecules: int = 128
    seeds: Sequence[int] = (0,)
    method: str = "integrated_gradients"
    ig_steps: int = 8
    train: SequenceTrainConfig = field(default_factory=SequenceTrainConfig)

    def __post_init__(self):
        bad = [g for g in self.groups if g not in GROUPS]
        if bad:
            raise MolprobeError(f"unknown group(s) {bad}; choose from {sorted(GROUPS)}")
        bad = [
            a for a in (*self.archs, *self.through_time_archs) if a not in ("lstm", "gru", "rnn")
        ]
        if bad:
            raise MolprobeError(f"unknown cell(s) {bad}; choose from lstm, gru, rnn")


@dataclass
class CreditResults:
    """Per-string credit table, per-model summary and gradient-through-time table."""

    credit: pd.DataFrame
    summary: pd.DataFrame
    through_time: pd.DataFrame
    losses: dict[str, list[float]] = field(default_factory=dict)  # "arch/aug/seed" -> per step


@dataclass(frozen=True)
class _Variant:
    molecule: str
    group: str
    randomization: int
    smiles: str
    group_tokens: tuple[int, ...]  # token indices (in the SMILES token list) of the group atoms
    n_tokens: int


def _analysis_variants(
    mols: Sequence[Chem.Mol],
    names: Sequence[str],
    candidates: np.ndarray,
    tokenizer: Tokenizer,
    config: CreditConfig,
) -> list[_Variant]:
    """Randomized SMILES of up to ``molecules_per_group`` candidates per group."""
    variants: list[_Variant] = []
    for group in config.groups:
        pattern = Chem.MolFromSmarts(GROUPS[group])
        taken = 0
        for row in candidates:
            if taken >= config.molecules_per_group:
                break
            match = single_group_match(mols[row], pattern)
            if match is None:
                continue
            found = []
            for k, (smi, order) in enumerate(
                randomized_smiles_with_order(mols[row], config.randomizations, seed=int(row))
            ):
                tokens = tokenizer.tokenize(smi)
                if len(tokens) > config.max_len - 2:
                    break
                try:
                    where = atom_token_map(tokens, order)
                except MolprobeError:
                    break
                group_tokens = tuple(sorted(where[a] for a in match))
                found.append(_Variant(names[row], group, k, smi, group_tokens, len(tokens)))
            if len(found) == config.randomizations:
                variants.extend(found)
                taken += 1
        log.info("credit: %d molecules with one %s group", taken, group)
    return variants


def _credit_rows(model, arch, augmented, seed, variants, tokenizer, task, config) -> list[dict]:
    smiles = [v.smiles for v in variants]
    offset = _token_offset(tokenizer, smiles[0], config.max_len)
    ids, lengths = tokenizer.encode(smiles, config.max_len)
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.int64)
    rows = []
    chunk = 256
    for start in range(0, len(variants), chunk):
        sl = slice(start, start + chunk)
        width = int(lengths[sl].max())
        credit, prob = token_credit(
            model, ids[sl, :width], lengths[sl], task, config.method, config.ig_steps
        )
        credit = credit.abs().cpu().numpy()
        prob = prob.cpu().numpy()
        for j, v in enumerate(variants[sl]):
            c = credit[j]
            total = float(c.sum())
            share = (
                float(c[[offset + t for t in v.group_tokens]].sum()) / total
                if total > 0
                else np.nan
            )
            rows.append(
                {
                    "arch": arch,
                    "augmented": augmented,
                    "seed": seed,
                    "molecule": v.molecule,
                    "group": v.group,
                    "randomization": v.randomization,
                    "smiles": v.smiles,
                    "position": float(np.mean(v.group_tokens)) / max(v.n_tokens - 1, 1),
                    "n_tokens": v.n_tokens,
                    "n_group_tokens": len(v.group_tokens),
                    "credit_share": share,
                    "uniform_share": len(v.group_tokens) / v.n_tokens,
                    "prediction": float(prob[j]),
                }
            )
    return rows


def _fit_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and Pearson r (NaN when x or y is constant)."""
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return np.nan, np.nan
    slope = float(np.polyfit(x, y, 1)[0])
    r = float(np.corrcoef(x, y)[0, 1])
    return slope, r


def credit_summary(credit: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, augmented, seed) and group (plus ``all``): how credit varies with position.

    ``slope``/``r``: credit_share vs position over all strings; ``within_*``: the same after
    subtracting each molecule's mean share and position (only position changes within a
    molecule, so this isolates the effect of where the group is written);
    ``prediction_std``: mean over molecules of the standard deviation of the predicted
    probability across its randomized SMILES.
    """
    rows = []
    if credit.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    for key, df in credit.groupby(["arch", "augmented", "seed"], sort=True):
        for group, sub in [("all", df), *sorted(df.groupby("group"))]:
            sub = sub.dropna(subset=["credit_share"])
            ids = [sub["molecule"], sub["group"]]
            dx = sub["position"] - sub.groupby(ids)["position"].transform("mean")
            dy = sub["credit_share"] - sub.groupby(ids)["credit_share"].transform("mean")
            slope, r = _fit_line(sub["position"].to_numpy(), sub["credit_share"].to_numpy())
            wslope, wr = _fit_line(dx.to_numpy(), dy.to_numpy())
            rows.append(
                {
                    "arch": key[0],
                    "augmented": bool(key[1]),
                    "seed": key[2],
                    "group": group,
                    "n": len(sub),
                    "slope": slope,
                    "r": r,
                    "within_slope": wslope,
                    "within_r": wr,
                    "mean_credit_share": float(sub["credit_share"].mean()),
                    "mean_uniform_share": float(sub["uniform_share"].mean()),
                    "prediction_std": float(sub.groupby(ids)["prediction"].std().mean()),
                }
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def run_lstm_credit(
    smiles: Sequence[str],
    targets: np.ndarray,
    task_names: Sequence[str],
    tokenizer: Tokenizer,
    config: CreditConfig,
    molecule_ids: Sequence[str] | None = None,
) -> CreditResults:
    """Train the recurrent models and measure credit assignment and gradients through time.

    smiles: (n,) standardized SMILES; targets: (n, n_tasks) float, NaN = missing;
    tokenizer: unfitted :class:`Tokenizer` (fitted here on every string that is encoded).
    """
    RDLogger.DisableLog("rdApp.*")
    targets = np.asarray(targets, dtype=np.float32)
    if targets.ndim != 2 or targets.shape[0] != len(smiles):
        raise MolprobeError(f"targets must be ({len(smiles)}, n_tasks), got {targets.shape}")
    if config.task is None:
        task = 0
    elif config.task in task_names:
        task = list(task_names).index(config.task)
    else:
        raise MolprobeError(f"task {config.task!r} not among {list(task_names)}")
    names = list(molecule_ids) if molecule_ids is not None else [str(i) for i in range(len(smiles))]
    mols = [Chem.MolFromSmiles(s) if isinstance(s, str) else None for s in smiles]
    usable = np.array(
        [m is not None and not np.isnan(targets[i]).all() for i, m in enumerate(mols)], dtype=bool
    )
    order = np.random.default_rng(0).permutation(np.flatnonzero(usable))
    if len(order) < 10:
        raise MolprobeError(f"only {len(order)} parsable, labelled molecules; need at least 10")
    n_train = min(config.n_train, int(0.8 * len(order)))
    train_rows, held_out = order[:n_train], order[n_train:]

    variants = _analysis_variants(mols, names, held_out, tokenizer, config)
    train_smiles = [smiles[i] for i in train_rows]
    augmented = [
        [s for s, _ in randomized_smiles_with_order(mols[i], config.augment_variants, seed=int(i))]
        for i in train_rows
    ]
    tt_rows = held_out[: config.through_time_molecules]
    tt_smiles = [smiles[i] for i in tt_rows]
    tokenizer.fit(
        [
            *train_smiles,
            *(s for ss in augmented for s in ss),
            *(v.smiles for v in variants),
            *tt_smiles,
        ]
    )
    ids_c, len_c = (np.asarray(a) for a in tokenizer.encode(train_smiles, config.max_len))
    aug_encoded = [
        tokenizer.encode([ss[k] for ss in augmented], config.max_len)
        for k in range(config.augment_variants)
    ]
    ids_aug = np.stack([ids_c, *(np.asarray(a) for a, _ in aug_encoded)])
    len_aug = np.stack([len_c, *(np.asarray(b) for _, b in aug_encoded)])
    tt_ids, tt_len = (np.asarray(a) for a in tokenizer.encode(tt_smiles, config.max_len))
    vocab_size = int(max(ids_aug.max(), tt_ids.max(), 1)) + 1
    if variants:
        v_ids, _ = tokenizer.encode([v.smiles for v in variants], config.max_len)
        vocab_size = max(vocab_size, int(np.asarray(v_ids).max()) + 1)
    y_train = targets[train_rows]
    n_tasks = targets.shape[1]

    credit_rows: list[dict] = []
    tt_models: list[tuple[str, int, int, SmilesLSTM]] = []
    losses: dict[str, list[float]] = {}
    steps = config.train.steps
    for seed in config.seeds:
        for arch in dict.fromkeys([*config.through_time_archs, *config.archs]):
            model = build_model(arch, vocab_size, n_tasks, config.train, seed)
            if arch in config.through_time_archs:
                tt_models.append((arch, 0, seed, _snapshot(model)))
            losses[f"{arch}/plain/{seed}"] = train_smiles_model(
                model, ids_c, len_c, y_train, config.train, seed
            )
            if arch in config.through_time_archs:
                tt_models.append((arch, steps, seed, model))
            if arch in config.archs and variants:
                credit_rows += _credit_rows(
                    model, arch, False, seed, variants, tokenizer, task, config
                )
                aug_model = build_model(arch, vocab_size, n_tasks, config.train, seed)
                losses[f"{arch}/augmented/{seed}"] = train_smiles_model(
                    aug_model, ids_aug, len_aug, y_train, config.train, seed
                )
                credit_rows += _credit_rows(
                    aug_model, arch, True, seed, variants, tokenizer, task, config
                )
            log.info("credit: %s seed %d trained", arch, seed)
    through_time = through_time_table(tt_models, tt_ids, tt_len, targets[tt_rows])
    credit = pd.DataFrame(credit_rows, columns=CREDIT_COLUMNS)
    return CreditResults(
        credit=credit,
        summary=credit_summary(credit),
        through_time=through_time,
        losses=losses,
    )


def _snapshot(model: SmilesLSTM) -> SmilesLSTM:
    """A frozen copy of the model as it is now (e.g. at initialization)."""
    import copy

    return copy.deepcopy(model).eval()
