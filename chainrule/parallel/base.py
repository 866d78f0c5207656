"""What the three strategies share: one Ray session per fit, the loop's epochs, replicas.

A strategy plugs into the one fit loop of :mod:`chainrule.training.loop`: ``fit`` builds
the loop's setup (validated data, loss, optimiser, callbacks...) and hands it to
``strategy.fit(setup)``, which starts Ray and the actors, sets ``setup.run_epoch`` and
runs the loop's own ``_train``. Epochs, History, callbacks, early stopping, checkpoints,
``resume=`` and ``restarts=`` therefore behave as in single-process training.

Between epochs the driver's network and optimiser are the truth. During an epoch the
actors hold the weights (data-parallel replicas, pipeline stages, the parameter server):
they are loaded from the driver when the epoch begins and written back before the
epoch's callbacks run, so a checkpoint or ``EarlyStopping`` sees the current weights and
optimiser state, and an epoch can be run again from the driver's copy if Ray has to
restart an actor that held weights.
"""
import copy
import math
import numbers
import time

import numpy as np

from .. import backend, flat
from ..errors import InvalidValueError
from ..layers.base import set_frozen_gradients
from ..training import loop
from . import runtime

REPLAYS = 3  # times an epoch is re-run after losing an actor that held weights


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class Strategy:
    """Base class: the Ray session, the actors' lifetime and the synchronous epoch.

    A synchronous subclass gives ``_start(setup, ray)`` (create the actors: every one in
    ``self._actors``, those Ray restarts also in ``self._workers``), ``_load(setup)`` (the
    driver's weights and optimiser state into the actors, as an epoch begins),
    ``_step(setup, rows, upcoming) -> (loss, hits)`` (one weight update from the examples
    ``rows``, not applied when the loss is not finite; ``upcoming`` are the next step's
    examples, None at the epoch's end, for a strategy that submits work ahead) and
    ``_save(setup)`` (the actors' weights and optimiser state back into the driver's
    network and optimiser).

    After ``fit``, ``history.restarts`` counts the actors Ray restarted during the run,
    and ``strategy.profile`` says where the time went: ``seconds`` of training (the
    driver's wall clock over the batches), ``compute`` seconds the workers spent in
    forward and backward passes (summed over workers), ``update`` seconds of optimiser
    steps (and gradient sums) on the critical path, and ``steps``. What the workers did
    not spend computing, ``workers * seconds - compute``, went to communication and
    waiting: see :func:`communication_share`.
    """

    def __init__(self, workers, address):
        self.workers = positive_int("workers", workers)
        if address is not None and not isinstance(address, str):
            raise InvalidValueError(f"address must be a string such as '10.0.0.1:6379' or "
                                    f"'auto', got {address!r}")
        self.address = address
        self.restarts = 0
        self._actors, self._workers = [], []

    @property
    def cpus(self):
        """CPUs of a local Ray started for this strategy: one per worker."""
        return self.workers

    def fit(self, setup, resume=None, restarts=0, restart_after=10):
        """Run the fit loop on Ray; the trained weights end up in ``setup.net``."""
        self._check(setup)
        with runtime.Session(self.address, self.cpus), runtime.driver_threads(1):
            ray = runtime.require_ray()
            self.restarts, self._where = 0, {}
            self.profile = {"steps": 0, "seconds": 0.0, "compute": 0.0, "update": 0.0}
            cpus = ray.cluster_resources().get("CPU", 0)
            if cpus < self.cpus:  # the actors would wait for CPUs forever
                raise InvalidValueError(
                    f"{self!r} needs {self.cpus} CPUs for its workers, but the Ray cluster it "
                    f"runs on has {cpus:g}; use fewer workers or a larger cluster")
            try:
                self._start(setup, ray)
                setup.run_epoch = self._epoch
                if restarts:
                    history = loop._train_with_restarts(setup, restarts, restart_after)
                else:
                    history = loop._train(setup, resume=resume)
            finally:
                setup.run_epoch = None
                runtime.kill(self._actors)
                self._actors, self._workers = [], []
        history.restarts = self.restarts
        return history

    def _check(self, setup):
        """Refuse what this strategy cannot do, before Ray starts."""

    def worker_pids(self):
        """The process id of each worker (pipeline: stage), while ``fit`` runs."""
        return [pid for _, pid in self._locate()]

    def worker_nodes(self):
        """The Ray node id of each worker (pipeline: stage), while ``fit`` runs."""
        return [node for node, _ in self._locate()]

    def _locate(self):
        """Where every worker runs, waiting for any that Ray is restarting."""
        ray = runtime.require_ray()
        return ray.get([w.where.options(max_task_retries=-1).remote() for w in self._workers])

    def _seen(self, key, where):
        """Record where actor ``key`` answered from; a new process is a restart."""
        before = self._where.get(key)
        if before is not None and before != where:
            self.restarts += 1
            runtime.log.warning("%s: actor %s was restarted by Ray (process %s on node %.8s, "
                                "was %s); training goes on", type(self).__name__, key,
                                where[1], where[0], before[1])
        self._where[key] = where

    # ---- the synchronous epoch (DataParallel, Pipeline) ----------------------------------
    def _epoch(self, setup, state):
        """``loop._epoch`` with each batch's update done by ``self._step``."""
        begun = begin_epoch(setup, state)
        if begun is None:
            return None
        rows, bounds, params, last_good = begun
        first_iteration = state.iteration
        for attempt in range(REPLAYS + 1):
            try:
                return self._batches(setup, state, rows, bounds, params, last_good)
            except runtime.lost() as error:
                if attempt == REPLAYS:
                    raise
                self._locate()  # wait for Ray to restart what died
                state.iteration = first_iteration  # the restart is counted when it answers
                runtime.log.warning("%s lost an actor in epoch %d (%s); Ray restarts it and "
                                    "the epoch runs again from its start", type(self).__name__,
                                    state.epoch + 1, type(error).__name__)

    def _batches(self, setup, state, rows, bounds, params, last_good):
        self._load(setup)
        total, correct = 0.0, 0
        for state.batch, (start, stop) in enumerate(bounds):
            began = time.perf_counter()
            after = state.batch + 1
            upcoming = rows[slice(*bounds[after])] if after < len(bounds) else None
            value, hits = self._step(setup, rows[start:stop], upcoming)
            self.profile["seconds"] += time.perf_counter() - began
            self.profile["steps"] += 1
            if not math.isfinite(value):
                self._save(setup)
                loop._diverged(state, value, params, last_good)
                return None
            state.iteration += 1
            state.batch_loss = value
            total += value * (stop - start)
            correct += hits
            for cb in setup.callbacks:
                cb.on_batch_end(state)
        self._save(setup)
        return loop._epoch_logs(setup, total, correct, len(rows))

    def _load(self, setup):
        raise NotImplementedError

    def _save(self, setup):
        raise NotImplementedError


