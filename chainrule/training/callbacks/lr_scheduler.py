"""LearningRateScheduler: advance a learning-rate schedule as training goes."""
from ...errors import InvalidValueError
from .base import Callback, monitored_value


class LearningRateScheduler(Callback):
    """Call ``schedule.step()`` after every epoch (or every iteration).

    The schedules (``chainrule.optim.schedules``) follow ``torch.optim.lr_scheduler``:
    built on an optimiser, each ``step()`` sets ``optimizer.lr`` for what comes next.
    This callback only decides *when* to step, so the same schedule object works in a
    hand-written loop too. With ``monitor`` (e.g. ``"val_loss"`` for a ReduceLROnPlateau)
    it calls ``schedule.step(state.logs[monitor])`` instead; that needs ``per="epoch"``,
    since logs exist only at the end of an epoch.

    It also writes ``state.logs["lr"]``: the learning rate of the epoch's last weight
    update, i.e. the one the epoch was trained with when stepping per epoch. Callbacks
    after it in the list (CSVLogger, ProgressBar) see it.
    """

    def __init__(self, schedule, per="epoch", monitor=None):
        if not callable(getattr(schedule, "step", None)):
            raise InvalidValueError(f"LearningRateScheduler needs a schedule with a step() "
                                    f"method, got {schedule!r}")
        if per not in ("epoch", "iteration"):
            raise InvalidValueError(f"per must be 'epoch' or 'iteration', got {per!r}")
        if monitor is not None and per != "epoch":
            raise InvalidValueError(f"monitor={monitor!r} needs per='epoch': the logs it "
                                    f"reads are made once per epoch")
        self.schedule, self.per, self.monitor = schedule, per, monitor
        self._last = None

    def on_train_begin(self, state):
        # A schedule built on another optimiser would change an lr nobody uses.
        bound = getattr(self.schedule, "optimizer", None)
        if bound is not None and bound is not state.optimizer:
            raise InvalidValueError(
                "LearningRateScheduler: the schedule was built on a different optimiser than "
                "the one fit trains with; pass that same optimiser to fit(optimizer=...)")
        self._last = None

    def on_batch_end(self, state):
        if self.per == "iteration":
            self._last = _lr(state.optimizer)   # the rate this update was made with
            self.schedule.step()

    def on_epoch_end(self, state):
        lr = self._last if self.per == "iteration" else _lr(state.optimizer)
        if lr is not None:
            state.logs["lr"] = lr
        if self.per != "epoch":
            return
        if self.monitor is None:
            self.schedule.step()
        else:
            self.schedule.step(monitored_value(state, self.monitor, "LearningRateScheduler"))

    def state_dict(self):
        return {"schedule": self.schedule.state_dict(), "last": self._last}

    def load_state_dict(self, state):
        self.schedule.load_state_dict(state["schedule"])
        self._last = state["last"]

    def __repr__(self):
        monitor = f", monitor={self.monitor!r}" if self.monitor is not None else ""
        return f"LearningRateScheduler({self.schedule!r}, per={self.per!r}{monitor})"


def _lr(optimizer):
    lr = getattr(optimizer, "lr", None)
    return float(lr) if lr is not None else None
