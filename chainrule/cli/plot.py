"""``chainrule plot``: pictures of a saved model.

``--diagram`` draws the network (neurons labelled with their activation, edges coloured
by the sign of their weight and sized by its magnitude), ``--weights`` a histogram of
every layer's weights, ``--confusion`` the confusion matrix on the test split of a data
set (by default the one the model was trained on) and ``--boundary`` the decision
boundary of a model with two inputs over its test points. Give one or several; the
extension of each path chooses its format (.png, .svg or .pdf).
"""
from ..errors import InvalidValueError
from .common import add_data_options

HELP = "draw a saved model: network diagram, weight histograms, confusion matrix, boundary"
EPILOG = """examples:
  chainrule plot model.safetensors --diagram net.png
  chainrule plot model.safetensors --confusion confusion.png --dataset digits
  chainrule plot model.safetensors --weights weights.svg --diagram net.pdf
  chainrule plot moons.safetensors --boundary boundary.png
"""


def add_arguments(p):
    p.add_argument("model", help="a .safetensors file written by chainrule")
    g = p.add_argument_group("pictures (at least one)")
    g.add_argument("--diagram", metavar="OUT", help="the network as neurons and weighted edges")
    g.add_argument("--weights", metavar="OUT", help="a histogram of each layer's weights")
    g.add_argument("--confusion", metavar="OUT", help="the confusion matrix on the test split")
    g.add_argument("--boundary", metavar="OUT",
                   help="the decision boundary over the test points (models with 2 inputs)")
    g.add_argument("--max-neurons", type=int, default=16,
                   help="diagram: wider layers show their first and last neurons (default 16)")
    g = p.add_argument_group("data (for --confusion and --boundary)")
    add_data_options(g, None)


def run(args, out):
    from .. import load, plots
    from ..plots.loss import check_output
    from .report import class_names, model_data

    wanted = [(flag, getattr(args, flag)) for flag in ("diagram", "weights", "confusion",
                                                       "boundary") if getattr(args, flag)]
    if not wanted:
        raise InvalidValueError("nothing to draw: give --diagram OUT, --weights OUT, "
                                "--confusion OUT and/or --boundary OUT")
    for _, path in wanted:  # a bad extension fails before anything is loaded or drawn
        check_output(path, (1, 1), 1)
    net = load(args.model)
    data = None
    for flag, path in wanted:
        if flag == "diagram":
            features = net.metadata.get("features") or None
            names = features if features and len(features) == net.sizes[0] else None
            plots.network_diagram(net, path, max_neurons=args.max_neurons, input_names=names)
            out.write(f"wrote {path}: the network {'-'.join(map(str, net.sizes))}\n")
        elif flag == "weights":
            plots.weight_histograms(net, path)
            out.write(f"wrote {path}: the weights of each layer\n")
        else:
            if data is None:
                data = model_data(args, net)
            X, y, name = data
            if net.metadata.get("task", "classification") != "classification":
                raise InvalidValueError(f"--{flag} draws a classifier's results; this model "
                                        f"was trained for regression")
            names = class_names(net, name)
            if flag == "confusion":
                plots.confusion_matrix_plot(y, net.predict(X), path, n_classes=max(net.n_out, 2),
                                            class_names=names)
                out.write(f"wrote {path}: the confusion matrix on {name} ({len(X)} "
                          f"examples)\n")
            else:
                plots.decision_boundary(net, X, y, path, class_names=names)
                out.write(f"wrote {path}: the decision boundary on {name} ({len(X)} "
                          f"examples)\n")
    return 0
