"""CLI: `molprobe featurize` — featurize the molecule table and cache the features.

``molprobe featurize MOLECULES.parquet --featurizer ecfp|descriptors[_fast]|graph|tokens
[--param key=value ...] --output PATH [--workers N]`` reads the ``smiles`` column, writes
features aligned row by row with the table (``.npz`` for vectors and tokens, a GraphStore
``.pt`` for graphs) together with the featurizer spec, atomically, and prints molecules/s.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from molprobe.cli.options import add_workers


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
    _add_featurize(sub)


def _add_featurize(sub) -> None:
    p = sub.add_parser(
        "featurize",
        help="compute features (ECFP, descriptors, graphs, SMILES tokens) for a molecule table",
        description=(
            "Featurize the standardized SMILES of molecules.parquet and write the features with "
            "their featurizer spec (features/<featurizer>.npz, or graphs.pt for graphs). "
            "Rows stay aligned with the table. Prints molecules/s."
        ),
    )
    p.add_argument("input", type=Path, help="molecules.parquet (from `molprobe standardize`)")
    p.add_argument(
        "--featurizer",
        "-f",
        required=True,
        choices=(
            "ecfp",
            "descriptors",
            "descriptors_fast",
            "graph",
            "tokens",
            "ecfp_counts",
            "fp_counts",
        ),
        help="which featurizer",
    )
    p.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="featurizer parameter, repeatable; values are YAML (e.g. radius=3 n_bits=1024 "
        "counts=true); ecfp: radius n_bits counts chirality; ecfp_counts: radius "
        "n_bits chirality; fp_counts: kind (atompair|torsion) n_bits; tokens: max_len vocab",
    )
    p.add_argument("--output", "-o", type=Path, required=True, help="feature file to write")
    p.add_argument("--smiles-column", default="smiles", help="SMILES column (default: smiles)")
    add_workers(p, help="worker processes (0 = all cores)")
    p.add_argument("--chunk-size", type=int, default=1000, help="molecules per worker task")
    p.set_defaults(func=_run_featurize)


def parse_params(items: list[str]) -> dict:
    """``["radius=3", "counts=true"]`` -> ``{"radius": 3, "counts": True}`` (values parsed as YAML)."""
    import yaml

    from molprobe.errors import MolprobeError

    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MolprobeError(f"--param {item!r}: expected KEY=VALUE")
        if key == "name":
            raise MolprobeError("--param name=...: use --featurizer to choose the featurizer")
        try:
            params[key] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            params[key] = value
    return params


def _read_smiles(path: Path, column: str) -> list[str]:
    import pandas as pd

    from molprobe.errors import InputError

    if not path.exists():
        raise InputError(path, "file not found")
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    except Exception as err:
        raise InputError(path, f"not a readable Parquet file ({err})") from None
    if column not in names:
        raise InputError(path, f"no column {column!r} (columns: {', '.join(names)})")
    smiles = pd.read_parquet(path, columns=[column])[column]
    bad = smiles.isna() | ~smiles.map(lambda s: isinstance(s, str))
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(path, f"missing SMILES in column {column!r}", row=row)
    return smiles.tolist()


def _run_featurize(args: argparse.Namespace) -> int:
    from molprobe.chem.featurize import featurize_parallel, make_featurizer, save_features

    spec = {"name": args.featurizer, **parse_params(args.param)}
    featurizer = make_featurizer(spec)
    smiles = _read_smiles(args.input, args.smiles_column)
    if args.featurizer == "tokens" and featurizer.vocab is None:
        # vocabulary and max_len from the whole table (unsupervised; no labels involved)
        featurizer.fit(smiles)
    t0 = time.perf_counter()
    features = featurize_parallel(
        featurizer, smiles, n_jobs=args.workers, chunk_size=args.chunk_size
    )
    seconds = time.perf_counter() - t0
    save_features(args.output, features, featurizer.spec)
    rate = len(smiles) / seconds if seconds > 0 else float("inf")
    shape = (
        f"{features.x.shape[0]} atoms, {features.edge_index.shape[1]} edges"
        if hasattr(features, "edge_index")
        else "x".join(map(str, features.shape))
    )
    print(
        f"featurized {len(smiles)} molecules with {args.featurizer} ({shape}) in "
        f"{seconds:.1f} s: {rate:.0f} molecules/s, {args.workers} worker(s) -> {args.output}"
    )
    return 0
