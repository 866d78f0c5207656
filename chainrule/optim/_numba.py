"""Numba kernels for ``kernels.py``: NumPy's element-wise arithmetic, fused into one loop.

Every expression keeps the evaluation order of the NumPy code it replaces and runs in
the arrays' dtype (the scalars are passed in that dtype), so results are bit-identical.
Compiled on first use and cached on disk.
"""
import numba
import numpy as np


# One thread: a kernel with a thread pool of its own fights BLAS's threads for the cores
# between matrix products (measured: 7x slower training). error_model="numpy" lets the
# loop vectorise (no division-by-zero checks), without changing any result.
@numba.njit(error_model="numpy", cache=True)
def adam(value, grad, m, v, beta1, beta2, one_minus_beta1, one_minus_beta2, root_bias2, eps,
         rate):
    """Adam.update without AMSGrad, on 1-D arrays; ``rate`` = lr / (1 - beta1^t)."""
    for i in range(value.size):
        g = grad[i]
        mi = m[i] * beta1 + g * one_minus_beta1
        vi = v[i] * beta2 + g * g * one_minus_beta2
        m[i] = mi
        v[i] = vi
        value[i] -= mi / (np.sqrt(vi) / root_bias2 + eps) * rate
