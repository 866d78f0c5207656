import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel
from chainrule.errors import InvalidValueError, NotAvailableError, UnknownNameError

from .conftest import blobs, max_difference, net64, twin_fits

OPTIMIZERS = {"sgd-momentum": lambda: cr.SGD(0.1, momentum=0.9),
              "adam": lambda: cr.Adam(0.01)}


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_equals_single_process_training(ray_cluster, workers, optimizer):
    # 240 examples in batches of 24: 20 updates in 2 shuffled epochs; 24 = 2 x 12 = 3 x 8.
    X, y = blobs()
    (reference, expected), (net, history) = twin_fits(
        net64, cr.parallel.DataParallel(workers), X=X, y=y, optimizer=OPTIMIZERS[optimizer],
        epochs=2, batch_size=24, seed=7)
    assert history.iterations == expected.iterations == 20
    assert max_difference(net, reference) < 1e-10
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    assert history["accuracy"] == expected["accuracy"]
    assert history.restarts == 0


def test_uneven_shards_penalties_clipping_and_validation(ray_cluster):
    # Batches of 25 split 13 + 12: the shard gradients are weighted by their sizes.
    X, y = blobs(n=200)
    (reference, expected), (net, history) = twin_fits(
        net64, cr.parallel.DataParallel(2), X=X[:150], y=y[:150], optimizer=OPTIMIZERS["adam"],
        epochs=2, batch_size=25, seed=3, l2=0.5, penalties=[cr.L1(0.1, layers=[2])],
        clip_norm=0.3, validation_data=(X[150:], y[150:]))
    assert max_difference(net, reference) < 1e-10
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-10)


def test_callbacks_checkpoint_and_resume(ray_cluster, tmp_path):
    X, y = blobs()
    path = tmp_path / "run.safetensors"
    net = net64()
    single = net64()
    stopper = cr.callbacks.EarlyStopping(monitor="loss", patience=50)
    history = net.fit(X, y, optimizer=cr.SGD(0.05, momentum=0.9), epochs=2, batch_size=40,
                      seed=1, callbacks=[cr.callbacks.ModelCheckpoint(path), stopper],
                      parallel=cr.parallel.DataParallel(2))
    assert history.epochs == 2 and stopper.best_epoch == 2
    assert max_difference(cr.load(path), net) == 0
    # Resuming that checkpoint in parallel continues the run as single-process training would.
    resumed = net64()
    history = resumed.fit(X, y, optimizer=cr.SGD(0.05, momentum=0.9), epochs=4, batch_size=40,
                          seed=1, resume=path, parallel=cr.parallel.DataParallel(2),
                          callbacks=[cr.callbacks.ModelCheckpoint(path), stopper])
    expected = single.fit(X, y, optimizer=cr.SGD(0.05, momentum=0.9), epochs=4, batch_size=40,
                          seed=1)
    assert history.epochs == 4 and len(history["loss"]) == 4
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-10)
    assert max_difference(resumed, single) < 1e-10


def test_misclassified_strategy_and_target_loss(ray_cluster):
    X, y = blobs()
    (reference, expected), (net, history) = twin_fits(
        net64, cr.parallel.DataParallel(2), X=X, y=y, optimizer=OPTIMIZERS["sgd-momentum"],
        epochs=3, batch_size=16, seed=2, strategy="misclassified")
    assert history.iterations == expected.iterations
    assert max_difference(net, reference) < 1e-10


def test_without_ray_the_error_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    X, y = blobs(n=20)
    with pytest.raises(NotAvailableError, match=r'pip install "chainrule\[distributed\]"'):
        net64().fit(X, y, epochs=1, parallel=cr.parallel.DataParallel(2))


def test_arguments_are_checked():
    with pytest.raises(cr.InvalidValueError, match="workers"):
        cr.parallel.DataParallel(0)
    with pytest.raises(cr.InvalidValueError, match="address"):
        cr.parallel.DataParallel(2, address=6379)
    assert repr(cr.parallel.DataParallel(3)) == "DataParallel(workers=3, address=None)"
    assert cr.parallel.get("none") is None
    assert isinstance(cr.parallel.get("pipeline", workers=3), cr.parallel.Pipeline)
    with pytest.raises(cr.UnknownNameError):
        cr.parallel.get("model")


@pytest.mark.parametrize("make", [lambda: cr.parallel.DataParallel(2),
                                  lambda: cr.parallel.AsyncParameterServer(2),
                                  lambda: cr.parallel.Pipeline(2, micro_batches=2)],
                         ids=["data-parallel", "async", "pipeline"])
def test_batchnorm_statistics_and_dropout_reach_the_driver(ray_cluster, make):
    # Workers update BatchNorm's running statistics; evaluation on the driver needs them.
    X, y = blobs(n=300)
    net = cr.mlp([5, 32, 3], batchnorm=True, dropout=0.1, seed=0)
    history = net.fit(X[:240], y[:240], optimizer=cr.Adam(0.01), epochs=3, batch_size=40,
                      seed=0, validation_data=(X[240:], y[240:]), parallel=make())
    norm = net.layers[1]
    assert not np.allclose(norm.running_mean, 0) and not np.allclose(norm.running_var, 1)
    assert history["val_accuracy"][-1] > 0.8


