"""The fully connected layer: the weighted sum of the notes."""
import numpy as np

from .. import backend, init as initializers
from ..errors import InvalidValueError, ShapeError
from ..parameter import Parameter
from .base import Layer, explicit_values


class Dense(Layer):
    r"""Weighted sum with bias: :math:`a = W h + b`.

    ``W`` has shape ``(n_out, n_in)``: row ``j`` holds the weights into neuron ``j``
    (the notes' :math:`w_{ji}`, as in PyTorch). With batches as rows the layer
    computes ``X @ W.T + b``.

    Backward, for ``delta = dL/da`` of shape ``(batch, n_out)``:
    :math:`\partial L/\partial W = \delta^T X`, :math:`\partial L/\partial b = \sum_n \delta_n`,
    :math:`\partial L/\partial X = \delta W` (the notes' :math:`\sum_k \delta_k w_{kj}`).

    Args:
        n_in, n_out: number of input and output neurons.
        weight, bias: explicit initial values (``bias`` may be a scalar shared by all
            neurons, as the notes' ``b1 = 0.35``); they override ``init``.
        init: initialiser name (see ``chainrule.init``), callable or constant.
        train_bias: ``False`` freezes the bias (the notes' 2-2-2 example).
        dtype: ``"float32"`` (default) or ``"float64"``.
        seed: int or ``numpy.random.Generator`` for the random initial weights.

    Shape:
        input ``(batch, n_in)``, output ``(batch, n_out)``.
    """

    def __init__(self, n_in, n_out, weight=None, bias=None, init="xavier", train_bias=True,
                 dtype="float32", seed=None):
        for name, n in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise InvalidValueError(f"Dense: {name} must be a positive integer, got {n!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.init = init
        dt = backend.dtype(dtype)
        if weight is None:
            w = self._draw(backend.rng(seed), dt)
        else:
            w = explicit_values(self._name(), "weight", weight, (self.n_out, self.n_in), dt,
                                " (row = receiving neuron)")
        b = explicit_values(self._name(), "bias", 0.0 if bias is None else bias, (self.n_out,), dt)
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(b, "bias", trainable=train_bias, decay=False)
        self._x = None

    def _draw(self, rng, dt):
        return initializers.get(self.init)((self.n_out, self.n_in), self.n_in, self.n_out, rng, dt)

    def reset_parameters(self, rng):
        """Re-draw the weights with this layer's initialiser and zero the bias (restarts).

        Layers built from explicit weights re-draw with ``init`` (Xavier by default).
        """
        self.weight.value[...] = self._draw(rng, self.dtype)
        self.bias.value[...] = 0

    def _name(self):
        return f"Dense({self.n_in}, {self.n_out})"

    @property
    def dtype(self):
        return self.weight.value.dtype

    def forward(self, x, training=False):
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ShapeError(f"Dense({self.n_in}, {self.n_out}) expects input of shape "
                             f"(batch, {self.n_in}), got {tuple(x.shape)}")
        w = self.weight.value
        if x.dtype != w.dtype:
            backend.check_same_dtype(f"Dense({self.n_in}, {self.n_out}) input", w.dtype, x.dtype)
        self._x = x
        out = x @ w.T
        out += self.bias.value
        return out

    def backward(self, grad_out):
        self.backward_params(grad_out)
        return grad_out @ self.weight.value     # dL/dh_i = sum_j delta_j w_ji

    def backward_params(self, grad_out):
        # dL/dW[j, i] = sum over the batch of delta_j * h_i: one matrix product.
        if self.needs_gradient(self.weight):
            backend.xp.matmul(grad_out.T, self._x, out=self.weight.grad)
        if self.needs_gradient(self.bias):
            backend.xp.add.reduce(grad_out, axis=0, out=self.bias.grad)  # ndarray.sum, leaner

    def parameters(self):
        return [self.weight, self.bias]

    def config(self):
        return {"n_in": self.n_in, "n_out": self.n_out, "train_bias": self.bias.trainable}

    def output_size(self, n_in):
        if n_in != self.n_in:
            raise ShapeError(f"Dense({self.n_in}, {self.n_out}) cannot follow a layer with "
                             f"{n_in} outputs")
        return self.n_out

    def extra_repr(self):
        frozen = ", train_bias=False" if not self.bias.trainable else ""
        return f"{self.n_in}, {self.n_out}{frozen}"
