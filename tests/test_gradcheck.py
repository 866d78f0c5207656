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


def regularised(dropout=0.3, batchnorm=True, seed=0):
    """An mlp-like net with BatchNorm and Dropout inside, as a Sequential.

    BatchNorm follows the activations here: right after a Dense layer it would cancel
    that layer's bias, whose gradient is then zero (see the test below).
    """
    from chainrule.layers import BatchNorm, Dropout

    rng = np.random.default_rng(seed)
    norm = (lambda n: [BatchNorm(n)]) if batchnorm else (lambda n: [])
    return cr.Sequential([
        cr.Dense(3, 6, seed=rng), cr.Tanh(), *norm(6), Dropout(dropout, seed=seed),
        cr.Dense(6, 5, seed=rng), cr.Sigmoid(), *norm(5), Dropout(dropout / 2, seed=seed + 1),
        cr.Dense(5, 3, seed=rng), cr.Softmax(),
    ])


@pytest.mark.parametrize("net", [regularised(), regularised(batchnorm=False, seed=1),
                                 regularised(dropout=0.0, seed=2)])
def test_batchnorm_and_dropout_inside_a_network(net):
    X = np.random.default_rng(7).normal(size=(8, 3))
    errors = cr.gradcheck(net, "cross_entropy", X, np.array([0, 2, 1, 1, 0, 2, 2, 1]))
    assert set(errors) == {name for name, _ in net.named_parameters()}
    assert max(errors.values()) < 1e-7, errors


def test_batchnorm_after_dense_cancels_its_bias():
    from chainrule.layers import BatchNorm

    net = cr.Sequential([cr.Dense(4, 5, seed=3), BatchNorm(5), cr.LeakyReLU(0.1),
                         cr.Dense(5, 2, seed=4)])
    X = np.random.default_rng(8).normal(size=(6, 4))
    y = np.linspace(-1, 1, 12).reshape(6, 2)
    errors = cr.gradcheck(net, "mse", X, y)
    del errors["0.bias"]  # both gradients are zero up to rounding: a relative error means nothing
    assert max(errors.values()) < 1e-7, errors
    net64 = net.astype("float64")
    loss = cr.losses.get("mse")
    net64.compute_gradients(loss, X, loss.prepare_target(y, 2, net64.dtype))
    np.testing.assert_allclose(net64.layers[0].bias.grad, 0.0, atol=1e-15)
    assert np.abs(net64.layers[0].weight.grad).max() > 1e-3


def test_dropout_masks_are_held_fixed_and_released():
    net = regularised(seed=5)
    X = np.random.default_rng(9).normal(size=(8, 3)).astype(np.float32)
    before = net.forward(X, training=True)
    cr.gradcheck(net, "cross_entropy", X, np.zeros(8, dtype=int))
    # the check ran on a float64 copy: the caller's layers are not left frozen
    assert not net.layers[3]._frozen
    assert not np.array_equal(net.forward(X, training=True), before)
