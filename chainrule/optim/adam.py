"""Adam and AdamW: momentum and RMSProp's scaling, with bias correction."""
import math

import numpy as np

from .. import backend
from . import kernels
from .base import Optimizer, check_fraction, check_non_negative, check_positive


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015) as ``torch.optim.Adam``.

    A running mean :math:`m` of the gradient (momentum) divided by the root of a running
    mean :math:`v` of its square (RMSProp); both start at zero, so early steps are
    divided by :math:`1 - \beta^t` to remove that bias. With learning rate :math:`\eta`
    and (L2, coupled) weight decay :math:`\lambda`, step :math:`t = 1, 2, \dots` is

    .. math::
        g_t &= \nabla_w L + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\, g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\, g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t) \\
        \hat v_t &= v_t / (1 - \beta_2^t)
            \quad\text{or, AMSGrad,}\quad
            v^{\max}_t = \max(v^{\max}_{t-1}, v_t),\ \ \hat v_t = v^{\max}_t / (1 - \beta_2^t) \\
        w_t &= w_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    element-wise. The code computes the last line as torch does,
    :math:`w_t = w_{t-1} - \frac{\eta}{1 - \beta_1^t}\,
    \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}`, which is the same number
    up to rounding. :math:`t` counts the steps of each parameter (a parameter frozen
    for a while starts its own count when it first trains). Weight decay skips
    parameters with ``decay=False``; for decay that is not scaled by :math:`\hat v`,
    use :class:`AdamW`.

    State per parameter: ``step`` (:math:`t`), ``m``, ``v``; ``v_max`` (AMSGrad).
    """

    decoupled = False  # weight decay added to the gradient (Adam) or to the weights (AdamW)

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(lr)
        self.beta1 = check_fraction("beta1 parameter", beta1)
        self.beta2 = check_fraction("beta2 parameter", beta2)
        self.eps = check_positive("epsilon value", eps)
        self.weight_decay = check_non_negative("weight_decay value", weight_decay)
        self.amsgrad = bool(amsgrad)

    def init_state(self, p):
        zeros = backend.xp.zeros_like
        state = {"step": np.zeros((), dtype=np.int64),  # on the host, even on a GPU
                 "m": zeros(p.value), "v": zeros(p.value)}
        if self.amsgrad:
            state["v_max"] = zeros(p.value)
        return state

    def update(self, p, state):
        xp = backend.xp
        beta1, beta2 = self.beta1, self.beta2
        if self.decoupled:
            if self.weight_decay and p.decay:
                p.value *= 1 - self.lr * self.weight_decay   # w = w (1 - eta lambda)
            g = p.grad
        else:
            g = self.l2_gradient(p)                          # g = grad + lambda w
        state["step"] += 1
        t = int(state["step"])
        bias1 = 1 - beta1 ** t
        bias2 = 1 - beta2 ** t
        m, v = state["m"], state["v"]
        kernel = None if self.amsgrad else kernels.get("adam", p.value, g, m, v)
        if kernel is not None:  # the lines below in one pass (same arithmetic, same bits)
            f = p.value.dtype.type
            kernel(p.value.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), f(beta1),
                   f(beta2), f(1 - beta1), f(1 - beta2), f(math.sqrt(bias2)), f(self.eps),
                   f(self.lr / bias1))
            return
        step = self.scratch(p, 1)
        m *= beta1                                   # m = beta1 m + (1 - beta1) g
        xp.multiply(g, 1 - beta1, out=step)
        m += step
        v *= beta2                                   # v = beta2 v + (1 - beta2) g^2
        xp.multiply(g, g, out=step)
        step *= 1 - beta2
        v += step
        if self.amsgrad:
            v = xp.maximum(state["v_max"], v, out=state["v_max"])   # v_max = max(v_max, v)
        xp.sqrt(v, out=step)                         # sqrt(v) / sqrt(1 - beta2^t) + eps
        step /= math.sqrt(bias2)
        step += self.eps
        xp.divide(m, step, out=step)                 # w = w - eta / (1 - beta1^t) m / ...
        step *= self.lr / bias1
        p.value -= step


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    In :class:`Adam` the decay term :math:`\lambda w` passes through the division by
    :math:`\sqrt{\hat v}`, so weights with large gradients are barely decayed. AdamW
    shrinks the weights directly, before an Adam step without decay:

    .. math::
        w_{t-1}' &= w_{t-1}\,(1 - \eta\lambda) \\
        w_t &= w_{t-1}' - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`\hat m_t, \hat v_t` from the plain gradient exactly as in :class:`Adam`
    (AMSGrad included). Parameters with ``decay=False`` (biases) are not shrunk.

    State per parameter: ``step``, ``m``, ``v``; ``v_max`` (AMSGrad).
    """

    decoupled = True

    def __init__(self, lr, weight_decay=0.01, beta1=0.9, beta2=0.999, eps=1e-8, amsgrad=False):
        super().__init__(lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
