"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from .base import Optimizer, check_fraction
from ..errors import InvalidValueError


class SGD(Optimizer):
    r"""Gradient descent: :math:`w \leftarrow w - \eta\, g`.

    With ``weight_decay`` :math:`\lambda`: :math:`g = \nabla_w L + \lambda w`.
    With ``momentum`` :math:`\mu` (as ``torch.optim.SGD``):

    .. math::
        b_t = \mu b_{t-1} + g_t \;(b_1 = g_1), \qquad
        w \leftarrow w - \eta\, b_t \quad\text{or, Nesterov,}\quad
        w \leftarrow w - \eta\,(g_t + \mu b_t).

    The notes' momentum :math:`\Delta w(t) = \eta\delta x + \alpha\Delta w(t-1)` is the
    same rule with the learning rate folded into the buffer.
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr)
        self.momentum = check_fraction("momentum", momentum)
        if weight_decay < 0:
            raise InvalidValueError(f"Invalid weight_decay: {weight_decay} (must be >= 0)")
        self.weight_decay = float(weight_decay)
        if nesterov and self.momentum == 0:
            raise InvalidValueError("Nesterov momentum needs momentum > 0")
        self.nesterov = bool(nesterov)

    def update(self, p):
        g = p.grad
        if self.weight_decay:
            g = g + self.weight_decay * p.value
        if self.momentum:
            buf = self.state.get(p)
            if buf is None:
                buf = self.state[p] = g.copy()
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p.value -= self.lr * g

    def __repr__(self):
        extra = f", momentum={self.momentum}" if self.momentum else ""
        extra += ", nesterov=True" if self.nesterov else ""
        extra += f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"SGD(lr={self.lr}{extra})"
