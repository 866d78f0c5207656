import numpy as np
import pytest

import chainrule as cr
from numeric import numeric_grad

ACTIVATIONS = [cr.Sigmoid, cr.Tanh, cr.ReLU, lambda: cr.LeakyReLU(0.1), cr.Softmax, cr.Identity]


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_backward_matches_finite_differences(make, rng):
    layer = make()
    x = rng.normal(size=(5, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU kinks away from the finite-difference step
    weights = rng.normal(size=(5, 4))
    layer.forward(x, training=True)
    analytic = layer.backward(weights)
    numeric = numeric_grad(lambda: float((layer.forward(x) * weights).sum()), x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_closed_forms():
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(cr.Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(cr.Tanh().forward(x), np.tanh(x))
    np.testing.assert_array_equal(cr.ReLU().forward(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(cr.LeakyReLU(0.1).forward(x), [[-0.2, 0.0, 3.0]])
    np.testing.assert_array_equal(cr.Identity().forward(x), x)


def test_softmax_worked_example_and_stability():
    p = cr.Softmax().forward(np.array([[3.0, 4.0, 10.0, 3.0]]))
    np.testing.assert_allclose(p, [[0.00090798, 0.00246813, 0.99571592, 0.00090798]], atol=5e-9)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = cr.Softmax().forward(np.array([[1000.0, -1000.0, 0.0]]))
    np.testing.assert_allclose(p, [[1.0, 0.0, 0.0]])


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = cr.Sigmoid().forward(np.array([[-1000.0, 1000.0]], dtype=np.float32))
    np.testing.assert_array_equal(out, [[0.0, 1.0]])
    assert out.dtype == np.float32


def test_activations_keep_precision():
    for make in ACTIVATIONS:
        out = make().forward(np.ones((2, 3), dtype=np.float32))
        assert out.dtype == np.float32


def test_leaky_relu_rejects_bad_slope():
    with pytest.raises(cr.InvalidValueError, match="slope"):
        cr.LeakyReLU(-0.5)
