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
