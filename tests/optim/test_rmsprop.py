"""RMSProp against its update rule written out by hand, one weight at a time."""
import math
from functools import partial

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import RMSProp

from trajectories import W0, follow_network, follow_quadratic, follow_torch
def rmsprop_rule(w, g, s, t, lr, rho=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0, decay=True):
    """torch's RMSprop (alpha = rho) for one weight; s keeps v, g_avg and b."""
    if decay:
        g = g + weight_decay * w
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    v_tilde = s["v"]
    if centered:
        s["g_avg"] = rho * s.get("g_avg", 0.0) + (1 - rho) * g
        v_tilde = v_tilde - s["g_avg"] ** 2
    if momentum:
        s["b"] = momentum * s.get("b", 0.0) + g / (math.sqrt(v_tilde) + eps)
        return w - lr * s["b"]
    return w - lr * g / (math.sqrt(v_tilde) + eps)


CASES = {
    "plain": (lambda: RMSProp(0.01), dict(lr=0.01)),
    "rho": (lambda: RMSProp(0.05, rho=0.8, eps=1e-4), dict(lr=0.05, rho=0.8, eps=1e-4)),
    "momentum": (lambda: RMSProp(0.01, momentum=0.9), dict(lr=0.01, momentum=0.9)),
    "centered": (lambda: RMSProp(0.01, rho=0.9, centered=True),
                 dict(lr=0.01, rho=0.9, centered=True)),
    "centered-momentum": (lambda: RMSProp(0.01, rho=0.9, momentum=0.5, centered=True),
                          dict(lr=0.01, rho=0.9, momentum=0.5, centered=True)),
    "weight-decay": (lambda: RMSProp(0.01, weight_decay=0.3), dict(lr=0.01, weight_decay=0.3)),
}


@pytest.mark.parametrize("case", CASES)
def test_quadratic_trajectory(case):
    make, hyper = CASES[case]
    w = follow_quadratic(make(), partial(rmsprop_rule, **hyper))
    assert np.abs(w - W0).max() > 0.1


@pytest.mark.parametrize("case", CASES)
def test_network_trajectory(case):
    make, hyper = CASES[case]
    follow_network(make(), partial(rmsprop_rule, **hyper))


def test_variants_change_the_path():
    def end(**hyper):
        return follow_quadratic(RMSProp(0.01, rho=0.9, **hyper),
                                partial(rmsprop_rule, lr=0.01, rho=0.9, **hyper))
    plain = end()
    for hyper in [dict(centered=True), dict(momentum=0.5), dict(weight_decay=0.3)]:
        assert np.abs(end(**hyper) - plain).max() > 1e-3, hyper


def test_first_step_written_out():
    # v_1 = (1 - rho) g^2, so w_1 = w_0 - lr g / (sqrt(1 - rho) |g| + eps).
    p = cr.Parameter(np.array([1.0]), "w")
    p.grad[...] = 2.0
    RMSProp(0.01, rho=0.75, eps=0.5).step([p])
    assert p.value[0] == pytest.approx(1.0 - 0.01 * 2.0 / (0.5 * 2.0 + 0.5), abs=1e-15)


def test_frozen_parameter_is_skipped():
    p = cr.Parameter(np.array([1.0]), "w", trainable=False)
    p.grad[...] = 3.0
    RMSProp(0.1).step([p])
    assert p.value[0] == 1.0


@pytest.mark.parametrize("make, match", [
    (lambda: RMSProp(0), "Invalid learning rate: 0"),
    (lambda: RMSProp(0.1, rho=1.0), "Invalid rho value: 1.0"),
    (lambda: RMSProp(0.1, rho=-0.5), "Invalid rho value: -0.5"),
    (lambda: RMSProp(0.1, eps=0), "Invalid epsilon value: 0"),
    (lambda: RMSProp(0.1, momentum=-0.1), "Invalid momentum value: -0.1"),
    (lambda: RMSProp(0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(cr.InvalidValueError, match=match):
        make()


def test_matches_torch():
    torch = pytest.importorskip("torch")
    follow_torch(RMSProp(0.01, rho=0.9, momentum=0.5, centered=True, weight_decay=0.3),
                 lambda q: torch.optim.RMSprop([q], lr=0.01, alpha=0.9, momentum=0.5,
                                               centered=True, weight_decay=0.3))
