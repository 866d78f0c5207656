import numpy as np
import pytest

import chainrule as cr
from numeric import numeric_grad


def test_forward_is_weighted_sum_plus_bias():
    layer = cr.Dense(2, 2, weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35, dtype="float64")
    out = layer.forward(np.array([[0.05, 0.10]]))
    # net_h1 = 0.15*0.05 + 0.2*0.1 + 0.35 = 0.3775 (seed 002), net_h2 = 0.25*0.05 + 0.3*0.1 + 0.35
    np.testing.assert_allclose(out, [[0.3775, 0.3925]], rtol=1e-15)


def test_backward_matches_finite_differences(rng):
    layer = cr.Dense(4, 3, dtype="float64", seed=0)
    x = rng.normal(size=(6, 4))
    g = rng.normal(size=(6, 3))
    layer.forward(x, training=True)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x) * g).sum())
    np.testing.assert_allclose(layer.weight.grad, numeric_grad(loss, layer.weight.value), rtol=1e-7)
    np.testing.assert_allclose(layer.bias.grad, numeric_grad(loss, layer.bias.value), rtol=1e-7)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7)


def test_shapes_follow_the_notes():
    layer = cr.Dense(3, 5)
    assert layer.weight.value.shape == (5, 3)  # row = receiving neuron
    assert layer.bias.value.shape == (5,)
    assert layer.weight.value.dtype == np.float32
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]


def test_frozen_bias_is_marked():
    layer = cr.Dense(2, 2, train_bias=False)
    assert layer.weight.trainable and not layer.bias.trainable


def test_wrong_input_width_names_the_layer():
    layer = cr.Dense(3, 2)
    with pytest.raises(cr.ShapeError, match=r"Dense\(3, 2\).*\(batch, 3\).*\(4, 5\)"):
        layer.forward(np.zeros((4, 5), dtype=np.float32))


def test_mixed_precision_is_an_error():
    layer = cr.Dense(3, 2)  # float32
    with pytest.raises(cr.DTypeError, match="float32.*float64"):
        layer.forward(np.zeros((1, 3)))


def test_explicit_weight_shape_checked():
    with pytest.raises(cr.ShapeError, match=r"\(2, 3\)"):
        cr.Dense(3, 2, weight=np.zeros((3, 2)))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_sizes_must_be_positive_integers(bad):
    with pytest.raises(cr.InvalidValueError, match="positive integer"):
        cr.Dense(bad, 2)


def test_unknown_init_lists_valid_names():
    with pytest.raises(cr.UnknownNameError, match="xavier"):
        cr.Dense(2, 2, init="kaiming-ish")


def test_seed_fixes_weights():
    a = cr.Dense(5, 4, seed=7).weight.value
    b = cr.Dense(5, 4, seed=7).weight.value
    c = cr.Dense(5, 4, seed=8).weight.value
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
