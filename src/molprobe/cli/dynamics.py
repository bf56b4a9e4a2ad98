"""CLI: dynamics commands — `gradients` (error signal through depth vs mean-field) and
`planted-credit` (credit of SMILES models on a planted substructure vs its string position).

Each command is one ``_add_<name>(sub)`` that adds its subparser and one ``_run_<name>(args)``
that reads/writes files and calls :mod:`molprobe.dynamics`. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from molprobe.cli.tables import read_molecule_table, task_columns
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
    _add_gradients(sub)
    _add_planted_credit(sub)


# --------------------------------------------------------------------------- helpers


def read_molecules(path: Path, tasks: list[str] | None):
    """The molecule table (smiles required) and its task columns (default: every numeric
    non-id column)."""
    mols = read_molecule_table(path, ("smiles",))
    return mols, task_columns(mols, path, tasks)


def save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from molprobe.chem.io import atomic_path

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
        description=(
            "Build deep fully-connected nets (sigmoid, tanh, ReLU, ReLU+BatchNorm, SELU, "
            "highway, residual) on the ECFP of the molecule table; per layer record the error "
            "signal ||dL/dh_l||, the weight gradient and the mean-field prediction at init, "
            "after one epoch and at early stopping, and Jacobian spectra of dh_L/dh_1."
        ),
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
    p.add_argument("--device", default="auto", help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=_run_gradients)


def _load_ecfp(path: Path | None, smiles):
    if path is None:
        from molprobe.chem.featurize import ECFP

        return ECFP(radius=2, n_bits=2048)(list(smiles))
    from molprobe.chem.featurize import load_features
    from molprobe.errors import InputError

    features, _ = load_features(path)
    if getattr(features, "ndim", 0) != 2 or features.shape[0] != len(smiles):
        raise InputError(path, f"expected a ({len(smiles)} molecules, bits) feature matrix")
    return features


def _run_gradients(args: argparse.Namespace) -> int:
    import numpy as np

    from molprobe.dynamics import plots
    from molprobe.dynamics.gradient_flow import GradientFlowConfig
    from molprobe.dynamics.run import gradient_flow, subsample_rows

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = read_molecules(args.molecules, args.tasks)
    rows = subsample_rows(len(mols), args.n_molecules)
    bits = _load_ecfp(args.features, mols["smiles"])[rows]
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
    s = res.summary
    for _, r in s[s["depth"] == s["depth"].max()].iterrows():
        print(
            f"  depth {r['depth']} {r['stage']:<6} {r['arch']:<9} layer1/layerL error signal "
            f"{r['error_signal_ratio']:.3g} [{r['error_signal_ratio_low']:.3g}, "
            f"{r['error_signal_ratio_high']:.3g}], mean-field {r['meanfield_ratio']:.3g}, "
            f"weight gradient {r['weight_grad_ratio']:.3g}"
        )
    return 0


def write_csv(table, path: Path) -> None:
    from molprobe.chem.io import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


# --------------------------------------------------------------------------- planted-credit


def _add_planted_credit(sub) -> None:
    from molprobe.dynamics.planted_credit import PLANTED_GROUPS
    from molprobe.dynamics.sequence_models import SEQUENCE_ARCHS

    p = sub.add_parser(
        "planted-credit",
        help="credit of SMILES models on a planted substructure vs its position in the string",
        description=(
            "Plant a balanced label 'contains S' on the molecule table, train vanilla RNN, "
            "LSTM, GRU and a transformer on randomized SMILES (k-fold), attribute held-out "
            "strings (captum integrated gradients and occlusion) and test uniform credit."
        ),
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--output", type=Path, required=True, help="planted_credit.parquet")
    p.add_argument("--models", type=Path, help="per (arch, seed) csv: ROC-AUC, slopes")
    p.add_argument("--summary", type=Path, help="per arch csv: intervals and verdict")
    p.add_argument("--plots-dir", type=Path, help="folder for the PNG figure")
    p.add_argument("--group", choices=sorted(PLANTED_GROUPS), default="nitro")
    p.add_argument("--archs", nargs="+", choices=SEQUENCE_ARCHS, default=list(SEQUENCE_ARCHS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=600, help="Adam steps per model")
    p.add_argument("--max-positives", type=int, default=0, help="0 = all molecules with S")
    p.add_argument("--randomizations", type=int, default=5, help="analysed SMILES per molecule")
    p.add_argument("--augment-variants", type=int, default=10, help="training SMILES per molecule")
    p.add_argument("--ig-steps", type=int, default=32)
    p.add_argument("--device", default="auto", help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=_run_planted_credit)


def _run_planted_credit(args: argparse.Namespace) -> int:
    from molprobe.dynamics import plots
    from molprobe.dynamics.planted_credit import PlantedCreditConfig, run_planted_credit

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols = read_molecule_table(args.molecules, ("smiles",))
    config = PlantedCreditConfig(
        group=args.group,
        archs=tuple(args.archs),
        seeds=tuple(args.seeds),
        steps=args.steps,
        max_positives=args.max_positives,
        randomizations=args.randomizations,
        augment_variants=args.augment_variants,
        ig_steps=args.ig_steps,
        device=args.device,
    )
    res = run_planted_credit(mols["smiles"].tolist(), config)
    write_parquet(res.credit, args.output)
    for table, path in ((res.models, args.models), (res.summary, args.summary)):
        if path:
            write_csv(table, path)
    if args.plots_dir and not res.credit.empty:
        fig = plots.planted_credit_figure(res.credit, res.summary)
        save_figure(fig, args.plots_dir / "planted_credit.png")
    print(f"planted-credit ({args.group}): {time.perf_counter() - t0:.1f} s")
    for _, r in res.summary.iterrows():
        print(
            f"  {r['arch']:<11} ROC-AUC {r['roc_auc']:.3f}; within-molecule slope "
            f"{r['within_slope']:+.3f} [{r['within_slope_low']:+.3f}, "
            f"{r['within_slope_high']:+.3f}]; {r['verdict']}"
        )
    return 0
