"""AdaGrad: a learning rate per weight that shrinks with its summed squared gradients."""
from .. import backend
from .base import Optimizer, check_non_negative, check_positive


class AdaGrad(Optimizer):
    r"""AdaGrad (Duchi et al., 2011) as ``torch.optim.Adagrad`` (without its ``lr_decay``).

    Weights with large past gradients take small steps, rarely updated ones large steps.
    With learning rate :math:`\eta` and weight decay :math:`\lambda`:

    .. math::
        g_t &= \nabla_w L + \lambda w_{t-1} \\
        G_t &= G_{t-1} + g_t^2 \qquad (G_0 = 0) \\
        w_t &= w_{t-1} - \eta\, \frac{g_t}{\sqrt{G_t} + \epsilon}

    element-wise. The effective rate only ever decreases, which is why AdaGrad suits
    convex problems better than long non-convex training (see :class:`RMSProp`).
    torch's ``lr_decay`` is left out: a schedule from ``chainrule.optim.schedules``
    does that job for every optimiser. Weight decay skips parameters with ``decay=False``.

    State per parameter: ``sum`` (:math:`G`).
    """

    def __init__(self, lr, eps=1e-10, weight_decay=0.0):
        super().__init__(lr)
        self.eps = check_positive("epsilon value", eps)
        self.weight_decay = check_non_negative("weight_decay value", weight_decay)

    def init_state(self, p):
        return {"sum": backend.xp.zeros_like(p.value)}

    def update(self, p, state):
        xp = backend.xp
        g = self.l2_gradient(p)                  # g = grad + lambda w
        G, step = state["sum"], self.scratch(p, 1)
        xp.multiply(g, g, out=step)              # G = G + g^2
        G += step
        xp.sqrt(G, out=step)                     # w = w - eta g / (sqrt(G) + eps)
        step += self.eps
        xp.divide(g, step, out=step)
        step *= self.lr
        p.value -= step
