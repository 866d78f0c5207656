"""The one fit loop: epochs of batches of forward, loss, backward, update.

Vocabulary as in the notes: an *epoch* is one pass over the training data, a
*batch* is the slice of examples one forward pass sees, an *iteration* is one
weight update. 1000 examples with batch size 20 make 50 iterations per epoch.
``batch_size=None`` is batch gradient descent (one iteration per epoch), ``1``
stochastic, ``k`` mini-batch.
"""
import functools
import math
import warnings

import numpy as np

from .. import backend, losses as losses_
from ..errors import InvalidValueError, ShapeError, unknown, user_stacklevel
from ..flat import adjacent, in_memory_order, joined
from ..layers import Sigmoid, Softmax
from ..layers.base import frozen_gradients_in
from ..optim import SGD, clip_grad_norm
from .callbacks import TrainingState
from .diagnostics import with_diagnostics
from .history import History

STRATEGIES = ("all", "misclassified")


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


def _positive_int(name, value, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = "a non-negative" if allow_zero else "a positive"
        raise InvalidValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def default_loss(net):
    """Cross-entropy after softmax or sigmoid outputs, squared error otherwise."""
    head = net.layers[-1]
    if isinstance(head, Softmax):
        return losses_.CrossEntropy()
    if isinstance(head, Sigmoid):
        return losses_.BinaryCrossEntropy()
    return losses_.SquaredError()


def _prepare(net, loss, X, y, what):
    if y is None or not hasattr(y, "__len__"):
        raise InvalidValueError(f"the targets y for {what} are missing (got {y!r}); pass an "
                                f"array with one target per sample")
    X = net.prepare_inputs(X, what=what)
    if len(y) != len(X):
        raise ShapeError(f"{what} has {len(X)} samples but its targets have {len(y)}")
    return X, loss.prepare_target(y, net.n_out, net.dtype)


def _scores_accuracy(loss, net):
    """Whether accuracy means something for this loss and output size."""
    return isinstance(loss, losses_.CrossEntropy) or (
        isinstance(loss, losses_.BinaryCrossEntropy) and net.n_out == 1)


def evaluate_loss(net, loss, X, target, batch_size=1024):
    """Mean loss in evaluation mode, fused with the output activation where they pair."""
    head = net.layers[-1]
    fused = loss.fuses_with is not None and type(head) is loss.fuses_with
    total, outs = 0.0, []
    for i in range(0, len(X), batch_size):
        out = net.forward(X[i:i + batch_size])
        t = target[i:i + batch_size]
        value = loss.fused_forward(head.logits, out, t) if fused else loss._forward(out, t)
        total += value * len(out)
        outs.append(out)
    return total / len(X), np.concatenate(outs) if len(outs) > 1 else outs[0]


def _penalties(l1, l2, penalties):
    terms = list(penalties)
    if l1:
        terms.append(losses_.L1(l1))
    if l2:
        terms.append(losses_.L2(l2))
    return terms or None


class _Setup:
    """Everything fixed for one call of fit: validated data, settings, generators."""

    def __init__(self, net, X, y, loss, optimizer, epochs, batch_size, shuffle, seed,
                 validation_data, callbacks, target_loss, l1, l2, penalties, clip_norm,
                 strategy, augment):
        self.net = net
        self.loss = default_loss(net) if loss is None else losses_.get(loss)
        self.optimizer = SGD(0.1) if optimizer is None else optimizer
        if not hasattr(self.optimizer, "step"):
            raise InvalidValueError(f"optimizer must be an optimiser object such as "
                                    f"cr.Adam(0.001) or cr.SGD(0.1), got {optimizer!r}")
        self.epochs = _positive_int("epochs", epochs)
        self.X, self.target = _prepare(net, self.loss, X, y, "X")
        self.batch_size = None if batch_size is None else _positive_int("batch_size", batch_size)
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                            or len(validation_data) != 2):
            raise InvalidValueError("validation_data must be a pair (X_val, y_val)")
        self.validation = (None if validation_data is None
                           else _prepare(net, self.loss, *validation_data, "validation X"))
        self.callbacks = with_diagnostics(callbacks)  # teaching warnings, once an epoch at most
        self.target_loss = target_loss
        self.penalty = _penalties(l1, l2, penalties)
        if clip_norm is not None and not clip_norm > 0:
            raise InvalidValueError(f"clip_norm must be > 0, got {clip_norm}")
        self.clip_norm = clip_norm
        if strategy not in STRATEGIES:
            raise unknown("training strategy", strategy, STRATEGIES)
        self.with_accuracy = _scores_accuracy(self.loss, net)
        if strategy == "misclassified" and not self.with_accuracy:
            raise InvalidValueError("strategy='misclassified' needs a classifier: cross-entropy, "
                                    "or binary cross-entropy with one output")
        self.strategy = strategy
        self.augment = augment
        self.batch_buffer = None
        self.snapshot_plan = None  # (ids, values, their joined vector), see _snapshot
        self.data_fingerprint = None  # computed when a checkpoint needs it
        self.merge_single = any(getattr(layer, "batch_statistics", False) for layer in net.layers)
        self.run_epoch = None  # set by chainrule.parallel: (setup, state) -> logs, like _epoch


