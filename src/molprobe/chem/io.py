"""Streaming readers for molecule files (CSV, TSV, SMILES, SDF; optionally gzip-compressed).

`read_molecules` yields `pandas.DataFrame` chunks in constant memory, whatever the file size.
Every chunk has the columns

- ``row``: 0-based data row of the input file (header excluded), contiguous across chunks;
- ``input``: the raw SMILES string as read (``""`` when blank or absent);
- ``id``: molecule name/identifier (only when there is one: ``id_column`` for CSV/TSV,
  the name for SMILES files, ``_Name`` or ``id_column`` for SDF; ``None`` when missing);
- the requested extra ``columns`` as strings, exactly as given in the file (``""`` = empty);
- ``read_error``: ``None``, or why the row itself could not be read (``"unparsable SDF record"``).

Row-level problems never stop reading: they travel with the row and end up in the rejected
ledger. Problems with the file as a whole raise `molprobe.errors.InputError` (file not found,
missing SMILES column, wrong delimiter, truncated or corrupt gzip). A header-only or empty
file is not an error: it yields no rows.

`detect_columns` is the one rule, shared by `standardize`, `screen` and the dataset registry,
that says which column holds the SMILES, which the identifier, which the labels and which are
text kept as metadata (see `ColumnRoles`).

Atomic writes live in :mod:`molprobe.fileio` (``atomic_path``).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from molprobe.errors import InputError

__all__ = [
    "FORMATS",
    "ID_COLUMN_CANDIDATES",
    "MISSING_VALUES",
    "SMILES_COLUMN_CANDIDATES",
    "ColumnRoles",
    "count_rows",
    "detect_columns",
    "detect_format",
    "identifier_column",
    "list_columns",
    "read_molecules",
    "resolve_smiles_column",
]

FORMATS = ("csv", "tsv", "smi", "sdf")
SMILES_COLUMN_CANDIDATES = ("smiles", "canonical_smiles", "mol", "smi")
# identifier columns, in order of preference (any case); never taken as labels
ID_COLUMN_CANDIDATES = ("mol_id", "id", "compound_id", "cid", "name")
# label cells that mean "not measured" (any case, after stripping)
MISSING_VALUES = frozenset({"", "nan", "na", "n/a", "none", "null", "?"})
UNPARSABLE_SDF = "unparsable SDF record"

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".smi": "smi",
    ".smiles": "smi",
    ".ism": "smi",
    ".can": "smi",
    ".sdf": "sdf",
    ".sd": "sdf",
}
_GZIP_MAGIC = b"\x1f\x8b"
# errors raised by gzip / zlib when a compressed stream is cut short or damaged
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


# --------------------------------------------------------------------------- paths and formats


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "file not found")
    if path.is_dir():
        raise InputError(path, "is a directory, expected a molecule file")


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def detect_format(path: str | os.PathLike) -> str:
    """Molecule file format from the extension (``.gz`` allowed): "csv", "tsv", "smi" or "sdf"."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _EXTENSIONS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise InputError(
            path,
            "unknown file format; expected one of .csv, .tsv, .smi, .sdf (optionally .gz)",
        )
    return fmt


@contextlib.contextmanager
def _open_binary(path: Path):
    """Open a file for binary reading, decompressing when it starts with the gzip magic bytes."""
    _check_exists(path)
    with open(path, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
                yield gz
        else:
            yield raw


@contextlib.contextmanager
def open_text(path: Path):
    """Text stream: UTF-8 with optional BOM; undecodable bytes become U+FFFD (never crash)."""
    with _open_binary(path) as fb:
        text = io.TextIOWrapper(fb, encoding="utf-8-sig", errors="replace", newline="")
        try:
            yield text
        finally:
            text.detach()


def _truncated(path: Path, n_rows: int) -> InputError:
    """The error for a gzip stream that ends early or is damaged, after `n_rows` good data rows."""
    return InputError(path, f"truncated or corrupt gzip after {n_rows} data rows", row=n_rows)


# --------------------------------------------------------------------------- CSV / TSV


def _delimiter(fmt: str) -> str:
    return "\t" if fmt == "tsv" else ","


def _csv_reader(text, fmt: str):
    # a single SMILES of a huge molecule can exceed csv's default 128 kB field limit
    csv.field_size_limit(2**31 - 1)
    return csv.reader(text, delimiter=_delimiter(fmt))


def _read_header(path: Path, fmt: str) -> list[str]:
    try:
        with open_text(path) as text:
            header = next(_csv_reader(text, fmt), None)
    except GZIP_ERRORS as err:
        raise _truncated(path, 0) from err
    if header is None:
        return []
    header = [h.strip() for h in header]
    if len(header) == 1:
        other = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}
        found = [name for sep, name in other.items() if sep != _delimiter(fmt) and sep in header[0]]
        if found:
            expected = "tab" if fmt == "tsv" else "comma"
            raise InputError(
                path,
                f"wrong delimiter: expected {expected}-separated {fmt.upper()}, "
                f"but the header looks {found[0]}-separated",
                row=None,
            )
    return header


