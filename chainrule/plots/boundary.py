"""The decision boundary of a classifier of 2-D points, and how it moves during training.

The plane around the data is cut into a grid; the network classifies every grid point
and each is shaded in the colour of its predicted class, paler where the network is
unsure (white where the classes are equally likely), with the boundaries drawn as
lines and the data points on top in the colour of their true class. Misclassified
points are drawn as crosses. The y axis grows upwards, as in any graph of the plane.

:class:`BoundaryRecorder` is a callback that keeps the grid's probabilities every few
epochs; ``recorder.save("boundary.gif")`` turns them into an animated GIF (matplotlib's
PillowWriter; Pillow comes with matplotlib).
"""
import math
import os

import numpy as np

from .. import backend
from ..errors import InvalidValueError, ShapeError
from ..layers import Sigmoid
from ..training.callbacks import Callback
from .loss import check_output, new_figure, save_figure

__all__ = ["BoundaryRecorder", "decision_boundary"]

_MISSED = "X"


def _check_2d(net, X, y, what="decision_boundary"):
    if net.n_in != 2:
        raise InvalidValueError(f"{what} draws networks with 2 inputs (points of the plane); "
                                f"this one takes {net.n_in}")
    X = np.asarray(backend.to_numpy(X), dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ShapeError(f"{what}: X must have shape (samples, 2), got {X.shape}")
    if not len(X):
        raise InvalidValueError(f"{what}: X is empty; no points to draw")
    if not np.all(np.isfinite(X)):
        raise InvalidValueError(f"{what}: X contains NaN or inf")
    if y is not None:
        y = np.asarray(backend.to_numpy(y))
        if len(y) != len(X):
            raise ShapeError(f"{what}: X has {len(X)} points but y has {len(y)} labels")
    return X, y


def _grid(X, resolution, padding):
    """Grid coordinates around the points: (xs, ys, points of shape (res*res, 2))."""
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) \
            or not 10 <= resolution <= 2000:
        raise InvalidValueError(f"resolution must be an integer in [10, 2000], got "
                                f"{resolution!r}")
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    low, high = low - padding * span, high + padding * span
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    gx, gy = np.meshgrid(xs, ys)  # row r is height ys[r]: with origin="lower", y grows up
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def _kind(net):
    """'classes' (softmax or several outputs), 'binary' (one sigmoid) or 'value'."""
    if net.n_out == 1:
        return "binary" if isinstance(net.layers[-1], Sigmoid) else "value"
    return "classes"


def _outputs(net, points, resolution):
    """(res, res, k) class probabilities (k >= 2), or (res, res, 1) values for regression."""
    out = np.asarray(backend.to_numpy(net.predict(points)), dtype=np.float64)
    if _kind(net) == "binary":
        out = np.column_stack([1.0 - out[:, 0], out[:, 0]])
    return out.reshape(resolution, resolution, -1)


def class_colors(k):
    """k distinct RGB colours, the same ones in every picture of chainrule."""
    from matplotlib import colormaps

    if k <= 10:
        return np.array(colormaps["tab10"].colors[:k])
    return np.array(colormaps["tab20"](np.linspace(0, 1, k))[:, :3])


def _shade(probs, colors):
    """RGB image: the predicted class's colour, paler the less sure the network is."""
    k = probs.shape[-1]
    top = probs.argmax(axis=-1)
    sure = (probs.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)  # 0 at a tie, 1 when certain
    strength = (0.1 + 0.5 * np.clip(sure, 0, 1))[..., None]
    return 1.0 - strength * (1.0 - colors[top])


def _boundaries(ax, xs, ys, probs):
    """Lines where the predicted class changes; returns the contour sets drawn."""
    k = probs.shape[-1]
    drawn = []
    if k == 2:
        field = [probs[..., 1] - probs[..., 0]]
    else:
        field = [probs[..., c] - np.delete(probs, c, axis=-1).max(axis=-1) for c in range(k)]
    for f in field:
        if f.min() < 0 < f.max():
            drawn.append(ax.contour(xs, ys, f, levels=[0.0], colors="#222",
                                    linewidths=1.2, zorder=2))
    return drawn


def _predicted(net, X):
    """The class ``net`` predicts for each point."""
    out = np.asarray(backend.to_numpy(net.predict(X)), dtype=np.float64)
    return (out[:, 0] > 0.5).astype(np.int64) if out.shape[1] == 1 else out.argmax(axis=1)


def _labels_of(y, k):
    """Integer class labels from labels or one-hot rows (None stays None)."""
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        y = y.argmax(axis=1)
    y = y.reshape(-1)
    if y.dtype.kind == "f":
        if k == 2 and np.all((y >= 0) & (y <= 1)):
            y = (y > 0.5)
        y = np.round(y)
    return y.astype(np.int64)


