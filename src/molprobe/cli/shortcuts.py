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

from molprobe.cli.tables import read_molecule_table
from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)

OUTPUT_TABLES = (
    "similarity_bins",
    "trivial_baselines",
    "counterions",
    "attribution",
    "permuted_labels",
)
FEATURE_FILES = {
    "ecfp": "ecfp.npz",
    "descriptors": "descriptors.npz",
    "graph": "graph.pt",
    "tokens": "tokens.npz",
}


def register(sub) -> None:
    """Add ``shortcuts`` to the `molprobe` parser."""
    p = sub.add_parser(
        "shortcuts",
        help="audit every trained model of a dataset: is it right for the right reason?",
        description="Reads results/{dataset}/{data,splits,features,models} and writes "
        "similarity_bins / trivial_baselines / counterions / attribution / permuted_labels "
        ".parquet, one PNG per check and findings.md into --output-dir.",
    )
    p.add_argument("--dataset-dir", type=Path, required=True, help="results/{dataset}")
    p.add_argument(
        "--output-dir", type=Path, required=True, help="e.g. results/{dataset}/shortcuts"
    )
    p.add_argument("--models", nargs="+", help="model families to audit (default: all trained)")
    p.add_argument("--splits", nargs="+", help="split methods (default: all trained)")
    p.add_argument("--seeds", nargs="+", type=int, help="seeds (default: all trained)")
    p.add_argument("--top", type=int, default=50, help="top-scored test molecules per task "
                   "for attribution (default 50)")  # fmt: skip
    p.add_argument("--attribution-tasks", nargs="+",
                   help="tasks for attribution (default: the --n-attribution-tasks tasks with "
                   "the most positives)")  # fmt: skip
    p.add_argument("--n-attribution-tasks", type=int, default=3)
    p.add_argument("--permuted-splits", nargs="+", default=None,
                   help="splits on which one shuffled-label model per family is trained "
                   "(first audited seed; default: random, else the first trained split)")  # fmt: skip
    p.add_argument("--permuted-epochs", type=int, default=3,
                   help="epoch cap of the shuffled-label neural nets (default 3)")  # fmt: skip
    p.add_argument("--permuted-trees", type=int, default=20,
                   help="n_estimators cap of the shuffled-label random forests (default 20)")  # fmt: skip
    p.add_argument("--no-permuted", action="store_true",
                   help="skip the shuffled-label models (no randomized-label control, no "
                   "attribution baseline)")  # fmt: skip
    p.add_argument("--counterion-molecules", type=int, default=200,
                   help="test molecules per split and seed given added counter-ions (0 = all)")  # fmt: skip
    p.add_argument("--trivial-model", choices=("hgb", "logreg"), default="hgb")
    p.add_argument("--margin", type=float, default=0.05,
                   help="flag tasks where the trivial baseline is within this AUC of the "
                   "best deep model")  # fmt: skip
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--dataset", help="dataset name in findings.md (default: the folder name)")
    p.set_defaults(func=cmd_shortcuts)


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


# ----------------------------------------------------------------------------- writing


def _save_fig(path: Path, fig) -> None:
    import matplotlib.pyplot as plt

    from molprobe.training.checkpoint import write_atomic

    write_atomic(path, lambda p: fig.savefig(p, dpi=130, format="png"))
    plt.close(fig)


# ----------------------------------------------------------------------------- command


