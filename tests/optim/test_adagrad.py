"""AdaGrad against its update rule written out by hand, one weight at a time."""
import math
from functools import partial

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import AdaGrad

from trajectories import W0, follow_network, follow_quadratic, follow_torch
def adagrad_rule(w, g, s, t, lr, eps=1e-10, weight_decay=0.0, decay=True):
    """torch's Adagrad (lr_decay=0) for one weight; s keeps the sum of squared gradients."""
    if decay:
        g = g + weight_decay * w
    s["sum"] = s.get("sum", 0.0) + g * g
    return w - lr * g / (math.sqrt(s["sum"]) + eps)


CASES = {
    "plain": (lambda: AdaGrad(0.5), dict(lr=0.5)),
    "eps": (lambda: AdaGrad(0.5, eps=0.1), dict(lr=0.5, eps=0.1)),
    "weight-decay": (lambda: AdaGrad(0.5, weight_decay=0.2), dict(lr=0.5, weight_decay=0.2)),
}


@pytest.mark.parametrize("case", CASES)
def test_quadratic_trajectory(case):
    make, hyper = CASES[case]
    w = follow_quadratic(make(), partial(adagrad_rule, **hyper))
    assert np.abs(w - W0).max() > 0.5


@pytest.mark.parametrize("case", CASES)
def test_network_trajectory(case):
    make, hyper = CASES[case]
    follow_network(make(), partial(adagrad_rule, **hyper))


def test_first_step_moves_every_weight_by_about_lr():
    # G_1 = g^2, so w_1 = w_0 - lr g / (|g| + eps): the size of g does not matter.
    p = cr.Parameter(np.array([1.0, 1.0]), "w")
    p.grad[...] = [1e-3, -50.0]
    AdaGrad(0.1).step([p])
    expected = [1.0 - 0.1 * 1e-3 / (1e-3 + 1e-10), 1.0 + 0.1 * 50.0 / (50.0 + 1e-10)]
    np.testing.assert_allclose(p.value, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(p.value, [0.9, 1.1], rtol=0, atol=1e-7)


def test_frozen_parameter_is_skipped():
    p = cr.Parameter(np.array([1.0]), "w", trainable=False)
    p.grad[...] = 3.0
    opt = AdaGrad(0.1)
    opt.step([p])
    assert p.value[0] == 1.0 and not opt.state


@pytest.mark.parametrize("make, match", [
    (lambda: AdaGrad(-1), "Invalid learning rate: -1"),
    (lambda: AdaGrad(float("inf")), "Invalid learning rate: inf"),
    (lambda: AdaGrad(0.1, eps=-1e-10), "Invalid epsilon value: -1e-10"),
    (lambda: AdaGrad(0.1, weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(cr.InvalidValueError, match=match):
        make()


def test_matches_torch():
    torch = pytest.importorskip("torch")
    follow_torch(AdaGrad(0.5, weight_decay=0.2),
                 lambda q: torch.optim.Adagrad([q], lr=0.5, weight_decay=0.2))
