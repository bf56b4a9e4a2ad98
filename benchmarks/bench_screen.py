"""Screening speed and memory, measured in one run against the RDKit floor.

    .venv/bin/python benchmarks/bench_screen.py [--n-small 10000] [--n-large 100000]
        [--library /work/shared/data/muv.csv.gz] [--chunk-size 1000] [--rounds 2]

1. Trains (once; cached under benchmarks/out/screen/) a small Tox21 ensemble with the
   molprobe CLI: three SNNs (default hyperparameters, seeds 0-2, few epochs) and one GINE.
2. Throughput, molecules/s per core, on the first ``--n-small`` library molecules:
   ``floor`` = plain RDKit parse + Morgan ECFP4 (2048 bits) to numpy, in-process, one core;
   ``molprobe screen`` as a subprocess (1 worker, one torch thread) with the SNN ensemble and
   with the GINE, standardization, applicability domain and alerts included. Rates are given
   end to end (process start, model loading, gather) and net of the fixed start-up cost
   (measured on a 10-molecule library). ``chemprop predict`` (its own environment, ``--chemprop``)
   is timed the same way when it and a chemprop model are found.
3. Scaling: the SNN screen with 2 workers vs 1 worker on ``--n-small`` molecules (interleaved,
   start-up included and netted out) and on ``--n-large`` (start-up amortized); load averages
   and CPU seconds are printed, since the machine may be shared.
4. Constant memory: peak RSS of ``molprobe screen`` (1 worker) on ``--n-small`` vs
   ``--n-large`` molecules with the same chunk size (``wait4`` ru_maxrss of the process tree's
   largest process, and the sampled sum over the tree with psutil when installed).
5. A per-chunk profile of the pipeline's pieces (standardize, featurize, model
   forward, domain similarity, alerts, output table) in-process, one thread; the pieces a
   zero-cost model would leave give the ceiling of the per-core ratio.

Runs of (1)-(3) are interleaved over ``--rounds`` rounds; rates are medians over rounds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, RDLogger
from rdkit.Chem import rdFingerprintGenerator

RDLogger.DisableLog("rdApp.*")

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_LIBRARY = Path("/work/shared/data/muv.csv.gz")
DEFAULT_TOX21 = Path("/work/shared/data/tox21.csv.gz")
DEFAULT_CACHE = REPO / "benchmarks" / "out" / "screen"
SNN_SEEDS = (0, 1, 2)
REFERENCE_FILE = "train_smiles.txt"  # molprobe.screening.ensemble.REFERENCE_FILE


# --------------------------------------------------------------------------- models


def molprobe(*argv: str, log: Path | None = None, env: dict | None = None) -> None:
    """Run one `molprobe` CLI command; raise with its output if it fails."""
    cmd = [str(BIN / "molprobe"), *argv]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")


def train_models(cache: Path, tox21: Path, epochs: int) -> dict[str, Path]:
    """Train (or reuse) the Tox21 models; returns {"snn": folder of the 3 SNNs, "gine": dir}."""
    data, models = cache / "tox21", cache / "models"
    data.mkdir(parents=True, exist_ok=True)
    log = cache / "train.log"
    mols, split = data / "molecules.parquet", data / "split.json"
    steps = [
        (mols, ["standardize", str(tox21), "--output", str(mols),
                "--rejected", str(data / "rejected.csv")]),
        (split, ["split", str(mols), "--method", "random", "--seed", "0", "--output", str(split)]),
        (data / "ecfp.npz", ["featurize", str(mols), "--featurizer", "ecfp",
                             "--output", str(data / "ecfp.npz")]),
        (data / "graph.pt", ["featurize", str(mols), "--featurizer", "graph",
                             "--output", str(data / "graph.pt")]),
    ]  # fmt: skip
    common = ["--molecules", str(mols), "--split", str(split), "--threads", "2"]
    for seed in SNN_SEEDS:
        out = models / "snn" / f"seed{seed}"
        steps.append((out / "meta.json", ["train", "--model", "snn", *common, "--seed", str(seed),
                      "--features", str(data / "ecfp.npz"), "--epochs", str(epochs),
                      "--output-dir", str(out)]))  # fmt: skip
    out = models / "gine" / "seed0"
    steps.append((out / "meta.json", ["train", "--model", "gine", *common, "--seed", "0",
                  "--features", str(data / "graph.pt"), "--epochs", str(epochs),
                  "--output-dir", str(out)]))  # fmt: skip
    for target, argv in steps:
        if target.exists():
            continue
        t0 = time.perf_counter()
        print(f"  molprobe {argv[0]} -> {target.relative_to(cache)}", end="", flush=True)
        molprobe(*argv, log=log)
        print(f"  ({time.perf_counter() - t0:.0f} s)")
    _ensure_domain_reference(models, mols, split)
    return {"snn": models / "snn", "gine": out}


def _ensure_domain_reference(models: Path, mols: Path, split: Path) -> None:
    """Write ``train_smiles.txt`` (the applicability-domain reference) into model folders that
    lack it, from the split's train rows, so the domain check costs what it will in production."""
    smiles = pd.read_parquet(mols, columns=["smiles"])["smiles"].to_numpy()
    train = json.loads(split.read_text())["train"]
    for meta in models.rglob("meta.json"):
        ref = meta.parent / REFERENCE_FILE
        if not ref.exists():
            print(f"  note: {ref.parent.relative_to(models)} has no {REFERENCE_FILE}; "
                  f"writing the {len(train)} train SMILES (molprobe train does not yet)")  # fmt: skip
            ref.write_text("\n".join(smiles[train]) + "\n")


