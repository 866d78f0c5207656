r"""The image layers of a trace: convolutions, pooling and Flatten, cell by cell.

A convolutional network is traced like a network of Dense layers (see
:mod:`chainrule.trace.record`): one real training step, every number read off the
layers as they ran. Before its ``Flatten`` the network is a chain of *stages*: a
``Conv2D``, ``MaxPool2D`` or ``AvgPool2D``, each with the element-wise activation right
after it when there is one. The numbers derived here, as the Dense trace derives its
per-example products, are each example's kernel and bias gradients (sums over the
output cells whose batch mean is the engine's gradient) and, for max-pooling, which
cell of each window was its maximum (the first in row order, the one the layer's
backward routes the gradient to).

Names follow ``repr(net)``: weight layers (convolutions and Dense layers) are numbered
in one sequence, so the first convolution computes ``a1 = w1 * x + b1`` and its
activation ``h1``; a pooling of layer ``l``'s maps is ``p<l>``. Cells are indexed from 0,
``[row, column]``, with the channel first when a map has several: ``a1[1,0,2]``; a
kernel weight is ``w1[i,j]`` (``w1[f,c,i,j]``: output channel ``f``, input channel ``c``).

Writing every product out is for small cases, such as one 4x4 image and a 2x2 kernel
(nine output cells of four products each). :func:`plan` refuses, before the step
runs, a network that would need more than :data:`MAX_PRODUCTS` products, or a sum of
more than :data:`MAX_TERMS` terms on one line.
"""
from dataclasses import dataclass, field

import numpy as np

from ..errors import NotAvailableError
from ..layers import AvgPool2D, Conv2D, Flatten, MaxPool2D, Softmax
from ..layers.activations import NAMES
from .names import cell, map_name, with_example

IMAGE_LAYERS = (Conv2D, MaxPool2D, AvgPool2D, Flatten)

# Beyond a few thousand products a written-out step runs to dozens of pages nobody reads
# (one 4x4 image and a 2x2 kernel take about a hundred); cr.gradcheck checks large networks.
MAX_PRODUCTS = 3000
MAX_TERMS = 200  # terms in one sum, i.e. on one line


def elementwise(layer):
    """The name of an element-wise activation (``"relu"``...), else None (Softmax is not)."""
    if isinstance(layer, Softmax):
        return None
    for cls, name in NAMES.items():
        if isinstance(layer, cls):
            return name
    return None


def _index(channels, c, y, x):
    """A map cell's index as written: the channel only when the map has several."""
    return (c, y, x) if channels > 1 else (y, x)


