"""Per-descriptor cost of the 217 RDKit descriptors, in one process, on the same molecules.

Times every descriptor of ``molprobe.chem.featurize.RDKitDescriptors`` (RDKit's
``Descriptors._descList``, E-state extremes sharing one computation as in the featurizer)
on the first ``--n`` parsable molecules, interleaved over ``--rounds`` rounds (each round
visits the descriptors in a new random order, so a busy machine slows all of them alike);
then times whole featurizers in the same way: the full set, the named fast set
(``descriptors_fast``) and, as the floor, RDKit parse + ECFP4.

Prints CPU µs per molecule (this thread's CPU time, robust on a shared machine; median of
rounds) per descriptor, ranked, with the cumulative cost,
and the featurizer ratios. ``--json`` writes everything.

    python benchmarks/bench_descriptors.py [--n 2000] [--rounds 3] [--top 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

from molprobe.chem.featurize import (
    FAST_DESCRIPTORS,
    RDKitDescriptors,
    descriptor_functions,
    make_featurizer,
)

RDLogger.DisableLog("rdApp.*")

DEFAULT_DATA = Path("/work/shared/data/tox21.csv.gz")


def load_smiles(path: Path, n: int) -> list[str]:
    """Canonical SMILES of the first ``n`` parsable molecules of ``path``."""
    frame = pd.read_csv(path)
    column = "smiles" if "smiles" in frame.columns else frame.columns[0]
    smiles = []
    for s in frame[column]:
        mol = Chem.MolFromSmiles(s) if isinstance(s, str) else None
        if mol is None:
            continue
        smiles.append(Chem.MolToSmiles(mol))
        if len(smiles) == n:
            break
    return smiles


def time_descriptor(fn, smiles: list[str]) -> float:
    """CPU seconds (this thread) for ``fn`` on freshly parsed molecules (parse untimed), so
    no descriptor reads a cache (charges, E-states, ring info) that another one filled."""
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    t0 = time.thread_time()
    for m in mols:
        with contextlib.suppress(Exception):  # odd molecules raise in some descriptors
            fn(m)
    return time.thread_time() - t0


def per_descriptor(smiles: list[str], rounds: int, seed: int = 0) -> pd.DataFrame:
    """CPU µs per molecule of each descriptor on its own (median and min over rounds).

    Descriptors that share a per-molecule computation in the featurizer (E-state indices,
    Gasteiger charges, Crippen contributions) each pay it here: the featurizer's cost of a set
    is measured as a whole by :func:`featurizer_times`."""
    functions = descriptor_functions()
    names = list(functions)
    times: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(seed)
    for _ in range(rounds):
        order = names[:]
        rng.shuffle(order)
        for name in order:
            times[name].append(time_descriptor(functions[name], smiles))
    rows = [
        {
            "descriptor": n,
            "us_per_mol": 1e6 * statistics.median(t) / len(smiles),
            "us_per_mol_min": 1e6 * min(t) / len(smiles),
            "fast": n in FAST_DESCRIPTORS,
        }
        for n, t in times.items()
    ]
    frame = pd.DataFrame(rows).sort_values("us_per_mol").reset_index(drop=True)
    frame["cumulative_us"] = frame["us_per_mol"].cumsum()
    return frame


def featurizer_times(smiles: list[str], rounds: int) -> dict[str, float]:
    """CPU µs per molecule (median of interleaved rounds) of whole featurizers on parsed molecules
    (``*_from_mol``) and from SMILES (parse included); the floor is parse + ECFP4."""
    full = RDKitDescriptors()
    fast = make_featurizer("descriptors_fast")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)

    def floor(mols):
        for s in smiles:
            gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s))

    tasks = {
        "floor (parse + ECFP4)": floor,
        "descriptors (217), from SMILES": lambda mols: full(smiles),
        "descriptors_fast, from SMILES": lambda mols: fast(smiles),
        "descriptors_fast, from parsed molecules": lambda mols: [
            fast.mol_features(m) for m in mols
        ],
    }
    times: dict[str, list[float]] = {k: [] for k in tasks}
    for _ in range(rounds):
        for name, fn in tasks.items():
            mols = [Chem.MolFromSmiles(s) for s in smiles]  # fresh: no cached charges
            t0 = time.thread_time()
            fn(mols)
            times[name].append(time.thread_time() - t0)
    return {k: 1e6 * statistics.median(v) / len(smiles) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="molecules")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV(.gz) with a smiles column")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    p.add_argument("--top", type=int, default=60, help="most expensive descriptors printed")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    smiles = load_smiles(args.data, args.n)
    n_atoms = np.mean([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smiles])
    print(f"{len(smiles)} molecules of {args.data.name}, {n_atoms:.1f} heavy atoms on average")
    frame = per_descriptor(smiles, args.rounds)
    total = frame["us_per_mol"].sum()
    fast = frame[frame["fast"]]
    print(f"\nall {len(frame)} descriptors: {total:.0f} µs per molecule (sum of medians)")
    print(f"descriptors_fast ({len(fast)}): {fast['us_per_mol'].sum():.0f} µs per molecule")
    print(f"\nmost expensive {args.top} (µs per molecule, median of {args.rounds} rounds):")
    for row in frame.iloc[::-1].head(args.top).itertuples():
        print(f"  {row.descriptor:28s} {row.us_per_mol:8.1f}{'  (fast set)' if row.fast else ''}")
    feats = featurizer_times(smiles, args.rounds)
    print("\nwhole featurizers (µs per molecule, median of interleaved rounds):")
    for name, us in feats.items():
        print(f"  {name:42s} {us:8.1f}")
    floor = feats["floor (parse + ECFP4)"]
    ratio = feats["descriptors (217), from SMILES"] / feats["descriptors_fast, from SMILES"]
    print(f"\nfull / fast descriptors: {ratio:.1f}x; fast set from parsed molecules / floor: "
          f"{feats['descriptors_fast, from parsed molecules'] / floor:.2f}")  # fmt: skip
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"n": len(smiles), "per_descriptor": frame.to_dict("records"), "featurizers": feats}
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
