"""The three strategies with convolutional networks: images in the object store, image-
shaped activations between pipeline stages, and a Flatten at a stage boundary.

The network is small (Conv2D 1->2 3x3 pad 1, ReLU, MaxPool2D 2, Flatten, Dense 32->10,
Softmax: 350 parameters) and the data are scikit-learn's 8x8 digits, so each fit costs
about a second, most of it Ray starting the actors. Exactness is checked in float64
against single-process training from the same weights.
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel
from chainrule.parallel.pipeline import stage_bounds, stage_work

from .conftest import max_difference, twin_fits


@pytest.fixture(scope="module")
def digits():
    """(train images (n, 1, 8, 8), labels, test images, labels) in float64."""
    X, y, X_test, y_test = cr.datasets.load("digits")
    return X.reshape(-1, 1, 8, 8), y, X_test.reshape(-1, 1, 8, 8), y_test


def conv64(seed=1, channels=2, dtype="float64"):
    return cr.Sequential([
        cr.Conv2D(1, channels, 3, padding=1, dtype=dtype, seed=seed), cr.ReLU(),
        cr.MaxPool2D(2), cr.Flatten(),
        cr.Dense(channels * 16, 10, dtype=dtype, seed=seed), cr.Softmax()])


@pytest.mark.parametrize("workers, optimizer, rows", [
    (2, lambda: cr.Adam(0.01), False),
    (3, lambda: cr.SGD(0.1, momentum=0.9), True),   # 24 = 3 x 8; the data given as rows
])
def test_data_parallel_equals_single_process_training(ray_cluster, digits, workers, optimizer,
                                                      rows):
    X, y, _, _ = digits
    X = X[:240].reshape(240, 64) if rows else X[:240]  # rows become images before sharing
    (reference, expected), (net, history) = twin_fits(
        conv64, cr.parallel.DataParallel(workers), X=X, y=y[:240], optimizer=optimizer,
        epochs=1, batch_size=24, seed=7)
    assert history.iterations == expected.iterations == 10
    assert max_difference(net, reference) < 1e-10
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    assert history["accuracy"] == expected["accuracy"]


@pytest.mark.parametrize("stages, micro_batches, tolerance", [
    (2, 1, 1e-12),       # one micro-batch: the very same arithmetic, stage by stage
    ([2], 4, 1e-10),     # Conv, ReLU | MaxPool, Flatten, Dense, Softmax: images between them
    ([1, 4], 3, 1e-10),  # Conv | ReLU, MaxPool, Flatten (no parameters) | Dense, Softmax
])
def test_pipeline_equals_single_process_training(ray_cluster, digits, stages, micro_batches,
                                                 tolerance):
    X, y, X_test, y_test = digits
    (reference, expected), (net, history) = twin_fits(
        conv64, cr.parallel.Pipeline(stages, micro_batches=micro_batches), X=X[:240],
        y=y[:240], optimizer=lambda: cr.Adam(0.01), epochs=1, batch_size=24, seed=5, l2=0.1,
        validation_data=(X_test[:100], y_test[:100]))
    assert history.iterations == expected.iterations == 10
    assert max_difference(net, reference) < tolerance
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=tolerance)
    np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=tolerance)


def test_async_parameter_server_trains_a_conv_net(ray_cluster, digits):
    X, y, X_test, y_test = digits
    net = conv64(seed=0, channels=8, dtype="float32")
    history = net.fit(X, y, optimizer=cr.Adam(0.01), epochs=6, batch_size=32, seed=0,
                      parallel=cr.parallel.AsyncParameterServer(workers=2))
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    print(f"async parameter server, conv net: test accuracy {accuracy:.4f}, staleness "
          f"{np.round(history['staleness'], 2).tolist()}")
    assert accuracy >= 0.93  # observed 0.94-0.97 (single-process training: 0.953)
    assert history.epochs == 6 and len(history["staleness"]) == 6
    assert history["loss"][-1] < history["loss"][0] / 3


def test_stages_balance_the_work_of_convolutions():
    # A convolution uses each weight at every output position: LeNet-5's two convolutions
    # have 2,572 parameters but do 86% of the multiply-adds. Balancing parameters alone
    # would put both with the first dense layer in stage 1 (all the work, 50,692
    # parameters); balancing the work cuts after the first convolution block.
    net = cr.lenet5()
    work = stage_work(net.layers, (1, 28, 28))
    assert work[0] == 156 * 28 * 28 and work[3] == 2416 * 10 * 10 and work[7] == 48120
    assert stage_bounds(net.layers, 2, work=work) == [(0, 3), (3, 13)]
    assert stage_bounds(net.layers, 2) == [(0, 9), (9, 13)]  # by parameters: lopsided
    # for dense layers the work is the parameter count: MLP cuts are unchanged
    mlp = cr.mlp([784, 512, 256, 10])
    assert stage_work(mlp.layers, 784) == [401920, 0, 131328, 0, 2570, 0]
