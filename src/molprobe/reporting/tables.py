"""Tables for the report as small self-contained HTML pages (inline CSS, no scripts), which
the Snakemake report shows inline; the same table is also written as CSV for machines."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 12px; color: #222; }
h2 { font-size: 17px; margin: 0 0 6px 0; }
p.note { font-size: 13px; color: #555; margin: 0 0 10px 0; max-width: 60em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e2e2e2; text-align: left; }
th { background: #f3f4f6; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #fafafa; }
"""


def _cell(value, float_digits: int) -> tuple[str, bool]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–", True
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False
    if isinstance(value, int | np.integer):
        return f"{int(value):,}".replace(",", "\u202f"), True
    if isinstance(value, float | np.floating):
        return f"{float(value):.{float_digits}f}", True
    return html.escape(str(value)), False


def html_table(
    table: pd.DataFrame, title: str, note: str = "", float_digits: int = 3, max_rows: int = 500
) -> str:
    """A complete HTML page holding ``table`` (first ``max_rows`` rows), a title and a note.
    Numbers are right-aligned; floats get ``float_digits`` decimals; NaN shows as an en dash."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for rec in table.head(max_rows).itertuples(index=False):
        cells = []
        for v in rec:
            text, num = _cell(v, float_digits)
            cells.append(f'<td class="num">{text}</td>' if num else f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(table) > max_rows:
        more = f'<p class="note">… {len(table) - max_rows} more rows in the CSV file.</p>'
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h2>{html.escape(title)}</h2>{note_html}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"
        "</body></html>\n"
    )
