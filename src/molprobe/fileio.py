"""Small file helpers on top of `molprobe.chem.io.atomic_path` (temp file + rename): the one
mechanism by which every output is written, so a killed job never leaves a finished-looking file."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from molprobe.chem.io import atomic_path

__all__ = ["atomic_path", "json_safe", "write_atomic", "write_json", "write_parquet"]


def write_atomic(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` for a temp file beside ``path``, then rename it onto ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)


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
