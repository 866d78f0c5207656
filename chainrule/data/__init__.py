"""Data sets, file readers and feature scaling.

``load(name)`` returns ``(X_train, y_train, X_test, y_test)`` for every data set:
features ``(n, d)`` in the requested float dtype, class labels int64 from 0.
The registry behind it is a plain dict of functions, so the valid names are in
the code for anyone to read and no name from a file or a command line is ever
imported.
"""
import inspect

import numpy as np

from .. import backend
from ..errors import InvalidValueError, ShapeError, unknown
from . import generated
from .csv import CSVData, load_csv, read_csv_features
from .fashion_mnist import load_fashion_mnist
from .idx import read_idx

__all__ = ["load", "names", "read_idx", "load_csv", "read_csv_features", "CSVData",
           "load_fashion_mnist", "standardize", "min_max_scale", "one_hot"]


# Each loader takes dtype, data_dir and seed by keyword (and ignores what it has
# no use for) plus its own options.

def _digits(*, dtype, data_dir, seed, test_fraction=0.2):
    """scikit-learn's bundled 8x8 digits: 1797 images, pixels 0..16 scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not generated._is_number(test_fraction) or not 0 < test_fraction < 1:
        raise InvalidValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=test_fraction, random_state=seed, stratify=y)
    dtype = backend.dtype(dtype)
    return (X_train.astype(dtype), y_train.astype(np.int64),
            X_test.astype(dtype), y_test.astype(np.int64))


def _fashion_mnist(*, dtype, data_dir, seed):
    """The official 60000/10000 split; the seed has nothing to draw."""
    return load_fashion_mnist(data_dir=data_dir, dtype=dtype)


def _xor(*, dtype, data_dir, seed, n=None, noise=0.1, test_fraction=0.25):
    return generated.xor(n, noise=noise, test_fraction=test_fraction, seed=seed, dtype=dtype)


def _moons(*, dtype, data_dir, seed, n=200, noise=0.1, test_fraction=0.25):
    return generated.moons(n, noise=noise, test_fraction=test_fraction, seed=seed, dtype=dtype)


def _circles(*, dtype, data_dir, seed, n=200, noise=0.05, factor=0.5, test_fraction=0.25):
    return generated.circles(n, noise=noise, factor=factor, test_fraction=test_fraction,
                             seed=seed, dtype=dtype)


def _spirals(*, dtype, data_dir, seed, n=300, k=3, noise=0.2, turns=1.0, test_fraction=0.25):
    return generated.spirals(n, k=k, noise=noise, turns=turns, test_fraction=test_fraction,
                             seed=seed, dtype=dtype)


def _csv(*, dtype, data_dir, seed, path, target, test_fraction=0.2, delimiter=","):
    return load_csv(path, target, test_fraction=test_fraction, seed=seed, dtype=dtype,
                    delimiter=delimiter)


LOADERS = {
    "digits": _digits,
    "fashion-mnist": _fashion_mnist,
    "xor": _xor,
    "moons": _moons,
    "circles": _circles,
    "spirals": _spirals,
    "csv": _csv,
}
_COMMON = ("dtype", "data_dir", "seed")


def names():
    """The data set names :func:`load` knows, sorted."""
    return sorted(LOADERS)


def load(name, *, dtype="float32", data_dir=None, seed=0, **options):
    """Load a data set by name as ``(X_train, y_train, X_test, y_test)``.

    ``options`` go to the data set: e.g. ``load("moons", n=500, noise=0.2)``,
    ``load("csv", path="iris.csv", target="species")``. ``seed`` fixes every
    random draw and split; ``data_dir`` is where file-based sets look first.
    """
    if not isinstance(name, str) or name not in LOADERS:
        raise unknown("data set", name, LOADERS)
    loader = LOADERS[name]
    _check_options(name, loader, options)
    return loader(dtype=dtype, data_dir=data_dir, seed=seed, **options)


def _check_options(name, loader, options):
    """Reject unknown or missing options with the list of valid ones, before loading."""
    params = inspect.signature(loader).parameters
    valid = [p for p in params if p not in _COMMON]
    extra = [o for o in options if o not in valid]
    required = [p for p in valid if params[p].default is inspect.Parameter.empty]
    missing = [p for p in required if p not in options]
    if extra or missing:
        problem = (f"unknown option(s) {', '.join(extra)}" if extra
                   else f"missing option(s) {', '.join(missing)}")
        raise InvalidValueError(
            f"data set {name!r}: {problem}; its options are: {', '.join(valid) or 'none'}"
            + (f" (required: {', '.join(required)})" if required else ""))


# ---- scaling ---------------------------------------------------------------

def standardize(X_train, *others):
    """Scale every column to mean 0 and standard deviation 1 using the training set.

    The mean and standard deviation come from ``X_train`` only and are applied
    unchanged to ``others`` (validation, test): statistics from the test set
    would leak it into training. A constant column has standard deviation 0;
    it is centred and left at 0 rather than divided by zero.
    Returns one array when given one, else a tuple in the order given.
    """
    X_train, others = _floats(X_train, others)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std[std == 0] = 1
    return _apply(X_train, others, mean, std)


def min_max_scale(X_train, *others):
    """Scale every column to [0, 1] using the training set's minimum and maximum.

    As in :func:`standardize`, ``others`` use the training statistics, so their
    values may fall outside [0, 1]. A constant column becomes 0.
    Returns one array when given one, else a tuple in the order given.
    """
    X_train, others = _floats(X_train, others)
    low = X_train.min(axis=0)
    span = X_train.max(axis=0) - low
    span[span == 0] = 1
    return _apply(X_train, others, low, span)


def _floats(X_train, others):
    """Check shapes and values; integer data becomes float64."""
    arrays = [np.asarray(backend.to_numpy(a)) for a in (X_train, *others)]
    names_ = ["X_train"] + [f"others[{i}]" for i in range(len(others))]
    for name, a in zip(names_, arrays):
        if a.ndim != 2:
            raise ShapeError(f"{name}: expected a 2-D array (samples, features), "
                             f"got shape {a.shape}")
        if a.shape[1] != arrays[0].shape[1]:
            raise ShapeError(f"{name}: expected {arrays[0].shape[1]} columns like X_train "
                             f"{arrays[0].shape}, got shape {a.shape}")
        if a.dtype.kind not in "fiub":
            raise InvalidValueError(f"{name}: expected numbers, got dtype {a.dtype}")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise InvalidValueError(f"{name}: contains NaN or infinite values")
    if arrays[0].shape[0] == 0:
        raise ShapeError("X_train: expected at least one row to take statistics from, "
                         f"got shape {arrays[0].shape}")
    arrays = [a if a.dtype.kind == "f" else a.astype(np.float64) for a in arrays]
    return arrays[0], arrays[1:]


def _apply(X_train, others, shift, scale):
    """``(X - shift) / scale`` for each array, each keeping its own float dtype."""
    out = tuple(((a - shift) / scale).astype(a.dtype, copy=False) for a in (X_train, *others))
    return out[0] if len(out) == 1 else out


def one_hot(labels, k=None, dtype="float32"):
    """Rows of the identity: label ``i`` becomes a length-``k`` vector with a 1 at ``i``.

    ``k`` defaults to ``max(labels) + 1``; pass it when a batch may miss the
    highest classes.
    """
    labels = np.asarray(backend.to_numpy(labels))
    if labels.ndim != 1:
        raise ShapeError(f"labels: expected a 1-D array of class indices, got shape "
                         f"{labels.shape}")
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.all(labels == np.round(labels)):
            raise InvalidValueError(f"labels: expected integer class indices, got dtype "
                                    f"{labels.dtype}")
        labels = labels.astype(np.int64)
    if k is None:
        k = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise InvalidValueError(f"k (number of classes) must be a non-negative integer, "
                                f"got {k!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise InvalidValueError(f"labels: expected class indices in 0..{k - 1}, found "
                                f"{labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, k), dtype=backend.dtype(dtype))
    out[np.arange(labels.size), labels] = 1
    return out
