"""Diagnostics that teach: warnings, in plain words and with the fix, for the usual ways
a network fails to learn.

=========================  ==========================================================
``unscaled_inputs``        features with typical values far above 10, or scales that
                           differ by more than a factor of 1000
``unscaled_targets``       regression targets with typical values far above 10
``softmax_squared_error``  a softmax output trained with squared error
``saturation``             most outputs of a hidden sigmoid/tanh layer where the slope
                           is below a tenth of its largest, at the start of training or
                           while the loss has stopped falling
``dead_relu``              more than half of a hidden ReLU layer's units output 0 for
                           every example checked
``vanishing_gradients``    the first layer's gradient (per weight) more than 100 times
                           smaller than the last layer's
``exploding_gradients``    one SGD step larger than the weights it moves, or the first
                           layer's gradient 100 times the last layer's
=========================  ==========================================================

Each is a :class:`DiagnosticWarning` raised at most once per run. The first three are
checked once, when training starts (:func:`check_setup`); the others by the
:class:`Diagnostics` callback after the first epoch, then every ``k`` epochs, ``k`` chosen
so that the checks look at no more than 1% of the examples training goes through. A check
looks at a fixed sample of at most 256 training examples in evaluation mode: one forward
and one backward pass, with the parameters' gradients put back as they were, no random
number drawn, nothing done per batch; when it runs depends on the data only, so a run
warns the same way every time. :func:`diagnose` runs the same checks once on any network
and data.
"""
import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from .. import backend, losses as losses_
from ..errors import InvalidValueError, user_stacklevel
from ..layers import Conv2D, Dense, ReLU, Sigmoid, Softmax, Tanh
from ..layers.base import frozen_gradients_in
from ..optim import SGD, AdaGrad, Adam, RMSProp
from .callbacks.base import Callback

log = logging.getLogger(__name__)

__all__ = ["CHECKS", "DiagnosticWarning", "Diagnostics", "Finding", "check_setup", "diagnose",
           "weight_layers", "with_diagnostics"]

CHECKS = ("unscaled_inputs", "unscaled_targets", "softmax_squared_error", "saturation",
          "dead_relu", "vanishing_gradients", "exploding_gradients")
SETUP_CHECKS = CHECKS[:3]

# ---- thresholds (each one explained where it is used) -----------------------------------------
LARGE_INPUT = 10.0          # typical |value| (root mean square) of a feature or a target
SCALE_SPREAD = 1000.0       # largest / smallest typical |value| among the features
SLOPE_FRACTION = 0.1        # saturated: slope below this fraction of the largest slope
SATURATED_FRACTION = 0.5    # "most" outputs of a layer
DEAD_FRACTION = 0.5         # more than this fraction of a layer's ReLUs dead
VANISHING_RATIO = 1e-2      # first layer's gradient / last layer's
EXPLODING_RATIO = 1e2
GRAD_TO_WEIGHT = 10.0       # gradient / weight size (weight size at least 0.1) when the
                            # optimiser is unknown: one step of SGD(0.1) is as big as the weights
STALL_EPOCHS, STALL_DROP = 5, 0.01  # loss fell by less than 1% over the last 5 epochs

SAMPLE = 256                # examples the epoch checks look at
CHUNK = 64                  # rows per forward/backward pass of a check
INPUT_SAMPLE = 4096         # examples the input check looks at
STATS_ROWS = 256            # of them at a time (see _column_squares)
BUDGET = 0.01               # examples checked / examples trained on, after the first epoch

# Where a unit's slope is below SLOPE_FRACTION of its largest: sigmoid s(1-s) < 0.025,
# that is s < 0.0257 or s > 0.974; tanh 1 - h^2 < 0.1, that is |h| > 0.949.
_SIGMOID_EDGE = (1 - np.sqrt(1 - 4 * 0.25 * SLOPE_FRACTION)) / 2
_TANH_EDGE = np.sqrt(1 - SLOPE_FRACTION)


class DiagnosticWarning(UserWarning):
    """A likely reason why a network is not learning well, with the fix.

    ``kind`` names the check (one of :data:`CHECKS`). Silence them all with
    ``warnings.filterwarnings("ignore", category=DiagnosticWarning)``.
    """

    def __init__(self, message, kind=None):
        super().__init__(message)
        self.kind = kind


