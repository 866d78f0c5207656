"""Synchronous data parallelism: every worker computes the gradient of its share of a batch.

Seed 000: "the training dataset is split across multiple devices. Each device processes
a different subset of the data in parallel, computes the gradients, and then aggregates
the results to update the weights."
"""
import time

import numpy as np

from ..optim import clip_grad_norm
from . import runtime
from .base import (Flat, Replica, Strategy, blank_optimizer, buffer_arrays, copy_into, share,
                   split_rows)


class DataParallel(Strategy):
    r"""Train on ``workers`` replicas that share every batch, synchronously: the driver
    and ``workers - 1`` Ray actors.

    The training set goes into Ray's object store once; each worker reads it without a
    copy (on another machine: one copy per machine). A batch :math:`B` is cut into
    shards :math:`S_k`, one per worker; worker :math:`k` computes
    :math:`g_k = \frac{|S_k|}{|B|}\nabla L_{S_k}` and their sum

    .. math::
        \sum_k \frac{|S_k|}{|B|}\,\frac{1}{|S_k|}\sum_{i\in S_k}\nabla\ell_i
        = \frac{1}{|B|}\sum_{i\in B}\nabla\ell_i = \nabla L_B

    is the whole batch's gradient. Every worker is a replica with its own copy of the
    optimiser: it adds up all the :math:`g_k` (in the same order everywhere, so the
    replicas stay bit-identical), adds the penalties for the whole batch, clips, and
    applies the optimiser step, exactly as the fit loop does in one process.

    Why replicas: each gradient goes into Ray's object store once and every other replica
    reads it from there (an all-gather), instead of every gradient going to one process
    and the weights coming back out of it. Why the driver is replica 0: it would
    otherwise sit idle while the actors compute, and its shard costs no actor call and
    no copy out of the object store; on this 2-core machine that cut Ray's share of a
    step from about 8.6 to about 4 ms (docs/parallel.md). Between epochs the driver's
    network and optimiser hold the state: the driver loads it into the replicas when an
    epoch begins and takes it back from its own replica when the epoch ends, so
    callbacks, checkpoints and ``resume=`` see the current state. An actor that dies is
    restarted by Ray (``max_restarts``), given the driver replica's state (the weights
    after the last update) and computes its shard again: training goes on from the
    current weights, which come out the same. (If a lost machine took gradients the
    others needed, the epoch runs again from the driver's state, and its
    ``on_batch_end`` callbacks run again.)

    A step whose loss is not finite is not applied, and training stops there, as in the
    fit loop.

    Differences from single-process training: BatchNorm normalises each shard with the
    shard's statistics (its running statistics are the shard-size-weighted mean of the
    workers'); dropout masks and augmentations are drawn by the workers, each from its
    own stream.

    Args:
        workers: number of replicas, the driver included (one CPU each; Ray runs
            ``workers - 1`` actors).
        address: a Ray cluster to join (``"host:port"`` or ``"auto"``); None starts a local
            Ray with ``workers - 1`` CPUs for the fit, or uses the one this process is
            connected to.
    """

    def __init__(self, workers=2, address=None):
        super().__init__(workers, address)

    @property
    def cpus(self):
        return self.workers - 1  # the driver computes the first shard itself

    def _start(self, setup, ray):
        self._ray = ray
        self._shared = share(ray, setup.net, setup.X, setup.target) if self.workers > 1 else []
        args = (setup.loss, setup.augment, setup.penalty, setup.with_accuracy,
                blank_optimizer(setup.optimizer), setup.clip_norm)
        self._local = ReplicaWorker(*args, rank=0, threads=None)  # fit holds the driver to 1
        self._local.hold(setup.net, setup.X, setup.target)  # not the store's copy: less RSS
        Worker = runtime.actor_class(ReplicaWorker)  # no retries: replicas hold weights
        self._workers = [Worker.remote(*args, rank=rank) for rank in range(1, self.workers)]
        self._actors.extend(self._workers)

    def _load(self, setup):
        params = setup.net.parameters()
        flat = Flat(params)
        values = flat.empty()
        copy_into(flat.views(values), [p.value for p in params])
        state = (values, buffer_arrays(setup.net.layers), setup.optimizer.state_dict(params))
        self._local.load(self._shared, state)
        if self._workers:
            shared = self._ray.put(state)
            wheres = self._ray.get([w.load.remote(self._shared, shared) for w in self._workers])
            for rank, where in enumerate(wheres, 1):
                self._seen(rank, where)
        self._pending = None  # the next update: see _update

    def _step(self, setup, rows):
        size = len(rows)
        shards = split_rows(rows, self.workers)
        lr, previous, refs, shares = self._update()
        calls = [worker.step.options(num_returns=2).remote(
            self._shared, shards[rank] if rank < len(shards) else None, size, lr, previous,
            *refs) for rank, worker in enumerate(self._workers, 1)]
        own, info = self._local.step(self._shared, shards[0], size, lr, previous, *shares)
        refs = [self._ray.put(own)] if self._workers else []  # before the next step's overwrite
        try:
            results = [info] + self._ray.get([info for _, info in calls])
        except runtime.lost() as error:
            results = [info] + self._recover(error, calls, shards, size)
        value, hits = info[2], 0  # the penalty, the same on every replica
        for shard, (v, h, _, _, _) in zip(shards, results):
            value += v * (len(shard) / size)
            hits += h
        self.profile["compute"] += sum(compute for _, _, _, compute, _ in results)
        self.profile["update"] += info[4]
        # The replicas apply it as the next step begins (or the epoch ends), at the learning
        # rate of this moment: before the callbacks, as in the fit loop; not if it diverged.
        refs += [grad for grad, _ in calls[:len(shards) - 1]]
        self._pending = (setup.optimizer.lr, size, own, refs) if np.isfinite(value) else None
        return value, hits

    def _update(self):
        """The last step's update: (learning rate, batch size, the gradients' references
        for the actors, the gradients for the driver's replica: its own, then the actors')."""
        if self._pending is None:
            return 0.0, 0, (), ()
        lr, size, own, refs = self._pending
        # A lost machine's gradients raise here, and the epoch runs again.
        return lr, size, refs, [own] + self._ray.get(refs[1:])

    def _recover(self, error, calls, shards, size):
        """Actors died during this step: give their restarted replicas the driver replica's
        state (the weights after the last update) and run their shards again."""
        ray, redo = self._ray, []
        for i, (_, info) in enumerate(calls):
            try:
                ray.get(info)
            except runtime.lost():
                redo.append(i)
        for rank, where in enumerate(self._locate(), 1):  # waits for Ray's restarts
            self._seen(rank, where)
        state = ray.put(self._local.state())
        for i in redo:
            rank = i + 1
            self._workers[i].load.remote(self._shared, state)
            calls[i] = self._workers[i].step.options(num_returns=2).remote(
                self._shared, shards[rank] if rank < len(shards) else None, size, 0.0, 0)
        runtime.log.warning("DataParallel: replica(s) %s restarted with the driver's current "
                            "weights", [i + 1 for i in redo])
        return ray.get([info for _, info in calls])

    def _save(self, setup):
        """Apply the last update on the driver's replica and take its state."""
        lr, previous, _, shares = self._update()
        self._pending = None
        values, buffers, state = self._local.finish(self._shared, lr, previous, *shares)
        params = setup.net.parameters()
        copy_into([p.value for p in params], Flat(params).views(values))
        copy_into(buffer_arrays(setup.net.layers), buffers)
        setup.optimizer.load_state_dict(params, state)

    def __repr__(self):
        return f"DataParallel(workers={self.workers}, address={self.address!r})"


