"""Screen a compound library of any size with an ensemble of trained models.

The library is streamed in chunks of ``chunk_size`` input rows; each chunk is standardized with
the models' recipe, scored by every ensemble member, and written as one Parquet part (plus its
rejected rows) under ``<output>.parts/``. A finished part is never recomputed, so a killed run
resumes with only the missing chunks. Gathering streams the parts into the output in input
order (constant memory) and keeps the ``top`` rows in a bounded buffer.

Output columns: ``row`` (0-based input row), ``id`` (when the input has one), ``smiles`` (as
given), ``std_smiles``, one column per task (ensemble mean probability or value), ``<task>_std``
(ensemble spread, population std), ``score`` (the ranking score), ``ad_similarity`` (max
Tanimoto, ECFP4, to the training molecules), ``in_domain``, ``alerts`` ("; "-joined names of
structural alerts matched).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from rdkit import Chem
from tqdm.auto import tqdm

from molprobe.chem.io import read_molecules
from molprobe.chem.standardize import StandardizeRecipe, standardize_frame
from molprobe.errors import MolprobeError
from molprobe.fileio import atomic_path
from molprobe.screening.domain import DomainModel, fingerprints
from molprobe.screening.pipeline import (
    ECFP4_KEY,
    FeaturePlan,
    FeaturizedChunk,
    alert_names,
    featurize_chunk,
    mp_context,
    worker_featurize,
    worker_init,
)

log = logging.getLogger(__name__)


class Ensemble(Protocol):
    """What screening needs from a set of trained models (see screening/ensemble.py)."""

    tasks: list[str]
    task_type: str
    recipe: StandardizeRecipe
    domain: DomainModel

    def predict(
        self,
        smiles: Sequence[str],
        raw_blocks: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Per-member predictions, float32 (n_members, n_molecules, n_tasks); ``raw_blocks``:
        vector features already computed (see `ModelEnsemble.predict`)."""

    def model_inputs(self) -> list:
        """One `ModelInputs` per distinct model input (what the featurizing workers compute)."""


@dataclass(frozen=True)
class ScreenSettings:
    """How to cut and score the library (sizes in input rows)."""

    chunk_size: int = 10_000
    workers: int = 1
    top: int = 100
    rank_by: str | None = None  # task name; None = mean over tasks
    smiles_column: str | None = None
    id_column: str | None = None
    progress: bool | None = None  # None: only when stderr is a terminal
    row_offset: int = 0  # added to `row` (the input is one chunk of a larger library)


@dataclass
class ScreenSummary:
    n_in: int = 0
    n_scored: int = 0
    n_rejected: int = 0
    n_chunks: int = 0
    n_chunks_reused: int = 0
    n_in_domain: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        rate = self.n_in / self.seconds if self.seconds > 0 else float("nan")
        return (
            f"n_in={self.n_in} scored={self.n_scored} rejected={self.n_rejected} "
            f"chunks={self.n_chunks} (reused {self.n_chunks_reused}) "
            f"in_domain={self.n_in_domain} ({rate:,.0f} molecules/s)"
        )


# --------------------------------------------------------------------------- one chunk