@dataclass
class ImageStep:
    """One stage: a convolution or pooling layer and the activation right after it.

    ``kind`` is ``"conv"``, ``"maxpool"`` or ``"avgpool"``; ``level`` the number of the
    weight layer it belongs to (a pooling: the convolution's before it, 0 before any).
    Arrays hold one entry per example: ``inputs`` ``(m, C, H, W)``; ``net`` (the layer's
    output), ``out`` (the activation's, or ``net``), ``delta`` (dE_n/dnet),
    ``dE_dout`` and ``dout_dnet`` ``(m, F, OH, OW)``; ``grad_in`` dE_n/d(inputs), None for
    the bottom layer, whose input gradient training does not compute. Gradients of a
    batch are per example (the engine's value times m), parameter gradients the
    engine's (the batch mean). A convolution's ``weight``/``bias`` are the values before
    the step, ``*_grad`` the engine's gradients, ``*_new`` the values after it, and
    ``weight_sums``/``bias_sums`` each example's gradient, ``(m, F, C, kh, kw)`` and
    ``(m, F)``. ``winners[n, c, y, x]`` is the ``(row, column)`` of the input cell that is
    the maximum of max-pooling window ``(y, x)``.
    """

    kind: str
    level: int
    index: int
    description: str
    activation: str
    act_index: int
    size: tuple
    stride: tuple
    padding: tuple
    in_shape: tuple
    out_shape: tuple
    in_name: object
    net_name: object
    out_name: object
    weight_name: object = None
    bias_name: object = None
    slope: float = 0.0
    inputs: np.ndarray = None
    net: np.ndarray = None
    out: np.ndarray = None
    delta: np.ndarray = None
    dE_dout: np.ndarray = None
    dout_dnet: np.ndarray = None
    grad_in: np.ndarray = None
    weight: np.ndarray = None
    weight_grad: np.ndarray = None
    weight_new: np.ndarray = None
    weight_trainable: bool = True
    bias: np.ndarray = None
    bias_grad: np.ndarray = None
    bias_new: np.ndarray = None
    bias_trainable: bool = True
    weight_sums: np.ndarray = None
    bias_sums: np.ndarray = None
    winners: np.ndarray = None
    parameters: list = field(default_factory=list)

    # ---- names ------------------------------------------------------------------------------
    def in_cell(self, c, u, v, n=None):
        return with_example(cell(self.in_name, _index(self.in_shape[0], c, u, v)), n)

    def net_cell(self, f, y, x, n=None):
        return with_example(cell(self.net_name, _index(self.out_shape[0], f, y, x)), n)

    def out_cell(self, f, y, x, n=None):
        return with_example(cell(self.out_name, _index(self.out_shape[0], f, y, x)), n)

    def channel_of(self, base, channels, c):
        """A whole channel of a map, ``a1`` or ``a1[2,:,:]``."""
        return base if channels == 1 else cell(base, (c, ":", ":"))

    def several_kernels(self):
        return self.out_shape[0] > 1 or self.in_shape[0] > 1

    def weight_cell(self, f, c, i, j):
        index = (f, c, i, j) if self.several_kernels() else (i, j)
        return cell(self.weight_name, index)

    def kernel(self, f, c):
        """The kernel from input channel ``c`` to output channel ``f``: ``w1``, ``w1[f,c,:,:]``."""
        return cell(self.weight_name, (f, c, ":", ":")) if self.several_kernels() \
            else self.weight_name

    def bias_cell(self, f):
        return cell(self.bias_name, (f,)) if self.out_shape[0] > 1 else self.bias_name

    # ---- which cells meet -------------------------------------------------------------------
    def _position(self, y, x, i, j):
        (sh, sw), (ph, pw) = self.stride, self.padding
        return y * sh + i - ph, x * sw + j - pw

    def _inside(self, u, v):
        return 0 <= u < self.in_shape[1] and 0 <= v < self.in_shape[2]

    def window(self, f, y, x):
        """[(c, i, j, u, v)]: window offset (i, j) of input channel c lies on cell (u, v).

        A convolution's window spans every input channel, a pooling's its own channel
        only; offsets on the zero padding, outside the image, are left out.
        """
        kh, kw = self.size
        channels = range(self.in_shape[0]) if self.kind == "conv" else (f,)
        return [(c, i, j, *self._position(y, x, i, j)) for c in channels for i in range(kh)
                for j in range(kw) if self._inside(*self._position(y, x, i, j))]

    def weight_terms(self, c, i, j):
        """[(y, x, u, v)]: the output cells where kernel offset (i, j) meets input cell (u, v)."""
        _, oh, ow = self.out_shape
        return [(y, x, *self._position(y, x, i, j)) for y in range(oh) for x in range(ow)
                if self._inside(*self._position(y, x, i, j))]

    def input_terms(self, c, u, v):
        """[(f, y, x, i, j)]: the windows that cover input cell (c, u, v), at offset (i, j)."""
        (kh, kw), (sh, sw), (ph, pw) = self.size, self.stride, self.padding
        f_all, oh, ow = self.out_shape
        outputs = range(f_all) if self.kind == "conv" else (c,)
        terms = []
        for f in outputs:
            for i in range(kh):
                y, rest = divmod(u + ph - i, sh)
                if rest or not 0 <= y < oh:
                    continue
                for j in range(kw):
                    x, rest = divmod(v + pw - j, sw)
                    if not rest and 0 <= x < ow:
                        terms.append((f, y, x, i, j))
        return sorted(terms)  # output cell by output cell, in row order


@dataclass
class FlattenStep:
    """The Flatten before the first Dense layer: the image's cells become its inputs.

    ``shape`` is one example's input shape; ``inputs`` ``(m, *shape)``; ``grad_out``
    ``(m, N)`` dE_n/d(feature), ``grad_in`` the same numbers in the image's shape (both
    per example). ``feeds_dense``: the first Dense layer follows it directly, so its
    input ``i`` is the image's cell ``i`` in row order (``names``).
    """

    index: int
    in_name: object
    shape: tuple
    feeds_dense: bool
    names: list = None
    inputs: np.ndarray = None
    grad_out: np.ndarray = None
    grad_in: np.ndarray = None

    @property
    def image(self):
        """Whether it flattens images (an input of one row of numbers is not written out)."""
        return len(self.shape) > 1


@dataclass
class ImagePlan:
    stages: list
    flatten: FlattenStep
    levels: int  # convolutions, so the first Dense layer is weight layer levels + 1

    @property
    def used(self):
        """Indices of the layers the image part writes out."""
        k = {s.index for s in self.stages} | {s.act_index for s in self.stages}
        return (k | {self.flatten.index}) - {None}


# ---- the plan, checked before the step runs -----------------------------------------------------
def _refuse(message):
    return NotAvailableError(f"trace: {message}")


