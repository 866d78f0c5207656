"""SGD: single steps and trajectories against the update rule written out by hand."""
from functools import partial

import numpy as np
import pytest

import chainrule as cr


def param(value, grad, trainable=True):
    p = cr.Parameter(np.array(value, dtype=np.float64), "w", trainable=trainable)
    p.grad[...] = grad
    return p


def test_plain_step_is_w_minus_lr_grad():
    p = param([0.4, 0.45], [0.082167041, -0.1])
    cr.SGD(0.5).step([p])
    np.testing.assert_allclose(p.value, [0.4 - 0.5 * 0.082167041, 0.45 + 0.05])


def test_momentum_written_out():
    # b1 = g1; b2 = mu b1 + g2; w2 = w1 - lr b2  (torch.optim.SGD)
    p = param([1.0], [2.0])
    opt = cr.SGD(0.1, momentum=0.9)
    opt.step([p])
    assert p.value[0] == pytest.approx(1.0 - 0.1 * 2.0)
    p.grad[...] = 3.0
    opt.step([p])
    assert p.value[0] == pytest.approx(0.8 - 0.1 * (0.9 * 2.0 + 3.0))


def test_nesterov_written_out():
    p = param([1.0], [2.0])
    opt = cr.SGD(0.1, momentum=0.9, nesterov=True)
    opt.step([p])  # b1 = 2; step g + mu b1 = 3.8
    assert p.value[0] == pytest.approx(1.0 - 0.1 * 3.8)
    p.grad[...] = 3.0
    opt.step([p])  # b2 = 0.9*2 + 3 = 4.8; step 3 + 0.9*4.8
    assert p.value[0] == pytest.approx(0.62 - 0.1 * (3.0 + 0.9 * 4.8))


def test_weight_decay_adds_lambda_w():
    p = param([2.0], [0.5])
    cr.SGD(0.1, weight_decay=0.01).step([p])
    assert p.value[0] == pytest.approx(2.0 - 0.1 * (0.5 + 0.01 * 2.0))


def test_frozen_parameters_are_skipped():
    p = param([0.35], [1.0], trainable=False)
    cr.SGD(0.5).step([p])
    assert p.value[0] == 0.35


@pytest.mark.parametrize("lr", [0, -1, float("nan"), float("inf")])
def test_invalid_learning_rate(lr):
    with pytest.raises(cr.InvalidValueError, match="Invalid learning rate"):
        cr.SGD(lr)


def test_invalid_momentum():
    with pytest.raises(cr.InvalidValueError, match="momentum"):
        cr.SGD(0.1, momentum=1.5)
    with pytest.raises(cr.InvalidValueError, match="Nesterov"):
        cr.SGD(0.1, nesterov=True)


from trajectories import W0, follow_network, follow_quadratic, follow_torch
def sgd_rule(w, g, s, t, lr, momentum=0.0, nesterov=False, weight_decay=0.0, decay=True):
    """torch's SGD (dampening 0) for one weight; s keeps the momentum buffer b."""
    if decay:
        g = g + weight_decay * w
    if momentum:
        s["b"] = g if t == 1 else momentum * s["b"] + g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return w - lr * g


CASES = {
    "plain": (lambda: cr.SGD(0.1), dict(lr=0.1)),
    "momentum": (lambda: cr.SGD(0.05, momentum=0.9), dict(lr=0.05, momentum=0.9)),
    "nesterov": (lambda: cr.SGD(0.05, momentum=0.9, nesterov=True),
                 dict(lr=0.05, momentum=0.9, nesterov=True)),
    "weight-decay": (lambda: cr.SGD(0.1, weight_decay=0.3), dict(lr=0.1, weight_decay=0.3)),
    "all": (lambda: cr.SGD(0.05, momentum=0.5, nesterov=True, weight_decay=0.3),
            dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.3)),
}


@pytest.mark.parametrize("case", CASES)
def test_quadratic_trajectory(case):
    make, hyper = CASES[case]
    w = follow_quadratic(make(), partial(sgd_rule, **hyper))
    assert np.abs(w - W0).max() > 0.5


@pytest.mark.parametrize("case", CASES)
def test_network_trajectory(case):
    make, hyper = CASES[case]
    follow_network(make(), partial(sgd_rule, **hyper))


def test_weight_decay_skips_parameters_without_decay():
    bias = cr.Parameter(np.array([2.0]), "bias", decay=False)
    bias.grad[...] = 0.5
    cr.SGD(0.1, weight_decay=0.01).step([bias])
    assert bias.value[0] == pytest.approx(2.0 - 0.1 * 0.5)


@pytest.mark.parametrize("make, match", [
    (lambda: cr.SGD(0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda: cr.SGD(0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda: cr.SGD(True), "Invalid learning rate: True"),
])
def test_bad_hyper_parameters(make, match):
    with pytest.raises(cr.InvalidValueError, match=match):
        make()


def test_repr():
    assert repr(cr.SGD(0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9)"
    assert repr(cr.SGD(0.5)) == "SGD(lr=0.5)"


def test_matches_torch():
    torch = pytest.importorskip("torch")
    follow_torch(cr.SGD(0.05, momentum=0.5, nesterov=True, weight_decay=0.3),
                 lambda q: torch.optim.SGD([q], lr=0.05, momentum=0.5, nesterov=True,
                                           weight_decay=0.3))


def test_work_arrays_follow_a_parameter_whose_value_is_replaced():
    # The optimiser keeps its work views per parameter; a new value (another shape and
    # dtype, as after astype) must get a view of its own, not the old one.
    p, opt = cr.Parameter(np.ones(3)), cr.SGD(0.5)
    p.grad[...] = 1.0
    opt.step([p])
    np.testing.assert_array_equal(p.value, [0.5, 0.5, 0.5])
    p.value = np.ones((2, 2), dtype=np.float32)
    p.grad = np.full((2, 2), 1.5, dtype=np.float32)
    opt.step([p])
    assert p.value.dtype == np.float32
    np.testing.assert_array_equal(p.value, np.full((2, 2), 0.25, dtype=np.float32))
