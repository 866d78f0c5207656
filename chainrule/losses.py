r"""Losses: ``forward(pred, target)`` returns the batch loss, ``backward()`` dL/dpred.

All losses average over the batch (the ``1/m`` of the notes), so the learning rate
does not depend on the batch size. Targets are validated once by
``prepare_target`` (the training loop does it for the whole data set); calling
``forward`` directly validates every time.

When a loss meets the output activation it pairs with (``CrossEntropy`` after
``Softmax``, ``BinaryCrossEntropy`` after ``Sigmoid``), training computes the loss
from the activation's input (the logits) and returns the fused gradient
:math:`(p - y)/m` directly: no overflow for logits of +-1000 and no division by
a probability that underflowed to 0.
"""
import numpy as np

from . import backend
from .errors import InvalidValueError, ShapeError, unknown
from .layers.activations import Sigmoid, Softmax


def _as_2d(target, n_out, what):
    if target.ndim == 1 and n_out == 1:
        return target.reshape(-1, 1)
    if target.ndim != 2 or target.shape[1] != n_out:
        raise ShapeError(f"{what}: targets must have shape (batch, {n_out})"
                         f"{' or (batch,)' if n_out == 1 else ''}, got {tuple(target.shape)}")
    return target


def _as_array(target, what):
    """``target`` as an array (a NumPy or backend array passes through unchanged)."""
    if hasattr(target, "dtype"):
        return target
    try:
        return np.asarray(target)
    except ValueError:  # ragged nested lists
        raise InvalidValueError(f"{what}: targets must be a rectangular array of numbers, "
                                f"got rows of different lengths") from None


def _as_numbers(target, what):
    """``target`` as an array of real numbers (bool, integer or float), or a clear error.

    Strings, objects and complex numbers are refused rather than cast: NumPy would drop
    an imaginary part with only a warning, and fail on "a" with a message about floats.
    """
    target = _as_array(target, what)
    if target.dtype.kind not in "biuf":
        raise InvalidValueError(f"{what}: targets must be real numbers, got dtype "
                                f"{target.dtype}")
    return target


def _check_finite(target, what):
    if not np.all(np.isfinite(backend.to_numpy(target))):
        raise InvalidValueError(f"{what}: targets contain NaN or inf")


class Loss:
    """Base class. ``fuses_with`` names the output activation whose gradient folds in."""

    fuses_with = None

    def prepare_target(self, target, n_out, dtype):
        """Validate targets once and convert them to what ``_forward`` expects."""
        raise NotImplementedError

    def forward(self, pred, target):
        self._check_pred(pred)
        return self._forward(pred, self.prepare_target(target, pred.shape[1], pred.dtype))

    def _check_pred(self, pred):
        if pred.ndim != 2:
            raise ShapeError(f"{type(self).__name__}: predictions must have shape "
                             f"(batch, outputs), got {tuple(pred.shape)}")
        if len(pred) == 0:
            raise InvalidValueError(f"{type(self).__name__}: the batch is empty; the mean loss "
                                    f"of zero samples is undefined")

    def _check_batch(self, pred, target):
        if len(pred) != len(target):
            raise ShapeError(f"{type(self).__name__}: {len(pred)} predictions but "
                             f"{len(target)} targets")

    def __repr__(self):
        return f"{type(self).__name__}()"


class _RealTargets(Loss):
    """Losses whose targets are real numbers, one per output."""

    def prepare_target(self, target, n_out, dtype):
        what = type(self).__name__
        target = _as_2d(backend.asarray(_as_numbers(target, what), dtype), n_out, what)
        _check_finite(target, what)
        return target


class SquaredError(_RealTargets):
    r"""Per sample :math:`E = \sum_k \tfrac12 (o_k - t_k)^2`, averaged over the batch.

    The notes' ``E_total``. Gradient :math:`(o - t)/m`.
    """

    def _forward(self, pred, target):
        self._check_batch(pred, target)
        self._diff = pred - target
        return float(0.5 * (self._diff * self._diff).sum() / len(pred))

    def backward(self):
        return self._diff / len(self._diff)


