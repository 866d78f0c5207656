"""``chainrule train``: build a network, train it, report the test score, save it."""
import argparse
import math
import os
import time

import numpy as np

from .. import backend
from ..errors import InvalidValueError
from . import config
from ..training.checkpoint import data_hash
from .common import add_data_options, batch_size, hidden, load_data, number, positive

HELP = "train a network and save it"
EPILOG = """examples:
  chainrule train                                  # an MLP on the bundled digits
  chainrule train --dataset fashion-mnist --hidden 256,128 --optimizer adam --dropout 0.2 \\
                  --epochs 20 --out fashion.safetensors --plot loss.png
  chainrule train --csv iris.csv --target species --hidden 16,16 --epochs 200
  chainrule train --dataset moons --hidden 8 --activation tanh --batch-size full
  chainrule train --config exp.toml                # the same settings from a file
  chainrule train --dataset fashion-mnist --model lenet5 --optimizer adam --batch-size 128 \
                  --epochs 10                      # a convolutional network on the images
  chainrule train --parallel data --workers 2 --batch-size 512   # on a local Ray
  chainrule train --parallel async --workers 4 --address 10.0.0.1:6379   # on a Ray cluster
"""
MODELS = ["mlp", "lenet5", "wide-cnn"]
DEFAULT_LR = {"sgd": 0.05, "adagrad": 0.01, "rmsprop": 0.001, "adam": 0.001, "adamw": 0.001}


