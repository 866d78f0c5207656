"""Flatten: row-major over (channels, height, width), and back."""
import numpy as np

from chainrule.layers import Conv2D, Flatten
from numeric import numeric_grad


def test_row_major_order_like_pytorch_and_onnx():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float64).reshape(2, 3, 2, 2)
    out = Flatten().forward(x)
    assert out.shape == (2, 12)
    # sample 0: channel 0's 2x2 pixels row by row, then channel 1's, then channel 2's
    np.testing.assert_array_equal(out[0], np.arange(12))
    np.testing.assert_array_equal(out[1], np.arange(12, 24))


def test_flattening_a_convolution_output_orders_like_a_plain_array(rng):
    h = Conv2D(2, 3, 3, padding=1, dtype="float64", seed=0).forward(rng.normal(size=(4, 2, 5, 5)))
    out = Flatten().forward(h)
    np.testing.assert_array_equal(out, np.ascontiguousarray(h).reshape(4, -1))


def test_backward_is_the_inverse_reshape(rng):
    layer = Flatten()
    x = rng.normal(size=(3, 2, 4, 5))
    out = layer.forward(x, training=True)
    g = rng.normal(size=out.shape)
    dx = layer.backward(g)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dx.reshape(3, -1), g)
    loss = lambda: float((layer.forward(x) * g).sum())
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-7, atol=1e-9)


def test_output_shape_and_repr():
    layer = Flatten()
    assert layer.output_shape((16, 5, 5)) == 400
    assert layer.output_shape((16, None, None)) is None
    assert layer.output_shape(784) == 784
    assert layer.config() == {} and repr(layer) == "Flatten()"
    assert "Shape:" in Flatten.__doc__
