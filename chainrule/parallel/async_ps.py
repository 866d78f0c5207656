"""Asynchronous updates through a parameter server.

Seed 000: "multiple workers processing different batches and updating the model
weights asynchronously" — no worker waits for another.
"""
import copy
import math
import numbers
import time
from collections import deque

import numpy as np

from ..errors import InvalidValueError
from ..optim import clip_grad_norm
from ..training import loop
from . import runtime
from .base import (Flat, Replica, Strategy, begin_epoch, blank_optimizer, buffer_arrays,
                   copy_into, pieces, share, take_back)

IN_FLIGHT = 2  # batches queued per worker, so none idles while the driver hands out the next


class AsyncParameterServer(Strategy):
    r"""Asynchronous SGD: workers push gradients to a parameter server, nobody waits.

    A parameter-server actor holds the weights and the optimiser. Each worker repeats:
    compute the gradient of its batch with the weights it holds, push it to the server,
    which applies it at once (``optimizer.step``) and answers with its newest weights.
    While a worker computes, the others' gradients arrive: when its own gradient lands,
    the weights have moved on by :math:`\tau` updates, its *staleness*. The update is
    then :math:`w_{t+1} = w_t - \eta\,\nabla L(w_{t-\tau})`, not the synchronous rule;
    with ``max_staleness=k`` a gradient with :math:`\tau > k` is dropped (not applied:
    its batch is skipped this epoch, and the worker carries on with fresh weights).

    The driver hands out the epoch's batches, the loop's shuffled batches, one worker
    at a time as workers finish; each epoch is one pass over the data. History gets
    per epoch ``staleness`` (mean :math:`\tau` of the epoch's gradients) and
    ``staleness_max``, and ``dropped`` (gradients dropped) when ``max_staleness`` is set.
    ``state.iteration`` counts applied updates; ``on_batch_end`` runs as each batch's
    result arrives. A learning rate changed by a callback reaches the server with the
    next batch handed out.

    Faults: workers hold no state, so Ray restarts a killed one and retries its batch
    (whose gradient may then be applied twice: asynchronous SGD tolerates it). The
    server holds the weights; it is not restarted: losing it ends ``fit`` with an error,
    the last checkpoint (``ModelCheckpoint``) stays intact and ``resume=`` continues.

    Args:
        workers: number of worker actors (one CPU each); the server takes no CPU share.
        max_staleness: None (apply every gradient) or the largest staleness applied.
        address: a Ray cluster to join; None starts (or uses) a local Ray.
    """

    def __init__(self, workers=2, max_staleness=None, address=None):
        super().__init__(workers, address)
        if max_staleness is not None and (isinstance(max_staleness, bool) or not isinstance(
                max_staleness, numbers.Integral) or max_staleness < 0):
            raise InvalidValueError(f"max_staleness must be None or an integer >= 0, "
                                    f"got {max_staleness!r}")
        self.max_staleness = max_staleness

    def _start(self, setup, ray):
        self._ray = ray
        self._shared = share(ray, setup.net, setup.X, setup.target)
        Server = runtime.actor_class(ParameterServer, cpus=0, restarts=0)
        self._server = Server.remote(self._shared[0], blank_optimizer(setup.optimizer),
                                     setup.clip_norm, self.max_staleness)
        Worker = runtime.actor_class(AsyncWorker, retries=runtime.MAX_RESTARTS)
        self._workers = [Worker.remote(setup.loss, rank, setup.augment, setup.penalty,
                                       setup.with_accuracy) for rank in range(self.workers)]
        self._actors.extend([self._server, *self._workers])  # Ray restarts the workers
        for rank, where in enumerate(ray.get([w.ready.remote(self._shared)
                                              for w in self._workers])):
            self._seen(rank, where)

    def _epoch(self, setup, state):
        ray, net, optimizer = self._ray, setup.net, setup.optimizer
        begun = begin_epoch(setup, state)
        if begun is None:
            return None
        rows, bounds, params, last_good = begun
        ray.get(self._server.load.remote([p.value for p in params], buffer_arrays(net.layers),
                                         optimizer.state_dict(params)))
        lr = optimizer.lr
        todo = deque(rows[start:stop] for start, stop in bounds)
        pending = {}
        fresh = set(range(self.workers))  # workers that must pull this epoch's weights first

        def hand_out(rank):
            batch = todo.popleft()
            ref = self._workers[rank].run.remote(self._shared, self._server, batch,
                                                 rank in fresh)
            fresh.discard(rank)
            pending[ref] = (rank, len(batch))

        for _ in range(IN_FLIGHT):
            for rank in range(self.workers):
                if todo:
                    hand_out(rank)
        total, correct, stale, dropped, diverged = 0.0, 0, [], 0, None
        began = time.perf_counter()
        while pending:
            [ref], _ = ray.wait(list(pending), num_returns=1)
            rank, size = pending.pop(ref)
            value, hits, staleness, applied, where, seconds = ray.get(ref)
            self._seen(rank, where)
            self.profile["compute"] += seconds
            self.profile["steps"] += 1
            if not math.isfinite(value):
                diverged = value if diverged is None else diverged
                todo.clear()
                continue
            if diverged is not None:
                continue
            total += value * size
            correct += hits
            stale.append(staleness)
            dropped += not applied
            state.iteration += applied
            state.batch, state.batch_loss = len(stale) - 1, value
            for cb in setup.callbacks:
                cb.on_batch_end(state)
            if optimizer.lr != lr:  # a schedule moved it
                lr = optimizer.lr
                self._server.set_lr.remote(lr)
            if todo:
                hand_out(rank)
        self.profile["seconds"] += time.perf_counter() - began
        self._save(setup)
        if diverged is not None:
            loop._diverged(state, diverged, params, last_good)
            return None
        logs = loop._epoch_logs(setup, total, correct, len(rows))
        logs["staleness"] = float(np.mean(stale))
        logs["staleness_max"] = int(max(stale))
        if self.max_staleness is not None:
            logs["dropped"] = dropped
        return logs

    def _save(self, setup):
        """The server's weights and optimiser state into the driver's network and optimiser."""
        params = setup.net.parameters()
        values, buffers, state, seconds = self._ray.get(self._server.state.remote())
        self.profile["update"] += seconds
        copy_into([p.value for p in params], values)
        copy_into(buffer_arrays(setup.net.layers), buffers)
        take_back(setup.optimizer, params, state)

    def __repr__(self):
        return (f"AsyncParameterServer(workers={self.workers}, "
                f"max_staleness={self.max_staleness}, address={self.address!r})")


