"""A 10^6-molecule screen end to end, in constant memory, with peak RSS sampled.

    .venv/bin/python benchmarks/bench_library.py [--n 1000000] [--workers 2]
        [--chunk-size 10000] [--epochs 2] [--families fnn_bn_fast] [--seeds 0 1 2]
        [--out benchmarks/out/library]

1. Library: the unique structures of MUV and HIV (canonical SMILES, ~134k), then randomized
   SMILES of them (RDKit ``MolToRandomSmilesVect``, round robin, one seed per row) until ``--n`` rows: every row
   is a different string, so nothing is cached by text. Written once as gzipped CSV (smiles,
   id) and reused.
2. Models: the default screening models (config ``screen.models``, today ``fnn_bn_fast``:
   4 x 512 FNN-BN on ECFP4 bits + the 45 fast descriptors) or ``--families`` (any of config
   ``models:``, e.g. all five ``snn fnn_bn gine attentivefp rf``, or ``snn_ecfp``, the ECFP-only
   SNN of the earlier run), seeds ``--seeds``, trained on Tox21 with the workflow's features
   and params but ``--epochs`` epochs (cached): screening speed depends on the architecture
   and inputs, not on how long the weights were trained. Each member's domain reference is
   every Tox21 molecule, as for the workflow's final models.
3. ``molprobe screen --workers W`` as one subprocess (one torch thread per process): the
   parent owns the models, W workers featurize. Every 0.5 s the process tree is sampled: the
   summed RSS and the number of finished parts (molecules screened), so memory can be read
   against progress. CPU seconds are the tree's user + system time.
4. Start-up: the same screen on a 10-molecule library (CPU seconds before any molecule).
5. Floor: RDKit parse + Morgan ECFP4 (2048 bits) in process, one core, on 10,000 rows.

Prints a table and writes ``result.json`` (and ``result-<families>-<n>-w<workers>.json``,
kept per run): molecules per CPU-second (end to end and net of
start-up), core-hours per 10^9 molecules (both), peak RSS and the RSS ratio between the last and the
first decile of progress (1.0 = constant memory).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rdkit import Chem, RDLogger

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_screen import floor, tree_rss  # noqa: E402

RDLogger.DisableLog("rdApp.*")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = Path(os.environ.get("MOLPROBE_MIRROR", "/work/shared/data"))
SOURCES = ("muv.csv.gz", "hiv.csv.gz")  # unlabeled structures only: no labels are read
REFERENCE_FILE = "train_smiles.txt"  # molprobe.screening.ensemble.REFERENCE_FILE


def molprobe(*argv: str, log: Path) -> None:
    cmd = [str(BIN / "molprobe"), *argv]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")


# --------------------------------------------------------------------------- library


def base_structures() -> list[str]:
    """Unique canonical SMILES of the MUV and HIV structures (parsable ones), in file order."""
    seen: dict[str, None] = {}
    for name in SOURCES:
        frame = pd.read_csv(DATA / name, usecols=["smiles"], dtype=str, keep_default_na=False)
        for s in frame["smiles"]:
            mol = Chem.MolFromSmiles(s)
            if mol is not None:
                seen.setdefault(Chem.MolToSmiles(mol), None)
    return list(seen)


def build_library(path: Path, n: int, seed: int = 0, base: list[str] | None = None) -> Path:
    """``n`` rows: the base structures (default: MUV + HIV), then randomized SMILES of them,
    round robin."""
    if path.exists():
        return path
    base = base_structures() if base is None else base
    mols = [Chem.MolFromSmiles(s) for s in base]
    tmp = path.with_suffix(".tmp")
    t0 = time.perf_counter()
    with gzip.open(tmp, "wt", newline="", compresslevel=1) as fh:
        w = csv.writer(fh)
        w.writerow(["smiles", "id"])
        for i in range(n):
            k = i % len(base)
            if i < len(base):
                smi = base[k]
            else:
                # one seed per row: reproducible (RDKit's global seed does not fix doRandom)
                rng = (seed * 1_000_003 + i) % 2**31
                smi = Chem.MolToRandomSmilesVect(mols[k], 1, randomSeed=rng)[0]
            w.writerow((smi, f"m{i}"))
    tmp.rename(path)
    print(f"  library: {n:,} rows from {len(base):,} structures ({time.perf_counter() - t0:.0f} s)")
    return path


# --------------------------------------------------------------------------- models

#: families not in config/config.yaml ``models:``: the ECFP-only SNN of the earlier 10^6 run
EXTRA_FAMILIES = {"snn_ecfp": {"model": "snn", "features": ["ecfp"], "params": {}}}


def family_spec(name: str, config: dict) -> dict:
    """``{"model", "features", "params"}`` of a family: config ``models:`` (the workflow's
    features and params) or EXTRA_FAMILIES."""
    if name in EXTRA_FAMILIES:
        return EXTRA_FAMILIES[name]
    entry = config["models"][name]
    return {"model": name, "features": list(entry["features"]), "params": entry.get("params") or {}}


def feature_file(featurizer: str) -> str:
    return "graphs.pt" if featurizer == "graph" else f"{featurizer}.npz"


def train_members(cache: Path, families: list[str], seeds: list[int], epochs: int,
                  config: dict) -> Path:  # fmt: skip
    """Every family x seed trained on Tox21 with the workflow's features and params (config
    ``models:``) and ``--epochs`` epochs, cached; returns the folder holding all members.

    Split 0.9 / 0.05 / 0.05 (random, seed 0; validation only for the training loop); each
    member's domain reference is then every labeled molecule, as for the workflow's final
    models (``molprobe train-final``), so the domain check costs what a chemist's does."""
    data, models = cache / "tox21", cache / "models" / f"epochs{epochs}"
    data.mkdir(parents=True, exist_ok=True)
    log = cache / "train.log"
    mols, split = data / "molecules.parquet", data / "split.json"
    steps = [
        (mols, ["standardize", str(DATA / "tox21.csv.gz"), "--output", str(mols),
                "--rejected", str(data / "rejected.csv")]),
        (split, ["split", str(mols), "--method", "random", "--seed", "0",
                 "--fractions", "0.9", "0.05", "0.05", "--output", str(split)]),
    ]  # fmt: skip
    specs = {name: family_spec(name, config) for name in families}
    for f in sorted({f for spec in specs.values() for f in spec["features"]}):
        params = [f"{k}={json.dumps(v)}" for k, v in (config["featurizers"].get(f) or {}).items()]
        argv = ["featurize", str(mols), "--featurizer", f, "--output", str(data / feature_file(f))]
        steps.append((data / feature_file(f), argv + [a for p in params for a in ("--param", p)]))
    for name, spec in specs.items():
        for seed in seeds:
            out = models / name / f"seed{seed}"
            argv = ["train", "--model", spec["model"], "--molecules", str(mols), "--split",
                    str(split), "--threads", "1", "--seed", str(seed), "--epochs", str(epochs),
                    "--output-dir", str(out), "--device", "cpu"]  # fmt: skip
            for f in spec["features"]:
                argv += ["--features", str(data / feature_file(f))]
            if spec["params"]:
                argv += ["--params", json.dumps({**spec["params"], "epochs": epochs})]
            steps.append((out / "meta.json", argv))
    for target, argv in steps:
        if not target.exists():
            print(f"  molprobe {argv[0]} -> {target.relative_to(cache)}", flush=True)
            molprobe(*argv, log=log)
    smiles = pd.read_parquet(mols, columns=["smiles"])["smiles"].tolist()
    staged = cache / "ensembles" / f"{'+'.join(families)}_epochs{epochs}_seeds{len(seeds)}"
    if staged.exists():
        shutil.rmtree(staged)
    for name in families:  # one folder of hard links, so one `molprobe screen --models`
        for seed in seeds:
            src, dst = models / name / f"seed{seed}", staged / f"{name}_seed{seed}"
            dst.mkdir(parents=True)
            for f in src.iterdir():
                if f.is_file() and f.name != REFERENCE_FILE:
                    os.link(f, dst / f.name)
            (dst / REFERENCE_FILE).write_text("\n".join(smiles) + "\n")
    return staged


