"""The error-versus-epoch graph of the notes (seed 002), and the drawing helpers every
picture of :mod:`chainrule.plots` shares.

matplotlib is an optional extra (``pip install "chainrule[plots]"``). It is
imported inside the functions, never when chainrule is imported, and figures
are drawn on their own Agg canvas: chainrule never touches pyplot or the
global matplotlib backend, so a notebook's or an application's settings stay
as they were.
"""
import math
import os

import numpy as np

from ..errors import InvalidValueError, NotAvailableError, ShapeError

__all__ = ["loss_curve"]

FORMATS = ("png", "svg", "pdf")

# One colour per role, the same in both panels: training solid, validation dashed.
_TRAIN = "#1f77b4"
_VAL = "#d62728"
_BEST = "#2ca02c"
_MARKERS_UP_TO = 30  # epochs; beyond this the markers merge into a thick line


def loss_curve(history, path=None, *, title=None, log_scale=None, size=(8, 4.5), dpi=100):
    """Draw the error-versus-epoch graph of a training run and return the Figure.

    The left panel shows ``loss`` and ``val_loss`` per epoch (the x axis counts
    epochs from 1, as the notes do); a right panel shows ``accuracy`` and
    ``val_accuracy`` when the history has them. The epoch with the lowest
    validation loss is marked, because that is the model early stopping keeps.

    ``history`` is what ``net.fit`` returned, or a plain dict of per-epoch lists.
    ``log_scale=None`` picks a logarithmic loss axis when the loss spans more than
    two decades: the notes' 2-2-2 example falls from 0.298 to 3.5e-5 and on a
    linear axis everything after the first few hundred epochs is a flat line.
    ``path`` (optional) saves the picture; its extension chooses the format
    (.png, .svg or .pdf). ``size`` is in inches, so a PNG is ``size * dpi`` pixels.
    """
    series = _series(history)
    fmt = _format_of(path) if path is not None else None
    _check_size(size, dpi)
    losses = [series[k] for k in ("loss", "val_loss") if k in series]
    log = _use_log(losses) if log_scale is None else _check_log(log_scale, losses)

    Figure, FigureCanvasAgg, MaxNLocator = _matplotlib()
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    has_acc = "accuracy" in series or "val_accuracy" in series
    axes = fig.subplots(1, 2 if has_acc else 1, squeeze=False)[0]
    best = _best_epoch(series.get("val_loss"))

    _panel(axes[0], series, "loss", best, MaxNLocator, log=log)
    if has_acc:
        _panel(axes[1], series, "accuracy", best, MaxNLocator)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), format=fmt, dpi=dpi)
    return fig


# ---- checking the input ------------------------------------------------------

_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy")


