"""DataParallel on one machine, where the replicas swap their shares by Ray's channels.

The session's Ray (conftest.py) gives each of its three nodes one CPU, so replicas run
on different nodes and swap shares through the object store. These tests need them on
one machine: ``test_the_channel_tests_pass_on_a_local_ray`` runs them in a pytest of
their own, in a child process with a local Ray of three CPUs.
"""
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel

from .conftest import blobs, max_difference, net64, twin_fits
from .test_data_parallel import OPTIMIZERS, check_a_diverged_step_is_not_applied
from .test_faults import KillWorker, fit_killing

CHILD = "CHAINRULE_CHANNEL_TESTS"
in_child = pytest.mark.skipif(os.environ.get(CHILD) != "1",
                              reason="run in a child process by the test above them")


def test_the_channel_tests_pass_on_a_local_ray():
    pytest.importorskip("ray")
    if os.environ.get(CHILD) == "1":
        pytest.skip("this is the child process")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env[CHILD] = "1"
    child = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            __file__], env=env, capture_output=True, text=True, timeout=300)
    report = child.stdout[-6000:] + child.stderr[-2000:]
    assert child.returncode == 0, report
    assert re.search(r"\d+ passed, 1 skipped\b(?!\d)", report), report  # skipped: only itself


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=3, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@in_child
@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_by_channel_equals_single_process_training(local_ray, workers, optimizer):
    X, y = blobs()
    parallel = cr.parallel.DataParallel(workers)
    (reference, expected), (net, history) = twin_fits(
        net64, parallel, X=X, y=y, optimizer=OPTIMIZERS[optimizer], epochs=2, batch_size=24,
        seed=7)
    assert parallel.transport == "channels"
    assert history.iterations == expected.iterations == 20
    assert max_difference(net, reference) < 1e-10
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    assert history["accuracy"] == expected["accuracy"]


@in_child
def test_the_object_store_when_asked(local_ray):
    X, y = blobs()
    parallel = cr.parallel.DataParallel(2, exchange="object store")
    (reference, _), (net, _) = twin_fits(net64, parallel, X=X, y=y, optimizer=OPTIMIZERS["adam"],
                                         epochs=1, batch_size=24, seed=7)
    assert parallel.transport == "object store"
    assert max_difference(net, reference) < 1e-10


@in_child
def test_uneven_shards_and_a_batch_smaller_than_the_workers(local_ray):
    # 98 examples in batches of 24: shards of 8, and a last batch of 2 rows that leaves the
    # third worker without a shard (it sends nothing, and no one waits for it).
    X, y = blobs(n=130)
    parallel = cr.parallel.DataParallel(3)
    (reference, expected), (net, history) = twin_fits(
        net64, parallel, X=X[:98], y=y[:98], optimizer=OPTIMIZERS["adam"], epochs=3,
        batch_size=24, seed=3, l2=0.5, clip_norm=0.3, validation_data=(X[98:], y[98:]))
    assert parallel.transport == "channels" and history.iterations == 15
    assert max_difference(net, reference) < 1e-10
    for key in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-10)


@in_child
def test_a_killed_replica_is_noticed_by_the_one_waiting_for_its_gradient(local_ray):
    # A channel does not notice that its writer died: the survivor, waiting for the dead
    # replica's share, must find out from Ray and give up its step, not wait forever.
    strategy = cr.parallel.DataParallel(2)
    killer = KillWorker(strategy, iteration=13, rank=1)
    history, difference = fit_killing(strategy, killer)
    assert killer.killed is not None and strategy.transport == "channels"
    assert history.restarts == 1 and history.iterations == 20
    assert difference < 1e-10


class KillAll(KillWorker):
    """SIGKILL every worker at once after update ``iteration``: no replica finishes the
    step, so the epoch runs again from the driver's state."""

    def on_batch_end(self, state):
        if self.killed is None and state.iteration == self.iteration:
            self.killed = self.strategy.worker_pids()
            for pid in self.killed:
                os.kill(pid, signal.SIGKILL)


@in_child
def test_an_epoch_run_again_after_losing_every_replica_uses_new_channels(local_ray):
    strategy = cr.parallel.DataParallel(2)
    killer = KillAll(strategy, iteration=13)
    history, difference = fit_killing(strategy, killer)
    assert len(killer.killed) == 2 and strategy.transport == "channels"
    assert history.restarts == 2 and history.iterations == 20
    assert difference < 1e-10


@in_child
def test_a_diverged_step_is_not_applied(local_ray):
    # The step submitted after the diverged one reads its shares, sees the loss is not
    # finite and applies nothing, as the fit loop stops before such a step.
    parallel = cr.parallel.DataParallel(2)
    check_a_diverged_step_is_not_applied(parallel)
    assert parallel.transport == "channels"
