import numpy as np
import pytest

from chainrule import InvalidValueError, backend
from chainrule.layers import Dropout
from numeric import numeric_grad


def test_backward_with_a_fixed_mask_matches_finite_differences(rng):
    layer = Dropout(0.3, seed=0)
    x = rng.normal(size=(6, 5))
    g = rng.normal(size=(6, 5))
    with layer.freeze():
        layer.forward(x, training=True)
        analytic = layer.backward(g)
        numeric = numeric_grad(lambda: float((layer.forward(x, training=True) * g).sum()), x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-10)


def test_kept_units_are_scaled_and_backward_uses_the_same_mask(rng):
    p = 0.25
    layer = Dropout(p, seed=1)
    x = rng.normal(size=(50, 40))
    out = layer.forward(x, training=True)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)
    g = rng.normal(size=x.shape)
    np.testing.assert_allclose(layer.backward(g), np.where(kept, g / (1 - p), 0.0), rtol=1e-15)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_kept_fraction_and_mean_are_preserved(p):
    layer = Dropout(p, seed=2)
    x = np.ones((400, 500))  # 200,000 units: standard error of the kept fraction < 0.0012
    out = layer.forward(x, training=True)
    assert abs((out != 0).mean() - (1 - p)) < 0.006
    assert abs(out.mean() - 1.0) < 0.02 * (1 + p / (1 - p))


def test_evaluation_is_exactly_the_identity(rng):
    layer = Dropout(0.5, seed=3)
    x = rng.normal(size=(7, 3)).astype(np.float32)
    assert layer.forward(x) is x
    assert layer.forward(x, training=False) is x
    g = rng.normal(size=(7, 3))
    assert layer.backward(g) is g


def test_p_zero_keeps_everything(rng):
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(Dropout(0.0).forward(x, training=True), x)


def test_same_seed_same_mask_and_new_mask_each_step(rng):
    x = np.ones((20, 30), dtype=np.float32)
    a, b, c = Dropout(0.5, seed=7), Dropout(0.5, seed=7), Dropout(0.5, seed=8)
    first = a.forward(x, training=True)
    np.testing.assert_array_equal(first, b.forward(x, training=True))
    assert not np.array_equal(first, c.forward(x, training=True))
    assert not np.array_equal(first, a.forward(x, training=True))  # a fresh mask per step


def test_unseeded_layers_follow_the_global_generator():
    x = np.ones((10, 10))
    backend.seed(5)
    first = Dropout(0.5).forward(x, training=True)
    backend.seed(5)
    np.testing.assert_array_equal(Dropout(0.5).forward(x, training=True), first)


def test_freeze_reuses_the_last_mask_and_ends_with_the_block(rng):
    layer = Dropout(0.5, seed=4)
    x = np.ones((10, 10))
    first = layer.forward(x, training=True)
    with layer.freeze():
        np.testing.assert_array_equal(layer.forward(x, training=True), first)
        np.testing.assert_array_equal(layer.forward(2 * x, training=True), 2 * first)
    assert not np.array_equal(layer.forward(x, training=True), first)


def test_freeze_draws_a_mask_when_the_shape_changes():
    layer = Dropout(0.5, seed=4)
    layer.forward(np.ones((2, 3)), training=True)
    with layer.freeze():
        out = layer.forward(np.ones((4, 3)), training=True)
        np.testing.assert_array_equal(layer.forward(np.ones((4, 3)), training=True), out)


def test_keeps_precision():
    out = Dropout(0.5, seed=0).forward(np.ones((3, 4), dtype=np.float32), training=True)
    assert out.dtype == np.float32


@pytest.mark.parametrize("bad", [1.2, 1, 1.0, -0.1, float("nan"), "0.5", True, None])
def test_p_outside_zero_one_is_rejected(bad):
    with pytest.raises(InvalidValueError, match=r"dropout p must be in \[0, 1\)"):
        Dropout(bad)


def test_message_shows_the_value():
    with pytest.raises(InvalidValueError) as info:
        Dropout(1.2)
    assert str(info.value) == "dropout p must be in [0, 1), got 1.2"


def test_config_and_repr():
    layer = Dropout(0.2)
    assert layer.config() == {"p": 0.2}
    assert repr(layer) == "Dropout(p=0.2)"
    assert layer.parameters() == [] and layer.buffers() == {}
