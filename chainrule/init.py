r"""Weight initialisers.

Each initialiser is ``f(shape, fan_in, fan_out, rng, dtype) -> array``; ``get(name)``
maps the names users type to them. Random ones draw from the ``numpy.random.Generator``
passed in, so a seed fixes every weight.

- Xavier/Glorot (for sigmoid/tanh): Var(w) = 2 / (fan_in + fan_out);
  uniform on :math:`\pm\sqrt{6/(n_{in}+n_{out})}`.
- He/Kaiming (for ReLU): Var(w) = 2 / fan_in; uniform on :math:`\pm\sqrt{6/n_{in}}`.
- "small random values" of the notes: normal(0, 0.01^2) or uniform(-0.05, 0.05).
"""
import math

import numpy as np

from . import backend
from .errors import InvalidValueError, unknown


def _make(values, dtype):
    return backend.asarray(np.asarray(values), dtype)


def zeros(shape, fan_in, fan_out, rng, dtype):
    return backend.xp.zeros(shape, dtype=backend.dtype(dtype))


def constant(value):
    """An initialiser that fills with ``value`` (``init=cr.init.constant(0.5)``)."""

    def fill(shape, fan_in, fan_out, rng, dtype):
        return backend.xp.full(shape, value, dtype=backend.dtype(dtype))

    return fill


def normal(shape, fan_in, fan_out, rng, dtype, std=0.01):
    return _make(rng.normal(0.0, std, shape), dtype)


def uniform(shape, fan_in, fan_out, rng, dtype, limit=0.05):
    return _make(rng.uniform(-limit, limit, shape), dtype)


def xavier_normal(shape, fan_in, fan_out, rng, dtype):
    return normal(shape, fan_in, fan_out, rng, dtype, std=math.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform(shape, fan_in, fan_out, rng, dtype):
    return uniform(shape, fan_in, fan_out, rng, dtype, limit=math.sqrt(6.0 / (fan_in + fan_out)))


def he_normal(shape, fan_in, fan_out, rng, dtype):
    return normal(shape, fan_in, fan_out, rng, dtype, std=math.sqrt(2.0 / fan_in))


def he_uniform(shape, fan_in, fan_out, rng, dtype):
    return uniform(shape, fan_in, fan_out, rng, dtype, limit=math.sqrt(6.0 / fan_in))


INITIALIZERS = {
    "zeros": zeros,
    "normal": normal,
    "uniform": uniform,
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "glorot": xavier_uniform,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
}


def get(init):
    """An initialiser from a name, a callable, or a number (a constant fill)."""
    if callable(init):
        return init
    if isinstance(init, (int, float)) and not isinstance(init, bool):
        if not math.isfinite(init):
            raise InvalidValueError(f"constant initial value must be finite, got {init}")
        return constant(float(init))
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    raise unknown("initialiser", str(init), INITIALIZERS)
