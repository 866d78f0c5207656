import numpy as np
import pytest

import chainrule as cr


def param(value, grad, trainable=True):
    p = cr.Parameter(np.array(value, dtype=np.float64), "w", trainable=trainable)
    p.grad[...] = grad
    return p


def test_plain_step_is_w_minus_lr_grad():
    p = param([0.4, 0.45], [0.082167041, -0.1])
    cr.SGD(0.5).step([p])
    np.testing.assert_allclose(p.value, [0.4 - 0.5 * 0.082167041, 0.45 + 0.05])


def test_momentum_written_out():
    # b1 = g1; b2 = mu b1 + g2; w2 = w1 - lr b2  (torch.optim.SGD)
    p = param([1.0], [2.0])
    opt = cr.SGD(0.1, momentum=0.9)
    opt.step([p])
    assert p.value[0] == pytest.approx(1.0 - 0.1 * 2.0)
    p.grad[...] = 3.0
    opt.step([p])
    assert p.value[0] == pytest.approx(0.8 - 0.1 * (0.9 * 2.0 + 3.0))


def test_nesterov_written_out():
    p = param([1.0], [2.0])
    opt = cr.SGD(0.1, momentum=0.9, nesterov=True)
    opt.step([p])  # b1 = 2; step g + mu b1 = 3.8
    assert p.value[0] == pytest.approx(1.0 - 0.1 * 3.8)
    p.grad[...] = 3.0
    opt.step([p])  # b2 = 0.9*2 + 3 = 4.8; step 3 + 0.9*4.8
    assert p.value[0] == pytest.approx(0.62 - 0.1 * (3.0 + 0.9 * 4.8))


def test_weight_decay_adds_lambda_w():
    p = param([2.0], [0.5])
    cr.SGD(0.1, weight_decay=0.01).step([p])
    assert p.value[0] == pytest.approx(2.0 - 0.1 * (0.5 + 0.01 * 2.0))


def test_frozen_parameters_are_skipped():
    p = param([0.35], [1.0], trainable=False)
    cr.SGD(0.5).step([p])
    assert p.value[0] == 0.35


@pytest.mark.parametrize("lr", [0, -1, float("nan"), float("inf")])
def test_invalid_learning_rate(lr):
    with pytest.raises(cr.InvalidValueError, match="Invalid learning rate"):
        cr.SGD(lr)


def test_invalid_momentum():
    with pytest.raises(cr.InvalidValueError, match="momentum"):
        cr.SGD(0.1, momentum=1.5)
    with pytest.raises(cr.InvalidValueError, match="Nesterov"):
        cr.SGD(0.1, nesterov=True)
