"""Accuracy / speed benchmark: train the model families on Tox21 and print test mean ROC-AUC
and seconds per epoch (not a unit test; `make bench`).

    python benchmarks/bench_train.py                       # defaults: all families, random split, seed 0
    python benchmarks/bench_train.py --epochs 3 --models snn gine --max-molecules 2000
    python benchmarks/bench_train.py --split scaffold --seeds 0 1 2

Molecules are standardized with molprobe.chem.standardize, featurized with the molprobe
featurizers (ECFP4 2048 bits [+ RDKit descriptors with --descriptors], molecular graphs), split with molprobe.chem.splits. chemprop is compared on the workflow's own splits by
benchmarks/bench_chemprop.py (it is not a molprobe dependency).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tox21.csv.gz"
FAMILIES = ("snn", "fnn_bn", "gine", "attentivefp", "rf")


def load_tox21(path: Path, max_molecules: int | None):
    from rdkit import Chem

    from molprobe.chem.standardize import standardize_smiles

    df = pd.read_csv(path)
    tasks = [c for c in df.columns if c not in ("smiles", "mol_id")]
    keep, smiles = [], []
    seen = set()
    for i, s in enumerate(df["smiles"]):
        res = standardize_smiles(s)
        # also drop standardized SMILES that RDKit cannot re-parse (e.g. ferrocene's
        # cyclopentadienyl ring comes out as 'c1cccc1')
        if res.smiles is None or res.smiles in seen or Chem.MolFromSmiles(res.smiles) is None:
            continue
        seen.add(res.smiles)
        keep.append(i)
        smiles.append(res.smiles)
        if max_molecules and len(smiles) >= max_molecules:
            break
    Y = df.iloc[keep][tasks].to_numpy(dtype=np.float64)
    return smiles, Y, tasks


def featurize(smiles, need_graphs: bool, jobs: int, descriptors: bool = False):
    """ECFP4 (+ RDKit descriptors as extra blocks) and graphs. Returns (blocks, specs, G)."""
    from molprobe.chem.featurize import ECFP, RDKitDescriptors, featurize_parallel

    fzs = [ECFP(radius=2, n_bits=2048)] + ([RDKitDescriptors()] if descriptors else [])
    blocks = []
    for fz in fzs:
        t = time.perf_counter()
        blocks.append(featurize_parallel(fz, smiles, n_jobs=jobs))
        print(f"{fz.name}: {blocks[-1].shape} in {time.perf_counter() - t:.1f} s")
    G = None
    if need_graphs:
        from molprobe.chem.graphs import MolGraph

        t = time.perf_counter()
        G = featurize_parallel(MolGraph(), smiles, n_jobs=jobs)
        print(
            f"graphs: {len(G)} molecules, {G.x.shape[0]} atoms in {time.perf_counter() - t:.1f} s"
        )
    return blocks, [fz.spec for fz in fzs], G


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--models", nargs="+", default=list(FAMILIES))
    ap.add_argument("--split", choices=("random", "scaffold"), default="random")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--epochs", type=int, default=None, help="override the default max epochs")
    ap.add_argument("--max-molecules", type=int, default=None)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--jobs", type=int, default=1, help="featurization processes")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--descriptors", action="store_true", help="vector models get ECFP4 + RDKit descriptors"
    )
    ap.add_argument("--params", nargs="*", default=[], help="extra KEY=VALUE for every model")
    args = ap.parse_args(argv)

    import torch

    from molprobe.chem.splits import make_split
    from molprobe.cli.train import parse_params
    from molprobe.inference.predict import predict
    from molprobe.models.registry import get_spec, make_params
    from molprobe.training.loop import TRAIN_KEYS, fit, make_train_config
    from molprobe.training.metrics import evaluate

    if args.threads:
        torch.set_num_threads(args.threads)
    smiles, Y, tasks = load_tox21(args.data, args.max_molecules)
    print(
        f"Tox21: {len(smiles)} molecules, {len(tasks)} tasks, torch threads {torch.get_num_threads()}"
    )
    need_graphs = any(get_spec(m).input_kind == "graph" for m in args.models)
    blocks, specs, G = featurize(smiles, need_graphs, args.jobs, args.descriptors)
    from molprobe.training.data import assemble_vectors

    extra = parse_params(args.params)

    rows = []
    for seed in args.seeds:
        split = make_split(args.split, smiles, (0.8, 0.1, 0.1), seed)
        X, _ = assemble_vectors(blocks, specs, None, split.train)  # descriptors scaled on train
        for name in args.models:
            spec = get_spec(name)
            feats = G if spec.input_kind == "graph" else X
            model_keys = set(spec.params_cls.__dataclass_fields__)
            over = {"seed": seed, "device": args.device}
            if args.epochs:
                over["epochs"] = args.epochs
            over.update({k: v for k, v in extra.items() if k in TRAIN_KEYS})
            params = make_params(name, {k: v for k, v in extra.items() if k in model_keys})
            config = make_train_config(name, over)
            t = time.perf_counter()
            model, result = fit(name, params, feats, Y, split, "classification", config)
            pred = predict(model, feats, split.test)
            ev = evaluate(Y[split.test], pred, tasks, n_bootstrap=200, seed=seed)
            rows.append(
                {
                    "model": name,
                    "split": args.split,
                    "seed": seed,
                    "test_auc": ev.mean["roc_auc"],
                    "ci_low": ev.mean_ci_low["roc_auc"],
                    "ci_high": ev.mean_ci_high["roc_auc"],
                    "val_auc": result.best_val_metric,
                    "epochs": len(result.history),
                    "best_epoch": result.best_epoch,
                    "s_per_epoch": result.seconds_per_epoch,
                    "total_s": time.perf_counter() - t,
                    "device": result.device,
                }
            )
            r = rows[-1]
            print(
                f"{name:>12} seed {seed}: test AUC {r['test_auc']:.3f} [{r['ci_low']:.3f}, "
                f"{r['ci_high']:.3f}] val {r['val_auc']:.3f} | {r['epochs']} epochs "
                f"(best {r['best_epoch']}), {r['s_per_epoch']:.1f} s/epoch on {r['device']}",
                flush=True,
            )
    table = pd.DataFrame(rows)
    if len(args.seeds) > 1:
        print(table.groupby("model")["test_auc"].agg(["mean", "std", "count"]).round(3))
    print(table.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
