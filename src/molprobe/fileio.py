"""The ground floor of file output: :func:`atomic_path` (temp file + rename) is the one
mechanism by which every output is written, so a killed job never leaves a finished-looking
file; the helpers below are shorthands on top of it. Imports nothing from molprobe."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["atomic_path", "json_safe", "write_atomic", "write_bytes", "write_json", "write_parquet"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success rename it onto `path`, on failure delete it.

    Readers never see a half-written file, and an interrupted run leaves the old file (if any)
    intact. The parent folder is created when missing; the suffix is kept (``x.tmp123.parquet``)
    so writers that look at the extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` for a temp file beside ``path``, then rename it onto ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_bytes(path: str | os.PathLike, write: Callable) -> None:
    """Call ``write(binary_file_object)`` on a temp file beside ``path``, then rename it."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        write(fh)


def write_parquet(df, path: str | os.PathLike) -> None:
    """Write a DataFrame as Parquet (no index), atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def json_safe(obj):
    """``obj`` with numpy scalars/arrays as Python values and NaN/inf as None (JSON null):
    ``json.dumps`` would otherwise write the invalid token ``NaN``."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (numpy values allowed; NaN/inf as null)."""
    text = json.dumps(json_safe(obj), indent=2) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
