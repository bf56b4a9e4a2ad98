"""The verdict: at which layer does each concept level peak, with bootstrap intervals, and does
the ordering radicals (1) -> interaction centres (2) -> pharmacophores (3) hold?

Input is the probes table (one row per model, seed, init, layer, concept; see
:func:`molprobe.probing.probes.add_random_baseline`). Two kinds of location per level:

- ``peak``: the layer where the level's mean of a measure (default: AUC gain over the
  random-init copies) is largest;
- ``jump``: the layer where it increases most over the previous layer (for description length
  compression and sparse-probe AUC, where the raw value can grow monotonically).

Intervals: percentile bootstrap over concepts (of the level) and trained seeds, resampled
with replacement together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from molprobe.chem.concepts import LEVELS


@dataclass(frozen=True)
class VerdictConfig:
    """n_boot: bootstrap replicates; seed: their RNG; measures: (column, location kind)."""

    n_boot: int = 500
    seed: int = 0
    measures: tuple[tuple[str, str], ...] = (
        ("gain", "peak"),
        ("sparse4_auc_gain", "peak"),
        ("mdl_compression", "jump"),
        ("sparse4_auc", "jump"),
    )


def _cube(df: pd.DataFrame, measure: str) -> tuple[np.ndarray, list[str]]:
    """(n_seeds, n_concepts, n_layers) array of ``measure`` and the layer names in order."""
    layers = df.drop_duplicates("layer_index").sort_values("layer_index")["layer"].tolist()
    piv = df.pivot_table(index=["seed", "concept"], columns="layer_index", values=measure)
    seeds = sorted(df["seed"].unique())
    concepts = sorted(df["concept"].unique())
    full = pd.MultiIndex.from_product([seeds, concepts], names=["seed", "concept"])
    piv = piv.reindex(index=full, columns=range(len(layers)))
    return piv.to_numpy().reshape(len(seeds), len(concepts), len(layers)), layers


def locate(values: np.ndarray, how: str) -> int:
    """Index of the peak (``peak``) or of the largest increase over the previous layer
    (``jump``; never 0) of a per-layer profile (n_layers,)."""
    if how == "peak":
        return int(np.nanargmax(values))
    if len(values) < 2:
        return 0
    return int(np.nanargmax(np.diff(values))) + 1


def bootstrap_location(
    df: pd.DataFrame, measure: str, how: str, cfg: VerdictConfig | None = None
) -> dict:
    """Location of one level's profile for one model, with a bootstrap interval.

    ``df`` holds the trained rows of one model and one level. Returns layer (point
    estimate), layer_index, lo / hi (2.5 / 97.5 percentile layer), share (fraction of
    replicates on the point estimate), value (profile value there), n_concepts, n_seeds."""
    cfg = cfg or VerdictConfig()
    cube, layers = _cube(df, measure)
    n_s, n_c, _ = cube.shape
    with np.errstate(all="ignore"):
        profile = np.nanmean(cube, axis=(0, 1))
    if np.isnan(profile).all():
        return {"layer": None, "layer_index": np.nan, "lo": None, "hi": None, "share": np.nan,
                "value": np.nan, "n_concepts": n_c, "n_seeds": n_s}  # fmt: skip
    point = locate(profile, how)
    rng = np.random.default_rng(cfg.seed)
    reps = np.empty(cfg.n_boot, np.int64)
    for r in range(cfg.n_boot):
        s = rng.integers(0, n_s, n_s)
        c = rng.integers(0, n_c, n_c)
        with np.errstate(all="ignore"):
            prof = np.nanmean(cube[np.ix_(s, c)], axis=(0, 1))
        reps[r] = locate(prof, how) if not np.isnan(prof).all() else point
    lo, hi = np.percentile(reps, [2.5, 97.5], method="nearest")
    return {
        "layer": layers[point],
        "layer_index": point,
        "lo": layers[int(lo)],
        "hi": layers[int(hi)],
        "lo_index": int(lo),
        "hi_index": int(hi),
        "share": float((reps == point).mean()),
        "value": float(profile[point]),
        "n_concepts": n_c,
        "n_seeds": n_s,
    }


def level_locations(probes: pd.DataFrame, cfg: VerdictConfig | None = None) -> pd.DataFrame:
    """Locations of every (model, level, measure) from the trained rows of ``probes``."""
    cfg = cfg or VerdictConfig()
    trained = probes[probes["init"] == "trained"] if "init" in probes else probes
    rows = []
    for model, dm in trained.groupby("model"):
        for level, dl in dm.groupby("level"):
            for measure, how in cfg.measures:
                if measure not in dl or dl[measure].isna().all():
                    continue
                loc = bootstrap_location(dl, measure, how, cfg)
                rows.append(
                    {"model": model, "level": int(level), "measure": measure, "how": how, **loc}
                )
    return pd.DataFrame(rows)


def ordering_sentence(model: str, locs: pd.DataFrame, measure: str = "gain") -> str:
    """One plain sentence: does radicals -> centres -> pharmacophores hold for ``model``?"""
    sub = locs[(locs["model"] == model) & (locs["measure"] == measure)].set_index("level")
    if not {1, 2, 3} <= set(sub.index):
        have = ", ".join(LEVELS[int(lvl)] for lvl in sub.index)
        return f"{model}: cannot judge the ordering; only {have or 'no level'} had concepts."
    idx = [int(sub.loc[lvl, "layer_index"]) for lvl in (1, 2, 3)]
    names = [sub.loc[lvl, "layer"] for lvl in (1, 2, 3)]
    where = (
        f"{measure} peaks at {names[0]} for radicals, {names[1]} for interaction centres "
        f"and {names[2]} for pharmacophores"
    )
    if idx[0] < idx[1] < idx[2]:
        separated = sub.loc[1, "hi_index"] < sub.loc[3, "lo_index"]
        verdict = (
            "holds" if separated else "holds in the point estimates, but the intervals overlap"
        )
    elif idx[0] <= idx[1] <= idx[2] and idx[0] < idx[2]:
        verdict = "holds only weakly (two levels peak at the same layer)"
    elif idx[0] == idx[1] == idx[2]:
        verdict = "does not hold: all three levels peak at the same layer"
    else:
        verdict = "does not hold"
    return f"{model}: the ordering radicals -> centres -> pharmacophores {verdict} ({where})."


def task_concept_links(
    predictions: np.ndarray, tasks: list[str], labels: np.ndarray, concepts: list[str], levels
) -> pd.DataFrame:
    """Pearson (point-biserial) correlation of each task's predicted probability (n, T) with
    each concept's presence (n, C); long table task, concept, level, correlation."""
    rows = []
    P = np.asarray(predictions, np.float64)
    for c in range(labels.shape[1]):
        y = labels[:, c]
        known = ~np.isnan(y)
        for t in range(P.shape[1]):
            p = P[known, t]
            ok = ~np.isnan(p)
            yy, pp = y[known][ok], p[ok]
            r = np.corrcoef(yy, pp)[0, 1] if yy.std() > 0 and pp.std() > 0 else np.nan
            rows.append((tasks[t], concepts[c], int(levels[c]), r))
    return pd.DataFrame(rows, columns=["task", "concept", "level", "correlation"])


