"""Early stopping: the best validation value so far, a copy of its weights, and patience.

One helper for every training loop of the project (``training.loop``, the depth experiment
and the gradient-flow runs of ``dynamics``)::

    stopper = EarlyStopping(patience=5, mode="min")
    for epoch in range(1, max_epochs + 1):
        ...
        stopper.update(model, epoch, val_loss, step=step)
        if stopper.should_stop:
            break
    stopper.restore(model)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from molprobe.errors import MolprobeError

MODES = ("min", "max")


@dataclass
class EarlyStopping:
    """Best-value / best-weights / patience bookkeeping of one training run.

    patience: evaluations without improvement before :attr:`should_stop` (0 = never stop).
    mode: ``"min"`` (a loss) or ``"max"`` (ROC-AUC). Non-finite values never improve and
    count as a wait, except through ``fallback`` (see :meth:`update`). The best weights are
    copied to the CPU (the model's device memory is not doubled).
    """

    patience: int = 0
    mode: str = "min"
    best: float = math.nan  # NaN until a finite value was seen
    best_fallback: float = math.inf
    best_epoch: int = 0
    best_step: int = 0
    wait: int = 0
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.mode not in MODES:
            raise MolprobeError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.patience < 0:
            raise MolprobeError(f"patience must be >= 0, got {self.patience}")

    def is_better(self, value: float) -> bool:
        """Whether a finite ``value`` beats the best so far (any finite value beats none)."""
        if not math.isfinite(self.best):
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def update(
        self,
        model: torch.nn.Module,
        epoch: int,
        value: float,
        step: int = 0,
        fallback: float = math.nan,
    ) -> bool:
        """Record one evaluation; True (and the weights copied) when it is the best so far.

        value: the monitored quantity; a non-finite one improves only while no finite value
        has been seen and ``fallback`` (a loss, lower is better) is below the best fallback.
        """
        value, fallback = float(value), float(fallback)
        if math.isfinite(value):
            improved = self.is_better(value)
        else:
            improved = not math.isfinite(self.best) and fallback < self.best_fallback
        if improved:
            self.keep(model, epoch, value, step, fallback)
        else:
            self.wait += 1
        return improved

    def keep(
        self,
        model: torch.nn.Module,
        epoch: int,
        value: float = math.nan,
        step: int = 0,
        fallback: float = math.nan,
    ) -> None:
        """Make this evaluation the best unconditionally (e.g. no validation set: keep the last)."""
        self.best, self.best_fallback = float(value), float(fallback)
        self.best_epoch, self.best_step, self.wait = int(epoch), int(step), 0
        self.best_state = {
            k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
        }

    @property
    def should_stop(self) -> bool:
        """True after ``patience`` evaluations in a row without improvement."""
        return self.patience > 0 and self.wait >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        """Load the best weights into ``model`` (no-op when nothing was kept)."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
