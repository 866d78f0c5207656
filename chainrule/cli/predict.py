"""``chainrule predict``: predict the rows of a CSV file with a saved model."""
import csv
import os

from ..errors import InvalidValueError
from .common import apply_scaling

HELP = "predict the rows of a CSV file"
EPILOG = """example:
  chainrule predict model.safetensors --csv new_rows.csv --out predictions.csv
"""


def add_arguments(p):
    p.add_argument("model", help="a .safetensors file written by chainrule")
    p.add_argument("--csv", required=True, metavar="PATH", help="rows to predict (with header)")
    p.add_argument("--out", metavar="PATH", help="write predictions to this CSV (default: print)")


def run(args, out):
    from .. import load
    from ..data import read_csv_features

    if args.out:
        _check_output(args.out)
    net = load(args.model)
    meta = net.metadata
    columns = meta.get("features") or None  # the training columns, in training order
    X = apply_scaling(read_csv_features(args.csv, columns=columns, dtype=str(net.dtype)), meta)
    pred = net.predict(X)
    if meta.get("task", "classification") == "classification":
        classes = meta.get("classes")
        values = [[classes[i] if classes else int(i)] for i in pred.argmax(axis=1)]
    else:
        values = pred.tolist()
    if args.out:
        _write_file(args.out, values)
        out.write(f"wrote {len(values)} predictions to {args.out}\n")
    else:
        _write(out, values)
    return 0


def _write(stream, values):
    writer = csv.writer(stream)
    writer.writerow(["prediction"])
    writer.writerows(values)


def _check_output(path):
    """Refuse an --out that cannot be written before any work is done."""
    if os.path.isdir(path):
        raise InvalidValueError(f"--out {path!r} is a directory; give a file name such as "
                                f"predictions.csv")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InvalidValueError(f"--out {path!r}: the directory {directory!r} does not exist; "
                                f"create it first")


def _write_file(path, values):
    """Write the CSV beside ``path`` and rename it into place: never a half-written file."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="") as f:
            _write(f, values)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
