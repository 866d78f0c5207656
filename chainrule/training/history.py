"""History: what happened in each epoch of training."""


class History(dict):
    """A dict of lists, one value per epoch: ``history["loss"][9999]``.

    Keys: ``loss`` (mean loss of the epoch's forward passes, penalty included),
    ``accuracy`` for classifiers, and ``val_loss``/``val_accuracy`` with validation
    data. ``epochs`` and ``iterations`` count what was done; ``stop_reason`` says why
    training ended ("epochs", "target_loss", "diverged", "callback").
    """

    def __init__(self):
        super().__init__(loss=[])
        self.epochs = 0
        self.iterations = 0
        self.stop_reason = None

    def append(self, logs):
        for key, value in logs.items():
            self.setdefault(key, []).append(value)

    def __repr__(self):
        last = ", ".join(f"{k}={v[-1]:.6g}" for k, v in self.items() if v)
        return (f"History({self.epochs} epochs, {self.iterations} iterations, "
                f"stop_reason={self.stop_reason!r}{', ' if last else ''}{last})")