def _series(history):
    """The per-epoch lists as 1-D float arrays; keys loss/accuracy and their val_ twins.

    Other keys (a learning rate, say) are ignored rather than plotted on the loss axis.
    """
    if not isinstance(history, dict):
        raise InvalidValueError(
            f"history: expected the History returned by net.fit or a dict of per-epoch "
            f"lists, got {type(history).__name__}")
    series = {}
    for key in _KEYS:
        if key not in history:
            continue
        try:
            values = np.asarray(history[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidValueError(f"history[{key!r}]: expected a list of numbers, one per "
                                    f"epoch") from None
        if values.ndim != 1:
            raise ShapeError(f"history[{key!r}]: expected one number per epoch, got an array "
                             f"of shape {values.shape}")
        if values.size:
            series[key] = values
    if "loss" not in series and "val_loss" not in series:
        raise InvalidValueError(
            "history: nothing to plot; expected a non-empty 'loss' or 'val_loss' list "
            f"(got keys: {', '.join(map(repr, history)) or 'none'}). Train for at least "
            "one epoch first.")
    return series


def _format_of(path):
    """The file format named by the path's extension; an unknown one is rejected
    before any drawing so a typo costs nothing."""
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if ext not in FORMATS:
        got = f"'.{ext}'" if ext else "no extension"
        raise InvalidValueError(
            f"path {os.fspath(path)!r}: cannot tell the image format from {got}; "
            f"use one of: {', '.join('.' + f for f in FORMATS)}")
    return ext


def _check_size(size, dpi):
    try:
        width, height = (float(v) for v in size)
    except (TypeError, ValueError):
        raise InvalidValueError(f"size: expected (width, height) in inches, got {size!r}") \
            from None
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise InvalidValueError(f"size: expected positive (width, height) in inches, "
                                f"got {size!r}")
    if not (isinstance(dpi, (int, float)) and dpi > 0 and math.isfinite(dpi)):
        raise InvalidValueError(f"dpi: expected a positive number of dots per inch, "
                                f"got {dpi!r}")


def _positive_range(arrays):
    """Smallest and largest finite values over the arrays (None when there are none)."""
    values = np.concatenate(arrays)
    values = values[np.isfinite(values)]
    return (values.min(), values.max()) if values.size else None


def _use_log(losses):
    """Log scale when every loss is positive and the largest is over 100 times the smallest.

    A zero or negative value (an MSE that hits 0 exactly) cannot go on a log axis,
    so the decision then falls back to linear instead of dropping points.
    """
    span = _positive_range(losses)
    if span is None or span[0] <= 0:
        return False
    return span[1] / span[0] > 100.0


def _check_log(log_scale, losses):
    if not isinstance(log_scale, (bool, np.bool_)):
        raise InvalidValueError(f"log_scale: expected True, False or None (automatic), "
                                f"got {log_scale!r}")
    span = _positive_range(losses)
    if log_scale and span is not None and span[0] <= 0:
        raise InvalidValueError(
            f"log_scale=True: the loss reaches {span[0]:.6g}, which a logarithmic axis "
            "cannot show; use log_scale=False")
    return bool(log_scale)


def _best_epoch(val_loss):
    """1-based epoch of the lowest finite validation loss, or None."""
    if val_loss is None or not np.isfinite(val_loss).any():
        return None
    return int(np.nanargmin(np.where(np.isfinite(val_loss), val_loss, np.nan))) + 1


# ---- drawing -----------------------------------------------------------------

def new_figure(size, dpi):
    """A matplotlib Figure on its own Agg canvas (never pyplot, never the global backend).

    Raises NotAvailableError, saying how to install the extra, when matplotlib is missing.
    """
    Figure, FigureCanvasAgg, _ = _matplotlib()
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def check_output(path, size, dpi):
    """Validate the size and the path's extension before any drawing; the format or None."""
    _check_size(size, dpi)
    return _format_of(path) if path is not None else None


def save_figure(fig, path, fmt, dpi):
    """Write ``fig`` to ``path`` (when given) in ``fmt`` at ``dpi``; return ``fig``."""
    if path is not None:
        fig.savefig(os.fspath(path), format=fmt, dpi=dpi)
    return fig


def png_bytes(fig, dpi=None):
    """The figure as PNG bytes (for pages that embed their pictures)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi)
    return buffer.getvalue()


def _matplotlib():
    """The three matplotlib pieces used here, or a NotAvailableError saying how to get them."""
    try:
        import matplotlib  # noqa: F401  (the package itself first: a clear failure point)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as err:
        raise NotAvailableError(
            'plots need matplotlib, an optional extra: pip install "chainrule[plots]" '
            f"(import failed: {err})") from err
    return Figure, FigureCanvasAgg, MaxNLocator


def _panel(ax, series, key, best, MaxNLocator, *, log=False):
    """One panel: the training curve solid, the validation curve dashed, best epoch marked."""
    if log:
        ax.set_yscale("log")
    longest = 0
    for name, color, style in ((key, _TRAIN, "-"), ("val_" + key, _VAL, "--")):
        if name not in series:
            continue
        values = series[name]
        epochs = np.arange(1, values.size + 1)
        longest = max(longest, values.size)
        # Markers only when there are few enough epochs to tell them apart.
        marker = "o" if values.size <= _MARKERS_UP_TO else None
        ax.plot(epochs, values, style, color=color, marker=marker, markersize=3.5,
                linewidth=1.6, label=f"{name} (last {_last(values)})")
    if best is not None:
        _mark_best(ax, series, best, on_loss=key == "loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(*_xlim(longest))
    ax.grid(True, which="major", alpha=0.35)
    if ax.get_yscale() == "log":
        ax.grid(True, which="minor", alpha=0.12)
    ax.legend(loc="best", frameon=True, framealpha=0.9, fontsize="small")


def _mark_best(ax, series, best, *, on_loss):
    """A dotted line at the best validation epoch; on the loss panel also a dot and its value."""
    if on_loss:
        value = series["val_loss"][best - 1]
        label = f"best val_loss {value:.4g} (epoch {best})"
        ax.axvline(best, color=_BEST, linestyle=":", linewidth=1.2)
        ax.plot([best], [value], "o", color=_BEST, markersize=7, zorder=5, label=label)
    else:
        ax.axvline(best, color=_BEST, linestyle=":", linewidth=1.2, label=f"epoch {best}")


def _last(values):
    """The last finite value, short: what the run ended at is what people ask first."""
    finite = values[np.isfinite(values)]
    return f"{finite[-1]:.4g}" if finite.size else "nan"


def _xlim(n):
    """Epoch 1 to the last epoch; half an epoch of room either side when the points
    carry markers, so the first and last are not cut in half by the frame."""
    if n <= _MARKERS_UP_TO:
        return 0.5, n + 0.5
    return 1, n
