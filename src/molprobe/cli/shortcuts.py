"""CLI: ``molprobe shortcuts`` audits every trained model of a dataset for shortcuts (analog
bias, trivial features, counter-ions, attribution on toxicophores, randomized labels)."""

from __future__ import annotations

import argparse
import json
import logging
import re
import time
from pathlib import Path

import numpy as np

from molprobe.cli.options import add_option
from molprobe.cli.shortcuts_planted import register_planted, save_figure
from molprobe.cli.tables import read_molecule_table
from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import write_parquet
from molprobe.shortcuts.permuted import PermutedConfig
from molprobe.shortcuts.run import OUTPUT_TABLES, AuditConfig

log = logging.getLogger(__name__)
FEATURE_FILES = {
    "ecfp": "ecfp.npz",
    "descriptors": "descriptors.npz",
    "graph": "graph.pt",
    "tokens": "tokens.npz",
}


def register(sub) -> None:
    """Add ``shortcuts`` (and ``shortcuts-planted``) to the `molprobe` parser."""
    a, pc = AuditConfig(), PermutedConfig()
    p = sub.add_parser(
        "shortcuts",
        help="audit every trained model of a dataset: is it right for the right reason?",
        description="Reads results/{dataset}/{data,splits,features,models} and writes "
        "similarity_bins / trivial_baselines / counterions / attribution / permuted_labels "
        ".parquet, one PNG per check, findings.md and findings.csv into --output-dir.",
    )
    p.add_argument("--dataset-dir", type=Path, required=True, help="results/{dataset}")
    p.add_argument("--output-dir", type=Path, required=True,
                   help="e.g. results/{dataset}/shortcuts")  # fmt: skip
    add_option(p, "--families", "--models", dest="models", nargs="+",
               help="model families to audit (default: all trained)")  # fmt: skip
    p.add_argument("--splits", nargs="+", help="split methods (default: all trained)")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds (default: all trained)")
    p.add_argument("--top", type=int, default=a.top, help="top-scored test molecules per task "
                   f"for attribution (default {a.top})")  # fmt: skip
    p.add_argument("--attribution-tasks", nargs="+", default=[],
                   help="tasks for attribution (default: the --n-attribution-tasks tasks with "
                   "the most positives)")  # fmt: skip
    p.add_argument("--n-attribution-tasks", type=int, default=a.n_attribution_tasks)
    p.add_argument("--permuted-splits", nargs="+", default=[],
                   help="splits whose first-seed models get shuffled-label twins "
                   "(default: random, else the first trained split)")  # fmt: skip
    p.add_argument("--permuted-seeds", type=int, default=pc.seeds,
                   help=f"shuffled-label twins per model (default {pc.seeds})")  # fmt: skip
    p.add_argument("--permuted-epochs", type=int, default=pc.max_epochs,
                   help="epoch cap of the twins (default 0: the real model's budget and early "
                   "stopping, a matched twin)")  # fmt: skip
    p.add_argument(
        "--permuted-trees",
        type=int,
        default=pc.max_trees,
        help="n_estimators cap of the forest twins (default 0: as the real model)",
    )
    p.add_argument("--no-permuted", action="store_true",
                   help="skip the shuffled-label twins (no randomized-label control, no "
                   "attribution baseline)")  # fmt: skip
    p.add_argument("--counterion-molecules", type=int, default=a.counterion_molecules,
                   help="test molecules per split and seed given added counter-ions (0 = all)")  # fmt: skip
    p.add_argument("--trivial-model", choices=("hgb", "logreg"), default=a.trivial_model)
    p.add_argument("--margin", type=float, default=a.margin,
                   help="flag tasks where the trivial baseline is within this AUC of the "
                   "best deep model")  # fmt: skip
    p.add_argument("--planted", type=Path, help="planted_summary.parquet of shortcuts-planted")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--dataset", help="dataset name in findings.md (default: the folder name)")
    p.set_defaults(func=cmd_shortcuts)

    register_planted(sub)


# ----------------------------------------------------------------------------- reading


def _read_molecules(path: Path):
    mols = read_molecule_table(path, ("mol_id", "smiles"))
    if "input_smiles" not in mols.columns:
        mols["input_smiles"] = mols["smiles"]
    return mols


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from None


def _split_rows(dataset_dir: Path, split: str, seed: int, n: int) -> dict[str, np.ndarray]:
    from molprobe.training.data import Split

    path = dataset_dir / "splits" / split / f"seed{seed}.json"
    try:
        s = Split.from_dict(_read_json(path), n)
    except MolprobeError as err:
        raise InputError(path, str(err)) from None
    return {"train": s.train, "valid": s.valid, "test": s.test}