def _fmt(x, digits=3) -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def verdict_markdown(
    probes: pd.DataFrame,
    neurons: pd.DataFrame | None = None,
    links: pd.DataFrame | None = None,
    cfg: VerdictConfig | None = None,
    alerts: set[str] | None = None,
) -> str:
    """The verdict report (Markdown): per model family a table of locations per level and
    measure, the ordering sentence, level summaries, detector counts and task links."""
    cfg = cfg or VerdictConfig()
    locs = level_locations(probes, cfg)
    out = ["# Probing verdict", ""]
    out.append(
        "Locations are bootstrap point estimates with 95% intervals over concepts and seeds. "
        "`gain` = probe AUC on the trained net minus the mean over random-init copies; "
        "`jump` = layer with the largest increase over the previous layer."
    )
    trained = probes[probes["init"] == "trained"] if "init" in probes else probes
    for model in sorted(trained["model"].unique()):
        dm = trained[trained["model"] == model]
        out += ["", f"## {model}", "", ordering_sentence(model, locs), ""]
        out.append("| level | measure | located by | layer | 95% interval | share | value |")
        out.append("|---|---|---|---|---|---|---|")
        for r in locs[locs["model"] == model].itertuples(index=False):
            out.append(
                f"| {r.level} {LEVELS[r.level]} | {r.measure} | {r.how} | {r.layer} | "
                f"{r.lo}–{r.hi} | {_fmt(r.share, 2)} | {_fmt(r.value)} |"
            )
        cols = [c for c in ("auc", "random_auc", "gain", "selectivity", "sparse4_auc",
                            "mdl_compression", "added_over_lower") if c in dm]  # fmt: skip
        per_seed = dm.groupby(["level", "layer_index", "layer", "seed"])[cols].mean()
        summary = per_seed.groupby(["level", "layer_index", "layer"]).agg(["mean", "std"])
        out += ["", "Mean over concepts (± sd over seeds):", ""]
        out.append("| level | layer | " + " | ".join(cols) + " |")
        out.append("|---|---|" + "---|" * len(cols))
        for (level, _, layer), row in summary.iterrows():
            cells = [f"{_fmt(row[(c, 'mean')])} ± {_fmt(row[(c, 'std')])}" for c in cols]
            out.append(f"| {level} | {layer} | " + " | ".join(cells) + " |")
        if neurons is not None and len(neurons):
            nm = neurons[neurons["model"] == model]
            if len(nm):
                det = nm.groupby(["init", "layer_index", "layer"])["n_detectors"].sum()
                det = det.unstack("init").fillna(0)
                out += ["", "Neurons with AUC ≥ 0.9 for some concept (summed over concepts; "
                        "random: mean over copies and seeds):", ""]  # fmt: skip
                n_seeds = nm.groupby("init")["seed"].nunique()
                out.append("| layer | trained | random |")
                out.append("|---|---|---|")
                for (_, layer), row in det.iterrows():
                    tr = row.get("trained", 0) / max(n_seeds.get("trained", 1), 1)
                    rd = row.get("random", 0) / max(n_seeds.get("random", 1), 1)
                    out.append(f"| {layer} | {tr:.1f} | {rd:.1f} |")
                if alerts:
                    tox = nm[(nm["init"] == "trained") & nm["concept"].isin(alerts)]
                    best = tox.sort_values("best_auc", ascending=False).drop_duplicates("concept")
                    if len(best):
                        items = ", ".join(
                            f"{r.concept} (AUC {r.best_auc:.2f}, {r.layer})"
                            for r in best.head(8).itertuples()
                        )
                        out += ["", f"Toxicophores with the best single-neuron detectors: {items}."]
        if links is not None and len(links):
            lm = links[links["model"] == model] if "model" in links else links
            if len(lm):
                out += ["", "Concepts the task predictions lean on (largest |correlation|):", ""]
                for task, dt in lm.groupby("task"):
                    top = dt.reindex(dt["correlation"].abs().sort_values(ascending=False).index)
                    items = ", ".join(
                        f"{r.concept} ({r.correlation:+.2f})" for r in top.head(3).itertuples()
                    )
                    out.append(f"- {task}: {items}")
    return "\n".join(out) + "\n"
