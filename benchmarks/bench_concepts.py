"""Speed of concept labelling (molecules/s) and of probing one layer, on a Tox21 sample.

Run: .venv/bin/python benchmarks/bench_concepts.py [--n 500] [--jobs 1] [--probe]
Needs the dataset mirror ($MOLPROBE_MIRROR or ../shared/data/tox21.csv.gz).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from molprobe.chem.concepts import ConceptOptions, compute_concepts
from molprobe.probing.probes import ProbeConfig, make_probe_data, probe_model_layers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--probe", action="store_true", help="also time probing a 512-unit layer")
    args = ap.parse_args()
    torch.set_num_threads(1)
    mirror = Path(
        os.environ.get("MOLPROBE_MIRROR", Path(__file__).resolve().parents[2] / "shared/data")
    )
    smiles = pd.read_csv(mirror / "tox21.csv.gz")["smiles"].sample(args.n, random_state=0).tolist()
    for pharm2d in (False, True):
        t = time.perf_counter()
        table = compute_concepts(smiles, ConceptOptions(pharm2d=pharm2d, n_jobs=args.jobs))
        dt = time.perf_counter() - t
        print(f"concepts (pharm2d={pharm2d}, jobs={args.jobs}): {args.n / dt:.0f} mol/s, "
              f"{len(table.meta)} concepts")  # fmt: skip
    if args.probe:
        from molprobe.chem.featurize import ECFP

        ok = np.flatnonzero(~np.isnan(table.values[:, 0]))
        table = table.select(ok)
        cfg = ProbeConfig()
        t = time.perf_counter()
        data = make_probe_data(table, cfg)
        print(f"probe data ({data.labels.shape[1]} concepts): {time.perf_counter() - t:.1f} s")
        X = ECFP()(table.smiles).astype(np.float32)
        torch.manual_seed(0)
        W = torch.randn(X.shape[1], 512) / X.shape[1] ** 0.5
        H = torch.selu(torch.as_tensor(X) @ W).numpy()
        t = time.perf_counter()
        probe_model_layers({"random512": H}, data, cfg)
        print(f"probe one 512-unit layer, {len(H)} molecules: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
