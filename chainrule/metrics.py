"""Metrics: plain functions of targets and predictions, returning Python floats.

Predictions may be given the way a network produces them: class labels, one-hot
rows, a score or probability matrix (one column per class), or one probability
per sample for a binary task. :func:`labels` turns any of these into class
indices, so every metric accepts all of them.
"""
import numpy as np

from . import backend
from .errors import InvalidValueError, ShapeError, unknown


def labels(y, name="y"):
    """Class indices ``(n,)`` from labels, one-hot/score rows or binary probabilities.

    * 2-D with more than one column: the column of the largest value (argmax);
    * 1-D, or one column, with every value in [0, 1]: 1 where the value is
      above 0.5 (a probability; exact 0/1 labels pass through unchanged);
    * 1-D, or one column, of whole numbers: the labels themselves.
    """
    y = _numbers(y, name)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ShapeError(f"{name}: expected labels (n,), one column (n, 1) or scores (n, k), "
                         f"got shape {y.shape}")
    if y.dtype.kind in "iub":
        return y.astype(np.int64)
    if np.all((y >= 0) & (y <= 1)):
        return (y > 0.5).astype(np.int64)
    if np.all(y == np.round(y)):
        return y.astype(np.int64)
    raise InvalidValueError(f"{name}: a 1-D float array must hold probabilities in [0, 1] "
                            f"or whole-number labels; found values such as "
                            f"{y[(y != np.round(y))][0]!r}")


def accuracy(y_true, y_pred):
    """The fraction of samples whose predicted class equals the true class.

    Both arguments may be labels, one-hot/score matrices or binary probabilities
    (see :func:`labels`), e.g. ``accuracy(y, net.predict(X))``.
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    _check_rows(y_true, y_pred)
    t, p = labels(y_true, "y_true"), labels(y_pred, "y_pred")
    if t.size == 0:
        raise InvalidValueError("accuracy of zero samples is undefined; got empty arrays")
    # labels against a score matrix: a label with no column is an error, not a miss
    for name, found, other, other_name in (("y_true", t, y_pred, "y_pred"),
                                           ("y_pred", p, y_true, "y_true")):
        shape = np.shape(backend.to_numpy(other))
        k = shape[1] if len(shape) == 2 else 0
        if k > 1 and (found.min() < 0 or found.max() >= k):
            raise InvalidValueError(f"{name}: expected class labels 0..{k - 1} (the {k} "
                                    f"columns of {other_name}), found {found.min()}.."
                                    f"{found.max()}")
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Rows are true classes, columns predicted ones, so the diagonal holds the
    correct predictions and row sums are the class sizes. ``n_classes``
    defaults to the largest label seen plus one. Returns an int64 array.
    """
    y_true, y_pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    _check_rows(y_true, y_pred)
    t, p = labels(y_true, "y_true"), labels(y_pred, "y_pred")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise InvalidValueError(f"{name}: expected classes 0..{n_classes - 1}, found "
                                    f"{a.min()}..{a.max()}")
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def mse(y_true, y_pred):
    """Mean squared error over all samples and outputs.

    Shapes must match, except that ``(n,)`` and ``(n, 1)`` are the same thing.
    """
    t = _numbers(y_true, "y_true").astype(np.float64)
    p = _numbers(y_pred, "y_pred").astype(np.float64)
    if t.shape != p.shape:
        if t.ndim + p.ndim == 3 and t.size == p.size and len(t) == len(p):
            t, p = t.reshape(-1), p.reshape(-1)  # (n,) against (n, 1)
        else:
            raise ShapeError(f"mse: y_true has shape {t.shape} but y_pred has shape "
                             f"{p.shape}; expected the same shape")
    if t.size == 0:
        raise InvalidValueError("mse of zero samples is undefined; got empty arrays")
    return float(np.mean((t - p) ** 2))


def _numbers(y, name):
    """``y`` as a NumPy array of finite real numbers, or an error naming the argument."""
    try:
        y = np.asarray(backend.to_numpy(y))
    except ValueError:  # ragged nested lists
        raise InvalidValueError(f"{name}: expected a rectangular array of numbers, got rows "
                                f"of different lengths") from None
    if y.dtype.kind not in "iubf":
        raise InvalidValueError(f"{name}: expected numbers, got dtype {y.dtype}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise InvalidValueError(f"{name}: contains NaN or infinite values")
    return y


def _check_rows(y_true, y_pred):
    """Both arrays must describe the same samples (and the same classes when 2-D)."""
    t, p = np.shape(backend.to_numpy(y_true)), np.shape(backend.to_numpy(y_pred))
    same_n = len(t) >= 1 and len(p) >= 1 and t[0] == p[0]
    both_wide = len(t) == 2 and len(p) == 2 and t[1] > 1 and p[1] > 1
    if not same_n or (both_wide and t[1] != p[1]):
        raise ShapeError(f"y_true has shape {t} but y_pred has shape {p}; expected one "
                         f"row per sample in both (and as many classes)")


# Scalar metrics by name, for evaluate(metrics=[...]) and the command line.
METRICS = {
    "accuracy": accuracy,
    "mse": mse,
}


def get(name):
    """The metric function called ``name`` (a callable is returned unchanged)."""
    if callable(name):
        return name
    if name not in METRICS:
        raise unknown("metric", name, METRICS)
    return METRICS[name]
