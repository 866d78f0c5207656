"""Synchronous data parallelism: every worker computes the gradient of its share of a batch.

Seed 000: "the training dataset is split across multiple devices. Each device processes
a different subset of the data in parallel, computes the gradients, and then aggregates
the results to update the weights."
"""
import math
import time

import numpy as np

from ..errors import InvalidValueError, unknown
from ..optim import clip_grad_norm
from . import runtime
from .base import (Flat, Replica, Strategy, blank_optimizer, buffer_arrays, copy_into, pieces,
                   share, split_rows, take_back)

EXCHANGES = ("auto", "channels", "object store")
PATIENCE = 0.25  # seconds a replica waits on a channel before checking that the others live


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
    replicas, the workers swap their gradients among themselves (an all-gather; a worker
    keeps its own); the driver sends only example indices and receives only losses, and
    the optimiser steps, run by every replica at once, cost no more time than one step on
    the driver. The driver submits each step before it waits for the losses of the one
    before: a worker starts the next step at once, gathers its examples, then reads the
    others' gradients as soon as they exist. The replicas read the losses too and skip
    the update of a step whose loss is not finite.

    How the gradients travel: when all the workers run on one machine, each writes its
    share into a shared-memory channel of its own that the others read (Ray's
    ``ray.experimental.channel``, what its compiled graphs use). That halves the time a
    step spends in Ray on this 2-core machine (docs/parallel.md): a channel is written in
    place, step after step, with none of the object store's per-object bookkeeping. A
    channel does not notice that the process at its other end died, so a replica waiting
    on one checks every ``PATIENCE`` seconds that the others are alive. Across machines
    the shares go through the object store (:func:`arguments`): a channel to another
    machine can freeze Ray on the reader's machine when the reader dies.

    The price of replicas is state on the workers: the driver loads its weights and
    optimiser state into the replicas when an epoch begins and takes them back from one
    replica when it ends, so between epochs callbacks, checkpoints and ``resume=`` see the
    current state. A worker that dies is restarted by Ray (``max_restarts``) and given the
    state of a replica that finished the step, then computes its shard again: training
    goes on from the current weights, which come out the same. (If no replica finished
    the step, e.g. a lost machine took gradients the others needed, the epoch runs again
    from the driver's state, on new channels, and its ``on_batch_end`` callbacks run
    again.)

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
        exchange: how the replicas swap gradients: ``"auto"`` (channels when all of them run
            on one machine, else the object store), ``"channels"`` (an error when they do
            not run on one machine) or ``"object store"``. During and after ``fit``,
            ``transport`` says which one was used.
    """

    def __init__(self, workers=2, address=None, exchange="auto"):
        super().__init__(workers, address)
        if exchange not in EXCHANGES:
            raise unknown("exchange", exchange, EXCHANGES)
        self.exchange = exchange
        self.transport = None  # "channels" or "object store", once the workers are placed

    def _start(self, setup, ray):
        self._ray = ray
        self._shared = share(ray, setup.net, setup.X, setup.target)
        Worker = runtime.actor_class(ReplicaWorker)  # no retries: replicas hold weights
        self._workers = [Worker.remote(setup.loss, rank, setup.augment, setup.penalty,
                                       setup.with_accuracy, blank_optimizer(setup.optimizer),
                                       setup.clip_norm) for rank in range(self.workers)]
        self._actors.extend(self._workers)
        self._wire()
        self._clean = True  # the channels are empty: every share written was read

    def _wire(self, resend=()):
        """Tell the replicas how shares travel (see the class doc): by channel when all of
        them run on one machine, which is checked again after a restart. ``resend``: the
        ranks whose last share goes again into their new channel."""
        ray, workers = self._ray, self._workers
        self._wired = wheres = self._locate()  # waits for Ray to restart what died
        for rank, where in enumerate(wheres):
            self._seen(rank, where)
        machines = len({node for node, _ in wheres})
        if self.exchange == "channels" and machines > 1:
            raise InvalidValueError(
                f"{self!r}: its workers run on {machines} machines, and channels join workers "
                f"on one machine only; use exchange='auto' or 'object store'")
        by_channel = len(workers) > 1 and machines == 1 and self.exchange != "object store"
        self.transport = "channels" if by_channel else "object store"
        channels = ray.get([w.channel.remote(self._shared, [o for o in workers if o is not w])
                            for w in workers]) if by_channel else None
        ids = [w._actor_id.hex() for w in workers]
        ray.get([w.wire.remote(channels, ids, rank in resend) for rank, w in enumerate(workers)])

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
        if wheres != self._wired or not self._clean:  # the epoch runs again after a failure
            self._wire()  # new channels: the old ones may hold shares no one will read
        self._clean = False
        self._next = None  # the step submitted ahead: (shards, size, calls)
        self._pending = None  # the update the replicas apply when the epoch ends

    def _step(self, setup, rows, upcoming=None):
        """One update; the step of ``upcoming`` is submitted before this one is waited for,
        so the workers go from one step to the next without waiting for the driver."""
        step = self._next or self._submit(rows)
        lr = setup.optimizer.lr  # this step's, as the fit loop applies it: before the callbacks
        self._next = self._ahead(upcoming, lr, step)
        try:
            results = self._ray.get([info for _, info in step[2]])
        except runtime.lost() as error:
            results = self._recover(error, step, lr, upcoming)
        shards = step[0]
        value, hits = batch_loss(results[:len(shards)]), sum(h for _, h, *_ in results)
        self.profile["compute"] += sum(compute for _, _, _, compute, _ in results)
        self.profile["update"] += results[0][4]
        # The replicas skip a diverged step's update (they read the losses in its shares),
        # as the fit loop stops before it: in the step submitted ahead, or in finish().
        self._pending = update(lr, step) if upcoming is None else None
        return value, hits

    def _submit(self, rows, last=None):
        """Every worker: apply the update ``last``, then compute the weighted gradient of
        its shard of ``rows``. Returns (shards, batch size, each worker's references)."""
        shards, size = split_rows(rows, self.workers), len(rows)
        return shards, size, [self._call(rank, shards, size, last)
                              for rank in range(self.workers)]

    def _ahead(self, upcoming, lr, step):
        """The step of ``upcoming``, submitted after the update of ``step`` (None: none)."""
        return None if upcoming is None else self._submit(upcoming, update(lr, step))

    def _call(self, rank, shards, size, last):
        lr, previous, calls = last or (0.0, 0, ())
        return self._workers[rank].step.options(num_returns=2).remote(
            shards[rank] if rank < len(shards) else None, size, lr, previous,
            self._senders(calls, rank))

    def _senders(self, calls, rank):
        """What worker ``rank`` is told about the shares of ``calls``: how many there are
        when they travel by channel, else their references (:func:`arguments`)."""
        return len(calls) if self.transport == "channels" else arguments(calls, rank)

    def _recover(self, error, step, lr, upcoming):
        """Workers died during this step: give their restarted replicas the state of one
        that finished it (the weights after the last update) and run their shards again.
        Training goes on from the current weights; when no replica finished the step
        (a lost machine took the gradients with it), the epoch runs again instead."""
        ray, (shards, size, calls), done = self._ray, step, []
        if self._next is not None:  # it fails: it needs this step's gradients
            runtime.settle([info for _, info in self._next[2]])
            self._next = None
        for rank, (_, info) in enumerate(calls):
            try:
                ray.get(info)
                done.append(rank)
            except runtime.lost():
                pass
        transport = self.transport
        if done:
            self._wire(resend=[rank for rank in done if rank < len(shards)])
        if not done or self.transport != transport:  # the shares of this step are lost
            raise error
        state = self._workers[done[0]].state.remote()
        redo = [rank for rank in range(len(calls)) if rank not in done]
        for rank in redo:
            self._workers[rank].load.remote(self._shared, state)
            calls[rank] = self._call(rank, shards, size, None)
        runtime.log.warning("DataParallel: replica(s) %s restarted with the current weights of "
                            "replica %d", redo, done[0])
        results = ray.get([info for _, info in calls])
        self._next = self._ahead(upcoming, lr, step)
        return results

    def _save(self, setup):
        """Apply the last update on every replica and take the state of one back to the driver."""
        lr, previous, calls = self._pending or (0.0, 0, ())
        self._pending = self._next = None
        # Every replica reads the last shares: they leave the channels empty for what follows.
        finished = self._ray.get([w.finish.remote(lr, previous, self._senders(calls, rank),
                                                  report=rank == 0)
                                  for rank, w in enumerate(self._workers)])
        values, buffers, state, where = finished[0]
        self._clean = True
        self._seen(0, where)
        params = setup.net.parameters()
        copy_into([p.value for p in params], Flat(params).views(values))
        copy_into(buffer_arrays(setup.net.layers), buffers)
        take_back(setup.optimizer, params, state)

    def __repr__(self):
        exchange = "" if self.exchange == "auto" else f", exchange={self.exchange!r}"
        return f"DataParallel(workers={self.workers}, address={self.address!r}{exchange})"


class ReplicaWorker(Replica):
    """A replica of the network and the optimiser: applies the summed gradients of the
    last step, then computes the weighted gradient of its shard of the next one."""

    def __init__(self, loss, rank, augment, penalty, with_accuracy, optimizer, clip_norm):
        super().__init__(loss, rank, augment, None, with_accuracy)
        self.penalties, self.optimizer, self.clip_norm = penalty, optimizer, clip_norm
        self.loaded = False
        self.out = self.inputs = None  # channels, when the shares travel by channel

    def attach(self, shared):
        if self.net is None:
            super().attach(shared)
            self.values = self.flat.adopt(self.params, "value")  # updated in place
            self.scaled = self.flat.empty()  # this shard's weighted gradient
            self.sent, self.sums = pieces(self.scaled), pieces(self.grad)  # views

    def channel(self, shared, readers):
        """A new channel for this replica's shares, read by the actors ``readers``, all on
        this machine."""
        from ray.experimental.channel.shared_memory_channel import Channel

        self.attach(shared)
        ray = runtime.require_ray()
        node = ray.get_runtime_context().get_node_id()
        size = self.grad.nbytes + sum(b.nbytes for b in self.buffers) + (1 << 16)
        self.out = Channel(ray.get_runtime_context().current_actor,
                           [(reader, node) for reader in readers], size)
        return self.out

    def wire(self, channels, peers, resend=False):
        """Exchange shares by ``channels`` (every worker's, in rank order; this one's is
        ``self.out``), or through the object store (None). ``peers``: every worker's actor
        id, watched while waiting on a channel. ``resend``: write this replica's last share
        again, into its new channel (after a restart, into which no one read it)."""
        self.inputs = channels
        if channels is None:
            self.out = None
            return
        others = [actor for rank, actor in enumerate(peers) if rank != self.rank]
        self.peers = dict(zip(others, runtime.restarts(others)))
        for rank, channel in enumerate(channels):
            if rank != self.rank:
                channel.ensure_registered_as_reader()
        self.out.ensure_registered_as_writer()
        if resend:
            self._wait(self.out.write, self.own)

    def load(self, shared, state):
        self.attach(shared)
        values, buffers, optimizer = state
        np.copyto(self.values, values)
        copy_into(self.buffers, buffers)
        self.optimizer.load_state_dict(self.params, optimizer)
        self.own = None  # this replica's share of the last step: none yet
        self.loaded = True
        return self.location

    def step(self, rows, size, lr, previous, last=()):
        """Apply the last batch's update (``last``: see :meth:`_shares`), then return
        (this shard's share: its weighted gradient, running statistics and info; info),
        info being (weighted loss, hits, penalty, compute seconds, update seconds). A share
        sent by channel is not returned (None)."""
        self._require_load()
        examples = None if rows is None else self.examples(rows)  # while ``last`` travels
        shares = self._shares(last)
        began = time.perf_counter()
        if not self._update(lr, previous, shares):
            return None, (math.nan, 0, 0.0, 0.0, 0.0)  # the driver stops at that step
        del shares  # views of the channels: their writers wait until they are dropped
        seconds = time.perf_counter() - began
        penalty = sum(term.value(term.select(self.net), size) for term in self.penalties or ())
        if rows is None:  # a batch smaller than the number of workers
            return None, (0.0, 0, penalty, 0.0, seconds)
        value, hits = self.gradients(rows, examples)
        weight = len(rows) / size
        np.multiply(self.grad, weight, out=self.scaled)
        info = (value * weight, hits, penalty, self.seconds, seconds)
        self.own = self.sent, [buf * weight for buf in self.buffers], info
        if self.out is None:
            return self.own, info
        try:
            self._wait(self.out.write, self.own)
        except runtime.ActorRestarted:
            self.loaded = False  # it applied an update the lost replica may not have
            raise
        return None, info

    def finish(self, lr, previous, last=(), report=True):
        """Apply the last batch's update; the replica's state and location (``report``),
        or only its location."""
        self._require_load()
        self._update(lr, previous, self._shares(last))
        return (*self.state(), self.location) if report else self.location

    def state(self):
        """The replica's weights (one vector), buffers and optimiser state."""
        self._require_load()
        return self.values, self.buffers, self.optimizer.state_dict(self.params)

    def _require_load(self):
        if not self.loaded:  # a new process, or a replica that lost a peer mid-exchange
            raise runtime.ActorRestarted(f"replica {self.rank} does not hold the current "
                                         f"weights: it was restarted by Ray, or it lost another "
                                         f"replica after its last update")

    def _shares(self, last):
        """The workers' shares of the last batch, in rank order, this replica's own kept:
        read from the channels of the first ``last`` ranks, or from the object store
        (``last``: references, :func:`arguments`)."""
        if self.inputs is None:
            return [self.own if share is None else share for share in fetch(last)]
        return [self.own if rank == self.rank else self._wait(self.inputs[rank].read)
                for rank in range(last)]

    def _wait(self, transfer, *value):
        """``transfer(*value)`` on a channel, checking every ``PATIENCE`` seconds that the
        other replicas live: a channel does not notice that the process at its other end
        died."""
        ray = runtime.require_ray()
        while True:
            try:
                return transfer(*value, timeout=PATIENCE)
            except ray.exceptions.RayChannelTimeoutError:
                now = dict(zip(self.peers, runtime.restarts(self.peers)))
                if now != self.peers:
                    raise runtime.ActorRestarted(
                        f"replica {self.rank} lost another replica while waiting for its "
                        f"gradients (restarts {self.peers} became {now})") from None

    def _update(self, lr, size, shares):
        """Apply the update of ``shares`` unless their loss is not finite; whether it was."""
        if shares and not math.isfinite(batch_loss([info for _, _, info in shares])):
            return False
        self._apply(lr, size, shares)
        return True

    def _apply(self, lr, size, shares):
        """The fit loop's update from the workers' (gradient, buffers, info) of a batch
        of ``size``, in rank order."""
        if not shares:
            return
        for j, total in enumerate(self.sums):  # p.grad are views of self.grad
            parts = [grad[j] for grad, _, _ in shares]
            if len(parts) == 1:
                np.copyto(total, parts[0])
            else:  # as many additions as copying the first and adding the others
                np.add(parts[0], parts[1], out=total)
            for part in parts[2:]:
                total += part
        for i, buf in enumerate(self.buffers):  # running statistics: the weighted mean
            np.copyto(buf, shares[0][1][i])
            for _, buffers, _ in shares[1:]:
                buf += buffers[i]
        for term in self.penalties or ():  # as compute_gradients adds them
            term.add_grad(term.select(self.net), size)
        if self.clip_norm is not None:
            clip_grad_norm(self.params, self.clip_norm)
        self.optimizer.lr = lr
        self.optimizer.step(self.params)


def update(lr, step):
    """The update of a submitted ``step`` at learning rate ``lr``: (lr, batch size, the
    references returned by the workers that had a shard of it)."""
    shards, size, calls = step
    return lr, size, calls[:len(shards)]


def arguments(calls, rank):
    """What worker ``rank`` is sent to apply the update of ``calls``: each worker's share
    (gradient, running statistics and loss), in rank order. Its own is None: it kept it,
    so it does not read it back from the object store.

    They travel in a list, not as arguments of their own, so Ray starts the call at once
    rather than when they exist: the worker gathers its examples while the others'
    gradients are on their way, then reads them (:func:`fetch`). The losses travel inside
    the shares, so a worker reads one object per other worker and none of its own.
    """
    return [None if k == rank else share for k, (share, _) in enumerate(calls)]


def fetch(refs):
    """The objects behind ``refs``, in order; None stays None."""
    found = iter(runtime.require_ray().get([ref for ref in refs if ref is not None]))
    return [None if ref is None else next(found) for ref in refs]


def batch_loss(infos):
    """A batch's loss from its workers' (weighted loss, hits, penalty, ...): the same
    sum, in the same order, on the driver and on every replica."""
    value = infos[0][2]  # the penalty, the same on every replica
    for info in infos:
        value += info[0]
    return value
