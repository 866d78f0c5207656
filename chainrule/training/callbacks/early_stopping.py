"""EarlyStopping: stop when a monitored log stops improving, and keep the best weights."""
import numbers

from ...errors import InvalidValueError
from .base import Best, Callback, check_min_delta, monitored_value, resolve_mode


class EarlyStopping(Callback):
    """Stop training once ``monitor`` has not improved for ``patience`` epochs.

    Training longer than the validation loss keeps falling only fits the noise of the
    training set; this stops there. An epoch improves when its value beats the best so
    far by more than ``min_delta`` (mode ``"min"``: lower is better, ``"max"``: higher;
    ``"auto"`` picks max for accuracy-like names, min otherwise). After ``patience``
    epochs in a row without improvement it sets ``state.stop`` with ``stop_reason``
    ``"early_stopping"`` (as in Keras: ``patience=1``, like ``0``, stops at the first epoch
    that does not improve).

    With ``restore_best`` a copy of every parameter (and of layer buffers, for layers
    that have ``buffers()``) is kept at the best epoch and copied back when training
    ends (stopped early, out of epochs, or diverged), so the network leaves ``fit`` at its best epoch. The copy goes
    into the existing arrays, so the optimiser's references to them stay valid.

    Attributes: ``best`` (the best value), ``best_epoch`` (1-based, 0 before any),
    ``stopped_epoch`` (the epoch that triggered the stop, 0 if none), ``restored``.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best=True):
        if isinstance(patience, bool) or not isinstance(patience, numbers.Integral) \
                or patience < 0:
            raise InvalidValueError(f"patience must be an integer >= 0, got {patience!r}")
        self.monitor, self.patience = monitor, int(patience)
        self.min_delta = check_min_delta(min_delta)
        self.mode = resolve_mode(monitor, mode)
        self.restore_best = bool(restore_best)
        self._best = Best(self.mode, self.min_delta)
        self._reset()

    def _reset(self):
        self._best.reset()
        self.wait = 0
        self.stopped_epoch = 0
        self.restored = False
        self._snapshot = None

    @property
    def best(self):
        return self._best.value

    @property
    def best_epoch(self):
        return self._best.epoch

    def on_train_begin(self, state):
        self._reset()

    def on_epoch_end(self, state):
        value = monitored_value(state, self.monitor, "EarlyStopping")
        if self._best.improves(value):
            self._best.update(value, state.epoch)
            self.wait = 0
            if self.restore_best:
                self._snapshot = snapshot(state.net)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop = True
            state.stop_reason = "early_stopping"

    def on_train_end(self, state):
        if self.restore_best and self._snapshot is not None:
            restore(state.net, self._snapshot)
            self.restored = True
        self._snapshot = None  # the copy is as big as the network: do not keep it around

    def state_dict(self):
        """What a checkpoint keeps so that a resumed run stops and restores the same way."""
        state = {"wait": self.wait, "stopped_epoch": self.stopped_epoch,
                 "best": self._best.value, "best_epoch": self._best.epoch}
        if self._snapshot is not None:
            values, buffers = self._snapshot
            state.update({f"value.{i}": v for i, v in enumerate(values)})
            state.update({f"buffer.{i}.{name}": b for i, layer in enumerate(buffers)
                          for name, b in layer.items()})
        return state

    def load_state_dict(self, state):
        self.wait, self.stopped_epoch = state["wait"], state["stopped_epoch"]
        if state["best"] is not None:  # None: nothing better than the start (inf) yet
            self._best.value = state["best"]
        self._best.epoch = state["best_epoch"]
        values = [state[k] for k in sorted((k for k in state if k.startswith("value.")),
                                           key=lambda k: int(k.split(".")[1]))]
        if values:
            buffers = {}
            for key, b in state.items():
                if key.startswith("buffer."):
                    _, i, name = key.split(".", 2)
                    buffers.setdefault(int(i), {})[name] = b
            count = 1 + max(buffers, default=-1)
            self._snapshot = (values, [buffers.get(i, {}) for i in range(count)])

    def __repr__(self):
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, mode={self.mode!r}, "
                f"restore_best={self.restore_best})")


def _buffers(layer):
    """A layer's name -> array of non-trainable state (running means...); {} if none."""
    return dict(layer.buffers()) if hasattr(layer, "buffers") else {}


def snapshot(net):
    """Copies of every parameter value and every layer buffer."""
    return ([p.value.copy() for p in net.parameters()],
            [{name: b.copy() for name, b in _buffers(layer).items()} for layer in net.layers])


def restore(net, saved):
    """Copy a :func:`snapshot` back into the network's arrays, in place.

    Buffers are looked up again by name rather than remembered, so a layer that
    replaced a buffer array since the snapshot still gets the values back.
    """
    values, buffers = saved
    params = net.parameters()
    if len(params) != len(values) or len(buffers) != len(net.layers):
        raise InvalidValueError("EarlyStopping cannot restore the best weights: the network "
                                "changed its layers or parameters during training")
    for p, value in zip(params, values):
        p.value[...] = value
    for layer, kept in zip(net.layers, buffers):
        current = _buffers(layer)
        for name, value in kept.items():
            current[name][...] = value
