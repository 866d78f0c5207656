import numpy as np
import pytest

from chainrule import DTypeError, InvalidValueError, ShapeError
from chainrule.layers import BatchNorm
from numeric import numeric_grad


def make(n=4, **kwargs):
    """A float64 BatchNorm with non-trivial scale and shift."""
    layer = BatchNorm(n, dtype="float64", **kwargs)
    rng = np.random.default_rng(9)
    layer.gamma.value[...] = rng.uniform(0.5, 2.0, n)
    layer.beta.value[...] = rng.normal(size=n)
    return layer


def test_training_backward_matches_finite_differences(rng):
    layer = make()
    x = rng.normal(loc=3.0, scale=2.0, size=(7, 4))
    g = rng.normal(size=(7, 4))
    layer.forward(x, training=True)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x, training=True) * g).sum())
    np.testing.assert_allclose(layer.gamma.grad, numeric_grad(loss, layer.gamma.value), rtol=1e-7)
    np.testing.assert_allclose(layer.beta.grad, numeric_grad(loss, layer.beta.value), rtol=1e-7)
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-9)


def test_evaluation_backward_matches_finite_differences(rng):
    layer = make()
    layer.running_mean[...] = rng.normal(size=4)
    layer.running_var[...] = rng.uniform(0.5, 2.0, 4)
    x = rng.normal(size=(5, 4))
    g = rng.normal(size=(5, 4))
    layer.forward(x)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x) * g).sum())
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7)
    np.testing.assert_allclose(layer.gamma.grad, numeric_grad(loss, layer.gamma.value), rtol=1e-7)


def test_training_uses_batch_statistics(rng):
    layer = make()
    x = rng.normal(loc=-1.0, scale=3.0, size=(10, 4))
    out = layer.forward(x, training=True)
    mean = x.sum(axis=0) / 10
    var = ((x - mean) ** 2).sum(axis=0) / 10  # biased
    expected = layer.gamma.value * (x - mean) / np.sqrt(var + 1e-5) + layer.beta.value
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # with gamma = 1, beta = 0 each feature has mean 0 and (almost) variance 1
    plain = BatchNorm(4, dtype="float64").forward(x, training=True)
    np.testing.assert_allclose(plain.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(plain.var(axis=0), var / (var + 1e-5), rtol=1e-12)


def test_evaluation_uses_running_statistics(rng):
    layer = make(eps=1e-3)
    layer.running_mean[...] = [0.5, -1.0, 2.0, 0.0]
    layer.running_var[...] = [1.0, 4.0, 0.25, 9.0]
    x = rng.normal(size=(3, 4))
    expected = (layer.gamma.value * (x - [0.5, -1.0, 2.0, 0.0]) / np.sqrt(
        np.array([1.0, 4.0, 0.25, 9.0]) + 1e-3) + layer.beta.value)
    before = layer.running_mean.copy(), layer.running_var.copy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    # evaluation leaves the running statistics alone, and one row does not depend on the others
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])
    np.testing.assert_allclose(layer.forward(x[:1]), expected[:1], rtol=1e-12)


def test_running_statistics_update_by_hand(rng):
    layer = make(3, momentum=0.3)
    assert np.array_equal(layer.running_mean, np.zeros(3))
    assert np.array_equal(layer.running_var, np.ones(3))
    mean, var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.normal(loc=step, scale=1 + step, size=(8, 3))
        layer.forward(x, training=True)
        batch_mean = x.sum(axis=0) / 8
        unbiased = ((x - batch_mean) ** 2).sum(axis=0) / 7
        mean = 0.7 * mean + 0.3 * batch_mean
        var = 0.7 * var + 0.3 * unbiased
        np.testing.assert_allclose(layer.running_mean, mean, rtol=1e-12)
        np.testing.assert_allclose(layer.running_var, var, rtol=1e-12)


def test_parameters_and_buffers():
    layer = BatchNorm(5)
    assert [p.name for p in layer.parameters()] == ["weight", "bias"]
    assert layer.parameters() == [layer.gamma, layer.beta]
    np.testing.assert_array_equal(layer.gamma.value, np.ones(5))
    np.testing.assert_array_equal(layer.beta.value, np.zeros(5))
    assert not layer.gamma.decay and not layer.beta.decay
    assert layer.gamma.trainable and layer.beta.trainable
    assert set(layer.buffers()) == {"running_mean", "running_var"}
    assert layer.buffers()["running_var"] is layer.running_var
    assert all(a.dtype == np.float32 for a in [layer.gamma.value, *layer.buffers().values()])
    assert layer.config() == {"n": 5, "momentum": 0.1, "eps": 1e-5}
    assert repr(layer) == "BatchNorm(5)"
    assert repr(BatchNorm(5, momentum=0.01)) == "BatchNorm(5, momentum=0.01)"


def test_float32_stays_float32(rng):
    layer = BatchNorm(3)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32 and layer.backward(out).dtype == np.float32
    assert layer.running_mean.dtype == np.float32 and layer.running_var.dtype == np.float32


def test_wrong_width_names_the_layer():
    with pytest.raises(ShapeError, match=r"BatchNorm\(3\).*\(batch, 3\).*\(4, 5\)"):
        BatchNorm(3).forward(np.zeros((4, 5), np.float32))
    with pytest.raises(ShapeError, match=r"BatchNorm\(3\)"):
        BatchNorm(3).forward(np.zeros(3, np.float32))


def test_one_sample_cannot_be_normalised_in_training():
    with pytest.raises(ShapeError, match="at least 2 samples"):
        BatchNorm(3).forward(np.zeros((1, 3), np.float32), training=True)
    BatchNorm(3).forward(np.zeros((1, 3), np.float32))  # evaluation is fine


def test_mixed_precision_is_an_error():
    with pytest.raises(DTypeError, match="BatchNorm.*float32.*float64"):
        BatchNorm(3).forward(np.zeros((2, 3)), training=True)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"n": 0}, "n must be a positive integer"),
    ({"n": 2.5}, "n must be a positive integer"),
    ({"n": True}, "n must be a positive integer"),
    ({"n": 3, "momentum": 1.5}, "momentum"),
    ({"n": 3, "momentum": -0.1}, "momentum"),
    ({"n": 3, "eps": 0.0}, "eps"),
    ({"n": 3, "eps": float("nan")}, "eps"),
])
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        BatchNorm(**kwargs)


def test_network_astype_converts_buffers(rng):
    import chainrule as cr

    net = cr.Sequential([cr.Dense(3, 4, seed=0), BatchNorm(4), cr.Tanh()])
    net.forward(rng.normal(size=(6, 3)).astype(np.float32), training=True)
    net64 = net.astype("float64")
    bn, bn64 = net.layers[1], net64.layers[1]
    assert bn64.running_mean.dtype == np.float64 and bn64.running_var.dtype == np.float64
    np.testing.assert_array_equal(bn64.running_mean, bn.running_mean)
    assert bn.running_mean.dtype == np.float32  # the original is unchanged
    net64.predict(rng.normal(size=(2, 3)))  # evaluation mixes no precisions
