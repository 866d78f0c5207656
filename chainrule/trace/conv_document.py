r"""The image layers in a trace document: every product of a convolution, written out.

:class:`ImageWriter` adds to a document (see :mod:`chainrule.trace.document`) what the
image layers of a convolutional network did, in the notes' order: the kernels and
images; in the forward pass each output cell as the sum of kernel-times-input
products (``a1[0,0] = w1[0,0] * x[0,0] + ... + b1``), each activation and each pooling
window (with the cell that won it); in the backward pass the gradient reaching the
image from the Dense layer above, each cell's delta, each kernel weight's gradient as
the sum over the output cells of delta times the input cell it met, each bias's as the
sum of the deltas, the gradient passed down to the layer below, and the update.
"""
import numpy as np

from .document import (MINUS, PLUS, TIMES, Eq, Mat, Num, Para, _mean, _sum,
                       activation_formula, derivative_formula)
from .names import ETA, Lit, cell, deriv, plus, with_example

MAX = Lit("max(", r"\max(", "max(")


def _offset(var, stride, shift):
    """Where output index ``var`` puts a kernel offset in the input: ``y``, ``2y+1``, ``x-1``."""
    text = var if stride == 1 else f"{stride}{var}"
    return text if not shift else f"{text}{shift:+d}"


