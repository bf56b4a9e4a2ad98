"""CLI: `molprobe fetch` (dataset from mirror or URL) and `molprobe split` (random/scaffold)."""

from __future__ import annotations

import os

import pandas as pd

from molprobe.chem.splits import METHODS, make_split
from molprobe.datasets import MIRROR_ENV, DatasetSpec, fetch_dataset
from molprobe.errors import MolprobeError
from molprobe.fileio import write_json


def register(sub) -> None:
    p = sub.add_parser("fetch", help="copy a dataset from $MOLPROBE_MIRROR or download it")
    p.add_argument("name", help="dataset name, e.g. tox21 (mirror file <name>.csv.gz)")
    p.add_argument("--url", required=True, help="public download address")
    p.add_argument("--output", required=True, help="destination .csv.gz")
    p.add_argument(
        "--mirror", default=None, help=f"local mirror directory (default: ${MIRROR_ENV})"
    )
    p.add_argument("--max-rows", type=int, default=None, help="keep only the first N data rows")
    p.add_argument(
        "--rename",
        nargs="*",
        default=[],
        metavar="SOURCE=OURS",
        help="rename columns of the downloaded file to the mirror layout",
    )
    p.set_defaults(func=run_fetch)

    p = sub.add_parser("split", help="split a molecule table into train/valid/test")
    p.add_argument("molecules", help="molecules.parquet from `molprobe standardize`")
    p.add_argument("--method", choices=METHODS, default="scaffold")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fractions", type=float, nargs=3, default=(0.8, 0.1, 0.1))
    p.add_argument("--output", required=True, help="split JSON (row positions)")
    p.set_defaults(func=run_split)


def run_fetch(args) -> int:
    mirror = args.mirror if args.mirror is not None else os.environ.get(MIRROR_ENV)
    rename = {}
    for item in args.rename:
        source, sep, ours = item.partition("=")
        if not sep:
            raise MolprobeError(f"--rename expects SOURCE=OURS, got {item!r}")
        rename[source] = ours
    spec = DatasetSpec(name=args.name, url=args.url, rename=rename)
    result = fetch_dataset(spec, args.output, mirror=mirror, max_rows=args.max_rows)
    print(
        f"{args.name}: {result.n_rows} rows from {result.source} ({result.location}) -> {args.output}"
    )
    print(f"{args.name} columns: {spec.columns(args.output).line()}")
    return 0


def run_split(args) -> int:
    try:
        smiles = pd.read_parquet(args.molecules, columns=["smiles"])["smiles"].tolist()
    except (OSError, KeyError, ValueError) as err:
        raise MolprobeError(f"{args.molecules}: cannot read the smiles column ({err})") from err
    split = make_split(args.method, smiles, args.fractions, args.seed)
    write_json(args.output, split.to_dict())
    sizes = split.to_dict()["sizes"]
    print(
        f"{args.method} split, seed {args.seed}: " + ", ".join(f"{k}={v}" for k, v in sizes.items())
    )
    return 0
