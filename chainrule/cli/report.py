"""``chainrule report``: one standalone HTML page about a saved model.

The page shows the network (its layers and a diagram), the loss curves of its training
(when the model file keeps its History), the accuracy and confusion matrix on the test
split of the data set it was trained on (or another one), health checks, a sample of
predictions (images with their predicted and true labels for image data) and every
number of one training step on one test example. Pictures are embedded, so the page is
one file that opens anywhere, offline.
"""
import argparse

import numpy as np

from ..errors import InvalidValueError
from .common import add_data_options, model_data, positive

HELP = "write one HTML page about a saved model: curves, confusion matrix, samples, a trace"
EPILOG = """examples:
  chainrule train --out digits.safetensors
  chainrule report digits.safetensors --out report.html     # on the test split of digits
  chainrule report model.safetensors --dataset fashion-mnist --samples 32 --out fashion.html
  chainrule report model.safetensors --csv held_out.csv --target species --example 5
"""

# Inputs of these data sets are images, shown as such; their class names where known.
IMAGE_SHAPES = {"digits": (8, 8), "fashion-mnist": (28, 28)}


def non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_arguments(p):
    p.add_argument("model", help="a .safetensors file written by chainrule")
    add_data_options(p, None)
    p.add_argument("--out", default="report.html", help="where to write the page "
                   "(default: report.html)")
    p.add_argument("--title", help="the page's title (default: chainrule report: MODEL)")
    p.add_argument("--samples", type=positive(int), default=24,
                   help="sample predictions to show, up to half of them wrong (default 24)")
    p.add_argument("--example", type=non_negative_int, default=0,
                   help="which test example's training step to trace (default 0)")
    p.add_argument("--lr", type=positive(float), default=0.1,
                   help="learning rate of the traced SGD step (default 0.1)")


def class_names(net, name):
    names = net.metadata.get("classes")
    if names is None and name == "fashion-mnist":
        from ..data.fashion_mnist import CLASSES

        names = list(CLASSES)
    return names


def run(args, out):
    from .. import load
    from ..plots import report

    net = load(args.model)
    X, y, name = model_data(args, net)
    if args.example >= len(X):
        raise InvalidValueError(f"--example {args.example}: the {name} test split has "
                                f"{len(X)} examples (0..{len(X) - 1})")
    meta = dict(net.metadata)
    meta.setdefault("dataset", name)
    history = meta.get("history")
    features = meta.get("features") or None
    shape = IMAGE_SHAPES.get(name) if np.ndim(X) == 2 and X.shape[1] == int(
        np.prod(IMAGE_SHAPES.get(name, (0,)))) else None
    report(net, X, y, args.out, history=history, metadata=meta,
           title=args.title or f"chainrule report: {args.model}",
           class_names=class_names(net, name), feature_names=features, image_shape=shape,
           samples=args.samples, example=args.example, lr=args.lr)
    out.write(f"wrote {args.out}: {args.model} on {name} ({len(X)} examples)"
              f"{'' if history else '; the model file has no training history, so no loss curves'}"
              f"\n")
    return 0
