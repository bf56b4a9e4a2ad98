"""CLI: data commands — `fetch`, `standardize`, `split`.

Each command is one ``_add_<name>(sub)`` function that adds its subparser, plus a
``_run_<name>(args) -> int`` that reads/writes files and calls the library; `register` lists them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from molprobe.chem.io import ID_COLUMN_CANDIDATES
from molprobe.cli.options import add_workers


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
    for add in (_add_standardize,):
        add(sub)


# --------------------------------------------------------------------------- standardize


def _add_standardize(sub) -> None:
    p = sub.add_parser(
        "standardize",
        help="standardize molecules (RDKit) and write the molecule table + rejected ledger",
        description=(
            "Read a CSV/TSV/SMILES/SDF file (optionally .gz), standardize every SMILES, merge "
            "duplicates and write molecules.parquet plus a ledger of rejected rows. Prints "
            "n_in=.. kept=.. rejected=.. merged=.. and counts by reason."
        ),
    )
    p.add_argument("input", type=Path, help="molecule file: .csv .tsv .smi .sdf, optionally .gz")
    p.add_argument("--output", "-o", type=Path, required=True, help="molecules.parquet to write")
    p.add_argument("--rejected", type=Path, required=True, help="rejected.csv ledger to write")
    p.add_argument("--summary", type=Path, help="standardize.json (reconciliation + recipe)")
    p.add_argument(
        "--smiles-column", help="SMILES column (default: smiles/canonical_smiles/mol/smi)"
    )
    p.add_argument(
        "--id-column",
        help=f"identifier column kept as mol_id (default: first of {'/'.join(ID_COLUMN_CANDIDATES)})",
    )
    p.add_argument(
        "--task-columns",
        nargs="+",
        metavar="COL",
        help="label columns (default: every numeric column; text columns are kept as metadata)",
    )
    p.add_argument(
        "--task-type",
        choices=("classification", "regression"),
        default="classification",
        help="how labels of duplicate molecules are merged (default: classification)",
    )
    p.add_argument(
        "--no-largest-fragment",
        dest="largest_fragment",
        action="store_false",
        help="keep all fragments (salts, solvents) instead of the largest organic one",
    )
    p.add_argument(
        "--no-neutralize", dest="neutralize", action="store_false", help="keep formal charges"
    )
    p.add_argument("--cleanup", action="store_true", help="full rdMolStandardize.Cleanup (slower)")
    p.add_argument("--remove-isotopes", action="store_true", help="drop isotope labels")
    p.add_argument("--max-heavy-atoms", type=int, default=150, help="reject larger (default 150)")
    p.add_argument("--min-heavy-atoms", type=int, default=1, help="reject smaller (default 1)")
    add_workers(p, help="worker processes (0 = all cores)")
    p.add_argument("--chunk-size", type=int, default=10_000, help="rows read at a time")
    p.set_defaults(func=_run_standardize)


def _run_standardize(args: argparse.Namespace) -> int:
    import rdkit

    from molprobe.chem.standardize import StandardizeRecipe, standardize_file
    from molprobe.errors import MolprobeError
    from molprobe.fileio import atomic_path

    try:
        recipe = StandardizeRecipe(
            largest_fragment=args.largest_fragment,
            neutralize=args.neutralize,
            cleanup=args.cleanup,
            remove_isotopes=args.remove_isotopes,
            max_heavy_atoms=args.max_heavy_atoms,
            min_heavy_atoms=args.min_heavy_atoms,
        )
    except ValueError as err:
        raise MolprobeError(str(err)) from err

    start = time.perf_counter()
    outcome = standardize_file(
        args.input,
        recipe,
        smiles_column=args.smiles_column,
        task_columns=args.task_columns,
        task_type=args.task_type,
        id_column=args.id_column,
        n_jobs=args.workers,
        chunk_size=args.chunk_size,
    )
    seconds = time.perf_counter() - start
    report = outcome.report

    with atomic_path(args.output) as tmp:
        outcome.molecules.to_parquet(tmp, index=False)
    with atomic_path(args.rejected) as tmp:
        outcome.rejected.to_csv(tmp, index=False)
    if args.summary is not None:
        summary = {
            **report.to_dict(),
            "recipe": recipe.spec,
            "task_columns": outcome.task_columns,
            "id_column": outcome.id_column,
            "metadata_columns": outcome.metadata_columns,
            "task_type": args.task_type,
            "input": str(args.input),
            "rdkit_version": rdkit.__version__,
            "seconds": round(seconds, 3),
            "molecules_per_second": round(report.n_in / seconds, 1) if seconds > 0 else None,
        }
        with atomic_path(args.summary) as tmp:
            tmp.write_text(json.dumps(summary, indent=2) + "\n")

    print(report.line())
    for reason, count in report.reasons.items():
        print(f"  {reason}: {count}")
    print(
        f"columns: id={outcome.id_column} labels={len(outcome.task_columns)}"
        f" metadata={','.join(outcome.metadata_columns) or 'none'}"
    )
    if outcome.metadata_columns:
        print(
            f"  kept as text metadata, not labels: {', '.join(outcome.metadata_columns)}"
            " (to train on a column, name the labels with --task-columns)"
        )
    if outcome.ignored_columns:
        print(
            f"  not kept (names of output columns): {', '.join(outcome.ignored_columns)}"
            " (rename them in the input file to keep them)"
        )
    print(
        f"{report.n_in / seconds:.0f} molecules/s" if seconds > 0 else "",
        file=sys.stderr,
    )
    return 0