@dataclass
class Finding:
    """One diagnosis: the check that found it and the message that explains it."""

    kind: str
    message: str

    def warn(self):
        warnings.warn(DiagnosticWarning(self.message, self.kind), stacklevel=user_stacklevel())


def _g(value):
    """A number short enough for a sentence: 3.1e-06, 0.25, 1.2e+03."""
    return f"{value:.2g}"


def _rows(n, most):
    """Indices of at most ``most`` rows spread evenly over ``n``: no random draw."""
    return np.unique(np.linspace(0, n - 1, min(n, most)).astype(np.int64))


def weight_layers(net):
    """``[(number, index, layer)]`` of the layers with a weight matrix (Dense, Conv2D).

    Numbered from 1 as the notes number ``W1, W2, ...`` (the repr of a network too).
    """
    found = []
    for index, layer in enumerate(net.layers):
        if isinstance(layer, (Dense, Conv2D)):
            found.append((len(found) + 1, index, layer))
    return found


# ---- start-of-run checks ----------------------------------------------------------------------
def check_setup(net, loss, X, target=None):
    """The start-of-run checks: unscaled inputs (and regression targets), softmax with
    squared error.

    ``X`` is the training input and ``target`` its targets as the loss prepared them
    (or samples of both). Returns a list of :class:`Finding`; nothing is warned.
    """
    findings = []
    for kind, found in (("unscaled_inputs", _unscaled_inputs(X)),
                        ("unscaled_targets", _unscaled_targets(net, loss, target)),
                        ("softmax_squared_error", _softmax_squared_error(net, loss))):
        if found:
            findings.append(Finding(kind, found))
    return findings


_STANDARDISE = ("Fix: standardise every feature to mean 0 and standard deviation 1 with the "
                "training set's statistics: X_train, X_test = cr.data.standardize(X_train, "
                "X_test) (chainrule train --csv does this for you); for pixels 0..255, divide "
                "by 255.")


def _column_squares(a, most):
    """Per column of the flattened rows of ``a`` (at most ``most`` rows, spread evenly):
    the sum of squares and the number of non-zero values, in float64, and how many rows.

    A few hundred rows at a time: a float64 copy of the whole sample would be the
    largest allocation of a fit (54 MB for 4,096 Fashion-MNIST images, against 4 MB
    for the weights, Adam's state and a batch).
    """
    rows = _rows(len(a), most)
    width = int(np.prod(a.shape[1:], dtype=np.int64))
    squares, nonzero = np.zeros(width), np.zeros(width, dtype=np.int64)
    for start in range(0, len(rows), STATS_ROWS):
        part = a[rows[start:start + STATS_ROWS]].reshape(-1, width).astype(np.float64)
        nonzero += np.count_nonzero(part, axis=0)
        part *= part
        squares += part.sum(axis=0)
    return squares, nonzero, len(rows)


def _unscaled_inputs(X):
    squares, counts, n = _column_squares(backend.to_numpy(X), INPUT_SAMPLE)
    if not n or not squares.size:
        return None
    rms = np.sqrt(squares / n)  # a feature's typical |value|, offset included
    if not np.all(np.isfinite(rms)):
        return None
    large = np.flatnonzero(rms > LARGE_INPUT)
    if large.size:
        top = large[np.argsort(-rms[large])][:3]
        which = ", ".join(f"{int(i)} (about {_g(rms[i])})" for i in top)
        more = f" and {large.size - 3} more" if large.size > 3 else ""
        return (f"unscaled inputs: feature{'s' if large.size > 1 else ''} {which}{more} "
                f"{'have' if large.size > 1 else 'has'} typical values far above 1, while the "
                f"initial weights are around 0.1 to 1. The weighted sums are then huge: sigmoid "
                f"and tanh units saturate, and the gradient of a weight grows with its input, "
                f"so one learning rate is far too big for these weights and too small for the "
                f"others. {_STANDARDISE}")
    # Different scales: the typical size of a feature's non-zero values, so that a rarely
    # used pixel (mostly 0) is not taken for a small-scaled feature.
    used = counts > 0
    if used.sum() < 2:
        return None
    typical = np.sqrt(squares[used] / counts[used])
    names = np.flatnonzero(used)
    big, small = int(np.argmax(typical)), int(np.argmin(typical))
    if typical[big] > SCALE_SPREAD * typical[small]:
        return (f"unscaled inputs: the features have very different scales: feature "
                f"{names[big]} is about {_g(typical[big])} but feature {names[small]} about "
                f"{_g(typical[small])}, {_g(typical[big] / typical[small])} times smaller. "
                f"The gradient of a weight grows with its input, so one learning rate makes "
                f"the large feature's weights jump while the small one's barely move. "
                f"{_STANDARDISE}")
    return None


