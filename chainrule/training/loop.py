"""The one fit loop: epochs of batches of forward, loss, backward, update.

Vocabulary as in the notes: an *epoch* is one pass over the training data, a
*batch* is the slice of examples one forward pass sees, an *iteration* is one
weight update. 1000 examples with batch size 20 make 50 iterations per epoch.
``batch_size=None`` is batch gradient descent (one iteration per epoch), ``1``
stochastic, ``k`` mini-batch.
"""
import math
import warnings

import numpy as np

from .. import losses as losses_, metrics
from ..errors import InvalidValueError, NotAvailableError, ShapeError
from ..layers import Sigmoid, Softmax
from ..optim import SGD
from .callbacks import TrainingState
from .history import History


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidValueError(f"{name} must be a positive integer, got {value!r}")
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


def fit(net, X, y, loss=None, optimizer=None, epochs=1, batch_size=None, shuffle=True, seed=None,
        validation_data=None, callbacks=(), resume=None, parallel=None, target_loss=None, l2=0.0):
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
        l2: lambda of seed 003's penalty lambda/(2m) sum w^2 (0 = none).

    A NaN or infinite loss stops training with a :class:`DivergenceWarning`; the network
    keeps the last finite weights.
    """
    if resume is not None:
        raise NotAvailableError("resume= needs checkpoints, which this version does not write yet")
    if parallel is not None:
        raise NotAvailableError("parallel= training is not available in this version yet")
    loss = default_loss(net) if loss is None else losses_.get(loss)
    optimizer = SGD(0.1) if optimizer is None else optimizer
    epochs = _positive_int("epochs", epochs)
    X, target = _prepare(net, loss, X, y, "X")
    n = len(X)
    batch = n if batch_size is None else min(_positive_int("batch_size", batch_size), n)
    penalty = losses_.L2(l2) if l2 else None
    if validation_data is not None:
        X_val, t_val = _prepare(net, loss, *validation_data, "validation X")
    rng = np.random.default_rng(seed)
    with_accuracy = _scores_accuracy(loss, net)
    params = net.parameters()

    history = History()
    state = TrainingState(net, optimizer, history, epochs)
    state.batches = -(-n // batch)
    for cb in callbacks:
        cb.on_train_begin(state)
    for _ in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(state)
        last_good = [p.value.copy() for p in params]
        if shuffle and batch < n:
            order = rng.permutation(n)
            X_epoch, t_epoch = X[order], target[order]
        else:
            X_epoch, t_epoch = X, target
        total, correct = 0.0, 0.0
        for state.batch, start in enumerate(range(0, n, batch)):
            xb, tb = X_epoch[start:start + batch], t_epoch[start:start + batch]
            value, out = net.compute_gradients(loss, xb, tb, penalty)
            if not math.isfinite(value):
                _diverged(state, value, params, last_good)
                break
            optimizer.step(params)
            state.iteration += 1
            state.batch_loss = value
            total += value * len(xb)
            if with_accuracy:
                correct += metrics.accuracy(tb, out) * len(xb)
            for cb in callbacks:
                cb.on_batch_end(state)
        if state.stop_reason == "diverged":
            break
        logs = {"loss": total / n}
        if with_accuracy:
            logs["accuracy"] = correct / n
        if validation_data is not None:
            logs["val_loss"], val_out = evaluate_loss(net, loss, X_val, t_val)
            if with_accuracy:
                logs["val_accuracy"] = metrics.accuracy(t_val, val_out)
        history.append(logs)
        state.epoch += 1
        state.logs = logs
        for cb in callbacks:
            cb.on_epoch_end(state)
        if target_loss is not None and logs["loss"] <= target_loss:
            state.stop_reason = "target_loss"
            break
        if state.stop:
            state.stop_reason = state.stop_reason or "callback"
            break
    history.epochs, history.iterations = state.epoch, state.iteration
    history.stop_reason = state.stop_reason or "epochs"
    for cb in callbacks:
        cb.on_train_end(state)
    return history


def _diverged(state, value, params, last_good):
    """Stop, keep finite weights, and say what to change."""
    if not all(np.all(np.isfinite(p.value)) for p in params):
        for p, good in zip(params, last_good):
            p.value[...] = good
        kept = f"the weights from the start of epoch {state.epoch + 1}"
    else:
        kept = f"the weights after iteration {state.iteration}"
    opt = state.optimizer
    lr = getattr(opt, "lr", None)
    advice = (f"learning rate {lr:g} is probably too high for {type(opt).__name__}; "
              f"try {lr / 10:g}" if lr else "lower the learning rate")
    warnings.warn(f"training stopped: the loss became {value} at epoch {state.epoch + 1}, "
                  f"iteration {state.iteration + 1}; the {advice}, or scale the inputs. The network "
                  f"keeps {kept}, which are finite.", DivergenceWarning, stacklevel=3)
    state.stop = True
    state.stop_reason = "diverged"