class MSE(_RealTargets):
    r"""Mean over samples and outputs of :math:`(o - t)^2`; gradient :math:`2(o-t)/(mk)`."""

    def _forward(self, pred, target):
        self._check_batch(pred, target)
        self._diff = pred - target
        return float((self._diff * self._diff).mean())

    def backward(self):
        return self._diff * (2.0 / self._diff.size)


class BinaryCrossEntropy(_RealTargets):
    r"""Per sample :math:`-\sum_k [t_k \ln p_k + (1-t_k)\ln(1-p_k)]`, batch mean.

    Seed 003's :math:`E(w)` without the penalty. Targets in [0, 1].
    Gradient :math:`(p - t) / (p(1-p)m)`; fused with a Sigmoid: :math:`(p - t)/m`.
    """

    fuses_with = Sigmoid

    def prepare_target(self, target, n_out, dtype):
        target = super().prepare_target(target, n_out, dtype)
        if target.size and (target.min() < 0 or target.max() > 1):
            raise InvalidValueError("BinaryCrossEntropy: targets must lie in [0, 1], got values "
                                    f"from {float(target.min())} to {float(target.max())}")
        return target

    def _forward(self, pred, target):
        self._check_batch(pred, target)
        eps = np.finfo(pred.dtype).eps
        self._p = backend.xp.clip(pred, eps, 1 - eps)
        self._t = target
        xp = backend.xp
        terms = target * xp.log(self._p) + (1 - target) * xp.log1p(-self._p)
        return float(-terms.sum() / len(pred))

    def backward(self):
        p = self._p
        return (p - self._t) / (p * (1 - p) * len(p))

    def fused_forward(self, logits, probs, target):
        # ln(1 + e^z) - t z = -[t ln p + (1-t) ln(1-p)] for p = sigmoid(z), without overflow.
        self._check_batch(logits, target)
        self._p, self._t = probs, target
        terms = backend.xp.logaddexp(0, logits) - target * logits
        return float(terms.sum() / len(logits))

    def fused_backward(self):
        return (self._p - self._t) / len(self._p)


class CrossEntropy(Loss):
    r"""Per sample :math:`-\sum_k y_k \ln p_k`, batch mean.

    Targets: class indices ``(batch,)`` or one-hot/probability rows ``(batch, k)``.
    Gradient :math:`-y/(p\,m)`; fused with a Softmax: :math:`(p - y)/m`.
    """

    fuses_with = Softmax

    def prepare_target(self, target, n_out, dtype):
        t = backend.to_numpy(_as_array(target, "CrossEntropy"))
        if t.ndim == 2 and t.shape[1] == 1 and n_out > 1:
            t = t.reshape(-1)
        if t.ndim == 1:
            return backend.asarray(self._labels(t, n_out))
        if t.ndim != 2 or t.shape[1] != n_out:
            raise ShapeError(f"CrossEntropy: targets must be class indices of shape (batch,) or "
                             f"one-hot rows of shape (batch, {n_out}), got {t.shape}")
        _as_numbers(t, "CrossEntropy")
        _check_finite(t, "CrossEntropy")
        sums = t.sum(axis=1)
        if t.size and (t.min() < 0 or not np.allclose(sums, 1.0, atol=1e-6)):
            bad = int(np.argmax(np.abs(sums - 1.0) + (t.min(axis=1) < 0)))
            raise InvalidValueError(f"CrossEntropy: one-hot target rows must be non-negative and "
                                    f"sum to 1; row {bad} is {t[bad].tolist()}")
        return backend.asarray(t, dtype)

    @staticmethod
    def _labels(t, n_out):
        if t.dtype.kind not in "iub":
            if t.dtype.kind != "f" or not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                bad = t[~(np.isfinite(t) & (t == np.round(t)))] if t.dtype.kind == "f" else t
                raise InvalidValueError(f"CrossEntropy: class labels must be integers 0..{n_out - 1}"
                                        f", got {bad[:3].tolist()}")
        labels = t.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            bad = labels[(labels < 0) | (labels >= n_out)]
            raise InvalidValueError(f"CrossEntropy: class labels must lie in 0..{n_out - 1} for a "
                                    f"network with {n_out} outputs, got {bad[:3].tolist()}")
        return labels

    def _forward(self, pred, target):
        self._check_batch(pred, target)
        xp = backend.xp
        tiny = np.finfo(pred.dtype).tiny
        self._p, self._t = pred, target
        if target.ndim == 1:
            picked = pred[xp.arange(len(pred)), target]
            return float(-xp.log(xp.maximum(picked, tiny)).sum() / len(pred))
        return float(-(target * xp.log(xp.maximum(pred, tiny))).sum() / len(pred))

    def backward(self):
        xp = backend.xp
        p, t, m = self._p, self._t, len(self._p)
        safe = xp.maximum(p, np.finfo(p.dtype).tiny)
        if t.ndim == 1:
            grad = xp.zeros_like(p)
            rows = xp.arange(m)
            grad[rows, t] = -1.0 / (safe[rows, t] * m)
            return grad
        return -t / (safe * m)

    def fused_forward(self, logits, probs, target):
        # ln p_k = a_k - logsumexp(a): exact and finite for any finite logits.
        self._check_batch(logits, target)
        xp = backend.xp
        self._p, self._t = probs, target
        top = logits.max(axis=1, keepdims=True)
        lse = (top + xp.log(xp.exp(logits - top).sum(axis=1, keepdims=True)))[:, 0]
        if target.ndim == 1:
            picked = logits[xp.arange(len(logits)), target]
            return float((lse - picked).sum() / len(logits))
        return float((target.sum(axis=1) * lse - (target * logits).sum(axis=1)).sum() / len(logits))

    def fused_backward(self):
        p, t, m = self._p, self._t, len(self._p)
        grad = p.copy()
        if t.ndim == 1:
            grad[backend.xp.arange(m), t] -= 1.0
        else:
            grad -= t
        grad /= m
        return grad