class _Picture:
    """One decision-boundary figure whose shading can be replaced (for animation frames)."""

    def __init__(self, net, X, y, xs, ys, probs, *, class_names, title, size, dpi,
                 mark_missed=True):
        self.kind = _kind(net)
        self.xs, self.ys = xs, ys
        self.fig = new_figure(size, dpi)
        self.ax = ax = self.fig.add_subplot()
        extent = (xs[0], xs[-1], ys[0], ys[-1])
        if self.kind == "value":
            self.image = ax.imshow(probs[..., 0], origin="lower", extent=extent, aspect="auto",
                                   cmap="viridis", interpolation="bilinear", zorder=0)
            self.fig.colorbar(self.image, ax=ax, label="network output")
            if y is not None:
                ax.scatter(X[:, 0], X[:, 1], c=np.asarray(y, dtype=np.float64).reshape(-1),
                           cmap="viridis", norm=self.image.norm, edgecolors="k",
                           linewidths=0.5, s=22, zorder=3)
            self.contours = []
        else:
            k = probs.shape[-1]
            self.colors = class_colors(k)
            self.image = ax.imshow(_shade(probs, self.colors), origin="lower", extent=extent,
                                   aspect="auto", interpolation="bilinear", zorder=0)
            self.contours = _boundaries(ax, xs, ys, probs)
            labels = _labels_of(y, k)
            if labels is not None:
                if labels.min() < 0 or labels.max() >= k:
                    raise InvalidValueError(f"y: expected classes 0..{k - 1} (the network's "
                                            f"outputs), found {labels.min()}..{labels.max()}")
                self._points(net, X, labels, k, mark_missed)
            self._key(k, class_names, labels is not None and bool(self.missed.any()))
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        self.title = ax.set_title(title or "")
        self.fig.tight_layout()

    def _points(self, net, X, labels, k, mark_missed):
        """The points in their true class's colour; crosses where ``net`` gets them wrong."""
        self.missed = np.zeros(len(X), dtype=bool)
        if mark_missed:
            self.missed = _predicted(net, X) != labels
        for c in range(k):
            for missed, marker, size in ((False, "o", 24), (True, _MISSED, 46)):
                pick = (labels == c) & (self.missed == missed)
                if pick.any():
                    self.ax.scatter(X[pick, 0], X[pick, 1], color=self.colors[c],
                                    marker=marker, s=size, edgecolors="k", linewidths=0.6,
                                    zorder=3)

    def _key(self, k, class_names, with_missed):
        from matplotlib.lines import Line2D

        names = class_names or [f"class {c}" for c in range(k)]
        handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor=self.colors[c],
                          markeredgecolor="k", markersize=6, label=str(names[c]))
                   for c in range(k)]
        if with_missed:
            handles.append(Line2D([], [], marker=_MISSED, linestyle="", markerfacecolor="#999",
                                  markeredgecolor="k", markersize=7, label="misclassified"))
        handles.append(Line2D([], [], color="#222", linewidth=1.2, label="decision boundary"))
        self.ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                       fontsize="small", frameon=False,
                       title="shade: how sure\nthe network is", title_fontsize="x-small")

    def show(self, probs, title):
        """Replace the shading and boundaries by those of ``probs``."""
        if self.kind == "value":
            self.image.set_data(probs[..., 0])
        else:
            self.image.set_data(_shade(probs, self.colors))
            for drawn in self.contours:
                drawn.remove()
            self.contours = _boundaries(self.ax, self.xs, self.ys, probs)
        self.title.set_text(title)


def decision_boundary(net, X, y=None, path=None, *, resolution=200, padding=0.1,
                      class_names=None, title=None, size=(7.5, 5.5), dpi=100):
    """Draw how ``net`` classifies the plane around the points ``X``; return the Figure.

    Args:
        net: a network with 2 inputs: a classifier (softmax, several outputs, or one
            sigmoid output) or a regression network (its output as a heat map).
        X: points ``(samples, 2)`` drawn on top; they also set the part of the plane
            shown (their range plus ``padding`` of it on every side).
        y: their true labels (class indices or one-hot rows), or None to draw the
            points without labels. Misclassified points are crosses.
        resolution: grid points per axis (the network classifies resolution^2 points).
        class_names: legend names for the classes.
    """
    fmt = check_output(path, size, dpi)
    X, y = _check_2d(net, X, y)
    xs, ys, points = _grid(X, resolution, padding)
    probs = _outputs(net, points, resolution)
    if title is None:
        title = "Decision boundary"
        if y is not None and _kind(net) != "value":
            labels = _labels_of(y, probs.shape[-1])
            accuracy = np.mean(_predicted(net, X) == labels)
            title += f" (accuracy {accuracy:.1%} on {len(X)} points)"
    picture = _Picture(net, X, y, xs, ys, probs, class_names=class_names, title=title,
                       size=size, dpi=dpi)
    return save_figure(picture.fig, path, fmt, dpi)


