"""``chainrule train``: build an MLP, train it, report the test score, save it."""
import time

import numpy as np

from ..errors import InvalidValueError
from .common import add_data_options, batch_size, hidden, load_data, positive

HELP = "train a network and save it"
EPILOG = """examples:
  chainrule train                                  # an MLP on the bundled digits
  chainrule train --dataset fashion-mnist --hidden 256 --epochs 5 --out fashion.safetensors
  chainrule train --csv iris.csv --target species --hidden 16,16 --epochs 200
  chainrule train --dataset moons --hidden 8 --activation tanh --batch-size full
"""


def add_arguments(p):
    add_data_options(p, "digits")
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto: integer targets are classes, other numbers are regressed")
    p.add_argument("--hidden", type=hidden, default=[64],
                   help="hidden layer sizes, comma separated (default: 64)")
    p.add_argument("--activation", default="relu",
                   help="hidden activation: relu, tanh, sigmoid, leaky_relu, identity")
    p.add_argument("--lr", type=positive(float), default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    p.add_argument("--epochs", type=positive(int), default=20, help="passes over the data")
    p.add_argument("--batch-size", type=batch_size, default=32,
                   help="examples per update: a number, or 'full' for batch gradient descent")
    p.add_argument("--l2", type=float, default=0.0, help="L2 penalty lambda (seed 003)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, split and shuffling")
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--out", default="model.safetensors", help="where to save the model")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def _classify(task, y):
    if task == "auto":
        return y.dtype.kind in "iu"
    if task == "classification" and y.dtype.kind not in "iu":
        raise InvalidValueError("--task classification needs class labels, but the targets are "
                                "real numbers; use --task regression")
    return task == "classification"


def run(args, out):
    from .. import data, mlp
    from ..losses import CrossEntropy, SquaredError
    from ..optim import SGD
    from ..training import ProgressLogger

    arrays, name = load_data(args, args.dtype, seed=args.seed)
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