def _find_column(path: Path, header: Sequence[str], name: str, what: str) -> int:
    if name in header:
        return list(header).index(name)
    lowered = [h.lower() for h in header]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    raise InputError(path, f"no {what} column {name!r}; columns found: {', '.join(header)}")


def _smiles_column_index(path: Path, header: Sequence[str], smiles_column: str | None) -> int:
    if smiles_column is not None:
        return _find_column(path, header, smiles_column, "SMILES")
    lowered = [h.lower() for h in header]
    for candidate in SMILES_COLUMN_CANDIDATES:
        if candidate in lowered:
            return lowered.index(candidate)
    raise InputError(
        path,
        "no SMILES column (looked for "
        + "/".join(SMILES_COLUMN_CANDIDATES)
        + f"; pass the column name); columns found: {', '.join(header)}",
    )


def _csv_rows(path, fmt, smiles_column, id_column, columns):
    """Yield (input, id, extras, read_error) per data row of a CSV/TSV file."""
    header = _read_header(path, fmt)
    if not header:
        return
    i_smi = _smiles_column_index(path, header, smiles_column)
    i_id = _find_column(path, header, id_column, "id") if id_column is not None else None
    i_extra = [_find_column(path, header, c, "requested") for c in columns]
    n_rows = 0
    try:
        with open_text(path) as text:
            reader = _csv_reader(text, fmt)
            next(reader, None)  # header
            for fields in reader:
                n = len(fields)
                smi = fields[i_smi].strip() if i_smi < n else ""
                mid = (fields[i_id].strip() or None) if (i_id is not None and i_id < n) else None
                extras = [fields[i] if i < n else "" for i in i_extra]
                yield smi, mid, extras, None
                n_rows += 1
    except GZIP_ERRORS as err:
        raise _truncated(path, n_rows) from err
    except csv.Error as err:
        raise InputError(path, f"CSV parse error: {err}", row=n_rows) from err


# --------------------------------------------------------------------------- SMILES files


def _smi_rows(path):
    """Yield (input, name, [], None) per line of a SMILES file; a blank line is a row with input ""."""
    n_rows = 0
    try:
        with open_text(path) as text:
            first = True
            for line in text:
                line = line.rstrip("\r\n")
                parts = line.split(None, 1)
                if first:
                    first = False
                    if parts and parts[0].lower() == "smiles":
                        continue  # header line
                smi = parts[0] if parts else ""
                name = parts[1].strip() if len(parts) > 1 else None
                yield smi, (name or None), [], None
                n_rows += 1
    except GZIP_ERRORS as err:
        raise _truncated(path, n_rows) from err


# --------------------------------------------------------------------------- SDF


