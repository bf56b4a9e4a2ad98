"""CLI: ``molprobe train`` (one model on one split and seed) and ``molprobe compare``
(collect metrics.json files into a comparison table and plot).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from molprobe.cli.tables import read_molecule_table, task_columns
from molprobe.errors import InputError, MolprobeError

log = logging.getLogger(__name__)


def register(sub) -> None:
    """Add ``train`` and ``compare`` to the `molprobe` parser."""
    from molprobe.models.registry import MODELS

    p = sub.add_parser(
        "train",
        help="train one model on one split and seed; write model, metrics and predictions",
        description="Train a registered model (snn, fnn_bn, gine, attentivefp, lstm, rf, logreg) "
        "and write model.pt|model.skops, meta.json, metrics.json, history.csv, predictions.parquet.",
    )
    p.add_argument("--model", required=True, choices=sorted(MODELS), help="model family")
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--split", type=Path, required=True, help="split JSON (row positions)")
    p.add_argument(
        "--features",
        type=Path,
        action="append",
        required=True,
        help="feature file(s) aligned with the molecules: ecfp.npz / descriptors.npz "
        "(repeat to concatenate), graphs.pt, or tokens.npz",
    )
    p.add_argument(
        "--task-type", choices=("classification", "regression"), default="classification"
    )
    p.add_argument("--tasks", nargs="+", help="task columns (default: all label columns)")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the results")
    p.add_argument(
        "--params",
        nargs="+",
        default=[],
        metavar="JSON|KEY=VALUE",
        help="model hyperparameters and training settings, e.g. n_layers=16 lr=1e-4 "
        "or a JSON object",
    )
    p.add_argument("--epochs", type=int, help="maximum epochs (neural models)")
    p.add_argument("--device", default=None, help="auto (default) | cpu | cuda")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the split's)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--name", help="run name used in comparisons (default: the model name)")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for CIs")
    p.add_argument(
        "--standardize-summary",
        type=Path,
        default=None,
        help="standardize.json of the molecule table: its recipe is saved with the model, so "
        "screening standardizes new molecules the same way",
    )
    p.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "evaluate",
        help="score a trained model directory on a split of a molecule table",
        description="Load a model (refusing features made with a different featurizer) and "
        "write its metrics (with bootstrap CIs) on one part of a split.",
    )
    e.add_argument("--model-dir", type=Path, required=True, help="directory written by train")
    e.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    e.add_argument("--split", type=Path, required=True, help="split JSON (row positions)")
    e.add_argument("--part", choices=("train", "valid", "test"), default="test")
    e.add_argument("--features", type=Path, action="append", required=True)
    e.add_argument("--output", type=Path, required=True, help="metrics JSON to write")
    e.add_argument("--predictions", type=Path, help="also write predictions (.parquet)")
    e.add_argument("--bootstrap", type=int, default=200)
    e.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    e.set_defaults(func=cmd_evaluate)

    c = sub.add_parser(
        "compare",
        help="collect metrics.json files into a model x split x seed table (+ plot)",
    )
    c.add_argument("results", nargs="+", type=Path, help="directories searched for metrics.json")
    c.add_argument("--output", type=Path, required=True, help="comparison.csv to write")
    c.add_argument("--plot", type=Path, help="bar plot (.png / .pdf / .svg)")
    c.add_argument("--metric", help="metric to compare (default: roc_auc or rmse)")
    c.add_argument(
        "--ensemble",
        nargs="*",
        metavar="NAME",
        help="also score the average of these runs' test predictions per split x seed "
        "(no names: all runs)",
    )
    c.set_defaults(func=cmd_compare)


# ----------------------------------------------------------------------------- train


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["n_layers=8", "lr=1e-4", '{"width": 512}']`` -> dict (values parsed as JSON when
    they are valid JSON, else kept as strings)."""
    out: dict[str, Any] = {}
    for item in items or []:
        item = item.strip()
        if not item:
            continue
        if item.startswith("{"):
            try:
                obj = json.loads(item)
            except json.JSONDecodeError as err:
                raise MolprobeError(f"--params: invalid JSON {item!r}: {err}") from None
            if not isinstance(obj, dict):
                raise MolprobeError(f"--params: expected a JSON object, got {item!r}")
            out.update(obj)
            continue
        if "=" not in item:
            raise MolprobeError(f"--params: expected KEY=VALUE or a JSON object, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _read_split(path: Path, n: int):
    from molprobe.training.data import Split

    try:
        split_json = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON: {err}") from None
    if not isinstance(split_json, dict):
        raise InputError(path, "expected a JSON object with train/valid/test lists")
    return split_json, Split.from_dict(split_json, n)


def _predictions_frame(mols, rows: np.ndarray, tasks: list[str], pred: np.ndarray, Y: np.ndarray):
    import pandas as pd

    out = {"mol_id": mols["mol_id"].to_numpy()[rows], "smiles": mols["smiles"].to_numpy()[rows]}
    for t, task in enumerate(tasks):
        out[task] = pred[:, t]
        out[f"{task}_true"] = Y[rows, t]
    return pd.DataFrame(out)


def _read_molecules(path: Path, tasks: list[str] | None):
    """The molecule table (mol_id, smiles required) and its task columns."""
    mols = read_molecule_table(path, ("mol_id", "smiles"))
    return mols, task_columns(mols, path, tasks)


def _load_vector_blocks(
    paths: list[Path], n: int, train_idx: np.ndarray | None, scaler_state: dict | None = None
):
    """Concatenate vector feature files; descriptor blocks are imputed + scaled with
    train-split statistics, or with ``scaler_state`` when given. Returns
    (X float32, specs, scaler state)."""
    from molprobe.chem.featurize import load_features
    from molprobe.training.data import assemble_vectors

    blocks, specs = [], []
    for path in paths:
        X, spec = load_features(path)
        if not isinstance(X, np.ndarray) or spec.get("name") == "tokens":
            raise InputError(path, f"expected vector features, got {spec.get('name')!r}")
        if X.shape[0] != n:
            raise InputError(path, f"{X.shape[0]} rows but the molecule table has {n}")
        blocks.append(X)
        specs.append(spec)
    X, state = assemble_vectors(blocks, specs, scaler_state, train_idx)
    return X, specs, state


def _load_tokens(path: Path, n: int):
    """tokens.npz (``molprobe featurize --featurizer tokens``: ids (n, max_len), 0 = padding)
    -> ((ids, lengths, vocab_size), spec)."""
    from molprobe.chem.featurize import load_features
    from molprobe.chem.tokens import SmilesTokenizer

    ids, spec = load_features(path)
    if not isinstance(ids, np.ndarray) or spec.get("name") != "tokens":
        raise InputError(path, f"expected SMILES tokens, got {spec.get('name')!r} features")
    if ids.shape[0] != n:
        raise InputError(path, f"{ids.shape[0]} rows but the molecule table has {n}")
    vocab_size = SmilesTokenizer.from_spec(spec).vocab_size
    lengths = (ids != 0).sum(axis=1)
    return (ids, lengths, vocab_size), spec


def load_inputs(
    kind: str,
    paths: list[Path],
    n: int,
    train_idx: np.ndarray | None,
    scaler_state: dict | None = None,
):
    """Features of the model's input kind: (features, [spec...], descriptor scaler state).

    Graph nets take the graph file first and optionally vector files after it (e.g.
    descriptors): those become the store's molecule-level inputs, scaled like a vector
    model's (train-split statistics, or ``scaler_state``)."""
    if kind == "vector":
        return _load_vector_blocks(paths, n, train_idx, scaler_state)
    if kind == "graph":
        from molprobe.chem.featurize import load_features

        if not paths:
            raise MolprobeError("graph models need a graph --features file")
        store, spec = load_features(paths[0])
        if isinstance(store, np.ndarray):
            raise InputError(
                paths[0], "expected a graph file (graph.pt) first, got vector features"
            )
        if len(store) != n:
            raise InputError(paths[0], f"{len(store)} graphs but the molecule table has {n}")
        if len(paths) == 1:
            return store, [spec], None
        X, specs, state = _load_vector_blocks(paths[1:], n, train_idx, scaler_state)
        return store.with_mol_features(X), [spec, *specs], state
    if len(paths) != 1:
        raise MolprobeError(f"{kind} models take exactly one --features file, got {len(paths)}")
    feats, spec = _load_tokens(paths[0], n)
    return feats, [spec], None


def _split_name(path: Path, split_json: dict) -> str:
    parent = path.parent.name
    return (
        parent
        if parent and parent not in (".", "splits")
        else str(split_json.get("method", "split"))
    )


def _write_table(path: Path, df, fmt: str) -> None:
    from molprobe.training.checkpoint import write_atomic

    if fmt == "csv":
        write_atomic(path, lambda p: df.to_csv(p, index=False))
    else:
        write_atomic(path, lambda p: df.to_parquet(p, index=False))


def _recipe(summary: Path | None) -> dict | None:
    """The standardization recipe recorded in a standardize.json (None without one)."""
    if summary is None:
        return None
    try:
        return json.loads(summary.read_text())["recipe"]
    except FileNotFoundError:
        raise InputError(summary, "no such file") from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(summary, f"not a standardize.json with a 'recipe': {err}") from None


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    threads_before = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        return _train_command(args)
    finally:
        torch.set_num_threads(threads_before)


def _train_command(args: argparse.Namespace) -> int:
    import dataclasses

    import pandas as pd

    from molprobe.models.registry import get_spec, make_params
    from molprobe.training.checkpoint import (
        CheckpointMeta,
        data_fingerprint,
        save_checkpoint,
        write_atomic,
        write_json,
    )
    from molprobe.training.data import make_source
    from molprobe.training.loop import TRAIN_KEYS, fit, make_train_config, predict
    from molprobe.training.metrics import evaluate

    spec = get_spec(args.model)
    mols, tasks = _read_molecules(args.molecules, args.tasks)
    n = len(mols)
    split_json, split = _read_split(args.split, n)
    Y = mols[tasks].to_numpy(dtype=np.float64)
    if args.task_type == "classification":
        measured = Y[~np.isnan(Y)]
        if not np.isin(measured, (0.0, 1.0)).all():
            raise InputError(args.molecules, "classification labels must be 0/1 (or missing)")

    features, feat_specs, scaler_state = load_inputs(spec.input_kind, args.features, n, split.train)

    overrides = parse_params(args.params)
    model_keys = {f.name for f in dataclasses.fields(spec.params_cls)}
    model_over = {k: v for k, v in overrides.items() if k in model_keys}
    train_over = {k: v for k, v in overrides.items() if k not in model_keys}
    unknown = set(train_over) - TRAIN_KEYS
    if unknown:
        raise MolprobeError(
            f"--params: unknown key(s) {sorted(unknown)}; model {args.model!r} takes "
            f"{sorted(model_keys)}, training takes {sorted(TRAIN_KEYS)}"
        )
    seed = args.seed if args.seed is not None else int(split_json.get("seed", 0))
    for key, value in (
        ("epochs", args.epochs),
        ("device", args.device),
        ("num_threads", args.threads),
    ):
        if value is not None:
            train_over[key] = value
    train_over["seed"] = seed
    params = make_params(args.model, model_over)
    config = make_train_config(args.model, train_over)

    model, result = fit(args.model, params, features, Y, split, args.task_type, config)
    test_pred = predict(model, features, split.test, args.task_type, result.target_scaler)
    valid_pred = predict(model, features, split.valid, args.task_type, result.target_scaler)
    ev_test = evaluate(Y[split.test], test_pred, tasks, args.task_type, args.bootstrap, seed)
    ev_valid = evaluate(Y[split.valid], valid_pred, tasks, args.task_type, args.bootstrap, seed)

    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    split_info = {
        "name": _split_name(args.split, split_json),
        "method": split_json.get("method"),
        "seed": split_json.get("seed"),
        "path": str(args.split),
        "n_train": int(len(split.train)),
        "n_valid": int(len(split.valid)),
        "n_test": int(len(split.test)),
    }
    dims = make_source(features).dims
    train_smiles = mols["smiles"].to_numpy()[split.train].tolist()
    meta = CheckpointMeta(
        model_name=args.model,
        model_class=f"{type(model).__module__}.{type(model).__qualname__}",
        hyperparameters=dataclasses.asdict(params),
        input_dims=dataclasses.asdict(dims),
        featurizers=feat_specs,
        task_names=tasks,
        task_type=args.task_type,
        descriptor_scaler=scaler_state,
        target_scaler=result.target_scaler.to_dict() if result.target_scaler else None,
        train_config=dataclasses.asdict(config),
        data_fingerprint=data_fingerprint(train_smiles, Y[split.train]),
        split=split_info,
        seed=seed,
        best_epoch=result.best_epoch,
        standardize_recipe=_recipe(args.standardize_summary),
    )
    save_checkpoint(out, model, meta)
    # the training molecules: the applicability-domain reference used when screening
    text = "\n".join(train_smiles) + "\n"
    write_atomic(out / "train_smiles.txt", lambda path: path.write_text(text))

    metrics = {
        "name": args.name or args.model,
        "model": args.model,
        "hyperparameters": dataclasses.asdict(params),
        "split": split_info,
        "seed": seed,
        "task_type": args.task_type,
        "device": result.device,
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "seconds": result.seconds,
        "seconds_per_epoch": result.seconds_per_epoch,
        "test": ev_test.to_dict(),
        "valid": ev_valid.to_dict(),
    }
    write_json(out / "metrics.json", metrics)
    _write_table(out / "history.csv", pd.DataFrame(result.history), "csv")

    pred = _predictions_frame(mols, split.test, tasks, test_pred, Y)
    _write_table(out / "predictions.parquet", pred, "parquet")
    key = "roc_auc" if args.task_type == "classification" else "rmse"
    print(
        f"{args.model} {split_info['name']} seed {seed}: test mean {key} "
        f"{ev_test.mean[key]:.3f} [{ev_test.mean_ci_low[key]:.3f}, {ev_test.mean_ci_high[key]:.3f}] "
        f"({len(result.history)} epochs, {result.seconds:.1f} s on {result.device})"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from molprobe.models.registry import get_spec
    from molprobe.training.checkpoint import load_model, read_meta, write_json
    from molprobe.training.loop import predict
    from molprobe.training.losses import TargetScaler
    from molprobe.training.metrics import evaluate

    meta = read_meta(args.model_dir)
    mols, tasks = _read_molecules(args.molecules, meta.task_names)
    split_json, split = _read_split(args.split, len(mols))
    kind = get_spec(meta.model_name).input_kind
    features, specs, _ = load_inputs(
        kind, args.features, len(mols), None, scaler_state=meta.descriptor_scaler
    )
    loaded = load_model(args.model_dir, expected_featurizer=specs)
    rows = getattr(split, args.part)
    Y = mols[tasks].to_numpy(dtype=np.float64)
    scaler = TargetScaler.from_dict(meta.target_scaler) if meta.target_scaler else None
    pred = predict(loaded.model, features, rows, meta.task_type, scaler)
    ev = evaluate(Y[rows], pred, tasks, meta.task_type, args.bootstrap, args.seed)
    write_json(
        args.output,
        {
            "model": meta.model_name,
            "model_dir": str(args.model_dir),
            "split": {
                "path": str(args.split),
                "method": split_json.get("method"),
                "part": args.part,
            },
            "task_type": meta.task_type,
            args.part: ev.to_dict(),
        },
    )
    if args.predictions:
        _write_table(args.predictions, _predictions_frame(mols, rows, tasks, pred, Y), "parquet")
    key = "roc_auc" if meta.task_type == "classification" else "rmse"
    print(
        f"{meta.model_name} on {args.part} ({len(rows)} molecules): mean {key} {ev.mean[key]:.3f}"
    )
    return 0


# ----------------------------------------------------------------------------- compare


def collect_metrics(dirs: list[Path], metric: str | None = None):
    """All metrics.json below ``dirs`` -> (runs DataFrame, summary DataFrame).

    runs: name, model, split, seed, metric, value, ci_low, ci_high (test split, task mean).
    summary: name, model, split, metric, mean, std (across seeds, ddof=1), n_seeds.
    """
    import pandas as pd

    rows = []
    files = sorted({p for d in dirs for p in Path(d).rglob("metrics.json")})
    for path in files:
        try:
            m = json.loads(path.read_text())
            test = m["test"]
            key = metric or (
                "roc_auc" if m.get("task_type", "classification") == "classification" else "rmse"
            )
            rows.append(
                {
                    "name": m.get("name", m["model"]),
                    "model": m["model"],
                    "split": m["split"]["name"],
                    "seed": m["seed"],
                    "metric": key,
                    "value": test["mean"].get(key),
                    "ci_low": test["mean_ci_low"].get(key),
                    "ci_high": test["mean_ci_high"].get(key),
                    "path": str(path.parent),
                }
            )
        except (KeyError, TypeError, json.JSONDecodeError) as err:
            raise InputError(path, f"not a molprobe metrics file ({err})") from None
    if not rows:
        raise MolprobeError(f"no metrics.json found below {[str(d) for d in dirs]}")
    runs = pd.DataFrame(rows).sort_values(["split", "name", "seed"]).reset_index(drop=True)
    runs["value"] = runs["value"].astype(float)
    return runs, summarize(runs)


def summarize(runs):
    """Mean and std (ddof=1) of the test metric across seeds per name x model x split."""
    summary = (
        runs.groupby(["name", "model", "split", "metric"], sort=True)["value"]
        .agg(mean="mean", std="std", n_seeds="count")
        .reset_index()
    )
    return summary


def ensemble_runs(runs, names: list[str] | None, n_bootstrap: int = 200):
    """Average the test predictions (predictions.parquet) of the runs named ``names`` (all
    when empty/None) per split x seed and score the average: rows named ``ensemble``."""
    import pandas as pd

    from molprobe.training.metrics import evaluate

    rows = []
    chosen = runs if not names else runs[runs["name"].isin(names)]
    for (split, seed), group in chosen.groupby(["split", "seed"]):
        if group["name"].nunique() < 2:
            continue
        frames = []
        for _, r in group.iterrows():
            path = Path(r["path"]) / "predictions.parquet"
            if path.is_file():
                frames.append(pd.read_parquet(path).set_index("mol_id").sort_index())
        if len(frames) < 2:
            continue
        common = frames[0].index
        for f in frames[1:]:
            common = common.intersection(f.index)
        tasks = [c[: -len("_true")] for c in frames[0].columns if c.endswith("_true")]
        pred = np.mean([f.loc[common, tasks].to_numpy(dtype=float) for f in frames], axis=0)
        truth = frames[0].loc[common, [f"{t}_true" for t in tasks]].to_numpy(dtype=float)
        metric = group["metric"].iloc[0]
        task_type = "regression" if metric in ("rmse", "mae", "r2") else "classification"
        ev = evaluate(truth, pred, tasks, task_type, n_bootstrap, int(seed))
        rows.append(
            {
                "name": "ensemble",
                "model": "ensemble",
                "split": split,
                "seed": seed,
                "metric": metric,
                "value": ev.mean[metric],
                "ci_low": ev.mean_ci_low[metric],
                "ci_high": ev.mean_ci_high[metric],
                "path": ";".join(sorted(group["name"])),
            }
        )
    return pd.DataFrame(rows)


def plot_comparison(summary, path: Path, runs=None) -> None:
    """Grouped bars: one group per split, one bar per run name, error bars = std across
    seeds (or the bootstrap CI for a single seed); colours by model family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from molprobe.reporting.plots import model_colour
    from molprobe.training.checkpoint import write_atomic

    splits = list(dict.fromkeys(summary["split"]))
    names = list(dict.fromkeys(summary.sort_values(["model", "name"])["name"]))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(splits) * len(names) * 0.5 + 2), 4))
    hatches = ["", "//", "..", "xx", "\\\\", "oo"]
    family_seen: dict[str, int] = {}
    for j, name in enumerate(names):
        sub = summary[summary["name"] == name].set_index("split")
        family = sub["model"].iloc[0]
        k = family_seen.setdefault(family, 0)
        family_seen[family] = k + 1
        xs, ys, errs = [], [], []
        for i, split in enumerate(splits):
            if split not in sub.index:
                continue
            row = sub.loc[split]
            err = row["std"] if row["n_seeds"] > 1 and math.isfinite(row["std"]) else 0.0
            if row["n_seeds"] == 1 and runs is not None:
                r = runs[(runs["name"] == name) & (runs["split"] == split)].iloc[0]
                if r["ci_low"] is not None and r["ci_high"] is not None:
                    err = [[row["mean"] - float(r["ci_low"])], [float(r["ci_high"]) - row["mean"]]]
            xs.append(i + (j - (len(names) - 1) / 2) * width)
            ys.append(row["mean"])
            errs.append(err)
        for x, y, e in zip(xs, ys, errs, strict=True):
            ax.bar(
                x, y, width * 0.95, yerr=e if not isinstance(e, float) or e > 0 else None,
                color=model_colour(family), hatch=hatches[k % len(hatches)],
                edgecolor="black", linewidth=0.5, capsize=3,
                label=name if x == xs[0] else None,
            )  # fmt: skip
    metric = summary["metric"].iloc[0]
    ax.set_xticks(range(len(splits)))
    ax.set_xticklabels(splits)
    ax.set_ylabel(f"test mean {metric}")
    lo = float(np.nanmin(summary["mean"])) if len(summary) else 0.0
    if metric == "roc_auc":
        ax.set_ylim(max(0.0, min(0.5, lo - 0.05)), 1.0)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(
        "model comparison (error bars: std across seeds, or 95% CI for one seed)", fontsize=8
    )
    fig.tight_layout()
    suffix = path.suffix or ".png"
    write_atomic(path, lambda p: fig.savefig(p, dpi=150, format=suffix.lstrip(".")))
    plt.close(fig)


def cmd_compare(args: argparse.Namespace) -> int:
    import pandas as pd

    runs, summary = collect_metrics(args.results, args.metric)
    if args.ensemble is not None:
        ens = ensemble_runs(runs, args.ensemble)
        if len(ens):
            runs = pd.concat([runs, ens], ignore_index=True)
            summary = summarize(runs)
    agg = summary.rename(columns={"mean": "value"}).assign(
        seed="mean", ci_low=np.nan, ci_high=np.nan
    )
    runs_out = runs.assign(std=np.nan, n_seeds=1)
    cols = [
        "name",
        "model",
        "split",
        "seed",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "std",
        "n_seeds",
    ]
    table = pd.concat([runs_out[cols], agg[cols]], ignore_index=True)
    _write_table(args.output, table, "csv")
    if args.plot:
        plot_comparison(summary, args.plot, runs)
    for _, r in summary.iterrows():
        std = f" ± {r['std']:.3f}" if r["n_seeds"] > 1 else ""
        print(
            f"{r['split']:>10}  {r['name']:<16} {r['metric']} {r['mean']:.3f}{std} (n={r['n_seeds']})"
        )
    return 0
