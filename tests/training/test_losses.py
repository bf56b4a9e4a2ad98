"""Masked multi-task losses."""

from __future__ import annotations

import math

import numpy as np
import torch

from molprobe.training.losses import (
    TargetScaler,
    masked_bce_with_logits,
    masked_mse,
    positive_weights,
)

NAN = float("nan")


def _bce(z, y, w=1.0):
    p = 1 / (1 + math.exp(-z))
    return -(w * y * math.log(p) + (1 - y) * math.log(1 - p))


def test_masked_bce_value_and_zero_gradient_on_missing_labels():
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.0, -0.3]], requires_grad=True)
    targets = torch.tensor([[1.0, NAN, 0.0], [NAN, 1.0, NAN]])
    loss = masked_bce_with_logits(logits, targets)
    expected = (_bce(0.5, 1) + _bce(2.0, 0) + _bce(0.0, 1)) / 3
    assert abs(loss.item() - expected) < 1e-6
    loss.backward()
    grad = logits.grad
    assert torch.all(torch.isfinite(grad))
    assert grad[0, 1] == 0 and grad[1, 0] == 0 and grad[1, 2] == 0
    assert grad[0, 0] != 0 and grad[1, 1] != 0


def test_masked_bce_positive_weight():
    logits = torch.tensor([[0.2, 0.2], [0.2, -0.4]])
    targets = torch.tensor([[1.0, 1.0], [0.0, NAN]])
    loss = masked_bce_with_logits(logits, targets, pos_weight=torch.tensor([3.0, 1.0]))
    expected = (_bce(0.2, 1, 3.0) + _bce(0.2, 1) + _bce(0.2, 0)) / 3
    assert abs(loss.item() - expected) < 1e-6


def test_all_missing_gives_zero_loss_not_nan():
    logits = torch.zeros(2, 2, requires_grad=True)
    loss = masked_bce_with_logits(logits, torch.full((2, 2), NAN))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(logits.grad == 0)


def test_masked_mse():
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    target = torch.tensor([[0.0, NAN], [1.0, 4.0]])
    loss = masked_mse(pred, target)
    assert abs(loss.item() - (1 + 4 + 0) / 3) < 1e-6
    loss.backward()
    assert pred.grad[0, 1] == 0


def test_positive_weights_and_target_scaler():
    Y = np.array([[1, 0], [0, 0], [0, np.nan], [0, 0]], dtype=float)
    np.testing.assert_allclose(positive_weights(Y), [3.0, 1.0])
    R = np.array([[1.0, 10.0], [3.0, np.nan], [5.0, 30.0]])
    sc = TargetScaler.fit(R)
    np.testing.assert_allclose(sc.mean, [3.0, 20.0])
    Z = sc.transform(R)
    np.testing.assert_allclose(np.nanmean(Z, axis=0), [0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(sc.inverse(Z), R)
    assert TargetScaler.from_dict(sc.to_dict()) == sc
