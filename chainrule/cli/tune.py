"""``chainrule tune``: grid or random search over the settings of a TOML file.

The file holds ``chainrule train`` settings plus a ``[search]`` table whose lists are the
values to try (``lr = [0.01, 0.1]``). Every trial trains on the training split minus a
held-out validation part and is ranked by its validation loss; the test split is never
looked at. The search itself is scikit-learn's ParameterGrid / ParameterSampler.
"""
import csv
import math
import os

from ..errors import InvalidValueError
from . import config

HELP = "search settings on a validation split"
EPILOG = """example file (exp.toml):
  dataset = "digits"
  epochs = 10
  [search]
  method = "grid"            # or "random", with trials = 20
  lr = [0.01, 0.05, 0.1]
  hidden = [[32], [64, 32]]
  optimizer = ["sgd", "adam"]

example:
  chainrule tune exp.toml --out results.csv
"""
SEARCH_OPTIONS = {"method", "trials", "validation_fraction", "rank_by"}


def add_arguments(p):
    p.add_argument("file", help="a TOML file of train settings with a [search] table")
    p.add_argument("--out", metavar="CSV", help="where to save the ranked table "
                   "(default: next to the file, NAME.tune.csv)")


def _space(search, path):
    space = {k: v for k, v in search.items() if k not in SEARCH_OPTIONS}
    if not space:
        raise InvalidValueError(f"{path}: [search] lists no settings to try")
    for key, values in space.items():
        if not isinstance(values, list) or not values:
            raise InvalidValueError(f"{path}: [search] {key} must be a non-empty list of values")
    return space


def _trials(search, space, seed, path):
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    method = search.get("method", "grid")
    if method == "grid":
        return list(ParameterGrid(space))
    if method == "random":
        trials = search.get("trials", 10)
        if not isinstance(trials, int) or trials <= 0:
            raise InvalidValueError(f"{path}: [search] trials must be a positive integer")
        total = math.prod(len(v) for v in space.values())
        return list(ParameterSampler(space, n_iter=min(trials, total), random_state=seed))
    raise InvalidValueError(f"{path}: [search] method must be 'grid' or 'random', got {method!r}")


def _train_parser():
    from . import build_parser

    parser = build_parser()
    return config.subparser(parser, "train")


def run(args, out):
    from sklearn.model_selection import train_test_split

    from . import train

    settings = config.read(args.file)
    search = settings.pop("search", None)
    if not isinstance(search, dict):
        raise InvalidValueError(f"{args.file}: no [search] table; add one with lists of values "
                                f"to try, e.g. lr = [0.01, 0.1]")
    space = _space(search, args.file)
    base = config.apply_settings(_train_parser(), [], settings, args.file)
    trials = _trials(search, space, base.seed, args.file)
    fraction = search.get("validation_fraction", 0.2)
    rank_by = search.get("rank_by", "val_loss")
    (X, y, _, _), classify, _, _, name = train.prepare_data(base)
    try:
        X_fit, X_val, y_fit, y_val = train_test_split(
            X, y, test_size=fraction, random_state=base.seed, stratify=y if classify else None)
    except ValueError as e:
        raise InvalidValueError(f"cannot hold out {fraction} of {len(X)} training examples for "
                                f"validation: {e}") from None
    out.write(f"tuning on {name}: {len(trials)} trials, {len(X_fit)} training and "
              f"{len(X_val)} validation examples\n")
    rows = []
    for number, trial in enumerate(trials, 1):
        trial_args = config.apply_settings(_train_parser(), [], {**settings, **trial}, args.file)
        trial_args.quiet = True
        _, fit = train.prepare_training(trial_args, out, X_fit, y_fit, (X_val, y_val), classify)
        history, _, seconds = fit()
        row = {**{k: _plain(v) for k, v in trial.items()}, "epochs": history.epochs,
               "seconds": round(seconds, 2)}
        for key in ("val_loss", "val_accuracy"):
            if key in history:
                row[key] = history[key][-1]
        rows.append(row)
        out.write(f"trial {number}/{len(trials)}: {_describe(trial)} -> val_loss "
                  f"{row['val_loss']:.4f}\n")
    if rank_by not in rows[0]:
        raise InvalidValueError(f"rank_by {rank_by!r} is not a result; use one of "
                                f"{', '.join(k for k in rows[0] if k.startswith('val_'))}")
    best_first = -1 if rank_by.endswith("accuracy") else 1
    rows.sort(key=lambda r: best_first * r[rank_by] if math.isfinite(r[rank_by]) else math.inf)
    _print_table(rows, out)
    path = args.out or os.path.splitext(args.file)[0] + ".tune.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["rank", *rows[0]])
        writer.writeheader()
        writer.writerows({"rank": i, **row} for i, row in enumerate(rows, 1))
    out.write(f"saved {path}\n")
    return 0


def _plain(value):
    return ",".join(map(str, value)) if isinstance(value, list) else value


def _describe(trial):
    return ", ".join(f"{k}={_plain(v)}" for k, v in trial.items())


def _print_table(rows, out):
    columns = ["rank", *rows[0]]
    cells = [[str(i), *(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values())]
             for i, row in enumerate(rows, 1)]
    widths = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)) + "\n")
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "\n")
