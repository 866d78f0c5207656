"""The playground's data: the built-in 2-D sets and uploaded CSV files.

Uploads are written only inside one temporary directory that the server creates at
start-up and removes when it stops; each file is deleted as soon as a newer upload
pushes it out of the small store.
"""
import csv
import io
import os
import secrets
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from .. import datasets
from ..errors import ChainruleError, DataError, InvalidValueError
from .settings import MAX_CLASSES, REGRESSION

MAX_UPLOAD = 20 * 1024 * 1024  # bytes
SHOWN_POINTS = 2000            # the page draws at most this many points per split


class UploadTooLarge(ChainruleError):
    """An upload over the size limit."""


@dataclass
class DataSet:
    """Train and test arrays plus what the page needs to draw them."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str                       # "classification" or "regression"
    classes: list = None            # labels, in class-index order
    features: list = field(default_factory=list)
    fx: int = 0
    fy: int = 1
    scaling: dict = None            # mean/scale of an uploaded file's features

    @property
    def k(self):
        return len(self.classes) if self.task == "classification" else 1

    def bounds(self):
        """(xmin, xmax, ymin, ymax) of the two shown features, with a margin."""
        both = np.concatenate([self.X_train, self.X_test])[:, [self.fx, self.fy]]
        lo, hi = both.min(axis=0), both.max(axis=0)
        pad = np.maximum((hi - lo) * 0.1, 0.1)
        lo, hi = lo - pad, hi + pad
        return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]


# ---- built-in sets --------------------------------------------------------------------------
def _split(X, y, test_fraction, rng):
    order = rng.permutation(len(X))
    n_test = max(1, int(round(test_fraction * len(X))))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def _gauss(n, noise, test_fraction, seed):
    """Two Gaussian clusters, TensorFlow Playground's easiest set."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    centres = np.array([[-0.5, -0.5], [0.5, 0.5]])
    X = centres[y] + (0.1 + 0.5 * noise) * rng.standard_normal((n, 2))
    return _split(X.astype(np.float32), y.astype(np.int64), test_fraction, rng)