def _unscaled_targets(net, loss, target):
    """Regression targets far from 1: the output error, so every gradient, is as large."""
    if target is None or not isinstance(loss, (losses_.SquaredError, losses_.MSE)):
        return None
    if net.layers and isinstance(net.layers[-1], (Softmax, Sigmoid)):
        return None
    squares, _, n = _column_squares(backend.to_numpy(target), INPUT_SAMPLE)
    if not n or not squares.size:
        return None
    rms = np.sqrt(squares / n)
    if not np.all(np.isfinite(rms)) or rms.max() <= LARGE_INPUT:
        return None
    return (f"unscaled targets: the values to predict are about {_g(rms.max())}, while a "
            f"network's output starts near 0. The first errors, and with them every "
            f"gradient, are then that large: steps overshoot (or the learning rate must be "
            f"tiny) and the output layer spends its training growing its weights. Fix: "
            f"standardise the targets too (y_scaled = (y - mean) / std with the training "
            f"set's mean and std) and undo it on the predictions (pred * std + mean).")


def _softmax_squared_error(net, loss):
    if not (net.layers and isinstance(net.layers[-1], Softmax)):
        return None
    if not isinstance(loss, (losses_.SquaredError, losses_.MSE)):
        return None
    return (f"softmax output trained with squared error ({type(loss).__name__}): through a "
            f"softmax, the squared error's gradient shrinks where the network is confidently "
            f"wrong (a probability near 0 for the true class sits where the softmax is flat), "
            f"so it learns slowest exactly where it is most wrong. Fix: use "
            f"loss=cr.CrossEntropy(), the default for a softmax output; with a softmax its "
            f"gradient is simply p - y.")


# ---- looking inside the network on a sample ---------------------------------------------------
@dataclass
class _Probe:
    """What one evaluation-mode forward and backward pass on a sample showed."""

    examples: int
    activations: list   # (layer number, kind, units, saturated fraction, dead units)
    gradients: np.ndarray  # (layers, 2): root mean square of the gradient and of the weight


def _probe(net, loss, X, target):
    """Forward and backward ``X`` in evaluation mode; parameters' gradients are restored.

    Evaluation mode draws no dropout mask and moves no running statistic, so training
    goes on exactly as it would have without the check. The sample goes through in
    chunks of :data:`CHUNK` rows, the size of a training batch: larger matrix products
    make a multi-threaded BLAS start threads, which on a busy machine costs far more
    than the arithmetic.
    """
    layers = weight_layers(net)
    last = layers[-1][1] if layers else -1
    params = net.parameters()
    saved = [p.grad.copy() for p in params]
    sums = [np.zeros(layer.weight.value.shape) for _, _, layer in layers]
    stats = {}  # layer index -> [number, kind, units, saturated count, values, ever positive]
    try:
        with frozen_gradients_in(net.layers, True):  # a frozen weight's gradient size too
            for start in range(0, len(X), CHUNK):
                x, t = X[start:start + CHUNK], target[start:start + CHUNK]
                number = 0
                for i, layer in enumerate(net.layers):
                    x = layer.forward(x, False)
                    if isinstance(layer, (Dense, Conv2D)):
                        number += 1
                    if i < last and type(layer) in (Sigmoid, Tanh, ReLU):
                        _count(stats, i, number, layer, x)
                head = net.layers[-1]
                if loss.fuses_with is not None and type(head) is loss.fuses_with:
                    loss.fused_forward(head.logits, x, t)
                    net.backward(loss.fused_backward(), start=len(net.layers) - 1,
                                 input_grad=False)
                else:
                    loss._forward(x, t)
                    net.backward(loss.backward(), input_grad=False)
                for total, (_, _, layer) in zip(sums, layers):
                    total += backend.to_numpy(layer.weight.grad) * (len(t) / len(X))
    finally:
        for p, grad in zip(params, saved):
            p.grad[...] = grad
    activations = [(number, kind, units, saturated / max(values, 1),
                    int(np.sum(~alive)) if kind == "relu" else 0)
                   for number, kind, units, saturated, values, alive in stats.values()]
    sizes = np.array([[_rms(total), _rms(layer.weight.value)]
                      for total, (_, _, layer) in zip(sums, layers)]).reshape(-1, 2)
    return _Probe(len(X), activations, sizes)


