"""Adam and AdamW against their update rules written out by hand, one weight at a time.

The reference is torch.optim's documented algorithm in the textbook form
m_hat / (sqrt(v_hat) + eps), with plain Python floats; chainrule computes it in torch's
rearranged in-place form, so agreement to 1e-10 checks the algebra too.
"""
import math
from functools import partial

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import Adam, AdamW

from trajectories import W0, follow_network, follow_quadratic, follow_torch


def adam_rule(w, g, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              amsgrad=False, decoupled=False, decay=True):
    """One step of torch's Adam/AdamW algorithm for one weight; s keeps m, v, v_max."""
    if decay and decoupled:
        w = w - lr * weight_decay * w
    elif decay:
        g = g + weight_decay * w
    s["m"] = beta1 * s.get("m", 0.0) + (1 - beta1) * g
    s["v"] = beta2 * s.get("v", 0.0) + (1 - beta2) * g * g
    m_hat = s["m"] / (1 - beta1 ** t)
    if amsgrad:
        s["v_max"] = max(s.get("v_max", 0.0), s["v"])
        v_hat = s["v_max"] / (1 - beta2 ** t)
    else:
        v_hat = s["v"] / (1 - beta2 ** t)
    return w - lr * m_hat / (math.sqrt(v_hat) + eps)


CASES = {
    "adam": (lambda: Adam(0.1), dict(lr=0.1)),
    "betas": (lambda: Adam(0.05, beta1=0.5, beta2=0.9, eps=1e-3),
              dict(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-3)),
    "l2": (lambda: Adam(0.1, weight_decay=0.3), dict(lr=0.1, weight_decay=0.3)),
    "amsgrad": (lambda: Adam(0.1, beta2=0.9, amsgrad=True), dict(lr=0.1, beta2=0.9, amsgrad=True)),
    "adamw": (lambda: AdamW(0.1, weight_decay=0.3),
              dict(lr=0.1, weight_decay=0.3, decoupled=True)),
    "adamw-default": (lambda: AdamW(0.1), dict(lr=0.1, weight_decay=0.01, decoupled=True)),
    "adamw-amsgrad": (lambda: AdamW(0.1, weight_decay=0.3, beta2=0.9, amsgrad=True),
                      dict(lr=0.1, weight_decay=0.3, beta2=0.9, amsgrad=True, decoupled=True)),
}


@pytest.mark.parametrize("case", CASES)
def test_quadratic_trajectory(case):
    make, hyper = CASES[case]
    w = follow_quadratic(make(), partial(adam_rule, **hyper))
    assert np.abs(w - W0).max() > 0.5  # the path went somewhere


@pytest.mark.parametrize("case", CASES)
def test_network_trajectory(case):
    make, hyper = CASES[case]
    follow_network(make(), partial(adam_rule, **hyper))


def test_variants_change_the_path():
    """So that the trajectory tests above really exercise each option."""
    def end(opt):
        return follow_quadratic(opt, partial(adam_rule, lr=opt.lr, beta1=opt.beta1,
                                             beta2=opt.beta2, eps=opt.eps,
                                             weight_decay=opt.weight_decay, amsgrad=opt.amsgrad,
                                             decoupled=isinstance(opt, AdamW)))
    plain = end(Adam(0.1, beta2=0.9))
    assert np.abs(end(Adam(0.1, beta2=0.9, amsgrad=True)) - plain).max() > 1e-3
    assert np.abs(end(Adam(0.1, beta2=0.9, weight_decay=0.3)) - plain).max() > 1e-3
    assert np.abs(end(AdamW(0.1, beta2=0.9, weight_decay=0.3))
                  - end(Adam(0.1, beta2=0.9, weight_decay=0.3))).max() > 1e-3


def test_first_step_is_lr_times_sign():
    # Bias correction makes step 1 exactly -lr g/(|g| + eps'): about lr in every weight.
    p = cr.Parameter(np.array([1.0, -2.0]), "w")
    p.grad[...] = [0.25, -40.0]
    Adam(0.01, eps=1e-12).step([p])
    np.testing.assert_allclose(p.value, [1.0 - 0.01, -2.0 + 0.01], rtol=0, atol=1e-12)


