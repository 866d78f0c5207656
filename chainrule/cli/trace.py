"""``chainrule trace``: one training step written out number by number, as the notes do it.

Without arguments it traces the 2-2-2 sigmoid network of the lecture notes (seeds 001 and
002) with their weights, inputs, targets and learning rate, and prints the forward pass,
the error, every chain-rule product and every updated weight. Any other network: give its
sizes (random weights from --seed), a JSON file of weights, or a saved model; a saved
convolutional network takes its images as rows of pixels (channel by channel, row by row),
and a small one has every product of its convolutions written out.
"""
import argparse
import json

import numpy as np

from ..errors import ChainruleError, InvalidValueError, ShapeError
from .common import positive

HELP = "write out every number of one training step: forward, chain rule, update"
EPILOG = """examples:
  chainrule trace                        # the notes' 2-2-2 network, line by line
  chainrule trace --steps 2              # two successive steps
  chainrule trace --format html --out trace.html
  chainrule trace --network 3-4-2 --activation tanh --output softmax --input "0.5,-1,2;1,0,0.3" \\
                  --target "0;1" --lr 0.1   # a batch of two examples, class targets
  chainrule trace --weights net.json --input 1,2 --target 0.5
  chainrule trace --model model.safetensors --input 0.1,0.2,0.3 --target 1
  chainrule trace --model conv.safetensors --input 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 \\
                  --target 1     # a small convolutional network, one 4x4 image (16 pixels)

--input and --target: numbers separated by commas, examples by semicolons. With
cross-entropy a target is a class index (0, 1, ...) or a one-hot row.

a weights file (JSON) lists the Dense layers in order; row j of "weight" holds the
weights into neuron j; "bias" is one number for every neuron or one per neuron;
"activation" (default --activation, and --output for the last layer) and
"train_bias" (default true) are optional:
  {"layers": [{"weight": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35, "train_bias": false},
              {"weight": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60, "train_bias": false}]}
"""
FORMATS = ("text", "markdown", "latex", "html")
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
OUTPUTS = HIDDEN + ("softmax", "none")


def sizes(text):
    """``3-4-2`` -> [3, 4, 2] (commas work too)."""
    parts = text.replace(",", "-").split("-")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) < 2 or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"takes layer sizes like 2-2-2 or 3-4-2, got {text!r}")
    return values


def add_arguments(p):
    g = p.add_argument_group("network (default: the notes' 2-2-2 network and its weights)")
    g.add_argument("--network", type=sizes, metavar="SIZES",
                   help="layer sizes, e.g. 2-2-2 or 3-4-2; weights drawn with --seed")
    g.add_argument("--activation", choices=HIDDEN, default=None,
                   help="hidden activation for --network/--weights (default: sigmoid)")
    g.add_argument("--output", choices=OUTPUTS, default=None,
                   help="output activation for --network/--weights (default: sigmoid)")
    g.add_argument("--freeze-bias", action="store_true",
                   help="do not train the biases (the notes' example does not)")
    g.add_argument("--weights", metavar="FILE.json", help="explicit weights and biases per layer")
    g.add_argument("--model", metavar="FILE.safetensors", help="a model saved by chainrule")
    g.add_argument("--seed", type=int, default=0, help="seed of random weights and data")
    g = p.add_argument_group("data and training")
    g.add_argument("--input", metavar="X", help="inputs, e.g. 0.05,0.10 (examples split by ;)")
    g.add_argument("--target", metavar="Y", help="targets, e.g. 0.01,0.99 (examples split by ;)")
    g.add_argument("--batch", type=positive(int), default=1,
                   help="number of random examples when --input is not given (default 1)")
    g.add_argument("--loss", default=None,
                   help="squared_error (default), mse, binary_cross_entropy, cross_entropy "
                        "(default with a softmax output)")
    g.add_argument("--lr", type=positive(float), default=0.5, help="learning rate (default 0.5)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd",
                   help="the update rule (default sgd, as the notes)")
    g.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    g.add_argument("--steps", type=positive(int), default=1,
                   help="trace this many successive steps, each on the updated weights")
    g = p.add_argument_group("output")
    g.add_argument("--format", choices=FORMATS, default="text")
    g.add_argument("--digits", type=positive(int), default=9,
                   help="decimals of every number (default 9, as the notes)")
    g.add_argument("--max-neurons", type=positive(int), default=6,
                   help="wider layers are written as matrices (default 6)")
    g.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")


