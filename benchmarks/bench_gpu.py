"""The prepared device check of issue 19 item 2: training and screening on a GPU, timed, and
the GPU path's scores against the CPU path's, in one run.

    python benchmarks/bench_gpu.py --data tox21.csv.gz --library muv.csv.gz --out OUT \
        [--device cuda] [--families fnn_bn_fast gine gine_pretrained attentivefp snn] \
        [--epochs 3] [--cpu-epochs 1] [--n-screen 100000] [--workers 1 2 4 8] [--n-equal 2000]

Every step is a ``molprobe`` subprocess, called as the workflow calls it (``--molprobe``,
default ``python -m molprobe.cli``, so the package may sit on PYTHONPATH uninstalled):

1. Data: standardize Tox21 (``--max-rows`` rows, 0 = all), featurize (ECFP, the 217 RDKit
   descriptors, the 45 fast ones, graphs), random split seed 0.
2. Training: each family of ``--families`` with its features and params from
   ``config/config.yaml`` (``models:``), ``--epochs`` epochs without early stopping, on
   ``--device`` and, for ``--cpu-epochs`` epochs, on the CPU with ``--cpu-threads`` torch
   threads: seconds per epoch on each (the runs' ``history.csv``; the first epoch, with CUDA
   start-up, is reported apart). ``gine_pretrained`` starts from random weights here (the
   same architecture as the fine-tuned one: its cost, not its accuracy).
3. Equality: each ``--screen-families`` model, trained on ``--device``, screens the first
   ``--n-equal`` library rows with ``--device`` and with ``--device cpu``: the largest
   absolute difference of any score column (probabilities; tolerance ``--tol``, not
   bitwise: CUDA kernels and mixed precision sum in another order) and whether the same rows
   were scored.
4. Throughput: each family of ``--screen-families`` (default: the screening models and the
   graph-only nets; the 217-descriptor families are CPU-bound, issue 19) screens the first
   ``--n-screen`` library rows on ``--device`` with every ``--workers`` count (featurizing
   processes): wall molecules/s and the process tree's CPU seconds; the worker count past
   which molecules/s stops rising is the number of featurizing cores that saturate one
   device for that family.

Prints one table per step and writes ``OUT/result.json``. On a CPU-only machine
``--device cpu`` runs the same steps (step 3 then compares the CPU path with itself).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_library import feature_file  # noqa: E402
from bench_screen import timed_run  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FEATURIZERS = ("ecfp", "descriptors", "descriptors_fast", "graph")  # every family's inputs
DEFAULT_FAMILIES = ["fnn_bn_fast", "gine", "gine_pretrained", "attentivefp", "snn"]
SCREEN_FAMILIES = ["fnn_bn_fast", "gine_pretrained", "attentivefp"]  # no 217-descriptor input


def run(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run ``cmd`` (output to ``log``); stop with the log's tail on failure. Returns (wall s,
    CPU s of the process tree, :func:`bench_screen.timed_run`)."""
    t = timed_run(cmd, log)
    if t.returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        sys.exit(f"failed: {shlex.join(cmd)}\n" + "\n".join(tail))
    return t.seconds, t.cpu_seconds


def prepare_data(mp: list[str], args, work: Path, config: dict) -> dict[str, Path]:
    """Standardized Tox21, its features and the random seed-0 split (cached in ``work``)."""
    entry = config["datasets"]["tox21"]
    raw = args.data
    if args.max_rows:
        raw = work / "tox21_head.csv"
        if not raw.exists():
            pd.read_csv(args.data, nrows=args.max_rows).to_csv(raw, index=False)
    paths = {"molecules": work / "molecules.parquet", "summary": work / "standardize.json",
             "split": work / "split.json"}  # fmt: skip
    if not paths["molecules"].exists():
        run([*mp, "standardize", str(raw), "--smiles-column", entry["smiles_column"],
             "--task-type", "classification", "--task-columns", *entry["task_columns"],
             "--output", str(paths["molecules"]), "--rejected", str(work / "rejected.csv"),
             "--summary", str(paths["summary"]), "--workers", str(args.jobs)],
            work / "standardize.log")  # fmt: skip
    for name in FEATURIZERS:
        paths[name] = work / feature_file(name)
        if not paths[name].exists():
            run([*mp, "featurize", str(paths["molecules"]), "--featurizer", name,
                 "--output", str(paths[name]), "--workers", str(args.jobs)],
                work / f"featurize_{name}.log")  # fmt: skip
    if not paths["split"].exists():
        run([*mp, "split", str(paths["molecules"]), "--method", "random", "--seed", "0",
             "--output", str(paths["split"])], work / "split.log")  # fmt: skip
    return paths


def train(mp, family, entry, data, device, threads, epochs, out: Path) -> dict:
    """One training run of ``family`` on ``device``; seconds per epoch from its history."""
    out.parent.mkdir(parents=True, exist_ok=True)
    params = dict(entry.get("params") or {})
    params.update(epochs=epochs, patience=epochs + 1)
    cmd = [*mp, "train", "--model", family, "--molecules", str(data["molecules"]),
           "--split", str(data["split"]), "--task-type", "classification",
           "--standardize-summary", str(data["summary"]), "--seed", "0",
           "--threads", str(threads), "--device", device, "--output-dir", str(out)]  # fmt: skip
    for f in entry.get("features") or []:
        cmd += ["--features", str(data[f])]
    cmd += ["--params", *(f"{k}={v}" for k, v in params.items())]
    wall, cpu = run(cmd, out.with_suffix(".log"))
    hist = pd.read_csv(out / "history.csv")
    later = hist["seconds"].iloc[1:] if len(hist) > 1 else hist["seconds"]
    metrics = json.loads((out / "metrics.json").read_text())
    return {"family": family, "device": device, "threads": threads, "epochs": len(hist),
            "first_epoch_s": float(hist["seconds"].iloc[0]),
            "s_per_epoch": float(later.mean()), "wall_s": wall, "cpu_s": cpu,
            "valid_roc_auc": metrics["valid"]["mean"].get("roc_auc"),
            "device_used": metrics.get("device")}  # fmt: skip


