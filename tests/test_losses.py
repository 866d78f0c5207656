import numpy as np
import pytest

import chainrule as cr
from numeric import numeric_grad


def probs(rng, m=5, k=3):
    return cr.Softmax().forward(rng.normal(size=(m, k)))


@pytest.mark.parametrize("loss, make_target", [
    (cr.SquaredError(), lambda rng: rng.normal(size=(5, 3))),
    (cr.MSE(), lambda rng: rng.normal(size=(5, 3))),
    (cr.BinaryCrossEntropy(), lambda rng: rng.uniform(size=(5, 3))),
    (cr.CrossEntropy(), lambda rng: np.array([0, 2, 1, 1, 0])),
    (cr.CrossEntropy(), lambda rng: np.eye(3)[[2, 0, 1, 1, 2]]),
])
def test_backward_matches_finite_differences(loss, make_target, rng):
    pred = probs(rng)
    target = make_target(rng)
    loss.forward(pred, target)
    analytic = loss.backward()
    numeric = numeric_grad(lambda: loss.forward(pred, target), pred)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_closed_form_values():
    o = np.array([[0.75136507, 0.772928465]])
    t = np.array([[0.01, 0.99]])
    assert cr.SquaredError().forward(o, t) == pytest.approx(0.298371109, abs=1e-9)
    assert cr.MSE().forward(o, t) == pytest.approx(0.298371109, abs=1e-9)  # 2 * 1/2 sum / 2
    p = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert cr.BinaryCrossEntropy().forward(p, np.array([[0, 1], [1, 0]])) == pytest.approx(
        -(np.log(0.8) * 2 + np.log(0.6) * 2) / 2)
    assert cr.CrossEntropy().forward(p, np.array([1, 0])) == pytest.approx(
        -(np.log(0.8) + np.log(0.6)) / 2)


def test_squared_error_is_batch_mean():
    o = np.array([[1.0], [3.0]])
    t = np.array([[0.0], [0.0]])
    assert cr.SquaredError().forward(o, t) == pytest.approx((0.5 + 4.5) / 2)


def _fused_and_unfused(loss, head, logits, target):
    """The loss and dL/dlogits computed both ways."""
    out = head.forward(logits, training=True)
    fused_value = loss.fused_forward(logits, out, loss.prepare_target(target, out.shape[1], out.dtype))
    fused_grad = loss.fused_backward()
    unfused_value = loss.forward(out, target)
    unfused_grad = head.backward(loss.backward())
    return fused_value, fused_grad, unfused_value, unfused_grad


@pytest.mark.parametrize("target", [np.array([2, 0, 1, 1]), np.eye(3)[[2, 0, 1, 1]]])
def test_fused_softmax_cross_entropy_agrees_with_unfused(target, rng):
    logits = rng.normal(size=(4, 3)) * 3
    fv, fg, uv, ug = _fused_and_unfused(cr.CrossEntropy(), cr.Softmax(), logits, target)
    assert fv == pytest.approx(uv, rel=1e-12)
    np.testing.assert_allclose(fg, ug, rtol=1e-10, atol=1e-14)
    onehot = target if target.ndim == 2 else np.eye(3)[target]
    np.testing.assert_allclose(fg, (cr.Softmax().forward(logits) - onehot) / 4, rtol=1e-12)


def test_fused_sigmoid_bce_agrees_with_unfused(rng):
    logits = rng.normal(size=(6, 2)) * 3
    target = rng.uniform(size=(6, 2))
    fv, fg, uv, ug = _fused_and_unfused(cr.BinaryCrossEntropy(), cr.Sigmoid(), logits, target)
    assert fv == pytest.approx(uv, rel=1e-12)
    np.testing.assert_allclose(fg, ug, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_losses_finite_for_huge_logits(dtype):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = cr.Softmax().forward(logits)
        loss = cr.CrossEntropy()
        value = loss.fused_forward(logits, p, np.array([1, 1]))
        grad = loss.fused_backward()
    assert value == pytest.approx(2000.0 / 2)  # -ln p_1 = 2000 for the first row, 0 for the second
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)
    bce = cr.BinaryCrossEntropy()
    z = np.array([[1000.0], [-1000.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = bce.fused_forward(z, cr.Sigmoid().forward(z), np.array([[0.0], [0.0]], dtype=dtype))
    assert value == pytest.approx(500.0)


def test_label_errors():
    p = np.full((3, 3), 1 / 3)
    with pytest.raises(cr.InvalidValueError, match=r"0\.\.2.*\[3\]"):
        cr.CrossEntropy().forward(p, np.array([0, 1, 3]))
    with pytest.raises(cr.InvalidValueError, match="integers"):
        cr.CrossEntropy().forward(p, np.array([0, 1.5, 2]))
    with pytest.raises(cr.InvalidValueError, match="sum to 1"):
        cr.CrossEntropy().forward(p, np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]))
    with pytest.raises(cr.ShapeError, match=r"\(batch, 3\)"):
        cr.CrossEntropy().forward(p, np.zeros((3, 2)))
    with pytest.raises(cr.InvalidValueError, match=r"\[0, 1\]"):
        cr.BinaryCrossEntropy().forward(np.full((2, 1), 0.5), np.array([0.0, 2.0]))
    with pytest.raises(cr.InvalidValueError, match="NaN"):
        cr.SquaredError().forward(np.zeros((2, 1)), np.array([0.0, np.nan]))
    with pytest.raises(cr.ShapeError, match="3 predictions but 2 targets"):
        cr.SquaredError().forward(np.zeros((3, 1)), np.zeros((2, 1)))


def test_integral_float_labels_accepted():
    p = np.array([[0.25, 0.75]])
    assert cr.CrossEntropy().forward(p, np.array([1.0])) == pytest.approx(-np.log(0.75))


def test_l2_penalty_seed_003():
    net = cr.Sequential([cr.Dense(2, 2, weight=[[1.0, 2.0], [3.0, 4.0]], bias=5.0, dtype="float64")])
    penalty = cr.L2(0.3)
    m = 4
    assert penalty.value(net.parameters(), m) == pytest.approx(0.3 / (2 * 4) * 30)  # biases excluded
    for p in net.parameters():
        p.grad[...] = 0
    penalty.add_grad(net.parameters(), m)
    w = net.parameters()[0]
    numeric = numeric_grad(lambda: penalty.value(net.parameters(), m), w.value)
    np.testing.assert_allclose(w.grad, numeric, rtol=1e-8)     # lambda/m w, not lambda/(2m) w
    np.testing.assert_allclose(w.grad, 0.3 / 4 * w.value)
    np.testing.assert_array_equal(net.parameters()[1].grad, 0)


def test_unknown_loss_name_lists_valid():
    with pytest.raises(cr.UnknownNameError, match="cross_entropy"):
        cr.losses.get("hinge")
