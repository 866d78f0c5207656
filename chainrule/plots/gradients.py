"""Per-layer gradient norms over training: the picture of vanishing (or exploding) gradients.

``GradientNorms`` is a callback that records, for every layer with a weight matrix, the
L2 norm of the gradient of its weights, averaged over the batches of each epoch.
``gradient_norms`` draws them: one line per layer against the epoch (left, logarithmic),
and the layers side by side (right). In a deep sigmoid network the lines are stacked in
layer order with the first layer at the bottom, orders of magnitude below the last: each
layer on the way down multiplies the error by its weights and by a slope of at most 0.25.
"""
import math

import numpy as np

from .. import backend
from ..errors import InvalidValueError
from ..training.callbacks import Callback
from ..training.diagnostics import weight_layers
from .loss import check_output, new_figure, save_figure

__all__ = ["GradientNorms", "gradient_norms"]


class GradientNorms(Callback):
    """Record the gradient norm of every weight matrix, per epoch.

    After ``fit``, ``norms["W1"]`` is the list (one value per epoch) of the mean over that
    epoch's batches of :math:`\\lVert\\partial E/\\partial W_1\\rVert_2`; ``epochs`` the
    epochs they belong to and ``shapes`` each matrix's shape. Layers are numbered from 1,
    input side first, as ``W1, W2...`` in the notes and in ``repr(net)``.

    It reads the gradients after every batch (one dot product per weight matrix), so
    it costs a little time per batch; add it when you want the picture. Each ``fit``
    starts a new record.
    """

    def __init__(self):
        self.norms, self.epochs, self.shapes = {}, [], {}
        self._layers, self._sums, self._batches = [], None, 0

    def on_train_begin(self, state):
        self._layers = [(f"W{number}", layer) for number, _, layer in weight_layers(state.net)]
        self.norms = {name: [] for name, _ in self._layers}
        self.shapes = {name: tuple(layer.weight.value.shape) for name, layer in self._layers}
        self.epochs = []

    def on_epoch_begin(self, state):
        self._sums, self._batches = np.zeros(len(self._layers)), 0

    def on_batch_end(self, state):
        if self._sums is None:
            self.on_epoch_begin(state)
        for k, (_, layer) in enumerate(self._layers):
            g = layer.weight.grad.reshape(-1)
            self._sums[k] += math.sqrt(float(backend.xp.dot(g, g)))
        self._batches += 1

    def on_epoch_end(self, state):
        if not self._batches:
            return
        for k, (name, _) in enumerate(self._layers):
            self.norms[name].append(self._sums[k] / self._batches)
        self.epochs.append(state.epoch)
        self._sums, self._batches = None, 0

    def ratio(self, epoch=-1):
        """First layer's norm over the last layer's at one epoch (default: the last)."""
        names = list(self.norms)
        if len(names) < 2 or not self.epochs:
            raise InvalidValueError("GradientNorms: need two weight layers and one epoch")
        return self.norms[names[0]][epoch] / self.norms[names[-1]][epoch]


def _series(source):
    """(names, epochs, values (layers, epochs), shapes) from a GradientNorms or a dict."""
    if isinstance(source, GradientNorms):
        norms, epochs, shapes = source.norms, source.epochs, source.shapes
    elif isinstance(source, dict):
        norms, epochs, shapes = source, None, {}
    else:
        raise InvalidValueError(f"gradient_norms: expected a GradientNorms callback (after fit) "
                                f"or a dict of per-epoch lists, got {type(source).__name__}")
    if not norms or not all(len(v) for v in norms.values()):
        raise InvalidValueError("gradient_norms: nothing to plot; pass the GradientNorms "
                                "callback to fit(callbacks=[...]) and train for an epoch first")
    lengths = {len(v) for v in norms.values()}
    if len(lengths) != 1:
        raise InvalidValueError(f"gradient_norms: every layer needs one value per epoch, got "
                                f"lists of lengths {sorted(lengths)}")
    values = np.array([np.asarray(v, dtype=np.float64) for v in norms.values()])
    epochs = np.arange(1, values.shape[1] + 1) if epochs is None else np.asarray(epochs)
    return list(norms), epochs, values, shapes


def gradient_norms(source, path=None, *, title=None, size=(10, 4.5), dpi=100):
    """Draw per-layer gradient norms over training and return the Figure.

    ``source`` is a :class:`GradientNorms` after ``fit``, or a dict ``{"W1": [...], ...}``
    of per-epoch norms, input side first. The left panel shows each layer's norm against
    the epoch on a logarithmic axis, coloured from the input (dark) to the output
    (light); the right panel the layers side by side, averaged over training, with how
    many times smaller than the last layer's the first layer's gradient is.
    """
    fmt = check_output(path, size, dpi)
    names, epochs, values, shapes = _series(source)
    fig = new_figure(size, dpi)
    from matplotlib import colormaps

    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    colors = colormaps["viridis"](np.linspace(0.0, 0.85, len(names)))
    positive = values[np.isfinite(values) & (values > 0)]
    # A logarithmic axis when the norms span more than a decade (vanishing gradients span
    # several); within one, a linear axis from 0 compares the layers more honestly.
    log = positive.size > 0 and positive.max() > 10 * positive.min()
    for name, row, color in zip(names, values, colors):
        label = f"{name} ({'x'.join(map(str, shapes[name]))})" if name in shapes else name
        marker = "o" if len(epochs) <= 30 else None
        left.plot(epochs, np.where(row > 0, row, np.nan) if log else row, color=color,
                  marker=marker, markersize=3, linewidth=1.6, label=label)
    if log:
        left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("gradient norm  ||dE/dW||")
    left.set_title("per layer, over training")
    left.grid(True, which="major", alpha=0.35)
    from matplotlib.ticker import MaxNLocator

    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.legend(loc="best", fontsize="small", framealpha=0.9)

    mean = np.array([np.nanmean(row) for row in values])
    positions = np.arange(1, len(names) + 1)
    right.bar(positions, np.where(mean > 0, mean, np.nan) if log else mean, color=colors,
              edgecolor="#333", linewidth=0.6)
    if log:
        right.set_yscale("log")
        # Bars start at the decade below the smallest, so their lengths count decades.
        right.set_ylim(bottom=10 ** math.floor(math.log10(positive.min())))
    else:
        left.set_ylim(bottom=0)
    right.set_xticks(positions, [n for n in names])
    right.set_xlabel("layer (input side first)")
    right.grid(True, axis="y", which="major", alpha=0.35)
    heading = "mean over training"
    if len(names) >= 2 and mean[0] > 0 and mean[-1] > 0:
        ratio = mean[-1] / mean[0]
        heading += (f"\n{names[0]}'s gradient is {ratio:.3g}x smaller than {names[-1]}'s"
                    if ratio >= 1 else
                    f"\n{names[0]}'s gradient is {1 / ratio:.3g}x larger than {names[-1]}'s")
    right.set_title(heading, fontsize="medium")
    fig.suptitle(title or "Gradient norms per layer")
    fig.tight_layout()
    return save_figure(fig, path, fmt, dpi)
