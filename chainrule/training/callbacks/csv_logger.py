"""CSVLogger: the epoch logs as a CSV file, one row per epoch."""
import csv
import os

from ...errors import InvalidValueError
from .base import Callback


class CSVLogger(Callback):
    """Write ``epoch`` and every log of each epoch as one row of a CSV file.

    A CSV row per epoch is what spreadsheets, pandas and plotting scripts read. The
    file is opened, appended to and closed at every epoch, so each row reaches the
    operating system as soon as its epoch ends: an interrupted run keeps all the rows
    of the epochs it finished, and no file handle is left open if ``fit`` fails.

    The columns are ``epoch`` then the log keys of the first epoch, in their order
    (``loss, accuracy, val_loss, val_accuracy``, then keys added by earlier callbacks,
    such as ``lr``). A key that appears only in a later epoch is an error rather than
    a silently missing or misaligned column; a key that later goes missing leaves its
    cell empty. Numbers are written in full precision.

    ``append=False`` starts the file afresh when training begins. ``append=True`` adds
    to an existing file and keeps its header, which the new logs must then fit.
    """

    def __init__(self, path, append=False):
        self.path, self.append = os.fspath(path), bool(append)
        self.columns = None

    def on_train_begin(self, state):
        self.columns = None
        if self.append:
            self.columns = _existing_header(self.path)
        else:
            open(self.path, "w", newline="", encoding="utf-8").close()

    def on_epoch_end(self, state):
        row = {"epoch": state.epoch, **state.logs}
        write_header = self.columns is None
        if write_header:
            self.columns = list(row)
        new = [key for key in row if key not in self.columns]
        if new:
            raise InvalidValueError(
                f"CSVLogger: epoch {state.epoch} logs {', '.join(map(repr, new))}, not among "
                f"the columns of {self.path!r} ({', '.join(self.columns)}); the columns are "
                f"fixed by the first epoch, so put callbacks that add logs before CSVLogger "
                f"and add them from the first epoch")
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, restval="")
            if write_header:
                writer.writeheader()
            writer.writerow(row)

    def __repr__(self):
        return f"CSVLogger({self.path!r}, append={self.append})"


def _existing_header(path):
    """The column names of a CSV file, or None if there is no file or it is empty."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
    except FileNotFoundError:
        return None
    if header is not None and "epoch" not in header:
        raise InvalidValueError(f"CSVLogger(append=True): {path!r} has no 'epoch' column in "
                                f"its first line; it is not a file CSVLogger wrote")
    return header or None