def _count(stats, index, number, layer, out):
    """Add an activation layer's output on one chunk to its counts.

    A unit is a column of a dense layer's output, a channel of a convolution's.
    """
    out = backend.to_numpy(out)
    units = out.shape[1] if out.ndim > 1 else 1
    kind = "relu" if isinstance(layer, ReLU) else (
        "sigmoid" if isinstance(layer, Sigmoid) else "tanh")
    entry = stats.setdefault(index, [number, kind, units, 0, 0, np.zeros(units, dtype=bool)])
    if kind == "relu":
        per_unit = np.moveaxis(out, 1, 0).reshape(units, -1) if out.ndim > 1 else out[None]
        entry[5] |= np.any(per_unit > 0, axis=1)
        return
    if kind == "sigmoid":
        entry[3] += int(np.count_nonzero((out < _SIGMOID_EDGE) | (out > 1 - _SIGMOID_EDGE)))
    else:
        entry[3] += int(np.count_nonzero(np.abs(out) > _TANH_EDGE))
    entry[4] += out.size


def _rms(a):
    a = backend.to_numpy(a).astype(np.float64, copy=False).ravel()
    return float(np.sqrt(np.dot(a, a) / max(a.size, 1)))


def _epoch_findings(probe, when, stalled, optimizer, first, unscaled=False):
    """The findings of one probe; ``first``: the first check of the run.

    With ``unscaled`` (unscaled inputs or regression targets, already reported) large
    gradients have that cause and are not reported again as exploding: one cause, one
    warning.
    """
    findings = []
    lr = getattr(optimizer, "lr", None)
    seen = f"on {probe.examples} training examples{when}"
    for number, kind, units, saturated, dead in probe.activations:
        if kind == "relu" and dead > DEAD_FRACTION * units:
            lower = f"lower the learning rate (it is {_g(lr)})" if lr else \
                "lower the learning rate"
            findings.append(Finding("dead_relu", (
                f"dead ReLUs: {dead} of the {units} ReLU units of hidden layer {number} output "
                f"0 for every one of the {probe.examples} training examples checked{when}. A "
                f"dead unit's slope is 0 for every input, so no gradient reaches its weights "
                f"and it never comes back: the layer works with {units - dead} unit"
                f"{'s' if units - dead != 1 else ''}. Usual causes: a learning rate so high "
                f"that one step pushed the units' weighted sums below 0 for every input, or "
                f"large negative biases. Fix: {lower}, use LeakyReLU "
                f"(activation=\"leaky_relu\"), which keeps a small slope below 0, with He "
                f"initialisation (init=\"he\").")))
        if kind in ("sigmoid", "tanh") and saturated > SATURATED_FRACTION and (first or stalled):
            edge = (f"within {_g(_SIGMOID_EDGE)} of 0 or 1" if kind == "sigmoid"
                    else f"within {_g(1 - _TANH_EDGE)} of -1 or 1")
            top = "0.25" if kind == "sigmoid" else "1"
            why = "at the start of training" if first else "and the loss has stopped falling"
            findings.append(Finding("saturation", (
                f"saturated {kind} units: {saturated:.0%} of the outputs of the {units} {kind} "
                f"units of hidden layer {number} are {edge} {seen}, {why}. There the slope of "
                f"{kind} is less than a tenth of its largest ({top}), and backpropagation "
                f"multiplies every gradient passing through by that slope, so these units, "
                f"and the layers below them, barely learn. Usual causes: unscaled inputs, "
                f"initial weights that are too large, or a learning rate that is too high. "
                f"Fix: standardise the inputs, use Xavier initialisation (init=\"xavier\"), "
                f"lower the learning rate, or use ReLU hidden units.")))
    findings += _gradient_findings(probe.gradients, seen, optimizer, unscaled)
    return findings


