"""Gradient clipping: bound the length of one step's gradient before the update."""
import math

from .. import backend
from .base import check_positive


def clip_grad_norm(params, max_norm):
    r"""Scale all trainable gradients together so their global L2 norm is at most ``max_norm``.

    .. math::
        \|g\| = \sqrt{\textstyle\sum_p \sum_i g_{p,i}^2}, \qquad
        c = \frac{\text{max\_norm}}{\|g\| + 10^{-6}}, \qquad
        g_p \leftarrow c\, g_p \ \text{ if } c < 1

    as ``torch.nn.utils.clip_grad_norm_``. One factor for every parameter keeps the
    gradient's direction and only shortens it, so a rare huge gradient (an exploding
    loss, a bad batch) cannot throw the weights far away. Call it between the backward
    pass and ``optimizer.step``. Frozen parameters are neither counted nor scaled.
    A NaN or infinite norm leaves the gradients untouched (scaling would only spread
    the NaN); the training loop stops on the non-finite loss that comes with it.

    Returns:
        float: the global norm before clipping (useful to log and to choose max_norm).
    """
    max_norm = check_positive("max_norm", max_norm)
    grads = [p.grad for p in params if p.trainable]
    total = math.sqrt(sum(float(backend.xp.vdot(g, g)) for g in grads))
    scale = max_norm / (total + 1e-6)
    if math.isfinite(total) and scale < 1.0:
        for g in grads:
            g *= scale
    return total