def fit(net, X, y, loss=None, optimizer=None, epochs=1, batch_size=None, shuffle=True, seed=None,
        validation_data=None, callbacks=(), resume=None, parallel=None, target_loss=None, l2=0.0,
        l1=0.0, penalties=(), clip_norm=None, strategy="all", restarts=0, restart_after=10,
        augment=None):
    """Train ``net`` by backpropagation and return its :class:`History`.

    Args:
        X, y: training inputs ``(samples, n_in)`` and targets (see the loss). Converted
            once to the network's dtype; NaN/inf and shape errors are raised here.
        loss: a loss or its name; default from the output layer (softmax -> cross-entropy,
            sigmoid -> binary cross-entropy, otherwise squared error).
        optimizer: default ``SGD(0.1)``.
        epochs: passes over the data. batch_size: None (batch), 1 (stochastic) or k.
        shuffle, seed: reshuffle every epoch (mini-batch/stochastic) with a generator
            seeded by ``seed``; the caller's arrays are never reordered.
        validation_data: ``(X_val, y_val)``, scored after every epoch.
        target_loss: stop "till satisfied", once an epoch's loss is <= this value.
        l2, l1: lambdas of global weight penalties (seed 003's lambda/(2m) sum w^2, and
            lambda/m sum |w|); ``penalties``: more of them, e.g. ``[cr.L2(0.1, layers=[0])]``.
        clip_norm: rescale the gradients when their global L2 norm exceeds this.
        strategy: ``"all"``, or ``"misclassified"``: each epoch trains only on the examples
            the network gets wrong at its start (seed 003); it stops once none are left.
        restarts, restart_after: re-draw the initial weights (up to ``restarts`` times) when
            the loss has not fallen below its first-epoch value after ``restart_after``
            epochs, as seed 003 advises; the best run's weights and history are kept.
        augment: a callable applied to every training batch of inputs (e.g.
            ``cr.data.augment.Augment``), never to validation data.
        resume: a checkpoint written by ``callbacks.ModelCheckpoint``: restores weights,
            optimiser, generators, counters and History, then trains on up to ``epochs``
            epochs in total. Pass the same network layout, data, optimiser type, batch
            size and callbacks; a mismatch is an error.

    A NaN or infinite loss stops training with a :class:`DivergenceWarning`; the network
    keeps the last finite weights.
    """
    setup = _Setup(net, X, y, loss, optimizer, epochs, batch_size, shuffle, seed,
                   validation_data, callbacks, target_loss, l1, l2, penalties, clip_norm,
                   strategy, augment)
    restarts = _positive_int("restarts", restarts, allow_zero=True)
    if resume is not None and restarts:
        raise InvalidValueError("resume= continues one run; it cannot be combined with restarts=")
    if parallel is not None:  # chainrule.parallel: this loop, with its epochs run on Ray
        return parallel.fit(setup, resume=resume, restarts=restarts,
                            restart_after=_positive_int("restart_after", restart_after))
    if not restarts:
        return _train(setup, resume=resume)
    return _train_with_restarts(setup, restarts, _positive_int("restart_after", restart_after))


def _train_with_restarts(setup, restarts, restart_after):
    """Seed 003: if the cost does not fall, start again from new random weights."""
    params = setup.net.parameters()
    best = None
    runs = []
    for run in range(restarts + 1):
        if run:
            for layer in setup.net.layers:
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters(setup.rng)
            setup.optimizer.state.clear()
        history = _train(setup, stall_check=restart_after if run < restarts else None)
        final = history["loss"][-1] if history["loss"] else math.inf
        runs.append({"run": run + 1, "epochs": history.epochs, "loss": final,
                     "stop_reason": history.stop_reason})
        if best is None or final < best[0]:
            best = (final, history, [p.value.copy() for p in params])
        if history.stop_reason != "stalled":
            break
    _, history, values = best
    for p, value in zip(params, values):
        p.value[...] = value
    history.runs = runs
    return history


