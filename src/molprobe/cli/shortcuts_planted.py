"""CLI: ``molprobe shortcuts-planted`` runs the planted ping-pong control of the shortcut audit
(a decoy tied to one task's positives, and its clean twin); registered by
:mod:`molprobe.cli.shortcuts`."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from molprobe.cli.tables import read_molecule_table
from molprobe.errors import MolprobeError
from molprobe.fileio import write_parquet
from molprobe.shortcuts.planted import PlantedConfig


def save_figure(path: Path, fig) -> None:
    """Write a matplotlib figure as PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    from molprobe.training.checkpoint import write_atomic

    write_atomic(path, lambda p: fig.savefig(p, dpi=130, format="png"))
    plt.close(fig)


def register_planted(sub) -> None:
    """Add ``shortcuts-planted`` to the `molprobe` parser."""
    c = PlantedConfig()
    q = sub.add_parser(
        "shortcuts-planted",
        help="planted ping-pong table: a decoy tied to one task's positives, and its clean twin",
        description="Trains every family on a planted table (trimethylsilyl decoy on the "
        "task's train/valid positives) and on its clean twin, and writes planted_runs.parquet, "
        "planted_summary.parquet and planted.png into --output-dir.",
    )
    q.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    q.add_argument("--output-dir", type=Path, required=True)
    q.add_argument("--task", default=c.task, help=f"task given the decoy (default {c.task})")
    q.add_argument("--families", required=True, help='JSON: {"snn": {"features": ["ecfp"], '
                   '"params": {...}}, ...} (the config\'s models: section)')  # fmt: skip
    q.add_argument("--featurizers", default="{}",
                   help='JSON: featurizer name -> settings (the config\'s featurizers:)')  # fmt: skip
    q.add_argument("--n-molecules", type=int, default=c.n_molecules)
    q.add_argument("--seeds", nargs="+", type=int, default=list(c.seeds))
    q.add_argument("--positive-rate", type=float, default=c.positive_rate)
    q.add_argument("--negative-rate", type=float, default=c.negative_rate)
    q.add_argument("--threshold", type=float, default=c.threshold,
                   help="AUC drop whose CI lower bound above it flags a model")  # fmt: skip
    q.add_argument("--device", default="auto", help="auto | cpu | cuda")
    q.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    q.set_defaults(func=cmd_planted)


def _families(args) -> list:
    from molprobe.shortcuts.planted import Family

    try:
        fams, feats = json.loads(args.families), json.loads(args.featurizers)
    except json.JSONDecodeError as err:
        raise MolprobeError(f"--families / --featurizers: not valid JSON: {err}") from None
    out = []
    for name, setup in fams.items():
        names = setup.get("features") or ["ecfp"]
        specs = [{"name": f, **(feats.get(f) or {})} for f in names]
        out.append(Family(name, specs, dict(setup.get("params") or {})))
    return out


def cmd_planted(args: argparse.Namespace) -> int:
    from molprobe.shortcuts.planted import PlantedConfig
    from molprobe.shortcuts.run import planted_control

    t_start = time.perf_counter()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    mols = read_molecule_table(args.molecules, ("smiles",))
    config = PlantedConfig(
        task=args.task, n_molecules=args.n_molecules, seeds=tuple(args.seeds),
        positive_rate=args.positive_rate, negative_rate=args.negative_rate,
        threshold=args.threshold,
    )  # fmt: skip
    result, fig = planted_control(mols, _families(args), config, args.device, args.threads,
                                  log=lambda line: print(line, flush=True))  # fmt: skip
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(result.runs, out / "planted_runs.parquet")
    write_parquet(result.summary, out / "planted_summary.parquet")
    save_figure(out / "planted.png", fig)
    s = result.summary
    print(f"shortcuts-planted: flagged {', '.join(s.loc[s['flagged'], 'model'] + '/' + s.loc[s['flagged'], 'condition']) or 'nothing'} "
          f"({time.perf_counter() - t_start:.1f} s) -> {out}")  # fmt: skip
    return 0