# --------------------------------------------------------------------------- measurements


def _sample(pid: int, parts: Path, chunk: int, stop: threading.Event, out: dict) -> None:
    """Every 0.5 s: (seconds, summed RSS MB of the tree, molecules in finished parts, CPU
    seconds of the tree so far), also appended to ``<parts>.series.jsonl`` as it goes (a run
    cut short can still be read); and the last CPU time of every process seen."""
    import psutil

    root, t0 = psutil.Process(pid), time.perf_counter()
    series, cpu = [], {}
    trace = parts.with_name(parts.name + ".series.jsonl").open("w")
    while not stop.is_set():
        total = tree_rss(root, cpu)
        if total is None:
            break
        done = len(list(parts.glob("part-*.parquet"))) * chunk if parts.exists() else 0
        series.append((time.perf_counter() - t0, total / 2**20, done, sum(cpu.values())))
        trace.write(json.dumps(series[-1]) + "\n")
        trace.flush()
        stop.wait(0.5)
    trace.close()
    out["series"], out["cpu"] = series, cpu


def screen(models: Path, library: Path, out: Path, workers: int, chunk: int) -> dict:
    parts = out.with_name(out.name + ".parts")
    for old in parts.glob("*"):
        old.unlink()  # never resume: every chunk is scored in this run
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(BIN / "molprobe"), "screen", "--models", str(models), "--input", str(library),
           "--output", str(out), "--chunk-size", str(chunk), "--workers", str(workers),
           "--no-progress", "--top", "100", "--device", "auto"]  # fmt: skip
    log, stop, sampled = out.with_suffix(".log"), threading.Event(), {}
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        sampler = threading.Thread(target=_sample, args=(proc.pid, parts, chunk, stop, sampled))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{text}")
    cpu = max(usage.ru_utime + usage.ru_stime, sum(sampled.get("cpu", {}).values()))
    line = next((ln for ln in text.splitlines() if "n_in=" in ln), "")
    return {"wall_s": wall, "cpu_s": cpu, "series": sampled.get("series", []), "summary": line}


