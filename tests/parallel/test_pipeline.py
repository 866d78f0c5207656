import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel
from chainrule.parallel.pipeline import stage_bounds

from .conftest import blobs, max_difference, net64, twin_fits


@pytest.mark.parametrize("stages, micro_batches, tolerance", [
    (2, 1, 1e-12),          # one micro-batch: the very same arithmetic, stage by stage
    ([2, 4], 4, 1e-10),     # three explicit stages; 4 accumulated micro-batches of 6
])
def test_equals_single_process_training(ray_cluster, stages, micro_batches, tolerance):
    X, y = blobs()
    (reference, expected), (net, history) = twin_fits(
        net64, cr.parallel.Pipeline(stages, micro_batches=micro_batches), X=X[:200], y=y[:200],
        optimizer=lambda: cr.Adam(0.01), epochs=2, batch_size=20, seed=5, l2=0.2,
        validation_data=(X[200:], y[200:]))
    assert history.iterations == expected.iterations == 20
    assert max_difference(net, reference) < tolerance
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=tolerance)
    np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=tolerance)


def test_optimiser_state_returns_to_the_driver(ray_cluster):
    X, y = blobs()
    net, reference = net64(), net64()
    adam, adam_reference = cr.Adam(0.01), cr.Adam(0.01)
    net.fit(X, y, optimizer=adam, epochs=1, batch_size=40, seed=2,
            parallel=cr.parallel.Pipeline(3))
    reference.fit(X, y, optimizer=adam_reference, epochs=1, batch_size=40, seed=2)
    state = adam.state_dict(net.parameters())
    expected = adam_reference.state_dict(reference.parameters())
    assert state["hyper"] == expected["hyper"] and state["hyper"]["iterations"] == 6
    assert sorted(state["arrays"]) == sorted(expected["arrays"])
    for key, value in expected["arrays"].items():
        np.testing.assert_allclose(state["arrays"][key], value, rtol=1e-12, atol=1e-15)


def test_sgd_momentum_clipping_and_uneven_micro_batches(ray_cluster):
    # Batches of 30 cut into micro-batches of 8, 8, 7, 7: each weighted by its size.
    X, y = blobs()
    (reference, expected), (net, history) = twin_fits(
        net64, cr.parallel.Pipeline(2, micro_batches=4), X=X, y=y,
        optimizer=lambda: cr.SGD(0.1, momentum=0.9), epochs=2, batch_size=30, seed=1,
        clip_norm=0.5)
    assert max_difference(net, reference) < 1e-10
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-10)


def test_stages_balance_parameters():
    net = cr.mlp([784, 512, 256, 10])  # Dense, ReLU, Dense, ReLU, Dense, Softmax
    assert stage_bounds(net.layers, 2) == [(0, 2), (2, 6)]   # 401,920 | 133,898 parameters
    assert stage_bounds(net.layers, 3) == [(0, 2), (2, 4), (4, 6)]
    assert stage_bounds(net.layers, 2, splits=(1,)) == [(0, 1), (1, 6)]
    with pytest.raises(cr.InvalidValueError, match="needs a layer per stage"):
        stage_bounds(net.layers, 7)
    with pytest.raises(cr.InvalidValueError, match="below the number of layers"):
        stage_bounds(net.layers, 2, splits=(6,))


def test_arguments_are_checked():
    assert cr.parallel.Pipeline([2, 4]).stages == 3
    with pytest.raises(cr.InvalidValueError, match="increasing"):
        cr.parallel.Pipeline([4, 2])
    with pytest.raises(cr.InvalidValueError, match="micro_batches"):
        cr.parallel.Pipeline(2, micro_batches=0)
    assert repr(cr.parallel.Pipeline(2, micro_batches=4)) == \
        "Pipeline(stages=2, micro_batches=4, address=None)"
