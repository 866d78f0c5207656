"""Model parallelism: consecutive layers on different workers, activations passed along.

Seed 000: "different parts of the model are placed on different devices, and
computations for a single input are spread across them."
"""
import copy
import math
import numbers
import time

import numpy as np

from ..errors import InvalidValueError, ShapeError
from ..layers import Conv2D
from ..layers.base import set_frozen_gradients
from ..network import Sequential
from ..optim.clip import clip_factor, scale_grads, squared_norm
from ..training import loop
from . import runtime
from .base import (Strategy, blank_optimizer, buffer_arrays, copy_into, merge_states,
                   positive_int, reseed, share, split_rows, split_state, take_back)


class Pipeline(Strategy):
    r"""Train with the network cut into consecutive stages, one Ray actor per stage.

    Each stage actor holds its layers' weights and its share of the optimiser state; only
    activations (forward) and their gradients (backward) travel, by object reference from
    one stage to the next. A batch is cut into ``micro_batches`` micro-batches and run on
    the GPipe schedule (Huang et al., 2019): every stage runs the forward pass of
    micro-batch 1, 2, ..., m as soon as its input arrives (stage 2 works on micro-batch 1
    while stage 1 computes micro-batch 2), the last stage computes the loss and starts
    each backward pass at once, the other stages run the backward passes in reverse
    order; each stage keeps one set of activations per micro-batch (no recomputation).
    The gradients of micro-batch :math:`j` (size :math:`b_j` of :math:`B`) are scaled by
    :math:`b_j/B` and accumulated, so after the last one every stage holds

    .. math::
        \sum_j \frac{b_j}{B}\,\frac{1}{b_j}\sum_{i\in j}\nabla\ell_i = \nabla L_B,

    the whole batch's gradient; penalties are added for the whole batch, the gradient is
    clipped with the global norm summed over stages, and every stage applies the same
    optimiser step to its parameters: the update of single-process training. With
    BatchNorm, statistics are those of each micro-batch (as in GPipe).

    Between epochs the driver holds the weights and optimiser state: stages are loaded
    from it when an epoch begins and written back when it ends (so callbacks,
    checkpoints and ``resume=`` see them). A stage that dies is restarted by Ray and the
    epoch is run again from its start (its ``on_batch_end`` callbacks run again too).

    Args:
        stages: the number of stages (the layers are split so that the largest stage has
            as little work as possible: see :func:`stage_work`), or the layer indices
            where stages 2, 3... begin, e.g. ``[2]`` for ``layers[:2]`` and ``layers[2:]``.
            Any layer may start a stage: between stages of a convolutional network the
            activations are images ``(batch, channels, height, width)``, and a stage may
            begin or end with a Flatten.
        micro_batches: micro-batches per batch (at most one per example).
        address: a Ray cluster to join; None starts (or uses) a local Ray.
    """

    def __init__(self, stages=2, micro_batches=1, address=None):
        if isinstance(stages, numbers.Integral) and not isinstance(stages, bool):
            self.splits = None
            count = stages
        else:
            try:
                self.splits = tuple(int(i) for i in stages)
            except (TypeError, ValueError):
                raise InvalidValueError(f"stages must be a number of stages or a list of layer "
                                        f"indices where stages begin, got {stages!r}") from None
            if any(b <= a for a, b in zip((0, *self.splits), self.splits)):
                raise InvalidValueError(f"stage boundaries must be increasing layer indices "
                                        f"above 0, got {list(self.splits)}")
            count = len(self.splits) + 1
        super().__init__(count, address)
        self.micro_batches = positive_int("micro_batches", micro_batches)

    @property
    def stages(self):
        return self.workers

    def _check(self, setup):
        net = setup.net
        work = None
        if self.splits is None:  # balance the work for one example: rows or images
            sample = setup.X.shape[1:]
            work = stage_work(net.layers, sample[0] if len(sample) == 1 else sample)
        self._layers = stage_bounds(net.layers, self.stages, self.splits, work)
        sizes = [len(layer.parameters()) for layer in net.layers]
        self._params = [(sum(sizes[:lo]), sum(sizes[:hi])) for lo, hi in self._layers]
        for term in setup.penalty or ():
            term.select(net)  # a layer index out of range fails here, not on a stage

    def _start(self, setup, ray):
        self._ray = ray
        net, last = setup.net, self.stages - 1
        data, target = share(ray, setup.X, setup.target)
        self._shared = []
        for s, (lo, hi) in enumerate(self._layers):
            shared = {"layers": share(ray, net.layers[lo:hi])[0]}
            if s == 0:
                shared["X"] = data
            if s == last:
                shared["target"] = target
            self._shared.append(shared)
        Stage = runtime.actor_class(StageActor)  # never retried: a stage holds weights
        self._stages = [Stage.remote(s, lo, blank_optimizer(setup.optimizer),
                                     setup.loss if s == last else None, setup.penalty,
                                     setup.with_accuracy)
                        for s, (lo, _) in enumerate(self._layers)]
        self._workers = self._stages  # Ray restarts them; the epoch then runs again
        self._actors.extend(self._stages)

    def _load(self, setup):
        params = setup.net.parameters()
        values = [p.value for p in params]
        states = split_state(setup.optimizer.state_dict(params), self._params)
        calls = [stage.load.remote(shared, values[plo:phi],
                                   buffer_arrays(setup.net.layers[lo:hi]), state)
                 for stage, shared, (plo, phi), (lo, hi), state in
                 zip(self._stages, self._shared, self._params, self._layers, states)]
        for s, where in enumerate(self._ray.get(calls)):
            self._seen(s, where)

    def _save(self, setup):
        params = setup.net.parameters()
        results = self._ray.get([stage.state.remote() for stage in self._stages])
        for (values, buffers, _, seconds), (plo, phi), (lo, hi) in zip(results, self._params,
                                                                        self._layers):
            copy_into([p.value for p in params[plo:phi]], values)
            copy_into(buffer_arrays(setup.net.layers[lo:hi]), buffers)
            self.profile["compute"] += seconds["compute"]
            self.profile["update"] += seconds["update"]
        take_back(setup.optimizer, params,
                  merge_states([state for _, _, state, _ in results], self._params))

    def _step(self, setup, rows, upcoming=None):
        submitted = []  # every reference of the step, to settle if an actor is lost
        try:
            return self._schedule(setup, rows, submitted)
        except runtime.lost():
            runtime.settle(submitted)
            raise

    def _schedule(self, setup, rows, submitted):
        """Submit one batch on the GPipe schedule and wait for its update."""
        ray, stages, shared = self._ray, self._stages, self._shared
        size = len(rows)
        parts = split_rows(rows, self.micro_batches)
        grads, infos = [], []
        for j, part in enumerate(parts):  # forward passes; the last stage starts each backward
            h = part
            for stage, where in zip(stages[:-1], shared[:-1]):
                h = stage.forward.remote(where, j, h)
                submitted.append(h)
            scale = len(part) / size if len(parts) > 1 else 1.0
            grad, info = stages[-1].forward_backward.options(num_returns=2).remote(
                shared[-1], j, h, part, scale)
            grads.append(grad)
            infos.append(info)
        submitted += grads + infos
        for j in reversed(range(len(parts))):  # backward passes, last micro-batch first
            grad = grads[j]
            for stage, where in zip(reversed(stages[:-1]), reversed(shared[:-1])):
                grad = stage.backward.remote(where, j, grad)
                submitted.append(grad)
        clip = setup.clip_norm
        finished = [stage.finish.remote(size, clip is not None) for stage in stages]
        submitted += finished
        scale = None
        if clip is not None:  # clip_grad_norm with the norm summed over the stages
            scale = clip_factor(math.sqrt(sum(sq for _, sq in ray.get(finished))), clip)
        updates = [stage.update.remote(setup.optimizer.lr, scale, *infos) for stage in stages]
        submitted += updates
        results = ray.get(infos + finished)
        ray.get(updates)
        results, penalties = results[:len(parts)], results[len(parts):]
        value = sum(v * (len(part) / size) for (v, _), part in zip(results, parts))
        value += sum(p for p, _ in penalties)
        return value, sum(h for _, h in results)

    def __repr__(self):
        stages = list(self.splits) if self.splits is not None else self.stages
        return (f"Pipeline(stages={stages}, micro_batches={self.micro_batches}, "
                f"address={self.address!r})")


