"""The one device rule (training.device.resolve_device), used by training and screening."""

from __future__ import annotations

import pytest
import torch

from molprobe.errors import MolprobeError
from molprobe.training.device import resolve_device


def test_auto_cpu_and_device_objects():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    assert resolve_device("CPU") == torch.device("cpu")
    given = torch.device("cpu")
    assert resolve_device(given) is given


def test_refuses_unknown_and_missing_devices():
    with pytest.raises(MolprobeError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(MolprobeError, match="no CUDA GPU"):
            resolve_device("cuda")
    else:
        assert resolve_device("cuda").type == "cuda"
