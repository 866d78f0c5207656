"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from .. import backend
from .base import Optimizer, check_fraction, check_non_negative
from ..errors import InvalidValueError


class SGD(Optimizer):
    r"""Gradient descent, :math:`w \leftarrow w - \eta\, g`, as ``torch.optim.SGD``.

    With learning rate :math:`\eta`, weight decay :math:`\lambda` and momentum :math:`\mu`,
    one step on the gradient :math:`\nabla_w L` is

    .. math::
        g_t &= \nabla_w L + \lambda w_{t-1} \\
        b_t &= \mu\, b_{t-1} + g_t \qquad (b_0 = 0,\ \text{so } b_1 = g_1) \\
        w_t &= w_{t-1} - \eta\, b_t
            \quad\text{or, Nesterov,}\quad w_t = w_{t-1} - \eta\,(g_t + \mu\, b_t)

    and without momentum simply :math:`w_t = w_{t-1} - \eta\, g_t`.
    The notes' momentum :math:`\Delta w(t) = \eta\delta x + \alpha\Delta w(t-1)` is the
    same rule with the learning rate folded into the buffer (equal while :math:`\eta`
    is constant). Weight decay skips parameters with ``decay=False`` (biases).

    State per parameter: ``b`` (with momentum only).
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = check_fraction("momentum value", momentum)
        self.weight_decay = check_non_negative("weight_decay value", weight_decay)
        if nesterov and self.momentum == 0:
            raise InvalidValueError("Nesterov momentum needs momentum > 0")
        self.nesterov = bool(nesterov)

    def init_state(self, p):
        return {"b": backend.xp.zeros_like(p.value)} if self.momentum else {}

    def update(self, p, state):
        xp = backend.xp
        g = self.l2_gradient(p)                            # g = grad + lambda w
        step = self.scratch(p, 1)
        if self.momentum:
            b = state["b"]
            b *= self.momentum                             # b = mu b + g
            b += g
            if self.nesterov:
                xp.multiply(b, self.momentum, out=step)    # g + mu b
                step += g
                g = step
            else:
                g = b
        xp.multiply(g, self.lr, out=step)                  # w = w - eta g
        p.value -= step
