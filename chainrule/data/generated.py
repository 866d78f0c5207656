"""Small seeded 2-D data sets for watching a network learn a decision boundary.

Each function returns ``(X_train, y_train, X_test, y_test)``: features ``(n, 2)``
in the requested dtype, labels int64 class indices from 0. The same seed gives
the same points and the same split. Splits are stratified, so both halves see
every class in its original proportion.
"""
import numpy as np

from .. import backend
from ..errors import InvalidValueError

XOR_POINTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_LABELS = np.array([0, 1, 1, 0], dtype=np.int64)


def xor(n=None, *, noise=0.1, test_fraction=0.25, seed=0, dtype="float32"):
    """XOR: the label is 1 when exactly one coordinate is 1.

    Without ``n``: the four points themselves, used as both the training and the
    test set -- the classic task is to fit exactly these four, and there is
    nothing to hold out. With ``n``: ``n`` points in Gaussian clusters (standard
    deviation ``noise``) around the four corners, as evenly spread as possible,
    split into train and test.
    """
    dtype = backend.dtype(dtype)
    if n is None:
        X, y = XOR_POINTS.astype(dtype), XOR_LABELS.copy()
        return X, y, X.copy(), y.copy()
    n = _count("n", n)
    _non_negative("noise", noise)
    rng = np.random.default_rng(seed)
    corner = rng.permutation(np.arange(n) % 4)  # balanced, in random order
    X = XOR_POINTS[corner] + noise * rng.standard_normal((n, 2))
    return _split(X, XOR_LABELS[corner], test_fraction, seed, dtype)


def moons(n=200, *, noise=0.1, test_fraction=0.25, seed=0, dtype="float32"):
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    n = _count("n", n)
    _non_negative("noise", noise)
    from sklearn.datasets import make_moons  # scikit-learn loads in ~1 s: only when used

    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return _split(X, y, test_fraction, seed, backend.dtype(dtype))


def circles(n=200, *, noise=0.05, factor=0.5, test_fraction=0.25, seed=0, dtype="float32"):
    """A small circle inside a large one (scikit-learn's ``make_circles``).

    ``factor`` is the inner radius relative to the outer one, in (0, 1).
    """
    n = _count("n", n)
    _non_negative("noise", noise)
    if not _is_number(factor) or not 0 < factor < 1:
        raise InvalidValueError(f"factor must be in (0, 1), got {factor!r}")
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed)
    return _split(X, y, test_fraction, seed, backend.dtype(dtype))


def spirals(n=300, *, k=3, noise=0.2, turns=1.0, test_fraction=0.25, seed=0,
            dtype="float32"):
    r"""``k`` interleaved spiral arms, one class per arm (``n`` points in all).

    The classic construction: along arm :math:`j` the radius :math:`r` grows
    evenly from 0 to 1 while the angle turns with it,

    .. math:: \theta = 2\pi\,(\text{turns}\cdot r + j/k) + \text{noise}\cdot\varepsilon,
              \qquad x = r(\cos\theta, \sin\theta),\quad \varepsilon \sim N(0, 1),

    so the arms are copies of one spiral rotated by :math:`2\pi/k`; ``noise``
    jitters the angle (radians). No linear model separates them.
    """
    n = _count("n", n)
    if not _is_number(k) or not np.isfinite(k) or int(k) != k or k < 2:
        raise InvalidValueError(f"k (number of arms) must be an integer >= 2, got {k!r}")
    k = int(k)
    _non_negative("noise", noise)
    if not _is_number(turns) or not np.isfinite(turns):
        raise InvalidValueError(f"turns must be a finite number, got {turns!r}")
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k  # arm sizes differ by at most one
    X = np.empty((n, 2))
    for j in range(k):
        rows = np.flatnonzero(y == j)
        r = np.linspace(0.0, 1.0, len(rows))
        theta = 2 * np.pi * (turns * r + j / k) + noise * rng.standard_normal(len(rows))
        X[rows] = np.column_stack([r * np.cos(theta), r * np.sin(theta)])
    return _split(X, y, test_fraction, seed, backend.dtype(dtype))


def _split(X, y, test_fraction, seed, dtype, stratify=True):
    """Seeded (stratified) train/test split; features cast to ``dtype``, labels int64."""
    if not _is_number(test_fraction) or not 0 < test_fraction < 1:
        raise InvalidValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    try:
        from sklearn.model_selection import train_test_split

        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=test_fraction, random_state=seed,
            stratify=y if stratify else None)
    except ValueError as e:  # too few points for every class on both sides
        raise InvalidValueError(
            f"cannot split {len(y)} points with test_fraction={test_fraction} so that "
            f"every class appears in train and test ({e}); use more points") from None
    return (X_train.astype(dtype), y_train.astype(np.int64),
            X_test.astype(dtype), y_test.astype(np.int64))


def _is_number(value):
    """A real number (Python or NumPy), not a bool, string or array."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))


def _count(name, value):
    """A positive integer argument, or an error naming it."""
    if not _is_number(value) or not np.isfinite(value) or int(value) != value or value < 1:
        raise InvalidValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _non_negative(name, value):
    if not _is_number(value) or not value >= 0:  # also rejects NaN
        raise InvalidValueError(f"{name} must be a number >= 0, got {value!r}")
