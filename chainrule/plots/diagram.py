"""The network as the notes draw it: neurons as circles, layer by layer, joined by weights.

Each neuron is a circle labelled with its activation (sigma for sigmoid); each weight an
edge, blue when positive and red when negative, thicker and darker the larger it is.
Layers wider than ``max_neurons`` show their first and last neurons with a gap marked
"..." between them, so a 784-256-10 network stays readable. Small networks (20 edges
or fewer) also write every weight on its edge and every bias under its neuron.
"""
import math

import numpy as np

from ..errors import InvalidValueError
from ..layers import BatchNorm, Dense, Dropout, Layer
from ..layers.activations import NAMES
from .loss import check_output, new_figure, save_figure

__all__ = ["network_diagram"]

POSITIVE, NEGATIVE = "#2166ac", "#c0392b"
SYMBOLS = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "LReLU",
           "softmax": "soft\nmax", "identity": "id"}
_FILL = {"input": "#eeeeee", "hidden": "#fdf6e3", "output": "#e8f1fa"}
_RADIUS = 0.34
_SPACING = 3.2  # between columns, in units of the distance between neurons


def _columns(net):
    """One dict per column of neurons: the input, then every Dense layer's outputs."""
    if not isinstance(getattr(net, "layers", None), list) or \
            not all(isinstance(layer, Layer) for layer in net.layers):
        raise InvalidValueError(f"network_diagram: expected a chainrule network, got "
                                f"{type(net).__name__}")
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, Dense)]
    others = [type(layer).__name__ for layer in net.layers
              if not isinstance(layer, (Dense, Dropout, BatchNorm)) and type(layer) not in NAMES]
    if not dense or others:
        what = f"it has {', '.join(sorted(set(others)))} layers" if others else "it has none"
        raise InvalidValueError(f"network_diagram draws networks of Dense layers (an MLP); "
                                f"{what}")
    if dense[0] != 0 and any(not isinstance(net.layers[i], (Dropout,)) for i in range(dense[0])):
        raise InvalidValueError("network_diagram: the network must start with a Dense layer")
    columns = [{"kind": "input", "n": net.layers[dense[0]].n_in, "activation": None,
                "extras": [], "layer": None}]
    for k, i in enumerate(dense):
        stop = dense[k + 1] if k + 1 < len(dense) else len(net.layers)
        activation, extras = "identity", []
        for layer in net.layers[i + 1:stop]:
            if type(layer) in NAMES:
                activation = NAMES[type(layer)]
            elif isinstance(layer, Dropout):
                extras.append(f"dropout {layer.p:g}")
            elif isinstance(layer, BatchNorm):
                extras.append("batchnorm")
        kind = "output" if k == len(dense) - 1 else "hidden"
        columns.append({"kind": kind, "n": net.layers[i].n_out, "activation": activation,
                        "extras": extras, "layer": net.layers[i]})
    return columns


def _shown(n, most):
    """The neuron indices drawn for a layer of ``n`` (None marks the '...' gap)."""
    if n <= most:
        return list(range(n))
    top = most // 2
    bottom = most - 1 - top
    return list(range(top)) + [None] + list(range(n - bottom, n))


def network_diagram(net, path=None, *, max_neurons=16, show_values=None, input_names=None,
                    title=None, size=None, dpi=100):
    """Draw ``net`` as neurons and weighted edges; return the Figure (save it to ``path``).

    Args:
        net: a network of Dense layers with their activations (Dropout and BatchNorm
            are named in the layer headings).
        max_neurons: layers wider than this show their first and last neurons and a
            "..." gap (at least 3).
        show_values: write each weight on its edge and each bias under its neuron;
            None (default) does it when the picture has at most 20 edges.
        input_names: names for the input neurons (default ``i1, i2, ...`` as the notes).
        size: (width, height) in inches; default from the number and width of the layers.
    """
    columns = _columns(net)
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, int) or max_neurons < 3:
        raise InvalidValueError(f"max_neurons must be an integer >= 3, got {max_neurons!r}")
    if input_names is not None:
        input_names = [str(name) for name in input_names]
        if len(input_names) != columns[0]["n"]:
            raise InvalidValueError(f"input_names: the network has {columns[0]['n']} inputs, "
                                    f"got {len(input_names)} names")
    shown = [_shown(c["n"], max_neurons) for c in columns]
    slots = max(len(s) for s in shown)
    lines = max(len(c["extras"]) for c in columns)  # heading lines above the neurons
    # The drawing's extent in data units (1 = the distance between two neurons).
    x_low, x_high = -_SPACING * 0.45, (len(columns) - 1 + 0.45) * _SPACING
    y_low, y_high = -(slots - 1) / 2 - 0.75, (slots - 1) / 2 + 1.4 + 0.33 * lines
    if size is None:  # half an inch between neurons, less when that would be too big
        unit = min(0.5, 10.0 / (y_high - y_low), 15.0 / (x_high - x_low))
        size = (max((x_high - x_low) * unit + 0.3, 6.6), (y_high - y_low) * unit + 0.75)
    fmt = check_output(path, size, dpi)
    edges = sum(len([a for a in s if a is not None]) * len([b for b in t if b is not None])
                for s, t in zip(shown, shown[1:]))
    if show_values is None:
        show_values = edges <= 20

    fig = new_figure(size, dpi)
    top_margin = 0.45 / size[1] if title is not False else 0.1 / size[1]
    bottom_margin = 0.3 / size[1]
    ax = fig.add_axes([0.01, bottom_margin, 0.98, 1 - top_margin - bottom_margin])
    ax.set_axis_off()
    ax.set_aspect("equal")
    # Neuron j of a column sits at height (slots - 1)/2 - position: neuron 1 on top.
    centres = []
    for c, neurons in enumerate(shown):
        top = (len(neurons) - 1) / 2
        centres.append({j: (c * _SPACING, top - pos) for pos, j in enumerate(neurons)
                        if j is not None})
    weights = [np.asarray(col["layer"].weight.value, dtype=np.float64)
               for col in columns[1:]]
    largest = max((float(np.max(np.abs(w))) for w in weights if w.size), default=0.0) or 1.0

    _draw_edges(ax, columns, shown, centres, weights, largest, show_values)
    _draw_neurons(ax, columns, shown, centres, show_values, input_names)

    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    sizes = "-".join(str(c["n"]) for c in columns)
    fig.text(0.5, 0.1 / size[1], f"blue: positive weight, red: negative; line width and "
             f"darkness grow with |w| (largest |w| = {largest:.3g})", ha="center",
             va="bottom", fontsize="small", color="#444")
    if title is not False:
        fig.suptitle(title or f"Network {sizes}", y=1 - 0.08 / size[1], va="top")
    return save_figure(fig, path, fmt, dpi)


