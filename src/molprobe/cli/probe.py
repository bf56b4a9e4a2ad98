"""CLI: `molprobe concepts` (concept labels of a dataset), `molprobe probe` (probe every
seed of one net family: emergence, controls, erasure, held-out detectors, verdict) and
`molprobe planted` (the instrument's planted positive and negative controls)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.cli.options import add_option, add_workers
from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import atomic_path, write_parquet

log = logging.getLogger(__name__)
# the planted panel's columns shown in verdict.md
PANEL_COLUMNS = ("task", "expected", "seed", "train_seed", "attempts", "emergence_layer", "lo",
                 "hi", "learned_any", "max_gain", "valid_auc", "test_auc")  # fmt: skip


def register(sub) -> None:
    p = sub.add_parser(
        "concepts", help="compute concept labels (groups, centres, pharmacophores, alerts)"
    )
    p.add_argument("molecules", type=Path, help="molecules.parquet (column smiles)")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the concept table")
    add_workers(p)
    p.set_defaults(func=cmd_concepts)

    p = sub.add_parser("probe", help="probe every layer of one net family for concepts")
    add_option(p, "--models", "--model-dirs", dest="model_dirs", metavar="DIR", type=Path, nargs="+", required=True,
               help="trained model directories of one family (one per seed)")  # fmt: skip
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--features", type=Path, action="append", required=True,
                   help="feature file(s) the models were trained on (repeat to concatenate)")  # fmt: skip
    p.add_argument("--concepts", type=Path, required=True, help="directory of `molprobe concepts`")
    p.add_argument("--splits", type=Path, nargs="+", required=True,
                   help="split JSON per model dir (or one for all); probes use its --part")  # fmt: skip
    p.add_argument("--part", default="test", choices=("test", "valid", "valid+test"))
    p.add_argument("--compare-dirs", type=Path, nargs="*", default=[],
                   help="accuracy models of the same family: test ROC-AUC shown beside")  # fmt: skip
    p.add_argument(
        "--planted", type=Path, help="planted.csv of `molprobe planted` (copied, summarised)"
    )
    p.add_argument("--output-dir", type=Path, required=True)
    p.add_argument("--name", help="family name in the tables (default: meta model_name)")
    p.add_argument("--n-random", type=int, default=3, help="random-init copies per trained net")
    p.add_argument("--outer", type=int, default=5, help="outer (scaffold-grouped) folds")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates")
    p.add_argument(
        "--max-molecules", type=int, default=0, help="probe molecules per seed (0 = all)"
    )
    p.add_argument("--no-erasure", action="store_true", help="skip the causal (LEACE) test")
    p.add_argument("--no-controls", action="store_true", help="skip the matched control tasks")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_probe)

    p = sub.add_parser("planted", help="planted controls of the probing instrument")
    p.add_argument("molecules", type=Path, help="molecules.parquet (column smiles)")
    p.add_argument("--output", type=Path, required=True, help="planted.csv")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--n-molecules", type=int, default=1500)
    p.add_argument("--epochs", type=int, help="max training epochs (default: PlantedConfig's)")
    p.add_argument("--lr", type=float, help="learning rate (default: PlantedConfig's)")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_planted)


def _smiles(path: Path) -> list[str]:
    try:
        return pd.read_parquet(path, columns=["smiles"])["smiles"].tolist()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except (KeyError, ValueError, OSError) as err:
        raise InputError(path, f"cannot read the smiles column ({err})") from None


def cmd_concepts(args: argparse.Namespace) -> int:
    from molprobe.chem.concepts import ConceptOptions, compute_concepts

    table = compute_concepts(_smiles(args.molecules), ConceptOptions(n_jobs=args.workers))
    table.save(args.output_dir)
    print(f"{table.n_molecules} molecules, {len(table.meta)} concepts -> {args.output_dir}")
    return 0


def _probe_rows(split: dict, part: str) -> np.ndarray:
    return np.sort(np.concatenate([np.asarray(split[p], np.int64) for p in part.split("+")]))


def _test_auc(model_dir: Path) -> float:
    try:
        return float(
            json.loads((model_dir / "metrics.json").read_text())["test"]["mean"]["roc_auc"]
        )
    except (OSError, KeyError, TypeError, ValueError):
        return float("nan")


def cmd_probe(args: argparse.Namespace) -> int:
    import torch

    from molprobe.chem.concepts import ConceptTable
    from molprobe.models.registry import InputDims, build_model, get_spec, make_params
    from molprobe.probing.emergence import EmergenceConfig
    from molprobe.probing.plots import plot_concept_heatmap, plot_emergence_curves
    from molprobe.probing.run import ProbedNet, ProbeRunConfig, probe_models
    from molprobe.training.checkpoint import load_model
    from molprobe.training.data import BatchLoader, make_source
    from molprobe.training.device import resolve_device
    from molprobe.training.features import load_inputs
    from molprobe.training.tables import read_labelled_molecules

    if args.threads:
        torch.set_num_threads(args.threads)
    if len(args.splits) not in (1, len(args.model_dirs)):
        raise MolprobeError("--splits takes one file, or one per --models entry")
    device = resolve_device(args.device)
    mols, tasks = read_labelled_molecules(args.molecules, None)
    table = ConceptTable.load(args.concepts)
    if table.n_molecules != len(mols) or table.smiles != mols["smiles"].tolist():
        raise InputError(args.concepts, "concept table does not match the molecule table")
    rng = np.random.default_rng(args.seed)
    nets, name, accuracy = [], args.name, []
    for k, model_dir in enumerate(args.model_dirs):
        split = json.loads(Path(args.splits[min(k, len(args.splits) - 1)]).read_text())
        rows = _probe_rows(split, args.part)
        rows = rows[~np.isnan(table.values[rows]).any(1)]  # unparsable molecules have no labels
        if args.max_molecules and len(rows) > args.max_molecules:
            rows = np.sort(rng.choice(rows, args.max_molecules, replace=False))
        loaded = load_model(model_dir)
        meta, model = loaded.meta, loaded.model.to(device)
        name = name or meta.model_name
        kind = get_spec(meta.model_name).input_kind
        if kind == "tokens":
            raise MolprobeError(f"{name}: token models are not probed by `molprobe probe`")
        features, _, _ = load_inputs(
            kind, args.features, len(mols), None, scaler_state=meta.descriptor_scaler
        )
        loader = BatchLoader(
            make_source(features, device), None, torch.as_tensor(rows), batch_size=args.batch_size
        )

        def build(meta=meta):
            params = make_params(meta.model_name, meta.hyperparameters)
            dims = InputDims(**meta.input_dims)
            return build_model(meta.model_name, params, dims, len(meta.task_names))

        y = mols[list(meta.task_names)].to_numpy(np.float64)[rows]
        nets.append(
            ProbedNet(
                int(meta.seed),
                model,
                build,
                [b for b, _ in loader],
                table.select(rows),
                y,
                kind == "graph",
            )
        )
        accuracy.append({"seed": int(meta.seed), "probed_net_test_auc": _test_auc(model_dir)})
    for model_dir in args.compare_dirs:
        seed = json.loads((model_dir / "meta.json").read_text()).get("seed")
        accuracy.append({"seed": seed, "accuracy_model_test_auc": _test_auc(model_dir)})
    cfg = ProbeRunConfig(
        emergence=EmergenceConfig(n_outer=args.outer, n_boot=args.n_boot, seed=args.seed),
        n_random=args.n_random, erasure=not args.no_erasure, controls=not args.no_controls,
        device=str(device),
    )  # fmt: skip
    res = probe_models(nets, name, cfg)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(res.probes, out / "probes.parquet")
    write_parquet(res.neurons, out / "neurons.parquet")
    write_parquet(res.detectors, out / "examples.parquet")
    for frame, fname in ((res.emergence, "emergence.csv"), (res.levels, "levels.csv"),
                         (res.controls, "controls.csv"), (res.erasure, "erasure.csv")):  # fmt: skip
        with atomic_path(out / fname) as tmp:
            frame.to_csv(tmp, index=False)
    plot_concept_heatmap(res.probes, out / "heatmap.png")
    plot_emergence_curves(res.probes, out / "curves.png")
    acc = pd.DataFrame(accuracy).groupby("seed").first().reset_index()
    text = (
        res.verdict
        + "\n"
        + _markdown_table(acc, "Test ROC-AUC: probed probe-clean nets vs accuracy models")
    )
    if args.planted is not None:
        planted = pd.read_csv(args.planted)
        with atomic_path(out / "planted.csv") as tmp:
            planted.to_csv(tmp, index=False)
        cols = [c for c in PANEL_COLUMNS if c in planted.columns]  # older panels lack some
        text += "\n" + _markdown_table(
            planted[cols], "Planted controls of the instrument (GINE on planted labels)"
        )
        if "attempts" in planted.columns and (planted["attempts"] > 1).any():
            redone = planted[planted["attempts"] > 1].itertuples()
            text += "\nRetrained (validation ROC-AUC below the bar on the first seed): "
            text += ", ".join(f"{r.task} seed {r.seed} ({r.attempts} attempts)" for r in redone)
            text += ".\n"
    text += f"\nProbing time: {res.seconds:.0f} s for {len(nets)} seed(s).\n"
    with atomic_path(out / "verdict.md") as tmp:  # last: its presence marks a finished probe
        tmp.write_text(text)
    print(f"probed {len(nets)} net(s) of {name} in {res.seconds:.0f} s -> {out}")
    return 0


def _markdown_table(df: pd.DataFrame, title: str) -> str:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = [
        f"## {title}",
        "",
        "| " + " | ".join(df.columns) + " |",
        "|" + "---|" * len(df.columns),
    ]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def cmd_planted(args: argparse.Namespace) -> int:
    import torch

    from molprobe.probing.planted import PlantedConfig, run_planted

    if args.threads:
        torch.set_num_threads(args.threads)
    given = {"epochs": args.epochs, "lr": args.lr}
    train = {**PlantedConfig().train, **{k: v for k, v in given.items() if v is not None}}
    cfg = PlantedConfig(n_molecules=args.n_molecules, seeds=tuple(args.seeds), train=train)
    summary, _ = run_planted(_smiles(args.molecules), cfg)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.output) as tmp:
        summary.to_csv(tmp, index=False)
    print(summary[[c for c in PANEL_COLUMNS if c not in ("lo", "hi")]].to_string(index=False))
    return 0
