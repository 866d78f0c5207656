"""The array seam's settings."""
import pytest

import chainrule as cr


def test_threads_limits_blas():
    from threadpoolctl import threadpool_info

    from chainrule import backend

    with backend.threads(1):
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    with pytest.raises(cr.InvalidValueError, match="threads must be a positive integer"):
        with backend.threads(0):
            pass


def test_take_rows_gathers_into_the_buffer():
    import numpy as np

    from chainrule import backend

    X = np.arange(24, dtype=np.float32).reshape(6, 4)
    index = np.array([5, 0, 3])
    out = np.empty((4, 4), dtype=np.float32)
    rows = backend.take_rows(X, index, out[:3])
    np.testing.assert_array_equal(rows, X[index])
    assert np.shares_memory(rows, out)
