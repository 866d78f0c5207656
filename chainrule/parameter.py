"""Parameter: a trainable array and its gradient."""
from . import backend


class Parameter:
    """An array the optimiser may change.

    ``value`` is updated in place by optimisers; ``grad`` is overwritten by each
    backward pass (never accumulated, so there is no ``zero_grad``). A parameter
    with ``trainable=False`` (the frozen biases of the notes' 2-2-2 example) is
    skipped by every optimiser. Its gradient is still computed by a backward pass, for
    traces and gradient checks, but not during ``fit``, where nothing reads it: there
    it reads as zero (``Layer.frozen_gradients``). ``decay`` says
    whether weight penalties (L2) apply: weights yes, biases no.
    """

    __slots__ = ("value", "grad", "name", "trainable", "decay")

    def __init__(self, value, name="", trainable=True, decay=True):
        self.value = value
        self.grad = backend.xp.zeros_like(value)
        self.name = name
        self.trainable = trainable
        self.decay = decay

    @property
    def shape(self):
        return self.value.shape

    @property
    def dtype(self):
        return self.value.dtype

    def __repr__(self):
        frozen = "" if self.trainable else ", frozen"
        return f"Parameter({self.name!r}, shape={tuple(self.shape)}, {self.dtype}{frozen})"