def communication_share(profile, workers):
    """The fraction of the workers' time not spent computing: communication, waiting for
    the driver or the server, and Ray's own work."""
    capacity = workers * profile["seconds"]
    return 1.0 - profile["compute"] / capacity if capacity else math.nan


def begin_epoch(setup, state):
    """Start an epoch as ``loop._epoch`` does: the ``on_epoch_begin`` callbacks, then the
    shuffle, drawn the same way. Returns (example indices in batch order, batch bounds,
    parameters, their last good values), or None when there is nothing to train on."""
    rows = loop._epoch_rows(setup)
    n = len(setup.X) if rows is None else len(rows)
    if n == 0:
        return None
    bounds = loop._batch_bounds(n, setup.batch_size, setup.merge_single)
    state.batches = len(bounds)
    for cb in setup.callbacks:
        cb.on_epoch_begin(state)
    order = loop._epoch_order(setup, n, bounds)
    if rows is None:
        rows = np.arange(n) if order is None else order
    elif order is not None:
        rows = rows[order]
    params = setup.net.parameters()
    return rows, bounds, params, loop._snapshot(setup, params)


def split_rows(rows, parts):
    """``rows`` cut into at most ``parts`` consecutive pieces of near-equal size, none empty."""
    return [piece for piece in np.array_split(rows, parts) if len(piece)]


# ---- arrays and optimiser state -------------------------------------------------------
def buffer_arrays(layers):
    """Every buffer (BatchNorm's running statistics) of ``layers``, in a fixed order."""
    return [b for layer in layers for _, b in sorted(layer.buffers().items())]


def copy_into(targets, sources):
    for target, source in zip(targets, sources):
        target[...] = source


class Flat:
    """One vector holding the arrays of every parameter, in ``parameters()`` order.

    Weights and gradients travel as one such vector: Ray stores one object instead of
    one per array, which is measurably cheaper per step. ``views(vector)`` gives arrays
    shaped like the parameters that share the vector's memory.
    """

    def __init__(self, params):
        self.shapes = [p.value.shape for p in params]
        self.dtype = params[0].value.dtype if params else np.float64
        self.bounds = np.cumsum([0] + [p.value.size for p in params]).tolist()

    def empty(self):
        return np.empty(self.bounds[-1], dtype=self.dtype)

    def views(self, vector):
        return flat.views(vector, self.shapes)

    def adopt(self, params, what):
        """Move ``p.value`` or ``p.grad`` (``what``) of ``params`` into one new vector."""
        vector = self.empty()
        for p, view in zip(params, self.views(vector)):
            view[...] = getattr(p, what)
            setattr(p, what, view)
        return vector