def _step_size(optimizer):
    """(how far one step moves a weight per unit of gradient, the optimiser's name).

    ``lr / (1 - momentum)`` for SGD (momentum adds up past steps); None for Adam,
    RMSProp and AdaGrad, which divide by the gradient's own size so that their steps do
    not grow with it; ``1 / GRAD_TO_WEIGHT`` for an unknown optimiser.
    """
    if isinstance(optimizer, SGD):
        return optimizer.lr / (1.0 - optimizer.momentum), repr(optimizer)
    if isinstance(optimizer, (Adam, RMSProp, AdaGrad)):
        return None, repr(optimizer)
    return 1.0 / GRAD_TO_WEIGHT, "SGD(lr=0.1)"


def _gradient_findings(sizes, seen, optimizer=None, unscaled=False):
    if len(sizes) < 2 or not np.all(np.isfinite(sizes)):
        return []
    grad, weight = sizes[:, 0], sizes[:, 1]
    per_layer = ", ".join(_g(g) for g in grad)
    findings = []
    scale = np.maximum(weight, 0.1)
    worst = int(np.argmax(grad / scale))
    ratio = grad[0] / grad[-1] if grad[-1] > 0 else np.inf
    step, name = _step_size(optimizer)
    big = step is not None and step * grad[worst] > scale[worst] and not unscaled
    if big or (np.isfinite(ratio) and ratio > EXPLODING_RATIO):
        if big:
            seen_here = (f"one step of {name} would move the weights of layer {worst + 1} by "
                         f"{_g(step * grad[worst] / weight[worst])} times their size (per "
                         f"weight: gradient {_g(grad[worst])}, weight {_g(weight[worst])}) "
                         f"{seen}")
        else:
            seen_here = (f"the gradient grows on its way back: layer 1's is {_g(ratio)} times "
                         f"layer {len(grad)}'s {seen}")
        findings.append(Finding("exploding_gradients", (
            f"exploding gradients: {seen_here} (gradient size per weight, layer 1 to "
            f"{len(grad)}: {per_layer}). A step along such a gradient moves the weights far "
            f"beyond where they are, so the loss jumps around or becomes NaN. Usual causes: "
            f"unscaled inputs, initial weights that are too large, or a learning rate that is "
            f"too high. Fix: standardise the inputs, use He or Xavier initialisation, lower the "
            f"learning rate, or clip the gradients (fit(..., clip_norm=1.0)).")))
    elif grad[0] > 0 and grad[-1] > 1e-7 and ratio < VANISHING_RATIO:
        findings.append(Finding("vanishing_gradients", (
            f"vanishing gradients: the gradient reaching layer 1 is {_g(1 / ratio)} times "
            f"smaller than at layer {len(grad)} {seen} (gradient size per weight, layer 1 to "
            f"{len(grad)}: {per_layer}). Backpropagation multiplies the error by every "
            f"layer's weights and slope on its way down, and a sigmoid's slope is at most 0.25, "
            f"so the first layers of a deep network hardly learn. Fix: ReLU hidden units with "
            f"He initialisation (or tanh with Xavier), fewer layers, or BatchNorm; an adaptive "
            f"optimiser such as Adam also helps.")))
    return findings


def diagnose(net, X, y, loss=None, optimizer=None, checks=CHECKS):
    """Run every check once on ``net`` and the data ``(X, y)`` and return the findings.

    Nothing is trained, warned or changed (the gradients are put back). ``loss``
    defaults as in ``fit``; ``optimizer`` is the one training would use (step sizes are
    judged for ``SGD(0.1)`` when it is not given). Useful to ask "why does this not
    learn?" of a network.
    """
    from .loop import default_loss

    loss = default_loss(net) if loss is None else losses_.get(loss)
    checks = _check_names(checks)
    X = net.prepare_inputs(X)
    target = loss.prepare_target(y, net.n_out, net.dtype)
    findings = check_setup(net, loss, X, target)
    rows = _rows(len(X), SAMPLE)
    probe = _probe(net, loss, X[rows], target[rows])
    unscaled = any(f.kind in ("unscaled_inputs", "unscaled_targets") for f in findings)
    findings += _epoch_findings(probe, "", False, optimizer, True, unscaled)
    return [f for f in findings if f.kind in checks]