class ImageWriter:
    """The image part of one trace, written into ``builder``'s blocks."""

    def __init__(self, builder):
        self.b = builder
        self.r = builder.r
        self.stages = self.r.images
        self.flatten = self.r.flatten

    @property
    def m(self):
        return self.b.m

    def add(self, block):
        self.b.add(block)

    def E(self, n):
        return self.b.names.loss(self.b.ex(n) if n is not None else None)

    # ---- the introduction ---------------------------------------------------------------------
    def network(self):
        """The image part of the "Network:" sentence."""
        shape = "x".join(map(str, self.r.image_shapes[0]))
        parts = [f"image x ({shape})"]
        for s in self.stages:
            out = "x".join(map(str, s.out_shape))
            act = f", {s.activation}: {s.out_name.text}" if s.activation else ""
            parts.append(f"{s.description}: {s.net_name.text} ({out}{act})")
        n = int(np.prod(self.flatten.shape))
        parts.append(f"Flatten: {n} input{'s' * (n != 1)}")
        return " -> ".join(parts)

    def explain(self):
        """How the cells, kernels and maps are named."""
        channels = any(s > 1 for shape in self.r.image_shapes for s in shape[:1])
        index = ("[channel, row, column]" if channels else "[row, column]")
        text = [f"Image cells are numbered from 0 as {index}."]
        for s in self.stages:
            (sh, sw), (ph, pw) = s.stride, s.padding
            if s.kind == "conv":
                a = s.net_cell("f", "y", "x").text
                kernel = "w{l}[f,c,i,j] (output channel f, input channel c, row i, column j)" \
                    if s.several_kernels() else "w{l}[i,j] (row i, column j)"
                kernel = kernel.format(l=s.level)
                corner = s.in_cell("c", _offset("y", sh, -ph), _offset("x", sw, -pw)).text
                pad = ("; cells outside the image, on the zero padding, are 0 and their "
                       "products are left out" if ph or pw else "")
                bias = s.bias_cell("f").text
                text.append(f"Layer {s.level}: {a} is the weighted sum of the kernel {kernel} "
                            f"laid on {s.in_name.text} with its top-left corner on {corner}, "
                            f"plus the bias {bias}{pad}.")
            else:
                what = "maximum" if s.kind == "maxpool" else "mean"
                kh, kw = s.size
                corner = s.in_cell("c", _offset("y", sh, 0), _offset("x", sw, 0)).text
                text.append(f"{s.net_cell('c', 'y', 'x').text} is the {what} of the {kh}x{kw} "
                            f"window of {s.in_name.text} whose top-left cell is {corner}.")
            if s.activation:
                text.append(f"{s.out_name.text} = {s.activation}({s.net_name.text}), cell by "
                            f"cell.")
        names = self.flatten.names
        if names and len(names) == 1:
            text.append(f"Flatten: the Dense layer's input is {names[0].text}.")
        elif names:
            order = "channel by channel, row by row" if len(self.flatten.shape) == 3 and \
                self.flatten.shape[0] > 1 else "row by row"
            text.append(f"Flatten: the Dense layer's inputs are the cells of "
                        f"{self.flatten.in_name.text} {order}, {names[0].text} to "
                        f"{names[-1].text}.")
        self.add(Para([" ".join(text)]))

    # ---- the given numbers --------------------------------------------------------------------
    def given(self):
        for s in self.stages:
            if s.kind != "conv":
                continue
            f_all, c_all = s.out_shape[0], s.in_shape[0]
            for f in range(f_all):
                for c in range(c_all):
                    self.add(Eq([s.kernel(f, c)], None, None, [Mat(s.weight[f, c])],
                                "" if s.weight_trainable else "frozen"))
            tokens = []
            for f in range(f_all):
                tokens += ([", "] if tokens else []) + [s.bias_cell(f), " = ", Num(s.bias[f])]
            if not s.bias_trainable:
                tokens.append(" (frozen: not trained)")
            self.add(Para(tokens))

    def inputs(self, n):
        """The input image of example ``n``, one matrix per channel."""
        e = self.b.ex(n)
        base = self.stages[0].in_name if self.stages else self.flatten.in_name
        image = self.stages[0].inputs[n] if self.stages else self.flatten.inputs[n]
        if image.ndim == 2:
            image = image[None]
        for c in range(len(image)):
            sym = base if len(image) == 1 else cell(base, (c, ":", ":"))
            self.add(Eq([with_example(sym, e)], None, None, [Mat(image[c])]))

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, n):
        for s in self.stages:
            if s.kind == "conv":
                self._conv_forward(s, n)
            else:
                self._pool_forward(s, n)
            self._map(s, s.net_name, s.net[n], n)
            if s.activation:
                self._activation_forward(s, n)
                self._map(s, s.out_name, s.out[n], n)

    def _map(self, s, base, values, n, lhs=None, note=""):
        """A whole map as matrices, one per channel."""
        e = self.b.ex(n)
        for f in range(len(values)):
            sym = with_example(s.channel_of(base, len(values), f), e)
            self.add(Eq(lhs(sym) if lhs else [sym], None, None, [Mat(values[f])], note))

    def _conv_forward(self, s, n):
        e = self.b.ex(n)
        f_all, oh, ow = s.out_shape
        for f, y, x in np.ndindex(f_all, oh, ow):
            terms = s.window(f, y, x)
            formula = [[s.weight_cell(f, c, i, j), TIMES, s.in_cell(c, u, v, e)]
                       for c, i, j, u, v in terms] + [[s.bias_cell(f)]]
            numbers = [[Num(s.weight[f, c, i, j]), TIMES, Num(s.inputs[n, c, u, v], True)]
                       for c, i, j, u, v in terms] + [[Num(s.bias[f])]]
            left = s.in_shape[0] * s.size[0] * s.size[1] - len(terms)
            note = f"{left} cells on the padding, 0, left out" if left else ""
            self.add(Eq([s.net_cell(f, y, x, e)], _sum(formula), _sum(numbers),
                        [Num(s.net[n, f, y, x])], note))

    def _pool_forward(self, s, n):
        e = self.b.ex(n)
        f_all, oh, ow = s.out_shape
        k = s.size[0] * s.size[1]
        for f, y, x in np.ndindex(f_all, oh, ow):
            terms = s.window(f, y, x)
            syms = [[s.in_cell(c, u, v, e)] for c, _, _, u, v in terms]
            nums = [[Num(s.inputs[n, c, u, v])] for c, _, _, u, v in terms]
            note = ""
            if s.kind == "maxpool":
                u, v = s.winners[n, f, y, x]
                values = [s.inputs[n, c, uu, vv] for c, _, _, uu, vv in terms]
                tie = sum(value == s.inputs[n, f, u, v] for value in values) > 1
                note = f"{s.in_cell(f, u, v, e).text} is the maximum" + \
                    ("; of the tied cells, the first in row order" if tie else "")
                formula = [MAX, *_join(syms, ", "), ")"]
                numbers = [MAX, *_join(nums, ", "), ")"]
            else:
                formula = ["(", *_sum(syms), f")/{k}"]
                numbers = ["(", *_sum(nums), f")/{k}"]
            self.add(Eq([s.net_cell(f, y, x, e)], formula, numbers, [Num(s.net[n, f, y, x])],
                        note))

    def _activation_forward(self, s, n):
        e = self.b.ex(n)
        for f, y, x in np.ndindex(*s.out_shape):
            self.add(Eq([s.out_cell(f, y, x, e)],
                        activation_formula(s.activation, [s.net_cell(f, y, x, e)], s.slope),
                        activation_formula(s.activation,
                                           [Num(s.net[n, f, y, x], s.activation == "sigmoid")],
                                           s.slope),
                        [Num(s.out[n, f, y, x])]))

    # ---- backward -----------------------------------------------------------------------------
    def backward(self):
        if not self.stages:
            return
        self._flatten_backward()
        for s in reversed(self.stages):
            self._stage_backward(s)

    def _flatten_backward(self):
        fl, names = self.flatten, self.b.names
        base = fl.in_name
        self.b.heading(f"The backward pass: into the image {base.text} (Flatten)")
        dense = self.r.layers[0]
        written = fl.names is not None and dense.n_out <= self.b.max
        if written:
            self.add(Para([f"Each cell of {base.text} is one input of the Dense layer above, so "
                           f"dE/d{base.text} adds up what reaches it through every neuron k of "
                           f"that layer: dE/dnet_k times the weight joining them (its value "
                           f"before the update)."]))
        for n in range(self.m):
            if self.m > 1:
                self.b.heading(f"Example {n + 1}", 1)
            e, E = self.b.ex(n), self.E(n)
            if not written:
                formula = None
                if fl.names is not None:
                    W = names.matrix(1)
                    formula = [Lit(f"{W.text}^T ", f"{{{W.latex}}}^T ", f"{W.html}<sup>T</sup> "),
                               deriv(E, names.net_vector(1, e))]
                grad = fl.grad_in[n]
                for c in range(len(grad)):
                    sym = with_example(base if len(grad) == 1 else cell(base, (c, ":", ":")), e)
                    self.add(Eq([deriv(E, sym)], formula, None, [Mat(grad[c])],
                                "the Dense layer's input gradient, as an image" if formula
                                else "the gradient from the layer above, as an image"))
                continue
            for i, sym in enumerate(fl.names):
                sym = with_example(sym, e)
                terms = [[deriv(E, names.net(1, k + 1, e)), TIMES, names.weight(1, k + 1, i + 1)]
                         for k in range(dense.n_out)]
                nums = [[Num(dense.delta[n, k]), TIMES, Num(dense.weight[k, i], True)]
                        for k in range(dense.n_out)]
                self.add(Eq([deriv(E, sym)], _sum(terms), _sum(nums), [Num(fl.grad_out[n, i])]))

    def _stage_backward(self, s):
        if s.kind == "conv":
            title = f"convolution layer {s.level} ({s.weight_name.text}, {s.bias_name.text})"
        else:
            title = f"{'max' if s.kind == 'maxpool' else 'average'} pooling ({s.net_name.text})"
        self.b.heading(f"The backward pass: {title}")
        if s.grad_in is not None:
            below = s.in_name.text
            if s.kind == "conv":
                how = (f"Passed down: each cell of {below} met kernel weights in every window "
                       f"that covered it, so dE/d{below} adds dE/d{s.net_name.text} times that "
                       f"weight (its value before the update) over those windows.")
            elif s.kind == "maxpool":
                how = (f"Passed down: each window's gradient goes to the cell of {below} that was "
                       f"its maximum; every other cell gets 0.")
            else:
                k = s.size[0] * s.size[1]
                how = (f"Passed down: each window's gradient is shared equally by its {k} cells."
                       if k > 1 else "Passed down: each 1x1 window passes its gradient on.")
            self.add(Para([how]))
        for n in range(self.m):
            if self.m > 1:
                self.b.heading(f"Example {n + 1}", 1)
            if s.activation:
                self._activation_backward(s, n)
            if s.kind == "conv":
                self._kernel_gradients(s, n)
            if s.grad_in is not None:
                self._input_gradient(s, n)

    def _activation_backward(self, s, n):
        e, E = self.b.ex(n), self.E(n)
        for f, y, x in np.ndindex(*s.out_shape):
            net, out = s.net_cell(f, y, x, e), s.out_cell(f, y, x, e)
            self.add(Eq([deriv(out, net)],
                        derivative_formula(s.activation, [out], [net], s.slope),
                        derivative_formula(s.activation, [Num(s.out[n, f, y, x], True)],
                                           [Num(s.net[n, f, y, x], True)], s.slope),
                        [Num(s.dout_dnet[n, f, y, x])]))
            self.add(Eq([deriv(E, net)], [deriv(E, out), TIMES, deriv(out, net)],
                        [Num(s.dE_dout[n, f, y, x]), TIMES, Num(s.dout_dnet[n, f, y, x], True)],
                        [Num(s.delta[n, f, y, x])]))
        self._map(s, s.net_name, s.delta[n], n, lambda sym: [deriv(E, sym)],
                  f"the deltas of {s.net_name.text}")

    def _kernel_gradients(self, s, n):
        e, E = self.b.ex(n), self.E(n)
        (sh, sw), (ph, pw) = s.stride, s.padding
        for p in s.parameters:
            if p.kind == "kernel":
                f, c, i, j = p.j
                terms = s.weight_terms(c, i, j)
                formula = [[deriv(E, s.net_cell(f, y, x, e)), TIMES, s.in_cell(c, u, v, e)]
                           for y, x, u, v in terms]
                numbers = [[Num(s.delta[n, f, y, x]), TIMES, Num(s.inputs[n, c, u, v], True)]
                           for y, x, u, v in terms]
                where = _index_text(s.in_shape[0], c, _offset("y", sh, i - ph),
                                    _offset("x", sw, j - pw))
                net = s.net_cell(f, "y", "x").text
                note = f"d{net}/d{p.symbol.text} = {s.in_name.text}[{where}]"
            else:
                (f,) = p.j
                _, oh, ow = s.out_shape
                formula = [[deriv(E, s.net_cell(f, y, x, e))] for y, x in np.ndindex(oh, ow)]
                numbers = [[Num(s.delta[n, f, y, x])] for y, x in np.ndindex(oh, ow)]
                numbers = numbers if len(numbers) > 1 else None
                note = f"d{s.net_cell(f, 'y', 'x').text}/d{p.symbol.text} = 1"
            value = p.grad if self.m == 1 else p.products[n]
            self.add(Eq([deriv(E, p.symbol)], _sum(formula), numbers and _sum(numbers),
                        [Num(value)], note))

    def _input_gradient(self, s, n):
        e, E = self.b.ex(n), self.E(n)
        c_all, h, w = s.in_shape
        zero = []
        for c, u, v in np.ndindex(c_all, h, w):
            sym = s.in_cell(c, u, v, e)
            if s.kind == "conv":
                terms = s.input_terms(c, u, v)
                formula = _sum([[deriv(E, s.net_cell(f, y, x, e)), TIMES,
                                 s.weight_cell(f, c, i, j)] for f, y, x, i, j in terms])
                numbers = _sum([[Num(s.delta[n, f, y, x]), TIMES,
                                 Num(s.weight[f, c, i, j], True)] for f, y, x, i, j in terms])
            elif s.kind == "maxpool":
                terms = [t for t in s.input_terms(c, u, v)
                         if tuple(s.winners[n, c, t[1], t[2]]) == (u, v)]
                formula = _sum([[deriv(E, s.net_cell(c, y, x, e))] for _, y, x, _, _ in terms])
                numbers = _sum([[Num(s.delta[n, c, y, x])] for _, y, x, _, _ in terms])
            else:
                terms = s.input_terms(c, u, v)
                k = s.size[0] * s.size[1]
                formula = ["(", *_sum([[deriv(E, s.net_cell(c, y, x, e))]
                                       for _, y, x, _, _ in terms]), f")/{k}"]
                numbers = ["(", *_sum([[Num(s.delta[n, c, y, x])] for _, y, x, _, _ in terms]),
                           f")/{k}"]
            if not terms:
                zero.append(sym.text)
                continue
            note = ""
            if s.kind == "maxpool":
                won = ", ".join(s.net_cell(c, y, x).text for _, y, x, _, _ in terms)
                note = f"the maximum of the window of {won}"
                numbers = numbers if len(terms) > 1 else None
            self.add(Eq([deriv(E, sym)], formula, numbers, [Num(s.grad_in[n, c, u, v])], note))
        if zero:
            why = ("none of them is the maximum of a window" if s.kind == "maxpool"
                   else "no window covers them")
            shown = ", ".join(zero) if len(zero) <= 8 else \
                f"{', '.join(zero[:6])}, ... ({len(zero)} cells)"
            self.add(Para([f"d{E.text}/d{s.in_name.text} is 0 at {shown}: {why}."]))

    # ---- batch means and the update -----------------------------------------------------------
    def batch_means(self):
        m = self.m
        for s in reversed(self.stages):
            for p in s.parameters:
                formula = _mean([[deriv(self.b.names.loss(n + 1), p.symbol)] for n in range(m)],
                                m)
                numbers = _mean([[Num(v)] for v in p.products], m)
                self.add(Eq([deriv(self.E(None), p.symbol)], formula, numbers, [Num(p.grad)]))

    def update(self):
        r = self.r
        for s in reversed(self.stages):
            frozen = []
            for p in s.parameters:
                sym = p.symbol
                if not p.trainable:
                    frozen += [", "] if frozen else []
                    frozen += [sym, " = ", Num(p.old)]
                    continue
                if r.rule == "sgd":
                    self.add(Eq([plus(sym)], [sym, MINUS, ETA, TIMES, deriv(self.E(None), sym)],
                                [Num(p.old), MINUS, Num(r.lr), TIMES, Num(p.grad, paren=True)],
                                [Num(p.new)]))
                else:
                    self.add(Eq([plus(sym)], [sym, Lit(" + change", " + \\Delta", " + &Delta;")],
                                [Num(p.old), PLUS, Num(p.change, paren=True)], [Num(p.new)]))
            if frozen:
                self.add(Para(frozen + [" frozen: not updated."]))


def _join(parts, sep):
    out = []
    for k, part in enumerate(parts):
        out += ([sep] if k else []) + list(part)
    return out


def _index_text(channels, c, y, x):
    return f"{c},{y},{x}" if channels > 1 else f"{y},{x}"
