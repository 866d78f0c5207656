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
                   split_rows, take_back)


class DataParallel(Strategy):
    r"""Train on ``workers`` Ray actors that share every batch, synchronously.

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

    Why replicas and not the driver applying the update and sending the weights out:
    with the driver updating, every step moves the weights from the driver to every
    worker and every gradient from the workers to the driver, through one process. With
    replicas, a worker's gradient goes into Ray's object store once and the other
    workers read it from there (an all-gather); the driver sends only example indices
    and receives only losses. On this 2-core machine that cuts the time per step spent
    in Ray by about a third (docs/parallel.md), and the optimiser steps, run by every
    replica at once, cost no more time than one step on the driver. The price is state on the workers:
    the driver loads its weights and optimiser state into the replicas when an epoch
    begins and takes them back from one replica when it ends, so between epochs
    callbacks, checkpoints and ``resume=`` see the current state. A worker that dies is
    restarted by Ray (``max_restarts``) and given the state of a replica that finished
    the step, then computes its shard again: training goes on from the current weights,
    which come out the same. (If no replica finished the step, e.g. a lost machine took
    gradients the others needed, the epoch runs again from the driver's state, and its
    ``on_batch_end`` callbacks run again.)

    A step whose loss is not finite is not applied, and training stops there, as in the
    fit loop.

    Differences from single-process training: BatchNorm normalises each shard with the
    shard's statistics (its running statistics are the shard-size-weighted mean of the
    workers'); dropout masks and augmentations are drawn by the workers, each from its
    own stream.

    Args:
        workers: number of worker actors (one CPU each).
        address: a Ray cluster to join (``"host:port"`` or ``"auto"``); None starts a local
            Ray with ``workers`` CPUs for the fit, or uses the one this process is connected to.
    """

    def __init__(self, workers=2, address=None):
        super().__init__(workers, address)

    def _start(self, setup, ray):
        self._ray = ray
        self._shared = share(ray, setup.net, setup.X, setup.target)
        Worker = runtime.actor_class(ReplicaWorker)  # no retries: replicas hold weights
        self._workers = [Worker.remote(setup.loss, rank, setup.augment, setup.penalty,
                                       setup.with_accuracy, blank_optimizer(setup.optimizer),
                                       setup.clip_norm) for rank in range(self.workers)]
        self._actors.extend(self._workers)

    def _load(self, setup):
        params = setup.net.parameters()
        flat = Flat(params)
        values = flat.empty()
        copy_into(flat.views(values), [p.value for p in params])
        state = self._ray.put((values, buffer_arrays(setup.net.layers),
                               setup.optimizer.state_dict(params)))
        wheres = self._ray.get([w.load.remote(self._shared, state) for w in self._workers])
        for rank, where in enumerate(wheres):
            self._seen(rank, where)
        self._pending = None  # (lr, batch size, gradient references): the next update

    def _step(self, setup, rows):
        size = len(rows)
        shards = split_rows(rows, self.workers)
        calls = self._submit(shards, size, self._pending)
        try:
            results = self._ray.get([info for _, info in calls])
        except runtime.lost() as error:
            results = self._recover(error, calls, shards, size)
        value, hits = results[0][2], 0  # the penalty, the same on every replica
        for shard, (v, h, _, _, _) in zip(shards, results):
            value += v * (len(shard) / size)
            hits += h
        self.profile["compute"] += sum(compute for _, _, _, compute, _ in results)
        self.profile["update"] += results[0][4]
        # The replicas apply it as the next step begins (or the epoch ends), at the learning
        # rate of this moment: before the callbacks, as in the fit loop; not if it diverged.
        self._pending = (setup.optimizer.lr, size, [grad for grad, _ in calls[:len(shards)]]) \
            if np.isfinite(value) else None
        return value, hits

    def _submit(self, shards, size, update):
        """Every worker: apply ``update``, then compute the weighted gradient of its shard."""
        lr, previous, grads = update or (0.0, 0, ())
        return [worker.step.options(num_returns=2).remote(
            self._shared, shards[rank] if rank < len(shards) else None, size, lr, previous,
            *grads) for rank, worker in enumerate(self._workers)]

    def _recover(self, error, calls, shards, size):
        """Workers died during this step: give their restarted replicas the state of one
        that finished it (the weights after the last update) and run their shards again.
        Training goes on from the current weights; when no replica finished the step
        (a lost machine took the gradients with it), the epoch runs again instead."""
        ray, done = self._ray, []
        for rank, (_, info) in enumerate(calls):
            try:
                ray.get(info)
                done.append(rank)
            except runtime.lost():
                pass
        if not done:
            raise error
        for rank, where in enumerate(self._locate()):  # waits for Ray's restarts
            self._seen(rank, where)
        state = self._workers[done[0]].state.remote()
        redo = [rank for rank in range(len(calls)) if rank not in done]
        for rank in redo:
            self._workers[rank].load.remote(self._shared, state)
            calls[rank] = self._workers[rank].step.options(num_returns=2).remote(
                self._shared, shards[rank] if rank < len(shards) else None, size, 0.0, 0)
        runtime.log.warning("DataParallel: replica(s) %s restarted with the current weights of "
                            "replica %d", redo, done[0])
        return ray.get([info for _, info in calls])

    def _save(self, setup):
        """Apply the last update on one replica and take its state back to the driver."""
        lr, previous, grads = self._pending or (0.0, 0, ())
        self._pending = None
        values, buffers, state, where = self._ray.get(
            self._workers[0].finish.remote(self._shared, lr, previous, *grads))
        self._seen(0, where)
        params = setup.net.parameters()
        copy_into([p.value for p in params], Flat(params).views(values))
        copy_into(buffer_arrays(setup.net.layers), buffers)
        take_back(setup.optimizer, params, state)

    def __repr__(self):
        return f"DataParallel(workers={self.workers}, address={self.address!r})"


class ReplicaWorker(Replica):
    """A replica of the network and the optimiser: applies the summed gradients of the
    last step, then computes the weighted gradient of its shard of the next one."""

    def __init__(self, loss, rank, augment, penalty, with_accuracy, optimizer, clip_norm):
        super().__init__(loss, rank, augment, None, with_accuracy)
        self.penalties, self.optimizer, self.clip_norm = penalty, optimizer, clip_norm

    def attach(self, shared):
        if self.net is None:
            super().attach(shared)
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
        """Apply the last batch's update; the replica's state and location."""
        self.attach(shared)
        self._apply(lr, previous, shares)
        return (*self.state(), self.location)

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
