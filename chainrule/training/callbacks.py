"""Callbacks: hooks the training loop calls; each may stop training.

Every hook receives the :class:`TrainingState` (network, epoch, iteration, history,
the latest logs) and may set ``state.stop = True``.
"""
import sys
import time


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


class Callback:
    """Base class with no-op hooks; override the ones you need."""

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


class ProgressLogger(Callback):
    """One line per epoch: loss, metrics and elapsed time, written to ``stream``."""

    def __init__(self, stream=None, every=1):
        self.stream = stream if stream is not None else sys.stdout
        self.every = max(1, int(every))

    def on_train_begin(self, state):
        self._start = time.perf_counter()

    def on_epoch_end(self, state):
        if state.epoch % self.every and state.epoch != state.epochs:
            return
        width = len(str(state.epochs))
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in state.logs.items())
        elapsed = time.perf_counter() - self._start
        self.stream.write(f"epoch {state.epoch:>{width}}/{state.epochs}  {metrics}  "
                          f"({elapsed:.1f}s)\n")
        self.stream.flush()
