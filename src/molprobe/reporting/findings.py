"""The findings page: one verdict per question, each with a traffic-light flag and the number
behind it, built from the stage tables (never truncated). Pure functions: DataFrames and
strings in, :class:`Finding` records out; :mod:`molprobe.reporting.findings_page` writes HTML.

Flags: ``pass`` (the claim holds / nothing wrong), ``warn`` (unclear: intervals overlap, one
seed, a shortcut flagged), ``fail`` (the claim does not hold / a clear problem), ``info``
(a measured fact without a judgement).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

FLAGS = ("pass", "warn", "fail", "info")
BASELINES = frozenset({"rf", "logreg"})  # registry families of kind "sklearn": the baselines
KEEPS_GRADIENT = (0.5, 2.0)  # layer-1 / layer-L ratio inside this band: the gradient is kept
VANISHES = 0.1  # ratio below: the first layer gets < 10 % of the last layer's signal
EXPLODES = 10.0
DEPTH_TOLERANCE = 0.02  # AUC the deepest net may lose against the shallowest before "fail"


@dataclass(frozen=True)
class Finding:
    """One verdict: ``stage`` (report section), ``question``, ``flag`` (one of :data:`FLAGS`),
    ``verdict`` (one plain sentence) and ``number`` (the measurement behind it, as text)."""

    stage: str
    question: str
    flag: str
    verdict: str
    number: str = ""

    def __post_init__(self):
        if self.flag not in FLAGS:
            raise ValueError(f"flag must be one of {FLAGS}, not {self.flag!r}")


def findings_frame(findings: Sequence[Finding]) -> pd.DataFrame:
    """The findings as a table (stage, question, flag, verdict, number), for the CSV twin."""
    cols = ["stage", "question", "flag", "verdict", "number"]
    return pd.DataFrame([[getattr(f, c) for c in cols] for f in findings], columns=cols)


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _interval(lo: float, hi: float, digits: int = 3) -> str:
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "1 seed: no spread"
    return f"95% CI [{lo:.{digits}f}, {hi:.{digits}f}]"


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % t-interval of ``values`` (NaN bounds for fewer than 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(v.mean())
    if v.size < 2:
        return mean, math.nan, math.nan
    from scipy.stats import t

    half = float(t.ppf(0.975, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
    return mean, mean - half, mean + half


# -------------------------------------------------------------------------------------- models


def model_findings(
    comparison: pd.DataFrame,
    calibration: pd.DataFrame | None = None,
    baselines: frozenset[str] = BASELINES,
) -> list[Finding]:
    """Per split: the best deep net against the best baseline (ΔAUC with an interval), and
    the calibration of those two.

    ``comparison``: comparison.csv (name, model, split, seed, metric, value[, ci_low, ci_high]);
    ``calibration``: optional (name, split, ece) rows, ECE in probability units.
    The interval of ΔAUC is a paired t-interval over the seeds both runs share (>= 2 seeds), or
    the run's own bootstrap CIs combined in quadrature (1 seed, stated as such)."""
    runs = comparison[comparison["seed"].astype(str) != "mean"].copy()
    runs = runs[runs["model"] != "ensemble"]
    runs["value"] = runs["value"].astype(float)
    out, compared = [], []
    for split, g in runs.groupby("split", sort=True):
        metric = str(g["metric"].iloc[0])
        means = g.groupby(["name", "model"])["value"].mean().reset_index()
        deep = means[~means["model"].isin(baselines)]
        base = means[means["model"].isin(baselines)]
        if deep.empty or base.empty:
            which = "deep net" if deep.empty else "baseline"
            out.append(Finding("models", f"Deep net vs baseline ({split} split)", "info",
                               f"no {which} was trained on the {split} split."))  # fmt: skip
            continue
        d, b = deep.loc[deep["value"].idxmax()], base.loc[base["value"].idxmax()]
        compared += [(str(d["name"]), str(split)), (str(b["name"]), str(split))]
        rd = g[g["name"] == d["name"]].set_index(g[g["name"] == d["name"]]["seed"].astype(str))
        rb = g[g["name"] == b["name"]].set_index(g[g["name"] == b["name"]]["seed"].astype(str))
        shared = sorted(set(rd.index) & set(rb.index))
        diffs = rd.loc[shared, "value"].to_numpy() - rb.loc[shared, "value"].to_numpy()
        delta, lo, hi = (
            _t_interval(diffs)
            if len(shared) >= 2
            else (float(d["value"] - b["value"]), math.nan, math.nan)
        )
        how = f"paired over {len(shared)} seeds"
        if len(shared) < 2 and {"ci_low", "ci_high"} <= set(g.columns):
            half = [
                (float(r["ci_high"].iloc[0]) - float(r["ci_low"].iloc[0])) / 2 for r in (rd, rb)
            ]
            if all(np.isfinite(half)):
                h = math.sqrt(half[0] ** 2 + half[1] ** 2)
                lo, hi = delta - h, delta + h
                how = "1 seed: bootstrap CIs of both runs combined"
        if np.isfinite(lo) and lo > 0:
            flag, says = "pass", "beats"
        elif np.isfinite(hi) and hi < 0:
            flag, says = "fail", "loses to"
        else:
            flag, says = "warn", "cannot be told apart from"
        number = f"Δ{metric} {delta:+.3f} ({_interval(lo, hi)}; {how})" if np.isfinite(lo) else (
            f"Δ{metric} {delta:+.3f} (1 seed: no spread)")  # fmt: skip
        out.append(Finding(
            "models", f"Does the best deep net beat the best baseline ({split} split)?", flag,
            f"{d['name']} ({metric} {d['value']:.3f}) {says} {b['name']} ({b['value']:.3f}).",
            number))  # fmt: skip
    if calibration is not None and len(calibration):
        shown = set(compared)
        for r in calibration.itertuples(index=False):
            if (str(r.name), str(r.split)) not in shown:
                continue
            ece = float(r.ece)
            flag = "pass" if ece <= 0.05 else "warn" if ece <= 0.15 else "fail"
            out.append(Finding("models", f"Are the probabilities of {r.name} calibrated ({r.split} split)?",
                               flag, f"expected calibration error {ece:.3f} (10 equal-width bins; "
                               "<= 0.05 pass, <= 0.15 warn).", f"ECE {ece:.3f}"))  # fmt: skip
    return out


