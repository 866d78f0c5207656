"""What every optimiser shares: hyper-parameter checks and per-parameter state."""
import math

from ..errors import InvalidValueError


def check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be a finite number > 0)")
    return float(value)


def check_fraction(name, value):
    if not 0.0 <= value < 1.0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be in [0, 1))")
    return float(value)


class Optimizer:
    """Base class. ``step(params)`` updates ``value`` in place from ``grad``.

    State (momentum buffers...) lives in ``self.state``, a dict keyed by the parameter
    object and created lazily on the first step; frozen parameters are skipped.
    """

    def __init__(self, lr):
        self.lr = check_positive("learning rate", lr)
        self.state = {}
        self.iterations = 0

    def step(self, params):
        self.iterations += 1
        for p in params:
            if p.trainable:
                self.update(p)

    def update(self, p):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr})"
