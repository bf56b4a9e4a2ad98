"""Tables for the report as small self-contained HTML pages (inline CSS and a short inline
script, no network): every row is in the page, shown in pages of ``page_size`` rows; a click
on a header sorts, the filter box keeps matching rows, a link downloads the table as CSV.
Without JavaScript every row is simply shown. The same table is also written as CSV."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import numpy as np
import pandas as pd

PAGE_SIZE = 50  # rows shown per page (all rows are in the page)

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 12px; color: #222; }
h2 { font-size: 17px; margin: 0 0 6px 0; }
p.note { font-size: 13px; color: #555; margin: 0 0 10px 0; max-width: 60em; }
div.tools { font-size: 13px; margin: 0 0 8px 0; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
div.tools input { font-size: 13px; padding: 2px 6px; width: 16em; }
div.tools button { font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e2e2e2; text-align: left; vertical-align: middle; }
th { background: #f3f4f6; position: sticky; top: 0; cursor: pointer; user-select: none; }
th.asc::after { content: " \\25B2"; font-size: 10px; } th.desc::after { content: " \\25BC"; font-size: 10px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #fafafa; }
details { font-size: 13px; } details table { margin-top: 4px; }
img.thumb { width: 150px; height: auto; display: block; }
"""

SCRIPT = """
(function () {
  const table = document.querySelector("table.data"), body = table.tBodies[0];
  const rows = Array.from(body.rows), size = +table.dataset.page;
  const box = document.getElementById("filter"), info = document.getElementById("info");
  let shown = rows, page = 0;
  function draw() {
    const pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(page, pages - 1);
    rows.forEach(r => { r.style.display = "none"; });
    shown.forEach((r, i) => { body.appendChild(r);
      r.style.display = (i >= page * size && i < (page + 1) * size) ? "" : "none"; });
    info.textContent = shown.length + " of " + rows.length + " rows; page " + (page + 1) + " of " + pages;
  }
  box.addEventListener("input", () => { const q = box.value.toLowerCase();
    shown = rows.filter(r => r.textContent.toLowerCase().includes(q)); page = 0; draw(); });
  document.getElementById("prev").onclick = () => { page = Math.max(0, page - 1); draw(); };
  document.getElementById("next").onclick = () => { page += 1; draw(); };
  Array.from(table.tHead.rows[0].cells).forEach((th, k) => th.addEventListener("click", () => {
    const up = !th.classList.contains("asc");
    Array.from(th.parentNode.cells).forEach(c => c.classList.remove("asc", "desc"));
    th.classList.add(up ? "asc" : "desc");
    const key = r => { const c = r.cells[k], v = c.dataset.v !== undefined ? c.dataset.v : c.textContent;
      const x = parseFloat(v); return isNaN(x) ? v.toLowerCase() : x; };
    shown.sort((a, b) => { const x = key(a), y = key(b);
      const c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return up ? c : -c; });
    draw(); }));
  draw();
})();
"""


def _cell(value, float_digits: int) -> tuple[str, bool, str | None]:
    """(text, is_number, sort key) of one value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–", True, ""
    if isinstance(value, bool | np.bool_):
        return ("yes" if value else "no"), False, None
    if isinstance(value, int | np.integer):
        return f"{int(value):,}".replace(",", "\u202f"), True, str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.{float_digits}f}", True, repr(float(value))
    return html.escape(str(value)), False, None


def _td(value, float_digits: int) -> str:
    text, num, key = _cell(value, float_digits)
    attr = f' data-v="{html.escape(key)}"' if key is not None else ""
    return f'<td class="num"{attr}>{text}</td>' if num else f"<td>{text}</td>"


def csv_link(table: pd.DataFrame, filename: str) -> str:
    """A link that downloads ``table`` as CSV (a base64 data URI inside the page)."""
    data = base64.b64encode(table.to_csv(index=False).encode("utf-8")).decode("ascii")
    return (f'<a download="{html.escape(filename)}" href="data:text/csv;base64,{data}">'
            f"download CSV ({len(table)} rows)</a>")  # fmt: skip


def html_table(
    table: pd.DataFrame,
    title: str,
    note: str = "",
    float_digits: int = 3,
    page_size: int = PAGE_SIZE,
    thumbnails: Sequence[str | None] | None = None,
    details: pd.DataFrame | None = None,
    csv_name: str = "table.csv",
) -> str:
    """A complete HTML page holding every row of ``table``, a title and a note.

    Numbers are right-aligned (sorted by value); floats get ``float_digits`` decimals; NaN
    shows as an en dash. ``thumbnails``: per row an SVG (or None) shown in a first
    "structure" column. ``details``: per row further columns folded into a ``<details>``
    cell (e.g. per-task scores). The CSV download holds ``table`` and ``details`` joined."""
    cols = (["structure"] if thumbnails is not None else []) + [str(c) for c in table.columns]
    if details is not None:
        cols.append("more")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for i, rec in enumerate(table.itertuples(index=False)):
        cells = []
        if thumbnails is not None:
            svg = thumbnails[i]
            src = (
                "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
                if svg
                else ""
            )
            cells.append(
                f'<td><img class="thumb" alt="structure" src="{src}"></td>' if svg else "<td></td>"
            )
        cells += [_td(v, float_digits) for v in rec]
        if details is not None:
            d = details.iloc[i]
            inner = "".join(
                f"<tr><td>{html.escape(str(k))}</td>{_td(v, float_digits)}</tr>"
                for k, v in d.items()
            )
            cells.append(
                f"<td><details><summary>{len(d)} more</summary><table>{inner}</table></details></td>"
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note_html = f'<p class="note">{html.escape(note)}</p>' if note else ""
    full = table if details is None else pd.concat([table.reset_index(drop=True),
                                                    details.reset_index(drop=True)], axis=1)  # fmt: skip
    tools = (
        '<div class="tools"><input id="filter" type="search" placeholder="filter rows" '
        'aria-label="filter rows"><button id="prev">previous</button><button id="next">next'
        f'</button><span id="info">{len(table)} rows</span>{csv_link(full, csv_name)}</div>'
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h2>{html.escape(title)}</h2>{note_html}{tools}"
        f'<table class="data" data-page="{int(page_size)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table><script>{SCRIPT}</script>"
        "</body></html>\n"
    )