def score_chunk(
    chunk: pd.DataFrame, ensemble: Ensemble, rank_by: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardize and score one chunk from `read_molecules` in this process, the ensemble
    featurizing as it predicts; returns (scored, rejected). The reference for the pipeline
    (`featurize_chunk` + `score_features`), which gives the same tables."""
    kept, rejected = standardize_frame(chunk, ensemble.recipe, keep_mols=True)
    mols = kept.pop("mol").tolist()
    std = kept["smiles"].tolist()
    ecfp4 = fingerprints(mols)  # uint8 (n, 2048)
    if std:
        blocks = {ECFP4_KEY: ecfp4}  # uint8; a member that reads it gets float32
        preds = np.asarray(ensemble.predict(std, blocks), dtype=np.float32)  # (M, n, T)
    else:
        preds = np.zeros((0, 0, len(ensemble.tasks)), dtype=np.float32)
    similarity = ensemble.domain.similarity_from_fingerprints(ecfp4)
    rejected = rejected[["row", "input", "reason"] + (["detail"] if "detail" in rejected else [])]
    scored = scored_table(kept, preds, similarity, alert_names(mols), ensemble, rank_by)
    return scored, rejected.reset_index(drop=True)


def score_features(
    feats: FeaturizedChunk, ensemble: Ensemble, rank_by: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predict a chunk featurized by `featurize_chunk` (batched, on the ensemble's device):
    every raw block is there, so members only assemble (scale) their inputs."""
    std = feats.kept["smiles"].tolist()
    if std:
        preds = np.asarray(ensemble.predict(std, feats.blocks), dtype=np.float32)
    else:
        preds = np.zeros((0, 0, len(ensemble.tasks)), dtype=np.float32)
    scored = scored_table(feats.kept, preds, feats.similarity, feats.alerts, ensemble, rank_by)
    return scored, feats.rejected


def scored_table(
    kept: pd.DataFrame,
    preds: np.ndarray,
    similarity: np.ndarray,
    alerts: Sequence[str],
    ensemble: Ensemble,
    rank_by: str | None,
) -> pd.DataFrame:
    """The output rows of one chunk from per-member predictions (M, n, T), float32."""
    n_tasks = len(ensemble.tasks)
    if len(kept):
        mean, spread = preds.mean(axis=0), preds.std(axis=0)
    else:
        mean = spread = np.zeros((0, n_tasks), dtype=np.float32)
    # the columns in one dict, one DataFrame: ~30 column insertions cost a few ms a chunk
    cols: dict[str, object] = {"row": kept["row"].to_numpy().astype("int64")}
    if "id" in kept:
        cols["id"] = kept["id"].astype("string").array
    cols["smiles"] = kept["input_smiles"].astype("string").array
    cols["std_smiles"] = kept["smiles"].astype("string").array
    for j, task in enumerate(ensemble.tasks):
        cols[task] = mean[:, j]
    for j, task in enumerate(ensemble.tasks):
        cols[f"{task}_std"] = spread[:, j]
    cols["score"] = ranking_score(mean, ensemble.tasks, rank_by)
    cols["ad_similarity"] = similarity
    cols["in_domain"] = ensemble.domain.in_domain(similarity)
    cols["alerts"] = pd.array(list(alerts), dtype="string")
    return pd.DataFrame(cols)


def ranking_score(mean: np.ndarray, tasks: Sequence[str], rank_by: str | None) -> np.ndarray:
    """The score hits are ranked by: one task's prediction, or the mean over tasks."""
    if rank_by is None:
        return mean.mean(axis=1) if mean.shape[1] else np.zeros(len(mean), np.float32)
    if rank_by not in tasks:
        raise MolprobeError(
            f"--rank-by {rank_by!r} is not a task of the models: {', '.join(tasks)}"
        )
    return mean[:, list(tasks).index(rank_by)]


# --------------------------------------------------------------------------- parts on disk


def parts_dir(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def _part_paths(parts: Path, index: int) -> tuple[Path, Path]:
    return parts / f"part-{index:06d}.parquet", parts / f"rejected-{index:06d}.csv"


def _write_part(parts: Path, index: int, scored: pd.DataFrame, rejected: pd.DataFrame) -> None:
    part, rej = _part_paths(parts, index)
    with atomic_path(rej) as tmp:
        rejected.to_csv(tmp, index=False)
    with atomic_path(part) as tmp:  # the parquet part last: its presence marks the chunk done
        scored.to_parquet(tmp, index=False)


def _manifest(input_path: Path, model_ids: Sequence[str], settings: ScreenSettings) -> dict:
    st = input_path.stat()
    return {
        "input": str(input_path.resolve()),
        "input_size": st.st_size,
        "input_mtime_ns": st.st_mtime_ns,
        "models": sorted(model_ids),
        "chunk_size": settings.chunk_size,
        "rank_by": settings.rank_by,
        "smiles_column": settings.smiles_column,
        "id_column": settings.id_column,
        "row_offset": settings.row_offset,
    }


def _prepare_parts(parts: Path, manifest: dict) -> None:
    """Create the parts folder; keep finished parts only when they came from the same run."""
    path = parts / "manifest.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old == manifest:
            return
        log.warning("%s: inputs, models or settings changed; discarding old parts", parts)
        for p in parts.iterdir():
            p.unlink()
    parts.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2))


# --------------------------------------------------------------------------- the run


def _chunks(input_path: Path, settings: ScreenSettings) -> Iterator[tuple[int, pd.DataFrame]]:
    reader = read_molecules(
        input_path,
        smiles_column=settings.smiles_column,
        id_column=settings.id_column,
        chunk_size=settings.chunk_size,
    )
    for index, chunk in enumerate(reader):
        if settings.row_offset:
            chunk["row"] += settings.row_offset
        yield index, chunk


