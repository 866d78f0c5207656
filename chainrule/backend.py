"""The one array seam: every array chainrule creates is made here.

``xp`` is the array module (NumPy; CuPy can stand in on a GPU), so layer code
writes ``backend.xp.exp(x)`` and never imports NumPy for computation.
float32 is the training default, float64 the precision of gradient checks and
worked examples. Random draws come from ``numpy.random.Generator`` objects:
pass a seed or a generator where one is taken, or set the global one with
:func:`seed`.
"""
import contextlib

import numpy as np

from .errors import DTypeError, InvalidValueError, unknown

xp = np
DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64)}
DEFAULT_DTYPE = "float32"

_global_rng = np.random.default_rng()


def use(name):
    """Switch the array module: ``"numpy"`` or ``"cupy"`` (needs CuPy and a GPU)."""
    global xp
    if name == "numpy":
        xp = np
    elif name == "cupy":
        import cupy  # optional; only on a GPU machine

        xp = cupy
    else:
        raise unknown("array backend", name, ["numpy", "cupy"])


@contextlib.contextmanager
def threads(n):
    """Inside the block, run BLAS (the matrix products) on at most ``n`` threads.

    ``None`` leaves them as they are (one per core). On a shared machine, or next to
    other processes that compute, fewer threads than cores is often faster.
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidValueError(f"threads must be a positive integer, got {n!r}")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(n)):
        yield


def dtype(name=None):
    """The NumPy dtype for ``"float32"``/``"float64"`` (or a dtype); None gives the default."""
    if name is None:
        name = DEFAULT_DTYPE
    key = str(np.dtype(name)) if not isinstance(name, str) else name
    if key not in DTYPES:
        raise unknown("dtype", str(name), DTYPES)
    return DTYPES[key]


def check_same_dtype(what, expected, got):
    """Raise :class:`DTypeError` when two precisions meet; chainrule never casts silently."""
    if got != expected:
        raise DTypeError(
            f"{what}: expected {expected} but got {got}; convert the data with "
            f".astype('{expected}') or the network with net.astype('{got}')")


def asarray(a, dtype_=None):
    """An array of the given dtype on the active backend (copies only when needed)."""
    return xp.asarray(a, dtype=dtype(dtype_) if dtype_ is not None else None)


def take_rows(a, index, out):
    """The rows ``a[index]``, gathered into ``out``; every index must be valid."""
    if xp is np:  # NumPy copies ``out`` once more in the default mode="raise"
        return np.take(a, index, axis=0, out=out, mode="clip")
    return xp.take(a, index, axis=0, out=out)


def to_numpy(a):
    """A NumPy array from any backend array (a no-op for NumPy)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def seed(value):
    """Re-seed the global generator that draws when no seed or generator is passed."""
    global _global_rng
    _global_rng = np.random.default_rng(value)


def rng(seed_or_generator=None):
    """A ``numpy.random.Generator``: the given one, a new one from a seed, or the global one."""
    if seed_or_generator is None:
        return _global_rng
    if isinstance(seed_or_generator, np.random.Generator):
        return seed_or_generator
    return np.random.default_rng(seed_or_generator)
