"""The playground's settings: one flat dict, checked at the boundary.

The page keeps the same dict in its URL, so a link reproduces a run. Every value is
validated here with a message a person can act on; nothing the browser sends reaches
the engine unchecked.
"""
import math

from ..errors import InvalidValueError

MAX_LAYERS = 8
MAX_NEURONS = 64
MAX_POINTS = 2000
MAX_CLASSES = 100
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "identity")
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
LOSSES = ("cross_entropy", "squared_error", "mse")
BUILTIN = ("spirals", "xor", "circles", "moons", "gauss", "reg-plane", "reg-gauss")
REGRESSION = ("reg-plane", "reg-gauss")

DEFAULTS = {
    "dataset": "spirals", "points": 300, "noise": 0.2, "test_fraction": 0.3,
    "upload": None, "target": None, "fx": 0, "fy": 1,
    "hidden": [8, 8], "activations": ["tanh", "tanh"], "dropout": 0.0,
    "l1": 0.0, "l2": 0.0, "loss": "cross_entropy", "optimizer": "adam", "lr": 0.03,
    "batch_size": 10, "seed": 0,
}


def _number(settings, key, low, high, kind=float, low_open=False):
    value = settings.get(key, DEFAULTS[key])
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise InvalidValueError(f"{key} must be a number, got {value!r}")
    if kind is int and value != int(value):
        raise InvalidValueError(f"{key} must be a whole number, got {value!r}")
    value = kind(value)
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        left = "(" if low_open else "["
        raise InvalidValueError(f"{key} must be in {left}{low:g}, {high:g}], got {value:g}")
    return value


def _choice(settings, key, choices):
    value = settings.get(key, DEFAULTS[key])
    if value not in choices:
        raise InvalidValueError(f"{key} must be one of {', '.join(choices)}, got {value!r}")
    return value


def validate(settings):
    """A complete, checked copy of ``settings`` (missing keys take the defaults)."""
    if not isinstance(settings, dict):
        raise InvalidValueError("settings must be a JSON object")
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise InvalidValueError(f"unknown setting {unknown[0]!r}; the settings are: "
                                f"{', '.join(DEFAULTS)}")
    out = {}
    out["dataset"] = _choice(settings, "dataset", BUILTIN + ("csv",))
    out["points"] = _number(settings, "points", 20, MAX_POINTS, int)
    out["noise"] = _number(settings, "noise", 0, 1)
    out["test_fraction"] = _number(settings, "test_fraction", 0.05, 0.9)
    out["upload"] = settings.get("upload")
    out["target"] = settings.get("target")
    if out["dataset"] == "csv":
        if not isinstance(out["upload"], str) or not out["upload"]:
            raise InvalidValueError("the csv data set needs an uploaded file: upload a CSV first")
        if not isinstance(out["target"], str) or not out["target"]:
            raise InvalidValueError("choose the target column of the uploaded CSV (the column "
                                    "to predict)")
    out["fx"] = _number(settings, "fx", 0, 10_000, int)
    out["fy"] = _number(settings, "fy", 0, 10_000, int)

    hidden = settings.get("hidden", DEFAULTS["hidden"])
    if not isinstance(hidden, list) or len(hidden) > MAX_LAYERS:
        raise InvalidValueError(f"hidden must be a list of at most {MAX_LAYERS} layer sizes, "
                                f"got {hidden!r}")
    for i, n in enumerate(hidden):
        if isinstance(n, bool) or not isinstance(n, (int, float)) or n != int(n) or \
                not 1 <= n <= MAX_NEURONS:
            raise InvalidValueError(f"hidden layer {i + 1} must have 1 to {MAX_NEURONS} "
                                    f"neurons, got {n!r}")
    out["hidden"] = [int(n) for n in hidden]
    acts = settings.get("activations", DEFAULTS["activations"])
    if isinstance(acts, str):
        acts = [acts] * len(hidden)
    if not isinstance(acts, list) or len(acts) != len(hidden):
        raise InvalidValueError(f"activations must name one activation per hidden layer "
                                f"({len(hidden)}), got {acts!r}")
    for a in acts:
        if a not in ACTIVATIONS:
            raise InvalidValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, "
                                    f"got {a!r}")
    out["activations"] = list(acts)
    out["dropout"] = _number(settings, "dropout", 0, 0.9)
    out["l1"] = _number(settings, "l1", 0, 10)
    out["l2"] = _number(settings, "l2", 0, 10)
    out["loss"] = _choice(settings, "loss", LOSSES)
    out["optimizer"] = _choice(settings, "optimizer", OPTIMIZERS)
    out["lr"] = _number(settings, "lr", 0, 10, low_open=True)
    batch = settings.get("batch_size", DEFAULTS["batch_size"])
    out["batch_size"] = "full" if batch in ("full", None) else \
        _number({"batch_size": batch}, "batch_size", 1, 100_000, int)
    out["seed"] = _number(settings, "seed", 0, 2**31 - 1, int)
    return out
