"""CLI: `molprobe concepts` (concept labels of a dataset, cached) and `molprobe probe`
(probe every hidden layer of trained models of one family against the concepts, with
random-init copies, neuron detectors, node-level probes for graph nets, figures, verdict)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from molprobe.chem.io import atomic_path
from molprobe.errors import InputError, MolprobeError
from molprobe.fileio import write_parquet

log = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser(
        "concepts", help="compute concept labels (radicals, centres, pharmacophores)"
    )
    p.add_argument("molecules", type=Path, help="molecules.parquet (column smiles)")
    p.add_argument("--output-dir", type=Path, required=True, help="directory for the concept table")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--no-pharm2d", action="store_true", help="skip Gobbi 2D pharmacophores")
    p.add_argument("--timeout", type=float, default=1.0, help="Pharm2D seconds cap per molecule")
    p.add_argument("--max-pharm2d", type=int, default=200, help="most frequent Pharm2D bits kept")
    p.set_defaults(func=cmd_concepts)

    p = sub.add_parser("probe", help="probe every hidden layer of trained models for concepts")
    p.add_argument("--model-dirs", type=Path, nargs="+", required=True,
                   help="trained model directories of one family (one per seed)")  # fmt: skip
    p.add_argument("--molecules", type=Path, required=True, help="molecules.parquet")
    p.add_argument("--features", type=Path, action="append", required=True,
                   help="feature file(s) the models were trained on (repeat to concatenate)")  # fmt: skip
    p.add_argument(
        "--concepts", type=Path, required=True, help="directory from `molprobe concepts`"
    )
    p.add_argument("--splits", type=Path, nargs="+", required=True,
                   help="split JSON per model dir (or one for all); probes use its --part")  # fmt: skip
    p.add_argument("--part", default="test", choices=("test", "valid", "valid+test"))
    p.add_argument("--output-dir", type=Path, required=True)
    p.add_argument("--name", help="model family name in the tables (default: meta model_name)")
    p.add_argument("--n-random", type=int, default=3, help="random-init copies per trained model")
    p.add_argument("--outer", type=int, default=5, help="outer (scaffold-grouped) folds")
    p.add_argument("--inner", type=int, default=3, help="inner folds choosing the L2 penalty")
    p.add_argument("--max-dim", type=int, default=256, help="PCA cap on layer width (0 = none)")
    p.add_argument("--max-pharm2d", type=int, default=60, help="Pharm2D concepts probed")
    p.add_argument(
        "--node-max-atoms", type=int, default=4000, help="atoms for node probes (0 = skip)"
    )
    p.add_argument(
        "--n-detectors", type=int, default=6,
        help="concepts whose best trained detector neuron is shown with its top molecules",
    )  # fmt: skip
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_probe)


def cmd_concepts(args: argparse.Namespace) -> int:
    from molprobe.chem.concepts import ConceptOptions, compute_concepts

    try:
        smiles = pd.read_parquet(args.molecules, columns=["smiles"])["smiles"].tolist()
    except FileNotFoundError:
        raise InputError(args.molecules, "no such file") from None
    except (KeyError, ValueError, OSError) as err:
        raise InputError(args.molecules, f"cannot read the smiles column ({err})") from None
    opts = ConceptOptions(
        pharm2d=not args.no_pharm2d, pharm2d_timeout_s=args.timeout,
        pharm2d_max_kept=args.max_pharm2d, n_jobs=args.jobs,
    )  # fmt: skip
    table = compute_concepts(smiles, opts)
    table.save(args.output_dir)
    print(f"{table.n_molecules} molecules, {len(table.meta)} concepts -> {args.output_dir}")
    return 0


def _probe_rows(split: dict, part: str) -> np.ndarray:
    parts = part.split("+")
    return np.sort(np.concatenate([np.asarray(split[p], np.int64) for p in parts]))


def _batches(model, features, rows: np.ndarray, batch_size: int, device):
    from molprobe.training.data import BatchLoader, make_source

    source = make_source(features, device)
    import torch

    loader = BatchLoader(source, None, torch.as_tensor(rows), batch_size=batch_size)
    return [b for b, _ in loader]


def cmd_probe(args: argparse.Namespace) -> int:  # noqa: C901 - orchestration, step by step
    import torch

    from molprobe.chem.concepts import ConceptTable, atom_environments
    from molprobe.models.registry import InputDims, build_model, get_spec, make_params
    from molprobe.probing.activations import collect_activations, random_copy
    from molprobe.probing.neurons import detector_atoms, detector_examples, neuron_table
    from molprobe.probing.plots import plot_heatmap, plot_level_curves
    from molprobe.probing.probes import (
        ProbeConfig,
        add_random_baseline,
        make_probe_data,
        probe_model_layers,
        probe_node_layer,
        resolve_device,
    )  # fmt: skip
    from molprobe.probing.verdict import task_concept_links, verdict_markdown
    from molprobe.training.checkpoint import load_model
    from molprobe.training.features import load_inputs
    from molprobe.training.tables import read_labelled_molecules

    if args.threads:
        torch.set_num_threads(args.threads)
    if len(args.splits) not in (1, len(args.model_dirs)):
        raise MolprobeError("--splits takes one file, or one per --model-dirs entry")
    device = resolve_device(args.device)
    mols, _ = read_labelled_molecules(args.molecules, None)
    table = ConceptTable.load(args.concepts)
    if table.n_molecules != len(mols) or table.smiles != mols["smiles"].tolist():
        raise InputError(args.concepts, "concept table does not match the molecule table")
    cfg = ProbeConfig(
        n_outer=args.outer, n_inner=args.inner, max_dim=args.max_dim or None,
        seed=args.seed, device=str(device),
    )  # fmt: skip
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    probes, neurons, nodes, links, examples = [], [], [], [], []
    alerts = set(table.meta.loc[table.meta["family"] == "alert", "concept"])
    for k, model_dir in enumerate(args.model_dirs):
        split = json.loads(Path(args.splits[min(k, len(args.splits) - 1)]).read_text())
        rows = _probe_rows(split, args.part)
        rows = rows[~np.isnan(table.values[rows, 0])]  # unparsable molecules have no labels
        loaded = load_model(model_dir)
        meta, model = loaded.meta, loaded.model
        name = args.name or meta.model_name
        seed = int(meta.seed)
        kind = get_spec(meta.model_name).input_kind
        if kind == "tokens":
            log.warning("%s: token models are probed at molecule level only", name)
        features, _, _ = load_inputs(
            kind, args.features, len(mols), None, scaler_state=meta.descriptor_scaler
        )
        sub = table.select(rows)
        if k == 0:
            example_sub = sub  # detector examples index the first model's probe molecules
            example_seed = int(meta.seed)
        data = make_probe_data(sub, cfg, max_pharm2d=args.max_pharm2d)
        labels = data.labels
        batches = _batches(model, features, rows, args.batch_size, device)

        def build(meta=meta):
            params = make_params(meta.model_name, meta.hyperparameters)
            return build_model(meta.model_name, params, InputDims(**meta.input_dims),
                               len(meta.task_names))  # fmt: skip

        copies = [("trained", seed, model)]
        for r in range(args.n_random):
            rs = 1000 * (seed + 1) + r
            copies.append(("random", rs, random_copy(model, rs, build, batches, device)))
        for init, s, net in copies:
            acts = collect_activations(net, batches, device)
            layers = acts.molecule_level("sum")
            df = probe_model_layers(layers, data, cfg)
            df.insert(0, "init", init)
            df.insert(0, "seed", s if init == "random" else seed)
            df.insert(0, "model", name)
            probes.append(df)
            for li, (lname, X) in enumerate(layers.items()):
                nt, _ = neuron_table(X, labels, data.concepts)
                nt.insert(0, "level", data.levels)
                nt.insert(0, "layer_index", li)
                nt.insert(0, "layer", lname)
                nt.insert(0, "init", init)
                nt.insert(0, "seed", s)
                nt.insert(0, "model", name)
                neurons.append(nt)
                if init == "trained" and k == 0:
                    ex = detector_examples(X, labels, nt, sub.smiles)
                    ex.insert(0, "layer", lname)
                    examples.append(ex)
            if acts.node_layers and args.node_max_atoms > 0:
                # node level: molecules until node_max_atoms atoms
                n_atoms = np.diff(acts.atom_ptr)
                m = int(np.searchsorted(np.cumsum(n_atoms), args.node_max_atoms)) + 1
                ptr = acts.atom_ptr[: m + 1]
                atom_y = sub.atom_members[: ptr[-1]].toarray().astype(np.float32)
                prev = atom_y.mean(0)
                keep = (prev >= 0.01) & (prev <= 0.99)
                meta_atoms = sub.atom_meta[keep].reset_index(drop=True)
                for step, lname in enumerate([n for n in acts if n in acts.node_layers]):
                    feats = {lname: acts[lname][: ptr[-1]]}
                    radius = step  # input = radius 0, mpT = radius T
                    env, types = atom_environments(sub.smiles[:m], radius)
                    if init == "trained":
                        feats[f"morgan_r{radius}"] = env.astype(np.float32)
                    for fname, H in feats.items():
                        nd = probe_node_layer(H, atom_y[:, keep], ptr, types, cfg)
                        nd.insert(0, "concept", meta_atoms["concept"])
                        nd.insert(0, "level", meta_atoms["level"])
                        nd.insert(0, "step", step)
                        nd.insert(0, "layer", fname)
                        nd.insert(0, "init", "morgan" if fname.startswith("morgan") else init)
                        nd.insert(0, "seed", s)
                        nd.insert(0, "model", name)
                        nodes.append(nd)
        # task predictions vs concepts (trained model only)
        with torch.no_grad():
            pred = torch.cat([torch.sigmoid(model(b).float()).cpu() for b in batches]).numpy()
        ln = task_concept_links(pred, meta.task_names, labels, data.concepts, data.levels)
        ln.insert(0, "seed", seed)
        ln.insert(0, "model", name)
        links.append(ln)

    allp = pd.concat(probes, ignore_index=True)
    trained = allp[allp["init"] == "trained"]
    random = allp[allp["init"] == "random"]
    table_out = pd.concat([add_random_baseline(trained, random), random], ignore_index=True)
    write_parquet(table_out, out / "probes.parquet")
    neu = pd.concat(neurons, ignore_index=True)
    write_parquet(neu, out / "neurons.parquet")
    lk = pd.concat(links, ignore_index=True)
    write_parquet(lk, out / "task_concepts.parquet")
    if nodes:
        write_parquet(pd.concat(nodes, ignore_index=True), out / "nodes.parquet")
    plot_heatmap(table_out, out / "heatmap.png", "gain")
    plot_level_curves(table_out, out / "curves.png")
    if examples:
        ex = pd.concat(examples, ignore_index=True)
        write_parquet(ex, out / "detectors.parquet")
        # rank the first model's own hidden detectors: the examples are of its neurons (another
        # seed's best unit is another neuron), and input columns such as the fr_* descriptor
        # counts are the concepts themselves
        first = (neu["init"] == "trained") & (neu["seed"] == example_seed)
        first &= neu["layer_index"] > 0
        best = neu[first].sort_values("best_auc", ascending=False)
        top = best.drop_duplicates("concept").head(args.n_detectors)
        write_parquet(detector_atoms(ex, top, example_sub), out / "examples.parquet")
    with atomic_path(out / "verdict.md") as tmp:  # last: its presence marks a finished probe
        tmp.write_text(verdict_markdown(table_out, neu, lk, alerts=alerts))
    print(f"probed {len(args.model_dirs)} model(s) -> {out}")
    return 0
