"""Batch normalisation: each feature rescaled to zero mean and unit variance, then learned back."""
import numbers

import numpy as np

from .. import backend
from ..errors import InvalidValueError, ShapeError
from ..parameter import Parameter
from .base import Layer


class BatchNorm(Layer):
    r"""Normalise each of ``n`` features over the batch, then scale and shift.

    Training, over a batch of :math:`m` rows, per feature:

    .. math::
        \mu = \frac1m \sum_n x_n, \qquad \sigma^2 = \frac1m \sum_n (x_n - \mu)^2, \qquad
        \hat x_n = \frac{x_n - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad
        y_n = \gamma \hat x_n + \beta.

    :math:`\sigma^2` is the biased (1/m) variance the batch is normalised with. The
    running estimates used in evaluation follow PyTorch:
    :math:`r \leftarrow (1 - \text{momentum})\, r + \text{momentum}\; s`, with the batch
    mean for ``running_mean`` and the unbiased variance :math:`\frac{m}{m-1}\sigma^2`
    for ``running_var``. Evaluation (``training=False``) uses them in place of
    :math:`\mu, \sigma^2`, so a prediction does not depend on the other rows.

    Backward, for :math:`g = \partial L/\partial y` and :math:`\bar{\cdot}` the batch mean:
    :math:`\partial L/\partial\beta = \sum_n g_n`,
    :math:`\partial L/\partial\gamma = \sum_n g_n \hat x_n`, and, because every
    :math:`x_n` also moves :math:`\mu` and :math:`\sigma^2`,

    .. math::
        \frac{\partial L}{\partial x_n} = \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}
        \Big(g_n - \overline{g} - \hat x_n\, \overline{g \hat x}\Big).

    (The three terms: the direct path through :math:`\hat x_n`, the path through
    :math:`\mu`, and the path through :math:`\sigma^2`, which simplifies because
    :math:`\sum_n \hat x_n = 0`.) After an evaluation forward the statistics are
    constants and the input gradient is just :math:`\gamma g / \sqrt{r_{var} + \epsilon}`.

    Args:
        n: number of features (the width of the layer before).
        momentum: weight of the newest batch in the running statistics, in [0, 1].
        eps: added to the variance before the square root, > 0.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Shape:
        input ``(batch, n)``, output ``(batch, n)``; training needs ``batch >= 2``.
    """

    batch_statistics = True  # needs two or more examples per training batch

    def __init__(self, n, momentum=0.1, eps=1e-5, dtype="float32"):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise InvalidValueError(f"BatchNorm: n must be a positive integer, got {n!r}")
        if not _real(momentum) or not 0 <= momentum <= 1:
            raise InvalidValueError(f"BatchNorm: momentum must be in [0, 1], got {momentum!r}")
        if not _real(eps) or not eps > 0 or not np.isfinite(eps):
            raise InvalidValueError(f"BatchNorm: eps must be a positive number, got {eps!r}")
        self.n, self.momentum, self.eps = int(n), float(momentum), float(eps)
        dt = backend.dtype(dtype)
        xp = backend.xp
        # Scale and shift are not penalised by weight decay: they set the layer's range.
        self.gamma = Parameter(xp.ones(self.n, dtype=dt), "weight", decay=False)
        self.beta = Parameter(xp.zeros(self.n, dtype=dt), "bias", decay=False)
        self.running_mean = xp.zeros(self.n, dtype=dt)
        self.running_var = xp.ones(self.n, dtype=dt)
        self._xhat = self._scale = None

    @property
    def dtype(self):
        return self.gamma.value.dtype

    def forward(self, x, training=False):
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ShapeError(f"BatchNorm({self.n}) expects input of shape (batch, {self.n}), "
                             f"got {tuple(x.shape)}")
        if x.dtype != self.dtype:
            backend.check_same_dtype(f"BatchNorm({self.n}) input", self.dtype, x.dtype)
        xp = backend.xp
        if training:
            m = x.shape[0]
            if m < 2:
                raise ShapeError(f"BatchNorm({self.n}) needs at least 2 samples per batch in "
                                 f"training (the variance of one sample is 0), got {m}; use "
                                 f"a larger batch_size, one that leaves no last batch of 1")
            mean = x.mean(axis=0)
            centred = x - mean
            var = (centred * centred).mean(axis=0)
            self._update_running(mean, var * (m / (m - 1)))
        else:
            centred = x - self.running_mean
            var = self.running_var
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        self._training = training
        self._xhat = centred * inv_std
        self._scale = self.gamma.value * inv_std  # gamma / sqrt(var + eps), the slope in x
        return self._xhat * self.gamma.value + self.beta.value

    def backward(self, grad_out):
        xhat = self._xhat
        grad_out.sum(axis=0, out=self.beta.grad)
        (grad_out * xhat).sum(axis=0, out=self.gamma.grad)
        if not self._training:
            return grad_out * self._scale
        m = grad_out.shape[0]
        # gamma/std * (g - mean(g) - xhat * mean(g * xhat)); the two means are the
        # parameter gradients just computed, divided by m.
        return self._scale * (grad_out - self.beta.grad / m - xhat * (self.gamma.grad / m))

    def _update_running(self, mean, unbiased_var):
        keep = 1.0 - self.momentum
        self.running_mean *= keep
        self.running_mean += self.momentum * mean
        self.running_var *= keep
        self.running_var += self.momentum * unbiased_var

    def parameters(self):
        return [self.gamma, self.beta]

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def config(self):
        return {"n": self.n, "momentum": self.momentum, "eps": self.eps}

    def output_size(self, n_in):
        if n_in != self.n:
            raise ShapeError(f"BatchNorm({self.n}) cannot follow a layer with {n_in} outputs")
        return self.n

    def extra_repr(self):
        # Only what differs from the defaults, so the line stays as short as Dense's.
        extra = "" if self.momentum == 0.1 else f", momentum={self.momentum}"
        extra += "" if self.eps == 1e-5 else f", eps={self.eps}"
        return f"{self.n}{extra}"


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