class ParameterServer:
    """The weights and the optimiser; applies each gradient as it arrives.

    Buffers (BatchNorm's running statistics) travel with the weights: a worker updates
    them in its forward pass and pushes them with its gradient; the last push wins.
    """

    def __init__(self, net, optimizer, clip_norm, max_staleness):
        runtime.limit_threads(1)
        self.net = copy.deepcopy(net)  # writable arrays: the object store's are read-only
        self.params = self.net.parameters()
        flat = Flat(self.params)
        self.values = flat.adopt(self.params, "value")  # updated in place by the optimiser
        self.grad = flat.adopt(self.params, "grad")
        self.sent, self.received = pieces(self.values), pieces(self.grad)  # what travels
        self.buffers = buffer_arrays(self.net.layers)
        self.optimizer, self.clip_norm, self.max_staleness = optimizer, clip_norm, max_staleness
        self.version = 0  # updates applied
        self.seconds = 0.0  # spent in optimiser steps since the last state()

    def load(self, values, buffers, state):
        copy_into([p.value for p in self.params], values)
        copy_into(self.buffers, buffers)
        self.optimizer.load_state_dict(self.params, state)

    def state(self):
        seconds, self.seconds = self.seconds, 0.0
        return ([p.value for p in self.params], self.buffers,
                self.optimizer.state_dict(self.params), seconds)

    def set_lr(self, lr):
        self.optimizer.lr = lr

    def pull(self):
        return self.sent, self.buffers, self.version

    def push(self, grad, buffers, version):
        """Apply a gradient computed on the weights of update ``version``, unless too stale.

        Returns the newest weights, buffers and version, the gradient's staleness, and
        whether it was applied.
        """
        staleness = self.version - version
        applied = self.max_staleness is None or staleness <= self.max_staleness
        if applied:
            began = time.perf_counter()
            copy_into(self.buffers, buffers)
            copy_into(self.received, grad)
            if self.clip_norm is not None:
                clip_grad_norm(self.params, self.clip_norm)
            self.optimizer.step(self.params)
            self.version += 1
            self.seconds += time.perf_counter() - began
        return self.sent, self.buffers, self.version, staleness, applied


class AsyncWorker(Replica):
    """Computes gradients with the weights it holds, pushes them, keeps the reply."""

    version = values = None

    def run(self, shared, server, rows, pull):
        self.attach(shared)
        ray = runtime.require_ray()
        if pull or self.version is None:  # a new epoch, or a restarted worker
            self._use(*ray.get(server.pull.remote()))
        value, hits = self.gradients(rows)
        if not math.isfinite(value):
            return value, hits, 0, False, self.location, self.seconds
        *newest, staleness, applied = ray.get(
            server.push.remote(pieces(self.grad), self.buffers, self.version))
        self._use(*newest)
        return value, hits, staleness, applied, self.location, self.seconds

    def _use(self, values, buffers, version):
        """The server's weights, in pieces (base.pieces), into this worker's network."""
        if self.values is None:
            self.values = self.flat.empty()
            self.use(self.values)
        copy_into(pieces(self.values), values)
        copy_into(self.buffers, buffers)
        self.version = version
