"""Conv2D against a convolution written out as loops, scipy, and central differences."""
import numpy as np
import pytest
from scipy import signal

import chainrule as cr
from chainrule.layers import Conv2D
from numeric import numeric_grad


def naive_conv(x, w, b, stride, padding):
    """The definition, one output number at a time: a_{f,y,x} = b_f + sum_{c,i,j} W h."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, f, oh, ow))
    for s in range(n):
        for o in range(f):
            for y in range(oh):
                for z in range(ow):
                    total = b[o]
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[o, ch, i, j] * xp[s, ch, y * sh + i, z * sw + j]
                    out[s, o, y, z] = total
    return out


CASES = [  # in_channels, out_channels, kernel, stride, padding, (height, width)
    (1, 2, 3, 1, 0, (6, 6)),
    (1, 3, 3, 2, 1, (7, 7)),
    (3, 2, 3, 1, 2, (5, 6)),
    (3, 4, 2, 2, 0, (8, 7)),
    (1, 2, 5, 1, 2, (7, 8)),
    (3, 2, (3, 2), (2, 1), (1, 0), (7, 6)),
    (3, 2, 3, 2, 2, (6, 5)),
]


def make(case, rng, dtype="float64"):
    c, f, k, s, p, (h, w) = case
    layer = Conv2D(c, f, k, stride=s, padding=p, dtype=dtype, seed=rng,
                   bias=rng.normal(size=f))
    x = rng.normal(size=(2, c, h, w)).astype(dtype)
    return layer, x


def pairs(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("case", CASES)
def test_forward_matches_the_loops(case, rng):
    layer, x = make(case, rng)
    want = naive_conv(x, layer.weight.value, layer.bias.value, pairs(case[3]), pairs(case[4]))
    got = layer.forward(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels, padding", [(1, 0), (3, 1), (3, 2)])
def test_forward_matches_scipy_correlate(channels, padding, rng):
    layer = Conv2D(channels, 2, 3, padding=padding, dtype="float64", seed=rng, bias=0.5)
    x = rng.normal(size=(3, channels, 7, 6))
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    w = layer.weight.value
    want = np.stack([np.stack([sum(signal.correlate(xp[n, c], w[f, c], mode="valid")
                                   for c in range(channels)) + 0.5
                               for f in range(2)]) for n in range(3)])
    np.testing.assert_allclose(layer.forward(x), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_backward_matches_finite_differences(case, rng):
    layer, x = make(case, rng)
    out = layer.forward(x, training=True)
    g = rng.normal(size=out.shape)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x) * g).sum())
    np.testing.assert_allclose(layer.weight.grad, numeric_grad(loss, layer.weight.value),
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(layer.bias.grad, numeric_grad(loss, layer.bias.value),
                               rtol=1e-7, atol=1e-9)
    assert dx.shape == x.shape
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7, atol=1e-9)


def test_backward_params_gives_the_same_parameter_gradients(rng):
    layer, x = make(CASES[2], rng)
    g = rng.normal(size=layer.forward(x, training=True).shape)
    layer.backward(g)
    want = [p.grad.copy() for p in layer.parameters()]
    for p in layer.parameters():
        p.grad[...] = 0
    layer.forward(x, training=True)
    layer.backward_params(g)
    for p, w in zip(layer.parameters(), want):
        np.testing.assert_allclose(p.grad, w, rtol=1e-13)


@pytest.mark.parametrize("frozen", ["weight", "bias"])
def test_a_frozen_parameter_gets_no_gradient_when_frozen_gradients_are_off(rng, frozen):
    # fit switches them off: the frozen one keeps its grad (zeroed by fit), the other is
    # computed as usual, and so is the input's gradient.
    layer, x = make(CASES[2], rng)
    g = rng.normal(size=layer.forward(x, training=True).shape)
    dx = layer.backward(g)
    want = {p.name: p.grad.copy() for p in layer.parameters()}
    getattr(layer, frozen).trainable = False
    for p in layer.parameters():
        p.grad[...] = 0
    layer.frozen_gradients = False
    layer.forward(x, training=True)
    np.testing.assert_allclose(layer.backward(g), dx, rtol=1e-13)
    for p in layer.parameters():
        if p.name == frozen:
            assert not p.grad.any()
        else:
            np.testing.assert_allclose(p.grad, want[p.name], rtol=1e-13)


def test_backward_after_an_evaluation_forward(rng):
    """Evaluation keeps no columns; backward rebuilds them and gets the same gradients."""
    layer, x = make(CASES[1], rng)
    g = rng.normal(size=layer.forward(x, training=True).shape)
    dx_train = layer.backward(g)
    dw_train = layer.weight.grad.copy()
    layer.forward(x, training=False)
    np.testing.assert_allclose(layer.backward(g), dx_train, rtol=1e-13)
    np.testing.assert_allclose(layer.weight.grad, dw_train, rtol=1e-13)


def test_stacked_layers_take_each_others_layout(rng):
    """The output is a transposed view; the next layer and backward handle it."""
    a = Conv2D(3, 4, 3, padding=1, dtype="float64", seed=0)
    b = Conv2D(4, 2, 3, stride=2, dtype="float64", seed=1)
    x = rng.normal(size=(2, 3, 7, 7))
    h = a.forward(x, training=True)
    out = b.forward(h, training=True)
    want = naive_conv(naive_conv(x, a.weight.value, a.bias.value, (1, 1), (1, 1)),
                      b.weight.value, b.bias.value, (2, 2), (0, 0))
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=out.shape)
    dx = a.backward(b.backward(g))
    loss = lambda: float((b.forward(a.forward(x)) * g).sum())
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7, atol=1e-9)


def test_float32_by_default_and_stays_float32(rng):
    layer = Conv2D(1, 2, 3, seed=0)
    assert layer.weight.value.dtype == layer.bias.value.dtype == np.float32
    assert layer.weight.value.shape == (2, 1, 3, 3)  # (out, in, kh, kw) as PyTorch/ONNX
    x = rng.normal(size=(2, 1, 5, 5)).astype(np.float32)
    out = layer.forward(x, training=True)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32
    assert layer.weight.grad.dtype == np.float32


def test_he_initialisation_uses_the_kernel_fan_in(rng):
    seen = {}

    def spy(shape, fan_in, fan_out, rng_, dtype):
        seen.update(shape=shape, fan_in=fan_in, fan_out=fan_out)
        return np.zeros(shape, dtype=dtype)

    Conv2D(3, 8, (5, 3), init=spy)
    assert seen == {"shape": (8, 3, 5, 3), "fan_in": 3 * 5 * 3, "fan_out": 8 * 5 * 3}
    w = Conv2D(16, 64, 3, seed=0).weight.value
    assert abs(w.std() - np.sqrt(2 / (16 * 9))) < 0.05 * np.sqrt(2 / (16 * 9))


def test_explicit_weights_and_seeds():
    w = np.arange(18.0).reshape(2, 1, 3, 3)
    layer = Conv2D(1, 2, 3, weight=w, bias=[1.0, -1.0], dtype="float64")
    np.testing.assert_array_equal(layer.weight.value, w)
    np.testing.assert_array_equal(Conv2D(1, 2, 3, seed=5).weight.value,
                                  Conv2D(1, 2, 3, seed=5).weight.value)
    with pytest.raises(cr.ShapeError, match=r"weight must have shape \(2, 1, 3, 3\)"):
        Conv2D(1, 2, 3, weight=np.zeros((2, 3, 3)))
    with pytest.raises(cr.InvalidValueError, match="NaN"):
        Conv2D(1, 2, 3, bias=[np.nan, 0])


def test_wrong_input_names_the_layer_and_both_shapes():
    layer = Conv2D(3, 2, 3)
    with pytest.raises(cr.ShapeError, match=r"Conv2D\(3, 2, kernel_size=3\).*\(batch, 3, "
                                            r"height, width\).*\(4, 1, 8, 8\)"):
        layer.forward(np.zeros((4, 1, 8, 8), dtype=np.float32))
    with pytest.raises(cr.ShapeError, match=r"\(4, 27\).*reshape"):
        layer.forward(np.zeros((4, 27), dtype=np.float32))
    with pytest.raises(cr.ShapeError, match=r"3x3 kernel does not fit in 3x2x2"):
        layer.forward(np.zeros((1, 3, 2, 2), dtype=np.float32))
    with pytest.raises(cr.DTypeError, match="float32.*float64"):
        layer.forward(np.zeros((1, 3, 4, 4)))


@pytest.mark.parametrize("kwargs, fragment", [
    ({"kernel_size": 0}, "kernel_size"), ({"kernel_size": (3, 2, 1)}, "kernel_size"),
    ({"kernel_size": 3, "stride": True}, "stride"), ({"kernel_size": 3, "padding": -1}, "padding"),
    ({"kernel_size": 2.5}, "kernel_size"),
])
def test_bad_hyper_parameters(kwargs, fragment):
    with pytest.raises(cr.InvalidValueError, match=fragment):
        Conv2D(1, 2, **kwargs)
    with pytest.raises(cr.InvalidValueError, match="in_channels"):
        Conv2D(0, 2, 3)


def test_output_shape_config_and_repr():
    layer = Conv2D(6, 16, 5)
    assert layer.output_shape((6, 14, 14)) == (16, 10, 10)
    assert layer.output_shape((6, None, None)) == (16, None, None)
    assert Conv2D(1, 4, 3, stride=2, padding=1).output_shape((1, 7, 8)) == (4, 4, 4)
    assert layer.config() == {"in_channels": 6, "out_channels": 16, "kernel_size": 5,
                              "stride": 1, "padding": 0}
    odd = Conv2D(1, 2, (3, 2), stride=(2, 1), padding=(1, 0))
    assert odd.config()["kernel_size"] == [3, 2] and odd.config()["stride"] == [2, 1]
    assert repr(layer) == "Conv2D(6, 16, kernel_size=5)"
    assert repr(Conv2D(1, 6, 5, padding=2, stride=2)) == \
        "Conv2D(1, 6, kernel_size=5, stride=2, padding=2)"
    with pytest.raises(cr.ShapeError, match="expects 6 input channels.*3"):
        layer.output_shape((3, 14, 14))
    with pytest.raises(cr.ShapeError, match="784 flat features"):
        layer.output_shape(784)
    with pytest.raises(cr.ShapeError, match="does not fit"):
        layer.output_shape((6, 4, 4))


def test_docstrings_give_the_shapes():
    from chainrule.layers import AvgPool2D, Flatten, MaxPool2D

    for cls in (Conv2D, MaxPool2D, AvgPool2D, Flatten):
        assert "Shape:" in cls.__doc__ and "(batch, channels, height, width)" in " ".join(
            cls.__doc__.split()) or "(batch, in_channels, height, width)" in cls.__doc__
