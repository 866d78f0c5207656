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
    total = math.sqrt(squared_norm(params))
    scale_grads(params, clip_factor(total, max_norm))
    return total


# The three steps of clip_grad_norm, for gradients held in several places (pipeline
# stages): each sums its squares, one factor is chosen from the total, each scales.
def squared_norm(params):
    """The sum of the squares of the trainable gradients."""
    return sum(float(backend.xp.vdot(p.grad, p.grad)) for p in params if p.trainable)


def clip_factor(norm, max_norm):
    """What clipping to ``max_norm`` multiplies gradients of global ``norm`` by: None when
    they stay as they are (short enough, or a NaN/inf norm)."""
    factor = max_norm / (norm + 1e-6)
    return factor if math.isfinite(norm) and factor < 1.0 else None


def scale_grads(params, factor):
    """Multiply the trainable gradients by ``factor`` (None: leave them)."""
    if factor is not None:
        for p in params:
            if p.trainable:
                p.grad *= factor
