"""Killed workers are restarted by Ray; Ctrl-C leaves no Ray process behind."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import chainrule as cr
import chainrule.parallel

from .conftest import blobs, max_difference, net64


class KillWorker(cr.callbacks.Callback):
    """SIGKILL the process of worker (or stage) ``rank`` after update ``iteration``."""

    def __init__(self, strategy, iteration, rank=0):
        self.strategy, self.iteration, self.rank = strategy, iteration, rank
        self.killed = None

    def on_batch_end(self, state):
        if self.killed is None and state.iteration == self.iteration:
            self.killed = self.strategy.worker_pids()[self.rank]
            os.kill(self.killed, signal.SIGKILL)


@pytest.mark.parametrize("make", [lambda: cr.parallel.DataParallel(2),
                                  lambda: cr.parallel.Pipeline(2, micro_batches=2)],
                         ids=["data-parallel", "pipeline"])
def test_a_killed_worker_is_restarted_and_the_result_is_unchanged(ray_cluster, make):
    # DataParallel: workers are stateless, Ray restarts the dead one and retries its call.
    # Pipeline: a stage holds weights; the epoch is run again from the driver's copy.
    # Either way the weights end up exactly as single-process training makes them.
    strategy = make()
    killer = KillWorker(strategy, iteration=13, rank=1)
    history, difference = fit_killing(strategy, killer)
    print(f"{strategy!r}: killed process {killer.killed}; Ray restarted {history.restarts} "
          f"actor(s)")
    assert killer.killed is not None
    assert history.restarts == 1
    assert history.iterations == 20
    assert difference < 1e-10


def fit_killing(strategy, killer):
    """Train net64 on blobs with ``strategy`` and the callback ``killer``, and in one
    process: (the parallel History, the largest difference between their weights)."""
    X, y = blobs()
    net, reference = net64(), net64()
    reference.fit(X, y, optimizer=cr.Adam(0.01), epochs=2, batch_size=24, seed=4)
    history = net.fit(X, y, optimizer=cr.Adam(0.01), epochs=2, batch_size=24, seed=4,
                      callbacks=[killer], parallel=strategy)
    return history, max_difference(net, reference)


def test_async_training_survives_a_killed_worker(ray_cluster):
    strategy = cr.parallel.AsyncParameterServer(2)
    killer = KillWorker(strategy, iteration=10)
    X, y = blobs()
    net = net64()
    history = net.fit(X, y, optimizer=cr.SGD(0.05, momentum=0.9), epochs=2, batch_size=16,
                      seed=0, callbacks=[killer], parallel=strategy)
    print(f"{strategy!r}: killed process {killer.killed}; Ray restarted {history.restarts} "
          f"actor(s)")
    assert history.restarts == 1 and history.epochs == 2
    assert history.iterations >= 2 * 15  # a retried batch may be applied twice
    assert history["loss"][-1] < history["loss"][0]


SCRIPT = """
import sys, numpy as np, chainrule as cr, chainrule.parallel
X = np.random.default_rng(0).normal(size=(4000, 32))
y = (X[:, 0] > 0).astype(int)
net = cr.mlp([32, 64, 2], seed=0)

class Announce(cr.callbacks.Callback):
    def on_epoch_end(self, state):
        print("epoch", state.epoch, flush=True)

net.fit(X, y, epochs=1, batch_size=500, parallel=cr.parallel.DataParallel(2))
print("finished", flush=True)
net.fit(X, y, epochs=100000, batch_size=500, callbacks=[Announce()],
        parallel=cr.parallel.DataParallel(2))
"""


def _ray_processes(root):
    """Process ids whose command line names the Ray temporary directory ``root``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if root.encode() in f.read():
                    found.append(int(pid))
        except OSError:  # the process ended meanwhile
            pass
    return found


def test_no_ray_process_is_left_after_training_or_ctrl_c():
    pytest.importorskip("ray")
    root = tempfile.mkdtemp(prefix="cr-ray-")  # short: Ray's socket paths live under it
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_TMPDIR"] = root
    child = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("finished"):  # the first fit started and stopped its own Ray
                assert _wait_until_gone(root) == []
            if line.startswith("epoch"):    # the second one is training: Ctrl-C
                assert _ray_processes(root), "the second fit runs on a Ray of its own"
                child.send_signal(signal.SIGINT)
                break
        stderr = child.communicate(timeout=60)[1]
        assert "finished" in lines, stderr[-2000:]
        assert "KeyboardInterrupt" in stderr
        assert _wait_until_gone(root) == []
    finally:
        if child.poll() is None:
            child.kill()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_gone(root, seconds=10):
    deadline = time.monotonic() + seconds
    while _ray_processes(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _ray_processes(root)
