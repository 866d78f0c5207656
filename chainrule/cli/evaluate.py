"""``chainrule evaluate``: score a saved model on a data set."""
import numpy as np

from ..errors import DataError, InvalidValueError
from .common import add_data_options, apply_scaling, load_data

HELP = "score a saved model on a data set"
EPILOG = """example:
  chainrule evaluate model.safetensors                 # on the test split it was trained for
  chainrule evaluate model.safetensors --dataset digits
  chainrule evaluate model.safetensors --csv held_out.csv --target species
"""


def add_arguments(p):
    p.add_argument("model", help="a .safetensors file written by chainrule")
    add_data_options(p, None)


def run(args, out):
    from .. import load, metrics

    net = load(args.model)
    meta = net.metadata
    if not args.csv and args.dataset is None:
        args.dataset = meta.get("dataset", "digits")
        if args.dataset == "csv":
            raise InvalidValueError("this model was trained on a CSV file: pass --csv PATH "
                                    "--target COLUMN")
    arrays, name = load_data(args, str(net.dtype), seed=meta.get("seed", 0),
                             test_fraction=0.0 if args.csv else 0.2)
    X, y = (arrays[0], arrays[1]) if args.csv else (arrays[2], arrays[3])
    if args.csv:
        X = _model_columns(args.csv, X, arrays.features, meta.get("features"))
        y = _model_targets(args.csv, args.target, y, arrays.classes, meta)
    X = apply_scaling(X, meta)
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
