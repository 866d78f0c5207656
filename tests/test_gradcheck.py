import numpy as np
import pytest

import chainrule as cr


@pytest.mark.parametrize("net, loss, y", [
    (cr.mlp([3, 5, 4, 3], activation="tanh", output="softmax", seed=0), "cross_entropy",
     np.array([0, 2, 1, 1, 0, 2])),
    (cr.mlp([3, 5, 2], activation="sigmoid", output="sigmoid", seed=1), "binary_cross_entropy",
     np.array([[0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [1, 1]])),
    (cr.mlp([3, 6, 2], activation="leaky_relu", output="identity", seed=2), "mse",
     np.linspace(-1, 1, 12).reshape(6, 2)),
    (cr.mlp([3, 6, 2], activation="relu", output=None, seed=3), "squared_error",
     np.linspace(-1, 1, 12).reshape(6, 2)),
])
def test_backprop_matches_finite_differences(net, loss, y):
    X = np.random.default_rng(5).normal(size=(6, 3))
    errors = cr.gradcheck(net, loss, X, y)
    assert set(errors) == {name for name, _ in net.named_parameters()}
    assert max(errors.values()) < 1e-7, errors


def test_with_l2_penalty():
    net = cr.mlp([3, 4, 2], activation="tanh", output="softmax", seed=4)
    X = np.random.default_rng(6).normal(size=(5, 3))
    errors = cr.gradcheck(net, "cross_entropy", X, np.array([0, 1, 1, 0, 1]), l2=0.7)
    assert max(errors.values()) < 1e-7


def test_detects_a_wrong_backward():
    class BrokenTanh(cr.Tanh):
        def backward(self, grad_out):
            return grad_out * (1.0 - self._out)  # forgot the square

    net = cr.Sequential([cr.Dense(2, 3, seed=0), BrokenTanh(), cr.Dense(3, 1, seed=1)])
    errors = cr.gradcheck(net, "mse", np.random.default_rng(0).normal(size=(4, 2)), np.ones(4))
    assert errors["0.weight"] > 1e-3