def screen_library(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    load_ensemble: Callable[[], Ensemble],
    model_ids: Sequence[str],
    settings: ScreenSettings = ScreenSettings(),
    total_rows: int | None = None,
) -> ScreenSummary:
    """Score every chunk of ``input_path`` that has no finished part yet, then gather.

    ``load_ensemble``: a zero-argument callable giving the models (on their device); this
    process runs all inference, ``settings.workers`` processes (when > 1) featurize
    (`molprobe.screening.pipeline`). ``model_ids`` identify the models for the resume check.
    """
    input_path, output = Path(input_path), Path(output)
    t0 = time.monotonic()
    parts = parts_dir(output)
    _prepare_parts(parts, _manifest(input_path, model_ids, settings))
    summary = ScreenSummary()
    show = settings.progress if settings.progress is not None else sys.stderr.isatty()
    progress = tqdm(total=total_rows, disable=not show, unit="mol",
                    desc="screened", file=sys.stderr, dynamic_ncols=True)  # fmt: skip

    def account(index: int, n_rows: int, reused: bool) -> None:
        summary.n_chunks += 1
        summary.n_chunks_reused += int(reused)
        progress.update(n_rows)

    ensemble = load_ensemble()  # the one process that owns the device
    ensemble_tasks_check(ensemble, settings)
    plan = FeaturePlan.of(ensemble)

    def finish(feats: FeaturizedChunk) -> None:
        _write_part(parts, feats.index, *score_features(feats, ensemble, settings.rank_by))
        account(feats.index, feats.n_rows, False)

    todo = _unfinished(_chunks(input_path, settings), parts, account)
    if settings.workers <= 1:  # the same two steps, in this process
        for index, chunk in todo:
            finish(featurize_chunk(chunk, plan, index))
    else:  # workers featurize; this process predicts, a bounded queue between (constant memory)
        with ProcessPoolExecutor(
            settings.workers,
            mp_context=mp_context(plan),
            initializer=worker_init,
            initargs=(plan, os.getpid()),
        ) as pool:
            pending: set[Future] = set()
            for index, chunk in todo:
                if len(pending) >= 2 * settings.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        finish(pickle.loads(fut.result()))
                pending.add(pool.submit(worker_featurize, chunk, index))
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    finish(pickle.loads(fut.result()))
    progress.close()
    gather(parts, output, summary, top=settings.top)
    summary.seconds = time.monotonic() - t0
    return summary


def _unfinished(
    chunks: Iterable[tuple[int, pd.DataFrame]], parts: Path, account: Callable
) -> Iterator[tuple[int, pd.DataFrame]]:
    """The chunks without a finished part; finished ones are counted as reused."""
    for index, chunk in chunks:
        if _part_paths(parts, index)[0].exists():
            account(index, len(chunk), True)
        else:
            yield index, chunk


def ensemble_tasks_check(ensemble: Ensemble, settings: ScreenSettings) -> None:
    if settings.rank_by is not None and settings.rank_by not in ensemble.tasks:
        raise MolprobeError(
            f"--rank-by {settings.rank_by!r} is not a task of the models: {', '.join(ensemble.tasks)}"
        )


# --------------------------------------------------------------------------- gather


def _sorted_parts(parts: Path) -> list[int]:
    return sorted(int(p.stem.split("-")[1]) for p in parts.glob("part-*.parquet"))


def top_paths(output: Path) -> tuple[Path, Path]:
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return output.with_name(f"{stem}.top.csv"), output.with_name(f"{stem}.top.sdf")


def rejected_path(output: Path) -> Path:
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    return output.with_name(f"{stem}.rejected.csv")


def gather(
    parts: Path, output: Path, summary: ScreenSummary, top: int = ScreenSettings.top
) -> None:
    """Stream all parts of one run into ``output`` (input order), the ledger, the top hits."""
    pairs = [_part_paths(parts, i) for i in _sorted_parts(parts)]
    gather_files(pairs, output, summary, top)


