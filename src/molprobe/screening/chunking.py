"""Cut a library file into chunk files of ``chunk_size`` records, preserving every record as
written (bad rows included), so each chunk can be screened as its own cluster job.

Chunk ``i`` holds input rows ``[i * chunk_size, (i + 1) * chunk_size)``; screening it with
``row_offset = i * chunk_size`` gives the rows their numbers in the whole library. CSV/TSV
chunks repeat the header; records are split with a CSV reader (quoted newlines stay whole);
SMILES files by line; SDF by ``$$$$`` record.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path

from molprobe.chem.io import GZIP_ERRORS, detect_format, open_text
from molprobe.errors import InputError
from molprobe.fileio import atomic_path


def _records(path: Path, fmt: str) -> Iterator[str]:
    """The file's data records as text (header excluded for CSV/TSV, yielded first as None)."""
    with open_text(path) as text:
        if fmt in ("csv", "tsv"):
            delimiter = "\t" if fmt == "tsv" else ","
            reader = csv.reader(text, delimiter=delimiter)
            for fields in reader:
                buf = io.StringIO()
                csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerow(fields)
                yield buf.getvalue()
        elif fmt == "smi":
            for line in text:
                yield line if line.endswith("\n") else line + "\n"
        else:
            record: list[str] = []
            for line in text:
                record.append(line if line.endswith("\n") else line + "\n")
                if line.startswith("$$$$"):
                    yield "".join(record)
                    record = []
            if any(r.strip() for r in record):
                yield "".join(record)


def split_library(
    path: str | os.PathLike, outdir: str | os.PathLike, chunk_size: int
) -> list[Path]:
    """Write ``outdir/chunk-00000.<ext>.gz`` ... and return their paths (at least one)."""
    path, outdir = Path(path), Path(outdir)
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    fmt = detect_format(path)
    ext = {"csv": "csv", "tsv": "tsv", "smi": "smi", "sdf": "sdf"}[fmt]
    outdir.mkdir(parents=True, exist_ok=True)
    records = _records(path, fmt)
    header = None
    if fmt in ("csv", "tsv"):
        header = next(records, None)
    smi_header = None
    chunks: list[Path] = []
    buf: list[str] = []
    n = 0

    def flush() -> None:
        target = outdir / f"chunk-{len(chunks):05d}.{ext}.gz"
        with atomic_path(target) as tmp, gzip.open(tmp, "wt", encoding="utf-8", newline="") as fh:
            if header is not None:
                fh.write(header)
            if smi_header is not None:
                fh.write(smi_header)
            fh.writelines(buf)
        chunks.append(target)

    try:
        for rec in records:
            if fmt == "smi" and n == 0 and smi_header is None and _is_smi_header(rec):
                smi_header = rec  # a header line is not a data row: repeat it in every chunk
                continue
            buf.append(rec)
            n += 1
            if len(buf) == chunk_size:
                flush()
                buf = []
    except GZIP_ERRORS as err:
        raise InputError(path, f"truncated or corrupt gzip after row {n}", row=n) from err
    if buf or not chunks:
        flush()
    return chunks


def _is_smi_header(line: str) -> bool:
    first = line.strip().split()[0].lower() if line.strip() else ""
    return first in ("smiles", "smi", "canonical_smiles")
