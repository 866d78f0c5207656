r"""Activation functions, each with its derivative written right under it.

They hold no parameters and work in whatever precision they are given.
"""
import functools

import numpy as np

from .. import backend
from ..errors import InvalidValueError
from .base import Layer


@functools.cache
def _expit():
    from scipy.special import expit  # on first use: importing SciPy takes 0.2 s

    return expit


class Sigmoid(Layer):
    r""":math:`\sigma(a) = 1/(1+e^{-a})`; backward :math:`\sigma(a)(1-\sigma(a))`.

    Computed by SciPy's ``expit``, one pass that never overflows (elsewhere than
    on NumPy, as fractions of :math:`e^{-|a|}`, which never overflow either).
    """

    def forward(self, x, training=False):
        self.logits = x  # kept for a loss that fuses with this layer
        xp = backend.xp
        if xp is np:
            self._out = _expit()(x)
        else:
            e = xp.exp(-xp.abs(x))
            self._out = xp.where(x >= 0, 1.0, e) / (1.0 + e)
        return self._out

    def backward(self, grad_out):
        out = self._out
        return grad_out * out * (1.0 - out)


class Tanh(Layer):
    r""":math:`\tanh(a)`; backward :math:`1 - \tanh^2(a)`."""

    def forward(self, x, training=False):
        self._out = backend.xp.tanh(x)
        return self._out

    def backward(self, grad_out):
        return grad_out * (1.0 - self._out * self._out)


class ReLU(Layer):
    r""":math:`\max(0, a)`; backward 1 where :math:`a > 0`, else 0."""

    def forward(self, x, training=False):
        self._out = backend.xp.maximum(x, 0)
        return self._out

    def backward(self, grad_out):
        return grad_out * (self._out > 0)


class LeakyReLU(Layer):
    r""":math:`a` for :math:`a > 0`, else :math:`s\,a`; backward 1 or :math:`s`."""

    def __init__(self, slope=0.01):
        if not 0 <= slope < 1:
            raise InvalidValueError(f"LeakyReLU: slope must be in [0, 1), got {slope}")
        self.slope = float(slope)

    def forward(self, x, training=False):
        self._positive = x > 0
        return backend.xp.where(self._positive, x, x * self.slope)

    def backward(self, grad_out):
        return backend.xp.where(self._positive, grad_out, grad_out * self.slope)

    def config(self):
        return {"slope": self.slope}

    def extra_repr(self):
        return f"slope={self.slope}"


class Softmax(Layer):
    r""":math:`p_k = e^{a_k} / \sum_j e^{a_j}` over each row.

    Backward (the Jacobian :math:`\partial p_k/\partial a_j = p_k(\delta_{kj} - p_j)`
    applied to ``g``): :math:`p \odot (g - \sum_k g_k p_k)`. When a ``CrossEntropy``
    loss follows, training skips this and uses the fused gradient ``p - y``.
    """

    def forward(self, x, training=False):
        xp = backend.xp
        self.logits = x  # kept for a loss that fuses with this layer
        e = xp.exp(x - x.max(axis=-1, keepdims=True))  # shift: no overflow, same result
        e /= e.sum(axis=-1, keepdims=True)
        self._out = e
        return e

    def backward(self, grad_out):
        p = self._out
        return p * (grad_out - (grad_out * p).sum(axis=-1, keepdims=True))


class Identity(Layer):
    """:math:`g(a) = a`, the output of a regression network."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_out):
        return grad_out


# The name each activation is written with (in repr, traces and model summaries).
NAMES = {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu", LeakyReLU: "leaky_relu",
         Softmax: "softmax", Identity: "identity"}

ACTIVATIONS = {
    "sigmoid": Sigmoid, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU,
    "leaky_relu": LeakyReLU, "softmax": Softmax, "identity": Identity, "linear": Identity,
}