# ---- parsing the user's numbers -----------------------------------------------------------------
def parse_rows(text, option):
    """``"0.05,0.10;0.2,0.3"`` -> [[0.05, 0.10], [0.2, 0.3]], or a one-line error."""
    rows = []
    for part in text.split(";"):
        if not part.strip():
            raise InvalidValueError(f"{option}: an empty example in {text!r} (examples are "
                                    f"separated by ';', numbers by ',')")
        row = []
        for word in part.split(","):
            try:
                row.append(float(word))
            except ValueError:
                raise InvalidValueError(f"{option}: {word.strip()!r} is not a number "
                                        f"(write numbers like 0.05,0.10)") from None
        if not all(np.isfinite(row)):
            raise InvalidValueError(f"{option}: numbers must be finite, got {part.strip()!r}")
        rows.append(row)
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise InvalidValueError(f"{option}: every example needs the same number of values, "
                                f"got {[len(r) for r in rows]}")
    return np.array(rows, dtype=np.float64)


def _names(prefix, n):
    shown = ", ".join(f"{prefix}{k + 1}" for k in range(min(n, 4)))
    return shown + (", ..." if n > 4 else "")


# ---- the network --------------------------------------------------------------------------------
def _activation_layer(name):
    from ..layers import activation

    return None if name in (None, "none") else activation(name)


