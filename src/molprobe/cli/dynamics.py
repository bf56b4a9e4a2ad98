"""CLI: dynamics commands — `gradients` (vanishing gradients through depth) and `lstm-credit`
(gradients through time and uniform credit assignment of SMILES recurrent nets).

Each command is one ``_add_<name>(sub)`` that adds its subparser and one ``_run_<name>(args)``
that reads/writes files and calls :mod:`molprobe.dynamics`. Outputs are written atomically.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from molprobe.cli.tables import read_molecule_table, task_columns
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)


def register(sub) -> None:
    """Add this group's subcommands to the `molprobe` parser."""
    _add_gradients(sub)
    _add_lstm_credit(sub)


# --------------------------------------------------------------------------- helpers


def _read_molecules(path: Path, tasks: list[str] | None):
    """The molecule table (smiles required) and its task columns (default: every numeric
    non-id column)."""
    mols = read_molecule_table(path, ("smiles",))
    return mols, task_columns(mols, path, tasks)


def _save_figure(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from molprobe.chem.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)


def _set_threads(n: int | None) -> None:
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

    _set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = _read_molecules(args.molecules, args.tasks)
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
            _write_csv(table, path)
    if args.plots_dir:
        depths = set(res.gradients["depth"])
        depth = args.plot_depth if args.plot_depth in depths else max(depths)
        out = args.plots_dir
        _save_figure(
            plots.gradient_profile_figure(res.gradients, depth), out / "gradient_profile.png"
        )
        _save_figure(plots.gradient_ratio_figure(res.summary), out / "gradient_ratio.png")
        if args.jacobian and not res.jacobian.empty:
            _save_figure(plots.jacobian_figure(res.jacobian), out / "jacobian.png")
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


def _write_csv(table, path: Path) -> None:
    from molprobe.chem.io import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


# --------------------------------------------------------------------------- lstm-credit


def _add_lstm_credit(sub) -> None:
    from molprobe.dynamics.lstm_credit import GROUPS

    p = sub.add_parser(
        "lstm-credit",
        help="gradients through time and credit assignment of SMILES LSTM vs vanilla RNN",
        description=(
            "Train small one-layer SMILES models (LSTM, vanilla RNN, GRU) on the molecule "
            "table; measure the gradient reaching each token vs its distance from the end of "
            "the string, and how the credit of a functional group depends on where it is "
            "written across randomized SMILES (with and without randomized-SMILES augmentation)."
        ),
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--output", type=Path, required=True, help="lstm_credit.parquet to write")
    p.add_argument("--through-time", type=Path, help="through_time.parquet to write")
    p.add_argument("--summary", type=Path, help="summary table (.csv) to write")
    p.add_argument("--plots-dir", type=Path, help="folder for the PNG figures")
    p.add_argument("--tasks", nargs="+", help="training task columns (default: all)")
    p.add_argument(
        "--task", default="NR-AhR", help="task whose logit is attributed (default NR-AhR)"
    )
    p.add_argument("--groups", nargs="+", choices=sorted(GROUPS), default=list(GROUPS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--steps", type=int, default=300, help="Adam steps per model")
    p.add_argument("--hidden", type=int, default=64, help="recurrent state size")
    p.add_argument("--embed", type=int, default=32, help="token embedding size")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--n-train", type=int, default=2000, help="training molecules")
    p.add_argument("--molecules-per-group", type=int, default=20)
    p.add_argument("--randomizations", type=int, default=10, help="randomized SMILES per molecule")
    p.add_argument(
        "--augment-variants", type=int, default=5, help="randomized SMILES per training molecule"
    )
    p.add_argument("--max-len", type=int, default=120, help="tokens per SMILES")
    p.add_argument(
        "--method",
        choices=("integrated_gradients", "gradient_x_input"),
        default="integrated_gradients",
    )
    p.add_argument("--ig-steps", type=int, default=8, help="integrated-gradient steps")
    p.add_argument("--through-time-molecules", type=int, default=128)
    p.add_argument("--device", default="auto", help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=_run_lstm_credit)


def _run_lstm_credit(args: argparse.Namespace) -> int:
    import numpy as np

    from molprobe.chem.tokens import SmilesTokenizer
    from molprobe.dynamics import plots
    from molprobe.dynamics.lstm_credit import CreditConfig, run_lstm_credit
    from molprobe.dynamics.through_time import SequenceTrainConfig

    _set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = _read_molecules(args.molecules, args.tasks)
    if args.task is not None and args.task not in tasks:
        from molprobe.errors import InputError

        raise InputError(args.molecules, f"no task column {args.task!r} (have {tasks})")
    config = CreditConfig(
        task=args.task,
        groups=tuple(args.groups),
        molecules_per_group=args.molecules_per_group,
        randomizations=args.randomizations,
        n_train=args.n_train,
        augment_variants=args.augment_variants,
        max_len=args.max_len,
        seeds=tuple(args.seeds),
        method=args.method,
        ig_steps=args.ig_steps,
        through_time_molecules=args.through_time_molecules,
        train=SequenceTrainConfig(
            embed_dim=args.embed,
            hidden_dim=args.hidden,
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            device=args.device,
        ),
    )
    ids = mols["mol_id"].astype(str).tolist() if "mol_id" in mols.columns else None
    res = run_lstm_credit(
        mols["smiles"].tolist(),
        mols[tasks].to_numpy(dtype=np.float32),
        tasks,
        SmilesTokenizer(),
        config,
        molecule_ids=ids,
    )
    write_parquet(res.credit, args.output)
    if args.through_time:
        write_parquet(res.through_time, args.through_time)
    if args.summary:
        _write_csv(res.summary, args.summary)
    if args.plots_dir:
        if not res.credit.empty:
            _save_figure(plots.credit_figure(res.credit), args.plots_dir / "credit_position.png")
            _save_figure(
                plots.prediction_spread_figure(res.summary),
                args.plots_dir / "prediction_spread.png",
            )
        if not res.through_time.empty:
            _save_figure(
                plots.through_time_figure(res.through_time), args.plots_dir / "through_time.png"
            )
    n_mol = res.credit["molecule"].nunique() if not res.credit.empty else 0
    print(
        f"lstm-credit: {n_mol} molecules x {config.randomizations} randomized SMILES, "
        f"seeds {list(config.seeds)}, {time.perf_counter() - t0:.1f} s"
    )
    s = res.summary[res.summary["group"] == "all"]
    for _, r in s.iterrows():
        print(
            f"  {r['arch']:<5} augmented={r['augmented']!s:<5} seed {r['seed']}: credit vs "
            f"position slope {r['slope']:+.3f} (r {r['r']:+.2f}, within-molecule "
            f"{r['within_slope']:+.3f}), prediction std {r['prediction_std']:.3f}"
        )
    log.debug("losses: %s", json.dumps({k: v[-1] for k, v in res.losses.items()}))
    return 0
