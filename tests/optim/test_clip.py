"""clip_grad_norm: the global norm and the common scale factor, by hand."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import clip_grad_norm


def param(grad, trainable=True):
    grad = np.array(grad, dtype=np.float64)
    p = cr.Parameter(np.zeros_like(grad), "w", trainable=trainable)
    p.grad[...] = grad
    return p


def test_norm_over_all_parameters_and_scaling():
    # sqrt(3^2 + 4^2 + 12^2) = 13 for the two parameters together.
    a, b = param([3.0, -4.0]), param([[12.0]])
    norm = clip_grad_norm([a, b], 6.5)
    assert norm == 13.0
    scale = 6.5 / (13.0 + 1e-6)          # torch's factor
    np.testing.assert_allclose(a.grad, [3.0 * scale, -4.0 * scale], rtol=1e-15)
    np.testing.assert_allclose(b.grad, [[12.0 * scale]], rtol=1e-15)
    assert math.sqrt((a.grad ** 2).sum() + (b.grad ** 2).sum()) == pytest.approx(6.5, rel=1e-6)


def test_small_gradients_are_left_alone():
    a = param([0.3, 0.4])
    assert clip_grad_norm([a], 1.0) == pytest.approx(0.5, rel=1e-15)
    np.testing.assert_array_equal(a.grad, [0.3, 0.4])


def test_frozen_parameters_are_neither_counted_nor_scaled():
    a, frozen = param([6.0, 8.0]), param([100.0], trainable=False)
    assert clip_grad_norm([a, frozen], 5.0) == 10.0
    np.testing.assert_allclose(a.grad, [6.0 * 5 / (10 + 1e-6), 8.0 * 5 / (10 + 1e-6)])
    assert frozen.grad[0] == 100.0


def test_float32_gradients_stay_float32():
    a = cr.Parameter(np.zeros(2, dtype=np.float32), "w")
    a.grad[...] = [30.0, 40.0]
    assert clip_grad_norm([a], 1.0) == pytest.approx(50.0)
    assert a.grad.dtype == np.float32
    np.testing.assert_allclose(a.grad, [0.6, 0.8], rtol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_norm_is_returned_and_gradients_untouched(bad):
    a = param([bad, 1.0])
    norm = clip_grad_norm([a], 1.0)
    assert not math.isfinite(norm)
    assert a.grad[1] == 1.0


@pytest.mark.parametrize("max_norm", [0, -1.0, float("nan"), "1"])
def test_bad_max_norm(max_norm):
    with pytest.raises(cr.InvalidValueError, match="Invalid max_norm"):
        clip_grad_norm([param([1.0])], max_norm)