def fraction(text):
    value = number(float)(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def non_negative(kind):
    def parse(text):
        value = number(kind)(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


def add_arguments(p):
    p.add_argument("--config", metavar="TOML", help="read settings from a TOML file "
                   "(flags given on the command line win)")
    add_data_options(p, "digits")
    p.add_argument("--task", choices=["auto", "classification", "regression"], default="auto",
                   help="auto: integer targets are classes, other numbers are regressed")
    g = p.add_argument_group("network")
    g.add_argument("--model", default="mlp", choices=MODELS,
                   help="mlp: dense layers from --hidden; lenet5 (28x28 images and up) or "
                   "wide-cnn: convolutional networks on square one-channel images, each row "
                   "of pixels reshaped to (1, side, side) (default: mlp)")
    g.add_argument("--hidden", type=hidden, default=[64],
                   help="hidden layer sizes, comma separated (default: 64)")
    g.add_argument("--activation", default="relu",
                   help="hidden activation: relu, tanh, sigmoid, leaky_relu, identity")
    g.add_argument("--init", default=None, help="initialiser: he, xavier, normal, uniform... "
                   "(default: he for ReLU, xavier otherwise)")
    g.add_argument("--dropout", type=fraction, default=0.0,
                   help="dropout p after each hidden layer (wide-cnn: 0.25 when not given)")
    g.add_argument("--batchnorm", action="store_true", help="batch normalisation before each "
                   "hidden activation")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", default="sgd", choices=sorted(DEFAULT_LR))
    g.add_argument("--lr", type=positive(float), default=None,
                   help="learning rate (default: 0.05 for SGD, 0.001 for Adam/AdamW/RMSProp)")
    g.add_argument("--momentum", type=fraction, default=0.9, help="SGD/RMSProp momentum")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    g.add_argument("--weight-decay", type=non_negative(float), default=0.0)
    g.add_argument("--epochs", type=positive(int), default=20, help="passes over the data")
    g.add_argument("--batch-size", type=batch_size, default=64,
                   help="examples per update: a number, or 'full' for batch gradient descent")
    g.add_argument("--schedule", default="none",
                   choices=["none", "step", "exponential", "cosine", "plateau"],
                   help="learning-rate schedule")
    g.add_argument("--schedule-per", default="epoch", choices=["epoch", "iteration"])
    g.add_argument("--step-size", type=positive(int), default=10, help="step schedule: period")
    g.add_argument("--gamma", type=positive(float), default=0.5,
                   help="step/exponential/plateau factor")
    g.add_argument("--warmup", type=non_negative(int), default=0, help="cosine: warm-up steps")
    g.add_argument("--min-lr", type=non_negative(float), default=0.0, help="cosine/plateau floor")
    g.add_argument("--clip-norm", type=positive(float), default=None,
                   help="clip gradients to this global norm")
    g = p.add_argument_group("regularisation and strategies")
    g.add_argument("--l1", type=non_negative(float), default=0.0, help="L1 penalty lambda")
    g.add_argument("--l2", type=non_negative(float), default=0.0,
                   help="L2 penalty lambda (seed 003: lambda/(2m) sum w^2)")
    g.add_argument("--early-stopping", type=non_negative(int), default=0, metavar="PATIENCE",
                   help="stop after this many epochs without a better val_loss (0: off)")
    g.add_argument("--min-delta", type=non_negative(float), default=0.0)
    g.add_argument("--strategy", default="all", choices=["all", "misclassified"],
                   help="misclassified: each epoch trains on the examples it gets wrong")
    g.add_argument("--restarts", type=non_negative(int), default=0,
                   help="re-draw the weights when the loss has not fallen (seed 003)")
    g.add_argument("--restart-after", type=positive(int), default=10)
    g.add_argument("--target-loss", type=positive(float), default=None,
                   help="stop once the training loss is at or below this")
    g.add_argument("--augment-shift", type=non_negative(int), default=0,
                   help="images: random shifts of up to this many pixels")
    g.add_argument("--augment-rotate", type=non_negative(float), default=0.0,
                   help="images: random rotations of up to this many degrees")
    g.add_argument("--augment-noise", type=non_negative(float), default=0.0,
                   help="Gaussian noise of this standard deviation")
    g = p.add_argument_group("parallel training (on Ray: pip install \"chainrule[distributed]\")")
    g.add_argument("--parallel", default="none", choices=["none", "data", "async", "pipeline"],
                   help="data: workers share each batch; async: workers update a parameter "
                   "server without waiting; pipeline: the layers split into --workers stages")
    g.add_argument("--workers", type=positive(int), default=2,
                   help="Ray workers (pipeline: stages), one CPU each (default: 2)")
    g.add_argument("--address", metavar="ADDR", default=None,
                   help="join the Ray cluster at ADDR (host:port, or 'auto'); default: a "
                   "local Ray for this run")
    g = p.add_argument_group("run and output")
    g.add_argument("--seed", type=int, default=0, help="seed of weights, split and shuffling")
    g.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    g.add_argument("--out", default="model.safetensors", help="where to save the model")
    g.add_argument("--checkpoint", metavar="PATH", help="also save a checkpoint every epoch")
    g.add_argument("--resume", metavar="CKPT", help="continue the run saved in this checkpoint "
                   "(its settings are the defaults; e.g. --epochs 40 trains on to epoch 40)")
    g.add_argument("--log-csv", metavar="PATH", help="one CSV row of metrics per epoch")
    g.add_argument("--plot", metavar="PNG", help="draw the error-versus-epoch graph (png/svg)")
    g.add_argument("--animate", metavar="GIF", help="2-D data sets: record the decision boundary "
                   "during training and write its evolution as an animated GIF")
    g.add_argument("--gradient-norms", metavar="PNG", help="draw each layer's gradient norm per "
                   "epoch (png/svg/pdf): the picture of vanishing gradients")
    g.add_argument("--threads", type=positive(int), default=None,
                   help="BLAS threads for the matrix products (default: one per core)")
    g.add_argument("--quiet", action="store_true", help="no progress output")


def _classify(task, y):
    if task == "auto":
        return y.dtype.kind in "iu"
    if task == "classification" and y.dtype.kind not in "iu":
        raise InvalidValueError("--task classification needs class labels, but the targets are "
                                "real numbers; use --task regression")
    return task == "classification"


def prepare_data(args):
    """(X_train, y_train, X_test, y_test), classify?, scaling, arrays, name."""
    from .. import data

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
    if getattr(args, "model", "mlp") != "mlp":
        X_train, X_test = as_images(args, X_train, name), as_images(args, X_test, name)
    return (X_train, y_train, X_test, y_test), classify, scaling, arrays, name


def as_images(args, X, name):
    """Rows of ``side*side`` pixels as ``(n, 1, side, side)`` images, for the CNN models."""
    side = math.isqrt(X.shape[1])
    if side * side != X.shape[1]:
        raise InvalidValueError(f"--model {args.model} needs square one-channel images, but "
                                f"{name} has {X.shape[1]} features per example; use --model mlp")
    return X.reshape(len(X), 1, side, side)


def build_network(args, n_in, n_out, classify):
    """The network of ``--model``; ``n_in`` is a width, or (channels, h, w) for the CNNs."""
    from .. import mlp

    model = getattr(args, "model", "mlp")
    if model != "mlp":
        from ..models import lenet5, wide_cnn

        if not classify:
            raise InvalidValueError(f"--model {model} is a classifier (softmax output); "
                                    f"use --model mlp for regression")
        if model == "lenet5":
            return lenet5(activation=args.activation, dtype=args.dtype, seed=args.seed,
                          input_shape=n_in, classes=n_out)
        return wide_cnn(dropout=args.dropout or 0.25, dtype=args.dtype, seed=args.seed,
                        input_shape=n_in, classes=n_out)
    return mlp([n_in, *args.hidden, n_out], activation=args.activation,
               output="softmax" if classify else "identity", init=args.init, dtype=args.dtype,
               seed=args.seed, dropout=args.dropout, batchnorm=args.batchnorm)


def build_optimizer(args):
    from .. import optim

    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    wd = args.weight_decay
    if args.optimizer == "sgd":
        return optim.SGD(lr, momentum=args.momentum, nesterov=args.nesterov, weight_decay=wd)
    if args.optimizer == "adagrad":
        return optim.AdaGrad(lr, weight_decay=wd)
    if args.optimizer == "rmsprop":
        return optim.RMSProp(lr, momentum=args.momentum if args.nesterov else 0.0, weight_decay=wd)
    if args.optimizer == "adam":
        return optim.Adam(lr, weight_decay=wd)
    return optim.AdamW(lr, weight_decay=wd or 0.01)


def build_callbacks(args, optimizer, n_train, out, validation):
    from .. import callbacks
    from ..optim import schedules

    found = []
    if args.schedule != "none":
        steps = args.epochs if args.schedule_per == "epoch" else args.epochs * _iterations(
            n_train, args.batch_size)
        options = {"step": {"step_size": args.step_size, "gamma": args.gamma},
                   "exponential": {"gamma": args.gamma},
                   "cosine": {"total_steps": steps, "min_lr": args.min_lr,
                              "warmup_steps": args.warmup},
                   "plateau": {"factor": args.gamma, "min_lr": args.min_lr}}[args.schedule]
        schedule = schedules.get(args.schedule, optimizer, **options)
        monitor = None
        if args.schedule == "plateau":
            monitor = "val_loss" if validation else "loss"
        found.append(callbacks.LearningRateScheduler(schedule, per=args.schedule_per,
                                                     monitor=monitor))
    if args.early_stopping:
        if not validation:
            raise InvalidValueError("--early-stopping watches val_loss: the data set needs a "
                                    "test split")
        found.append(callbacks.EarlyStopping(patience=args.early_stopping,
                                             min_delta=args.min_delta))
    if args.checkpoint:
        found.append(callbacks.ModelCheckpoint(args.checkpoint,
                                               metadata={"settings": config.settings(args)}))
    if args.log_csv:
        found.append(callbacks.CSVLogger(args.log_csv))
    if not args.quiet:
        found.append(callbacks.ProgressBar(out))
    return found


def _describe(args, net):
    """``784-64-10 relu``, or ``lenet5 1x28x28-6x28x28-...-10 relu`` for the CNNs."""
    from ..network import _format_shape

    sizes = "-".join(map(_format_shape, net.sizes))
    if args.model == "mlp":
        return f"{sizes} {args.activation}"
    activation = args.activation if args.model == "lenet5" else "relu"
    return f"{args.model} {sizes} {activation}"


def _iterations(n, batch):
    return 1 if batch is None else math.ceil(n / batch)


def build_augment(args, n_features):
    if not (args.augment_shift or args.augment_rotate or args.augment_noise):
        return None
    from ..data.augment import Augment

    side = math.isqrt(n_features)
    shape = (side, side) if side * side == n_features else None
    if shape is None and (args.augment_shift or args.augment_rotate):
        raise InvalidValueError(f"shift/rotate augmentation needs square images; this data has "
                                f"{n_features} features per example")
    return Augment(image_shape=shape or (1, n_features), shift=args.augment_shift,
                   rotate=args.augment_rotate, noise=args.augment_noise, seed=args.seed)


def prepare_training(args, out, X_train, y_train, validation, classify, extra_callbacks=()):
    """The network the settings describe, and a function that trains it.

    The function returns (history, optimizer, seconds). They are apart so that an
    interrupted run can still save the network it was training. ``extra_callbacks`` run
    after those the settings ask for (the recorders of --animate and --gradient-norms).
    """
    from ..losses import CrossEntropy, SquaredError

    n_out = int(max(y_train.max(), validation[1].max() if validation else 0)) + 1 if classify \
        else (1 if y_train.ndim == 1 else y_train.shape[1])
    n_in = X_train.shape[1] if X_train.ndim == 2 else tuple(X_train.shape[1:])  # images: (c, h, w)
    net = build_network(args, n_in, n_out, classify)
    optimizer = build_optimizer(args)
    loss = CrossEntropy() if classify else SquaredError()
    callbacks = build_callbacks(args, optimizer, len(X_train), out, validation)
    callbacks += list(extra_callbacks)
    augment = build_augment(args, math.prod(X_train.shape[1:]))
    from .. import parallel

    strategy = parallel.get(args.parallel, workers=args.workers, address=args.address)

    def train():
        start = time.perf_counter()
        with backend.threads(args.threads):
            history = net.fit(X_train, y_train, loss=loss, optimizer=optimizer,
                              epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                              validation_data=validation, callbacks=callbacks, l1=args.l1,
                              l2=args.l2, clip_norm=args.clip_norm, strategy=args.strategy,
                              restarts=args.restarts, restart_after=args.restart_after,
                              target_loss=args.target_loss, augment=augment,
                              resume=args.resume, parallel=strategy)
        return history, optimizer, time.perf_counter() - start

    return net, train


def check_outputs(args):
    """Refuse unwritable output paths before training, not after it (nothing half-done)."""
    for flag in ("out", "checkpoint", "log_csv", "plot", "animate", "gradient_norms"):
        path = getattr(args, flag, None)
        if not path:
            continue
        name = "--" + flag.replace("_", "-")
        if os.path.isdir(path):
            raise InvalidValueError(f"{name} {path!r} is a directory; give a file name")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise InvalidValueError(f"{name} {path!r}: the folder {folder!r} does not exist")
    if args.plot and os.path.splitext(args.plot)[1].lower() not in (".png", ".svg", ".pdf"):
        raise InvalidValueError(f"--plot {args.plot!r}: the file must end in .png, .svg or .pdf")


def run(args, out):
    check_outputs(args)
    (X_train, y_train, X_test, y_test), classify, scaling, arrays, name = prepare_data(args)
    validation = (X_test, y_test) if len(X_test) else None
    pictures = _picture_recorders(args, X_train, y_train, classify, name)
    net, train = prepare_training(args, out, X_train, y_train, validation, classify,
                                  extra_callbacks=list(pictures.values()))
    out.write(f"training {_describe(args, net)} network on {name}: "
              f"{len(X_train)} training and {len(X_test)} test examples\n")
    metadata = {"dataset": name, "task": "classification" if classify else "regression",
                "data_hash": data_hash(X_train, y_train), "dtype": args.dtype,
                "features": list(getattr(arrays, "features", ())),
                "classes": getattr(arrays, "classes", None), "scaling": scaling,
                "seed": args.seed, "model": args.model}
    try:
        history, optimizer, seconds = train()
    except KeyboardInterrupt:
        net.save(args.out, metadata={**metadata, "interrupted": True})
        out.write(f"\ninterrupted: the weights so far are saved in {args.out}\n")
        return 130
    metadata.update(optimizer=repr(optimizer), epochs=history.epochs,
                    stop_reason=history.stop_reason,
                    history={k: [v if math.isfinite(v) else None for v in values]
                             for k, values in history.items()})
    if validation is not None:
        score = net.evaluate(X_test, y_test, metrics=("accuracy",) if classify else ("mse",))
        metadata.update({k: v if np.isfinite(v) else None for k, v in score.items()})
        label = "test accuracy" if classify else "test mse"
        value = score["accuracy"] if classify else score["mse"]
        out.write(f"{label}: {value:.4f}  ({history.epochs} epochs, {history.iterations} "
                  f"iterations, {seconds:.1f}s)\n")
    net.save(args.out, metadata=metadata)
    settings = os.path.splitext(args.out)[0] + ".toml"
    config.write(settings, args)
    out.write(f"saved {args.out} (settings: {settings})\n")
    if args.plot:
        from ..plots import loss_curve

        loss_curve(history, args.plot)
        out.write(f"plotted {args.plot}\n")
    _write_pictures(args, pictures, out)
    return 0


def _picture_recorders(args, X_train, y_train, classify, name):
    """The callbacks that record --animate and --gradient-norms, checked before training."""
    found = {}
    animate, norms = getattr(args, "animate", None), getattr(args, "gradient_norms", None)
    if not (animate or norms):
        return found
    from ..plots.loss import _matplotlib, check_output

    _matplotlib()  # without matplotlib, say so now rather than after training
    if animate:
        if not os.path.splitext(animate)[1].lower() == ".gif":
            raise InvalidValueError(f"--animate {animate}: the animation is written as GIF; "
                                    f"use a .gif extension")
        if X_train.ndim != 2 or X_train.shape[1] != 2 or not classify:
            raise InvalidValueError(f"--animate draws the decision boundary of a classifier of "
                                    f"2-D points (moons, circles, spirals, xor); {name} has "
                                    f"{math.prod(X_train.shape[1:])} features"
                                    f"{'' if classify else ' and real-valued targets'}")
        from ..plots import BoundaryRecorder

        found["animate"] = BoundaryRecorder(X_train, y_train)
    if norms:
        check_output(norms, (1, 1), 1)
        from ..plots import GradientNorms

        found["gradient_norms"] = GradientNorms()
    return found


def _write_pictures(args, pictures, out):
    if "animate" in pictures:
        frames = pictures["animate"].save(args.animate)
        out.write(f"animated {args.animate} ({frames} frames)\n")
    if "gradient_norms" in pictures:
        from ..plots import gradient_norms

        gradient_norms(pictures["gradient_norms"], args.gradient_norms)
        out.write(f"plotted {args.gradient_norms}\n")