def expected_calibration_error(y_true: np.ndarray, y_prob: np.ndarray, n_bins: int = 10) -> float:
    """ECE: mean |observed positive rate - mean predicted probability| over ``n_bins``
    equal-width probability bins, weighted by bin size (labels NaN = missing are dropped)."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    if y.size == 0:
        return math.nan
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for k in np.unique(bins):
        m = bins == k
        ece += m.sum() / y.size * abs(y[m].mean() - p[m].mean())
    return float(ece)


def depth_findings(depth: pd.DataFrame) -> list[Finding]:
    """The depth sweep (depth.csv: model, depth, mean[, std | ci_low, ci_high]): does each
    family keep its test metric from the shallowest to the deepest net? The interval of the
    change combines the two ends' seed std (or bootstrap half-widths) in quadrature; "fail"
    only when the net loses more than :data:`DEPTH_TOLERANCE` and the interval excludes 0."""
    out = []
    for model, g in depth.groupby("model", sort=True):
        g = g.sort_values("depth")
        if len(g) < 2:
            continue
        s, d = g.iloc[0], g.iloc[-1]
        delta = float(d["mean"] - s["mean"])
        half, how = math.nan, "1 seed: no spread"
        if "std" in g.columns and np.isfinite([s["std"], d["std"]]).all():
            half = 1.96 * math.hypot(float(s["std"]), float(d["std"]))
            how = "seed std of both ends"
        elif {"ci_low", "ci_high"} <= set(g.columns) and np.isfinite(
            [s["ci_low"], s["ci_high"], d["ci_low"], d["ci_high"]]
        ).all():
            half = math.hypot((s["ci_high"] - s["ci_low"]) / 2, (d["ci_high"] - d["ci_low"]) / 2)
            how = "1 seed: bootstrap CIs combined"
        lo, hi = delta - half, delta + half
        if delta >= -DEPTH_TOLERANCE:
            flag, says = "pass", "keeps"
        elif np.isfinite(hi) and hi < 0:
            flag, says = "fail", "loses"
        else:
            flag, says = "warn", "may lose (the interval covers no change)"
        ci = f"95% CI [{lo:+.3f}, {hi:+.3f}], {how}" if np.isfinite(half) else how
        out.append(Finding("dynamics", f"Does {model} keep its accuracy with depth?", flag,
                           f"{model} {says} its test score from {int(s['depth'])} to "
                           f"{int(d['depth'])} layers ({s['mean']:.3f} -> {d['mean']:.3f}).",
                           f"Δ {delta:+.3f} ({ci})"))  # fmt: skip
    return out


# -------------------------------------------------------------------------------------- probes


def _split_trailing_parenthesis(text: str) -> tuple[str, str]:
    """("a b", "c (d)") from "a b (c (d))": the final balanced parenthesis split off."""
    if not text.endswith(")"):
        return text, ""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i].rstrip(), text[i + 1 : -1]
    return text, ""


def probe_findings(
    model: str, verdict_md: str | None, probes: pd.DataFrame | None = None
) -> list[Finding]:
    """The probing verdict of one net family: the ordering sentence of verdict.md (levels
    radicals -> centres -> pharmacophores) and its causal-erasure lines. Without a verdict
    file, the strongest probe of ``probes`` (layer, concept, auc) is reported as info."""
    out = []
    if verdict_md:
        for line in verdict_md.splitlines():
            s = line.strip()
            if "the ordering" in s or "cannot judge the ordering" in s:
                if "does not hold" in s:
                    flag = "fail"
                elif any(w in s for w in ("point estimates", "only weakly", "cannot judge")):
                    flag = "warn"
                else:
                    flag = "pass" if "holds" in s else "info"
                said, where = _split_trailing_parenthesis(s.rstrip("."))
                question = f"{model}: do concepts emerge in the order radicals -> centres -> pharmacophores?"
                out.append(Finding("probes", question, flag, said, where))
            m = re.match(r"Level (\d+): the net (uses|shows no sign of using) the erased concepts "
                         r"\((.*)\)\.?$", s)  # fmt: skip
            if m:
                out.append(Finding("probes", f"{model}: does the net use level-{m.group(1)} "
                                   "concepts (erasure)?", "pass" if m.group(2) == "uses" else "warn",
                                   f"the net {m.group(2)} the erased level-{m.group(1)} concepts.",
                                   m.group(3)))  # fmt: skip
        if out:
            return out
    if probes is not None and len(probes) and "auc" in probes.columns:
        top = probes.loc[probes["auc"].astype(float).idxmax()]
        out.append(Finding("probes", f"{model}: what do the layers encode?", "info",
                           f"no verdict file; best probe: {top['concept']} at layer {top['layer']}.",
                           f"probe AUC {float(top['auc']):.3f}"))  # fmt: skip
    else:
        out.append(Finding("probes", f"{model}: what do the layers encode?", "warn",
                           "no probing verdict was written."))  # fmt: skip
    return out


# ------------------------------------------------------------------------------------ dynamics


def gradient_ratios(gradients: pd.DataFrame) -> pd.DataFrame:
    """Layer-1 / layer-L ratios per arch × depth [× stage] from a per-layer gradient table.

    Takes either the summary (``gradient_summary.csv``: error_signal_ratio[_low, _high]) or
    the per-layer table (arch, depth, layer, step[, stage], seed, error_signal |
    grad_norm_weight). Returns arch, depth, stage, quantity, ratio, low, high, n_seeds."""
    cols = ["arch", "depth", "stage", "quantity", "ratio", "low", "high", "n_seeds"]
    if "error_signal_ratio" in gradients.columns:
        g = gradients
        return pd.DataFrame({"arch": g["arch"], "depth": g["depth"].astype(int),
                             "stage": g["stage"] if "stage" in g.columns else "final",
                             "quantity": "error signal dL/dh", "ratio": g["error_signal_ratio"],
                             "low": g.get("error_signal_ratio_low", np.nan),
                             "high": g.get("error_signal_ratio_high", np.nan),
                             "n_seeds": g.get("n_seeds", 1)})[cols]  # fmt: skip
    value = "error_signal" if "error_signal" in gradients.columns else "grad_norm_weight"
    quantity = "error signal dL/dh" if value == "error_signal" else "weight gradient norm"
    g = gradients
    if "stage" not in g.columns:  # one stage: the last recorded step
        g = g[g["step"] == g.groupby(["arch", "depth"])["step"].transform("max")].assign(
            stage="final"
        )
    if "seed" not in g.columns:
        g = g.assign(seed=0)
    rows = []
    for (arch, depth, stage), d in g.groupby(["arch", "depth", "stage"], sort=False):
        layers = sorted(d["layer"].unique())
        if len(layers) < 2:
            continue
        first = d[d["layer"] == layers[0]].groupby("seed")[value].mean()
        last = d[d["layer"] == layers[-1]].groupby("seed")[value].mean()
        r = (first / last).replace([np.inf, -np.inf], np.nan).dropna()
        r = r[r > 0]
        if r.empty:
            continue
        m, lo, hi = _t_interval(np.log(r.to_numpy()))
        rows.append([arch, int(depth), stage, quantity, math.exp(m), math.exp(lo) if np.isfinite(lo) else math.nan,
                     math.exp(hi) if np.isfinite(hi) else math.nan, len(r)])  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _ratio_flag(ratio: float) -> tuple[str, str]:
    if not np.isfinite(ratio):
        return "info", "no ratio"
    if ratio < VANISHES:
        return "fail", "vanishes"
    if ratio > EXPLODES:
        return "fail", "explodes"
    if KEEPS_GRADIENT[0] <= ratio <= KEEPS_GRADIENT[1]:
        return "pass", "is kept"
    return "warn", "shrinks" if ratio < 1 else "grows"


def dynamics_findings(ratios: pd.DataFrame, stage: str | None = None) -> list[Finding]:
    """Does the gradient vanish at the deepest depth, per architecture, and which remedies
    keep it (ranked by |log ratio|)? ``ratios``: :func:`gradient_ratios` output; ``stage``:
    which training stage to judge (default: ``init`` when present, else the first)."""
    if ratios.empty:
        return [Finding("dynamics", "Do gradients vanish?", "warn", "no gradient ratios recorded.")]
    stages = list(dict.fromkeys(ratios["stage"]))
    stage = stage or ("init" if "init" in stages else stages[0])
    r = ratios[ratios["stage"] == stage]
    deepest = r[r["depth"] == r.groupby("arch")["depth"].transform("max")].copy()
    deepest["distance"] = np.abs(np.log10(deepest["ratio"].astype(float)))
    deepest = deepest.sort_values("distance")
    out = []
    for row in deepest.itertuples(index=False):
        flag, says = _ratio_flag(float(row.ratio))
        ci = ("1 seed: no spread" if not np.isfinite(row.low)
              else f"95% CI [{row.low:.3g}, {row.high:.3g}]")  # fmt: skip
        out.append(Finding("dynamics", f"Does the gradient vanish in {row.arch} at {row.depth} layers?",
                           flag, f"{row.quantity} at layer 1 / layer {row.depth}: the gradient {says} "
                           f"({stage}).", f"ratio {row.ratio:.3g} ({ci}, {row.n_seeds} seed(s))"))  # fmt: skip
    kept = [f.question.split(" in ")[1].split(" at ")[0] for f in out if f.flag == "pass"]
    ranking = ", ".join(
        f"{a} ({x:.2g})" for a, x in zip(deepest["arch"], deepest["ratio"], strict=True)
    )
    out.append(Finding("dynamics", "Which architectures keep the gradient at depth?",
                       "pass" if kept else "fail",
                       f"kept (ratio {KEEPS_GRADIENT[0]}-{KEEPS_GRADIENT[1]}): "
                       f"{', '.join(kept) if kept else 'none'}.", f"ranked, closest to 1 first: {ranking}"))  # fmt: skip
    return out


def ratio_table(ratios: pd.DataFrame) -> pd.DataFrame:
    """Architecture × depth table of layer-1 / layer-L ratios (one column per stage × depth),
    every architecture, every depth: no row is dropped."""
    if ratios.empty:
        return pd.DataFrame()
    t = ratios.assign(
        col=ratios["stage"].astype(str) + ", " + ratios["depth"].astype(str) + " layers"
    )
    wide = t.pivot_table(index="arch", columns="col", values="ratio", aggfunc="first", sort=False)
    return wide.reset_index()


def credit_findings(credit: pd.DataFrame) -> list[Finding]:
    """Uniform credit over the SMILES (lstm_credit_summary.csv: arch, augmented, seed, group,
    slope, ...): the slope of a group's credit share against its position, mean over groups,
    t-interval over seeds. Uniform (pass) when the interval covers 0."""
    out = []
    keys = [c for c in ("arch", "augmented") if c in credit.columns]
    for key, g in credit.groupby(keys, sort=True) if keys else [((), credit)]:
        if "group" in g.columns and (g["group"] == "all").any():
            g = g[g["group"] == "all"]  # the pooled row; else the mean over the groups
        per_seed = g.groupby("seed")["slope"].mean() if "seed" in g.columns else g["slope"]
        m, lo, hi = _t_interval(per_seed.to_numpy())
        if not np.isfinite(lo):
            flag, says = "warn", "cannot be judged with one seed"
        elif lo <= 0 <= hi:
            flag, says = "pass", "is uniform over positions (slope interval covers 0)"
        else:
            flag, says = "fail", "depends on where the group is written"
        name = " ".join(
            f"{k}={v}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=True)
        )
        out.append(Finding("dynamics", f"Is credit uniform over the SMILES ({name})?", flag,
                           f"the credit share of a group {says}.",
                           f"slope {m:+.3g} ({_interval(lo, hi, 3)}, {len(per_seed)} seed(s))"))  # fmt: skip
    return out


# ----------------------------------------------------------------------------------- screening


def hit_spread(top: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """Per hit: its top task (the highest task column, or ``explained_task``) and the
    ensemble spread of that task (``<task>_std``; NaN when not recorded)."""
    tasks = [c[:-4] for c in top.columns if c.endswith("_std") and c[:-4] in top.columns]
    names, spread = [], []
    for _, r in top.iterrows():
        task = r.get("explained_task")
        if not (isinstance(task, str) and task in tasks) and tasks:
            task = max(tasks, key=lambda t: -np.inf if pd.isna(r[t]) else float(r[t]))
        names.append(task if isinstance(task, str) else "")
        spread.append(
            float(r[f"{task}_std"])
            if isinstance(task, str) and f"{task}_std" in r.index
            else math.nan
        )
    return names, np.asarray(spread, dtype=float)


def screen_findings(library: str, top: pd.DataFrame, n_scored: int | None = None) -> list[Finding]:
    """The top hits of one library: how many inside the applicability domain, how many with a
    structural alert, the best score ± its ensemble spread."""
    if top.empty:
        return [Finding("screen", f"{library}: what did the screen find?", "warn", "no hits.")]
    n = len(top)
    _, spread = hit_spread(top)
    best = float(top["score"].max())
    sp = spread[int(np.argmax(top["score"].to_numpy(dtype=float)))]
    scored = f"{n_scored} scored, " if n_scored is not None else ""
    out = [Finding("screen", f"{library}: what did the screen find?", "info",
                   f"{scored}top {n} hits; best score {best:.2f}"
                   + (f" +/- {sp:.2f}" if np.isfinite(sp) else " (no ensemble spread)") + ".",
                   f"scores {float(top['score'].min()):.2f}-{best:.2f}")]  # fmt: skip
    if "in_domain" in top.columns:
        inside = int(top["in_domain"].astype(bool).sum())
        share = inside / n
        flag = "pass" if share >= 0.5 else "warn" if inside else "fail"
        out.append(Finding("screen", f"{library}: are the hits inside the applicability domain?", flag,
                           f"{inside} of {n} top hits are inside the domain; "
                           f"{n - inside} are extrapolations the models were not trained near.",
                           f"{inside}/{n} in domain"))  # fmt: skip
    if "alerts" in top.columns:
        alerts = top["alerts"].fillna("").astype(str).str.strip()
        k = int((alerts != "").sum())
        names = sorted({a.strip() for s in alerts for a in s.split(";") if a.strip()})
        out.append(Finding("screen", f"{library}: do the hits carry structural alerts?",
                           "pass" if k == 0 else "warn",
                           f"{k} of {n} top hits match a structural alert"
                           + (f" ({', '.join(names)})." if names else "."), f"{k}/{n} with alerts"))  # fmt: skip
    return out


# ----------------------------------------------------------------------------------- shortcuts


def shortcut_findings(
    dataset: str, flags: pd.DataFrame | None = None, markdown: str | None = None
) -> list[Finding]:
    """Every flag of the shortcut audit, as a warning each; none: one pass.

    ``flags``: findings.csv (check, subject, measured, value, ci_low, ci_high, n, text); or,
    without it, the bullet list under ``## Flags`` of findings.md."""
    rows: list[Finding] = []
    if flags is not None:
        for r in flags.itertuples(index=False):
            lo, hi = float(getattr(r, "ci_low", math.nan)), float(getattr(r, "ci_high", math.nan))
            ci = (
                f" [{lo:.3f}, {hi:.3f}]"
                if np.isfinite(lo) and np.isfinite(hi)
                else " (no interval)"
            )
            rows.append(Finding("shortcuts", f"{dataset}: {r.check} ({r.subject})?", "warn",
                                str(r.text).split(" [")[0], f"{r.measured} {float(r.value):.3f}{ci}"))  # fmt: skip
    elif markdown is not None:
        text = markdown.split("## Flags", 1)[1] if "## Flags" in markdown else markdown
        text = text.split("\n## ", 1)[0]
        for line in text.splitlines():
            if line.startswith("- "):
                body = line[2:].replace("**", "")
                m = re.search(r"\[([^\]]*)\]\s*$", body)
                rows.append(Finding("shortcuts", f"{dataset}: shortcut flagged", "warn",
                                    body[: m.start()].strip() if m else body, m.group(1) if m else ""))  # fmt: skip
    if not rows:
        rows.append(Finding("shortcuts", f"{dataset}: does any model or task look shortcut-driven?",
                            "pass", "no check of the audit raised a flag."))  # fmt: skip
    return rows


def stage_summary(findings: Sequence[Finding]) -> dict[str, str]:
    """One short line per stage: the count of each flag, e.g. ``2 pass, 1 warn``."""
    out: dict[str, Mapping] = {}
    for f in findings:
        out.setdefault(f.stage, {k: 0 for k in FLAGS})[f.flag] += 1  # type: ignore[index]
    return {s: ", ".join(f"{n} {k}" for k, n in c.items() if n) for s, c in out.items()}
