"""Application function of the findings page: the stage tables in, (HTML page, findings
table) out. ``molprobe report findings`` reads the files and calls :func:`findings_report`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from molprobe.reporting import findings as fd
from molprobe.reporting.findings_page import findings_html, small_table, svg_image

N_INLINE_HITS = 8  # top structures drawn inline on the findings page


@dataclass
class FindingsInputs:
    """What the findings page reads; every part is optional (a stage that did not run is
    simply absent). Mappings are keyed by model (probes) or library (screening)."""

    dataset: str
    headlines: Sequence[Mapping] = ()
    comparison: pd.DataFrame | None = None
    calibration: pd.DataFrame | None = None
    depth: pd.DataFrame | None = None
    probe_verdicts: Mapping[str, str] = field(default_factory=dict)
    probe_tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    gradients: pd.DataFrame | None = None
    credit: pd.DataFrame | None = None
    hits: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    n_scored: Mapping[str, int] = field(default_factory=dict)
    shortcut_flags: pd.DataFrame | None = None
    shortcut_markdown: str | None = None


def _data_findings(headlines: Sequence[Mapping]) -> list[fd.Finding]:
    out = []
    for h in headlines:
        if h.get("stage") == "data" and h.get("lines"):
            out.append(fd.Finding("data", f"{h.get('name', '')}: what went in?", "info",
                                  " ".join(h["lines"][:1]), " ".join(h["lines"][1:])))  # fmt: skip
    return out


def _hit_block(library: str, top: pd.DataFrame) -> str:
    from molprobe.reporting.structures import draw_grid

    top = top.head(N_INLINE_HITS)
    tasks, spread = fd.hit_spread(top)
    smiles = top["std_smiles"] if "std_smiles" in top.columns else top["smiles"]
    legends = []
    for k, (_, r) in enumerate(top.iterrows()):
        text = f"#{k + 1} score {float(r['score']):.2f}"
        text += f" +/- {spread[k]:.2f}" if spread[k] == spread[k] else " (no spread)"
        if tasks[k]:
            text += f"\ntop task {tasks[k]}"
        if "in_domain" in r.index:
            text += "\nin domain" if bool(r["in_domain"]) else "\nOUT of domain"
        alerts = r.get("alerts")
        if isinstance(alerts, str) and alerts.strip():
            text += f"\nalerts: {len(alerts.split(';'))}"
        legends.append(text)
    svg = draw_grid(smiles.astype(str).tolist(), legends, mols_per_row=4, size=(240, 190), key="")
    return (f"<p><b>{library}</b>: the top {len(top)} structures (score +/- ensemble spread of "
            f"the top task).</p>" + svg_image(svg, f"top hits of {library}", 960))  # fmt: skip


def findings_report(inputs: FindingsInputs) -> tuple[str, pd.DataFrame]:
    """Every verdict of the stages present in ``inputs``: (HTML page, findings table)."""
    found = _data_findings(inputs.headlines)
    extras: dict[str, str] = {}
    if inputs.comparison is not None and len(inputs.comparison):
        found += fd.model_findings(inputs.comparison, inputs.calibration)
    for model in sorted(set(inputs.probe_verdicts) | set(inputs.probe_tables)):
        found += fd.probe_findings(model, inputs.probe_verdicts.get(model),
                                   inputs.probe_tables.get(model))  # fmt: skip
    if inputs.gradients is not None:
        ratios = fd.gradient_ratios(inputs.gradients)
        found += fd.dynamics_findings(ratios)
        if len(ratios):
            extras["dynamics"] = ("<p>Layer-1 / layer-L ratio of the " + ratios["quantity"].iloc[0]
                                  + " per architecture and depth (1 = kept; below "
                                  f"{fd.VANISHES} = vanishes):</p>" + small_table(fd.ratio_table(ratios)))  # fmt: skip
    if inputs.depth is not None and len(inputs.depth):
        found += fd.depth_findings(inputs.depth)
    if inputs.credit is not None and len(inputs.credit):
        found += fd.credit_findings(inputs.credit)
    blocks = []
    for library, top in inputs.hits.items():
        found += fd.screen_findings(library, top, inputs.n_scored.get(library))
        if len(top):
            blocks.append(_hit_block(library, top))
    if blocks:
        extras["screen"] = "".join(blocks)
    if inputs.shortcut_flags is not None or inputs.shortcut_markdown is not None:
        found += fd.shortcut_findings(
            inputs.dataset, inputs.shortcut_flags, inputs.shortcut_markdown
        )
    lead = ("One verdict per question, each with the number behind it; the figures and tables "
            "of every stage follow in the menu.")  # fmt: skip
    page = findings_html(f"molprobe findings: {inputs.dataset}", found, extras, lead)
    return page, fd.findings_frame(found)
