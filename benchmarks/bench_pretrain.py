"""Pretraining ablation (not a unit test): GINE fine-tuned from a descriptor-pretrained
encoder against GINE from scratch, same settings, on the workflow's own splits.

    python benchmarks/bench_pretrain.py --results results/tox21 \\
        --structures data/raw/muv.csv.gz data/raw/hiv.csv.gz --seeds 0 1 2

Pretraining reads structures only (``read_structures`` drops every label column) and skips
the Tox21 structures themselves, so the encoder has never seen a fine-tuning molecule's
descriptors either. Both arms read the graph alone (no descriptor side channel) and stop
early on validation; the test mean ROC-AUC is read once per run. Writes one CSV row per
method x seed x arm (valid and test mean ROC-AUC, seconds) and prints the paired differences.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from molprobe.chem.graphs import MolGraph
from molprobe.inference.predict import predict
from molprobe.training.data import Split
from molprobe.training.loop import fit, make_train_config
from molprobe.training.metrics import evaluate
from molprobe.training.pretrain import PretrainConfig, pretrain_encoder, read_structures
from molprobe.training.tables import read_labelled_molecules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results/tox21"))
    ap.add_argument("--structures", type=Path, nargs="+", required=True)
    ap.add_argument("--max-structures", type=int, default=0, help="0 = all")
    ap.add_argument("--methods", nargs="+", default=["random", "scaffold"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--params", default='{"n_layers": 4, "width": 192}', help="GINE (JSON)")
    ap.add_argument("--pretrain-epochs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", type=Path, default=Path("benchmarks/out/pretrain.csv"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    gine = json.loads(args.params)

    mols, tasks = read_labelled_molecules(args.results / "data" / "molecules.parquet")
    structures = read_structures(args.structures, exclude=set(mols["smiles"]))
    if args.max_structures:
        structures = structures.sample(n=min(args.max_structures, len(structures)), random_state=0)
    t0 = time.perf_counter()
    pre = pretrain_encoder(
        structures["smiles"].tolist(),
        PretrainConfig(params={**gine, "epochs": args.pretrain_epochs, "lr_schedule": "cosine"},
                       device=args.device, threads=args.threads),
    )  # fmt: skip
    pre_seconds = time.perf_counter() - t0
    print(f"pretrained on {pre.n_molecules} structures, {len(pre.descriptors)} descriptors: "
          f"held-out RMSE {pre.best_rmse:.3f} (mean predictor {pre.baseline_rmse:.3f}), "
          f"{pre_seconds:.0f} s")  # fmt: skip

    graphs = MolGraph()(mols["smiles"].tolist())
    Y = mols[tasks].to_numpy(dtype=np.float64)
    rows = []
    for method in args.methods:
        for seed in args.seeds:
            split = Split.from_dict(
                json.loads((args.results / "splits" / method / f"seed{seed}.json").read_text()),
                len(mols),
            )
            for arm, init in (("scratch", None), ("pretrained", pre.encoder)):
                cfg = make_train_config("gine", {"epochs": args.epochs, "lr_schedule": "cosine",
                                                 "device": args.device, "seed": seed})  # fmt: skip
                model, res = fit("gine", gine, graphs, Y, split, "classification", cfg, init)
                valid = evaluate(Y[split.valid], predict(model, graphs, split.valid),
                                 tasks, "classification", 0).primary  # fmt: skip
                test = evaluate(Y[split.test], predict(model, graphs, split.test),
                                tasks, "classification", 0).primary  # fmt: skip
                rows.append({"method": method, "seed": seed, "arm": arm, "valid": valid,
                             "test": test, "best_epoch": res.best_epoch,
                             "seconds": res.seconds})  # fmt: skip
                print(rows[-1])
    table = pd.DataFrame(rows).assign(
        n_structures=pre.n_molecules, pretrain_rmse=pre.best_rmse, pretrain_seconds=pre_seconds
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output, index=False)
    wide = table.pivot_table(index=["method", "seed"], columns="arm", values=["valid", "test"])
    for part in ("valid", "test"):
        diff = wide[(part, "pretrained")] - wide[(part, "scratch")]
        print(f"{part}: pretrained - scratch per method x seed:\n{diff.round(4).to_string()}")


if __name__ == "__main__":
    main()