def plan(net, X):
    """The image part of ``net`` for inputs ``X``, or None for a network without one.

    Raises NotAvailableError, before anything is trained, for layers the trace cannot
    write out before the Flatten and for networks too large to write out.
    """
    layers = net.layers
    if not any(isinstance(layer, IMAGE_LAYERS) for layer in layers):
        return None
    flat = next((k for k, layer in enumerate(layers) if isinstance(layer, Flatten)), None)
    if flat is None:
        raise _refuse("this network has image layers but no Flatten; a traced network "
                      "flattens its images before a Dense layer, whose outputs the loss takes")
    for k, layer in enumerate(layers[flat + 1:], flat + 1):
        if isinstance(layer, IMAGE_LAYERS):
            raise _refuse(f"layer {k}, {layer!r}, comes after the Flatten at layer {flat}; "
                          f"the trace writes out one image part (convolutions and pooling) "
                          f"followed by Dense layers")
    shape, level, k = tuple(X.shape[1:]), 0, 0
    stages, taken, in_name = [], set(), map_name("x", 0)
    while k < flat:
        layer = layers[k]
        kind = ("conv" if isinstance(layer, Conv2D) else "maxpool" if isinstance(layer, MaxPool2D)
                else "avgpool" if isinstance(layer, AvgPool2D) else None)
        if kind is None:
            raise _refuse(f"layer {k}, {layer!r}, sits before the Flatten; the trace writes out "
                          f"Conv2D, MaxPool2D and AvgPool2D layers there, each followed by at "
                          f"most one element-wise activation (relu, sigmoid, tanh, "
                          f"leaky_relu, identity)")
        level += kind == "conv"
        act = k + 1 if k + 1 < flat and elementwise(layers[k + 1]) else None
        out_shape = tuple(layer.output_shape(shape))

        def fresh(letters):
            name = next(f"{a}{level}" for a in letters if f"{a}{level}" not in taken)
            taken.add(name)
            return map_name(name[0], level)

        net_name = fresh("a" if kind == "conv" else "pqrs")
        out_name = fresh("hgz") if act is not None else net_name
        stage = ImageStep(
            kind=kind, level=level, index=k, description=repr(layer),
            activation=elementwise(layers[act]) if act is not None else None, act_index=act,
            size=layer.kernel_size if kind == "conv" else layer.size, stride=layer.stride,
            padding=layer.padding if kind == "conv" else (0, 0), in_shape=shape,
            out_shape=out_shape, in_name=in_name, net_name=net_name, out_name=out_name,
            weight_name=map_name("w", level) if kind == "conv" else None,
            bias_name=map_name("b", level) if kind == "conv" else None,
            slope=getattr(layers[act], "slope", 0.0) if act is not None else 0.0)
        stages.append(stage)
        in_name, shape, k = out_name, out_shape, (act if act is not None else k) + 1
    dense = layers[flat + 1] if flat + 1 < len(layers) else None
    feeds = dense is not None and type(dense).__name__ == "Dense"
    flatten = FlattenStep(index=flat, in_name=in_name, shape=shape, feeds_dense=feeds)
    if flatten.image and feeds:
        flatten.names = [cell(in_name, _index(shape[0], *idx) if len(shape) == 3 else idx)
                         for idx in np.ndindex(*shape)]
    image_plan = ImagePlan(stages, flatten, level)
    _check_size(image_plan, len(X), dense.n_out if feeds else 0)
    return image_plan


def _pairs(n_in, k, s, p, n_out):
    """How many (output position, kernel offset) pairs of one axis land inside the input."""
    return sum(1 for y in range(n_out) for i in range(k) if 0 <= y * s + i - p < n_in)