class BoundaryRecorder(Callback):
    """Record the decision boundary during ``fit``; ``save(path)`` writes an animated GIF.

    ``X, y`` are the points drawn on every frame (usually the training set). A frame is
    kept before training (epoch 0), then every ``every`` epochs and at the last epoch;
    ``every=None`` picks it so that there are about ``frames`` of them. Each frame costs
    one prediction of ``resolution`` x ``resolution`` grid points at the end of the
    epoch; nothing is done per batch.

    Example::

        recorder = cr.plots.BoundaryRecorder(X_train, y_train)
        net.fit(X_train, y_train, epochs=300, callbacks=[recorder])
        recorder.save("boundary.gif")
    """

    def __init__(self, X, y=None, *, every=None, frames=60, resolution=120, padding=0.1):
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise InvalidValueError(f"every must be a positive integer or None, got {every!r}")
        if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
            raise InvalidValueError(f"frames must be an integer >= 2, got {frames!r}")
        self.X = np.asarray(backend.to_numpy(X), dtype=np.float64)
        self.y = None if y is None else np.asarray(backend.to_numpy(y))
        self.every, self.frames_wanted = every, frames
        self.resolution, self.padding = resolution, padding
        self.frames = []  # (epoch, probabilities (res, res, k), logs)
        self._net = self._every = None

    def on_train_begin(self, state):
        self._net = state.net
        self.X, self.y = _check_2d(state.net, self.X, self.y, "BoundaryRecorder")
        self.xs, self.ys, self._points = _grid(self.X, self.resolution, self.padding)
        self._every = self.every or max(1, math.ceil(state.epochs / (self.frames_wanted - 1)))
        self.epochs = state.epochs
        self.frames = []
        self._record(state.epoch, {})

    def _record(self, epoch, logs):
        probs = _outputs(self._net, self._points, self.resolution).astype(np.float32)
        self.frames.append((epoch, probs, dict(logs)))

    def on_epoch_end(self, state):
        if state.epoch % self._every == 0 or state.epoch == state.epochs:
            self._record(state.epoch, state.logs)

    def on_train_end(self, state):
        if self.frames and self.frames[-1][0] != state.epoch:  # stopped early
            self._record(state.epoch, state.logs)

    def save(self, path, *, fps=6, hold=2.0, class_names=None, size=(7.5, 5.5), dpi=80):
        """Write the frames as an animated GIF (looping; the last one held ``hold`` s).

        Returns the number of frames written.
        """
        if os.path.splitext(os.fspath(path))[1].lower() != ".gif":
            raise InvalidValueError(f"path {os.fspath(path)!r}: the animation is written as "
                                    f"GIF; use a .gif extension")
        if len(self.frames) < 2:
            raise InvalidValueError("BoundaryRecorder: fewer than 2 frames recorded; pass the "
                                    "recorder to fit(callbacks=[...]) and train first")
        if not (isinstance(fps, (int, float)) and 0 < fps <= 50):
            raise InvalidValueError(f"fps must be in (0, 50], got {fps!r}")
        check_output(None, size, dpi)
        from matplotlib.animation import PillowWriter

        epoch, probs, logs = self.frames[0]
        # The points stay as they are (true classes, no crosses) while the background moves.
        picture = _Picture(self._net, self.X, self.y, self.xs, self.ys, probs,
                           class_names=class_names, title=self._title(epoch, logs),
                           size=size, dpi=dpi, mark_missed=False)
        writer = PillowWriter(fps=fps)
        with writer.saving(picture.fig, os.fspath(path), dpi):
            for epoch, probs, logs in self.frames:
                picture.show(probs, self._title(epoch, logs))
                writer.grab_frame()
            for _ in range(max(0, round(hold * fps) - 1)):
                writer.grab_frame()
        return len(self.frames)

    def _title(self, epoch, logs):
        if epoch == 0:
            return f"before training (epoch 0 of {self.epochs})"
        parts = [f"epoch {epoch} of {self.epochs}"]
        if "loss" in logs:
            parts.append(f"loss {logs['loss']:.3g}")
        if "accuracy" in logs:
            parts.append(f"accuracy {logs['accuracy']:.0%}")
        return " · ".join(parts)
