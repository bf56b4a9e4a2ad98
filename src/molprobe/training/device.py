"""Device selection and mixed precision: ``auto`` = CUDA when present, else CPU; AMP on CUDA only."""

from __future__ import annotations

import contextlib

import torch

from molprobe.errors import MolprobeError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without a GPU -> MolprobeError;
    a ``torch.device`` is returned as given. The one device rule of the package."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise MolprobeError("device 'cuda' requested but no CUDA GPU is available; use 'auto'")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise MolprobeError(f"unknown device {name!r}; choose one of {DEVICES}")


def amp_enabled(device: torch.device, amp: bool) -> bool:
    """Mixed precision is used only when asked for and running on CUDA."""
    return bool(amp) and device.type == "cuda"


def autocast(device: torch.device, enabled: bool):
    """``torch.autocast`` (float16) on CUDA when enabled, else a no-op context."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def grad_scaler(device: torch.device, enabled: bool) -> torch.amp.GradScaler:
    """A GradScaler that is active only for CUDA AMP (a pass-through otherwise)."""
    return torch.amp.GradScaler("cuda", enabled=enabled and device.type == "cuda")
