"""Validation search for the fast screening families (issue 19 item 1, issue 20 item 3).

Trains ``snn_fast`` / ``fnn_bn_fast`` configurations (inputs and hyperparameters) on the
workflow's Tox21 splits with :func:`molprobe.training.run.train_run`, one torch thread, and
appends one row per (config, split, seed) to ``--output`` (CSV; rows already there are
skipped, so an interrupted search resumes). Every feature block is computed once from the
molecule table and cached in ``--cache`` (``<block>.npz``), with its featurization cost in
CPU µs per molecule (this thread's CPU time over the whole table, SMILES to array).

The rows hold the **validation** mean ROC-AUC only; ``--read-test`` adds the test mean and is
meant for the single, final read of the chosen configuration.

    python scripts/search_fast_models.py --configs base counts ... --splits scaffold:0 random:0 \
        --output search.csv [--read-test]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from molprobe.chem.featurize import FAST_DESCRIPTORS, make_featurizer, save_features
from molprobe.training.run import TrainRunConfig, read_split, train_run

ECFP_BITS = {"name": "ecfp", "radius": 2, "n_bits": 2048, "counts": False, "chirality": False}
ECFP_COUNTS = {**ECFP_BITS, "counts": True}
FAST = {"name": "descriptors", "names": list(FAST_DESCRIPTORS)}

#: feature blocks by name: featurizer specs (``make_featurizer``)
BLOCKS: dict[str, dict] = {
    "ecfp_bits": ECFP_BITS,
    "ecfp_counts": ECFP_COUNTS,
    "ecfp6_counts": {**ECFP_COUNTS, "radius": 3},
    "ecfp_counts4096": {**ECFP_COUNTS, "n_bits": 4096},
    "fast": FAST,
    # cheap additions (RDKit C++ calls, ~5-60 µs each on a parsed molecule)
    "fast_cheap": {
        "name": "descriptors",
        "names": [*FAST_DESCRIPTORS, "Kappa2", "Kappa3", "NumHAcceptors", "NumValenceElectrons"],
    },
    # Crippen logP / MR (~0.23 ms each through RDKit's Python descriptors)
    "fast_crippen": {"name": "descriptors", "names": [*FAST_DESCRIPTORS, "MolLogP", "MolMR"]},
    "atompair_counts": {"name": "fp_counts", "kind": "atompair", "n_bits": 2048},
    "torsion_counts": {"name": "fp_counts", "kind": "torsion", "n_bits": 2048},
}

#: configurations: family, feature blocks, params (hyperparameters and training settings)
CONFIGS: dict[str, dict] = {
    # inputs, fnn_bn_fast at its defaults (epochs 30 as in config/config.yaml)
    "fnn_base": {"model": "fnn_bn_fast", "blocks": ["ecfp_bits", "fast"], "params": {}},
    "fnn_counts": {"model": "fnn_bn_fast", "blocks": ["ecfp_counts", "fast"], "params": {}},
    "fnn_counts_r3": {"model": "fnn_bn_fast", "blocks": ["ecfp6_counts", "fast"], "params": {}},
    "fnn_counts_4096": {"model": "fnn_bn_fast", "blocks": ["ecfp_counts4096", "fast"], "params": {}},
    "fnn_counts_cheap": {"model": "fnn_bn_fast", "blocks": ["ecfp_counts", "fast_cheap"], "params": {}},
    "fnn_counts_crippen": {"model": "fnn_bn_fast", "blocks": ["ecfp_counts", "fast_crippen"], "params": {}},
    "fnn_counts_ap_tt": {
        "model": "fnn_bn_fast",
        "blocks": ["ecfp_counts", "atompair_counts", "torsion_counts", "fast"],
        "params": {},
    },
    "snn_base": {"model": "snn_fast", "blocks": ["ecfp_bits", "fast"], "params": {}},
    "snn_counts": {"model": "snn_fast", "blocks": ["ecfp_counts", "fast"], "params": {}},
}  # fmt: skip


def add_grid(family: str, prefix: str, blocks: list[str]) -> None:
    """Hyperparameter grid of one family on one input (registered as ``<prefix>_<key>``)."""
    grid = {
        "d3": {"dropout": 0.3},
        "d5": {"dropout": 0.5},
        "wd4": {"weight_decay": 1e-4},
        "w1024": {"width": 1024},
        "l2": {"n_layers": 2},
        "lr_hi": {"lr": 1e-3 if family == "snn_fast" else 3e-3},
        "lr_lo": {"lr": 3e-5 if family == "snn_fast" else 3e-4},
        "d3_wd4": {"dropout": 0.3, "weight_decay": 1e-4},
    }
    for key, params in grid.items():
        CONFIGS[f"{prefix}_{key}"] = {"model": family, "blocks": blocks, "params": params}


# more ensemble members: the same config from other initialisations on the same split
for _family, _prefix in (("fnn_bn_fast", "fnn_base"), ("snn_fast", "snn_base")):
    for _m in (1, 2):
        CONFIGS[f"{_prefix}_m{_m}"] = {
            "model": _family, "blocks": ["ecfp_bits", "fast"], "params": {}, "model_seed": 100 + _m
        }  # fmt: skip

add_grid("fnn_bn_fast", "fnn_counts", ["ecfp_counts", "fast"])
add_grid("snn_fast", "snn_counts", ["ecfp_counts", "fast"])
add_grid("fnn_bn_fast", "fnn_base", ["ecfp_bits", "fast"])
add_grid("snn_fast", "snn_base", ["ecfp_bits", "fast"])


def block_file(cache: Path, name: str, smiles: list[str], costs: dict) -> Path:
    """The cached feature file of block ``name`` (computed and timed on first use)."""
    path = cache / f"{name}.npz"
    cost_path = cache / f"{name}.cost.json"
    if not path.exists():
        featurizer = make_featurizer(BLOCKS[name])
        start = time.thread_time()
        X = featurizer(smiles)
        seconds = time.thread_time() - start
        save_features(path, X, featurizer.spec)
        cost_path.write_text(json.dumps({"us_per_molecule": 1e6 * seconds / len(smiles)}))
    costs[name] = json.loads(cost_path.read_text())["us_per_molecule"]
    return path


def ensemble_table(pred_dir: Path, configs: list[str], read_test: bool) -> pd.DataFrame:
    """Mean ROC-AUC of the mean of ``configs``' predictions per split and seed found for all
    of them: equal weights, and weights chosen on validation
    (:func:`molprobe.training.compare.validation_weights`, as ``ensemble_valw``); validation
    always, test with ``read_test``."""
    from molprobe.training.compare import validation_weights
    from molprobe.training.metrics import primary_metric

    rows = []
    parts = ["valid", "test"] if read_test else ["valid"]
    for seed_dir in sorted((pred_dir / configs[0]).glob("*/seed*")):
        method, seed = seed_dir.parent.name, seed_dir.name
        if not all(
            (pred_dir / c / method / seed / f"{p}.parquet").exists() for c in configs for p in parts
        ):
            continue
        row: dict = {"split": method, "seed": seed}
        stacks = {}
        for part in parts:
            frames = [pd.read_parquet(pred_dir / c / method / seed / f"{part}.parquet")
                      for c in configs]  # fmt: skip
            tasks = [c[: -len("_true")] for c in frames[0].columns if c.endswith("_true")]
            truth = frames[0][[f"{t}_true" for t in tasks]].to_numpy(float)
            stacks[part] = (np.stack([f[tasks].to_numpy(float) for f in frames]), truth)
        weights, _, _ = validation_weights(*stacks["valid"])
        row["valw"] = " ".join(f"{w:.1f}" for w in weights)
        for part, (P, truth) in stacks.items():
            row[f"{part}_equal"] = round(primary_metric(truth, P.mean(axis=0), "classification"), 4)
            weighted = np.tensordot(weights, P, axes=1)
            row[f"{part}_valw"] = round(primary_metric(truth, weighted, "classification"), 4)
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--molecules", type=Path, default=Path("results/tox21/data/molecules.parquet"))
    ap.add_argument("--splits-dir", type=Path, default=Path("results/tox21/splits"))
    ap.add_argument("--cache", type=Path, default=Path("results/tox21/features_search"))
    ap.add_argument("--configs", nargs="+", required=True, choices=sorted(CONFIGS))
    ap.add_argument("--splits", nargs="+", default=["scaffold:0", "random:0"],
                    help="METHOD:SEED pairs")  # fmt: skip
    ap.add_argument("--output", type=Path, required=True)
    ap.add_argument(
        "--read-test", action="store_true", help="also record the test mean (final read)"
    )
    ap.add_argument(
        "--predictions",
        type=Path,
        default=None,
        help="write each run's valid (and with --read-test, test) predictions here",
    )
    ap.add_argument(
        "--ensemble",
        nargs="+",
        default=None,
        metavar="CONFIG",
        help="only score the mean of these configs' saved predictions per split",
    )
    args = ap.parse_args()
    if args.ensemble:
        print(ensemble_table(args.predictions, args.ensemble, args.read_test).to_string())
        return
    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)
    mols = pd.read_parquet(args.molecules)
    tasks = [c for c in mols.columns if c not in ("mol_id", "input_smiles", "smiles")]
    smiles = mols["smiles"].tolist()
    done = set()
    if args.output.exists():
        done = {(r["config"], r["split"], r["seed"]) for r in csv.DictReader(args.output.open())}
    for name in args.configs:
        cfg = CONFIGS[name]
        costs: dict[str, float] = {}
        paths = [block_file(args.cache, b, smiles, costs) for b in cfg["blocks"]]
        for item in args.splits:
            method, seed = item.split(":")
            if (name, method, seed) in done:
                continue
            split_path = args.splits_dir / method / f"seed{seed}.json"
            split_json, _ = read_split(split_path, len(mols))
            config = TrainRunConfig(model=cfg["model"], params={"epochs": 30, **cfg["params"]},
                                    seed=cfg.get("model_seed", int(seed)), threads=1, device="cpu", bootstrap=0)  # fmt: skip
            start = time.time()
            run = train_run(mols, tasks, split_json, {"name": method, "path": str(split_path)},
                            paths, config)  # fmt: skip
            m = run.metrics
            row = {
                "config": name,
                "model": cfg["model"],
                "blocks": "+".join(cfg["blocks"]),
                "params": json.dumps(cfg["params"], sort_keys=True),
                "split": method,
                "seed": seed,
                "valid_roc_auc": round(m["valid"]["mean"]["roc_auc"], 4),
                "best_epoch": m.get("best_epoch"),
                "epochs_run": m["epochs_run"],
                "train_s": round(time.time() - start, 1),
                "featurize_us": round(sum(costs.values()), 1),
            }
            if args.read_test:
                row["test_roc_auc"] = round(m["test"]["mean"]["roc_auc"], 4)
            if args.predictions is not None:
                out = args.predictions / name / method / f"seed{seed}"
                out.mkdir(parents=True, exist_ok=True)
                run.valid_predictions.to_parquet(out / "valid.parquet")
                if args.read_test:
                    run.predictions.to_parquet(out / "test.parquet")
            new = not args.output.exists()
            with args.output.open("a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(row))
                if new:
                    writer.writeheader()
                writer.writerow(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
