import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel

from .conftest import blobs, net64


def test_reaches_95_percent_on_digits_and_records_staleness(ray_cluster):
    X, y, X_test, y_test = cr.datasets.load("digits")
    net = cr.mlp([64, 64, 10], seed=0)
    strategy = cr.parallel.AsyncParameterServer(workers=2)
    history = net.fit(X, y, optimizer=cr.SGD(0.05, momentum=0.9), epochs=12, batch_size=32,
                      seed=0, parallel=strategy)
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    print(f"async parameter server, 2 workers: test accuracy {accuracy:.4f}, staleness per "
          f"epoch {np.round(history['staleness'], 2).tolist()}, max {history['staleness_max']}")
    assert accuracy >= 0.95
    batches = -(-len(X) // 32)
    assert history.epochs == 12 and history.iterations == 12 * batches  # nothing dropped
    assert len(history["staleness"]) == len(history["staleness_max"]) == 12
    # Two workers: while one computes, the other's gradient usually lands first.
    assert all(0 <= mean <= top for mean, top in zip(history["staleness"],
                                                      history["staleness_max"]))
    assert max(history["staleness_max"]) >= 1
    assert "dropped" not in history


def test_max_staleness_drops_stale_gradients(ray_cluster):
    X, y = blobs()
    net = net64()
    seen = []

    class Count(cr.callbacks.Callback):
        def on_batch_end(self, state):
            seen.append(state.iteration)

    history = net.fit(X, y, optimizer=cr.SGD(0.05), epochs=3, batch_size=8, seed=0,
                      callbacks=[Count()],
                      parallel=cr.parallel.AsyncParameterServer(2, max_staleness=0))
    assert history.epochs == 3 and len(seen) == 3 * 30  # every batch reported
    assert history.iterations == 3 * 30 - sum(history["dropped"])
    assert all(top >= 0 for top in history["staleness_max"])
    assert np.all(np.isfinite(net.parameters()[0].value))


def test_learning_rate_schedules_reach_the_server(ray_cluster):
    X, y = blobs()
    optimizer = cr.SGD(0.1)
    schedule = cr.callbacks.LearningRateScheduler(
        cr.optim.schedules.get("step", optimizer, step_size=1, gamma=0.5))
    net = net64()
    history = net.fit(X, y, optimizer=optimizer, epochs=3, batch_size=40, seed=0,
                      callbacks=[schedule], parallel=cr.parallel.AsyncParameterServer(2))
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert optimizer.iterations == history.iterations == 18


def test_arguments_are_checked():
    with pytest.raises(cr.InvalidValueError, match="max_staleness"):
        cr.parallel.AsyncParameterServer(2, max_staleness=-1)
    assert repr(cr.parallel.AsyncParameterServer(3, max_staleness=2)) == \
        "AsyncParameterServer(workers=3, max_staleness=2, address=None)"


def test_the_server_moves_weights_and_gradients_in_pieces_of_at_most_a_megabyte():
    # Ray copies a larger buffer with six threads it starts for that copy (base.pieces).
    from threadpoolctl import threadpool_limits

    from chainrule.parallel.async_ps import ParameterServer
    from chainrule.parallel.base import pieces

    net = cr.mlp([300, 1000, 3], seed=1)  # 304,003 float32 parameters: 1.2 MB
    with threadpool_limits(limits=None):  # the server limits its process's BLAS threads
        server = ParameterServer(net, cr.SGD(0.5), None, None)
    sent, _, version = server.pull()
    values = np.concatenate([p.value.ravel() for p in net.parameters()])
    assert version == 0 and [len(p) for p in sent] == [262_144, 41_859]
    np.testing.assert_array_equal(np.concatenate(sent), values)
    grad = np.linspace(-1, 1, len(values), dtype=np.float32)
    sent, _, version, staleness, applied = server.push(pieces(grad), [], 0)
    assert (version, staleness, applied) == (1, 0, True)
    np.testing.assert_array_equal(np.concatenate(sent), values - np.float32(0.5) * grad)