def screen(mp, models: Path, library: Path, out: Path, device: str, workers: int,
           chunk: int) -> tuple[float, float]:  # fmt: skip
    """``molprobe screen`` of ``library`` with the models under ``models``: (wall s, CPU s)."""
    for p in out.parent.glob(out.name + "*"):  # a clean start: no resumed parts
        if p.is_dir():
            shutil.rmtree(p)
        else:
            p.unlink()
    return run([*mp, "screen", "--models", str(models), "--input", str(library),
                "--output", str(out), "--device", device, "--workers", str(workers),
                "--chunk-size", str(chunk), "--no-progress"], out.with_suffix(".log"))  # fmt: skip


def library_head(library: Path, n: int, work: Path) -> Path:
    """The first ``n`` rows of the library's ``smiles`` column as a CSV (cached)."""
    path = work / f"library_{n}.csv"
    if not path.exists():
        pd.read_csv(library, usecols=["smiles"], nrows=n).to_csv(path, index=False)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="tox21.csv.gz")
    p.add_argument("--library", type=Path, required=True, help="CSV(.gz) with a smiles column")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="cuda")
    p.add_argument("--families", nargs="+", default=DEFAULT_FAMILIES, help="trained and timed")
    p.add_argument(
        "--screen-families",
        nargs="+",
        default=SCREEN_FAMILIES,
        help="of --families: screened for equality and throughput",
    )
    p.add_argument("--jobs", type=int, default=1, help="standardize/featurize processes")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--cpu-epochs", type=int, default=1, help="0: no CPU training runs")
    p.add_argument("--cpu-threads", type=int, default=1)
    p.add_argument("--max-rows", type=int, default=0, help="Tox21 rows (0 = all)")
    p.add_argument("--n-screen", type=int, default=100_000)
    p.add_argument("--n-equal", type=int, default=2_000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--chunk-size", type=int, default=10_000)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    p.add_argument("--molprobe", default=f"{sys.executable} -m molprobe.cli")
    args = p.parse_args()
    mp = shlex.split(args.molprobe)
    config = yaml.safe_load(args.config.read_text())
    work = args.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"machine": platform.node(), "cpus": os.cpu_count(), "device": args.device,
                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    try:
        import torch

        result["torch"] = torch.__version__
        result["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    data = prepare_data(mp, args, work, config)

    rows = []
    for family in args.families:
        entry = (config.get("models") or {}).get(family) or {}
        if entry.get("features") is None:
            sys.exit(f"{family}: no models: entry with features in {args.config}")
        rows.append(train(mp, family, entry, data, args.device, 1, args.epochs,
                          work / "models" / family))  # fmt: skip
        if args.cpu_epochs:
            rows.append(train(mp, family, entry, data, "cpu", args.cpu_threads, args.cpu_epochs,
                              work / "models_cpu" / family))  # fmt: skip
    result["training"] = rows
    print(pd.DataFrame(rows).to_string(index=False))

    equal_lib = library_head(args.library, args.n_equal, work)
    equality = []
    for family in args.screen_families:
        models = work / "models" / family
        outs = {}
        for device in dict.fromkeys((args.device, "cpu")):  # once when --device is cpu
            out = work / "equal" / f"{family}_{device}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            screen(mp, models, equal_lib, out, device, 1, args.chunk_size)
            outs[device] = pd.read_parquet(out)
        a, b = outs[args.device], outs["cpu"]
        cols = [c for c in a.columns if a[c].dtype.kind == "f" and c != "ad_similarity"]
        same_rows = list(a.index) == list(b.index) and a["std_smiles"].equals(b["std_smiles"])
        diff = float((a[cols] - b[cols]).abs().max().max()) if same_rows else float("nan")
        equality.append({"family": family, "rows": len(a), "same_rows": same_rows,
                         "max_abs_diff": diff, "within_tol": same_rows and diff <= args.tol})  # fmt: skip
    result["equality"] = equality
    print(pd.DataFrame(equality).to_string(index=False))

    lib = library_head(args.library, args.n_screen, work)
    speed = []
    for family in args.screen_families:
        for w in args.workers:
            out = work / "screen" / f"{family}_w{w}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            wall, cpu = screen(mp, work / "models" / family, lib, out, args.device, w,
                               args.chunk_size)  # fmt: skip
            n = len(pd.read_parquet(out, columns=["std_smiles"]))
            speed.append({"family": family, "workers": w, "molecules": n, "wall_s": wall,
                          "mol_per_s": n / wall, "cpu_s": cpu, "mol_per_cpu_s": n / cpu})  # fmt: skip
            print(speed[-1], flush=True)
    result["screening"] = speed
    print(pd.DataFrame(speed).to_string(index=False))
    (args.out / "result.json").write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {args.out / 'result.json'}")


if __name__ == "__main__":
    main()
