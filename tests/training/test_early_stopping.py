"""EarlyStopping: best value per mode, weights copied at the best evaluation, patience,
non-finite values and the loss fallback (real torch modules, no mocks)."""

from __future__ import annotations

import math

import pytest
import torch

from molprobe.errors import MolprobeError
from molprobe.training.early_stopping import EarlyStopping


def _net(value: float) -> torch.nn.Linear:
    net = torch.nn.Linear(3, 2)
    with torch.no_grad():
        net.weight.fill_(value)
    return net


def _run(stopper: EarlyStopping, values, fallbacks=None) -> tuple[torch.nn.Linear, int]:
    """Feed ``values`` epoch by epoch (weights = epoch number); returns the net and last epoch."""
    net, epoch = _net(0.0), 0
    for epoch, value in enumerate(values, start=1):
        with torch.no_grad():
            net.weight.fill_(float(epoch))
        fallback = math.nan if fallbacks is None else fallbacks[epoch - 1]
        stopper.update(net, epoch, value, step=10 * epoch, fallback=fallback)
        if stopper.should_stop:
            break
    return net, epoch


def test_min_mode_keeps_lowest_value_and_its_weights():
    stopper = EarlyStopping(patience=2, mode="min")
    net, last = _run(stopper, [0.9, 0.5, 0.7, 0.4, 0.6, 0.8, 0.1])
    assert last == 6  # two evaluations without improvement after epoch 4
    assert (stopper.best, stopper.best_epoch, stopper.best_step) == (0.4, 4, 40)
    assert float(net.weight[0, 0]) == 6.0  # the live model is the last epoch's ...
    stopper.restore(net)
    assert torch.all(net.weight == 4.0)  # ... restore loads the best epoch's copy


def test_max_mode_keeps_highest_value():
    stopper = EarlyStopping(patience=0, mode="max")  # 0 = never stop
    net, last = _run(stopper, [0.6, 0.8, 0.7, 0.7, 0.75])
    assert last == 5 and not stopper.should_stop
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.8, 2, 3)
    stopper.restore(net)
    assert torch.all(net.weight == 2.0)


def test_non_finite_values_never_improve_and_count_as_waits():
    stopper = EarlyStopping(patience=3, mode="min")
    _, last = _run(stopper, [math.nan, 0.5, math.inf, math.nan, -math.inf])
    assert last == 5 and stopper.should_stop
    assert (stopper.best, stopper.best_epoch) == (0.5, 2)


def test_nothing_finite_keeps_no_state():
    stopper = EarlyStopping(patience=2)
    net, _ = _run(stopper, [math.nan, math.nan])
    assert stopper.best_state is None and stopper.best_epoch == 0 and math.isnan(stopper.best)
    stopper.restore(net)  # a no-op
    assert torch.all(net.weight == 2.0)


def test_loss_fallback_only_until_a_finite_metric_is_seen():
    # ROC-AUC undefined (NaN) in epochs 1-3: the loss decides; from epoch 4 on only the metric
    stopper = EarlyStopping(patience=0, mode="max")
    values = [math.nan, math.nan, math.nan, 0.70, math.nan, 0.65]
    losses = [0.9, 0.8, 0.85, 0.9, 0.1, 0.05]
    net, _ = _run(stopper, values, losses)
    assert (stopper.best, stopper.best_epoch, stopper.best_fallback) == (0.70, 4, 0.9)
    stopper.restore(net)
    assert torch.all(net.weight == 4.0)
    early = EarlyStopping(mode="max")
    _run(early, values[:3], losses[:3])
    assert early.best_epoch == 2 and early.best_fallback == 0.8 and math.isnan(early.best)


def test_keep_records_unconditionally():
    stopper = EarlyStopping(patience=1)
    net = _net(3.0)
    stopper.update(net, 1, 0.2)
    stopper.update(net, 2, 0.9)
    stopper.keep(net, 3)  # e.g. no validation set: the last epoch is the result
    assert stopper.best_epoch == 3 and stopper.wait == 0 and not stopper.should_stop


def test_state_is_a_copy():
    stopper = EarlyStopping()
    net = _net(1.0)
    stopper.update(net, 1, 0.3)
    with torch.no_grad():
        net.weight.fill_(5.0)
    assert torch.all(stopper.best_state["weight"] == 1.0)


@pytest.mark.parametrize("kwargs", [{"mode": "median"}, {"patience": -1}])
def test_bad_settings_raise(kwargs):
    with pytest.raises(MolprobeError):
        EarlyStopping(**kwargs)
