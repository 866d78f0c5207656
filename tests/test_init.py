import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import init

SHAPE, FAN_IN, FAN_OUT = (400, 300), 300, 400


def draw(fn):
    return fn(SHAPE, FAN_IN, FAN_OUT, np.random.default_rng(0), "float64")


@pytest.mark.parametrize("fn, std", [
    (init.xavier_normal, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform, math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    (init.he_normal, math.sqrt(2 / FAN_IN)),
    (init.he_uniform, math.sqrt(6 / FAN_IN) / math.sqrt(3)),
    (init.normal, 0.01),
    (init.uniform, 0.05 / math.sqrt(3)),
])
def test_standard_deviation_matches_the_formula(fn, std):
    w = draw(fn)
    assert abs(w.mean()) < 3 * std / math.sqrt(w.size) * 2
    assert w.std() == pytest.approx(std, rel=0.01)


def test_uniform_bounds():
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    w = draw(init.xavier_uniform)
    assert w.min() >= -limit and w.max() <= limit


def test_constant_and_zeros():
    np.testing.assert_array_equal(draw(init.zeros), 0)
    np.testing.assert_array_equal(draw(init.constant(0.5)), 0.5)
    layer = cr.Dense(2, 3, init=0.25)
    np.testing.assert_array_equal(layer.weight.value, 0.25)


def test_same_generator_same_draws():
    a = init.he_normal((3, 3), 3, 3, np.random.default_rng(5), "float32")
    b = init.he_normal((3, 3), 3, 3, np.random.default_rng(5), "float32")
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


def test_global_seed():
    cr.backend.seed(3)
    a = cr.Dense(3, 3).weight.value
    cr.backend.seed(3)
    np.testing.assert_array_equal(a, cr.Dense(3, 3).weight.value)