class Penalty:
    """A weight penalty added to the loss: global, or on the weights of chosen layers only.

    ``layers`` holds layer indices of the Sequential (None = every layer). Biases and
    other parameters with ``decay=False`` are never penalised.
    """

    def __init__(self, lam, layers=None):
        if not lam >= 0:
            raise InvalidValueError(f"{type(self).__name__}: lambda must be >= 0, got {lam}")
        self.lam = float(lam)
        self.layers = None if layers is None else tuple(int(i) for i in layers)

    def select(self, net):
        """The parameters of ``net`` this penalty applies to."""
        chosen = range(len(net.layers)) if self.layers is None else self.layers
        for i in chosen:
            if not 0 <= i < len(net.layers):
                raise InvalidValueError(f"{self!r}: the network has no layer {i} "
                                        f"(it has {len(net.layers)})")
        return [p for i in chosen for p in net.layers[i].parameters() if p.decay]

    def __repr__(self):
        where = "" if self.layers is None else f", layers={list(self.layers)}"
        return f"{type(self).__name__}({self.lam}{where})"


class L2(Penalty):
    r"""Weight penalty of seed 003: :math:`\frac{\lambda}{2m}\sum w^2` over the weights (not
    biases), :math:`m` = examples in the batch. Its gradient is :math:`\frac{\lambda}{m} w`
    (the slide prints :math:`\frac{\lambda}{2m} w`: an erratum)."""

    def value(self, params, m):
        total = sum(float((p.value * p.value).sum()) for p in params if p.decay)
        return self.lam / (2 * m) * total

    def add_grad(self, params, m):
        for p in params:
            if p.decay:
                p.grad += (self.lam / m) * p.value


class L1(Penalty):
    r""":math:`\frac{\lambda}{m}\sum |w|` over the weights; gradient
    :math:`\frac{\lambda}{m}\operatorname{sign}(w)` (0 at w = 0). Drives weights to exactly 0."""

    def value(self, params, m):
        return self.lam / m * sum(float(backend.xp.abs(p.value).sum()) for p in params if p.decay)

    def add_grad(self, params, m):
        for p in params:
            if p.decay:
                p.grad += (self.lam / m) * backend.xp.sign(p.value)


LOSSES = {
    "squared_error": SquaredError, "mse": MSE, "binary_cross_entropy": BinaryCrossEntropy,
    "bce": BinaryCrossEntropy, "cross_entropy": CrossEntropy,
}


def get(loss):
    """A loss from an instance or a name (``"cross_entropy"``, ``"mse"``...)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]()
    raise unknown("loss", str(loss), LOSSES)
