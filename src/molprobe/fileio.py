"""Small file helpers on top of `molprobe.chem.io.atomic_path` (temp file + rename): the one
mechanism by which every output is written, so a killed job never leaves a finished-looking file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from molprobe.chem.io import atomic_path

__all__ = ["atomic_path", "write_atomic", "write_json", "write_parquet"]


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` for a temp file beside ``path``, then rename it onto ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_parquet(df, path: str | os.PathLike) -> None:
    """Write a DataFrame as Parquet (no index), atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (numpy scalars and arrays allowed)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