def cmd_shortcuts(args: argparse.Namespace) -> int:
    import pandas as pd

    from molprobe.shortcuts import analog, attribution, counterions, findings, permuted, plots
    from molprobe.shortcuts import trivial as trivial_mod

    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    ds = args.dataset_dir
    mols = _read_molecules(ds / "data" / "molecules.parquet")
    runs = load_runs(ds, len(mols), args.models, args.splits, args.seeds)
    tasks = runs[0].tasks
    Y = mols[tasks].to_numpy(dtype=np.float64)
    classification = all(r.loaded.meta.task_type == "classification" for r in runs)
    smiles = mols["smiles"].tolist()
    smiles_row = {s: i for i, s in enumerate(smiles)}
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"shortcuts: {len(runs)} models, {len(mols)} molecules, {len(tasks)} tasks")

    tables = {name: pd.DataFrame() for name in OUTPUT_TABLES}
    if classification:
        # ---- analog bias
        t0 = time.perf_counter()
        from molprobe.chem.featurize import ECFP

        cached = load_cached_features(ds, ["ecfp"])
        fp = None
        if "ecfp" in cached:
            X, spec = cached["ecfp"]
            if spec.get("radius") == 2 and X.shape[0] == len(mols):
                fp = X
        if fp is None:
            fp = ECFP(radius=2, n_bits=2048)(smiles)
        tables["similarity_bins"] = analog.similarity_table(runs, fp, smiles_row)
        timings["analog bias"] = time.perf_counter() - t0

        # ---- trivial baselines
        t0 = time.perf_counter()
        desc = trivial_mod.bulk_descriptors(smiles)
        split_rows = {(r.split, r.seed): r.rows for r in runs}
        tables["trivial_baselines"] = trivial_mod.trivial_table(
            desc, Y, tasks, split_rows, runs, args.trivial_model, args.margin
        )
        timings["trivial baselines"] = time.perf_counter() - t0

        # ---- counter-ions
        t0 = time.perf_counter()
        tables["counterions"] = counterions.counterion_table(
            runs, mols, max_molecules=args.counterion_molecules, recipe=_recipe(ds)
        )
        timings["counter-ions"] = time.perf_counter() - t0

        # ---- shuffled-label models: randomized-label control
        t0 = time.perf_counter()
        permuted_of: dict[tuple, object] = {}
        if not args.no_permuted:
            cfg = permuted.PermutedConfig(
                max_epochs=args.permuted_epochs, max_trees=args.permuted_trees,
                device=args.device, threads=args.threads,
            )  # fmt: skip
            trained_splits = sorted({r.split for r in runs})
            wanted = args.permuted_splits or (
                ["random"] if "random" in trained_splits else trained_splits[:1]
            )
            first_seed = min(r.seed for r in runs)
            names = {s["name"] for r in runs for s in r.loaded.meta.featurizers}
            feature_cache = load_cached_features(ds, names)
            rows = []
            for run in runs:
                if run.split not in wanted or run.seed != first_seed:
                    continue
                t1 = time.perf_counter()
                feats = permuted.model_inputs(run.loaded.meta, feature_cache, smiles)
                model, result = permuted.train_permuted(run, feats, Y, cfg)
                if hasattr(model.model, "to"):
                    model.model.to("cpu")
                permuted_of[run.key] = model
                rows += permuted.permuted_rows(run, model, result, feats, Y, cfg)
                print(f"  shuffled-label {run.model} {run.split} seed {run.seed}: test AUC "
                      f"{rows[-1]['roc_auc']:.3f} ({time.perf_counter() - t1:.1f} s)")  # fmt: skip
            tables["permuted_labels"] = permuted.permuted_table(rows)
        timings["randomized labels"] = time.perf_counter() - t0

        # ---- attribution (the runs that have a shuffled-label twin, else the first seed)
        t0 = time.perf_counter()
        att_tasks = args.attribution_tasks or attribution.default_tasks(
            Y, tasks, args.n_attribution_tasks
        )
        unknown = sorted(set(att_tasks) - set(tasks))
        if unknown:
            raise MolprobeError(f"--attribution-tasks: unknown task(s) {unknown}; have {tasks}")
        if permuted_of:
            items = [(r, permuted_of[r.key]) for r in runs if r.key in permuted_of]
        else:
            first_seed = min(r.seed for r in runs)
            items = [(r, None) for r in runs if r.seed == first_seed]
        tables["attribution"] = attribution.attribution_table(items, att_tasks, args.top)
        timings["attribution"] = time.perf_counter() - t0

    for name in OUTPUT_TABLES:
        write_parquet(tables[name], out / f"{name}.parquet")
    t0 = time.perf_counter()
    _save_fig(out / "similarity_bins.png", plots.plot_similarity(tables["similarity_bins"]))
    _save_fig(out / "trivial_baselines.png", plots.plot_trivial(tables["trivial_baselines"],
                                                                args.margin))  # fmt: skip
    _save_fig(out / "counterions.png", plots.plot_counterions(tables["counterions"]))
    _save_fig(out / "attribution.png", plots.plot_attribution(tables["attribution"]))
    _save_fig(out / "permuted_labels.png", plots.plot_permuted(tables["permuted_labels"]))
    timings["plots"] = time.perf_counter() - t0

    dataset = args.dataset or ds.resolve().name
    if classification:
        text = findings.findings_markdown(
            dataset, tables["similarity_bins"], tables["trivial_baselines"],
            tables["counterions"], tables["attribution"], tables["permuted_labels"],
            findings.Thresholds(trivial_margin=args.margin),
        )  # fmt: skip
    else:
        text = (f"# Shortcut audit: {dataset}\n\nThe shortcut audit covers classification "
                "tasks (ROC-AUC); this dataset's models are regression models.\n")  # fmt: skip
    from molprobe.training.checkpoint import write_atomic

    write_atomic(out / "findings.md", lambda p: p.write_text(text))
    n_flags = sum(1 for line in text.split("## Flags")[1].split("\n## ")[0].splitlines()
                  if line.startswith("- ")) if "## Flags" in text else 0  # fmt: skip
    spent = ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
    print(f"shortcuts: {n_flags} finding(s) -> {out / 'findings.md'} "
          f"({time.perf_counter() - t_start:.1f} s: {spent})")  # fmt: skip
    return 0