def stage_work(layers, input_shape):
    """The work of each layer per example, as :func:`stage_bounds` balances it.

    A layer's work is its parameter count times the number of times each parameter is
    used per example: once for a dense layer (its multiply-adds, plus one add per
    bias), at every output position for a convolution (``out_h * out_w``). So LeNet-5's
    two convolutions, 2,572 of its 61,706 parameters, do 86% of its work. Layers
    without parameters count 0: pooling, activations and Flatten cost little next to a
    matrix product. ``input_shape`` is one example's: ``n_in`` for rows, ``(channels,
    height, width)`` for images; where a shape cannot be followed, a convolution
    counts its parameters once.
    """
    work, shape = [], input_shape
    for layer in layers:
        size = sum(p.value.size for p in layer.parameters())
        try:
            shape = None if shape is None else layer.output_size(shape)
        except ShapeError:
            shape = None
        uses = 1
        if isinstance(layer, Conv2D) and isinstance(shape, tuple) and None not in shape:
            uses = shape[1] * shape[2]
        work.append(int(size * uses))
    return work


def stage_bounds(layers, stages, splits=None, work=None):
    """``[(first layer, last layer + 1)]`` of each stage.

    Without explicit ``splits``, the cut minimises the work of the largest stage
    (``work``: one number per layer, :func:`stage_work`; by default the parameter
    counts, which is the work of dense layers), then the sum of the squared stage
    sizes (the other stages as even as they can be); among equal cuts, layers
    without work (activations, pooling) stay with the layer before them.
    """
    n = len(layers)
    if splits is not None:
        if splits and splits[-1] >= n:
            raise InvalidValueError(f"stage boundaries {list(splits)} must be below the number "
                                    f"of layers ({n})")
        cuts = [0, *splits, n]
        return list(zip(cuts[:-1], cuts[1:]))
    if stages > n:
        raise InvalidValueError(f"Pipeline(stages={stages}) needs a layer per stage; the network "
                                f"has {n} layers")
    if work is None:
        work = [sum(p.value.size for p in layer.parameters()) for layer in layers]
    prefix = np.concatenate([[0], np.cumsum(work)])
    # best[k][i]: ((largest stage, sum of squares), last cut) of layers[:i] in k stages
    best = [[((math.inf, math.inf), None)] * (n + 1) for _ in range(stages + 1)]
    best[0][0] = ((0, 0), None)
    for k in range(1, stages + 1):
        for i in range(k, n + 1):
            for j in range(k - 1, i):
                (largest, squares), size = best[k - 1][j][0], int(prefix[i] - prefix[j])
                cost = (max(largest, size), squares + size * size)
                if cost <= best[k][i][0]:
                    best[k][i] = (cost, j)
    cuts, i = [n], n
    for k in range(stages, 0, -1):
        i = best[k][i][1]
        cuts.append(i)
    cuts.reverse()
    return list(zip(cuts[:-1], cuts[1:]))


