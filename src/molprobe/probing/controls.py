"""Control tasks (Hewitt & Liang 2019, "Designing and interpreting probes with control
tasks"), matched to each concept in prevalence and locality.

A concept's control is a random disjunction of Morgan (ECFP) atom environments of the radius
that matches the concept's extent: environments are drawn in random order and OR-ed until
the control's prevalence reaches the concept's. A control is as local as its concept and as
frequent, but means nothing chemically, so a probe that learns it as well as the concept
shows what the representation makes linearly readable at that scale, not the concept.
Selectivity = concept gain - control gain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

MAX_RADIUS = 4


def concept_radius(concept: str, kind: str) -> int:
    """Environment radius matching a concept's extent (bonds from a centre atom): groups,
    centres and alerts 1; pairs half their distance bin's mean (2-4); triplets 3."""
    if kind == "pair":
        lo, hi = (int(x) for x in concept.split("@")[1].split("-"))
        return int(min(MAX_RADIUS, max(2, math.ceil((lo + hi) / 4))))
    if kind == "triplet":
        return 3
    return 1


def environment_sets(
    smiles: Sequence[str], max_radius: int = MAX_RADIUS
) -> list[dict[int, set[int]]]:
    """Per molecule: {radius: set of unfolded Morgan environment ids of exactly that radius}."""
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=max_radius)
    out = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        envs: dict[int, set[int]] = {r: set() for r in range(max_radius + 1)}
        if mol is not None:
            ao = rdFingerprintGenerator.AdditionalOutput()
            ao.AllocateBitInfoMap()
            gen.GetSparseCountFingerprint(mol, additionalOutput=ao)
            for ident, hits in ao.GetBitInfoMap().items():
                for _, r in hits:
                    envs[r].add(int(ident))
        out.append(envs)
    return out


def control_labels(
    envs: list[dict[int, set[int]]],
    prevalence: np.ndarray,
    radii: np.ndarray,
    seed: int = 0,
) -> np.ndarray:
    """Control labels (n, C): for concept c a random OR of radius-``radii[c]`` environments
    whose prevalence first reaches ``prevalence[c]``."""
    rng = np.random.default_rng(seed)
    n = len(envs)
    out = np.zeros((n, len(prevalence)), np.float32)
    by_radius: dict[int, tuple[np.ndarray, list[np.ndarray]]] = {}
    for r in set(int(x) for x in radii):
        ids: dict[int, list[int]] = {}
        for i, e in enumerate(envs):
            for ident in e.get(r, ()):
                ids.setdefault(ident, []).append(i)
        keys = np.array(sorted(ids), dtype=np.int64)
        by_radius[r] = (keys, [np.asarray(ids[k]) for k in keys])
    for c, (p, r) in enumerate(zip(prevalence, radii, strict=True)):
        keys, members = by_radius[int(r)]
        target = p * n
        have = np.zeros(n, bool)
        for j in rng.permutation(len(keys)):
            new = have.copy()
            new[members[j]] = True
            if new.sum() > 1.5 * target and have.sum() > 0:
                continue  # an environment that overshoots the prevalence by far is skipped
            have = new
            if have.sum() >= target:
                break
        out[:, c] = have
    return out


def matched_controls(smiles: Sequence[str], meta: pd.DataFrame, labels: np.ndarray, seed: int = 0):
    """Control labels (n, C) matched to the concepts of ``meta`` (columns concept, kind) with
    labels (n, C); returns (controls, radii)."""
    radii = np.array(
        [concept_radius(c, k) for c, k in zip(meta["concept"], meta["kind"], strict=True)]
    )
    envs = environment_sets(smiles, int(radii.max()) if len(radii) else 1)
    return control_labels(envs, labels.mean(0), radii, seed), radii