def floor_rate(library: Path, n: int = 10_000) -> float:
    """Molecules per CPU-second of RDKit parse + ECFP4 (2048 bits) to numpy, one core."""
    smiles = pd.read_csv(library, usecols=["smiles"], nrows=n, dtype=str)["smiles"].tolist()
    return len(smiles) / floor(smiles)[1]


def memory_ratio(series: list, n: int) -> tuple[float, float, float]:
    """(peak RSS MB, median RSS in the first and in the last decile of progress)."""
    rss = np.array([s[1] for s in series])
    done = np.array([s[2] for s in series])
    first = rss[(done > 0) & (done <= 0.1 * n)]
    last = rss[done >= 0.9 * n]
    med = lambda a: float(np.median(a)) if len(a) else float("nan")  # noqa: E731
    return float(rss.max()) if len(rss) else float("nan"), med(first), med(last)


def commit() -> str:
    """The checkout's commit (``+dirty`` with uncommitted changes under src/)."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True)
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=10_000)
    ap.add_argument(
        "--epochs",
        type=int,
        default=2,
        help="training epochs per member (speed does not depend on them)",
    )
    ap.add_argument(
        "--config",
        type=Path,
        default=REPO / "config" / "config.yaml",
        help="workflow config: families' features and params, screen.models",
    )
    ap.add_argument(
        "--families",
        nargs="+",
        default=None,
        help="model families (config models:, or snn_ecfp = the earlier 3 ECFP "
        "SNNs); default: the config's screen.models",
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "library")
    args = ap.parse_args()
    config = yaml.safe_load(args.config.read_text())
    families = args.families or list(config["screen"]["models"])
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"library of {args.n:,} rows, {args.workers} workers, chunks of {args.chunk_size:,}; "
        f"models {families} x seeds {args.seeds}; load {os.getloadavg()}",
        flush=True,
    )
    load_before = os.getloadavg()
    library = build_library(args.out / f"library-{args.n}.csv.gz", args.n)
    tiny = args.out / "tiny.csv.gz"
    with gzip.open(tiny, "wt") as fh:
        fh.write("smiles,id\n" + "".join(f"CCO{'C' * i},t{i}\n" for i in range(10)))
    models = train_members(args.out / "cache", families, args.seeds, args.epochs, config)
    n_members = len(list(models.glob("*/meta.json")))
    start = screen(models, tiny, args.out / "tiny.parquet", args.workers, args.chunk_size)
    floor = floor_rate(library)
    print("  screening ...", flush=True)
    run = screen(models, library, args.out / "hits.parquet", args.workers, args.chunk_size)
    peak, first, last = memory_ratio(run["series"], args.n)
    rate = args.n / run["cpu_s"]
    net = args.n / max(run["cpu_s"] - start["cpu_s"], 1e-9)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "n": args.n,
        "workers": args.workers,
        "chunk_size": args.chunk_size,
        "models": f"{n_members} members: {', '.join(families)} x seeds {args.seeds} "
        f"(Tox21, {args.epochs} epochs, workflow features and params)",
        "families": families,
        "commit": commit(),
        "wall_s": run["wall_s"],
        "cpu_s": run["cpu_s"],
        "startup_cpu_s": start["cpu_s"],
        "mol_per_cpu_s": rate,
        "mol_per_cpu_s_net": net,
        "mol_per_wall_s": args.n / run["wall_s"],
        "core_hours_per_1e9": 1e9 / rate / 3600,
        "core_hours_per_1e9_net": 1e9 / net / 3600,
        "floor_mol_per_cpu_s": floor,
        "ratio_to_floor": rate / floor,
        "peak_rss_mb": peak,
        "rss_first_decile_mb": first,
        "rss_last_decile_mb": last,
        "rss_last_over_first": last / first if first == first and first > 0 else float("nan"),
        "summary": run["summary"],
        "load_average_before": load_before,
        "load_average": os.getloadavg(),
        "mean_cores_used": run["cpu_s"] / run["wall_s"],
        "cpu_count": os.cpu_count(),
    }
    tag = f"{'+'.join(families)}-{args.n}-w{args.workers}"
    (args.out / f"result-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "rss_series.json").write_text(json.dumps(run["series"]) + "\n")
    print(f"\n{result['models']}; commit {result['commit']}\n{run['summary']}")
    for key in ("wall_s", "cpu_s", "startup_cpu_s", "mol_per_cpu_s", "mol_per_cpu_s_net",
                "mol_per_wall_s", "mean_cores_used", "core_hours_per_1e9",
                "core_hours_per_1e9_net", "floor_mol_per_cpu_s", "ratio_to_floor",
                "peak_rss_mb", "rss_first_decile_mb", "rss_last_decile_mb",
                "rss_last_over_first"):  # fmt: skip
        print(f"  {key:<24}{result[key]:>14,.3f}")


if __name__ == "__main__":
    main()
