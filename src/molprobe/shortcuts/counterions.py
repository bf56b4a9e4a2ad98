"""Counter-ion and salt sensitivity: does a prediction move when a salt is added to the parent?

Standardization strips salts before training, so a model should never see one; but a model fed
a raw multi-fragment SMILES (standardization off, or a screening library given as-is) must not
change its mind because a sodium, chloride or a water molecule sits next to the parent. Two
kinds of pairs are scored, both featurized *without* the largest-fragment step (graphs and
ECFP handle disconnected molecules):

- ``added``: the standardized parent vs the parent with a common counter-ion / salt / solvent
  appended (:data:`COUNTERIONS`), kept only when standardizing the perturbed SMILES gives back
  exactly the parent (same parent, same standardized SMILES);
- ``dataset_salt``: the dataset's own salt forms (``input_smiles`` with more than one fragment)
  vs their standardized ``smiles``.

The shift of a prediction is ``Δp = p(perturbed) - p(parent)`` (probability units).

Which question each ``pipeline`` answers:

- ``raw``: both SMILES featurized as given. The model was trained on stripped parents, so this
  measures how the *featurization* and the net extrapolate to fragments never seen in training
  (what a user meets who skips standardization), not what the model learned from salts.
- ``standardized``: both SMILES first go through the dataset's own recipe, as ``molprobe
  screen`` does. With the default recipe (largest fragment kept) the shift is 0 by
  construction; with a no-strip recipe it is what a user of the workflow really meets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from molprobe.chem.standardize import StandardizeRecipe, standardize_smiles

#: common counter-ions, salt formers and solvents, as SMILES fragments appended to a parent
COUNTERIONS: dict[str, str] = {
    "sodium": "[Na+]",
    "potassium": "[K+]",
    "chloride": "[Cl-]",
    "hydrochloride": "Cl",
    "sodium_chloride": "[Na+].[Cl-]",
    "water": "O",
    "mesylate": "CS(=O)(=O)[O-]",
    "acetate": "CC(=O)[O-]",
}
DATASET_SALT = "dataset_salt"
COUNTERION_COLUMNS = [
    "model", "split", "seed", "pipeline", "task", "perturbation", "n", "mean_shift",
    "median_abs_shift", "p95_abs_shift", "max_abs_shift",
]  # fmt: skip


def n_fragments(smiles: str) -> int:
    """Number of dot-separated fragments of a SMILES (1 for a connected molecule)."""
    return len([f for f in smiles.split(".") if f]) if smiles else 0


def add_counterion(parent: str, counterion: str) -> str:
    """The parent SMILES with a counter-ion / salt / solvent fragment appended (``parent.ion``)."""
    return f"{parent}.{counterion}"


def same_parent(perturbed: str, parent: str, recipe: StandardizeRecipe | None = None) -> bool:
    """True when standardizing ``perturbed`` gives exactly the standardized ``parent``."""
    a = standardize_smiles(perturbed, recipe).smiles
    b = standardize_smiles(parent, recipe).smiles
    return a is not None and a == b


def perturbation_pairs(
    parents: Sequence[str],
    counterions: Mapping[str, str] = COUNTERIONS,
    recipe: StandardizeRecipe | None = None,
) -> pd.DataFrame:
    """Parent / perturbed SMILES pairs with each counter-ion appended.

    Args:
        parents: standardized parent SMILES. counterions: name -> SMILES fragment.
        recipe: standardization recipe (largest fragment on), used to check that each
            perturbed SMILES standardizes back to the same parent; pairs that do not (e.g. a
            parent smaller than mesylate) are dropped.
    Returns columns: parent_index (position in ``parents``), perturbation (name), parent,
    perturbed.
    """
    recipe = recipe or StandardizeRecipe()
    rows = []
    for i, parent in enumerate(parents):
        std_parent = standardize_smiles(parent, recipe).smiles
        if std_parent is None:
            continue
        for name, ion in counterions.items():
            perturbed = add_counterion(parent, ion)
            if standardize_smiles(perturbed, recipe).smiles == std_parent:
                rows.append({"parent_index": i, "perturbation": name, "parent": parent,
                             "perturbed": perturbed})  # fmt: skip
    return pd.DataFrame(rows, columns=["parent_index", "perturbation", "parent", "perturbed"])


def dataset_salt_pairs(molecules: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
    """Rows of the molecule table whose ``input_smiles`` has more than one fragment: pairs
    (parent = standardized ``smiles``, perturbed = ``input_smiles``), perturbation
    :data:`DATASET_SALT`. ``rows`` restricts to those row positions (e.g. a test split)."""
    sub = molecules if rows is None else molecules.iloc[np.asarray(rows)]
    raw = sub["input_smiles"].astype(str)
    salt = raw.map(n_fragments) > 1
    sub = sub[salt.to_numpy()]
    return pd.DataFrame(
        {
            "parent_index": np.arange(len(sub)),
            "perturbation": DATASET_SALT,
            "parent": sub["smiles"].to_numpy(),
            "perturbed": sub["input_smiles"].to_numpy(),
        }
    )


def shift_summary(shift: np.ndarray) -> dict[str, float]:
    """n, mean signed shift, median / 95th percentile / max of |Δp| (NaN rows ignored)."""
    d = np.asarray(shift, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return {"n": 0, "mean_shift": np.nan, "median_abs_shift": np.nan,
                "p95_abs_shift": np.nan, "max_abs_shift": np.nan}  # fmt: skip
    a = np.abs(d)
    return {"n": int(d.size), "mean_shift": float(d.mean()), "median_abs_shift": float(np.median(a)),
            "p95_abs_shift": float(np.percentile(a, 95)), "max_abs_shift": float(a.max())}  # fmt: skip


def prediction_shifts(
    predict: Callable[[Sequence[str]], np.ndarray], pairs: pd.DataFrame
) -> np.ndarray:
    """Δp (n_pairs, n_tasks): ``predict(perturbed) - predict(parent)``.

    ``predict`` maps a list of (possibly multi-fragment) SMILES to probabilities
    (n, n_tasks); parents are predicted once each.
    """
    if pairs.empty:
        return np.zeros((0, 0))
    parents = list(dict.fromkeys(pairs["parent"]))
    where = {s: i for i, s in enumerate(parents)}
    smiles = parents + pairs["perturbed"].tolist()
    p = np.asarray(predict(smiles), dtype=np.float64)
    p_parent = p[: len(parents)][[where[s] for s in pairs["parent"]]]
    return p[len(parents) :] - p_parent


def summarise_shifts(
    shifts: np.ndarray, pairs: pd.DataFrame, tasks: Sequence[str], **labels
) -> list[dict]:
    """Rows of :data:`COUNTERION_COLUMNS` for one model: per task, per perturbation and over
    all added counter-ions (``all_added``)."""
    out = []
    if pairs.empty:
        return out
    kinds = pairs["perturbation"].to_numpy()
    groups = {name: kinds == name for name in dict.fromkeys(kinds)}
    added = kinds != DATASET_SALT
    if added.any():
        groups["all_added"] = added
    for t, task in enumerate(tasks):
        for name, mask in groups.items():
            out.append({**labels, "task": task, "perturbation": name,
                        **shift_summary(shifts[mask, t])})  # fmt: skip
    return out


def model_probabilities(loaded, smiles: Sequence[str], batch_size: int = 512) -> np.ndarray:
    """Probabilities (n, n_tasks) of one loaded model for raw SMILES, featurized exactly as the
    model was trained (:meth:`molprobe.inference.ModelInputs.featurize`), with no
    standardization (multi-fragment SMILES are featurized whole)."""
    from molprobe.inference.inputs import ModelInputs
    from molprobe.inference.predict import predict
    from molprobe.training.losses import TargetScaler

    meta = loaded.meta
    scaler = TargetScaler.from_dict(meta.target_scaler) if meta.target_scaler else None
    feats = ModelInputs.from_checkpoint(loaded).featurize(list(smiles))
    return np.asarray(
        predict(loaded.model, feats, None, meta.task_type, scaler, batch_size=batch_size)
    )


def _feature_key(meta) -> str:
    import json

    return json.dumps([meta.featurizers, meta.descriptor_scaler, meta.input_dims], sort_keys=True)


def counterion_table(
    runs: Sequence,
    molecules: pd.DataFrame,
    counterions: Mapping[str, str] = COUNTERIONS,
    max_molecules: int = 200,
    recipe: StandardizeRecipe | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Prediction shifts of every model (columns :data:`COUNTERION_COLUMNS`).

    For each split and seed, up to ``max_molecules`` test molecules (a seeded random subset)
    get every counter-ion appended (pairs that standardize back to the parent only), plus all
    test rows whose ``input_smiles`` is a salt form. Models of the same split and seed share
    the featurized SMILES.
    """
    import dataclasses

    from molprobe.inference.inputs import ModelInputs
    from molprobe.inference.predict import predict
    from molprobe.training.losses import TargetScaler

    # "same parent" is judged with the salt-stripping step on, whatever the dataset's recipe
    user_recipe = recipe or StandardizeRecipe()
    recipe = dataclasses.replace(user_recipe, largest_fragment=True)
    standardized: dict[str, str] = {}

    def _standardize(smiles):
        for smi in smiles:
            if smi not in standardized:
                standardized[smi] = standardize_smiles(smi, user_recipe).smiles or smi
        return [standardized[smi] for smi in smiles]

    rows: list[dict] = []
    pairs_of: dict[tuple[str, int], pd.DataFrame] = {}
    feats_of: dict[tuple[str, int, str], object] = {}
    for run in runs:
        meta = run.loaded.meta
        if meta.task_type != "classification":
            continue
        key = (run.split, run.seed)
        if key not in pairs_of:
            test = np.asarray(run.rows["test"])
            rng = np.random.default_rng(seed)
            pick = np.sort(rng.permutation(test)[:max_molecules]) if max_molecules else test
            parents = molecules["smiles"].to_numpy()[pick].tolist()
            pairs_of[key] = pd.concat(
                [perturbation_pairs(parents, counterions, recipe),
                 dataset_salt_pairs(molecules, test)], ignore_index=True,
            )  # fmt: skip
        pairs = pairs_of[key]
        if pairs.empty:
            continue
        for pipeline in ("raw", "standardized"):
            fkey = (run.split, run.seed, pipeline, _feature_key(meta))

            def _predict(smiles, run=run, fkey=fkey, meta=meta, pipeline=pipeline):
                if fkey not in feats_of:
                    smiles = _standardize(smiles) if pipeline == "standardized" else smiles
                    feats_of[fkey] = ModelInputs.from_checkpoint(run.loaded).featurize(list(smiles))
                scaler = TargetScaler.from_dict(meta.target_scaler) if meta.target_scaler else None
                return predict(run.loaded.model, feats_of[fkey], None, meta.task_type, scaler)

            shifts = prediction_shifts(_predict, pairs)
            rows += summarise_shifts(shifts, pairs, run.tasks, model=run.model,
                                     split=run.split, seed=run.seed, pipeline=pipeline)  # fmt: skip
    return pd.DataFrame(rows, columns=COUNTERION_COLUMNS)