# --------------------------------------------------------------------------- libraries


def library_smiles(path: Path, n: int) -> list[str]:
    """The first ``n`` SMILES of ``path`` (column ``smiles``), repeated when the file is shorter."""
    frame = pd.read_csv(path, usecols=["smiles"], nrows=n, dtype=str, keep_default_na=False)
    base = frame["smiles"].tolist()
    if not base:
        raise SystemExit(f"{path}: no SMILES")
    return (base * (n // len(base) + 1))[:n]


def write_library(smiles: list[str], path: Path) -> Path:
    """A gzipped CSV library with ``smiles`` and ``id`` columns."""
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["smiles", "id"])
            w.writerows((s, f"m{i}") for i, s in enumerate(smiles))
        tmp.rename(path)
    return path


# --------------------------------------------------------------------------- measurements


def floor(smiles: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds for RDKit parse + Morgan ECFP4 (2048 bits) to numpy, one core."""
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    t0, c0 = time.perf_counter(), time.process_time()
    fps = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        if mol is not None:
            fps.append(gen.GetFingerprintAsNumPy(mol))
    np.stack(fps)
    return time.perf_counter() - t0, time.process_time() - c0


@dataclass
class Run:
    seconds: float
    maxrss_mb: float  # wait4 ru_maxrss: largest single process of the tree
    tree_mb: float  # sampled peak of the summed RSS over the process tree (nan without psutil)
    summary: str
    cpu_seconds: float = float("nan")  # user + system CPU time of the process tree


def tree_rss(root, cpu: dict) -> int | None:
    """Summed RSS (bytes) of the psutil process ``root`` and its descendants now, recording
    each one's CPU seconds (user + system) in ``cpu`` by pid; None once the tree is gone."""
    import psutil

    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
            t = p.cpu_times()
            cpu[p.pid] = t.user + t.system
    return total


def _tree_sampler(pid: int, stop: threading.Event, result: dict) -> None:
    """Sample the process tree of ``pid`` every 50 ms: peak summed RSS (MB) and the CPU
    seconds (user + system) of every process seen, last sample per process (psutil)."""
    try:
        import psutil
    except ImportError:
        return
    best, cpu = 0, {}
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        total = tree_rss(root, cpu)
        if total is None:
            break
        best = max(best, total)
        stop.wait(0.05)
    result["tree_mb"] = best / 2**20
    result["cpu"] = cpu


@dataclass
class TimedRun:
    """A finished subprocess: exit code, wall seconds, CPU seconds of its process tree, peak
    RSS of its largest process (wait4) and the sampled peak of the tree's summed RSS (MB)."""

    returncode: int
    seconds: float
    cpu_seconds: float
    maxrss_mb: float
    tree_mb: float


def timed_run(cmd: list[str], log: Path, env: dict | None = None) -> TimedRun:
    """Run ``cmd`` with its output in ``log`` while :func:`_tree_sampler` watches its tree."""
    stop, sampled = threading.Event(), {}
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        sampler = threading.Thread(target=_tree_sampler, args=(proc.pid, stop, sampled))
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        stop.set()
        sampler.join()
    # wait4 counts the process and the children it reaped; pool workers are children of a
    # forkserver, so take the larger of that and the sampled per-process CPU times
    cpu = max(usage.ru_utime + usage.ru_stime, sum(sampled.get("cpu", {}).values()))
    return TimedRun(os.waitstatus_to_exitcode(status), seconds, cpu, usage.ru_maxrss / 1024,
                    sampled.get("tree_mb", float("nan")))  # fmt: skip


def screen(
    models: Path, library: Path, out: Path, chunk: int, workers: int, src: Path | None = None
) -> Run:
    """Run ``molprobe screen`` in a fresh subprocess (one torch thread); time and peak RSS.
    ``src``: the ``src`` folder of another checkout whose molprobe runs (``PYTHONPATH``)."""
    for old in (out.parent / (out.name + ".parts")).glob("*"):
        old.unlink()  # never resume: every run scores every chunk
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if src is not None:
        env["PYTHONPATH"] = str(Path(src).resolve())
    cmd = [str(BIN / "molprobe"), "screen", "--models", str(models), "--input", str(library),
           "--output", str(out), "--chunk-size", str(chunk), "--workers", str(workers),
           "--no-progress", "--top", "100"]  # fmt: skip
    log = out.with_suffix(".log")
    t = timed_run(cmd, log, env)
    text = log.read_text()
    if t.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{text}")
    line = next((ln for ln in text.splitlines() if "n_in=" in ln), "")
    return Run(t.seconds, t.maxrss_mb, t.tree_mb, line, t.cpu_seconds)


def find_chemprop(exe: str, model: Path | None) -> tuple[str, Path] | None:
    """(chemprop executable, trained chemprop model file) or None when either is missing.

    chemprop lives in its own environment (it pins another RDKit); the default model is the
    first ``best.pt`` that benchmarks/bench_chemprop.py trained on a Tox21 split."""
    path = shutil.which(exe)
    if model is None:
        found = sorted(Path("benchmarks/out/chemprop").rglob("best.pt"))
        model = found[0] if found else None
    if path is None or model is None or not Path(model).is_file():
        return None
    return path, Path(model)


def chemprop_predict(exe: str, model: Path, library: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``chemprop predict`` (one thread, CPU) on the library, process
    start and model loading included, like the molprobe runs. chemprop reads plain CSV only:
    it gets an uncompressed copy (decompression is not counted against it)."""
    if library.suffix == ".gz":
        plain = library.with_suffix("")
        if not plain.exists():
            with gzip.open(library, "rb") as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        library = plain
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [exe, "predict", "--test-path", str(library), "--smiles-columns", "smiles",
           "--model-paths", str(model), "--preds-path", str(out), "--num-workers", "0",
           "--accelerator", "cpu", "--devices", "1"]  # fmt: skip
    with out.with_suffix(".log").open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.with_suffix('.log').read_text()}")
    return seconds, usage.ru_utime + usage.ru_stime


def _bf16_probabilities(model, X: np.ndarray, batch_size: int) -> np.ndarray:
    """What-if: a bfloat16 copy of a vector model (weights and activations), probabilities."""
    import copy

    import torch

    half = copy.deepcopy(model).to(torch.bfloat16).eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            x = torch.as_tensor(X[i : i + batch_size], dtype=torch.bfloat16)
            out.append(torch.sigmoid(half(x).float()).numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


#: the pieces every screened row needs whatever the models are (its output columns)
FIXED_PIECES = ("standardize", "free old mols", "ECFP4 (domain + ECFP members)", "alerts",
                "domain", "output table")  # fmt: skip


def profile_chunks(models: Path, library: Path, chunk: int) -> dict[str, float]:
    """Seconds per piece of the screening pipeline (``featurize_chunk`` then
    ``score_features``, what ``molprobe screen`` runs) summed over the chunks of ``library``,
    in-process, one thread. The pieces repeat the two functions' steps in their order; their
    own totals are timed on the same chunks as a check. ``fixed``: the :data:`FIXED_PIECES`,
    the cost of a screen with a model that costs nothing."""
    import torch

    from molprobe.chem.blocks import raw_block
    from molprobe.chem.io import read_molecules
    from molprobe.chem.standardize import standardize_frame
    from molprobe.inference.inputs import ModelInputs
    from molprobe.screening.domain import fingerprints
    from molprobe.screening.ensemble import EnsembleLoader, find_model_dirs
    from molprobe.screening.pipeline import (
        FeaturePlan,
        alert_names,
        canonical_mols,
        featurize_chunk,
    )
    from molprobe.screening.screen import ECFP4_KEY, score_features, scored_table

    torch.set_num_threads(1)
    ens = EnsembleLoader(tuple(str(d) for d in find_model_dirs([models])))()
    plan = FeaturePlan.of(ens)
    parts = dict.fromkeys(
        ["standardize", "free old mols", "ECFP4 (domain + ECFP members)", "alerts",
         "featurize (model inputs)", "domain", "model forward", "output table"], 0.0
    )  # fmt: skip
    whatif = {"model forward in bfloat16 (what-if)": 0.0}
    bf16_diff, totals, n = 0.0, {"featurize_chunk": 0.0, "score_features": 0.0}, 0

    def timed(piece, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        parts[piece] += time.perf_counter() - t
        return out

    mols = canonical = None
    for index, frame in enumerate(read_molecules(library, id_column="id", chunk_size=chunk)):
        n += len(frame)
        t = time.perf_counter()
        mols = canonical = None  # frees the last chunk's molecules (RDKit's destructor)
        parts["free old mols"] += time.perf_counter() - t
        kept, _ = timed("standardize", standardize_frame, frame, ens.recipe, keep_mols=True)
        mols = kept.pop("mol").tolist()
        std = kept["smiles"].tolist()
        ecfp4 = timed("ECFP4 (domain + ECFP members)", fingerprints, mols)
        alerts = timed("alerts", alert_names, mols)
        blocks: dict[str, object] = {ECFP4_KEY: ecfp4}
        t = time.perf_counter()
        canonical = canonical_mols(mols, kept["input_smiles"].tolist(), std)
        for spec in plan.specs:
            raw_block(spec, std, blocks, canonical, standardized=mols)
        parts["featurize (model inputs)"] += time.perf_counter() - t
        similarity = timed("domain", plan.domain.similarity_from_fingerprints, ecfp4)
        # member scaling + forward: the ensemble's own predict, as score_features calls it
        preds = timed("model forward", ens.predict, std, blocks)  # (M, n, T)
        if ens.task_type == "classification":
            t = time.perf_counter()
            for m, p32 in zip(ens.members, preds, strict=True):
                feats = ModelInputs.from_checkpoint(m).featurize(std, dict(blocks))
                if isinstance(feats, np.ndarray):  # vector members only
                    p16 = _bf16_probabilities(m.model, feats, ens.batch_size)
                    bf16_diff = max(bf16_diff, float(np.abs(p16 - p32).max()))
            whatif["model forward in bfloat16 (what-if)"] += time.perf_counter() - t
        preds = np.asarray(preds, dtype=np.float32)
        timed("output table", scored_table, kept, preds, similarity, alerts, ens, None)
        t = time.perf_counter()  # the real functions on the same chunk: the check
        featurized = featurize_chunk(frame, plan, index)
        totals["featurize_chunk"] += time.perf_counter() - t
        t = time.perf_counter()
        score_features(featurized, ens)
        totals["score_features"] += time.perf_counter() - t
    parts["pieces total"] = sum(parts.values())
    parts["fixed"] = sum(parts[k] for k in FIXED_PIECES)
    parts["pipeline total (featurize_chunk + score_features)"] = sum(totals.values())
    if bf16_diff > 0:
        parts.update(whatif)
        parts["_bf16_max_abs_diff"] = bf16_diff
    parts["_n"] = n
    parts["_n_reference"] = ens.domain.n_reference
    parts["_members"] = len(ens.members)
    return parts


def print_profile(label: str, pr: dict[str, float], floor_s: float) -> float:
    """Print one :func:`profile_chunks` result; returns the per-core ratio ceiling with a
    zero-cost model (``floor_s``: the floor's seconds per molecule)."""
    n, total = pr["_n"], pr["pieces total"]
    print(f"\npipeline profile, {label} ({pr['_members']} member(s), "
          f"{pr['_n_reference']} domain reference molecules), {n} molecules:")  # fmt: skip
    for key, val in pr.items():
        if key.startswith("_") or "total" in key or key == "fixed" or "what-if" in key:
            continue
        print(f"  {key:<32}{val * 1e6 / n:7.0f} us/mol {100 * val / total:5.1f} %"
              f"{' (fixed)' if key in FIXED_PIECES else ''}")  # fmt: skip
    print(f"  {'pieces total':<32}{total * 1e6 / n:7.0f} us/mol   ({n / total:.0f} mol/s)")
    check = pr["pipeline total (featurize_chunk + score_features)"]
    print(f"  {'featurize_chunk + score_features':<32}{check * 1e6 / n:7.0f} us/mol   (the check)")
    for key, val in pr.items():
        if "what-if" in key:
            print(f"  {key}: {val * 1e6 / n:.0f} us/mol, "
                  f"max |probability difference| {pr['_bf16_max_abs_diff']:.4f}")  # fmt: skip
    fixed = pr["fixed"] / n  # what a screen costs per molecule with a zero-cost model
    print(f"  fixed pieces (a zero-cost model): {fixed * 1e6:.0f} us/molecule = "
          f"{fixed / floor_s:.2f} floors -> ratio ceiling {floor_s / fixed:.2f} x floor, "
          f"{1 / fixed:.0f} mol per CPU-s in-process")  # fmt: skip
    return floor_s / fixed


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-small", type=int, default=10_000, help="molecules for throughput")
    p.add_argument("--n-large", type=int, default=100_000, help="molecules for the memory run")
    p.add_argument("--library", type=Path, default=DEFAULT_LIBRARY, help="CSV(.gz), smiles col")
    p.add_argument("--tox21", type=Path, default=DEFAULT_TOX21, help="training data")
    p.add_argument("--chunk-size", type=int, default=1000, help="rows per chunk (all runs)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    p.add_argument("--epochs", type=int, default=2, help="training epochs (models are cached)")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="models, libraries, outputs")
    p.add_argument("--skip-large", action="store_true", help="no memory run on --n-large")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--chemprop", default="chemprop", help="chemprop executable (own venv)")
    p.add_argument("--chemprop-model", type=Path, default=None,
                   help="chemprop model (.pt); default: from benchmarks/bench_chemprop.py")  # fmt: skip
    args = p.parse_args(argv)
    cache = args.cache
    runs_dir = cache / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)

    print(f"machine: {os.cpu_count()} CPU cores, load average {loadavg()} (1/5/15 min)")
    print("models (trained once, cached in", cache, "):")
    models = train_models(cache, args.tox21, args.epochs)

    small_smiles = library_smiles(args.library, args.n_small)
    small = write_library(small_smiles, cache / f"library-{args.n_small}.csv.gz")
    tiny = write_library(small_smiles[:10], cache / "library-10.csv.gz")
    large = None
    if not args.skip_large:
        large = write_library(
            library_smiles(args.library, args.n_large), cache / f"library-{args.n_large}.csv.gz"
        )
    n = len(small_smiles)
    print(f"library: first {n} rows of {args.library} (repeated if shorter)")

    # ---- interleaved throughput rounds
    chemprop = find_chemprop(args.chemprop, args.chemprop_model)
    if chemprop is None:
        print("chemprop (or a chemprop model) not found: graph-net vs chemprop predict skipped")
    chunk = args.chunk_size
    snn, gine = models["snn"], models["gine"]
    FLOOR, SNN1, SNN2, GINE1 = (
        "floor (RDKit parse + ECFP4)",
        "screen SNN x3, 1 worker",
        "screen SNN x3, 2 workers",
        "screen GINE, 1 worker",
    )
    tasks = {
        FLOOR: lambda: floor(small_smiles),
        SNN1: lambda: screen(snn, small, runs_dir / "snn1.parquet", chunk, 1),
        SNN2: lambda: screen(snn, small, runs_dir / "snn2.parquet", chunk, 2),
        GINE1: lambda: screen(gine, small, runs_dir / "gine1.parquet", chunk, 1),
        # start-up: the same runs on 10 molecules (chunk 5: both workers start)
        "start-up " + SNN1: lambda: screen(snn, tiny, runs_dir / "t-snn1.parquet", 5, 1),
        "start-up " + SNN2: lambda: screen(snn, tiny, runs_dir / "t-snn2.parquet", 5, 2),
        "start-up " + GINE1: lambda: screen(gine, tiny, runs_dir / "t-gine1.parquet", 5, 1),
    }
    CHEMPROP = "chemprop predict (D-MPNN)"
    if chemprop is not None:
        tasks[CHEMPROP] = lambda: chemprop_predict(*chemprop, small, runs_dir / "chemprop.csv")
        tasks["start-up " + CHEMPROP] = lambda: chemprop_predict(
            *chemprop, tiny, runs_dir / "t-chemprop.csv"
        )
    floor(small_smiles[:500])  # warm-up (imports, RDKit caches)
    load_before = loadavg()
    wall: dict[str, list[float]] = {k: [] for k in tasks}
    cpu: dict[str, list[float]] = {k: [] for k in tasks}
    runs: dict[str, list[Run]] = {k: [] for k in tasks}
    for r in range(args.rounds):
        for name, fn in tasks.items():
            res = fn()
            if isinstance(res, Run):
                runs[name].append(res)
                res = (res.seconds, res.cpu_seconds)
            wall[name].append(res[0])
            cpu[name].append(res[1])
            print(f"  round {r + 1} {name:<38} {res[0]:7.2f} s wall {res[1]:7.2f} s CPU "
                  f"(load {loadavg()})", flush=True)  # fmt: skip
    load_after = loadavg()
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}

    # ---- memory: same chunk size, small vs large
    mem_small = min(runs[SNN1], key=lambda x: x.seconds)
    mem_large = large2 = None
    if large is not None:
        print(f"memory run: {args.n_large} molecules, 1 worker, chunk {chunk} ...", flush=True)
        mem_large = screen(snn, large, runs_dir / "snn-large.parquet", chunk, 1)
        print(f"  {mem_large.seconds:.1f} s wall, {mem_large.cpu_seconds:.1f} s CPU; "
              f"{mem_large.summary}")  # fmt: skip
        print(f"scaling run: {args.n_large} molecules, 2 workers ...", flush=True)
        large2 = screen(snn, large, runs_dir / "snn-large2.parquet", chunk, 2)
        print(f"  {large2.seconds:.1f} s wall, {large2.cpu_seconds:.1f} s CPU; {large2.summary} "
              f"(load {loadavg()})")  # fmt: skip

    # ---- per-chunk profile
    print("profiling the pipeline's pieces (in-process, one thread) ...", flush=True)
    prof = profile_chunks(snn, small, chunk)
    prof_gine = profile_chunks(gine.parent, small, chunk)

    # ---- report
    floor_rate, floor_cpu_rate = n / med[FLOOR], n / med_cpu[FLOOR]
    print(f"\n{n} molecules of {args.library.name}, chunk size {chunk}, "
          f"{args.rounds} interleaved rounds (median)")  # fmt: skip
    print(f"load average before {load_before}, after {load_after} "
          f"({os.cpu_count()} cores; above {os.cpu_count()} the cores are oversubscribed)")  # fmt: skip
    header = f"{'run':<28}{'wall s':>8}{'CPU s':>8}{'mol/s':>8}{'net mol/s':>11}{'mol/CPU-s':>11}"
    print("\n" + header + f"{'/ floor':>9}")
    rates, net, cpu_rates = {}, {}, {}
    for name in (FLOOR, SNN1, SNN2, GINE1, *([CHEMPROP] if chemprop else [])):
        rates[name] = n / med[name]
        cpu_rates[name] = n / med_cpu[name]
        up = med.get("start-up " + name)
        if up is not None:
            net[name] = n / max(med[name] - up, 1e-9)
        nr = f"{net[name]:>11.0f}" if name in net else f"{'':>11}"
        print(f"{name:<28}{med[name]:>8.2f}{med_cpu[name]:>8.1f}{rates[name]:>8.0f}{nr}"
              f"{cpu_rates[name]:>11.0f}{cpu_rates[name] / floor_cpu_rate:>9.2f}")  # fmt: skip
    for name in (SNN1, SNN2, GINE1, *([CHEMPROP] if chemprop else [])):
        up = "start-up " + name
        print(f"{'  start-up (10 mol)':<28}{med[up]:>8.2f}{med_cpu[up]:>8.1f}   <- {name}")
    ratios = {
        "SNN screen / floor, per core (mol/CPU-s)": cpu_rates[SNN1] / floor_cpu_rate,
        "SNN screen / floor, wall, end to end": rates[SNN1] / floor_rate,
        "SNN screen / floor, wall, net of start-up": net[SNN1] / floor_rate,
        "2 workers / 1 worker, wall, end to end": rates[SNN2] / rates[SNN1],
        "2 workers / 1 worker, wall, net of start-up": net[SNN2] / net[SNN1],
        "2 workers / 1 worker, CPU seconds used": med_cpu[SNN2] / med_cpu[SNN1],
        "start-up CPU-s, SNN x3, 1 worker (10 mol)": med_cpu["start-up " + SNN1],
        "start-up CPU-s, SNN x3, 2 workers (10 mol)": med_cpu["start-up " + SNN2],
        "start-up CPU-s, GINE, 1 worker (10 mol)": med_cpu["start-up " + GINE1],
    }
    goals = {
        "SNN screen / floor, per core (mol/CPU-s)": ">= 0.6",
        "2 workers / 1 worker, wall, end to end": ">= 1.7",
        "start-up CPU-s, SNN x3, 1 worker (10 mol)": "<= 5",
    }
    if chemprop is not None:
        key = "GINE screen / chemprop predict, wall, end to end"
        ratios[key], goals[key] = rates[GINE1] / rates[CHEMPROP], ">= 3"
        ratios["GINE screen / chemprop predict, per core (mol/CPU-s)"] = (
            cpu_rates[GINE1] / cpu_rates[CHEMPROP]
        )
        ratios["GINE screen / chemprop predict, wall, net of start-up"] = net[GINE1] / net[CHEMPROP]
    if mem_large is not None:
        key = f"2 workers / 1 worker, wall, {args.n_large} molecules"
        ratios[key], goals[key] = mem_large.seconds / large2.seconds, ">= 1.7"
        key = f"peak RSS, {args.n_large} / {n} molecules"
        ratios[key], goals[key] = mem_large.maxrss_mb / mem_small.maxrss_mb, "<= 1.2"
        print(f"\npeak RSS, 1 worker, chunk {chunk}:")
        for label, run in ((n, mem_small), (args.n_large, mem_large)):
            print(f"  {label:>7} molecules: ru_maxrss {run.maxrss_mb:7.0f} MB, "
                  f"process tree (sampled) {run.tree_mb:7.0f} MB")  # fmt: skip
    print()
    for name, value in ratios.items():
        goal = f"(goal {goals[name]})" if name in goals else ""
        print(f"{name:<46}{value:6.2f}  {goal}")

    floor_s = med[FLOOR] / n
    for label, pr in (("SNN x3", prof), ("GINE", prof_gine)):
        ceiling = print_profile(label, pr, floor_s)
        ratios[f"{label} screen / floor ceiling with a zero-cost model"] = ceiling

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "n": n,
                    "chunk_size": chunk,
                    "cpu_count": os.cpu_count(),
                    "load_before": load_before,
                    "load_after": load_after,
                    "wall_seconds": wall,
                    "cpu_seconds": cpu,
                    "mol_per_s": rates,
                    "net_mol_per_s": net,
                    "mol_per_cpu_s": cpu_rates,
                    "ratios": ratios,
                    "rss_mb": {
                        "small": [mem_small.maxrss_mb, mem_small.tree_mb],
                        "large": [mem_large.maxrss_mb, mem_large.tree_mb] if mem_large else None,
                        "large_2_workers_tree": large2.tree_mb if mem_large else None,
                    },
                    "profile": {"snn": prof, "gine": prof_gine},
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
