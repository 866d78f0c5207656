"""Pictures of matrices: the confusion matrix of a classifier, the weights of each layer.

``confusion_matrix_plot`` shows the counts of :func:`chainrule.metrics.confusion_matrix`
(row = true class, column = predicted class, so the diagonal holds the correct answers),
each cell shaded by the fraction of its true class. ``weight_histograms`` draws one
histogram per weight matrix, with its mean, standard deviation and largest |w|, and the
biases as ticks under it.
"""
import math

import numpy as np

from .. import backend, metrics
from ..errors import InvalidValueError
from ..training.diagnostics import weight_layers
from .loss import check_output, new_figure, save_figure

__all__ = ["confusion_matrix_plot", "weight_histograms"]

_NUMBERS_UP_TO = 30  # classes; beyond this the counts would not fit in their cells


def confusion_matrix_plot(y_true, y_pred, path=None, *, n_classes=None, class_names=None,
                          title=None, size=None, dpi=100):
    """Draw the confusion matrix of ``y_pred`` against ``y_true``; return the Figure.

    ``y_true`` and ``y_pred`` are labels, one-hot/score rows or probabilities, as
    :func:`chainrule.metrics.confusion_matrix` takes them (``net.predict(X)`` works).
    Each cell holds a count; its shade is the count over its row's total (the fraction
    of that true class predicted as the column's class). ``n_classes`` defaults to the
    largest class seen plus one, or to the number of ``class_names``.
    """
    if n_classes is None and class_names is not None:
        n_classes = len(class_names)
    counts = metrics.confusion_matrix(y_true, y_pred, n_classes=n_classes)
    k = len(counts)
    if class_names is not None and len(class_names) != k:
        raise InvalidValueError(f"class_names: expected {k} names (one per class), got "
                                f"{len(class_names)}")
    names = [str(c) for c in class_names] if class_names is not None else \
        [str(c) for c in range(k)]
    if size is None:
        side = min(max(4.0, 1.6 + 0.55 * k), 14.0)
        size = (side + 1.6, side)
    fmt = check_output(path, size, dpi)
    fig = new_figure(size, dpi)
    ax = fig.add_subplot()
    totals = counts.sum(axis=1, keepdims=True)
    fraction = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    image = ax.imshow(fraction, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    if k <= _NUMBERS_UP_TO:
        fontsize = 10 if k <= 10 else (8 if k <= 20 else 6)
        for i in range(k):
            for j in range(k):
                if counts[i, j] or i == j:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=fontsize,
                            color="white" if fraction[i, j] > 0.55 else "#222")
    ticks = np.arange(k)
    show = k <= 40
    ax.set_xticks(ticks, names if show else [""] * k,
                  rotation=45 if max(map(len, names)) > 3 else 0, ha="right" if
                  max(map(len, names)) > 3 else "center")
    ax.set_yticks(ticks, [f"{n} ({t})" for n, t in zip(names, totals[:, 0])] if show
                  else [""] * k)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (examples)")
    total = int(counts.sum())
    correct = int(np.trace(counts))
    accuracy = correct / total if total else float("nan")
    ax.set_title(title or f"Confusion matrix: {correct} of {total} right ({accuracy:.1%})")
    fig.tight_layout()
    return save_figure(fig, path, fmt, dpi)


def weight_histograms(net, path=None, *, bins=40, title=None, size=None, dpi=100):
    """One histogram per weight matrix of ``net`` (input side first); return the Figure.

    Each panel names the matrix (``W1``) and its shape, and gives the mean, the standard
    deviation and the largest |w|; the layer's biases are the orange ticks along the
    bottom. Weights that all sit near 0, or a few huge ones, show up at a glance.
    """
    layers = weight_layers(net)
    if not layers:
        raise InvalidValueError("weight_histograms: the network has no weight matrix "
                                "(no Dense or Conv2D layer)")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise InvalidValueError(f"bins must be an integer >= 2, got {bins!r}")
    columns = min(len(layers), 3)
    rows = math.ceil(len(layers) / columns)
    if size is None:
        size = (4.0 * columns + 0.6, 3.0 * rows + 0.7)
    fmt = check_output(path, size, dpi)
    fig = new_figure(size, dpi)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, (number, _, layer) in zip(axes, layers):
        w = np.asarray(backend.to_numpy(layer.weight.value), dtype=np.float64).ravel()
        ax.hist(w, bins=bins, color="#2166ac", alpha=0.85, edgecolor="white", linewidth=0.4)
        ax.axvline(0.0, color="#444", linewidth=0.8, linestyle=":")
        bias = getattr(layer, "bias", None)
        if bias is not None:
            b = np.asarray(backend.to_numpy(bias.value), dtype=np.float64).ravel()
            ax.plot(b, np.zeros_like(b), "|", color="#e67e22", markersize=12,
                    markeredgewidth=1.2, clip_on=False, zorder=3,
                    label=f"biases ({b.size})")
            ax.legend(loc="upper right", fontsize="x-small", frameon=False)
        shape = "x".join(map(str, layer.weight.value.shape))
        ax.set_title(f"W{number} ({shape})", fontsize="medium")
        ax.text(0.02, 0.97, f"mean {w.mean():.3g}\nstd {w.std():.3g}\nmax |w| "
                f"{np.abs(w).max():.3g}", transform=ax.transAxes, ha="left", va="top",
                fontsize="x-small", color="#333")
        ax.set_xlabel("weight")
        ax.set_ylabel("count")
    for ax in axes[len(layers):]:
        ax.set_axis_off()
    fig.suptitle(title or "Weights per layer")
    fig.tight_layout()
    return save_figure(fig, path, fmt, dpi)
