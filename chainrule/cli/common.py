"""Argument types and data loading shared by the verbs."""
import argparse

import numpy as np

from ..errors import DataError, InvalidValueError, ShapeError


def hidden(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64 or 128,64, got {text!r}")
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def batch_size(text):
    if text in ("full", "none", "batch"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size takes a number or 'full', got {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--batch-size must be > 0, got {value}")
    return value


def number(kind):
    """An argparse type: ``kind(text)`` with a readable error."""
    def parse(text):
        try:
            return kind(text)
        except ValueError:
            name = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None

    return parse


def positive(kind):
    def parse(text):
        value = number(kind)(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def add_data_options(p, default):
    from ..data import names

    p.add_argument("--dataset", default=default, choices=names(), metavar="NAME",
                   help=f"a data set: {', '.join(names())} (default: {default})")
    p.add_argument("--csv", metavar="PATH", help="a CSV file with a header (sets --dataset csv)")
    p.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    p.add_argument("--data-dir", metavar="DIR", help="where file-based data sets are looked for")


def load_data(args, dtype, seed=0, test_fraction=0.2):
    from .. import data

    if args.csv:
        if not args.target:
            raise InvalidValueError("--csv needs --target COLUMN, the column to predict")
        return data.load("csv", path=args.csv, target=args.target, dtype=dtype, seed=seed,
                         test_fraction=test_fraction), "csv"
    return data.load(args.dataset, dtype=dtype, seed=seed, data_dir=args.data_dir), args.dataset


def apply_scaling(X, meta):
    """Scale ``X`` as the model's training data was; its columns must be the model's."""
    scaling = meta.get("scaling")
    if not scaling:
        return X
    mean, scale = np.asarray(scaling["mean"]), np.asarray(scaling["scale"])
    if X.ndim != 2 or X.shape[1] != len(mean):
        names = meta.get("features") or ()
        trained = f" ({', '.join(names)})" if names else ""
        raise ShapeError(f"the data has {X.shape[-1]} feature columns but the model was "
                         f"trained on {len(mean)}{trained}")
    return ((X - mean) / scale).astype(X.dtype)


def model_data(args, net):
    """The examples to report on, as the model sees them: ``(X, y, name)``.

    The test split of ``--dataset`` (default: the data set stored in the model file),
    or every row of ``--csv`` (columns and labels mapped to the model's); scaled as the
    model's training data was. Used by ``evaluate`` and ``report``.
    """
    meta = net.metadata
    if not args.csv and args.dataset is None:
        args.dataset = meta.get("dataset", "digits")
        if args.dataset == "csv":
            raise InvalidValueError("this model was trained on a CSV file: pass --csv PATH "
                                    "--target COLUMN")
    arrays, name = load_data(args, str(net.dtype), seed=meta.get("seed", 0),
                             test_fraction=0.0 if args.csv else 0.2)
    if args.csv:
        X, y = arrays[0], arrays[1]
        X = _model_columns(args.csv, X, arrays.features, meta.get("features"))
        y = _model_targets(args.csv, args.target, y, arrays.classes, meta)
    else:
        X, y = arrays[2], arrays[3]
    if not len(X):
        raise InvalidValueError(f"the data set {name} has no test examples to score")
    return apply_scaling(X, meta), y, name


def _model_columns(path, X, found, trained):
    """The columns of ``X`` the model was trained on, in training order (matched by name)."""
    if not trained:  # a model from a built-in data set: only the count can be checked
        return X
    missing = [name for name in trained if name not in found]
    if missing:
        raise DataError(f"{path}: no column(s) {', '.join(map(repr, missing))} that the model "
                        f"was trained on; the model needs {', '.join(trained)}, the file's "
                        f"feature columns are {', '.join(found) or 'none'}")
    return X[:, [list(found).index(name) for name in trained]]


def _model_targets(path, column, y, labels, meta):
    """The file's targets as the model's class indices (labels matched by name, not order)."""
    classes = meta.get("classes")
    if labels is not None and (classes is None
                               or meta.get("task", "classification") != "classification"):
        raise DataError(f"{path}: the target column {column!r} holds labels such as "
                        f"{labels[0]!r}, but the model was trained on numeric targets")
    if classes is None:
        return y
    if labels is None:
        raise DataError(f"{path}: the target column {column!r} holds numbers, but the model "
                        f"predicts the labels {', '.join(map(str, classes))}")
    unknown = [label for label in labels if label not in classes]
    if unknown:
        raise DataError(f"{path}: the target column {column!r} holds label(s) "
                        f"{', '.join(map(repr, unknown[:5]))} that the model does not know; "
                        f"its classes are {', '.join(map(str, classes))}")
    return np.array([classes.index(label) for label in labels], dtype=np.int64)[y]
