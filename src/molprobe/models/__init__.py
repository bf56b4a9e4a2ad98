"""molprobe.models: neural nets and classical baselines behind one registry.

Neural models: ``forward(batch) -> logits (B, n_tasks)`` and ``hidden_layers() ->
[(name, module)]`` (see docs/contracts.md). Import heavy modules lazily through
:mod:`molprobe.models.registry`.
"""

from molprobe.models.registry import (
    MODELS,
    InputDims,
    ModelSpec,
    build_model,
    get_spec,
    make_params,
)

__all__ = ["MODELS", "InputDims", "ModelSpec", "build_model", "get_spec", "make_params"]
