"""The ``chainrule`` command: train, evaluate, predict, examples."""
import argparse
import sys
import time

import numpy as np

from . import __version__
from .errors import ChainruleError, InvalidValueError

TRAIN_EXAMPLE = """examples:
  chainrule train                                  # an MLP on the bundled digits
  chainrule train --dataset fashion-mnist --hidden 256 --epochs 5 --out fashion.safetensors
  chainrule train --csv iris.csv --target species --hidden 16,16 --epochs 200
  chainrule train --dataset moons --hidden 8 --activation tanh --batch-size full
"""
EVALUATE_EXAMPLE = """example:
  chainrule evaluate model.safetensors --dataset digits
  chainrule evaluate model.safetensors --csv held_out.csv --target species
"""
PREDICT_EXAMPLE = """example:
  chainrule predict model.safetensors --csv new_rows.csv --out predictions.csv
"""
EXAMPLES_EXAMPLE = """example:
  chainrule examples --check      # every worked example: the slide, recomputed, agrees?
"""


def _hidden(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64 or 128,64, got {text!r}")
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive, got {text!r}")
    return sizes


def _batch(text):
    if text in ("full", "none", "batch"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--batch-size takes a number or 'full', got {text!r}")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"--batch-size must be > 0, got {value}")
    return value


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def _add_data_options(p, default):
    from .data import names

    p.add_argument("--dataset", default=default, choices=names(), metavar="NAME",
                   help=f"a data set: {', '.join(names())} (default: {default})")
    p.add_argument("--csv", metavar="PATH", help="a CSV file with a header (sets --dataset csv)")
    p.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    p.add_argument("--data-dir", metavar="DIR", help="where file-based data sets are looked for")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Feed-forward networks trained by backpropagation, every step visible.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    p = verbs.add_parser("train", help="train a network and save it", epilog=TRAIN_EXAMPLE,
                         formatter_class=fmt)
    _add_data_options(p, "digits")
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto: integer targets are classes, other numbers are regressed")
    p.add_argument("--hidden", type=_hidden, default=[64],
                   help="hidden layer sizes, comma separated (default: 64)")
    p.add_argument("--activation", default="relu",
                   help="hidden activation: relu, tanh, sigmoid, leaky_relu, identity")
    p.add_argument("--lr", type=_positive(float), default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--epochs", type=_positive(int), default=20, help="passes over the data")
    p.add_argument("--batch-size", type=_batch, default=32,
                   help="examples per update: a number, or 'full' for batch gradient descent")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty lambda (seed 003)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, split and shuffling")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--out", default="model.safetensors", help="where to save the model")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")

    p = verbs.add_parser("evaluate", help="score a saved model on a data set",
                         epilog=EVALUATE_EXAMPLE, formatter_class=fmt)
    p.add_argument("model", help="a .safetensors file written by chainrule")
    _add_data_options(p, None)

    p = verbs.add_parser("predict", help="predict the rows of a CSV file",
                         epilog=PREDICT_EXAMPLE, formatter_class=fmt)
    p.add_argument("model", help="a .safetensors file written by chainrule")
    p.add_argument("--csv", required=True, metavar="PATH", help="rows to predict (with header)")
    p.add_argument("--out", metavar="PATH", help="write predictions to this CSV (default: print)")

    p = verbs.add_parser("examples", help="the worked examples of the lecture notes",
                         epilog=EXAMPLES_EXAMPLE, formatter_class=fmt)
    p.add_argument("--check", action="store_true",
                   help="compare each number with the slide and show the errata")
    return parser


def _load_data(args, dtype, seed=0, test_fraction=0.2):
    from . import data

    if args.csv:
        if not args.target:
            raise InvalidValueError("--csv needs --target COLUMN, the column to predict")
        return data.load("csv", path=args.csv, target=args.target, dtype=dtype, seed=seed,
                         test_fraction=test_fraction), "csv"
    return data.load(args.dataset, dtype=dtype, seed=seed, data_dir=args.data_dir), args.dataset


def _classify(task, y):
    if task == "auto":
        return y.dtype.kind in "iu"
    if task == "classification" and y.dtype.kind not in "iu":
        raise InvalidValueError("--task classification needs class labels, but the targets are "
                                "real numbers; use --task regression")
    return task == "classification"


def train(args, out=sys.stdout):
    from . import data, mlp
    from .losses import CrossEntropy, SquaredError
    from .optim import SGD
    from .training import ProgressLogger

    arrays, name = _load_data(args, args.dtype, seed=args.seed)
    X_train, y_train, X_test, y_test = arrays
    classify = _classify(args.task, y_train)
    if not classify:
        y_train, y_test = y_train.astype(X_train.dtype), y_test.astype(X_train.dtype)
    scaling = None
    if name == "csv":  # built-in sets come scaled; a user's columns may not be
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std[std == 0] = 1
        X_train, X_test = data.standardize(X_train, X_test) if len(X_test) else (
            data.standardize(X_train), X_test)
        scaling = {"mean": mean.tolist(), "scale": std.tolist()}
    n_out = int(max(y_train.max(), y_test.max() if len(y_test) else 0)) + 1 if classify else (
        1 if y_train.ndim == 1 else y_train.shape[1])
    sizes = [X_train.shape[1], *args.hidden, n_out]
    net = mlp(sizes, activation=args.activation, output="softmax" if classify else "identity",
              dtype=args.dtype, seed=args.seed)
    loss = CrossEntropy() if classify else SquaredError()
    optimizer = SGD(args.lr, momentum=args.momentum)
    out.write(f"training {'-'.join(map(str, sizes))} {args.activation} network on {name}: "
              f"{len(X_train)} training and {len(X_test)} test examples\n")
    callbacks = [] if args.quiet else [ProgressLogger(out)]
    validation = (X_test, y_test) if len(X_test) else None
    metadata = {"dataset": name, "task": "classification" if classify else "regression",
                "features": list(getattr(arrays, "features", ())),
                "classes": getattr(arrays, "classes", None), "scaling": scaling,
                "loss": type(loss).__name__, "optimizer": repr(optimizer),
                "batch_size": args.batch_size, "seed": args.seed}
    start = time.perf_counter()
    try:
        history = net.fit(X_train, y_train, loss=loss, optimizer=optimizer, epochs=args.epochs,
                          batch_size=args.batch_size, seed=args.seed, validation_data=validation,
                          callbacks=callbacks, l2=args.l2)
    except KeyboardInterrupt:
        net.save(args.out, metadata={**metadata, "interrupted": True})
        out.write(f"\ninterrupted: the weights so far are saved in {args.out}\n")
        return 130
    seconds = time.perf_counter() - start
    metadata["epochs"] = history.epochs
    if validation is not None:
        score = net.evaluate(X_test, y_test, metrics=("accuracy",) if classify else ("mse",))
        metadata.update({k: v if np.isfinite(v) else None for k, v in score.items()})
        label = "test accuracy" if classify else "test mse"
        value = score["accuracy"] if classify else score["mse"]
        out.write(f"{label}: {value:.4f}  ({history.epochs} epochs, {history.iterations} "
                  f"iterations, {seconds:.1f}s)\n")
    net.save(args.out, metadata=metadata)
    out.write(f"saved {args.out}\n")
    return 0


def _apply_scaling(X, meta):
    scaling = meta.get("scaling")
    if not scaling:
        return X
    return ((X - np.asarray(scaling["mean"])) / np.asarray(scaling["scale"])).astype(X.dtype)


def evaluate(args, out=sys.stdout):
    from . import load, metrics

    net = load(args.model)
    meta = net.metadata
    if not args.csv and args.dataset is None:
        args.dataset = meta.get("dataset", "digits")
        if args.dataset == "csv":
            raise InvalidValueError("this model was trained on a CSV file: pass --csv PATH "
                                    "--target COLUMN")
    arrays, name = _load_data(args, str(net.dtype), seed=meta.get("seed", 0),
                              test_fraction=0.0 if args.csv else 0.2)
    X, y = (arrays[0], arrays[1]) if args.csv else (arrays[2], arrays[3])
    X = _apply_scaling(X, meta)
    pred = net.predict(X)
    out.write(f"{args.model} on {name} ({len(X)} examples)\n")
    if meta.get("task", "classification") == "classification":
        out.write(f"accuracy: {metrics.accuracy(y, pred):.4f}\n")
        matrix = metrics.confusion_matrix(y, pred, n_classes=net.n_out)
        out.write("confusion matrix (rows: true class, columns: predicted)\n")
        width = max(3, len(str(matrix.max())))
        for i, row in enumerate(matrix):
            out.write(f"{i:>3} " + " ".join(f"{v:>{width}}" for v in row) + "\n")
    else:
        out.write(f"mse: {metrics.mse(y, pred):.6g}\n")
    return 0


def predict(args, out=sys.stdout):
    import csv

    from . import load
    from .data import read_csv_features

    net = load(args.model)
    meta = net.metadata
    columns = meta.get("features") or None
    X = _apply_scaling(read_csv_features(args.csv, columns=columns, dtype=str(net.dtype)), meta)
    pred = net.predict(X)
    if meta.get("task", "classification") == "classification":
        index = pred.argmax(axis=1)
        classes = meta.get("classes")
        values = [classes[i] if classes else int(i) for i in index]
    else:
        values = [float(v) for v in pred[:, 0]] if pred.shape[1] == 1 else pred.tolist()
    stream = open(args.out, "w", newline="") if args.out else out
    try:
        writer = csv.writer(stream)
        writer.writerow(["prediction"])
        for v in values:
            writer.writerow(v if isinstance(v, list) else [v])
    finally:
        if args.out:
            stream.close()
            out.write(f"wrote {len(values)} predictions to {args.out}\n")
    return 0


def examples(args, out=sys.stdout):
    from .examples import report

    out.write(report(check=args.check))
    out.write("\n")
    return 0


VERBS = {"train": train, "evaluate": evaluate, "predict": predict, "examples": examples}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 2
    try:
        return VERBS[args.verb](args)
    except ChainruleError as e:
        print(f"chainrule {args.verb}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