def load_runs(dataset_dir: Path, n_molecules: int, models=None, splits=None, seeds=None):
    """Every trained model under ``dataset_dir/models/{model}/{split}/seed{n}/``."""
    import pandas as pd

    from molprobe.shortcuts import AuditedModel
    from molprobe.training.checkpoint import load_model

    root = dataset_dir / "models"
    runs = []
    for meta in sorted(root.glob("*/*/seed*/meta.json")):
        d = meta.parent
        model, split = d.parent.parent.name, d.parent.name
        match = re.fullmatch(r"seed(\d+)", d.name)
        if match is None:
            continue
        seed = int(match.group(1))
        if (models and model not in models) or (splits and split not in splits):
            continue
        if seeds is not None and seed not in seeds:
            continue
        for f in ("metrics.json", "predictions.parquet"):
            if not (d / f).is_file():
                raise InputError(d / f, "no such file (train the model first)")
        loaded = load_model(d)
        if hasattr(loaded.model, "to"):
            loaded.model.to("cpu")
        runs.append(
            AuditedModel(
                model=model,
                split=split,
                seed=seed,
                loaded=loaded,
                metrics=_read_json(d / "metrics.json"),
                predictions=pd.read_parquet(d / "predictions.parquet"),
                rows=_split_rows(dataset_dir, split, seed, n_molecules),
                path=d,
            )
        )
    if not runs:
        raise MolprobeError(f"no trained models (meta.json) under {root}")
    return runs


def load_cached_features(dataset_dir: Path, names) -> dict:
    """featurizer name -> (features, spec) for every cached file among ``names``."""
    from molprobe.chem.featurize import load_features

    out = {}
    for name in names:
        path = dataset_dir / "features" / FEATURE_FILES.get(name, f"{name}.npz")
        if path.is_file():
            out[name] = load_features(path)
    return out


def _recipe(dataset_dir: Path):
    from molprobe.chem.standardize import StandardizeRecipe

    path = dataset_dir / "data" / "standardize.json"
    if path.is_file():
        spec = _read_json(path).get("recipe")
        if spec:
            try:
                return StandardizeRecipe.from_spec(spec)
            except ValueError as err:
                raise InputError(path, str(err)) from None
    return StandardizeRecipe()


# ----------------------------------------------------------------------------- commands


def cmd_shortcuts(args: argparse.Namespace) -> int:
    import dataclasses

    import pandas as pd

    from molprobe.shortcuts.run import audit_shortcuts

    t_start = time.perf_counter()
    ds = args.dataset_dir
    mols = _read_molecules(ds / "data" / "molecules.parquet")
    runs = load_runs(ds, len(mols), args.models, args.splits, args.seeds)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"shortcuts: {len(runs)} models, {len(mols)} molecules, {len(runs[0].tasks)} tasks")
    permuted_cfg = dataclasses.replace(
        PermutedConfig(), seeds=args.permuted_seeds, max_epochs=args.permuted_epochs,
        max_trees=args.permuted_trees, device=args.device, threads=args.threads,
    )  # fmt: skip
    config = AuditConfig(
        top=args.top, attribution_tasks=tuple(args.attribution_tasks),
        n_attribution_tasks=args.n_attribution_tasks,
        permuted_splits=tuple(args.permuted_splits), permuted=permuted_cfg,
        run_permuted=not args.no_permuted, counterion_molecules=args.counterion_molecules,
        trivial_model=args.trivial_model, margin=args.margin,
    )  # fmt: skip
    names = {s["name"] for r in runs for s in r.loaded.meta.featurizers} | {"ecfp"}
    planted = pd.read_parquet(args.planted) if args.planted else None
    result = audit_shortcuts(runs, mols, load_cached_features(ds, names), _recipe(ds), config,
                             args.dataset or ds.resolve().name, planted)  # fmt: skip
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    for name in OUTPUT_TABLES:
        write_parquet(result.tables[name], out / f"{name}.parquet")
    for name, fig in result.figures.items():
        save_figure(out / f"{name}.png", fig)
    from molprobe.training.checkpoint import write_atomic

    write_atomic(out / "findings.md", lambda p: p.write_text(result.findings_md))
    write_atomic(out / "findings.csv", lambda p: result.findings.to_csv(p, index=False))
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    print(f"shortcuts: {len(result.findings)} finding(s) -> {out / 'findings.md'} "
          f"({time.perf_counter() - t_start:.1f} s: {spent})")  # fmt: skip
    return 0
