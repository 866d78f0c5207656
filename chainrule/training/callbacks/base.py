"""The callback protocol: the state ``fit`` shares with callbacks, and no-op hooks.

Every hook receives the :class:`TrainingState` (network, optimiser, epoch, iteration,
history, the latest logs) and may set ``state.stop = True`` to end training after the
current epoch. Subclasses override only the hooks they need, as in Keras.
"""
import math

from ...errors import InvalidValueError


class TrainingState:
    """What a callback can see and change while ``fit`` runs."""

    def __init__(self, net, optimizer, history, epochs):
        self.net, self.optimizer, self.history = net, optimizer, history
        self.epochs = epochs
        self.epoch = 0          # epochs completed
        self.iteration = 0      # weight updates made
        self.batch = 0          # index of the current batch within its epoch
        self.batches = 0        # batches per epoch
        self.batch_loss = None  # loss of the latest batch
        self.logs = {}
        self.stop = False
        self.stop_reason = None
        self.setup = None       # the fit's settings and data (for checkpoints)


class Callback:
    """Base class with no-op hooks; override the ones you need.

    Order within one ``fit``: ``on_train_begin``, then per epoch ``on_epoch_begin``,
    ``on_batch_end`` after every weight update, ``on_epoch_end`` once ``state.logs``
    holds the epoch's results; finally ``on_train_end``. ``on_exception`` is the way
    out when ``fit`` is left by an exception (Ctrl-C included) instead: a callback
    holding something open (a progress bar) releases it there.
    """

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state):
        pass

    def on_batch_end(self, state):
        pass

    def on_epoch_end(self, state):
        pass

    def on_train_end(self, state):
        pass

    def on_exception(self, state, error):
        pass


# Log names where bigger is better; every other name (losses, errors) is minimised.
_MAXIMISED = ("acc", "auc", "f1", "precision", "recall", "r2")


def resolve_mode(monitor, mode):
    """``"min"`` or ``"max"``; ``"auto"`` guesses from the name (accuracy-like -> max)."""
    if mode not in ("auto", "min", "max"):
        raise InvalidValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower()
    return "max" if any(word in name for word in _MAXIMISED) else "min"


def check_min_delta(min_delta):
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) \
            or not math.isfinite(min_delta) or min_delta < 0:
        raise InvalidValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
    return float(min_delta)


def monitored_value(state, monitor, owner):
    """``state.logs[monitor]`` as a float, or an error naming the keys that do exist.

    Raised at the first epoch rather than silently never stopping or saving: a
    misspelt key or a forgotten ``validation_data`` is the usual cause.
    """
    if monitor not in state.logs:
        available = ", ".join(map(repr, state.logs)) or "none"
        hint = ""
        if monitor.startswith("val_"):
            hint = f"; {monitor} needs validation_data=(X_val, y_val) in fit"
        elif "acc" in monitor:
            hint = "; accuracy is logged only for classifiers (cross-entropy losses)"
        raise InvalidValueError(f"{owner} monitors {monitor!r}, which is not in the logs of "
                                f"epoch {state.epoch}; available keys: {available}{hint}")
    return float(state.logs[monitor])


class Best:
    """The best value of a monitored log so far, and whether a new value beats it.

    A new value must beat the best by more than ``min_delta``; NaN never does.
    """

    def __init__(self, mode, min_delta=0.0):
        self.mode, self.min_delta = mode, min_delta
        self.reset()

    def reset(self):
        self.value = math.inf if self.mode == "min" else -math.inf
        self.epoch = 0

    def improves(self, value):
        if self.mode == "min":
            return value < self.value - self.min_delta
        return value > self.value + self.min_delta

    def update(self, value, epoch):
        self.value, self.epoch = value, epoch