class StageActor:
    """Some consecutive layers of the network, with their weights and optimiser state."""

    def __init__(self, index, offset, optimizer, loss, penalty, with_accuracy, threads=1):
        runtime.limit_threads(threads)
        self.index, self.offset = index, offset
        self.optimizer, self.loss, self.penalty = optimizer, loss, penalty
        self.with_accuracy = with_accuracy
        self.net = None
        self.location = runtime.whereabouts()
        self.seconds = {"compute": 0.0, "update": 0.0}  # since the last state()

    def attach(self, shared):
        """Fetch the stage's layers and its data (first stage: X, last: targets) once."""
        if self.net is not None:
            return
        ray = runtime.require_ray()
        found = dict(zip(shared, ray.get(list(shared.values()))))
        self.X, self.target = found.get("X"), found.get("target")
        self.net = Sequential(copy.deepcopy(found["layers"]))  # writable copies
        reseed(self.net.layers, self.index)
        set_frozen_gradients(self.net.layers, False)  # as in fit: no optimiser reads them
        self.params = self.net.parameters()
        self.buffers = buffer_arrays(self.net.layers)
        self.sums = [np.empty_like(p.grad) for p in self.params]
        self.accumulated = 0
        self.replicas = [self.net]
        hi = self.offset + len(self.net.layers)
        self.penalties = []
        for term in self.penalty or ():
            chosen = range(self.offset, hi) if term.layers is None else \
                [i for i in term.layers if self.offset <= i < hi]
            layers = [self.net.layers[i - self.offset] for i in chosen]
            self.penalties.append((term, [p for layer in layers for p in layer.parameters()
                                          if p.decay]))

    def load(self, shared, values, buffers, state):
        self.attach(shared)
        copy_into([p.value for p in self.params], values)
        copy_into(self.buffers, buffers)
        self.optimizer.load_state_dict(self.params, state)
        self.accumulated = 0
        return self.location

    def where(self):
        return self.location

    def state(self):
        seconds, self.seconds = self.seconds, {"compute": 0.0, "update": 0.0}
        return ([p.value for p in self.params], self.buffers,
                self.optimizer.state_dict(self.params), seconds)

    def _replica(self, j):
        """The layers for micro-batch ``j``: copies that share the parameters, buffers and
        generators, so each micro-batch keeps its own activations until its backward pass."""
        while len(self.replicas) <= j:
            memo = {id(obj): obj for obj in [*self.params, *self.buffers] + [
                v for layer in self.net.layers for v in vars(layer).values()
                if isinstance(v, np.random.Generator)]}
            self.replicas.append(copy.deepcopy(self.net, memo))
        return self.replicas[j]

    def forward(self, shared, j, x):
        self.attach(shared)
        if self.X is not None:  # the first stage gets example indices
            x = self.X[x]
        began = time.perf_counter()
        out = self._replica(j).forward(x, training=True)
        self.seconds["compute"] += time.perf_counter() - began
        return out

    def forward_backward(self, shared, j, x, rows, scale):
        """The last stage: forward, loss, and backward of micro-batch ``j``."""
        self.attach(shared)
        if self.X is not None:  # a one-stage pipeline
            x = self.X[x]
        net, loss, target = self._replica(j), self.loss, self.target[rows]
        began = time.perf_counter()
        out = net.forward(x, training=True)
        head = net.layers[-1]
        if loss.fuses_with is not None and type(head) is loss.fuses_with:  # as compute_gradients
            value = loss.fused_forward(head.logits, out, target)
            grad, start = loss.fused_backward(), len(net.layers) - 1
        else:
            value = loss._forward(out, target)
            grad, start = loss.backward(), None
        if scale != 1.0:
            grad = grad * scale
        grad = self._backward(net, grad, start)
        self.seconds["compute"] += time.perf_counter() - began
        hits = int(loop._hits(out, target).sum()) if self.with_accuracy else 0
        return grad, (value, hits)

    def backward(self, shared, j, grad):
        self.attach(shared)
        began = time.perf_counter()
        grad = self._backward(self._replica(j), grad, None)
        self.seconds["compute"] += time.perf_counter() - began
        return grad

    def _backward(self, net, grad, start):
        """Backpropagate one micro-batch, adding its parameter gradients to the step's."""
        if self.accumulated == 1:  # a second micro-batch: keep the first one's gradients
            for total, p in zip(self.sums, self.params):
                np.copyto(total, p.grad)
        grad = net.backward(grad, start=start, input_grad=self.X is None)
        if self.accumulated >= 1:
            for total, p in zip(self.sums, self.params):
                total += p.grad
        self.accumulated += 1
        return grad

    def finish(self, batch, norm):
        """The step's gradients in ``p.grad``, plus penalties; (penalty, squared norm)."""
        if self.accumulated > 1:
            for total, p in zip(self.sums, self.params):
                np.copyto(p.grad, total)
        self.accumulated = 0
        value = 0.0
        for term, chosen in self.penalties:
            value += term.value(chosen, batch)
            term.add_grad(chosen, batch)
        return value, squared_norm(self.params) if norm else None

    def update(self, lr, scale, *infos):
        """The optimiser step, unless a micro-batch's loss was not finite."""
        if not all(math.isfinite(value) for value, _ in infos):
            return False
        began = time.perf_counter()
        scale_grads(self.params, scale)
        self.optimizer.lr = lr
        self.optimizer.step(self.params)
        self.seconds["update"] += time.perf_counter() - began
        return True
