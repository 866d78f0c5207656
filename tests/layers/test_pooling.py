"""MaxPool2D and AvgPool2D against loops over windows, and central differences."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.layers import AvgPool2D, Conv2D, MaxPool2D, ReLU
from numeric import numeric_grad


def windows(shape, size, stride):
    """Every (n, c, y, x) output position with the row and column ranges of its window."""
    n, c, h, w = shape
    (kh, kw), (sh, sw) = size, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    for s in range(n):
        for ch in range(c):
            for y in range(oh):
                for z in range(ow):
                    yield (s, ch, y, z), slice(y * sh, y * sh + kh), slice(z * sw, z * sw + kw)


def out_shape(shape, size, stride):
    n, c, h, w = shape
    return (n, c, (h - size[0]) // stride[0] + 1, (w - size[1]) // stride[1] + 1)


def naive_max(x, size, stride, g):
    """Forward maxima, and backward sending each window's gradient to its first maximum."""
    out = np.zeros(out_shape(x.shape, size, stride))
    dx = np.zeros_like(x)
    for (s, c, y, z), rows, cols in windows(x.shape, size, stride):
        window = x[s, c, rows, cols]
        out[s, c, y, z] = window.max()
        i, j = np.unravel_index(np.argmax(window), window.shape)  # first in row-major order
        dx[s, c, rows.start + i, cols.start + j] += g[s, c, y, z]
    return out, dx


def naive_avg(x, size, stride, g):
    out = np.zeros(out_shape(x.shape, size, stride))
    dx = np.zeros_like(x)
    area = size[0] * size[1]
    for (s, c, y, z), rows, cols in windows(x.shape, size, stride):
        out[s, c, y, z] = x[s, c, rows, cols].mean()
        dx[s, c, rows, cols] += g[s, c, y, z] / area
    return out, dx


CASES = [  # size, stride, channels, (height, width)
    (2, None, 1, (8, 8)),
    (2, None, 3, (7, 9)),   # odd sizes: the last row and column are dropped
    (3, 2, 3, (7, 8)),      # overlapping windows
    (2, 1, 1, (5, 6)),      # stride 1
    (2, 3, 3, (8, 7)),      # gaps between windows
    ((2, 3), (1, 2), 1, (6, 7)),
]


def pair(v, default):
    v = default if v is None else v
    return tuple(v) if isinstance(v, tuple) else (v, v)


@pytest.mark.parametrize("cls, naive", [(MaxPool2D, naive_max), (AvgPool2D, naive_avg)])
@pytest.mark.parametrize("size, stride, channels, hw", CASES)
def test_forward_and_backward_match_the_loops(cls, naive, size, stride, channels, hw, rng):
    layer = cls(size, stride)
    x = rng.normal(size=(2, channels, *hw))
    out = layer.forward(x, training=True)
    g = rng.normal(size=out.shape)
    want_out, want_dx = naive(x, pair(size, size), pair(stride, size), g)
    np.testing.assert_allclose(out, want_out, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(layer.backward(g), want_dx, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("size, stride, channels, hw", CASES)
def test_backward_matches_finite_differences(cls, size, stride, channels, hw, rng):
    layer = cls(size, stride)
    x = rng.normal(size=(2, channels, *hw))  # distinct values: the maxima are unique
    g = rng.normal(size=layer.forward(x, training=True).shape)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x) * g).sum())
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("size, stride", [(2, None), (3, 1), (3, 2), (2, 3)])
def test_tied_maxima_route_each_window_to_one_cell(size, stride):
    """A constant image: every cell ties, and each window's gradient goes to exactly one
    cell, its top-left one (the first in row-major order), never to all of them."""
    layer = MaxPool2D(size, stride)
    x = np.full((2, 3, 7, 8), 0.5)
    out = layer.forward(x, training=True)
    g = np.random.default_rng(0).normal(size=out.shape)
    dx = layer.backward(g)
    s = pair(stride, size)
    want = np.zeros_like(x)
    oh, ow = out.shape[2:]
    for y in range(oh):
        for z in range(ow):
            want[:, :, y * s[0], z * s[1]] += g[:, :, y, z]
    np.testing.assert_allclose(dx, want, rtol=1e-15)
    np.testing.assert_allclose(dx.sum(), g.sum(), rtol=1e-12)  # routed exactly once
    if s == (size, size):  # non-overlapping: one non-zero cell per window
        assert np.count_nonzero(dx) == np.count_nonzero(g) == g.size


def test_ties_after_relu_go_to_the_first_zero():
    x = np.array([[[[-1.0, -2.0, 3.0, 3.0],
                    [-3.0, -4.0, 1.0, 3.0]]]])
    relu, pool = ReLU(), MaxPool2D(2)
    out = pool.forward(relu.forward(x), training=True)
    np.testing.assert_array_equal(out, [[[[0.0, 3.0]]]])
    dx = pool.backward(np.array([[[[5.0, 7.0]]]]))
    np.testing.assert_array_equal(dx, [[[[5.0, 0.0, 7.0, 0.0],
                                          [0.0, 0.0, 0.0, 0.0]]]])


def test_pooling_the_output_of_a_convolution(rng):
    """Conv outputs are transposed views; pooling them gives the same as plain arrays."""
    conv = Conv2D(2, 3, 3, padding=1, dtype="float64", seed=0)
    x = rng.normal(size=(4, 2, 6, 6))
    h = conv.forward(x)
    for layer in (MaxPool2D(2), AvgPool2D(3, 2)):
        want = layer.forward(np.ascontiguousarray(h), training=True)
        g = rng.normal(size=want.shape)
        want_dx = layer.backward(g)
        np.testing.assert_array_equal(layer.forward(h, training=True), want)
        np.testing.assert_array_equal(layer.backward(g), want_dx)


def test_float32_stays_float32():
    x = np.random.default_rng(0).random((2, 1, 4, 4), dtype=np.float32)
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        out = layer.forward(x, training=True)
        assert out.dtype == np.float32 and out.shape == (2, 1, 2, 2)
        assert layer.backward(np.ones_like(out)).dtype == np.float32


def test_shapes_config_repr_and_errors():
    pool = MaxPool2D(2)
    assert pool.output_shape((6, 28, 28)) == (6, 14, 14)
    assert pool.output_shape((6, 27, 29)) == (6, 13, 14)
    assert pool.output_shape((6, None, None)) == (6, None, None)
    assert AvgPool2D(3, 2).output_shape((1, 7, 8)) == (1, 3, 3)
    assert pool.config() == {"size": 2, "stride": 2}
    assert MaxPool2D((2, 3), 1).config() == {"size": [2, 3], "stride": 1}
    assert repr(pool) == "MaxPool2D(2)" and repr(AvgPool2D(3, 2)) == "AvgPool2D(3, stride=2)"
    with pytest.raises(cr.ShapeError, match=r"MaxPool2D\(2\).*\(batch, channels, height, "
                                            r"width\).*\(4, 16\)"):
        pool.forward(np.zeros((4, 16)))
    with pytest.raises(cr.ShapeError, match=r"AvgPool2D\(3\): a 3x3 window does not fit in "
                                            r"1x2x5"):
        AvgPool2D(3).forward(np.zeros((1, 1, 2, 5)))
    with pytest.raises(cr.ShapeError, match="takes images.*120 flat features"):
        pool.output_shape(120)
    with pytest.raises(cr.InvalidValueError, match="size"):
        MaxPool2D(0)
    with pytest.raises(cr.InvalidValueError, match="stride"):
        AvgPool2D(2, stride=-1)