def _check_names(checks):
    checks = tuple(checks)
    unknown = [c for c in checks if c not in CHECKS]
    if unknown:
        raise InvalidValueError(f"Diagnostics: unknown check(s) {', '.join(map(repr, unknown))}; "
                                f"the checks are {', '.join(CHECKS)}")
    return checks


# ---- the callback -----------------------------------------------------------------------------
class Diagnostics(Callback):
    """Warn (:class:`DiagnosticWarning`), once per run each, when training looks unhealthy.

    ``checks`` selects some of :data:`CHECKS`. The epoch checks look at ``sample``
    training examples after epoch 1 and then every ``k`` epochs, the smallest ``k`` for
    which they look at no more than ``budget`` times the examples training sees
    (``budget=0``: after epoch 1 only); a check counts as no fewer than :data:`CHUNK`
    examples, which it costs however few there are. ``findings`` lists what was found, in
    order. A run that ``fit`` restarts (``restarts=``) is one run: nothing is said twice.
    """

    def __init__(self, checks=CHECKS, sample=SAMPLE, budget=BUDGET):
        self.checks = _check_names(checks)
        if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
            raise InvalidValueError(f"Diagnostics: sample must be a positive integer, "
                                    f"got {sample!r}")
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) \
                or not 0 <= budget <= 1:
            raise InvalidValueError(f"Diagnostics: budget must be in [0, 1], got {budget!r}")
        self.sample, self.budget = int(sample), float(budget)
        self.findings = []
        self.every = None   # epochs between checks, once training has started
        self.checked = []   # the epochs after which the network was looked at
        self._setup = self._data = None
        self._broken = self._unscaled = False

    def _pending(self):
        found = {f.kind for f in self.findings}
        return [c for c in self.checks if c not in SETUP_CHECKS and c not in found]

    def _report(self, findings):
        fired = {f.kind for f in self.findings}
        for finding in findings:
            if finding.kind in self.checks and finding.kind not in fired:
                fired.add(finding.kind)
                self.findings.append(finding)
                finding.warn()

    def on_train_begin(self, state):
        setup = getattr(state, "setup", None)
        if setup is None or setup is self._setup:  # no data to look at, or a restart
            return
        self._setup, self.findings, self.checked, self._broken = setup, [], [], False
        rows = _rows(len(setup.X), self.sample)
        self._data = (setup.X[rows], setup.target[rows])
        # A check of a few rows costs about as much as one of CHUNK rows (its passes run
        # CHUNK rows at a time): a tiny data set is not checked every few epochs.
        cost = max(len(rows), CHUNK)
        self.every = (math.inf if self.budget == 0
                      else max(1, math.ceil(cost / (self.budget * len(setup.X)))))
        found = check_setup(state.net, setup.loss, setup.X, setup.target)
        self._unscaled = any(f.kind in ("unscaled_inputs", "unscaled_targets")
                             for f in found)
        self._report(found)

    def on_epoch_end(self, state):
        if self._data is None or self._broken:
            return
        if state.epoch != 1 and (self.every == math.inf or (state.epoch - 1) % self.every):
            return
        if not self._pending():
            return
        try:
            probe = _probe(state.net, self._setup.loss, *self._data)
            losses = list(state.history.get("loss", [])) + [state.logs.get("loss", np.nan)]
            stalled = len(losses) > STALL_EPOCHS and \
                not losses[-1] < (1 - STALL_DROP) * losses[-1 - STALL_EPOCHS]
            first = not self.checked
            self.checked.append(state.epoch)
            self._report(_epoch_findings(probe, f" (after epoch {state.epoch})", stalled,
                                         state.optimizer, first, self._unscaled))
        except Exception:  # a diagnostic must never stop training
            log.warning("Diagnostics: a check failed and is switched off for this run",
                        exc_info=True)
            self._broken = True


def with_diagnostics(callbacks):
    """``callbacks`` as a list with a :class:`Diagnostics` at the end, unless one is there.

    ``fit`` calls this, so every run is diagnosed; pass your own ``Diagnostics(checks=...)``
    to choose the checks, or ``Diagnostics(checks=())`` for none.
    """
    callbacks = list(callbacks)
    if not any(isinstance(cb, Diagnostics) for cb in callbacks):
        callbacks.append(Diagnostics())
    return callbacks