def _regression(name, n, noise, test_fraction, seed):
    """Regression on the plane: a tilted plane, or a bump up and a bump down."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    if name == "reg-plane":
        y = 0.5 * X[:, 0] + 0.5 * X[:, 1]
    else:
        def bump(c):
            return np.exp(-((X - c) ** 2).sum(axis=1) / 0.18)
        y = bump(np.array([0.4, 0.4])) - bump(np.array([-0.4, -0.4]))
    y = y + noise * 0.5 * rng.standard_normal(n)
    return _split(X.astype(np.float32), y.astype(np.float32), test_fraction, rng)


def builtin(name, points, noise, test_fraction, seed):
    """A built-in set as a :class:`DataSet`."""
    if name == "gauss":
        arrays = _gauss(points, noise, test_fraction, seed)
    elif name in REGRESSION:
        arrays = _regression(name, points, noise, test_fraction, seed)
    elif name == "xor":
        arrays = datasets.load("xor", n=points, noise=noise, test_fraction=test_fraction,
                               seed=seed)
    else:
        arrays = datasets.load(name, n=points, noise=noise, test_fraction=test_fraction,
                               seed=seed)
    X_train, y_train, X_test, y_test = (np.asarray(a) for a in arrays)
    if name in REGRESSION:
        return DataSet(name, X_train, y_train, X_test, y_test, "regression", None, ["x1", "x2"])
    k = int(max(y_train.max(), y_test.max())) + 1
    return DataSet(name, X_train, y_train, X_test, y_test, "classification",
                   [str(i) for i in range(k)], ["x1", "x2"])


# ---- uploads --------------------------------------------------------------------------------
class Uploads:
    """Uploaded CSV files, kept in one temporary directory removed by :meth:`close`."""

    def __init__(self, max_bytes=MAX_UPLOAD, keep=16):
        self.max_bytes = max_bytes
        self.keep = keep
        self.dir = tempfile.mkdtemp(prefix="chainrule-playground-")
        self._files = OrderedDict()  # token -> (path, original name, header)
        self._lock = threading.Lock()

    def close(self):
        with self._lock:
            self._files.clear()
            shutil.rmtree(self.dir, ignore_errors=True)

    def too_large(self, size):
        mb = self.max_bytes / (1024 * 1024)
        return UploadTooLarge(f"the file is too large ({size / (1024 * 1024):.1f} MB"
                              f"{' or more' if size > self.max_bytes else ''}); the limit is "
                              f"{mb:g} MB")

    async def receive(self, chunks, name):
        """Write the async byte ``chunks`` to a new file; returns (token, header, rows).

        Raises UploadTooLarge past ``max_bytes`` (the partial file is removed) and
        DataError when the file is not a CSV table with a header.
        """
        token = secrets.token_urlsafe(12)
        path = os.path.join(self.dir, token + ".csv")
        size = 0
        try:
            with open(path, "wb") as f:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise self.too_large(size)
                    f.write(chunk)
            header, rows = _peek(path, name)
        except BaseException:
            _remove(path)
            raise
        with self._lock:
            self._files[token] = (path, name, header)
            while len(self._files) > self.keep:
                _, (old, _, _) = self._files.popitem(last=False)
                _remove(old)
        return token, header, rows

    def get(self, token):
        with self._lock:
            if token not in self._files:
                raise InvalidValueError("the uploaded file is no longer on the server (the "
                                        "server restarted or newer uploads replaced it); "
                                        "upload it again")
            self._files.move_to_end(token)
            return self._files[token]

    def load(self, token, target, test_fraction, seed, fx, fy):
        """The uploaded file as a :class:`DataSet` with ``target`` as the column to predict."""
        path, name, header = self.get(token)
        if target not in header:
            raise DataError(f"{name}: no column {target!r}; choose the target among: "
                            f"{', '.join(header)}")
        from ..data import load_csv

        try:
            arrays = load_csv(path, target, test_fraction=test_fraction, seed=seed)
        except ChainruleError as e:  # name the user's file, not our temporary path
            raise type(e)(str(e).replace(path, name)) from None
        X_train, y_train, X_test, y_test = (np.asarray(a) for a in arrays)
        features = list(arrays.features)
        if len(features) < 2:
            raise DataError(f"{name}: the playground needs at least two feature columns "
                            f"besides the target {target!r} to draw the plane; found "
                            f"{len(features)}")
        classes = arrays.classes
        if y_train.dtype.kind in "iu":
            labels = np.unique(np.concatenate([y_train, y_test]))
            if len(labels) > MAX_CLASSES:
                raise DataError(f"{name}: the target {target!r} has {len(labels)} different "
                                f"values; the playground classifies at most {MAX_CLASSES} "
                                f"classes (for a numeric quantity, add a decimal point to one "
                                f"value, e.g. 3.0, to make it a regression target)")
            if classes is None:
                classes = [str(v) for v in labels]
            y_train, y_test = np.searchsorted(labels, y_train), np.searchsorted(labels, y_test)
            task = "classification"
        else:
            task = "regression"
        mean, scale = X_train.mean(axis=0), X_train.std(axis=0)
        scale[scale == 0] = 1
        X_train = ((X_train - mean) / scale).astype(np.float32)
        X_test = ((X_test - mean) / scale).astype(np.float32)
        if fx >= len(features) or fy >= len(features):
            fx, fy = 0, 1
        return DataSet("csv", X_train, y_train.astype(np.int64) if task == "classification"
                       else y_train, X_test, y_test.astype(np.int64) if task == "classification"
                       else y_test, task, list(map(str, classes)) if classes else None,
                       features, fx, fy, {"mean": mean.tolist(), "scale": scale.tolist()})


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _peek(path, name):
    """The header and row count of a CSV file; DataError for what the page must refuse."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header, rows = None, 0
            for fields in reader:
                if not fields or all(not cell.strip() for cell in fields):
                    continue
                if header is None:
                    header = [cell.strip() for cell in fields]
                    continue
                if len(fields) != len(header):
                    raise DataError(f"{name}, line {reader.line_num}: expected {len(header)} "
                                    f"fields (one per header column), found {len(fields)}: "
                                    f"the rows are ragged")
                rows += 1
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a UTF-8 text file; upload a CSV table") from None
    except csv.Error as e:
        raise DataError(f"{name}: malformed CSV ({e})") from None
    if header is None:
        raise DataError(f"{name}: the file is empty; expected a header line and data rows")
    if "" in header or len(set(header)) != len(header):
        raise DataError(f"{name}: every header column needs a unique name, got "
                        f"{', '.join(map(repr, header))}")
    if len(header) < 2:
        raise DataError(f"{name}: one column only; expected features and a target column")
    if not rows:
        raise DataError(f"{name}: only a header line; expected data rows after it")
    return header, rows


async def chunks_of(data, size=65536):
    """Async chunks of ``data`` (for tests and small in-memory uploads)."""
    buf = io.BytesIO(data)
    while chunk := buf.read(size):
        yield chunk
