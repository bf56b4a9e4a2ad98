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
from molprobe.probing.emergence import EmergenceConfig, make_targets, probe_scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument(
        "--probe",
        action="store_true",
        help="also time probing a 512-unit layer (ridge, plain + conditional + controls)",
    )
    args = ap.parse_args()
    torch.set_num_threads(1)
    mirror = Path(
        os.environ.get("MOLPROBE_MIRROR", Path(__file__).resolve().parents[2] / "shared/data")
    )
    smiles = pd.read_csv(mirror / "tox21.csv.gz")["smiles"].sample(args.n, random_state=0).tolist()
    t = time.perf_counter()
    table = compute_concepts(smiles, ConceptOptions(n_jobs=args.jobs))
    dt = time.perf_counter() - t
    print(f"concepts (jobs={args.jobs}): {args.n / dt:.0f} mol/s, {len(table.meta)} concepts")
    if args.probe:
        from molprobe.chem.featurize import ECFP

        ok = np.flatnonzero(~np.isnan(table.values).any(1))
        table = table.select(ok)
        cfg = EmergenceConfig()
        t = time.perf_counter()
        targets = make_targets(table, cfg)
        print(
            f"targets + controls ({len(targets.concepts)} concepts): {time.perf_counter() - t:.1f} s"
        )
        X = ECFP()(table.smiles).astype(np.float32)
        torch.manual_seed(0)
        W = torch.randn(X.shape[1], 512) / X.shape[1] ** 0.5
        H = torch.selu(torch.as_tensor(X) @ W).numpy()
        t = time.perf_counter()
        probe_scores({"random512": H}, targets, cfg)
        print(f"probe one 512-unit layer, {len(H)} molecules: {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