def _draw_edges(ax, columns, shown, centres, weights, largest, show_values):
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    for c, w in enumerate(weights):
        segments, colors, widths = [], [], []
        labels = []
        for j in (j for j in shown[c + 1] if j is not None):
            x1, y1 = centres[c + 1][j]
            for i in (i for i in shown[c] if i is not None):
                x0, y0 = centres[c][i]
                value = w[j, i]
                strength = abs(value) / largest
                dx, dy = x1 - x0, y1 - y0
                length = math.hypot(dx, dy)
                ux, uy = dx / length, dy / length
                segments.append([(x0 + ux * _RADIUS, y0 + uy * _RADIUS),
                                 (x1 - ux * _RADIUS, y1 - uy * _RADIUS)])
                colors.append(to_rgba(POSITIVE if value >= 0 else NEGATIVE,
                                      0.15 + 0.85 * strength))
                widths.append(0.3 + 3.7 * strength)
                if show_values:
                    labels.append((x0 + dx * 0.3, y0 + dy * 0.3, value,
                                   math.degrees(math.atan2(dy, dx))))
        # The strongest edges last, so they are drawn over the weak ones.
        order = np.argsort(widths)
        ax.add_collection(LineCollection([segments[k] for k in order],
                                         colors=[colors[k] for k in order],
                                         linewidths=[widths[k] for k in order], zorder=1,
                                         capstyle="round"))
        for x, y, value, angle in labels:
            ax.text(x, y, f"{value:.3g}", ha="center", va="center", fontsize=7.5,
                    rotation=angle, rotation_mode="anchor", zorder=4,
                    color=POSITIVE if value >= 0 else NEGATIVE,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.85})


def _draw_neurons(ax, columns, shown, centres, show_values, input_names):
    from matplotlib.patches import Circle

    last = len(columns) - 1
    hidden_number = 0
    top = max(y for column in centres for _, y in column.values())  # headings line up
    for c, (column, neurons) in enumerate(zip(columns, shown)):
        kind = column["kind"]
        x = c * _SPACING
        if kind == "hidden":
            hidden_number += 1
        heading = {"input": "input", "output": "output"}.get(kind, f"hidden {hidden_number}")
        detail = f"{column['n']}" + (f" · {column['activation']}" if column["activation"] else "")
        extras = "".join(f"\n+ {e}" for e in column["extras"])
        ax.text(x, top + 0.55, f"{heading}\n{detail}{extras}", ha="center", va="bottom",
                fontsize=9, fontweight="bold" if kind != "hidden" else "normal", color="#222")
        label = SYMBOLS.get(column["activation"], column["activation"] or "")
        for j, (cx, cy) in centres[c].items():
            ax.add_patch(Circle((cx, cy), _RADIUS, facecolor=_FILL[kind], edgecolor="#333",
                                linewidth=1.1, zorder=2))
            if kind == "input":
                text = input_names[j] if input_names else f"i{j + 1}"
                size = 8 if len(text) <= 3 else 6
                ax.text(cx, cy, text[:6], ha="center", va="center", fontsize=size, zorder=3)
            else:
                small = len(label) > 2
                ax.text(cx, cy, label, ha="center", va="center", zorder=3,
                        fontsize=6.5 if "\n" in label else (7 if small else 11),
                        linespacing=0.9)
                if show_values:
                    bias = float(column["layer"].bias.value[j])
                    ax.text(cx, cy - _RADIUS - 0.06, f"b={bias:.3g}", ha="center", va="top",
                            fontsize=6.5, color="#555", zorder=3)
            if c == last and column["n"] <= 16:
                ax.text(cx + _RADIUS + 0.12, cy, f"o{j + 1}", ha="left", va="center",
                        fontsize=7.5, color="#555")
        if None in neurons:
            gap = neurons.index(None)
            y = (len(neurons) - 1) / 2 - gap
            hidden = column["n"] - (len(neurons) - 1)
            ax.text(x, y, "⋮", ha="center", va="center", fontsize=16, color="#333", zorder=3)
            ax.text(x + _RADIUS + 0.1, y, f"{hidden} more", ha="left", va="center",
                    fontsize=7, color="#555", zorder=3,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                          "alpha": 0.9})