@pytest.mark.parametrize("make", [lambda: cr.parallel.DataParallel(2),
                                  lambda: cr.parallel.Pipeline(2)],
                         ids=["data-parallel", "pipeline"])
def test_a_learning_rate_changed_after_every_update(ray_cluster, make):
    # A rate a callback sets must reach the next update: DataParallel's replicas get it
    # with that update, and when an epoch's last callbacks have run, the driver takes the
    # optimiser back from the workers without losing it.
    X, y = blobs()
    fits = []
    for parallel in (None, make()):
        optimizer = cr.SGD(0.2, momentum=0.9)
        schedule = cr.callbacks.LearningRateScheduler(
            cr.optim.schedules.get("exponential", optimizer, gamma=0.8), per="iteration")
        net = net64()
        history = net.fit(X, y, optimizer=optimizer, epochs=2, batch_size=24, seed=5,
                          callbacks=[schedule], parallel=parallel)
        fits.append((net, history))
    (reference, expected), (net, history) = fits
    assert history["lr"] == pytest.approx([0.2 * 0.8 ** 9, 0.2 * 0.8 ** 19])
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    assert max_difference(net, reference) < 1e-10


def test_a_diverged_step_is_not_applied(ray_cluster):
    check_a_diverged_step_is_not_applied(cr.parallel.DataParallel(2))


def check_a_diverged_step_is_not_applied(strategy):
    """Each step multiplies the weight by about -200, so the squared error overflows to
    inf mid-epoch while the weights are still finite. The fit loop stops before applying
    that step; so must the replicas, which by then run the next step already."""
    X = 10.0 + np.random.default_rng(0).random((40, 1))
    y = np.zeros((40, 1))
    fits = []
    for parallel in (None, strategy):
        net = cr.mlp([1, 1], output="identity", dtype="float64", seed=0)
        with pytest.warns(cr.DivergenceWarning) as caught:
            history = net.fit(X, y, loss="squared_error", optimizer=cr.SGD(1.0), epochs=50,
                              batch_size=4, seed=0, parallel=parallel)
        diverged, = [w for w in caught if w.category is cr.DivergenceWarning]
        assert diverged.filename == __file__  # the line calling fit
        fits.append((net, history, str(diverged.message)))
    (single, expected, message), (net, history, got) = fits
    assert history.stop_reason == expected.stop_reason == "diverged"
    assert 1 < history.epochs < 50 and history.iterations == expected.iterations
    assert got == message and "which are finite" in message
    for p, q in zip(net.parameters(), single.parameters()):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-9)


def test_channels_are_refused_across_machines(ray_cluster):
    # This cluster's nodes have one CPU each: the two replicas run on two of them.
    X, y = blobs()
    with pytest.raises(InvalidValueError, match="run on 2 machines, and channels join"):
        net64().fit(X, y, epochs=1, parallel=cr.parallel.DataParallel(2, exchange="channels"))
    with pytest.raises(UnknownNameError, match="exchange"):
        cr.parallel.DataParallel(2, exchange="tcp")


def test_a_restarted_replica_refuses_to_step_until_it_is_loaded(ray_cluster):
    # A process Ray restarted holds the network's first weights, not the current ones: a
    # step sent to it before the driver loads it must fail as a lost actor, not train on.
    import ray

    from chainrule.parallel import runtime
    from chainrule.parallel.data_parallel import ReplicaWorker

    worker = runtime.actor_class(ReplicaWorker).remote(None, 0, None, None, False, cr.SGD(0.1),
                                                      None)
    try:
        with pytest.raises(runtime.lost(), match="replica 0 does not hold the current weights"):
            ray.get(worker.step.remote(np.arange(4), 4, 0.1, 0))
    finally:
        runtime.kill([worker])


def test_a_replica_that_loses_a_peer_while_sending_needs_the_drivers_state(ray_cluster,
                                                                          monkeypatch):
    # Its update is applied, but the lost peer may not have read the shares it needed for
    # the same update: its weights must not seed the restarted replica.
    import ray
    from threadpoolctl import threadpool_limits

    from chainrule.parallel import runtime
    from chainrule.parallel.base import share
    from chainrule.parallel.data_parallel import ReplicaWorker

    X, y = blobs()
    net, loss = net64(), cr.CrossEntropy()
    params = net.parameters()
    with threadpool_limits(limits=None):  # a replica limits its process's BLAS threads
        replica = ReplicaWorker(loss, 0, None, None, False, cr.SGD(0.1), None)
    values = np.concatenate([p.value.ravel() for p in params])
    replica.load(share(ray, net, X, loss.prepare_target(y, 3, np.float64)),
                 (values, [], cr.SGD(0.1).state_dict(params)))
    assert replica.state()[0] is replica.values

    class Stuck:  # a channel whose reader died before taking the last share
        def write(self, value, timeout):
            raise ray.exceptions.RayChannelTimeoutError("timed out")

    replica.out, replica.inputs, replica.peers = Stuck(), [None, None], {"peer": 0}
    monkeypatch.setattr(runtime, "restarts", lambda ids: [None])  # Ray restarts the peer
    with pytest.raises(runtime.ActorRestarted, match="lost another replica"):
        replica.step(np.arange(8), 8, 0.1, 0, 0)
    with pytest.raises(runtime.ActorRestarted, match="does not hold the current weights"):
        replica.state()


