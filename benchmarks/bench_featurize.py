"""Featurization speed, in one process, on the same valid molecules.

Times (molecules per second, median of interleaved rounds):

  floor       plain RDKit: MolFromSmiles + Morgan bit fingerprint (rdFingerprintGenerator) to numpy
  ecfp        molprobe ECFP featurizer from SMILES (parse included)
  from_smiles torch_geometric.utils.from_smiles, one Data per molecule
  graph       molprobe MolGraph featurizer -> GraphStore
  standardize molprobe.chem.standardize.standardize_smiles, default recipe, on the raw input
  ecfp x2 / graph x2   the same featurizers with featurize_parallel(n_jobs=2), pool start included

and prints the ratios (of medians) ecfp/floor (goal >= 0.8), graph/from_smiles (goal >= 2), 2-proc/1-proc.

    .venv/bin/python benchmarks/bench_featurize.py [--n 2000] [--data /work/shared/data/tox21.csv.gz]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

RDLogger.DisableLog("rdApp.*")

DEFAULT_DATA = Path("/work/shared/data/tox21.csv.gz")


def load_smiles(path: Path, n: int) -> tuple[list[str], list[str]]:
    """First ``n`` parsable SMILES of the file: (raw input, RDKit canonical)."""
    frame = pd.read_csv(path)
    column = "smiles" if "smiles" in frame.columns else frame.columns[0]
    raw, canon = [], []
    for s in frame[column]:
        mol = Chem.MolFromSmiles(s) if isinstance(s, str) else None
        if mol is None:
            continue
        raw.append(s)
        canon.append(Chem.MolToSmiles(mol))
        if len(raw) == n:
            break
    return raw, canon


def build_tasks(raw: list[str], canon: list[str], jobs: int) -> dict[str, Callable[[], object]]:
    from torch_geometric.utils import from_smiles

    from molprobe.chem.featurize import ECFP, featurize_parallel
    from molprobe.chem.graphs import MolGraph

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    ecfp = ECFP(radius=2, n_bits=2048)
    graph = MolGraph()

    def floor():
        return np.array([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in canon])

    tasks: dict[str, Callable[[], object]] = {
        "floor": floor,
        "ecfp": lambda: ecfp(canon),
        "from_smiles": lambda: [from_smiles(s) for s in canon],
        "graph": lambda: graph(canon),
    }
    try:
        from molprobe.chem.standardize import standardize_smiles
    except ImportError as err:
        print(f"standardize: skipped ({err})")
    else:
        tasks["standardize"] = lambda: [standardize_smiles(s) for s in raw]
    chunk = max(1, len(canon) // (2 * jobs))
    tasks[f"ecfp x{jobs}"] = lambda: featurize_parallel(ecfp, canon, n_jobs=jobs, chunk_size=chunk)
    tasks[f"graph x{jobs}"] = lambda: featurize_parallel(
        graph, canon, n_jobs=jobs, chunk_size=chunk
    )
    return tasks


def run(tasks: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds per task per round; tasks interleaved within each round (one warm-up first)."""
    for fn in tasks.values():  # warm-up: imports, caches, first fork
        fn()
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(rounds):
        for name, fn in tasks.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="molecules (default 2000)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV(.gz), smiles column")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the parallel runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    raw, canon = load_smiles(args.data, args.n)
    n = len(canon)
    n_atoms = sum(Chem.MolFromSmiles(s).GetNumAtoms() for s in canon)
    print(f"{n} valid molecules from {args.data} ({n_atoms / n:.1f} heavy atoms on average)")
    tasks = build_tasks(raw, canon, args.jobs)
    times = run(tasks, args.rounds)
    rate = {name: n / statistics.median(ts) for name, ts in times.items()}

    best = {name: n / min(ts) for name, ts in times.items()}
    print(f"\n{'task':<14}{'mol/s':>9}{'best mol/s':>12}  rounds (s)")
    for name, ts in times.items():
        rounds = " ".join(f"{t:.3f}" for t in ts)
        print(f"{name:<14}{rate[name]:>9.0f}{best[name]:>12.0f}  {rounds}")

    ratios = {
        "ecfp / floor (goal >= 0.8)": rate["ecfp"] / rate["floor"],
        "graph / from_smiles (goal >= 2)": rate["graph"] / rate["from_smiles"],
        f"ecfp x{args.jobs} / ecfp": rate[f"ecfp x{args.jobs}"] / rate["ecfp"],
        f"graph x{args.jobs} / graph": rate[f"graph x{args.jobs}"] / rate["graph"],
    }
    print()
    for name, value in ratios.items():
        print(f"{name:<34}{value:6.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"n": n, "data": str(args.data), "mol_per_s": rate, "best": best, "ratios": ratios},
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
