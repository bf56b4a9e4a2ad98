"""Application layer of probing: :func:`probe_models` probes every seed of one net family
(trained net + random-init copies) against the concept library and returns every table the
workflow writes (emergence, controls, erasure, held-out detectors, verdict)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import nn

from molprobe.errors import MolprobeError
from molprobe.probing.activations import collect_activations, random_copy
from molprobe.probing.emergence import (
    EmergenceConfig,
    SeedProbes,
    emergence_tables,
    lower_only_scores,
    make_targets,
    probe_scores,
)
from molprobe.probing.erasure import ErasureConfig, erasure_effect, run_with_transform, task_auc
from molprobe.probing.neurons import HeldoutConfig, heldout_detectors, scaffold_halves
from molprobe.probing.verdict import plain_layer_name, verdict_markdown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeRunConfig:
    """n_random: random-init copies per trained net (>= 3 for the verdict). low / high:
    prevalence window of the probed concepts. max_molecules: subsample of each seed's probe
    molecules (None = all). erasure / controls: run the causal test / control tasks."""

    emergence: EmergenceConfig = field(default_factory=EmergenceConfig)
    heldout: HeldoutConfig = field(default_factory=HeldoutConfig)
    erasure_cfg: ErasureConfig = field(default_factory=ErasureConfig)
    n_random: int = 3
    low: float = 0.02
    high: float = 0.98
    max_molecules: int | None = None
    erasure: bool = True
    controls: bool = True
    device: str = "cpu"


@dataclass
class ProbedNet:
    """One trained seed to probe: the net, a builder of its architecture (for random copies),
    its input batches over the probe molecules, their concept table (all parsable) and task
    labels (n, T)."""

    seed: int
    model: nn.Module
    build: Callable[[], nn.Module]
    batches: list
    table: object
    task_labels: np.ndarray
    graph: bool = False


@dataclass
class ProbeRunResult:
    """Tables of one family: probes (per seed, layer, concept), emergence (per seed and
    concept family), levels (per level), controls, erasure, neurons, detectors (top
    molecules), accuracy, verdict (Markdown), seconds."""

    probes: pd.DataFrame
    emergence: pd.DataFrame
    levels: pd.DataFrame
    controls: pd.DataFrame
    erasure: pd.DataFrame
    neurons: pd.DataFrame
    detectors: pd.DataFrame
    accuracy: pd.DataFrame
    verdict: str
    seconds: float


def _hidden_module(model: nn.Module, layer: str) -> nn.Module:
    for name, m in model.hidden_layers():
        if name == layer:
            return m
    raise MolprobeError(f"no hidden layer {layer!r}")


def _erasure_rows(net: ProbedNet, sp: SeedProbes, acts, fam: pd.DataFrame, cfg: ProbeRunConfig):
    """LEACE at each level's (median family) emergence layer (at least the first hidden
    layer: the input is not a representation the net computes)."""
    t = sp.targets
    fit, ev = scaffold_halves(t.groups, cfg.erasure_cfg.seed)
    rows = []
    for level in (1, 2, 3):
        f = fam[(fam["level"] == level) & (fam["seed"] == net.seed)]
        cols = np.flatnonzero(t.levels == level)
        if not len(f) or not len(cols):
            continue
        li = max(1, int(round(f["emergence_index"].median())))
        layer = sp.layers[li]
        module = _hidden_module(net.model, layer)
        X = acts[layer]
        Z = t.labels[:, cols]
        if layer in acts.node_layers:  # node embeddings: each atom carries its molecule's labels
            atom_mol = np.repeat(np.arange(len(t.labels)), np.diff(acts.atom_ptr))
            on = np.isin(atom_mol, fit)
            X_fit, Z_fit = X[on], Z[atom_mol[on]]
        else:
            X_fit, Z_fit = X[fit], Z[fit]

        def head(transform, module=module):
            return run_with_transform(net.model, module, net.batches, transform)

        try:
            res = erasure_effect(X_fit, Z_fit, head, net.task_labels, ev, cfg.erasure_cfg)
        except MolprobeError as err:  # e.g. no concept varies among very few molecules
            log.warning("seed %d level %d: erasure skipped (%s)", net.seed, level, err)
            continue
        rows.append({"seed": net.seed, "level": level, "layer": layer, "layer_index": li,
                     "n_concepts": len(cols), **res})  # fmt: skip
    return rows


def probe_models(
    nets: list[ProbedNet], name: str, cfg: ProbeRunConfig | None = None
) -> ProbeRunResult:
    """Probe every seed of one family; see the module docstring."""
    cfg = cfg or ProbeRunConfig()
    if not nets:
        raise MolprobeError("probe_models: no nets")
    start = time.perf_counter()
    ec = cfg.emergence
    seeds, cache = [], []
    for net in nets:
        targets = make_targets(net.table, ec, cfg.low, cfg.high, controls=cfg.controls)
        acts = collect_activations(net.model, net.batches, cfg.device)
        layers = acts.molecule_level("sum")
        trained = probe_scores(layers, targets, ec)
        randoms = []
        for r in range(cfg.n_random):
            rnd = random_copy(
                net.model, 1000 * (net.seed + 1) + r, net.build, net.batches, cfg.device
            )
            ra = collect_activations(rnd, net.batches, cfg.device).molecule_level("sum")
            randoms.append(probe_scores(ra, targets, ec))
        seeds.append(
            SeedProbes(net.seed, targets, trained, randoms, lower_only_scores(targets, ec))
        )
        cache.append((acts, layers))
        log.info(
            "%s seed %d probed (%d layers, %d concepts)",
            name,
            net.seed,
            len(layers),
            len(targets.concepts),
        )
    fam, levels = emergence_tables(seeds, ec)
    probes = pd.concat([sp.concept_table() for sp in seeds], ignore_index=True)
    probes.insert(0, "model", name)
    probes["layer_name"] = [plain_layer_name(x, nets[0].graph) for x in probes["layer"]]
    meta = nets[0].table.meta.set_index("concept")
    probes["description"] = probes["concept"].map(meta["description"])
    probes["gain"] = probes["learned"]
    ctrl_cols = ["model", "seed", "layer_index", "layer", "concept", "level", "concept_family"]
    controls = pd.DataFrame()
    if "selectivity" in probes:
        controls = probes[ctrl_cols + ["gain_random", "control_auc", "control_gain", "selectivity"]]
        controls = controls.rename(columns={"gain_random": "gain"})
    erasure, neurons, detectors, accuracy = [], [], [], []
    for net, sp, (acts, layers) in zip(nets, seeds, cache, strict=True):
        t = sp.targets
        smiles = net.table.smiles
        for li, (lname, X) in enumerate(layers.items()):
            det, top = heldout_detectors(X, t.labels, t.concepts, t.groups, smiles, cfg.heldout)
            for df in (det, top):
                df.insert(0, "layer", lname)
                df.insert(0, "layer_index", li)
                df.insert(0, "seed", net.seed)
            neurons.append(det)
            detectors.append(top)
        if cfg.erasure:
            erasure += _erasure_rows(net, sp, acts, fam, cfg)
        pred = run_with_transform(net.model, net.model, net.batches, None)
        accuracy.append({"seed": net.seed, "task_auc": task_auc(pred, net.task_labels),
                         "n_molecules": len(pred)})  # fmt: skip
    neu = pd.concat(neurons, ignore_index=True)
    neu = neu.merge(
        pd.DataFrame({"concept": t.concepts, "level": t.levels}), on="concept", how="left"
    )
    out_levels = levels.copy()
    fam.insert(0, "model", name)
    out_levels.insert(0, "model", name)
    er = pd.DataFrame(erasure)
    if len(er):
        er.insert(0, "model", name)
    acc = pd.DataFrame(accuracy)
    text = verdict_markdown(name, out_levels, fam, er, controls, neu, acc)
    return ProbeRunResult(
        probes=probes, emergence=fam, levels=out_levels, controls=controls, erasure=er,
        neurons=neu, detectors=pd.concat(detectors, ignore_index=True), accuracy=acc,
        verdict=text, seconds=time.perf_counter() - start,
    )  # fmt: skip
