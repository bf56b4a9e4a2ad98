"""CLI: ``molprobe pretrain``: a graph net pretrained to predict RDKit descriptors of
unlabeled structures (SMILES only; every other column of the files is dropped as read), its
encoder written for fine-tuning."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from molprobe.errors import InputError
from molprobe.fileio import write_atomic, write_json


def register(sub) -> None:
    """Add ``pretrain`` to the `molprobe` parser."""
    p = sub.add_parser(
        "pretrain",
        help="pretrain a graph encoder on descriptors of unlabeled structures",
        description="Read the SMILES of the structure files (nothing else), drop those of the "
        "--exclude molecule tables, train the model to regress their standardized RDKit "
        "descriptors; write model.pt (the encoder without its head), meta.json, history.csv.",
    )
    p.add_argument("--structures", type=Path, nargs="+", required=True,
                   help="molecule files (csv/tsv/smi/sdf, .gz): only their SMILES are read")  # fmt: skip
    p.add_argument("--exclude", type=Path, nargs="*", default=[],
                   help="molecules.parquet whose structures are left out (the fine-tuning set)")  # fmt: skip
    p.add_argument("--model", default="gine", help="graph family (default gine)")
    p.add_argument("--params", nargs="+", default=[], metavar="JSON|KEY=VALUE",
                   help="hyperparameters (as the fine-tuned model's) and training settings")  # fmt: skip
    p.add_argument("--descriptors", nargs="+", default=None,
                   help="RDKit descriptor names (default: all 2D descriptors)")  # fmt: skip
    p.add_argument("--max-structures", type=int, default=0, help="seeded sample (0 = all)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--device", default=None, help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for model.pt")
    p.set_defaults(func=cmd_pretrain)


def _smiles_of(path: Path) -> set[str]:
    try:
        return set(pd.read_parquet(path, columns=["smiles"])["smiles"].astype(str))
    except (OSError, KeyError, ValueError) as err:
        raise InputError(path, f"cannot read its smiles column ({err})") from None


def cmd_pretrain(args: argparse.Namespace) -> int:
    import time

    import torch

    from molprobe.cli.train import parse_params
    from molprobe.training.pretrain import PretrainConfig, pretrain_on_files

    exclude = set().union(*(_smiles_of(p) for p in args.exclude)) if args.exclude else set()
    config = PretrainConfig(model=args.model, params=parse_params(args.params),
                            descriptors=args.descriptors, seed=args.seed, device=args.device,
                            threads=args.threads)  # fmt: skip
    t0 = time.perf_counter()
    res = pretrain_on_files(args.structures, config, exclude, args.max_structures)
    seconds = time.perf_counter() - t0
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "model.pt", lambda p: torch.save(res.encoder, p))
    write_atomic(out / "history.csv", lambda p: res.history.to_csv(p, index=False))
    meta = {"model": args.model, "params": json.loads(json.dumps(dict(config.params))),
            "descriptors": res.descriptors, "n_molecules": res.n_molecules,
            "n_excluded": len(exclude), "sources": [Path(s).name for s in args.structures],
            "best_rmse": res.best_rmse, "baseline_rmse": res.baseline_rmse,
            "seed": args.seed, "seconds": seconds}  # fmt: skip
    write_json(out / "meta.json", meta)
    print(f"pretrained {args.model} on {res.n_molecules} structures, {len(res.descriptors)} "
          f"descriptors: held-out RMSE {res.best_rmse:.3f} (mean predictor "
          f"{res.baseline_rmse:.3f}), {seconds:.0f} s -> {out}")  # fmt: skip
    return 0
