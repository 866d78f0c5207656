"""``chainrule evaluate``: score a saved model on a data set."""
from .common import add_data_options, model_data

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
    X, y, name = model_data(args, net)
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
