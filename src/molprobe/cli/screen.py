"""CLI: `molprobe screen` — rank a compound library of any size with trained models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from molprobe.chem.io import ID_COLUMN_CANDIDATES, count_rows, identifier_column
from molprobe.cli.options import add_output_dir
from molprobe.errors import MolprobeError
from molprobe.screening.domain import DEFAULT_THRESHOLD
from molprobe.screening.ensemble import EnsembleLoader, find_model_dirs
from molprobe.screening.screen import (
    ScreenSettings,
    model_fingerprint,
    rejected_path,
    screen_library,
    top_paths,
)

SCREEN_DEFAULTS = ScreenSettings()  # the CLI's defaults are the library's


def register(sub) -> None:
    p = sub.add_parser(
        "screen",
        help="score a compound library with an ensemble of trained models",
        description=(
            "Stream LIBRARY (CSV/TSV/SMILES/SDF, optionally .gz) in chunks, standardize each "
            "molecule with the models' recipe, score it with every model found under --models "
            "(mean and spread), flag the applicability domain and structural alerts. Finished "
            "chunks are kept under OUTPUT.parts/ so an interrupted run resumes."
        ),
    )
    p.add_argument(
        "--models",
        nargs="+",
        required=True,
        metavar="PATH",
        help="model directories, or folders above them (searched recursively)",
    )
    p.add_argument("--input", required=True, metavar="LIBRARY", help="library file")
    p.add_argument("--output", required=True, help="hits table (.parquet), input order")
    p.add_argument(
        "--top",
        type=int,
        default=SCREEN_DEFAULTS.top,
        help="ranked top-N hits written to OUTPUT.top.csv / .top.sdf (default %(default)s)",
    )
    p.add_argument(
        "--rank-by", default=None, metavar="TASK", help="task to rank by (default: mean over tasks)"
    )
    p.add_argument("--chunk-size", type=int, default=SCREEN_DEFAULTS.chunk_size,
                   help="input rows per chunk (default %(default)s)")  # fmt: skip
    p.add_argument("--workers", type=int, default=SCREEN_DEFAULTS.workers,
                   help="worker processes (one per core)")  # fmt: skip
    p.add_argument("--smiles-column", default=None, help="SMILES column (CSV/TSV)")
    p.add_argument(
        "--id-column",
        default=None,
        help=f"identifier column (default: first of {', '.join(ID_COLUMN_CANDIDATES)})",
    )
    p.add_argument(
        "--ad-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="max Tanimoto (ECFP4) to the training set for in_domain (default %(default)s)",
    )
    p.add_argument("--device", default="auto",
                   help="where the models run: auto (CUDA when present; default), cuda or cpu")  # fmt: skip
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    p.add_argument(
        "--row-offset",
        type=int,
        default=0,
        help="number of the first row (when LIBRARY is one chunk of a larger file)",
    )
    p.set_defaults(func=cmd_screen)

    c = sub.add_parser("split-library", help="cut a library into chunk files (cluster jobs)")
    c.add_argument("library", type=Path)
    c.add_argument("--chunk-size", type=int, default=50_000, help="records per chunk")
    add_output_dir(c, dest="outdir", type=Path, required=True, help="folder for the chunk files")
    c.add_argument("--manifest", type=Path, default=None, help="chunks.json to write")
    c.set_defaults(func=cmd_split_library)

    g = sub.add_parser("gather-hits", help="gather screened chunks into one ranked result")
    g.add_argument("hits", nargs="*", type=Path, help="per-chunk hits .parquet, in row order")
    g.add_argument("--manifest", type=Path, default=None,
                   help="chunks.json of split-library: gather hits-<i>.parquet for its chunk-<i> "
                        "files from --hits-dir (a short command line for 10^4+ chunks)")  # fmt: skip
    g.add_argument("--hits-dir", type=Path, default=None, help="folder of the per-chunk hits")
    g.add_argument("--output", type=Path, required=True)
    g.add_argument("--top", type=int, default=SCREEN_DEFAULTS.top, help="ranked top-N hits")
    g.set_defaults(func=cmd_gather)

    e = sub.add_parser(
        "explain-hits",
        help="shade the atoms of top hits by the ensemble's attribution",
        description=(
            "For each row of a top-hits table (hits.top.csv), explain the task the ensemble "
            "predicts highest: graph nets by gradient x input, SNN/FNN with ECFP input by "
            "integrated gradients, averaged over those members (each scaled to max |w| = 1). "
            "Writes the table with explained_task, atom_weights (JSON list, one per heavy atom "
            "of std_smiles) and explained_by columns."
        ),
    )
    e.add_argument("top", type=Path, help="top-hits CSV (from screen / gather-hits)")
    e.add_argument("--models", nargs="+", required=True, metavar="PATH",
                   help="the models that scored the hits (directories or folders above them)")  # fmt: skip
    e.add_argument("--output", type=Path, required=True, help="explained top-hits CSV")
    e.set_defaults(func=cmd_explain)


def cmd_screen(args: argparse.Namespace) -> int:
    if args.chunk_size < 1 or args.workers < 1:
        raise MolprobeError("--chunk-size and --workers must be >= 1")
    library, output = Path(args.input), Path(args.output)
    dirs = find_model_dirs(args.models)
    settings = ScreenSettings(
        chunk_size=args.chunk_size,
        workers=args.workers,
        top=args.top,
        rank_by=args.rank_by,
        smiles_column=args.smiles_column,
        id_column=identifier_column(library, args.id_column),
        progress=False if args.no_progress else None,
        row_offset=args.row_offset,
    )
    loader = EnsembleLoader(tuple(str(d) for d in dirs), args.device, args.ad_threshold)
    show = not args.no_progress and sys.stderr.isatty()
    total = count_rows(library) if show else None  # for the ETA; a cheap extra read
    summary = screen_library(
        library, output, loader, model_fingerprint(dirs), settings, total_rows=total
    )
    top_csv, top_sdf = top_paths(output)
    print(f"{len(dirs)} models; {summary.line()}")
    if summary.reasons:
        print("rejected: " + ", ".join(f"{r}={n}" for r, n in summary.reasons.items()))
    print(f"wrote {output}, {rejected_path(output)}, {top_csv}, {top_sdf}")
    return 0


def cmd_split_library(args: argparse.Namespace) -> int:
    from molprobe.fileio import write_json
    from molprobe.screening.chunking import split_library

    if args.chunk_size < 1:
        raise MolprobeError("--chunk-size must be >= 1")
    chunks = split_library(args.library, args.outdir, args.chunk_size)
    if args.manifest is not None:
        write_json(
            args.manifest,
            {
                "library": str(args.library),
                "chunk_size": args.chunk_size,
                "chunks": [c.name for c in chunks],
            },
        )
    print(
        f"{args.library}: {len(chunks)} chunk(s) of up to {args.chunk_size} rows -> {args.outdir}"
    )
    return 0


def cmd_gather(args: argparse.Namespace) -> int:
    from molprobe.screening.screen import ScreenSummary, gather_files

    hits_files = list(args.hits)
    if args.manifest is not None:
        if args.hits_dir is None:
            raise MolprobeError("--manifest needs --hits-dir")
        hits_files += manifest_hits(args.manifest, args.hits_dir)
    if not hits_files:
        raise MolprobeError("gather-hits: no hits given (paths, or --manifest and --hits-dir)")
    pairs = []
    for hits in hits_files:
        rej = rejected_path(hits)
        if not hits.is_file() or not rej.is_file():
            raise MolprobeError(f"{hits}: missing scored chunk or its ledger {rej.name}")
        pairs.append((hits, rej))
    summary = ScreenSummary()
    gather_files(pairs, args.output, summary, top=args.top)
    print(
        f"gathered {len(pairs)} chunk(s): n_in={summary.n_in} scored={summary.n_scored} "
        f"rejected={summary.n_rejected} in_domain={summary.n_in_domain}"
    )
    return 0


def manifest_hits(manifest: Path, hits_dir: Path) -> list[Path]:
    """``hits_dir/hits-<i>.parquet`` for every ``chunk-<i>.<ext>`` of a split-library manifest."""
    import json

    try:
        names = json.loads(manifest.read_text())["chunks"]
    except (OSError, ValueError, KeyError) as err:
        raise MolprobeError(f"{manifest}: not a split-library manifest ({err})") from None
    return [
        hits_dir / f"hits-{name.split('.')[0].removeprefix('chunk-')}.parquet" for name in names
    ]


def cmd_explain(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from molprobe.errors import InputError
    from molprobe.fileio import atomic_path
    from molprobe.screening.ensemble import load_ensemble
    from molprobe.screening.explain import explain_hits, strongest_task

    try:
        top = pd.read_csv(args.top)
    except (OSError, ValueError) as err:
        raise InputError(args.top, f"cannot read the hits table ({err})") from None
    ensemble = load_ensemble(args.models)
    missing = [c for c in ["std_smiles", *ensemble.tasks] if c not in top.columns]
    if missing:
        raise InputError(args.top, f"missing columns {missing}: not a hits table of these models")
    top = top.copy()
    if len(top):
        tasks = strongest_task(top[ensemble.tasks].to_numpy(dtype=float), ensemble.tasks)
        result = explain_hits(ensemble.members, top["std_smiles"].astype(str).tolist(),
                              ensemble.tasks, tasks)  # fmt: skip
        top["explained_task"] = result.tasks
        top["atom_weights"] = [json.dumps(w) for w in result.atom_weights]
        top["explained_by"] = result.method
    else:
        top["explained_task"] = top["atom_weights"] = top["explained_by"] = []
    with atomic_path(args.output) as tmp:  # creates the folder when missing
        top.to_csv(tmp, index=False)
    print(f"explained {len(top)} hits -> {args.output}")
    return 0
