"""``chainrule gradcheck``: backprop's gradients against central finite differences.

For a network (random weights from --seed, or a saved model) and random data, every
parameter's gradient from the backward pass is compared with
(L(w + eps) - L(w - eps)) / (2 eps), in float64. One row per layer and parameter with
its relative error and a verdict: "ok" below 1e-7, "suspect" below 1e-4, "WRONG" above.
The exit code is 1 when any row is WRONG, so the check can gate a script or CI.
"""
import math

import numpy as np

from ..errors import InvalidValueError
from .common import positive
from .trace import OUTPUTS, HIDDEN, sizes

HELP = "check the backward pass against finite differences, layer by layer"
EPILOG = """examples:
  chainrule gradcheck                          # a 4-8-3 tanh/softmax network, 5 samples
  chainrule gradcheck --network 2-2-2 --activation sigmoid --output sigmoid --loss squared_error
  chainrule gradcheck --model model.safetensors --samples 10

verdicts: ok (relative error < 1e-7), suspect (< 1e-4), WRONG (otherwise; exit code 1)
"""
OK, SUSPECT = 1e-7, 1e-4


def add_arguments(p):
    p.add_argument("--network", type=sizes, default=None, metavar="SIZES",
                   help="layer sizes (default 4-8-3); weights drawn with --seed")
    p.add_argument("--activation", choices=HIDDEN, default="tanh",
                   help="hidden activation (default tanh)")
    p.add_argument("--output", choices=OUTPUTS, default="softmax",
                   help="output activation (default softmax)")
    p.add_argument("--model", metavar="FILE.safetensors", help="check a saved model instead")
    p.add_argument("--loss", default=None, help="squared_error, mse, binary_cross_entropy, "
                   "cross_entropy (default: cross_entropy after softmax, else squared_error)")
    p.add_argument("--samples", type=positive(int), default=5, help="random examples (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the data")
    p.add_argument("--eps", type=positive(float), default=1e-6,
                   help="finite-difference step (default 1e-6)")


def verdict(error):
    """``"ok"`` below 1e-7, ``"suspect"`` below 1e-4, else ``"WRONG"`` (NaN too)."""
    if not math.isfinite(error) or error >= SUSPECT:
        return "WRONG"
    return "ok" if error < OK else "suspect"


def overall(verdicts):
    for worst in ("WRONG", "suspect"):
        if worst in verdicts:
            return worst
    return "ok"


def build_network(args):
    from .. import load, mlp

    if args.model:
        if args.network:
            raise InvalidValueError("give --network or --model, not both")
        return load(args.model).astype("float64")
    output = None if args.output == "none" else args.output
    return mlp(args.network or [4, 8, 3], activation=args.activation, output=output,
               dtype="float64", seed=args.seed)


def random_data(net, loss, samples, seed):
    """Inputs N(0, 1); targets the loss can take: classes, numbers in (0, 1), or N(0, 1)."""
    from ..losses import BinaryCrossEntropy, CrossEntropy

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, net.n_in))
    if isinstance(loss, CrossEntropy):
        return X, rng.integers(0, net.n_out, size=samples)
    if isinstance(loss, BinaryCrossEntropy):
        return X, rng.uniform(0.05, 0.95, size=(samples, net.n_out))
    return X, rng.normal(size=(samples, net.n_out))


def check(net, loss, X, y, eps=1e-6):
    """Rows ``(layer index, layer, parameter, shape, relative error, verdict)``."""
    from .. import gradcheck

    errors = gradcheck(net, loss, X, y, eps=eps)
    rows = []
    for name, error in errors.items():
        index, _, param = name.partition(".")
        layer = net.layers[int(index)]
        shape = "x".join(str(s) for s in dict(net.named_parameters())[name].value.shape)
        rows.append((int(index), repr(layer), param, shape, error, verdict(error)))
    return rows


def format_table(rows):
    header = ("layer", "", "parameter", "shape", "relative error", "verdict")
    cells = [header] + [(str(i), layer, param, shape, f"{err:.2e}", v)
                        for i, layer, param, shape, err, v in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def run(args, out):
    from .. import losses
    from .trace import default_loss

    net = build_network(args)
    loss = losses.get(args.loss or default_loss(net))
    X, y = random_data(net, loss, args.samples, args.seed)
    rows = check(net, loss, X, y, eps=args.eps)
    shape = "-".join(str(s) for s in net.sizes)
    source = f"model {args.model}" if args.model else f"a {shape} network"
    out.write(f"gradient check of {source}: {type(loss).__name__}, {args.samples} random "
              f"samples, seed {args.seed}, eps {args.eps:g}\n")
    out.write("relative error = |g_backprop - g_numeric| / (|g_backprop| + |g_numeric|)\n\n")
    out.write("\n".join(format_table(rows)) + "\n\n")
    verdicts = [row[-1] for row in rows]
    final = overall(verdicts)
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in ("ok", "suspect", "WRONG")
                       if verdicts.count(v))
    explanation = {
        "ok": "backprop agrees with finite differences",
        "suspect": "some gradients differ more than rounding explains (a kink of ReLU near "
                   "a sample, or a subtle bug); try another --seed or --eps",
        "WRONG": "the backward pass of the layers marked WRONG does not match their forward",
    }[final]
    out.write(f"overall: {final} ({counts}): {explanation}\n")
    return 1 if final == "WRONG" else 0