class ReplicaWorker(Replica):
    """A replica of the network and the optimiser: applies the summed gradients of the
    last step, then computes the weighted gradient of its shard of the next one."""

    def __init__(self, loss, augment, penalty, with_accuracy, optimizer, clip_norm, rank,
                 threads=1):
        super().__init__(loss, rank, augment, None, with_accuracy, threads)
        self.penalties, self.optimizer, self.clip_norm = penalty, optimizer, clip_norm

    def hold(self, net, X, target):
        super().hold(net, X, target)
        self.values = self.flat.adopt(self.params, "value")  # updated in place

    def load(self, shared, state):
        self.attach(shared)
        values, buffers, optimizer = state
        np.copyto(self.values, values)
        copy_into(self.buffers, buffers)
        self.optimizer.load_state_dict(self.params, optimizer)
        return self.location

    def step(self, shared, rows, size, lr, previous, *shares):
        """Apply the last batch's update, then return (this shard's weighted gradient and
        running statistics, (loss, hits, penalty, compute seconds, update seconds))."""
        self.attach(shared)
        began = time.perf_counter()
        self._apply(lr, previous, shares)
        update = time.perf_counter() - began
        penalty = sum(term.value(term.select(self.net), size) for term in self.penalties or ())
        if rows is None:  # a batch smaller than the number of workers
            return None, (0.0, 0, penalty, 0.0, update)
        value, hits = self.gradients(rows)
        weight = len(rows) / size
        self.grad *= weight
        return ((self.grad, [buf * weight for buf in self.buffers]),
                (value, hits, penalty, self.seconds, update))

    def finish(self, shared, lr, previous, *shares):
        """Apply the last batch's update; the replica's state."""
        self.attach(shared)
        self._apply(lr, previous, shares)
        return self.state()

    def state(self):
        """The replica's weights (one vector), buffers and optimiser state."""
        return self.values, self.buffers, self.optimizer.state_dict(self.params)

    def _apply(self, lr, size, shares):
        """The fit loop's update from the workers' (gradient, buffers) of a batch of ``size``."""
        if not shares:
            return
        np.copyto(self.grad, shares[0][0])  # p.grad are views of self.grad
        for grad, _ in shares[1:]:
            self.grad += grad
        for i, buf in enumerate(self.buffers):  # running statistics: the weighted mean
            np.copyto(buf, shares[0][1][i])
            for _, buffers in shares[1:]:
                buf += buffers[i]
        for term in self.penalties or ():  # as compute_gradients adds them
            term.add_grad(term.select(self.net), size)
        if self.clip_norm is not None:
            clip_grad_norm(self.params, self.clip_norm)
        self.optimizer.lr = lr
        self.optimizer.step(self.params)
