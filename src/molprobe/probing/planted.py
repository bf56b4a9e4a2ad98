"""Positive and negative controls of the whole probing instrument: nets trained on planted
labels, then probed like any other net.

- ``acid`` (level 1, positive): "has a carboxylic acid" (the ``carboxylic_acid`` group). A
  local group: the instrument must place it early.
- ``donor_acceptor_5_7`` (level 3, positive): "a donor and an acceptor 5 to 7 bonds apart"
  (centres of :mod:`molprobe.chem.centres`) on the built molecules of
  :mod:`molprobe.probing.arrangement`, where no count, no group and no radius-2 environment
  tells positives from negatives (on Tox21 molecules a two-step net decodes most of it from
  local structure). Scored, like every level-3 concept of the verdict, by what a layer adds
  beyond the counts of the six centre types (conditional probe). The instrument must place it
  late: a 5-6 bond pair fits one receptive field only after 3 message-passing steps.
- ``shuffled`` (negative): the acid labels permuted over molecules; the trained net must show
  no gain over its random-init copies.

Each net is a probe-clean graph net (atom/bond features only) trained with the project's
training loop; the probe molecules are held out from training and the probes use the
instrument's own settings (:class:`~molprobe.probing.emergence.EmergenceConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from rdkit import Chem

from molprobe.chem.centres import CENTRE_TYPES, find_centres
from molprobe.errors import MolprobeError
from molprobe.probing.activations import collect_activations, random_copy
from molprobe.probing.arrangement import arrangement_molecules
from molprobe.probing.emergence import (
    EmergenceConfig,
    NetScores,
    ProbeTargets,
    SeedProbes,
    emergence_tables,
    lower_only_scores,
    probe_scores,
)
from molprobe.probing.probes import grouped_folds, scaffold_groups

PLANTED_TASKS = ("acid", "donor_acceptor_5_7", "shuffled")
# training of every planted net: constant learning rate; early stop after 20 epochs without a
# better validation AUC (the arrangement nets sat at chance for up to 16 epochs before they
# learned, 1,500 molecules, seeds 0-2), with the weights of the best validation epoch
PLANTED_TRAIN = {"epochs": 80, "lr": 1e-3, "lr_schedule": "none", "patience": 20}
EXPECTED = {"acid": "early", "donor_acceptor_5_7": "late", "shuffled": "no gain"}


@dataclass(frozen=True)
class PlantedConfig:
    """n_molecules: molecules per task (after filtering); probe_fraction: held out for the
    probes; model / params: a graph family of the registry and its hyperparameters;
    train: training settings (``molprobe.training.loop.TrainConfig`` keys): a constant
    learning rate, since the family's plateau schedule without patience halved it every
    second epoch while the arrangement net still sat at chance and froze it there; n_random:
    random-init copies; seeds: trained seeds. min_valid_auc / max_attempts: a positive
    control whose best validation ROC-AUC stays below ``min_valid_auc`` did not learn its
    task and is retrained with the next training seed (``seed + 100 * attempt``, same
    molecules), at most ``max_attempts`` times in all; judged on the validation part only,
    never on the probe molecules, and reported (``attempts``, ``train_seed``)."""

    n_molecules: int = 800
    probe_fraction: float = 0.3
    model: str = "gine"
    params: dict = field(default_factory=lambda: {"n_layers": 4, "width": 64, "dropout": 0.0})
    train: dict = field(default_factory=lambda: dict(PLANTED_TRAIN))
    n_random: int = 3
    seeds: tuple[int, ...] = (0,)
    min_valid_auc: float = 0.8
    max_attempts: int = 3


def planted_labels(smiles: list[str], seed: int = 0) -> dict[str, np.ndarray]:
    """Planted labels (n,) of the Tox21-molecule tasks ``acid`` and ``shuffled``; NaN =
    unparsable molecule."""
    from molprobe.chem.groups import GROUPS, group_patterns

    acid_patt = group_patterns()[[g.name for g in GROUPS].index("carboxylic_acid")]
    acid = np.full(len(smiles), np.nan)
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            acid[i] = float(mol.HasSubstructMatch(acid_patt))
    shuffled = acid.copy()
    ok = np.flatnonzero(~np.isnan(acid))
    shuffled[ok] = acid[np.random.default_rng(seed).permutation(ok)]
    return {"acid": acid, "shuffled": shuffled}


def centre_counts(smiles: list[str]) -> np.ndarray:
    """(n, 8) counts per molecule: the six centre types of :data:`CENTRE_TYPES`, heavy atoms,
    and donor-acceptor pairs 1 to 4 bonds apart (what two message-passing steps can see);
    -1 for unparsable SMILES."""
    out = np.full((len(smiles), len(CENTRE_TYPES) + 2), -1, np.int64)
    for i, s in enumerate(smiles):
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            c = find_centres(mol)
            donors = [a for (a,) in c["Donor"]]
            acceptors = [a for (a,) in c["Acceptor"]]
            d = Chem.GetDistanceMatrix(mol)[np.ix_(donors, acceptors)]
            near = int(((d >= 1) & (d <= 4)).sum())
            out[i] = [len(c[k]) for k in CENTRE_TYPES] + [mol.GetNumAtoms(), near]
    return out


def max_count_auc(counts: np.ndarray, y: np.ndarray) -> float:
    """Largest ROC-AUC (either direction) of a single count column of :func:`centre_counts`
    as a predictor of ``y`` (0.5 = the counts say nothing)."""
    from sklearn.metrics import roc_auc_score

    best = 0.5
    for x in counts.T:
        if x.min() < x.max():
            auc = roc_auc_score(y, x)
            best = max(best, auc, 1 - auc)
    return float(best)


def max_single_group_auc(smiles: list[str], y: np.ndarray) -> float:
    """Largest ROC-AUC of any single level-1 group's presence as a predictor of ``y``: how
    far one group alone implies a planted label (0.5 = not at all)."""
    from sklearn.metrics import roc_auc_score

    from molprobe.chem.groups import GROUPS, group_patterns

    mols = [Chem.MolFromSmiles(s) for s in smiles]
    best = 0.5
    for patt in group_patterns():
        x = np.array([float(m.HasSubstructMatch(patt)) for m in mols])
        if 0 < x.sum() < len(x):
            auc = roc_auc_score(y, x)
            best = max(best, auc, 1 - auc)
    return float(best) if len(GROUPS) else 0.5


def _balanced_rows(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` labelled rows, half positives where possible."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    k = min(len(pos), n // 2)
    rows = np.concatenate(
        [rng.choice(pos, k, replace=False), rng.choice(neg, min(len(neg), n - k), replace=False)]
    )
    return np.sort(rows)


def _train_net(store, y, train, valid, cfg: PlantedConfig, seed: int):
    from molprobe.models.registry import InputDims, build_model, make_params
    from molprobe.training.data import Split
    from molprobe.training.loop import make_train_config, train_model

    dims = InputDims(atom_dim=store.n_atom_features, bond_dim=store.n_bond_features)
    params = make_params(cfg.model, cfg.params)

    def build():
        return build_model(cfg.model, params, dims, 1)

    torch.manual_seed(seed)
    net = build()
    tc = make_train_config(cfg.model, {**cfg.train, "seed": seed, "device": "cpu"})
    split = Split(np.asarray(train), np.asarray(valid), np.zeros(0, np.int64))
    res = train_model(net, store, y[:, None].astype(np.float64), split, "classification", tc)
    return net, build, res


def _train_until_learned(store, y, train, valid, cfg: PlantedConfig, seed: int, positive: bool):
    """Train; a positive control whose best validation AUC stays below ``cfg.min_valid_auc``
    is retrained with the next training seed. Returns (net, build, result, train seed,
    attempts)."""
    for attempt in range(max(1, cfg.max_attempts)):
        train_seed = seed + 100 * attempt
        net, build, res = _train_net(store, y, train, valid, cfg, train_seed)
        if not positive or res.best_val_metric >= cfg.min_valid_auc:
            break
    return net, build, res, train_seed, attempt + 1


def run_planted(
    smiles: list[str], cfg: PlantedConfig | None = None, ecfg: EmergenceConfig | None = None
):
    """Train, probe and locate every planted task.

    Returns (summary: task, expected, seed, emergence_layer, emergence_index, lo, hi,
    peak_layer, peak_index, learned_any, max_gain, test_auc (on the probe molecules),
    valid_auc (best validation epoch), epochs_run, train_seed, attempts, max_single_group_auc,
    max_count_auc; per-layer profile: task, seed,
    layer_index, layer, auc, random_auc, gain_random, gain_input, learned)."""
    from sklearn.metrics import roc_auc_score

    from molprobe.chem.graphs import MolGraph

    cfg = cfg or PlantedConfig()
    ecfg = ecfg or EmergenceConfig(n_boot=50)
    labels = planted_labels(smiles)
    rows_summary, rows_profile = [], []
    for task in PLANTED_TASKS:
        arrangement = task == "donor_acceptor_5_7"
        for seed in cfg.seeds:
            rng = np.random.default_rng(seed)
            if arrangement:  # built molecules; a group = one building-block combination
                sub, y, groups = arrangement_molecules(cfg.n_molecules, seed)
            else:
                rows = _balanced_rows(labels[task], cfg.n_molecules, rng)
                if len(rows) < 50:
                    raise MolprobeError(f"planted task {task}: only {len(rows)} usable molecules")
                sub = [smiles[i] for i in rows]
                y, groups = labels[task][rows].astype(np.float32), scaffold_groups(sub)
            counts = centre_counts(sub)
            store = MolGraph()(sub)
            probe = np.sort(rng.choice(len(sub), int(cfg.probe_fraction * len(sub)), replace=False))
            rest = np.setdiff1d(np.arange(len(sub)), probe)
            valid = rest[: len(rest) // 8]
            train = rest[len(rest) // 8 :]
            net, build, fit, train_seed, attempts = _train_until_learned(
                store, y, train, valid, cfg, seed, positive=task != "shuffled"
            )
            batches = [
                store.batch(torch.as_tensor(probe[i : i + 256])) for i in range(0, len(probe), 256)
            ]
            with torch.no_grad():
                net.eval()
                pred = torch.cat([net(b).float() for b in batches]).numpy()[:, 0]
            # level 3 is scored beyond the centre counts, as in the verdict
            cond = np.log1p(counts[probe, : len(CENTRE_TYPES)]).astype(np.float32)
            targets = ProbeTargets(
                labels=y[probe, None], concepts=[task], levels=np.array([3 if arrangement else 1]),
                families=np.array([task]), groups=groups[probe],
                folds=grouped_folds(groups[probe], ecfg.n_outer, seed),
                conditioning={3: cond} if arrangement else {},
            )  # fmt: skip

            def scores(model, batches=batches, targets=targets) -> NetScores:
                acts = collect_activations(model, batches, "cpu")
                return probe_scores(acts.molecule_level("sum"), targets, ecfg)

            trained = scores(net)
            randoms = [
                scores(random_copy(net, 1000 * (seed + 1) + r, build, batches, "cpu"))
                for r in range(cfg.n_random)
            ]
            sp = SeedProbes(seed, targets, trained, randoms, lower_only_scores(targets, ecfg))
            fam, _ = emergence_tables([sp], ecfg, levels=(1, 3))
            r = fam.iloc[0]
            rows_summary.append({
                "task": task, "expected": EXPECTED[task], "seed": seed,
                "n_molecules": len(sub), "n_probe": len(probe), "prevalence": float(y.mean()),
                "emergence_layer": r.emergence_layer, "emergence_index": int(r.emergence_index),
                "lo": r.lo, "hi": r.hi, "peak_layer": r.peak_layer, "peak_index": int(r.peak_index),
                "learned_any": bool(r.learned_any), "max_gain": r.max_gain,
                "n_layers": len(sp.layers), "test_auc": float(roc_auc_score(y[probe], pred)),
                "valid_auc": float(fit.best_val_metric), "epochs_run": len(fit.history),
                "train_seed": train_seed, "attempts": attempts,
                "max_single_group_auc": max_single_group_auc(sub, y),
                "max_count_auc": max_count_auc(counts, y),
            })  # fmt: skip
            prof = sp.concept_table()
            prof.insert(0, "task", task)
            rows_profile.append(prof)
    return pd.DataFrame(rows_summary), pd.concat(rows_profile, ignore_index=True)
