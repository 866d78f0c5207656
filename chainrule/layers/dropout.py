"""Dropout: switch random units off in training, so none can rely on another."""
import contextlib
import numbers

from .. import backend
from ..errors import InvalidValueError
from .base import Layer


class Dropout(Layer):
    r"""Inverted dropout: :math:`h' = h \odot m / (1-p)`, :math:`m_i \sim \text{Bernoulli}(1-p)`.

    In training each unit is kept with probability :math:`1-p` and the kept ones are
    scaled by :math:`1/(1-p)`, so the expected output equals the input and evaluation
    (``training=False``) is the plain identity: nothing to rescale at test time.
    Backward multiplies by the same scaled mask: :math:`\partial L/\partial h =
    g \odot m / (1-p)`.

    Masks come from this layer's own generator when ``seed`` is given (a run is then
    reproducible whatever else draws), otherwise from the global one of
    :func:`chainrule.backend.rng`, looked up at each draw so ``backend.seed`` applies.
    Inside ``with layer.freeze():`` the last mask is reused, which makes the training
    forward deterministic for gradient checks.

    Args:
        p: probability of dropping a unit, in [0, 1).
        seed: int or ``numpy.random.Generator`` for the masks (None: the global one).

    Shape:
        input any shape, output the same shape.
    """

    def __init__(self, p=0.5, seed=None):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise InvalidValueError(f"dropout p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = None if seed is None else backend.rng(seed)
        self.mask = None        # last scaled mask drawn (0 or 1/(1-p)); reused when frozen
        self._frozen = False
        self._applied = None    # the mask the last forward used; None: it was the identity

    def forward(self, x, training=False):
        if not training or self.p == 0.0:
            self._applied = None
            return x
        if not (self._frozen and self._fits(x)):
            self.mask = self._draw(x)
        self._applied = self.mask
        return x * self.mask

    def backward(self, grad_out):
        return grad_out if self._applied is None else grad_out * self._applied

    def _draw(self, x):
        # One uniform draw, one comparison, and the scale folded into the same pass.
        rng = self._rng if self._rng is not None else backend.rng()
        keep = backend.asarray(rng.random(x.shape, dtype=x.dtype)) >= self.p
        return backend.xp.multiply(keep, 1.0 / (1.0 - self.p), dtype=x.dtype)

    def _fits(self, x):
        return self.mask is not None and self.mask.shape == x.shape and self.mask.dtype == x.dtype

    @contextlib.contextmanager
    def freeze(self):
        """Reuse the last mask (drawing one first if there is none for this input shape)."""
        before, self._frozen = self._frozen, True
        try:
            yield self
        finally:
            self._frozen = before

    def config(self):
        return {"p": self.p}

    def extra_repr(self):
        return f"p={self.p}"
