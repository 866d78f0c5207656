"""RMSProp: divide each step by a running root-mean-square of recent gradients."""
from .. import backend
from .base import Optimizer, check_fraction, check_non_negative, check_positive


class RMSProp(Optimizer):
    r"""RMSProp (Hinton's lecture 6e) as ``torch.optim.RMSprop``, where ``rho`` is ``alpha``.

    Like AdaGrad, but the squared gradients are averaged with decay :math:`\rho`
    instead of summed, so the effective rate can recover. With learning rate
    :math:`\eta`, weight decay :math:`\lambda` and momentum :math:`\mu`:

    .. math::
        g_t &= \nabla_w L + \lambda w_{t-1} \\
        v_t &= \rho\, v_{t-1} + (1 - \rho)\, g_t^2 \qquad (v_0 = 0) \\
        \tilde v_t &= v_t
            \quad\text{or, centered,}\quad
            \bar g_t = \rho\, \bar g_{t-1} + (1 - \rho)\, g_t,\ \
            \tilde v_t = v_t - \bar g_t^2 \\
        w_t &= w_{t-1} - \eta\, \frac{g_t}{\sqrt{\tilde v_t} + \epsilon}
            \quad\text{or, with momentum,}\quad
            b_t = \mu\, b_{t-1} + \frac{g_t}{\sqrt{\tilde v_t} + \epsilon},\ \
            w_t = w_{t-1} - \eta\, b_t

    element-wise. Centering divides by an estimate of the gradient's variance rather
    than its second moment. Weight decay skips parameters with ``decay=False``.

    State per parameter: ``v``; ``g_avg`` (:math:`\bar g`, centered); ``b`` (momentum).
    """

    def __init__(self, lr, rho=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0):
        super().__init__(lr)
        self.rho = check_fraction("rho value", rho)
        self.eps = check_positive("epsilon value", eps)
        self.momentum = check_fraction("momentum value", momentum)
        self.centered = bool(centered)
        self.weight_decay = check_non_negative("weight_decay value", weight_decay)

    def init_state(self, p):
        zeros = backend.xp.zeros_like
        state = {"v": zeros(p.value)}
        if self.centered:
            state["g_avg"] = zeros(p.value)
        if self.momentum:
            state["b"] = zeros(p.value)
        return state

    def update(self, p, state):
        xp = backend.xp
        rho = self.rho
        g = self.l2_gradient(p)                      # g = grad + lambda w
        v, step = state["v"], self.scratch(p, 1)
        v *= rho                                     # v = rho v + (1 - rho) g^2
        xp.multiply(g, g, out=step)
        step *= 1 - rho
        v += step
        if self.centered:
            g_avg = state["g_avg"]
            g_avg *= rho                             # g_avg = rho g_avg + (1 - rho) g
            xp.multiply(g, 1 - rho, out=step)
            g_avg += step
            xp.multiply(g_avg, g_avg, out=step)      # sqrt(v - g_avg^2) + eps
            xp.subtract(v, step, out=step)
            xp.sqrt(step, out=step)
        else:
            xp.sqrt(v, out=step)                     # sqrt(v) + eps
        step += self.eps
        xp.divide(g, step, out=step)                 # g / (sqrt(v~) + eps)
        if self.momentum:
            b = state["b"]
            b *= self.momentum                       # b = mu b + g / (sqrt(v~) + eps)
            b += step
            xp.multiply(b, self.lr, out=step)        # w = w - eta b
        else:
            step *= self.lr                          # w = w - eta g / (sqrt(v~) + eps)
        p.value -= step