def _check_size(image_plan, m, dense_outputs):
    """Refuse a trace that would write more than MAX_PRODUCTS products or MAX_TERMS per line."""
    total, widest = 0, None
    for stage in image_plan.stages:
        (c, h, w), (f, oh, ow) = stage.in_shape, stage.out_shape
        (kh, kw), (sh, sw), (ph, pw) = stage.size, stage.stride, stage.padding
        below = stage.index > 0  # the bottom layer's input gradient is not written
        if stage.kind == "conv":
            per_pass = f * c * _pairs(h, kh, sh, ph, oh) * _pairs(w, kw, sw, pw, ow)
            total += per_pass * (3 if below else 2)  # forward, kernel and input gradients
            longest = max(c * kh * kw, oh * ow, f * kh * kw if below else 0)
        else:
            total += f * oh * ow * kh * kw * (2 if below else 1)
            longest = kh * kw
        if stage.activation is not None:
            total += f * oh * ow  # dE/da = dE/dh * dh/da, cell by cell
        if widest is None or longest > widest[0]:
            widest = (longest, stage)
    if image_plan.stages and image_plan.flatten.feeds_dense:
        total += int(np.prod(image_plan.flatten.shape)) * dense_outputs
    total *= m
    if total > MAX_PRODUCTS:
        raise _refuse(f"written out, this step of a convolutional network takes {total:,} "
                      f"products ({m} example{'s' * (m != 1)}: every product of the "
                      f"convolutions' forward pass and of their kernel and input gradients, "
                      f"every pooling window); a trace writes at most {MAX_PRODUCTS:,}, some "
                      f"fifty pages, beyond which nobody reads it. Trace a small case (one "
                      f"4x4 image and a 2x2 kernel take about a hundred) or check a large "
                      f"network's gradients with cr.gradcheck")
    if widest is not None and widest[0] > MAX_TERMS:
        longest, stage = widest
        _, oh, ow = stage.out_shape
        raise _refuse(f"layer {stage.index}, {stage.description}, would write sums of "
                      f"{longest} terms on one line (a kernel weight's gradient adds one "
                      f"product per output cell, {oh}x{ow} here); a trace writes at most "
                      f"{MAX_TERMS} per line. Trace smaller images, such as one 4x4 image "
                      f"with a 2x2 kernel")


# ---- filling in the numbers after the step ------------------------------------------------------
def fill(image_plan, net, seen, derivatives, before, m):
    """Put the step's numbers into the plan's stages and Flatten; returns notes (str)."""
    notes = []
    for stage in image_plan.stages:
        k, a = stage.index, stage.act_index
        store = seen[k]
        stage.inputs, stage.net = store["in"], store["out"]
        stage.delta = store["grad_out"] * m
        stage.grad_in = store["grad_in"] * m if k > 0 and "grad_in" in store else None
        if a is not None:
            stage.out = seen[a]["out"]
            stage.dE_dout = seen[a]["grad_out"] * m
            stage.dout_dnet = derivatives.get(a, (None, None))[1]
        else:
            stage.out = stage.net
        if stage.kind == "conv":
            layer = net.layers[k]
            stage.weight, stage.weight_grad, stage.weight_new = before[id(layer.weight)]
            stage.bias, stage.bias_grad, stage.bias_new = before[id(layer.bias)]
            stage.weight_trainable = layer.weight.trainable
            stage.bias_trainable = layer.bias.trainable
            stage.weight_sums, stage.bias_sums = _kernel_sums(stage)
            tolerance = 1e-9 if net.dtype == np.float64 else 1e-4
            scale = max(1.0, float(np.abs(stage.weight_grad).max()))
            if np.abs(stage.weight_sums.mean(axis=0) - stage.weight_grad).max() > \
                    tolerance * scale:
                notes.append(f"the kernel gradients of layer {k} written out as sums do not "
                             f"add up to the engine's gradients")
        elif stage.kind == "maxpool":
            stage.winners = _winners(stage)
    flatten = image_plan.flatten
    store = seen[flatten.index]
    flatten.inputs = store["in"]
    if "grad_out" in store:
        flatten.grad_out = store["grad_out"] * m
        flatten.grad_in = flatten.grad_out.reshape(flatten.inputs.shape)
    return notes


def _kernel_sums(stage):
    """Each example's dE/dw[f,c,i,j] = sum over output cells of delta * input, and dE/db."""
    x, d = stage.inputs, stage.delta
    (kh, kw), (sh, sw), (ph, pw) = stage.size, stage.stride, stage.padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # zeros: products of 0
    m, f, oh, ow = d.shape
    sums = np.empty((m, f, x.shape[1], kh, kw))
    for i in range(kh):
        for j in range(kw):
            patch = padded[:, :, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw]
            sums[:, :, :, i, j] = np.einsum("nfyx,ncyx->nfc", d, patch)
    return sums, d.sum(axis=(2, 3))


def _winners(stage):
    """(row, column) of each window's first maximum in row order, as MaxPool2D routes it."""
    x = stage.inputs
    (kh, kw), (sh, sw) = stage.size, stage.stride
    _, oh, ow = stage.out_shape
    best = np.full(stage.net.shape, -np.inf)
    winners = np.zeros(stage.net.shape + (2,), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            view = x[:, :, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw]
            better = view > best  # strictly: a tie keeps the earlier cell
            best = np.where(better, view, best)
            winners[..., 0] = np.where(better, np.arange(oh)[:, None] * sh + i, winners[..., 0])
            winners[..., 1] = np.where(better, np.arange(ow)[None, :] * sw + j, winners[..., 1])
    return winners
