"""LEACE erasure on synthetic activations where the answer is known."""

import numpy as np
import torch

from molprobe.probing.erasure import erasure_effect, leace_eraser, random_eraser


def _data(seed=0, n=1200, d=20):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    z = (X[:, 0] > 0).astype(np.float32)[:, None]  # the concept lives on unit 0
    return rng, X, z


def _head(X, w):
    def head(transform):
        h = torch.as_tensor(X)
        if transform is not None:
            h = transform(h)
        return (h.numpy() @ w)[:, None]

    return head


def test_erasing_a_used_concept_hurts_the_task_more_than_a_random_subspace():
    rng, X, z = _data()
    y = (X[:, 0] + 0.3 * rng.normal(size=len(X)) > 0).astype(np.float32)[:, None]
    w = np.zeros(X.shape[1], np.float32)
    w[0] = 3.0  # the task head reads unit 0
    rows = rng.permutation(len(X))
    res = erasure_effect(X[rows[:600]], z[rows[:600]], _head(X, w), y, rows[600:])
    assert res["rank"] == 1
    assert res["auc"] > 0.9
    assert res["drop_concept"] > 0.25
    assert res["drop_random"] < 0.1
    assert res["drop_concept"] > res["drop_random"] + 0.2


def test_erasing_an_unused_concept_leaves_the_task_alone():
    rng, X, z = _data(1)
    y = (X[:, 1] + 0.3 * rng.normal(size=len(X)) > 0).astype(np.float32)[:, None]
    w = np.zeros(X.shape[1], np.float32)
    w[1] = 3.0  # the task reads unit 1, the concept sits on unit 0
    rows = rng.permutation(len(X))
    res = erasure_effect(X[rows[:600]], z[rows[:600]], _head(X, w), y, rows[600:])
    assert abs(res["drop_concept"]) < 0.05


def test_leace_removes_linear_information_and_random_keeps_rank():
    _, X, z = _data(2)
    erase, rank = leace_eraser(X, z)
    Xe = erase(torch.as_tensor(X)).numpy()
    # no linear direction left that separates the classes: the class means coincide
    gap = Xe[z[:, 0] == 1].mean(0) - Xe[z[:, 0] == 0].mean(0)
    assert np.abs(gap).max() < 1e-3
    Xr = random_eraser(X, rank, 0)(torch.as_tensor(X)).numpy()
    assert np.linalg.matrix_rank(Xr - Xr.mean(0), tol=1e-3) == X.shape[1] - rank