def _sdf_rows(path, id_column, columns):
    """Yield (smiles, id, extras, read_error) per SDF record, via RDKit's streaming supplier.

    Records are read without sanitization, so a valence problem reaches the standardizer
    (reason ``valence``) instead of being lost as an unreadable record; stereo from the
    coordinates is kept.
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    n_rows = 0
    with _open_binary(path) as fb:
        try:
            supplier = Chem.ForwardSDMolSupplier(fb, sanitize=False, removeHs=False)
            for mol in supplier:
                if mol is None:
                    yield "", None, [""] * len(columns), UNPARSABLE_SDF
                    n_rows += 1
                    continue
                try:
                    mol.UpdatePropertyCache(strict=False)
                    smi = Chem.MolToSmiles(mol)
                    error = None
                except Exception:  # noqa: BLE001 - any RDKit failure is a row-level problem
                    smi, error = "", UNPARSABLE_SDF
                if id_column is not None:
                    mid = mol.GetProp(id_column).strip() if mol.HasProp(id_column) else ""
                else:
                    mid = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
                extras = [mol.GetProp(c) if mol.HasProp(c) else "" for c in columns]
                yield smi, (mid or None), extras, error
                n_rows += 1
        except GZIP_ERRORS as err:
            raise _truncated(path, n_rows) from err
        except (RuntimeError, SystemError) as err:
            # RDKit's stream wrapper re-raises a Python read error as SystemError
            if isinstance(err.__cause__ or err.__context__, GZIP_ERRORS):
                raise _truncated(path, n_rows) from err
            raise InputError(path, f"cannot read SDF: {err}", row=n_rows) from err


def _sdf_properties(path: Path) -> list[str]:
    """Property names of the first readable SDF record ("" entries excluded)."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        with _open_binary(path) as fb:
            for mol in Chem.ForwardSDMolSupplier(fb, sanitize=False, removeHs=False):
                if mol is not None:
                    return list(mol.GetPropNames())
    except GZIP_ERRORS as err:
        raise _truncated(path, 0) from err
    except (RuntimeError, SystemError) as err:
        if isinstance(err.__cause__ or err.__context__, GZIP_ERRORS):
            raise _truncated(path, 0) from err
        raise InputError(path, f"cannot read SDF: {err}", row=0) from err
    return []


# --------------------------------------------------------------------------- public readers


def list_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a CSV/TSV header (property names of the first record for SDF; [] for SMILES)."""
    path = Path(path)
    fmt = detect_format(path)
    _check_exists(path)
    if fmt in ("csv", "tsv"):
        return _read_header(path, fmt)
    if fmt == "sdf":
        return _sdf_properties(path)
    return []


def resolve_smiles_column(path: str | os.PathLike, smiles_column: str | None = None) -> str | None:
    """Name of the SMILES column as spelled in the header (None for SMILES and SDF files)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt not in ("csv", "tsv"):
        return None
    header = list_columns(path)
    if not header:
        return smiles_column
    return header[_smiles_column_index(path, header, smiles_column)]


def identifier_column(path: str | os.PathLike, id_column: str | None = None) -> str | None:
    """The identifier column of a CSV/TSV as spelled in the header: `id_column` when given
    (checked), else the first of `ID_COLUMN_CANDIDATES` present (any case), else None.
    SMILES and SDF files: `id_column` unchanged (their names are the identifiers)."""
    path = Path(path)
    if detect_format(path) not in ("csv", "tsv"):
        return id_column
    header = list_columns(path)
    if id_column is not None:
        return header[_find_column(path, header, id_column, "id")] if header else id_column
    lowered = {h.lower(): h for h in reversed(header)}  # first spelling wins
    return next((lowered[c] for c in ID_COLUMN_CANDIDATES if c in lowered), None)


@dataclass(frozen=True)
class ColumnRoles:
    """What each column of a molecule file is (names as spelled in the file).

    `smiles`: the SMILES column (None for SMILES and SDF files); `id`: the identifier column
    (None: the molecule names of SMILES/SDF files, or none); `labels`: numeric columns, the
    tasks; `metadata`: text columns that are not labels (and further identifier columns),
    carried along as strings.
    """

    smiles: str | None
    id: str | None
    labels: tuple[str, ...]
    metadata: tuple[str, ...]

    def line(self) -> str:
        """One line for logs: ``smiles=smiles id=mol_id labels=12 metadata=notes``."""
        meta = ",".join(self.metadata) or "none"
        return f"smiles={self.smiles} id={self.id} labels={len(self.labels)} metadata={meta}"


def _is_text(values: pd.Series) -> bool:
    """True when some value is given and none of the given ones is a number."""
    given = [v.strip() for v in values.astype(str) if v.strip().lower() not in MISSING_VALUES]
    if not given:
        return False
    for v in given:
        try:
            float(v)
        except ValueError:
            continue
        return False
    return True