def test_step_count_is_per_parameter():
    # A parameter frozen for the first 3 steps starts at t = 1 when it first trains, so its
    # first update is bias-corrected like any first step: about lr per weight.
    a, late = cr.Parameter(np.array([0.0]), "a"), cr.Parameter(np.array([1.0]), "late")
    a.grad[...], late.grad[...] = 1.0, 0.5
    late.trainable = False
    opt = Adam(0.01)
    for _ in range(3):
        opt.step([a, late])
    late.trainable = True
    opt.step([a, late])
    assert int(opt.state[late]["step"]) == 1 and int(opt.state[a]["step"]) == 4
    assert late.value[0] == pytest.approx(1.0 - 0.01 * 0.5 / (0.5 + 1e-8), abs=1e-15)


def test_adamw_shrinks_weights_without_gradient():
    # g = 0: m = v = 0, so only the decoupled decay moves w: w (1 - lr lambda).
    p = cr.Parameter(np.array([2.0, -4.0]), "w")
    AdamW(0.1, weight_decay=0.5).step([p])
    np.testing.assert_allclose(p.value, [2.0 * 0.95, -4.0 * 0.95], rtol=0, atol=1e-15)


def test_frozen_and_undecayed_parameters():
    frozen = cr.Parameter(np.array([1.0]), "w", trainable=False)
    bias = cr.Parameter(np.array([2.0]), "b", decay=False)
    frozen.grad[...] = bias.grad[...] = 0.0
    opt = AdamW(0.1, weight_decay=0.5)
    opt.step([frozen, bias])
    assert frozen.value[0] == 1.0 and bias.value[0] == 2.0
    assert frozen not in opt.state


def test_float32_stays_float32():
    p = cr.Parameter(np.ones(3, dtype=np.float32), "w")
    p.grad[...] = 0.5
    opt = Adam(0.1)
    opt.step([p])
    assert p.value.dtype == np.float32
    assert all(buf.dtype == np.float32 for name, buf in opt.state[p].items() if name != "step")


@pytest.mark.parametrize("make, match", [
    (lambda: Adam(-1), "Invalid learning rate: -1"),
    (lambda: Adam(0.0), "Invalid learning rate: 0.0"),
    (lambda: Adam(float("nan")), "Invalid learning rate: nan"),
    (lambda: Adam("0.1"), "Invalid learning rate: '0.1'"),
    (lambda: Adam(0.1, beta1=1.5), "Invalid beta1 parameter: 1.5"),
    (lambda: Adam(0.1, beta1=1.0), "Invalid beta1 parameter: 1.0"),
    (lambda: Adam(0.1, beta2=-0.1), "Invalid beta2 parameter: -0.1"),
    (lambda: Adam(0.1, eps=0.0), "Invalid epsilon value: 0.0"),
    (lambda: Adam(0.1, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda: AdamW(0.1, weight_decay=float("inf")), "Invalid weight_decay value: inf"),
    (lambda: AdamW(0.1, beta2=1.0), "Invalid beta2 parameter: 1.0"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(cr.InvalidValueError, match=match):
        make()


def test_repr_shows_what_differs_from_the_defaults():
    assert repr(Adam(0.001)) == "Adam(lr=0.001)"
    assert repr(AdamW(0.1, amsgrad=True)) == "AdamW(lr=0.1, amsgrad=True)"


def test_matches_torch():
    torch = pytest.importorskip("torch")
    pairs = [(Adam(0.1, weight_decay=0.3, amsgrad=True),
              lambda q: torch.optim.Adam([q], lr=0.1, weight_decay=0.3, amsgrad=True)),
             (AdamW(0.1, weight_decay=0.3, beta2=0.9),
              lambda q: torch.optim.AdamW([q], lr=0.1, weight_decay=0.3, betas=(0.9, 0.9)))]
    for ours, make_theirs in pairs:
        follow_torch(ours, make_theirs)
