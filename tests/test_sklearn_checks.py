"""scikit-learn's own estimator checks, run on small fast instances of our estimators.

The defaults (``max_iter=200``, ``hidden_layer_sizes=(100,)``) are what users get; the
checks only need estimators that learn their small data sets quickly. They run once more
with the network given as ``net=`` (a builder function), the way convolutional networks
reach the estimators (tests/test_sklearn_conv.py): the checks' data are rows of varying
width, so that builder makes an MLP of the width it is given.
"""
from functools import partial

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import chainrule as cr
from chainrule.sklearn import MLPClassifier, MLPRegressor

# Short runs on tiny data often stop at max_iter; that warning is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(hidden_layer_sizes=(16,), max_iter=60, learning_rate_init=0.01, random_state=0)


def built(input_shape, n_out, seed, dtype, output="softmax"):
    """A ``net=`` builder (module level, so estimators holding it pickle)."""
    return cr.mlp([*input_shape, 16, n_out], output=output, seed=seed, dtype=dtype)


NET = dict(max_iter=60, learning_rate_init=0.01, random_state=0)


def expected_failed_checks(estimator):
    """Checks our estimators are known to fail, with the reason (keep this short)."""
    return {
        "check_methods_subset_invariance":
            "float32 (the default dtype) matrix products of a few rows and of many can differ "
            "by ~1e-7 (the BLAS picks kernels by shape), the check's tolerance is 1e-7; "
            "with dtype='float64' it passes (tests/test_sklearn.py)",
    }


@parametrize_with_checks([MLPClassifier(**FAST), MLPRegressor(**FAST),
                          MLPClassifier(net=built, **NET),
                          MLPRegressor(net=partial(built, output="identity"), **NET)],
                         expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
