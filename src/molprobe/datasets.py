"""Dataset registry entries and fetching (local mirror first, then the public URL).

A dataset is fetched to one gzip-compressed CSV with the mirror's column layout. The mirror
directory is named by ``$MOLPROBE_MIRROR`` and holds ``<name>.csv.gz`` files.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from molprobe.chem.io import ColumnRoles, detect_columns
from molprobe.errors import MolprobeError
from molprobe.fileio import atomic_path

MIRROR_ENV = "MOLPROBE_MIRROR"


@dataclass(frozen=True)
class DatasetSpec:
    """One entry of the ``datasets:`` registry in config/config.yaml."""

    name: str
    url: str
    smiles_column: str | None = None  # None: detected (smiles/canonical_smiles/mol/smi)
    task_columns: tuple[str, ...] | None = None  # None: every numeric column but SMILES/id
    task_type: str = "classification"  # or "regression"
    id_column: str | None = None
    rename: Mapping[str, str] = field(default_factory=dict)  # source column -> our column

    @classmethod
    def from_config(cls, name: str, entry: Mapping) -> DatasetSpec:
        tasks = entry.get("task_columns")
        return cls(
            name=name,
            url=entry["url"],
            smiles_column=entry.get("smiles_column"),
            task_columns=tuple(tasks) if tasks else None,
            task_type=entry.get("task_type", "classification"),
            id_column=entry.get("id_column"),
            rename=dict(entry.get("rename") or {}),
        )

    def columns(self, path: str | os.PathLike) -> ColumnRoles:
        """Roles of the columns of the fetched file, by the rule `standardize` and `screen`
        use (`molprobe.chem.io.detect_columns`), with this entry's choices applied."""
        return detect_columns(path, self.smiles_column, self.id_column, self.task_columns)


@dataclass(frozen=True)
class FetchResult:
    source: str  # "mirror" or "url"
    location: str
    n_rows: int


def mirror_file(name: str, mirror: str | os.PathLike | None) -> Path | None:
    """The mirror copy of dataset ``name`` when the mirror holds one, else None."""
    if not mirror:
        return None
    candidate = Path(mirror) / f"{name}.csv.gz"
    return candidate if candidate.is_file() else None


def open_text(raw: bytes) -> io.TextIOBase:
    data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return io.StringIO(data.decode("utf-8-sig", errors="replace"), newline="")


def _write_subset(
    src_bytes: bytes, dest: Path, rename: Mapping[str, str], max_rows: int | None
) -> int:
    """Rewrite CSV bytes as gzip CSV at ``dest``, renaming columns and keeping at most
    ``max_rows`` data rows. Returns the number of data rows written."""
    reader = csv.reader(open_text(src_bytes))
    n = 0
    with gzip.open(dest, "wt", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        try:
            header = next(reader)
        except StopIteration as err:
            raise MolprobeError(f"{dest.name}: the downloaded file is empty") from err
        writer.writerow([rename.get(c, c) for c in header])
        for row in reader:
            if max_rows is not None and n >= max_rows:
                break
            writer.writerow(row)
            n += 1
    return n


def fetch_dataset(
    spec: DatasetSpec,
    dest: str | os.PathLike,
    mirror: str | os.PathLike | None = None,
    max_rows: int | None = None,
    timeout_s: float = 60.0,
) -> FetchResult:
    """Copy ``spec`` from the mirror (when it has it) or download its URL to ``dest``
    (gzip CSV), written atomically. ``max_rows`` keeps only the first N data rows
    (small test configurations)."""
    dest = Path(dest)
    local = mirror_file(spec.name, mirror)
    if local is not None:
        raw, source, location, rename = local.read_bytes(), "mirror", str(local), {}
    else:
        try:
            with urllib.request.urlopen(spec.url, timeout=timeout_s) as response:
                raw = response.read()
        except (urllib.error.URLError, OSError, ValueError) as err:
            hint = (
                f"the mirror {mirror} has no {spec.name}.csv.gz"
                if mirror
                else f"set {MIRROR_ENV} to a directory holding {spec.name}.csv.gz to work offline"
            )
            raise MolprobeError(
                f"cannot download dataset {spec.name!r} from {spec.url}: {err}; {hint}"
            ) from err
        source, location, rename = "url", spec.url, spec.rename
    with atomic_path(dest) as tmp:
        if not rename and max_rows is None:
            if raw[:2] == b"\x1f\x8b":
                tmp.write_bytes(raw)
            else:
                with gzip.open(tmp, "wb") as out:
                    out.write(raw)
            n_rows = sum(1 for _ in csv.reader(open_text(raw))) - 1
        else:
            n_rows = _write_subset(raw, tmp, rename, max_rows)
    return FetchResult(source=source, location=location, n_rows=max(n_rows, 0))