def _train(setup, stall_check=None, resume=None):
    history = History()
    state = TrainingState(setup.net, setup.optimizer, history, setup.epochs)
    state.setup = setup
    for cb in setup.callbacks:
        cb.on_train_begin(state)
    if resume is not None:
        from .checkpoint import restore

        restore(state, resume)
    try:
        with frozen_gradients_in(setup.net.layers, False):  # no optimiser reads them
            _epochs(setup, state, stall_check)
    except BaseException as error:  # Ctrl-C included: callbacks close bars and files
        for cb in setup.callbacks:
            cb.on_exception(state, error)
        raise
    history.epochs, history.iterations = state.epoch, state.iteration
    history.stop_reason = state.stop_reason or "epochs"
    for cb in setup.callbacks:
        cb.on_train_end(state)
    return history


def _epochs(setup, state, stall_check):
    history = state.history
    while state.epoch < setup.epochs:
        if setup.run_epoch is not None:
            logs = setup.run_epoch(setup, state)
        else:
            X, target = _epoch_data(setup)
            logs = _epoch(setup, state, X, target) if len(X) else None
        # logs None: diverged, or strategy="misclassified" found nothing left to learn
        if logs is None or (_stalled(history, logs) and _overflowed(state)):
            state.stop_reason = state.stop_reason or "all_classified"
            return
        state.epoch += 1
        state.logs = logs
        for cb in setup.callbacks:
            cb.on_epoch_end(state)
        history.append(logs)  # after the callbacks, which may add keys such as "lr"
        if setup.target_loss is not None and logs["loss"] <= setup.target_loss:
            state.stop_reason = "target_loss"
            return
        if stall_check is not None and state.epoch == stall_check and \
                not history["loss"][-1] < history["loss"][0]:
            state.stop_reason = "stalled"
            return
        if state.stop:
            state.stop_reason = state.stop_reason or "callback"
            return


def _epoch(setup, state, X, target):
    """One pass over (X, target): the epoch's logs, or None when the loss diverged."""
    net, loss, optimizer, callbacks = setup.net, setup.loss, setup.optimizer, setup.callbacks
    params = net.parameters()
    n = len(X)
    bounds = _batch_bounds(n, setup.batch_size, setup.merge_single)
    state.batches = len(bounds)
    for cb in callbacks:
        cb.on_epoch_begin(state)
    # Weights to fall back on if a later batch diverges. With one batch, a divergence is
    # found before the only step: the weights are still those of the epoch's start.
    last_good = _snapshot(setup, params) if len(bounds) > 1 else None
    total, correct = 0.0, 0
    # One batch: the whole set, never shuffled (tiny networks: no generator to run).
    batches = ((X, target),) if len(bounds) == 1 else _batches(setup, X, target, bounds)
    for state.batch, (xb, tb) in enumerate(batches):
        if setup.augment is not None:
            xb = setup.augment(xb)
        value, out = net.compute_gradients(loss, xb, tb, setup.penalty)
        if not math.isfinite(value):
            _diverged(state, value, params, last_good)
            return None
        if setup.clip_norm is not None:
            clip_grad_norm(params, setup.clip_norm)
        optimizer.step(params)
        state.iteration += 1
        state.batch_loss = value
        total += value * len(xb)
        if setup.with_accuracy:
            correct += int(_hits(out, tb).sum())
        for cb in callbacks:
            cb.on_batch_end(state)
    return _epoch_logs(setup, total, correct, n)


def _snapshot(setup, params):
    """Copies of the trainable values: one copy when they lie in one vector."""
    values = [p.value for p in params if p.trainable]
    ids = list(map(id, values))
    if setup.snapshot_plan is None or setup.snapshot_plan[0] != ids:
        ordered = in_memory_order(values)
        together = bool(values) and ordered[0].flags.c_contiguous and all(
            adjacent(a, b) for a, b in zip(ordered, ordered[1:]))
        setup.snapshot_plan = (ids, ordered, joined(ordered) if together else None)
    _, values, vector = setup.snapshot_plan
    return values, (vector.copy() if vector is not None else [v.copy() for v in values])


def _restore(snapshot):
    """Put back the values a ``_snapshot`` copied."""
    values, saved = snapshot
    if isinstance(saved, list):
        for value, good in zip(values, saved):
            value[...] = good
    else:
        joined(values)[...] = saved


def _epoch_logs(setup, total, correct, n):
    """An epoch's logs from the sums of its batch losses and hits, plus validation."""
    logs = {"loss": total / n}
    if setup.with_accuracy:
        logs["accuracy"] = correct / n
    if setup.validation is not None:
        logs["val_loss"], val_out = evaluate_loss(setup.net, setup.loss, *setup.validation)
        if setup.with_accuracy:
            logs["val_accuracy"] = float(_hits(val_out, setup.validation[1]).mean())
    return logs


