"""CLI: dynamics commands — `gradients` (error signal through depth vs mean-field) and
`planted-credit` (credit of SMILES models on a planted substructure vs its string position)
and `attention` (AttentiveFP readout attention on planted and structural-alert atoms).

Each command: ``_add_<name>(sub)`` (its subparser) and ``_run_<name>(args)`` (read, call
:mod:`molprobe.dynamics`, write atomically).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from molprobe.cli.options import add_compute_options, add_option
from molprobe.cli.tables import read_molecule_table, task_columns
from molprobe.fileio import write_parquet


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
    _add_gradients(sub)
    _add_planted_credit(sub)
    _add_attention(sub)


# --------------------------------------------------------------------------- helpers


def read_molecules(path: Path, tasks: list[str] | None):
    """The molecule table (smiles required) and its task columns (default: all numeric)."""
    mols = read_molecule_table(path, ("smiles",))
    return mols, task_columns(mols, path, tasks)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from molprobe.fileio import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)


def set_threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


# --------------------------------------------------------------------------- gradients


def _add_gradients(sub) -> None:
    from molprobe.dynamics.deep_nets import ARCHS

    p = sub.add_parser(
        "gradients",
        help="error signal and weight gradient per layer of deep nets on ECFP, vs mean-field",
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--features", type=Path, help="ecfp.npz aligned with the molecule table")
    p.add_argument("--output", type=Path, required=True, help="gradients.parquet to write")
    p.add_argument("--summary", type=Path, help="gradient_summary.csv (ratios with intervals)")
    p.add_argument("--runs", type=Path, help="gradient_runs.csv (epochs, carry per run)")
    p.add_argument("--jacobian", type=Path, help="jacobian.parquet to write")
    p.add_argument("--plots-dir", type=Path, help="folder for the PNG figures")
    p.add_argument("--tasks", nargs="+", help="task columns (default: all label columns)")
    p.add_argument("--depths", type=int, nargs="+", default=[2, 8, 16, 32, 64])
    p.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=30, help="early stopping on validation")
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--width", type=int, default=128, help="units per hidden layer")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--n-molecules", type=int, default=2000, help="random subset (0 = all)")
    p.add_argument("--jacobian-molecules", type=int, default=64, help="molecules per Jacobian")
    p.add_argument("--jacobian-depths", type=int, nargs="+", help="default: every depth")
    p.add_argument("--plot-depth", type=int, default=32, help="depth of the profile figure")
    add_compute_options(p)
    p.set_defaults(func=_run_gradients)


def _run_gradients(args: argparse.Namespace) -> int:
    import numpy as np

    from molprobe.dynamics import plots
    from molprobe.dynamics.gradient_flow import GradientFlowConfig, headline_lines
    from molprobe.dynamics.run import ecfp_bits, gradient_flow, subsample_rows

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = read_molecules(args.molecules, args.tasks)
    rows = subsample_rows(len(mols), args.n_molecules)
    bits = ecfp_bits(mols["smiles"], args.features)[rows]
    config = GradientFlowConfig(
        archs=tuple(args.archs),
        depths=tuple(args.depths),
        seeds=tuple(args.seeds),
        width=args.width,
        learning_rate=args.learning_rate,
        max_epochs=args.max_epochs,
        patience=args.patience,
        jacobian_molecules=args.jacobian_molecules if args.jacobian else 0,
        jacobian_depths=tuple(args.jacobian_depths) if args.jacobian_depths else None,
        device=args.device,
    )
    res = gradient_flow(bits, mols[tasks].to_numpy(dtype=np.float32)[rows], config)
    write_parquet(res.gradients, args.output)
    if args.jacobian:
        write_parquet(res.jacobian, args.jacobian)
    for table, path in ((res.summary, args.summary), (res.runs, args.runs)):
        if path:
            write_csv(table, path)
    if args.plots_dir:
        depths = set(res.gradients["depth"])
        depth = args.plot_depth if args.plot_depth in depths else max(depths)
        out = args.plots_dir
        save_figure(
            plots.gradient_profile_figure(res.gradients, depth), out / "gradient_profile.png"
        )
        save_figure(plots.gradient_ratio_figure(res.summary), out / "gradient_ratio.png")
        if args.jacobian and not res.jacobian.empty:
            save_figure(plots.jacobian_figure(res.jacobian), out / "jacobian.png")
    print(
        f"gradients: {len(rows)} molecules, {len(config.archs)} archs x depths "
        f"{list(config.depths)} x seeds {list(config.seeds)}, {time.perf_counter() - t0:.1f} s"
    )
    print("\n".join(headline_lines(res.summary)))
    return 0


def write_csv(table, path: Path) -> None:
    from molprobe.fileio import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


# --------------------------------------------------------------------------- planted-credit


def _add_planted_credit(sub) -> None:
    from molprobe.dynamics.planted_credit import PLANTED_GROUPS
    from molprobe.dynamics.sequence_models import SEQUENCE_ARCHS

    p = sub.add_parser(
        "planted-credit",
        help="credit of SMILES models on a planted substructure vs its position in the string",
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--output", type=Path, required=True, help="planted_credit.parquet")
    add_option(p, "--model-table", "--models", dest="models", type=Path,
               help="per (arch, seed) csv: ROC-AUC, slopes")  # fmt: skip
    p.add_argument("--summary", type=Path, help="per arch csv: intervals and verdict")
    p.add_argument("--plots-dir", type=Path, help="folder for the PNG figure")
    # no defaults here: unset options take PlantedCreditConfig's defaults
    p.add_argument("--group", choices=sorted(PLANTED_GROUPS))
    p.add_argument("--archs", nargs="+", choices=SEQUENCE_ARCHS)
    p.add_argument("--seeds", type=int, nargs="+")
    p.add_argument("--steps", type=int, help="Adam steps per model")
    p.add_argument("--max-positives", type=int, help="0 = all molecules with S")
    p.add_argument("--randomizations", type=int, help="analysed SMILES per molecule")
    p.add_argument("--augment-variants", type=int, help="training SMILES per molecule")
    p.add_argument("--ig-steps", type=int, help="integrated-gradient steps")
    add_compute_options(p)
    p.set_defaults(func=_run_planted_credit)


def _run_planted_credit(args: argparse.Namespace) -> int:
    from molprobe.dynamics import plots
    from molprobe.dynamics.planted_credit import (
        PlantedCreditConfig,
        run_planted_credit,
        verdict_lines,
    )

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols = read_molecule_table(args.molecules, ("smiles",))
    names = ("group", "archs", "seeds", "steps", "max_positives", "randomizations",
             "augment_variants", "ig_steps")  # fmt: skip
    given = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    given.update({k: tuple(given[k]) for k in ("archs", "seeds") if k in given})
    config = PlantedCreditConfig(**given, device=args.device)
    res = run_planted_credit(mols["smiles"].tolist(), config)
    write_parquet(res.credit, args.output)
    for table, path in ((res.models, args.models), (res.summary, args.summary)):
        if path:
            write_csv(table, path)
    if args.plots_dir and not res.credit.empty:
        fig = plots.planted_credit_figure(res.credit, res.summary)
        save_figure(fig, args.plots_dir / "planted_credit.png")
    print(f"planted-credit ({config.group}): {time.perf_counter() - t0:.1f} s")
    print("\n".join(verdict_lines(res.summary)))
    return 0


# --------------------------------------------------------------------------- attention


def _add_attention(sub) -> None:
    p = sub.add_parser(
        "attention",
        help="AttentiveFP attention on planted-S and structural-alert atoms vs controls",
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--output", type=Path, required=True, help="attention.parquet (per molecule)")
    p.add_argument("--summary", type=Path, help="attention_summary.csv")
    p.add_argument("--group", default="nitro", help="planted substructure")
    p.add_argument("--task", default="SR-ARE", help="real task for the alert view ('' = skip)")
    for flag, default in (("--task-molecules", 1000), ("--epochs", 15), ("--width", 64)):
        p.add_argument(flag, type=int, default=default)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_compute_options(p)
    p.set_defaults(func=_run_attention)


def _run_attention(args: argparse.Namespace) -> int:
    from molprobe.dynamics.attention import AttentionConfig, run_attention, summary_lines

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols, _ = read_molecules(args.molecules, None)
    config = AttentionConfig(
        group=args.group,
        task=args.task or None,
        task_molecules=args.task_molecules,
        seeds=tuple(args.seeds),
        epochs=args.epochs,
        width=args.width,
        device=args.device,
    )
    table, summary = run_attention(mols["smiles"].tolist(), mols, config)
    write_parquet(table, args.output)
    if args.summary:
        write_csv(summary, args.summary)
    print(f"attention: {time.perf_counter() - t0:.1f} s")
    print("\n".join(summary_lines(summary)))
    return 0