def gather_files(
    pairs: Sequence[tuple[Path, Path]],
    output: Path,
    summary: ScreenSummary,
    top: int = ScreenSettings.top,
) -> None:
    """Concatenate (scored parquet, rejected csv) pairs, in the given order, into ``output``
    and its ledger, streaming (constant memory), and keep the ``top`` rows by score."""
    best: pd.DataFrame | None = None
    reasons: dict[str, int] = {}
    summary.n_scored = summary.n_rejected = summary.n_in_domain = 0
    with atomic_path(output) as tmp_out, atomic_path(rejected_path(output)) as tmp_rej:
        writer: pq.ParquetWriter | None = None
        header = True
        try:
            for part, rej in pairs:
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(tmp_out, table.schema)
                writer.write_table(table.cast(writer.schema))
                frame = table.to_pandas()
                summary.n_scored += len(frame)
                summary.n_in_domain += int(frame["in_domain"].sum()) if len(frame) else 0
                if top > 0 and len(frame):
                    head = largest(frame, top)
                    best = head if best is None else largest(pd.concat([best, head]), top)
                rejected = read_rejected(rej)
                summary.n_rejected += len(rejected)
                for r, c in rejected["reason"].value_counts().items():
                    reasons[r] = reasons.get(r, 0) + int(c)
                rejected.to_csv(tmp_rej, mode="a", header=header, index=False)
                header = False
            if writer is None:  # no rows at all: still write a valid (empty) file
                pd.DataFrame({"row": pd.Series([], dtype="int64")}).to_parquet(tmp_out)
                pd.DataFrame(columns=["row", "input", "reason"]).to_csv(tmp_rej, index=False)
        finally:
            if writer is not None:
                writer.close()
    summary.reasons = reasons
    summary.n_in = summary.n_scored + summary.n_rejected
    top_csv, top_sdf = top_paths(output)
    ranked = (best if best is not None else pd.DataFrame()).reset_index(drop=True)
    if len(ranked):
        ranked.insert(0, "rank", np.arange(1, len(ranked) + 1))
    with atomic_path(top_csv) as tmp:
        ranked.to_csv(tmp, index=False)
    write_sdf(ranked, top_sdf)


def read_rejected(path: Path) -> pd.DataFrame:
    """One part's ledger of rejected rows; a header-only file (the usual case) without
    pandas' CSV reader, which costs ~5 ms even for no rows."""
    with open(path, newline="") as fh:
        header = fh.readline()
        if header.strip() and not fh.read(1):
            return pd.DataFrame(columns=next(csv.reader([header])))
    return pd.read_csv(path, dtype={"input": str, "reason": str}, keep_default_na=False)


def largest(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """``frame.nlargest(top, "score")``: the ``top`` rows of highest score, highest first,
    ties in row order, then NaN scores in row order if too few; one stable sort (pandas
    costs ~5 ms a call; frames of at most ``top`` rows are left to pandas' own order)."""
    if top >= len(frame):
        return frame.nlargest(top, "score")
    score = frame["score"].to_numpy(dtype=np.float64)
    nan = np.isnan(score)
    valid = np.flatnonzero(~nan)
    order = valid[np.argsort(-score[valid], kind="stable")[:top]]
    if len(order) < top:
        order = np.concatenate([order, np.flatnonzero(nan)[: top - len(order)]])
    return frame.iloc[order]


def write_sdf(hits: pd.DataFrame, path: Path) -> None:
    """Top hits as an SDF (2D coordinates), every column as an SD property."""
    from rdkit.Chem import AllChem

    with atomic_path(path) as tmp:
        writer = Chem.SDWriter(str(tmp))
        try:
            for rec in hits.to_dict("records"):
                mol = Chem.MolFromSmiles(str(rec.get("std_smiles", "")))
                if mol is None:
                    continue
                AllChem.Compute2DCoords(mol)
                mol.SetProp("_Name", str(rec.get("id") or f"row {rec['row']}"))
                for key, value in rec.items():
                    mol.SetProp(str(key), "" if value is None else str(value))
                writer.write(mol)
        finally:
            writer.close()


def model_fingerprint(paths: Iterable[Path]) -> list[str]:
    """Stable ids of model files (path + content hash) for the resume check."""
    ids = []
    for p in paths:
        digest = hashlib.sha256()
        for f in sorted(Path(p).glob("*")):
            if f.is_file() and f.name in {"model.pt", "model.skops", "meta.json"}:
                digest.update(f.read_bytes())
        ids.append(f"{Path(p).resolve()}:{digest.hexdigest()[:16]}")
    return ids


__all__ = [
    "Ensemble",
    "ScreenSettings",
    "ScreenSummary",
    "gather",
    "score_chunk",
    "score_features",
    "screen_library",
]