def pieces(vector, size=1 << 20):
    """``vector`` as consecutive views of at most ``size`` bytes, to send through Ray.

    Ray's serializer copies a buffer larger than 1 MB into the object store with six
    threads it starts for that one copy; on a few busy cores, starting them costs more
    than the copy (two actors swapping 2.14 MB on two cores: 7.3 ms a step in pieces,
    8.0 ms whole; docs/parallel.md). Buffers of 1 MB or less get one ``memcpy``.
    """
    step = max(1, size // vector.itemsize)
    return [vector[i:i + step] for i in range(0, len(vector), step)]


def take_back(optimizer, params, state):
    """Load the workers' optimiser ``state`` into the driver's ``optimizer``, keeping its
    learning rate: the callbacks of the epoch's last batch ran after the workers' last
    update, and a schedule stepped per iteration set the rate of the next one."""
    lr = optimizer.lr
    optimizer.load_state_dict(params, state)
    optimizer.lr = lr


def blank_optimizer(optimizer):
    """A copy of ``optimizer`` with its hyper-parameters and no per-parameter state."""
    blank = copy.copy(optimizer)  # a copy has no work buffers (Optimizer.__getstate__)
    blank.state = {}
    return blank


def split_state(state, ranges):
    """An optimiser ``state_dict`` cut into one per range ``(lo, hi)`` of parameter indices."""
    parts = [{"hyper": dict(state["hyper"]), "arrays": {}} for _ in ranges]
    for key, value in state["arrays"].items():
        index, _, name = key.partition(".")
        for part, (lo, hi) in zip(parts, ranges):
            if lo <= int(index) < hi:
                part["arrays"][f"{int(index) - lo}.{name}"] = value
    return parts


def merge_states(parts, ranges):
    """The inverse of :func:`split_state`."""
    arrays = {}
    for part, (lo, _) in zip(parts, ranges):
        for key, value in part["arrays"].items():
            index, _, name = key.partition(".")
            arrays[f"{int(index) + lo}.{name}"] = value
    return {"hyper": parts[0]["hyper"], "arrays": arrays}


def reseed(objects, rank):
    """Give every generator held by ``objects`` its own stream for worker ``rank``.

    Replicas are copies, generators included: without this, every worker would draw
    the same dropout masks and augmentations for its share of the batch.
    """
    for obj in objects:
        for name, value in list(vars(obj).items()):
            if isinstance(value, np.random.Generator):
                setattr(obj, name, np.random.default_rng([int(value.integers(2 ** 62)), rank]))


# ---- the worker side --------------------------------------------------------------------
def share(ray, *objects):
    """Put ``objects`` in the object store once; the list of their references.

    Actors receive this list with their calls and fetch the objects on first use
    (:meth:`Replica.attach`), again after a restart. They are not constructor arguments:
    Ray cannot promise those to a restarted actor (ray-project/ray#53727). The driver
    holds the references, and so the objects, for the whole fit.
    """
    return [ray.put(obj) for obj in objects]


class Replica:
    """A worker's copy of the network, which turns example indices into gradients.

    The data set is a read-only view of Ray's object store; batches are gathered from
    it by index. Its gradients live in one vector (``self.grad``), which is what travels.
    """

    def __init__(self, loss, rank, augment=None, penalty=None, with_accuracy=False, threads=1):
        runtime.limit_threads(threads)
        self.loss, self.rank, self.penalty = loss, rank, penalty
        self.augment = augment
        self.with_accuracy = with_accuracy
        self.net = self.batch = None
        self.location = runtime.whereabouts()

    def attach(self, shared):
        """Fetch the network and the data (:func:`share`) unless this process has them."""
        if self.net is not None:
            return
        net, self.X, self.target = runtime.require_ray().get(list(shared))
        self.net = copy.deepcopy(net)  # writable arrays: the object store's are read-only
        self.params = self.net.parameters()
        self.flat = Flat(self.params)
        self.grad = self.flat.adopt(self.params, "grad")  # the gradients, as one vector
        set_frozen_gradients(self.net.layers, False)  # as in fit: no optimiser reads them
        self.buffers = buffer_arrays(self.net.layers)
        reseed(self.net.layers + ([self.augment] if self.augment is not None else []), self.rank)

    def ready(self, shared):
        self.attach(shared)
        return self.location

    def where(self):
        return self.location

    def use(self, vector):
        """Compute with the weights in ``vector`` (read-only is fine: nothing writes them)."""
        for p, value in zip(self.params, self.flat.views(vector)):
            p.value = value

    def examples(self, rows):
        """The examples ``rows`` (augmented) and their targets."""
        if self.batch is None or len(self.batch) < len(rows):  # reused, as in the fit loop
            self.batch = np.empty((len(rows), *self.X.shape[1:]), dtype=self.X.dtype)
        xb = backend.take_rows(self.X, rows, self.batch[:len(rows)])
        if self.augment is not None:
            xb = self.augment(xb)
        return xb, self.target[rows]

    def gradients(self, rows, examples=None):
        """Loss, hits and gradients (in each ``p.grad``) of the examples ``rows``
        (``examples``: what :meth:`examples` gave for them, if already gathered)."""
        xb, tb = self.examples(rows) if examples is None else examples
        began = time.perf_counter()
        value, out = self.net.compute_gradients(self.loss, xb, tb, self.penalty)
        self.seconds = time.perf_counter() - began
        hits = int(loop._hits(out, tb).sum()) if self.with_accuracy else 0
        return value, hits