def detect_columns(
    path: str | os.PathLike,
    smiles_column: str | None = None,
    id_column: str | None = None,
    label_columns: Sequence[str] | None = None,
    sample_rows: int = 1000,
) -> ColumnRoles:
    """Roles of the columns of a CSV/TSV (record properties for SDF; none for SMILES files).

    SMILES: `smiles_column` or the first of `SMILES_COLUMN_CANDIDATES`; identifier: see
    `identifier_column`. With `label_columns`, those are the labels and no other column is
    kept; without it, a column is text metadata when none of its first `sample_rows` values
    is a number (and some are given), else a label: a label with a stray word is refused
    later, when its values are read, naming row and column. Columns named like identifiers
    are never labels.
    """
    path = Path(path)
    fmt = detect_format(path)
    _check_exists(path)
    if fmt == "smi":
        if label_columns:
            raise InputError(
                path, f"SMILES files have no columns; cannot read {list(label_columns)}"
            )
        return ColumnRoles(None, None, (), ())
    smiles = resolve_smiles_column(path, smiles_column)
    ident = identifier_column(path, id_column)
    header = list_columns(path)
    taken = {c.lower() for c in (smiles, ident) if c}
    rest = [c for c in header if c and c.lower() not in taken]
    if label_columns is not None:  # the caller chose: only these columns are read
        labels = list(label_columns)
        if fmt in ("csv", "tsv") and header:
            labels = [header[_find_column(path, header, c, "label")] for c in labels]
        return ColumnRoles(smiles, ident, tuple(labels), ())
    id_like = [c for c in rest if c.lower() in ID_COLUMN_CANDIDATES]
    candidates = [c for c in rest if c not in id_like]
    if not candidates:
        return ColumnRoles(smiles, ident, (), tuple(id_like))
    sample = next(read_molecules(path, smiles, None, candidates, chunk_size=max(sample_rows, 1)))
    numeric = [c for c in candidates if not _is_text(sample[c])]
    text = [c for c in rest if c not in numeric]
    return ColumnRoles(smiles, ident, tuple(numeric), tuple(text))


def read_molecules(
    path: str | os.PathLike,
    smiles_column: str | None = None,
    id_column: str | None = None,
    columns: Sequence[str] | None = None,
    chunk_size: int = 10_000,
) -> Iterator[pd.DataFrame]:
    """Stream a molecule file as DataFrame chunks of at most `chunk_size` rows (see module doc).

    `smiles_column` / `id_column` / `columns` select CSV/TSV columns by name (exact, then
    case-insensitive); for SDF, `id_column` and `columns` name record properties. Without
    `smiles_column`, a CSV column named smiles/canonical_smiles/mol/smi (any case) is used.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    path = Path(path)
    fmt = detect_format(path)
    _check_exists(path)
    columns = list(columns or [])
    if fmt in ("csv", "tsv"):
        rows = _csv_rows(path, fmt, smiles_column, id_column, columns)
        with_id = id_column is not None
    elif fmt == "smi":
        if columns:
            raise InputError(path, f"SMILES files have no columns; cannot read {columns}")
        rows = _smi_rows(path)
        with_id = True
    else:
        rows = _sdf_rows(path, id_column, columns)
        with_id = True

    start = 0
    buf: list[tuple] = []
    for item in rows:
        buf.append(item)
        if len(buf) >= chunk_size:
            yield _chunk(buf, start, columns, with_id)
            start += len(buf)
            buf = []
    if buf or start == 0:
        yield _chunk(buf, start, columns, with_id)


def _chunk(buf: list[tuple], start: int, columns: list[str], with_id: bool) -> pd.DataFrame:
    n = len(buf)
    data: dict[str, pd.Series] = {
        "row": pd.Series(range(start, start + n), dtype="int64"),
        "input": pd.Series([b[0] for b in buf], dtype=object),
    }
    if with_id:
        data["id"] = pd.Series([b[1] for b in buf], dtype=object)
    for j, col in enumerate(columns):
        data[col] = pd.Series([b[2][j] for b in buf], dtype=object)
    data["read_error"] = pd.Series([b[3] for b in buf], dtype=object)
    return pd.DataFrame(data)


def count_rows(path: str | os.PathLike) -> int:
    """Number of data rows `read_molecules` would yield (a full pass, but no chemistry)."""
    path = Path(path)
    fmt = detect_format(path)
    _check_exists(path)
    if fmt in ("csv", "tsv"):
        header = _read_header(path, fmt)
        if not header:
            return 0
        n = -1
        try:
            with open_text(path) as text:
                for n, _ in enumerate(_csv_reader(text, fmt)):  # noqa: B007
                    pass
        except GZIP_ERRORS as err:
            raise _truncated(path, max(n, 0)) from err
        return max(n, 0)
    if fmt == "smi":
        return sum(1 for _ in _smi_rows(path))
    n = 0
    try:
        with open_text(path) as text:
            for line in text:
                if line.startswith("$$$$"):
                    n += 1
    except GZIP_ERRORS as err:
        raise _truncated(path, n) from err
    return n