@functools.lru_cache(maxsize=8)
def _batch_bounds(n, batch_size, merge_single):
    """(start, stop) of each batch; a last batch of one example joins the one before it
    when the network has batch statistics (BatchNorm cannot normalise one example)."""
    batch = n if batch_size is None else min(batch_size, n)
    bounds = [(start, min(start + batch, n)) for start in range(0, n, batch)]
    if merge_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return tuple(bounds)


def _epoch_data(setup):
    """This epoch's examples (all, or the misclassified ones), in data-set order."""
    rows = _epoch_rows(setup)
    if rows is None:
        return setup.X, setup.target
    return setup.X[rows], setup.target[rows]


def _epoch_rows(setup):
    """Indices of this epoch's examples: None for all of them, else the misclassified."""
    if setup.strategy != "misclassified":
        return None
    _, out = evaluate_loss(setup.net, setup.loss, setup.X, setup.target)
    return np.flatnonzero(~_hits(out, setup.target))


def _epoch_order(setup, n, bounds):
    """This epoch's permutation of the ``n`` examples, or None to batch them in order."""
    return setup.rng.permutation(n) if setup.shuffle and len(bounds) > 1 else None


def _batches(setup, X, target, bounds):
    """The epoch's (inputs, targets) batches.

    Unshuffled batches are views. Shuffled ones are gathered by index into one input
    buffer reused for the whole fit: the data set is read once per epoch and never
    copied whole (a permuted copy of Fashion-MNIST is 188 MB of fresh pages each epoch).
    A batch is valid until the next one is drawn.
    """
    order = _epoch_order(setup, len(X), bounds)
    if order is None:
        for start, stop in bounds:
            yield X[start:stop], target[start:stop]
        return
    largest = max(stop - start for start, stop in bounds)
    buffer = setup.batch_buffer
    if buffer is None or len(buffer) < largest or buffer.shape[1:] != X.shape[1:] \
            or buffer.dtype != X.dtype:
        buffer = setup.batch_buffer = backend.xp.empty((largest, *X.shape[1:]), dtype=X.dtype)
    for start, stop in bounds:
        index = order[start:stop]
        yield backend.take_rows(X, index, buffer[:stop - start]), target[index]


def _hits(out, target):
    """Which rows are classified right; ``target`` as prepared by the loss."""
    if target.ndim == 1:
        return out.argmax(axis=1) == target
    if target.shape[1] > 1:
        return out.argmax(axis=1) == target.argmax(axis=1)
    return (out[:, 0] > 0.5) == (target[:, 0] > 0.5)


def _stalled(history, logs):
    """The loss did not fall this epoch: the only time an overflow check can matter."""
    return not history["loss"] or not logs["loss"] < history["loss"][-1]


def _overflowed(state):
    """Once an epoch: inf/NaN in gradients or optimiser state stall training without ever
    making the loss NaN (Adam's v = inf gives steps of 0). Stop and say so."""
    params = state.setup.net.parameters()
    arrays = [p.grad for p in params] + [a for buffers in state.optimizer.state.values()
                                         for a in buffers.values() if hasattr(a, "dtype")]
    if all(backend.xp.isfinite(a).all() for a in arrays):
        return False
    opt = state.optimizer
    warnings.warn(f"training stopped after epoch {state.epoch + 1}: the gradients or the "
                  f"optimiser state of {type(opt).__name__} overflowed to inf, so the weights "
                  f"stopped moving. The inputs are probably far too large: scale them (e.g. "
                  f"chainrule.data.standardize), or lower the learning rate "
                  f"{getattr(opt, 'lr', 0):g}.", DivergenceWarning, stacklevel=user_stacklevel())
    state.stop, state.stop_reason = True, "diverged"
    return True


def _diverged(state, value, params, last_good):
    """Stop, keep finite weights, and say what to change."""
    def finite():
        return all(np.all(np.isfinite(p.value)) for p in params)

    if last_good is not None and not finite():
        _restore(last_good)
        kept = f"the weights from the start of epoch {state.epoch + 1}"
    else:
        kept = f"the weights after iteration {state.iteration}"
    # Not finite when the step before this epoch made them so (a one-batch epoch has no
    # earlier weights of its own to fall back on).
    kept += (", which are finite" if finite() else
             ", which are not finite: build the network again or load a checkpoint")
    opt = state.optimizer
    lr = getattr(opt, "lr", None)
    advice = (f"learning rate {lr:g} is probably too high for {type(opt).__name__}; "
              f"try {lr / 10:g}" if lr else "lower the learning rate")
    warnings.warn(f"training stopped: the loss became {value} at epoch {state.epoch + 1}, "
                  f"iteration {state.iteration + 1}; the {advice}, or scale the inputs. The network "
                  f"keeps {kept}.", DivergenceWarning, stacklevel=user_stacklevel())
    state.stop = True
    state.stop_reason = "diverged"
