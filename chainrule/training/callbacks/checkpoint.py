"""ModelCheckpoint: save the network during training, as a loadable model file."""
import math
import numbers
import os

from ...errors import InvalidValueError
from ..checkpoint import capture
from .base import Best, Callback, monitored_value, resolve_mode


class ModelCheckpoint(Callback):
    """Save the network every ``every`` epochs, or only when ``monitor`` improves.

    Long runs die (power, Ctrl-C, a full disk); a checkpoint bounds what is lost. Each
    save is ``state.net.save(path, metadata=...)``, which writes a temporary file and
    renames it over ``path``, so a crash or error mid-save leaves the previous file
    whole. The file also holds the training state (optimiser, generators, counters,
    History), so ``fit(..., resume=path)`` continues the run bit for bit, and it is an
    ordinary model too: ``chainrule.load(path)`` rebuilds the network,
    and its ``metadata`` holds ``epoch``, ``iteration`` and ``logs`` (non-finite log
    values as null), plus ``monitor`` and ``best`` when a monitor is given.

    ``path`` may contain ``str.format`` fields: ``{epoch}``, ``{iteration}`` and any log
    key, e.g. ``"run/epoch{epoch:03d}-{val_loss:.3f}.safetensors"``; without fields each
    save replaces the last. Its directory must exist.

    With ``save_best_only`` (which needs ``monitor``, e.g. ``"val_loss"``) the epochs
    that are multiples of ``every`` are checked and the network is written only if the
    value beats the best of the checked epochs so far (mode as in EarlyStopping). A
    failed save raises and ends ``fit``: carrying on without the checkpoints asked for
    would be found out only when they are needed.

    Attributes: ``last_path`` (the file last written, None before), ``best``,
    ``best_epoch``.
    """

    def __init__(self, path, every=1, monitor=None, save_best_only=False, mode="auto",
                 metadata=None):
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every <= 0:
            raise InvalidValueError(f"every must be a positive integer, got {every!r}")
        if save_best_only and monitor is None:
            raise InvalidValueError("ModelCheckpoint(save_best_only=True) needs monitor=..., "
                                    "the log to judge by, e.g. monitor='val_loss'")
        self.path = os.fspath(path)
        self.every, self.monitor = int(every), monitor
        self.save_best_only = bool(save_best_only)
        self.mode = resolve_mode(monitor, mode) if monitor is not None else None
        self._best = Best(self.mode) if monitor is not None else None
        self.last_path = None
        self.metadata = dict(metadata or {})  # stored in every file (e.g. the CLI's settings)

    @property
    def best(self):
        return self._best.value if self._best is not None else None

    @property
    def best_epoch(self):
        return self._best.epoch if self._best is not None else None

    def on_train_begin(self, state):
        self.last_path = None
        if self._best is not None:
            self._best.reset()

    def on_epoch_end(self, state):
        if state.epoch % self.every:
            return
        if self.monitor is not None:
            value = monitored_value(state, self.monitor, "ModelCheckpoint")
            improved = self._best.improves(value)
            if improved:
                self._best.update(value, state.epoch)
            if self.save_best_only and not improved:
                return
        path = self.filename(state)
        training = capture(state) if state.setup is not None else None
        state.net.save(path, metadata=self._metadata(state), checkpoint=training)
        self.last_path = path

    def filename(self, state):
        """``path`` with its ``{epoch}``, ``{iteration}`` and ``{<log key>}`` fields filled."""
        fields = dict(state.logs, epoch=state.epoch, iteration=state.iteration)
        try:
            return self.path.format(**fields)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidValueError(
                f"ModelCheckpoint path {self.path!r} cannot be filled in ({exc!r}); its fields "
                f"may be {', '.join(fields)}; write a literal brace as {{{{ or }}}}") from exc

    def _metadata(self, state):
        metadata = {**self.metadata, "epoch": state.epoch, "iteration": state.iteration,
                    "logs": {key: _json_number(value) for key, value in state.logs.items()}}
        if self.monitor is not None:
            metadata["monitor"] = self.monitor
            metadata["best"] = _json_number(self._best.value)
        return metadata

    def __repr__(self):
        return (f"ModelCheckpoint({self.path!r}, every={self.every}, monitor={self.monitor!r}, "
                f"save_best_only={self.save_best_only})")


def _json_number(value):
    """A float JSON can hold: model files refuse NaN and inf, so those become None."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
