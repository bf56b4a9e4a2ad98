"""End-to-end screening cost of model ensembles, in one run, against the RDKit floor.

    python benchmarks/bench_fast_models.py [--ensemble old=DIR[,DIR...] --ensemble new=DIR ...]
        [--n 10000] [--library /work/shared/data/muv.csv.gz] [--chunk-size 1000] [--rounds 2]

Without ``--ensemble``: the old default screening models (snn, gine, rf) and the new ones
(fnn_bn_fast, the default; snn_fast + fnn_bn_fast, the earlier one) that ``make run``
trains, random split. Each ``DIR`` holds trained
model folders (``meta.json`` + weights, as ``molprobe train``
writes them; every folder below it is a member). For each ensemble, interleaved over
``--rounds`` rounds, ``molprobe screen`` runs as a subprocess with one worker and one torch
thread (standardize, featurize, every member, applicability domain, alerts, Parquet parts,
gather) on the first ``--n`` library molecules and on 10 molecules (start-up: process start,
imports, model and domain loading). The floor is RDKit parse + ECFP4 in-process.

Prints CPU seconds (the process tree), molecules per CPU-second end to end and net of
start-up, start-up CPU seconds, and the ratios to the floor and to the first ensemble, with
the goals of issue 19 item 1 (>= 1,000 molecules per CPU-second, start-up <= 5 CPU-s), and
core-hours per 10^9 molecules (net of start-up). With chemprop found (``--chemprop``, its own
venv, and a model from ``bench_chemprop.py``), ``chemprop predict`` runs the same molecules
(one thread, process start included) and each ensemble's ratio to it is printed (goal >= 2).
With ``--profile``, each ensemble's pipeline is also timed piece by piece in-process
(``bench_screen.profile_chunks``), with the ratio ceiling a zero-cost model would leave.
With ``--before SRC`` (the ``src`` folder of an older checkout, e.g. ``git worktree add``),
every ensemble also runs with that code in the same rounds, and the speed-up is printed.
Per-core rates (CPU seconds) hold on a shared machine; wall-clock rates do not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_screen import (  # noqa: E402
    chemprop_predict,
    find_chemprop,
    floor,
    library_smiles,
    loadavg,
    print_profile,
    profile_chunks,
    screen,
    write_library,
)

DEFAULT_LIBRARY = Path("/work/shared/data/muv.csv.gz")
DEFAULT_OUT = Path(__file__).resolve().parent / "out" / "fast_models"
GOAL_RATE, GOAL_STARTUP = 1000.0, 5.0  # molecules per CPU-second; CPU-seconds
GOAL_CHEMPROP = 2.0  # default screening models / chemprop predict, molecules per CPU-second
CHEMPROP = "chemprop predict"


#: after `make run`: the old default screening ensemble and the new one (random split)
DEFAULT_ENSEMBLES = [
    "old=results/tox21/models/snn/random,results/tox21/models/gine/random,results/tox21/models/rf/random",
    "both_fast=results/tox21/models/snn_fast/random,results/tox21/models/fnn_bn_fast/random",
    "new=results/tox21/models/fnn_bn_fast/random",
]


def parse_ensemble(text: str) -> tuple[str, list[Path]]:
    """``NAME=DIR[,DIR...]`` -> (name, existing folders of trained models)."""
    name, sep, paths = text.partition("=")
    dirs = [Path(p) for p in paths.split(",") if p]
    if not sep or not dirs or not all(d.is_dir() for d in dirs):
        raise argparse.ArgumentTypeError(
            f"--ensemble NAME=DIR[,DIR...] with existing DIRs, got {text!r}"
        )
    return name, dirs


def stage_members(name: str, dirs: list[Path], out: Path) -> Path:
    """One folder holding every model folder found under ``dirs`` (hard links, or copies
    across file systems), so one ``molprobe screen --models`` sees the whole ensemble."""
    if len(dirs) == 1:
        return dirs[0]
    staged = out / f"members_{name}"
    shutil.rmtree(staged, ignore_errors=True)
    for i, meta in enumerate(sorted(m for d in dirs for m in d.rglob("meta.json"))):
        target = staged / f"{i:02d}_{meta.parent.name}"
        target.mkdir(parents=True)
        for f in meta.parent.iterdir():
            if f.is_file():
                try:
                    os.link(f, target / f.name)
                except OSError:
                    shutil.copy2(f, target / f.name)
    return staged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ensemble", type=parse_ensemble, action="append",
                   help="NAME=DIR[,DIR...] of trained model folders (repeat; the first is the "
                   "reference; default: old and new default screening models)")  # fmt: skip
    p.add_argument("--n", type=int, default=10_000, help="library molecules")
    p.add_argument("--library", type=Path, default=DEFAULT_LIBRARY, help="CSV(.gz), smiles col")
    p.add_argument("--chunk-size", type=int, default=1000, help="rows per chunk")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="libraries and screen outputs")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--chemprop", default="chemprop", help="chemprop executable (own venv)")
    p.add_argument("--chemprop-model", type=Path, default=None,
                   help="chemprop model (.pt); default: from benchmarks/bench_chemprop.py")  # fmt: skip
    p.add_argument("--before", type=Path, default=None, metavar="SRC",
                   help="the src folder of another checkout (e.g. a git worktree of an older "
                   "commit): every ensemble also runs with that code, interleaved")  # fmt: skip
    p.add_argument("--profile", action="store_true",
                   help="also time the pipeline's pieces per ensemble (in-process, one thread) "
                   "and print the per-core ceiling with a zero-cost model")  # fmt: skip
    args = p.parse_args(argv)
    if not args.ensemble:
        try:
            args.ensemble = [parse_ensemble(e) for e in DEFAULT_ENSEMBLES]
        except argparse.ArgumentTypeError as err:
            p.error(f"{err}: run `make run` first or pass --ensemble")

    args.out.mkdir(parents=True, exist_ok=True)
    smiles = library_smiles(args.library, args.n)
    big = write_library(smiles, args.out / f"library_{args.n}.csv.gz")
    tiny = write_library(smiles[:10], args.out / "library_10.csv.gz")
    args.ensemble = [(name, stage_members(name, dirs, args.out)) for name, dirs in args.ensemble]
    members = {name: len(list(d.rglob("meta.json"))) for name, d in args.ensemble}
    runs = [(name, d, None) for name, d in args.ensemble]  # (row name, models, src)
    if args.before is not None:
        runs += [(f"{name} @before", d, args.before) for name, d in args.ensemble]
        members.update({f"{name} @before": members[name] for name, _ in args.ensemble})
    print(f"{args.n} molecules of {args.library.name}, chunk {args.chunk_size}, "
          f"{args.rounds} rounds; members: {members}; load {loadavg()}")  # fmt: skip
    chemprop = find_chemprop(args.chemprop, args.chemprop_model)
    if chemprop is None:
        print("chemprop (or a chemprop model) not found: the chemprop ratio is skipped")
    cpu: dict[str, list[float]] = {"floor": []}
    names = [name for name, _, _ in runs] + ([CHEMPROP] if chemprop else [])
    for name in names:
        cpu[name], cpu[f"{name} start-up"] = [], []
    for r in range(args.rounds):
        cpu["floor"].append(floor(smiles)[1])
        for name, models, src in runs:
            stem = name.replace(" @", "_")
            run = screen(models, big, args.out / f"{stem}.parquet", args.chunk_size, 1, src)
            cpu[name].append(run.cpu_seconds)
            start = screen(models, tiny, args.out / f"{stem}_10.parquet", args.chunk_size, 1, src)
            cpu[f"{name} start-up"].append(start.cpu_seconds)
        if chemprop is not None:
            cpu[CHEMPROP].append(chemprop_predict(*chemprop, big, args.out / "cp.csv")[1])
            cpu[f"{CHEMPROP} start-up"].append(
                chemprop_predict(*chemprop, tiny, args.out / "cp_10.csv")[1]
            )
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in cpu.items())
              + f" CPU-s; load {loadavg()}")  # fmt: skip
    med = {k: statistics.median(v) for k, v in cpu.items()}
    n = len(smiles)
    rows = {"floor": {"cpu_s": med["floor"], "rate": n / med["floor"]}}
    members[CHEMPROP] = 1
    for name in names:
        start = med[f"{name} start-up"]
        rows[name] = {"members": members[name], "cpu_s": med[name], "startup_cpu_s": start,
                      "rate": n / med[name], "rate_net": n / max(med[name] - start, 1e-9)}  # fmt: skip
    ref = args.ensemble[0][0]
    print(f"\n{'run':24s} {'members':>7s} {'CPU s':>7s} {'start-up':>8s} "
          f"{'mol/CPU-s':>9s} {'net':>7s} {'/floor':>6s} {'/' + ref:>8s}")  # fmt: skip
    print(f"{'floor: parse + ECFP4':24s} {'':>7s} {med['floor']:7.1f} {'':>8s} "
          f"{rows['floor']['rate']:9.0f} {'':>7s} {1:6.2f}")  # fmt: skip
    for name in names:
        r = rows[name]
        print(f"{name:24s} {r['members']:7d} {r['cpu_s']:7.1f} {r['startup_cpu_s']:8.1f} "
              f"{r['rate']:9.0f} {r['rate_net']:7.0f} {r['rate'] / rows['floor']['rate']:6.3f} "
              f"{r['rate'] / rows[ref]['rate']:8.1f}x")  # fmt: skip
    for name, _ in args.ensemble if len(args.ensemble) == 1 else args.ensemble[1:]:
        r = rows[name]
        print(f"\ngoal ({name}): >= {GOAL_RATE:.0f} mol per CPU-s end to end: {r['rate']:.0f} "
              f"({'met' if r['rate'] >= GOAL_RATE else 'not met'}; net of start-up "
              f"{r['rate_net']:.0f}); start-up <= {GOAL_STARTUP:.0f} CPU-s: "
              f"{r['startup_cpu_s']:.1f} ({'met' if r['startup_cpu_s'] <= GOAL_STARTUP else 'not met'})")  # fmt: skip
    for name, _, _ in runs:
        r = rows[name]
        print(f"core-hours per 10^9 molecules ({name}, net of start-up): "
              f"{1e9 / r['rate_net'] / 3600:,.0f}")  # fmt: skip
        if chemprop is not None:
            ratio = r["rate"] / rows[CHEMPROP]["rate"]
            print(f"{name} / chemprop predict, mol per CPU-s end to end: {ratio:.2f} "
                  f"(net {r['rate_net'] / rows[CHEMPROP]['rate_net']:.2f}; goal >= "
                  f"{GOAL_CHEMPROP:.0f}: {'met' if ratio >= GOAL_CHEMPROP else 'not met'})")  # fmt: skip
    for name, _ in args.ensemble if args.before is not None else []:
        now, was = rows[name], rows[f"{name} @before"]
        print(f"{name}: this code / {args.before}, mol per CPU-s end to end "
              f"{now['rate'] / was['rate']:.3f}, net of start-up "
              f"{now['rate_net'] / was['rate_net']:.3f}; start-up {was['startup_cpu_s']:.2f} -> "
              f"{now['startup_cpu_s']:.2f} CPU-s")  # fmt: skip
    profiles = {}
    for name, models in args.ensemble if args.profile else []:
        profiles[name] = profile_chunks(models, big, args.chunk_size)
        print_profile(name, profiles[name], med["floor"] / n)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {"n": n, "cpu_seconds": cpu, "rows": rows, "profile": profiles}
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
