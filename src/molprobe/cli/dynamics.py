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
        help="per-layer gradient norms of deep nets on ECFP (vanishing gradients)",
        description=(
            "Build deep fully-connected nets (sigmoid, tanh, ReLU, ReLU+BatchNorm, SELU, "
            "highway, residual) on the ECFP of the molecule table; record per-layer gradient "
            "norms at initialization and after --steps Adam steps, for every depth and seed, "
            "and the singular values of the end-to-end Jacobian."
        ),
    )
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument(
        "--features",
        type=Path,
        help="ecfp.npz aligned with the molecule table (default: compute ECFP4, 2048 bits)",
    )
    p.add_argument("--output", type=Path, required=True, help="gradients.parquet to write")
    p.add_argument("--jacobian", type=Path, help="jacobian.parquet to write")
    p.add_argument("--plots-dir", type=Path, help="folder for the PNG figures")
    p.add_argument("--tasks", nargs="+", help="task columns (default: all label columns)")
    p.add_argument("--depths", type=int, nargs="+", default=[2, 8, 16, 32, 64])
    p.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=50, help="Adam steps before the 2nd measurement")
    p.add_argument("--width", type=int, default=128, help="units per hidden layer")
    p.add_argument("--batch-size", type=int, default=64, help="training mini-batch")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--n-molecules", type=int, default=2000, help="molecules used (random subset; 0 = all)"
    )
    p.add_argument("--jacobian-molecules", type=int, default=2, help="molecules per Jacobian")
    p.add_argument(
        "--plot-depth", type=int, default=32, help="depth of the per-layer profile figure"
    )
    p.add_argument("--device", default="auto", help="auto (default) | cpu | cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.set_defaults(func=_run_gradients)


def _load_ecfp(path: Path | None, smiles, n_rows: int):
    import numpy as np

    from molprobe.errors import InputError

    if path is not None:
        from molprobe.chem.featurize import load_features

        features, spec = load_features(path)
        if not isinstance(features, np.ndarray) or features.ndim != 2:
            raise InputError(path, "expected a (molecules, bits) feature matrix")
        if features.shape[0] != n_rows:
            raise InputError(path, f"{features.shape[0]} rows but the molecule table has {n_rows}")
        return features, spec
    from molprobe.chem.featurize import ECFP

    fz = ECFP(radius=2, n_bits=2048)
    return fz(list(smiles)), fz.spec


def _run_gradients(args: argparse.Namespace) -> int:
    import numpy as np

    from molprobe.dynamics import plots
    from molprobe.dynamics.gradients import (
        GradientExperimentConfig,
        prepare_fingerprints,
        run_gradient_experiment,
    )

    _set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = _read_molecules(args.molecules, args.tasks)
    rows = np.arange(len(mols))
    if args.n_molecules and len(rows) > args.n_molecules:
        rows = np.sort(np.random.default_rng(0).choice(rows, args.n_molecules, replace=False))
    features, spec = _load_ecfp(
        args.features,
        mols["smiles"].iloc[rows] if args.features is None else mols["smiles"],
        len(mols) if args.features is not None else len(rows),
    )
    if args.features is not None:
        features = features[rows]
    x, _ = prepare_fingerprints(features)
    y = mols[tasks].to_numpy(dtype=np.float32)[rows]
    config = GradientExperimentConfig(
        archs=tuple(args.archs),
        depths=tuple(args.depths),
        seeds=tuple(args.seeds),
        steps=args.steps,
        width=args.width,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        jacobian_molecules=args.jacobian_molecules if args.jacobian else 0,
        device=args.device,
    )
    res = run_gradient_experiment(x, y, config)
    write_parquet(res.gradients, args.output)
    if args.jacobian:
        write_parquet(res.jacobian, args.jacobian)
    if args.plots_dir:
        g = res.gradients
        depth = args.plot_depth if args.plot_depth in set(g["depth"]) else int(g["depth"].max())
        _save_figure(
            plots.gradient_profile_figure(g, depth), args.plots_dir / "gradient_profile.png"
        )
        _save_figure(plots.gradient_ratio_figure(g), args.plots_dir / "gradient_ratio.png")
        if args.jacobian and not res.jacobian.empty:
            _save_figure(plots.jacobian_figure(res.jacobian), args.plots_dir / "jacobian.png")
    ratios = _ratio_lines(res.gradients)
    print(
        f"gradients: {len(rows)} molecules x {x.shape[1]} ECFP bits ({spec.get('name')}), "
        f"{len(config.archs)} archs x depths {list(config.depths)} x seeds "
        f"{list(config.seeds)}, {time.perf_counter() - t0:.1f} s"
    )
    for line in ratios:
        print(line)
    return 0


def _ratio_lines(g) -> list[str]:
    """One line per (step, arch): layer-1 / layer-L weight-gradient ratio at the largest depth."""
    import numpy as np

    if g.empty:
        return []
    depth = 32 if 32 in set(g["depth"]) else int(g["depth"].max())
    d = g[g["depth"] == depth]
    out = []
    for (step, arch), a in d.groupby(["step", "arch"], sort=False):
        first = a[a["layer"] == 1].set_index("seed")
        last = a[a["layer"] == depth].set_index("seed")
        rw = np.exp(np.log(first["grad_norm_weight"] / last["grad_norm_weight"]).mean())
        ri = np.exp(np.log(first["grad_norm_input"] / last["grad_norm_input"]).mean())
        out.append(
            f"  depth {depth} step {step:>4} {arch:<9} layer1/layer{depth}: "
            f"weights {rw:.3g}, inputs {ri:.3g}"
        )
    return out


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
        from molprobe.chem.io import atomic_path

        with atomic_path(args.summary) as tmp:
            res.summary.to_csv(tmp, index=False)
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
