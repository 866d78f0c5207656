"""Progress callbacks: the only place the library writes to a stream while training."""
import sys
import time

from ...errors import NotAvailableError
from .base import Callback


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


class ProgressBar(Callback):
    """A bar per epoch over its batches, with the batch loss, ETA and the epoch's metrics.

    The bars are drawn by ``tqdm``, which gets terminals right (widths, rates, ETA);
    it is needed only when ``stream`` is a terminal. Logs, files and CI output are not
    terminals, and carriage-return bars would fill them with garbage, so there the
    callback writes one plain line per epoch instead, with elapsed time and ETA.
    ``quiet=True`` writes nothing, so a script can keep the callback and silence it.

    ``stream`` defaults to ``sys.stderr`` (looked up when training starts, like tqdm).
    An open bar holds its terminal line and shifts later bars down, so it is closed
    however training ends: in ``on_train_end``, in ``on_exception`` when ``fit`` is left
    by an error or Ctrl-C, and, failing both, when the next training begins.
    """

    def __init__(self, stream=None, quiet=False):
        self.stream, self.quiet = stream, bool(quiet)
        self._bar = None

    def on_train_begin(self, state):
        self.close()    # a bar left over from an earlier fit that died
        self._out = self.stream if self.stream is not None else sys.stderr
        self._bars = not self.quiet and _isatty(self._out)
        if self._bars:
            _tqdm()     # fail now, not after the first epoch's work
        self._start = time.perf_counter()

    def on_epoch_begin(self, state):
        if not self._bars:
            return
        self.close()
        self._bar = _tqdm()(total=state.batches, desc=_epoch_label(state, state.epoch + 1),
                            file=self._out, unit="batch", leave=True, dynamic_ncols=True)

    def on_batch_end(self, state):
        if self._bar is None:
            return
        self._bar.update(1)
        if state.batch_loss is not None:
            self._bar.set_postfix_str(f"loss {state.batch_loss:.4g}", refresh=False)

    def on_epoch_end(self, state):
        if self.quiet:
            return
        metrics = "  ".join(f"{key} {_number(value)}" for key, value in state.logs.items())
        if self._bar is not None:
            self._bar.set_postfix_str(metrics, refresh=False)
            self.close()
            return
        elapsed = time.perf_counter() - self._start
        eta = elapsed / state.epoch * (state.epochs - state.epoch)
        self._out.write(f"{_epoch_label(state, state.epoch)}  {metrics}  "
                        f"({elapsed:.1f}s, eta {eta:.1f}s)\n")
        self._out.flush()

    def on_train_end(self, state):
        self.close()

    def on_exception(self, state, error):
        self.close()

    def close(self):
        """Close the open bar, if any (its last state stays on screen)."""
        bar, self._bar = self._bar, None
        if bar is not None:
            bar.close()


def _epoch_label(state, epoch):
    width = len(str(state.epochs))
    return f"epoch {epoch:>{width}}/{state.epochs}"


def _number(value):
    try:
        return f"{value:.4g}"
    except (TypeError, ValueError):
        return str(value)


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):   # no isatty, or a closed stream
        return False


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        raise NotAvailableError("ProgressBar draws its bars with tqdm, which is not installed: "
                                "pip install tqdm (or use ProgressLogger)") from None
    return tqdm
