"""Argument types and data loading shared by the verbs."""
import argparse

import numpy as np

from ..errors import InvalidValueError, ShapeError


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
