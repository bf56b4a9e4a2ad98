"""The hit table made for triage: identifier, structure thumbnail, score +/- spread, top task,
its conformal set (when calibrated), domain and alerts first; per-task scores folded away;
sortable, filterable, paged, CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd

from molprobe.reporting.conformal import SET_SUFFIX
from molprobe.reporting.findings import hit_spread
from molprobe.reporting.tables import html_table

THUMB_SIZE = (150, 120)  # pixels of one structure thumbnail
FIRST = ["id", "score", "spread", "top_task", "set", "in_domain", "ad_similarity", "alerts",
         "smiles"]  # fmt: skip


def triage_frames(top: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(front, details) of the ranked hits: ``front`` holds rank, id (the input identifier,
    else the input row), score, spread (ensemble std of the top task), top_task, in_domain,
    ad_similarity, alerts and smiles (the standardized SMILES; ``input_smiles`` only where it
    differs), and ``set``, the top task's conformal set, when ``top`` has ``<task>_set``
    columns (:func:`molprobe.reporting.conformal.attach_sets`); ``details`` every other
    column (per-task scores, spreads and sets)."""
    tasks, spread = hit_spread(top)
    front = pd.DataFrame({"rank": np.arange(1, len(top) + 1)})
    if "id" in top.columns:
        front["id"] = top["id"].astype(str).to_numpy()
    elif "row" in top.columns:
        front["id"] = ("row " + top["row"].astype(str)).to_numpy()
    front["score"] = top["score"].astype(float).to_numpy()
    front["spread"] = spread
    front["top_task"] = tasks
    if any(f"{t}{SET_SUFFIX}" in top.columns for t in tasks):
        front["set"] = [top[f"{t}{SET_SUFFIX}"].iloc[i] if f"{t}{SET_SUFFIX}" in top.columns
                        else "" for i, t in enumerate(tasks)]  # fmt: skip
    for c in ("in_domain", "ad_similarity"):
        if c in top.columns:
            front[c] = top[c].to_numpy()
    if "alerts" in top.columns:
        front["alerts"] = top["alerts"].fillna("").astype(str).to_numpy()
    std = top["std_smiles"] if "std_smiles" in top.columns else top.get("smiles")
    if std is not None:
        front["smiles"] = std.astype(str).to_numpy()
    if "std_smiles" in top.columns and "smiles" in top.columns:
        same = top["smiles"].astype(str) == top["std_smiles"].astype(str)
        if not same.all():
            front["input_smiles"] = np.where(same, "", top["smiles"].astype(str))
    used = set(FIRST) | {"rank", "row", "std_smiles", "explained_task", "atom_weights",
                         "explained_by"}  # fmt: skip
    details = top[[c for c in top.columns if c not in used]].reset_index(drop=True)
    return front, details


def hit_table_page(library: str, top: pd.DataFrame, note: str = "") -> tuple[str, str]:
    """The triage table of ``top`` as (HTML page, CSV text)."""
    from molprobe.reporting.structures import draw_grid

    front, details = triage_frames(top)
    thumbs = [draw_grid([s], size=THUMB_SIZE, key="") for s in front.get("smiles", [])]
    n_in = int(front["in_domain"].astype(bool).sum()) if "in_domain" in front.columns else None
    where = f" {n_in} of {len(front)} inside the applicability domain." if n_in is not None else ""
    text = ("spread: ensemble std of the top task's score (the uncertainty; NaN: one model). "
            "Click a header to sort, type to filter; per-task scores under 'more'." + where + " " + note)  # fmt: skip
    page = html_table(front, f"{library}: top {len(front)} hits", text.strip(), thumbnails=thumbs,
                      details=details if details.shape[1] else None,
                      csv_name=f"{library}_hits.csv")  # fmt: skip
    full = pd.concat([front, details], axis=1)
    return page, full.to_csv(index=False)
