"""The findings page as one self-contained HTML document (inline CSS, no scripts, no network):
per stage a heading, its short summary (flag counts), then one row per verdict with its
traffic light and number, and optional extra blocks (ratio table, hit structures)."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

import pandas as pd

from molprobe.reporting.findings import Finding, stage_summary

STAGE_ORDER = ["data", "models", "probes", "dynamics", "screen", "shortcuts"]
STAGE_NAMES = {"data": "Data", "models": "Models", "probes": "Probes", "dynamics": "Dynamics",
               "screen": "Screening", "shortcuts": "Shortcut audit"}  # fmt: skip
COLOURS = {"pass": "#1a7f37", "warn": "#bf8700", "fail": "#cf222e", "info": "#57606a"}
LABELS = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "info": "INFO"}

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 14px; color: #1f2328; font-size: 14px; }
h1 { font-size: 20px; margin: 0 0 4px 0; } h2 { font-size: 17px; margin: 18px 0 4px 0; }
p.lead, p.summary { color: #57606a; margin: 2px 0 8px 0; max-width: 62em; }
table.f { border-collapse: collapse; width: 100%; max-width: 1100px; }
table.f td, table.f th { padding: 5px 8px; border-bottom: 1px solid #e2e2e2; text-align: left; vertical-align: top; }
table.f th { background: #f3f4f6; font-size: 13px; }
span.flag { display: inline-block; min-width: 3.4em; text-align: center; color: white; border-radius: 9px; padding: 1px 6px; font-size: 12px; font-weight: 600; }
td.num { font-variant-numeric: tabular-nums; color: #333; }
table.x { border-collapse: collapse; font-size: 13px; margin: 8px 0; } table.x td, table.x th { padding: 3px 8px; border-bottom: 1px solid #eee; }
table.x td.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend { font-size: 13px; color: #57606a; }
"""


def flag_badge(flag: str) -> str:
    return f'<span class="flag" style="background:{COLOURS[flag]}">{LABELS[flag]}</span>'


def svg_image(svg: str, alt: str, max_width: int = 1100) -> str:
    """An SVG as an ``<img>`` with a base64 data URI (keeps its ids apart from the page's)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img alt="{html.escape(alt)}" style="max-width:{max_width}px;width:100%" src="data:image/svg+xml;base64,{data}">'


def small_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A compact HTML table (every row); floats with ``digits`` significant digits."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for v in rec:
            if isinstance(v, float):
                cells.append(f'<td class="n">{"n/a" if v != v else f"{v:.{digits}g}"}</td>')
            else:
                cells.append(f"<td>{html.escape(str(v))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="x"><tr>{head}</tr>{"".join(rows)}</table>'


def findings_html(
    title: str,
    findings: Sequence[Finding],
    extras: Mapping[str, str] | None = None,
    lead: str = "",
) -> str:
    """The page. ``extras``: per stage, an HTML block shown after its verdicts (trusted HTML
    built by this package, e.g. :func:`small_table` or :func:`svg_image`)."""
    extras = extras or {}
    summary = stage_summary(findings)
    stages = [s for s in STAGE_ORDER if s in summary or s in extras]
    stages += sorted({f.stage for f in findings} - set(stages))
    body = [f"<h1>{html.escape(title)}</h1>"]
    if lead:
        body.append(f'<p class="lead">{html.escape(lead)}</p>')
    body.append('<p class="legend">' + " ".join(
        f"{flag_badge(k)} {v}" for k, v in (("pass", "the claim holds / nothing wrong"),
        ("warn", "unclear or worth a look"), ("fail", "the claim does not hold / a problem"),
        ("info", "a measured fact"))) + "</p>")  # fmt: skip
    for stage in stages:
        mine = [f for f in findings if f.stage == stage]
        body.append(f'<h2 id="{stage}">{html.escape(STAGE_NAMES.get(stage, stage))}</h2>')
        if stage in summary:
            body.append(f'<p class="summary">{len(mine)} verdict(s): {summary[stage]}.</p>')
        if mine:
            body.append('<table class="f"><tr><th>flag</th><th>question</th><th>verdict</th>'
                        "<th>number</th></tr>")  # fmt: skip
            for f in mine:
                body.append(
                    f'<tr class="verdict" data-stage="{stage}" data-flag="{f.flag}"><td>'
                    f"{flag_badge(f.flag)}</td><td>{html.escape(f.question)}</td>"
                    f'<td>{html.escape(f.verdict)}</td><td class="num">{html.escape(f.number)}</td></tr>'
                )
            body.append("</table>")
        if stage in extras:
            body.append(extras[stage])
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