def load_weights(path, hidden, output, freeze_bias):
    """A float64 Sequential from a JSON weights file, or a one-line error naming the layer."""
    from ..layers import Dense
    from ..network import Sequential

    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise InvalidValueError(f"--weights {path}: cannot read it ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InvalidValueError(f"--weights {path}: not valid JSON ({e})") from None
    entries = data.get("layers") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise InvalidValueError(f"--weights {path}: expected {{\"layers\": [...]}} or a list of "
                                f"layers, each with a \"weight\" matrix")
    layers, width = [], None
    for k, entry in enumerate(entries, start=1):
        where = f"--weights {path}: layer {k}"
        if not isinstance(entry, dict) or "weight" not in entry:
            raise InvalidValueError(f"{where} needs a \"weight\" matrix (row j = weights into "
                                    f"neuron j)")
        unknown = set(entry) - {"weight", "bias", "activation", "train_bias"}
        if unknown:
            raise InvalidValueError(f"{where}: unknown keys {sorted(unknown)} (known: weight, "
                                    f"bias, activation, train_bias)")
        try:
            w = np.array(entry["weight"], dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidValueError(f"{where}: \"weight\" must be a matrix of numbers, rows of "
                                    f"equal length") from None
        if w.ndim != 2 or w.size == 0:
            raise InvalidValueError(f"{where}: \"weight\" must be a matrix (a list of rows), got "
                                    f"shape {w.shape}")
        n_out, n_in = w.shape
        if width is not None and n_in != width:
            raise InvalidValueError(f"{where}: its rows have {n_in} weights but layer {k - 1} has "
                                    f"{width} neurons (row j = the weights into neuron j)")
        train_bias = bool(entry.get("train_bias", True)) and not freeze_bias
        try:
            layers.append(Dense(n_in, n_out, weight=w, bias=entry.get("bias", 0.0),
                                train_bias=train_bias, dtype="float64"))
        except (ChainruleError, TypeError, ValueError) as e:
            raise InvalidValueError(f"{where}: {e}") from None
        last = k == len(entries)
        name = entry.get("activation", (output if last else hidden) or "sigmoid")
        try:
            act = _activation_layer(name)
        except ChainruleError as e:
            raise InvalidValueError(f"{where}: {e}") from None
        if act is not None:
            layers.append(act)
        width = n_out
    return Sequential(layers)


def build_network(args):
    """(network, whether it is the notes' example)."""
    from .. import examples, load, mlp

    given = [name for name in ("network", "weights", "model") if getattr(args, name)]
    if len(given) > 1:
        raise InvalidValueError(f"give one of --network, --weights, --model, not "
                                f"{' and '.join('--' + g for g in given)}")
    if args.model:
        if args.activation or args.output:
            raise InvalidValueError("--activation and --output shape a network from --network "
                                    "or --weights; a --model file has its own")
        return load(args.model).astype("float64"), False
    if args.weights:
        return load_weights(args.weights, args.activation, args.output, args.freeze_bias), False
    if args.network:
        output = args.output or "sigmoid"
        return mlp(args.network, activation=args.activation or "sigmoid",
                   output=None if output == "none" else output, dtype="float64", seed=args.seed,
                   train_bias=not args.freeze_bias), False
    if args.activation or args.output or args.freeze_bias:
        raise InvalidValueError("--activation, --output and --freeze-bias shape a network from "
                                "--network SIZES (the notes' 2-2-2 network is all sigmoid, "
                                "biases frozen)")
    return examples.two_two_two_net(), True


def default_loss(net):
    from ..layers import Softmax

    return "cross_entropy" if isinstance(net.layers[-1], Softmax) else "squared_error"


def build_data(args, net, loss, notes):
    """(X, y) from --input/--target, the notes' values, or random numbers from --seed."""
    from .. import examples
    from ..losses import BinaryCrossEntropy, CrossEntropy

    rng = np.random.default_rng(args.seed)
    images = isinstance(net.n_in, tuple)  # (channels, height, width): a convolutional network
    if images and None in net.n_in:
        raise ShapeError("the network takes images of any size (no Dense layer fixes it); "
                         "trace a network whose first Dense layer fixes the image size")
    width = int(np.prod(net.n_in)) if images else net.n_in
    if args.input is not None:
        X = parse_rows(args.input, "--input")
        if X.shape[1] != width and images:
            shape = "x".join(map(str, net.n_in))
            raise ShapeError(f"--input has {X.shape[1]} value{'s' * (X.shape[1] != 1)} per "
                             f"example but the network takes {shape} images: {width} pixels "
                             f"per example, channel by channel, row by row")
        if X.shape[1] != width:
            raise ShapeError(f"--input has {X.shape[1]} value{'s' * (X.shape[1] != 1)} per "
                             f"example but the network has {net.n_in} inputs "
                             f"({_names('i', net.n_in)})")
        if images:
            X = X.reshape(len(X), *net.n_in)
    elif notes:
        X = examples.INPUT_222.copy()
    else:
        X = rng.uniform(-1, 1, size=(args.batch,) + (net.n_in if images else (net.n_in,)))
    m, K = len(X), net.n_out
    if args.target is not None:
        y = parse_rows(args.target, "--target")
        if isinstance(loss, CrossEntropy) and y.shape[1] == 1 and K > 1:
            y = y[:, 0]
            if not np.all(y == np.round(y)):
                raise InvalidValueError(f"--target: with cross-entropy a single target is a class "
                                        f"index 0..{K - 1}, got {y.tolist()}")
            y = y.astype(np.int64)
        elif y.shape[1] != K:
            raise ShapeError(f"--target has {y.shape[1]} value{'s' * (y.shape[1] != 1)} per "
                             f"example but the network has {K} outputs "
                             f"({_names('o', K) if K else ''})")
        if len(y) != m:
            raise ShapeError(f"--target has {len(y)} example{'s' * (len(y) != 1)} but --input "
                             f"has {m}")
    elif notes and args.input is None:
        y = examples.TARGET_222.copy()
    elif isinstance(loss, CrossEntropy):
        y = rng.integers(0, K, size=m)
    elif isinstance(loss, BinaryCrossEntropy) or _bounded_output(net):
        y = np.round(rng.uniform(0.01, 0.99, size=(m, K)), 2)
    else:
        y = np.round(rng.normal(size=(m, K)), 2)
    return X, y


def _bounded_output(net):
    from ..layers import Sigmoid, Softmax

    return isinstance(net.layers[-1], (Sigmoid, Softmax))


def build_optimizer(args):
    from .. import optim

    if args.optimizer == "sgd":
        return optim.SGD(args.lr, momentum=args.momentum)
    if args.momentum:
        raise InvalidValueError("--momentum is for --optimizer sgd")
    return {"adagrad": optim.AdaGrad, "rmsprop": optim.RMSProp, "adam": optim.Adam,
            "adamw": optim.AdamW}[args.optimizer](args.lr)


def run(args, out):
    from .. import losses
    from ..trace import trace_steps

    net, notes = build_network(args)
    loss = losses.get(args.loss or default_loss(net))
    X, y = build_data(args, net, loss, notes)
    records = trace_steps(net, loss, X, y, build_optimizer(args), args.steps)
    render = getattr(records, {"text": "to_text", "markdown": "to_markdown",
                               "latex": "to_latex", "html": "to_html"}[args.format])
    document = render(digits=args.digits, max_neurons=args.max_neurons)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(document)
        except OSError as e:
            raise InvalidValueError(f"--out {args.out}: cannot write it ({e.strerror})") from None
        steps = f"{args.steps} step{'s' * (args.steps != 1)}"
        out.write(f"wrote {args.out} ({args.format}, {steps}; error {records[0].E_total:.9f} "
                  f"-> {records[-1].error_after:.9f})\n")
    else:
        out.write(document)
    return 0
