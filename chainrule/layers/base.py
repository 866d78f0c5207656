"""The layer protocol every layer follows."""
import contextlib

import numpy as np

from .. import backend
from ..errors import InvalidValueError, ShapeError


class Layer:
    """One stage of a network.

    ``forward(x, training)`` returns the output and keeps what ``backward`` needs;
    ``backward(grad_out)`` takes dL/d(output), stores the gradients of the layer's
    parameters in their ``grad`` and returns dL/d(input). Nothing is accumulated
    between steps: each forward overwrites what the previous one kept.

    ``config()`` returns the constructor's keyword arguments as plain JSON values,
    which is all a model file stores about a layer besides its arrays.

    ``buffers()`` returns the layer's non-trainable state (BatchNorm's running
    statistics): arrays no optimiser touches but a model file must keep, because
    evaluation depends on them. Each buffer is the layer attribute of the same name,
    and ``set_buffer`` replaces it (loading a file, converting the dtype).

    ``frozen_gradients`` says whether ``backward`` also computes the gradients of the
    layer's frozen parameters (``trainable=False``), which no optimiser reads: traces
    and gradient checks show them. ``fit`` turns it off while it trains (see
    :func:`frozen_gradients_in`).
    """

    frozen_gradients = True

    def forward(self, x, training=False):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def needs_gradient(self, p):
        """Whether ``backward`` computes parameter ``p``'s gradient (see above)."""
        return p.trainable or self.frozen_gradients

    def backward_params(self, grad_out):
        """Store the parameter gradients only: the bottom layer's input needs no gradient.

        Layers whose input gradient costs real work (Dense: a matrix product) skip it.
        """
        self.backward(grad_out)

    def parameters(self):
        return []

    def buffers(self):
        """Name -> array of the state saved with the model but never trained (none here)."""
        return {}

    def set_buffer(self, name, value):
        """Replace the buffer ``name`` by ``value`` (same meaning, possibly a new dtype)."""
        if name not in self.buffers():
            raise KeyError(f"{type(self).__name__} has no buffer {name!r}")
        setattr(self, name, value)

    def freeze(self):
        """A context manager holding the layer's random choices fixed (a no-op here).

        Layers that draw at random in training (Dropout) reuse their last draw inside
        it, so that a training-mode forward is a deterministic function of the weights:
        what a finite-difference gradient check needs.
        """
        return contextlib.nullcontext(self)

    def config(self):
        return {}

    def output_size(self, n_in):
        """Number of output features for ``n_in`` input features (same by default)."""
        return n_in

    def __getstate__(self):
        """Copies and pickles leave out what the last batch left behind.

        Private arrays (``_x``, ``_out``...) and ``logits`` belong to one step; keeping
        them would make a pickled model hold rows of the user's data.
        """
        return {k: v for k, v in self.__dict__.items() if not _is_step_cache(k, v)}

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def _is_step_cache(name, value):
    return (name.startswith("_") or name == "logits") and hasattr(value, "__array_interface__")


def explicit_values(owner, name, value, shape, dtype, layout=""):
    """A parameter array from values the user gave (a scalar fills it), checked for shape
    and NaN/inf; ``owner`` (``"Dense(2, 2)"``) and ``layout`` make the errors precise."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(shape, float(arr))
    if arr.shape != shape:
        raise ShapeError(f"{owner}: {name} must have shape {shape}{layout}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InvalidValueError(f"{owner}: {name} contains NaN or inf")
    return backend.asarray(arr, dtype)


def set_frozen_gradients(layers, compute):
    """Make ``layers`` compute the gradients of their frozen parameters (``compute=True``)
    or skip them; skipped ones read as zero, not as a stale value. Returns what each
    layer had set before (None: the class default)."""
    before = [vars(layer).get("frozen_gradients") for layer in layers]
    for layer in layers:
        layer.frozen_gradients = compute
        if not compute:
            for p in layer.parameters():
                if not p.trainable:
                    p.grad[...] = 0
    return before


@contextlib.contextmanager
def frozen_gradients_in(layers, compute):
    """:func:`set_frozen_gradients` within the block; the layers' settings come back after."""
    layers = list(layers)
    before = set_frozen_gradients(layers, compute)
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            if value is None:
                del layer.frozen_gradients
            else:
                layer.frozen_gradients = value
