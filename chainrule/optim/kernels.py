"""Fused optimiser updates, compiled by Numba when it is installed (``chainrule[fast]``).

NumPy runs Adam's update as thirteen passes over the parameters, one array operation
each; the kernel in ``_numba.py`` does the same arithmetic in one vectorised pass (about
3x faster: 270 -> 90 microseconds a step for a 784-256-10 network). It computes each
element with NumPy's operations in NumPy's order, in the parameters' precision, so the
two paths give the same bits (tests/optim/test_kernels.py). Without Numba, or with
``CHAINRULE_NUMBA=0`` in the environment, the NumPy path runs.
"""
import functools
import os
import warnings

import numpy as np

from .. import backend

# Below this many numbers NumPy's passes take under about 100 microseconds a step (LeNet-5:
# 61,706 parameters, 0.04 s an epoch), which does not pay for Numba's start (0.6 s, 130 MB).
MIN_SIZE = 1 << 17


@functools.cache
def _module():
    if os.environ.get("CHAINRULE_NUMBA", "1") == "0":
        return None
    try:
        from . import _numba
    except ImportError:  # Numba is an optional extra
        return None
    except Exception as exc:  # e.g. no writable cache directory: NumPy does the work
        warnings.warn(f"chainrule: Numba is installed but its kernels could not be set up "
                      f"({type(exc).__name__}: {exc}); using NumPy", RuntimeWarning)
        return None
    return _numba


def get(name, *arrays):
    """The compiled kernel ``name`` for ``arrays`` (flattened views are passed to it), or
    None where NumPy should run: no Numba, a small update, another array library, or
    arrays that are not contiguous float32/float64 of one dtype."""
    first = arrays[0]
    if first.size < MIN_SIZE or backend.xp is not np or first.dtype.kind != "f" \
            or not all(a.dtype == first.dtype and a.flags.c_contiguous for a in arrays):
        return None
    module = _module()
    return None if module is None else getattr(module, name)

