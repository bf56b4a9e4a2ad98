"""CLI: `molprobe depth-run` / `depth-table` (the depth experiment) and `molprobe lstm-credit`
(gradients through time of SMILES recurrent nets; credit on a real Tox21 task, the secondary
view beside `planted-credit`)."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.cli.dynamics import read_molecules, save_figure, set_threads, write_csv
from molprobe.cli.options import add_compute_options
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)


def register(sub) -> None:
    _add_lstm_credit(sub)
    _add_depth(sub)


# --------------------------------------------------------------------------- depth


def _add_depth(sub) -> None:
    from molprobe.dynamics.depth_sweep import DEPTH_FAMILIES

    p = sub.add_parser("depth-run", help="one depth-experiment cell (family, depth, split, seed)")
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--features", type=Path, required=True, help="ecfp.npz (aligned rows)")
    p.add_argument("--split", type=Path, required=True, help="split JSON")
    p.add_argument("--family", choices=sorted(DEPTH_FAMILIES), required=True)
    p.add_argument("--depth", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--learning-rates", type=float, nargs="+", default=[1e-4, 1e-3])
    for flag, default in (("--width", 256), ("--max-epochs", 30), ("--patience", 5)):
        p.add_argument(flag, type=int, default=default)
    p.add_argument("--clip-norm", type=float, default=0.0, help="0 = no clipping (main arm)")
    p.add_argument("--output", type=Path, required=True, help="runs.csv (one row per lr)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.set_defaults(func=_run_depth)
    t = sub.add_parser("depth-table", help="depth runs -> lr chosen on validation, test AUC")
    t.add_argument("runs", type=Path, nargs="+", help="runs.csv files of depth-run")
    t.add_argument("--output", type=Path, required=True, help="depth.csv")
    t.add_argument("--runs-output", type=Path, help="all runs in one csv")
    t.set_defaults(func=_run_depth_table)


def _run_depth(args: argparse.Namespace) -> int:
    from molprobe.chem.splits import Split
    from molprobe.dynamics.depth_sweep import DepthSweepConfig, depth_run
    from molprobe.dynamics.run import ecfp_bits

    set_threads(args.threads)
    mols, tasks = read_molecules(args.molecules, None)
    split = Split.from_dict(json.loads(args.split.read_text()))
    config = DepthSweepConfig(
        learning_rates=tuple(args.learning_rates),
        width=args.width,
        max_epochs=args.max_epochs,
        patience=args.patience,
        clip_norm=args.clip_norm,
        device=args.device,
    )
    bits = ecfp_bits(mols["smiles"], args.features)
    y = mols[tasks].to_numpy(dtype=np.float32)
    runs = depth_run(bits, y, split, args.family, args.depth, args.seed, config)
    write_csv(runs, args.output)
    print(runs.to_string(index=False))
    return 0


def _run_depth_table(args: argparse.Namespace) -> int:
    from molprobe.dynamics.depth_sweep import depth_summary

    runs = pd.concat([pd.read_csv(p) for p in args.runs], ignore_index=True)
    table = depth_summary(runs)
    write_csv(table, args.output)
    if args.runs_output:
        write_csv(runs, args.runs_output)
    for _, r in table.iterrows():
        print(
            f"{r['model']:<20} depth {r['depth']:>2}: test ROC-AUC {r['mean']:.3f} "
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] (lr {r['lr']:g} on validation)"
        )
    return 0


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
    add_compute_options(p)
    p.set_defaults(func=_run_lstm_credit)


def _run_lstm_credit(args: argparse.Namespace) -> int:
    import numpy as np

    from molprobe.chem.tokens import SmilesTokenizer
    from molprobe.dynamics import plots
    from molprobe.dynamics.lstm_credit import CreditConfig, run_lstm_credit
    from molprobe.dynamics.through_time import SequenceTrainConfig

    set_threads(args.threads)
    t0 = time.perf_counter()
    mols, tasks = read_molecules(args.molecules, args.tasks)
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
        write_csv(res.summary, args.summary)
    if args.plots_dir:
        if not res.credit.empty:
            save_figure(plots.credit_figure(res.credit), args.plots_dir / "credit_position.png")
            save_figure(
                plots.prediction_spread_figure(res.summary),
                args.plots_dir / "prediction_spread.png",
            )
        if not res.through_time.empty:
            save_figure(
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
