"""Per-layer gradient norms during training (the hook the vanishing-gradient analysis uses).

A :class:`GradientMonitor` is called after ``backward()`` (and after AMP unscaling, before
clipping); it records, for every hidden layer with parameters, the L2 norm of the gradient
of all that layer's parameters together. History columns are ``grad_norm/<layer name>``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class GradientMonitor:
    """Records ``||grad||_2`` per named layer at every optimisation step.

    Args:
        layers: ``[(name, module)]``, e.g. ``model.hidden_layers()``; modules without
            parameters (pooling) are skipped.
        keep_steps: also keep every step's norms in ``steps`` (list of dicts).
    """

    def __init__(self, layers: list[tuple[str, nn.Module]], keep_steps: bool = False):
        self.layers = [(n, [p for p in m.parameters() if p.requires_grad]) for n, m in layers]
        self.layers = [(n, ps) for n, ps in self.layers if ps]
        self.keep_steps = keep_steps
        self.steps: list[dict[str, float]] = []
        self._sum: dict[str, float] = {}
        self._count = 0

    @property
    def columns(self) -> list[str]:
        return [f"grad_norm/{n}" for n, _ in self.layers]

    @torch.no_grad()
    def record(self) -> dict[str, float]:
        """Norms of the current ``.grad`` of each layer (NaN where no gradient yet)."""
        out = {}
        for name, params in self.layers:
            grads = [p.grad.detach().float() for p in params if p.grad is not None]
            if grads:
                norm = torch.linalg.vector_norm(
                    torch.stack([torch.linalg.vector_norm(g) for g in grads])
                )
                value = float(norm)
            else:
                value = math.nan
            out[f"grad_norm/{name}"] = value
            self._sum[f"grad_norm/{name}"] = self._sum.get(f"grad_norm/{name}", 0.0) + value
        self._count += 1
        if self.keep_steps:
            self.steps.append(out)
        return out

    def epoch_summary(self) -> dict[str, float]:
        """Mean norm per layer over the steps since the last summary; resets the running sums."""
        if self._count == 0:
            return {c: math.nan for c in self.columns}
        summary = {k: v / self._count for k, v in self._sum.items()}
        self._sum, self._count = {}, 0
        return summary
