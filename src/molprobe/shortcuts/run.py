"""Application layer of the shortcut audit: every check on in-memory models and tables.

:func:`audit_shortcuts` runs analog bias, trivial baselines, counter-ions, the matched
shuffled-label twins and attribution for a dataset's trained models and returns the tables,
their figures, ``findings.md`` text and the findings table; :func:`planted_control` runs the
planted ping-pong table (:mod:`molprobe.shortcuts.planted`). Only ``molprobe.cli.shortcuts``
reads and writes files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from molprobe.errors import MolprobeError
from molprobe.shortcuts import AuditedModel
from molprobe.shortcuts.permuted import PermutedConfig

OUTPUT_TABLES = (
    "similarity_bins",
    "trivial_baselines",
    "counterions",
    "attribution",
    "permuted_labels",
)


@dataclass(frozen=True)
class AuditConfig:
    """Settings of :func:`audit_shortcuts` (the CLI's and workflow's defaults come from here).

    top: top-scored test molecules per task for attribution; attribution_tasks: tasks to
    attribute (empty: the ``n_attribution_tasks`` with most positives); permuted_splits: splits
    that get shuffled-label twins (empty: random, else the first trained); permuted: the twins'
    settings (``permuted.seeds`` label permutations per model); counterion_molecules: test
    molecules per run given counter-ions (0 = all); trivial_model: hgb | logreg; margin: AUC
    within which a trivial baseline flags a task.
    """

    top: int = 50
    attribution_tasks: tuple[str, ...] = ()
    n_attribution_tasks: int = 3
    permuted_splits: tuple[str, ...] = ()
    permuted: PermutedConfig = field(default_factory=PermutedConfig)
    run_permuted: bool = True
    counterion_molecules: int = 200
    trivial_model: str = "hgb"
    margin: float = 0.05


@dataclass
class AuditResult:
    """The audit's tables (names :data:`OUTPUT_TABLES`), figures (same names), the text of
    findings.md, the findings table (one row per flag and check) and seconds per check."""

    tables: dict[str, pd.DataFrame]
    figures: dict[str, object]
    findings_md: str
    findings: pd.DataFrame
    timings: dict[str, float]


def _fingerprints(cached: Mapping[str, tuple], smiles: Sequence[str]) -> np.ndarray:
    from molprobe.chem.featurize import ECFP

    if "ecfp" in cached:
        X, spec = cached["ecfp"]
        if spec.get("radius") == 2 and X.shape[0] == len(smiles):
            return X
    return ECFP(radius=2, n_bits=2048)(list(smiles))


def _permuted_twins(runs, cached, smiles, Y, config: AuditConfig, log):
    """Shuffled-label twins of the first-seed runs on the chosen splits: (twins by run key,
    table rows)."""
    from molprobe.shortcuts import permuted

    trained_splits = sorted({r.split for r in runs})
    wanted = list(config.permuted_splits) or (
        ["random"] if "random" in trained_splits else trained_splits[:1]
    )
    first_seed = min(r.seed for r in runs)
    twins, rows = {}, []
    for run in runs:
        if run.split not in wanted or run.seed != first_seed:
            continue
        t1 = time.perf_counter()
        feats = permuted.model_inputs(run.loaded.meta, cached, smiles)
        for k in range(config.permuted.seeds):
            model, result = permuted.train_permuted(run, feats, Y, config.permuted, run.seed + k)
            if hasattr(model.model, "to"):
                model.model.to("cpu")
            twins.setdefault(run.key, model)
            rows += permuted.permuted_rows(run, model, result, feats, Y, config.permuted, k)
        log(f"  shuffled-label {run.model} {run.split} seed {run.seed}: "
            f"{config.permuted.seeds} twins ({time.perf_counter() - t1:.1f} s)")  # fmt: skip
    return twins, rows


def audit_shortcuts(
    runs: Sequence[AuditedModel],
    molecules: pd.DataFrame,
    cached: Mapping[str, tuple] | None = None,
    recipe=None,
    config: AuditConfig | None = None,
    dataset: str = "dataset",
    planted: pd.DataFrame | None = None,
    log: Callable[[str], None] = print,
) -> AuditResult:
    """Audit trained models of one dataset.

    Args:
        runs: the trained models (:class:`AuditedModel`), all on ``molecules``' rows.
        molecules: molecule table (mol_id, smiles, input_smiles, task columns).
        cached: featurizer name -> (features, spec) of the dataset's feature cache.
        recipe: the dataset's :class:`~molprobe.chem.standardize.StandardizeRecipe`.
        planted: summary table of the planted ping-pong control (optional, for findings).
    """
    from molprobe.shortcuts import analog, attribution, counterions, findings, permuted, plots
    from molprobe.shortcuts import trivial as trivial_mod

    config = config or AuditConfig()
    cached = dict(cached or {})
    tasks = runs[0].tasks
    Y = molecules[tasks].to_numpy(dtype=np.float64)
    smiles = molecules["smiles"].tolist()
    timings: dict[str, float] = {}
    tables = {name: pd.DataFrame() for name in OUTPUT_TABLES}
    classification = all(r.loaded.meta.task_type == "classification" for r in runs)
    if not classification:
        text = (f"# Shortcut audit: {dataset}\n\nThe shortcut audit covers classification "
                "tasks (ROC-AUC); this dataset's models are regression models.\n")  # fmt: skip
        return AuditResult(tables, {}, text, findings.findings_table([]), timings)

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t0
        return out

    fp = _fingerprints(cached, smiles)
    smiles_row = {s: i for i, s in enumerate(smiles)}
    tables["similarity_bins"] = timed(
        "analog bias", lambda: analog.similarity_table(runs, fp, smiles_row, Y=Y, tasks=tasks)
    )
    split_rows = {(r.split, r.seed): r.rows for r in runs}
    tables["trivial_baselines"] = timed("trivial baselines", lambda: trivial_mod.trivial_table(
        trivial_mod.bulk_descriptors(smiles), Y, tasks, split_rows, runs,
        config.trivial_model, config.margin))  # fmt: skip
    tables["counterions"] = timed("counter-ions", lambda: counterions.counterion_table(
        runs, molecules, max_molecules=config.counterion_molecules, recipe=recipe))  # fmt: skip
    twins: dict = {}
    if config.run_permuted:
        t0 = time.perf_counter()
        twins, rows = _permuted_twins(runs, cached, smiles, Y, config, log)
        tables["permuted_labels"] = permuted.permuted_table(rows)
        timings["shuffled-label twins"] = time.perf_counter() - t0
    att_tasks = list(config.attribution_tasks) or attribution.default_tasks(
        Y, tasks, config.n_attribution_tasks
    )
    unknown = sorted(set(att_tasks) - set(tasks))
    if unknown:
        raise MolprobeError(f"attribution tasks: unknown task(s) {unknown}; have {tasks}")
    if twins:
        items = [(r, twins[r.key]) for r in runs if r.key in twins]
    else:
        first_seed = min(r.seed for r in runs)
        items = [(r, None) for r in runs if r.seed == first_seed]
    tables["attribution"] = timed("attribution", lambda: attribution.attribution_table(
        items, att_tasks, config.top))  # fmt: skip
    t0 = time.perf_counter()
    figures = {
        "similarity_bins": plots.plot_similarity(tables["similarity_bins"]),
        "trivial_baselines": plots.plot_trivial(tables["trivial_baselines"], config.margin),
        "counterions": plots.plot_counterions(tables["counterions"]),
        "attribution": plots.plot_attribution(tables["attribution"]),
        "permuted_labels": plots.plot_permuted(tables["permuted_labels"]),
    }
    timings["plots"] = time.perf_counter() - t0
    sections = findings.audit_sections(
        tables, findings.Thresholds(trivial_margin=config.margin), planted
    )
    text = findings.findings_markdown(dataset, sections)
    return AuditResult(tables, figures, text, findings.findings_table(sections), timings)


def planted_control(molecules: pd.DataFrame, families, config=None, device="cpu", threads=0,
                    log: Callable[[str], None] = print):  # fmt: skip
    """The planted ping-pong control on a molecule table (smiles + the task column):
    (:class:`~molprobe.shortcuts.planted.PlantedResult`, its figure)."""
    from molprobe.shortcuts import plots
    from molprobe.shortcuts.planted import PlantedConfig, planted_audit

    config = config or PlantedConfig()
    if config.task not in molecules.columns:
        raise MolprobeError(f"planted task {config.task!r} is not a column of the molecule table")
    result = planted_audit(molecules["smiles"].tolist(), molecules[config.task].to_numpy(),
                           families, config, device, threads, log)  # fmt: skip
    return result, plots.plot_planted(result.runs, result.summary, config.threshold)