def frozen_bias_net64():
    """net64 with the first layer's bias frozen, as the notes' 2-2-2 network, and a stale
    value in that bias's gradient (what a trace or gradient check leaves behind)."""
    net = net64()
    net.layers[0].bias.trainable = False
    net.layers[0].bias.grad[...] = 7.0
    return net


def test_a_replica_skips_the_gradients_of_frozen_parameters_as_fit_does(ray_cluster):
    import ray
    from threadpoolctl import threadpool_limits

    from chainrule.parallel.base import Replica, share

    X, y = blobs()
    net, loss = frozen_bias_net64(), cr.CrossEntropy()
    target = loss.prepare_target(y, 3, np.float64)
    with threadpool_limits(limits=None):  # a replica limits its process's BLAS threads
        replica = Replica(loss, rank=0)
    replica.attach(share(ray, net, X, target))
    rows = np.arange(40)
    replica.gradients(rows)
    assert np.all(replica.net.layers[0].bias.grad == 0)  # neither computed nor stale
    net.compute_gradients(loss, X[rows], target[rows])  # computed where nothing turns it off
    assert np.abs(net.layers[0].bias.grad).max() > 1e-6
    np.testing.assert_array_equal(replica.net.layers[0].weight.grad, net.layers[0].weight.grad)


@pytest.mark.parametrize("parallel", [lambda: cr.parallel.DataParallel(2),
                                      lambda: cr.parallel.Pipeline(2, micro_batches=2)],
                         ids=["data", "pipeline"])
def test_a_frozen_bias_stays_and_training_equals_one_process(ray_cluster, parallel):
    X, y = blobs()
    (reference, _), (net, _) = twin_fits(
        frozen_bias_net64, parallel(), X=X[:96], y=y[:96], optimizer=OPTIMIZERS["adam"],
        epochs=2, batch_size=24, seed=5, clip_norm=0.5)
    assert max_difference(net, reference) < 1e-10
    start = frozen_bias_net64().layers[0].bias.value
    np.testing.assert_array_equal(net.layers[0].bias.value, start)


def test_pieces_are_consecutive_views_of_at_most_a_megabyte():
    from chainrule.parallel.base import pieces

    vector = np.arange(600_000, dtype=np.float32)
    parts = pieces(vector)
    assert [len(p) for p in parts] == [262_144, 262_144, 75_712]  # 2**20 bytes / 4
    assert all(np.shares_memory(p, vector) for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), vector)
    assert [len(p) for p in pieces(np.zeros(300_000))] == [131_072, 131_072, 37_856]
    assert pieces(np.zeros(0, np.float32)) == []


def test_a_replica_sends_its_weighted_gradient_in_pieces_of_at_most_a_megabyte(ray_cluster):
    # Ray copies a larger buffer with six threads it starts for that copy: slow on few cores.
    import ray
    from threadpoolctl import threadpool_limits

    from chainrule.parallel.base import share
    from chainrule.parallel.data_parallel import ReplicaWorker

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 300)).astype(np.float32), rng.integers(0, 3, 30)
    net, loss = cr.mlp([300, 1000, 3], seed=1), cr.CrossEntropy()  # 304,003 float32: 1.2 MB
    target = loss.prepare_target(y, 3, np.float32)
    params = net.parameters()
    with threadpool_limits(limits=None):  # a replica limits its process's BLAS threads
        replica = ReplicaWorker(loss, 0, None, None, False, cr.SGD(0.1), None)
    values = np.concatenate([p.value.ravel() for p in params])
    replica.load(share(ray, net, X, target), (values, [], cr.SGD(0.1).state_dict(params)))
    rows = np.arange(12)
    (sent, _, info), _ = replica.step(rows, 30, 0.1, 0)
    assert len(sent) == 2 and all(piece.nbytes <= 2 ** 20 for piece in sent)
    value, _ = net.compute_gradients(loss, X[rows], target[rows])
    expected = np.concatenate([p.grad.ravel() for p in params]) * np.float32(12 / 30)
    np.testing.assert_allclose(np.concatenate(sent), expected, rtol=1e-6, atol=1e-9)
    assert info[0] == pytest.approx(value * 12 / 30, rel=1e-6)  # the others read the loss


def test_a_replica_reads_the_others_shares_in_order_keeping_its_own_none(ray_cluster):
    import ray

    from chainrule.parallel.data_parallel import arguments, fetch

    calls = [(ray.put(f"share {k}"), ray.put(f"info {k}")) for k in range(3)]
    assert fetch(arguments(calls, 1)) == ["share 0", None, "share 2"]
    assert fetch(()) == []
