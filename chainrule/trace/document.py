r"""What a trace says, before it is typeset: a list of headings, paragraphs and equations.

Each equation is the notes' chain ``lhs = formula = numbers = value``: the symbols, the
same expression with the engine's numbers put in, and the engine's result. The four
renderers of :mod:`chainrule.trace.render` turn these blocks into text, Markdown,
LaTeX or HTML; this module decides the content and the order, which follow the
notes: forward pass, error, backward pass from the output layer down, update.

Layers wider than ``max_neurons`` (either side) are written as vectors and matrices
instead of one line per neuron and weight. The image layers of a convolutional network
are written by :mod:`chainrule.trace.conv_document`, at the same places in the order.
"""
from dataclasses import dataclass

import numpy as np

from .names import ETA, Lit, deriv, plus, with_example, words


# ---- blocks and tokens --------------------------------------------------------------------------
@dataclass
class Num:
    """A number, typeset by the renderer (``digits``); ``paren``: bracket it when negative."""

    value: float
    paren: bool = False


@dataclass
class Mat:
    """A vector (1-D, one row) or a matrix of numbers."""

    value: np.ndarray


@dataclass
class Heading:
    text: str
    level: int


@dataclass
class Para:
    """Prose: ``str`` pieces are words, :class:`Lit` and :class:`Num` are maths."""

    tokens: list


@dataclass
class Eq:
    """``lhs = formula = numbers = value``; ``formula``/``numbers`` may be None."""

    lhs: list
    formula: list
    numbers: list
    value: list
    note: str = ""


TIMES = Lit(" * ", r" \cdot ", " &middot; ")
PLUS = Lit(" + ", " + ", " + ")
MINUS = Lit(" - ", " - ", " &minus; ")
ONE_HALF = Lit("1/2 ", r"\tfrac{1}{2}", "&frac12;")
LN = Lit("ln ", r"\ln ", "ln ")
SQUARED = Lit("^2", "^2", "<sup>2</sup>")
SUM_K = Lit("sum_k ", r"\sum_k ", "&sum;<sub>k</sub> ")


def _join(parts, sep):
    out = []
    for k, part in enumerate(parts):
        if k:
            out.append(sep)
        out.extend(part)
    return out


def _product(parts):
    return _join(parts, TIMES)


def _sum(parts):
    return _join(parts, PLUS)


def _exp(arg):
    return [Lit("e^", "e^{", "e<sup>"), *arg, Lit("", "}", "</sup>")]


def _mean(parts, m):
    """``(a + b + c)/m``."""
    return ["(", *_sum(parts), f")/{m}"]


# ---- formulas of activations and losses ---------------------------------------------------------
def activation_formula(kind, arg, slope=0.0):
    """``out = g(arg)``: the right-hand side for an element-wise activation."""
    if kind == "sigmoid":
        return [Lit("1/(1+e^-", r"\frac{1}{1+e^{-", "1/(1+e<sup>&minus;"), *arg,
                Lit(")", "}}", "</sup>)")]
    if kind == "tanh":
        return [Lit("tanh(", r"\tanh(", "tanh("), *arg, ")"]
    if kind == "relu":
        return [Lit("max(0, ", r"\max(0, ", "max(0, "), *arg, ")"]
    if kind == "leaky_relu":
        return [Lit("max(", r"\max(", "max("), Num(slope), TIMES, *arg, ", ", *arg, ")"]
    return list(arg)  # identity


def derivative_formula(kind, out, net, slope=0.0):
    """``dout/dnet`` written with the neuron's output (or net input)."""
    if kind == "sigmoid":
        return [*out, " (1", MINUS, *out, ")"]
    if kind == "tanh":
        return ["1", MINUS, *out, SQUARED]
    if kind == "relu":
        return [Lit("1 if ", r"1 \text{ if } ", "1 if "), *net,
                Lit(" > 0, else 0", r" > 0 \text{, else } 0", " &gt; 0, else 0")]
    if kind == "leaky_relu":
        return [Lit("1 if ", r"1 \text{ if } ", "1 if "), *net,
                Lit(" > 0, else ", r" > 0 \text{, else } ", " &gt; 0, else "), Num(slope)]
    return ["1"]


def loss_term_formula(key, t, out, K):
    """The loss term of one output, ``E_o1 = 1/2 (t_o1 - out_o1)^2`` and its kin."""
    if key == "squared_error":
        return [ONE_HALF, "(", *t, MINUS, *out, ")", SQUARED]
    if key == "mse":
        return ["(", *out, MINUS, *t, ")", SQUARED, f" / {K}"]
    if key == "binary_cross_entropy":
        return ["-(", *t, " ", LN, *out, PLUS, "(1", MINUS, *t, ") ", LN, "(1", MINUS, *out,
                "))"]
    if key == "cross_entropy":
        return ["-", *t, " ", LN, *out]
    return None


def loss_derivative_formula(key, t, out, K):
    """``dE/dout`` of one example: ``-(t_o1 - out_o1)`` and its kin."""
    if key == "squared_error":
        return ["-(", *t, MINUS, *out, ")"]
    if key == "mse":
        return ["2 (", *out, MINUS, *t, f") / {K}"]
    if key == "binary_cross_entropy":
        return ["(", *out, MINUS, *t, ") / (", *out, " (1", MINUS, *out, "))"]
    if key == "cross_entropy":
        return ["-", *t, " / ", *out]
    return None


LOSS_DESCRIPTIONS = {
    "squared_error": "squared error, E = sum over the outputs of 1/2 (t - out)^2",
    "mse": "mean squared error, E = mean over the outputs of (out - t)^2",
    "binary_cross_entropy": "binary cross-entropy, E = -sum over the outputs of "
                            "[t ln out + (1 - t) ln(1 - out)]",
    "cross_entropy": "cross-entropy, E = -sum over the outputs of t ln out",
}


# ---- the document -------------------------------------------------------------------------------
class _Builder:
    def __init__(self, record, max_neurons, level):
        self.r = record
        self.names = record.naming
        self.max = max_neurons
        self.level = level
        self.blocks = []
        self.m = record.batch
        self.images = None
        if record.flatten is not None and record.flatten.image:
            from .conv_document import ImageWriter  # it builds on this module's blocks

            self.images = ImageWriter(self)

    # small helpers
    def add(self, block):
        self.blocks.append(block)

    def heading(self, text, depth=0):
        self.add(Heading(text, self.level + depth))

    def ex(self, n):
        """The example suffix of symbols: None for a single example."""
        return n + 1 if self.m > 1 else None

    def wide(self, layer):
        return layer.n_in > self.max or layer.n_out > self.max

    def layer_title(self, layer):
        L = len(self.r.layers)
        kind = "output layer" if layer.number == L else (
            "hidden layer" if L == 2 else f"hidden layer {layer.number}")
        if self.wide(layer):
            return f"{kind} ({layer.n_out} neuron{'s' * (layer.n_out != 1)})"
        return f"{kind} ({', '.join(n.name for n in layer.neurons)})"

    def inp(self, layer, i, n):
        return self.names.out(layer.number - 1, i + 1, self.ex(n))

    # ---- the parts, in the order of the notes ----------------------------------------------
    def build(self):
        self.intro()
        self.given()
        self.forward()
        self.error()
        for layer in reversed(self.r.layers):
            self.backward(layer)
        if self.images:
            self.images.backward()
        if self.m > 1:
            self.batch_means()
        self.update()
        self.others()
        self.after()
        return self.blocks

    def intro(self):
        r, names = self.r, self.names
        parts = [self.images.network()] if self.images else []
        for k, layer in enumerate(r.layers):
            if k == 0 and not self.images:
                parts.append(self._neuron_list(0, layer.n_in))
            act = f" ({layer.activation})" if layer.activation else ""
            parts.append(self._neuron_list(layer.number, layer.n_out) + act)
        loss = LOSS_DESCRIPTIONS.get(r.loss_key, r.loss)
        examples = "one example" if self.m == 1 else f"a batch of {self.m} examples"
        step = f"step {r.step}" if r.step is not None else "one step"
        self.add(Para([f"Network: {' -> '.join(parts)}. Loss: {loss}. Update: "
                       f"{r.optimizer}, {step}. Data: {examples}. Precision: {r.dtype}."]))
        if r.is_notes_example:
            self.add(Para(["This is the 2-2-2 network of the lecture notes (seeds 001 and 002) "
                           "with their weights, inputs, targets and learning rate 0.5; as in "
                           "the notes, the biases are frozen."]))
        elif names.scheme == "notes":
            self.add(Para(["The weights are numbered as in the notes: w1, w2 feed h1 from i1, "
                           "i2; w3, w4 feed h2; w5, w6 feed o1 from h1, h2; w7, w8 feed o2."]))
        else:
            if self.images:
                self.images.explain()
            self.add(Para(["Weights are named w<layer>_<j>,<i>: layer, receiving neuron j, "
                           "sending neuron i (the row and column of the layer's matrix W); "
                           "b<layer>_<j> is the bias of neuron j."]))
        self.add(Para(["Every number is chainrule's own, read off the layers as they ran "
                       "the step; where a line multiplies or adds numbers, they are the "
                       "engine's numbers written on that line."]))
        if self.m > 1:
            self.add(Para(["The loss of a batch is the mean of the examples' errors, "
                           "E_total = (E[1] + ... + E[m])/m, so each gradient is the mean over "
                           "the examples of its chain-rule product. [n] marks a quantity of "
                           "example n; each example is written out on its own."]))
        if r.fused:
            what = "softmax" if r.layers[-1].activation == "softmax" else "sigmoid"
            self.add(Para([f"The {what} output and the {r.loss} loss are differentiated "
                           f"together: the engine computes dE/dnet = out - t directly, "
                           f"which is the product of the two factors dE/dout and dout/dnet, "
                           f"exactly and without overflow."]))
        for note in r.notes:
            self.add(Para([note[0].upper() + note[1:] + "."]))

    def _neuron_list(self, layer, n):
        if n > self.max:
            return f"{n} {'inputs' if layer == 0 else 'neurons'}"
        return ", ".join(self.names.neuron(layer, j + 1) for j in range(n))

    def given(self):
        self.heading("The weights, inputs and targets")
        if self.images:
            self.images.given()
        for layer in self.r.layers:
            if self.wide(layer):
                self.add(Eq([self.names.matrix(layer.number)], None, None, [Mat(layer.weight)],
                            "row j holds the weights into neuron j"))
                self.add(Eq([self.names.bias_vector(layer.number)], None, None,
                            [Mat(layer.bias)], "" if layer.bias_trainable else "frozen"))
                continue
            tokens = []
            for p in layer.parameters:
                if p.kind != "weight":
                    continue
                tokens += [", "] if tokens else []
                tokens += [self.names.weight(layer.number, p.j, p.i), " = ", Num(p.old)]
            biases = self._biases(layer)
            for sym, value in biases:
                tokens += ["; " if tokens else "", sym, " = ", Num(value)]
            if biases and not layer.bias_trainable:
                tokens.append(" (frozen: not trained)")
            self.add(Para(tokens))
        for n in range(self.m):
            prefix = [f"Example {n + 1}: "] if self.m > 1 else []
            if self.images:
                self.images.inputs(n)
                self.add(Para(prefix + self._values(None, self.r.targets[n], self.names.target,
                                                    "targets")))
                continue
            self.add(Para(prefix + self._values(0, self.r.inputs[n], self.names.input, "inputs")
                          + ["; "]
                          + self._values(None, self.r.targets[n], self.names.target, "targets")))

    def _biases(self, layer):
        """[(symbol, value)]: one per layer when the notes' scheme names it once (b1)."""
        names = self.names
        if names.scheme == "notes" and names.shared_bias[layer.number - 1]:
            return [(names.bias(layer.number, 1), layer.bias[0])]
        return [(names.bias(layer.number, j + 1), layer.bias[j]) for j in range(layer.n_out)]

    def _values(self, _, values, sym, what):
        if len(values) > self.max:
            return [f"{what} ", Num(values[0]), ", ..., ", Num(values[-1]),
                    f" ({len(values)} values)"]
        tokens = []
        for k, v in enumerate(values):
            tokens += ([", "] if k else []) + [sym(k + 1), " = ", Num(v)]
        return tokens

    # ---- forward --------------------------------------------------------------------------------
    def forward(self):
        self.heading("The forward pass")
        for n in range(self.m):
            if self.m > 1:
                self.heading(f"Example {n + 1}", 1)
            if self.images:
                self.images.forward(n)
            for layer in self.r.layers:
                if self.wide(layer):
                    self._forward_matrix(layer, n)
                else:
                    self._forward_neurons(layer, n)

    def _forward_neurons(self, layer, n):
        names, e = self.names, self.ex(n)
        for j, neuron in enumerate(layer.neurons):
            formula, numbers = [], []
            for i in range(layer.n_in):
                formula.append([names.weight(layer.number, j + 1, i + 1), TIMES,
                                self.inp(layer, i, n)])
                numbers.append([Num(layer.weight[j, i]), TIMES, Num(layer.inputs[n, i], True)])
            formula.append([names.bias(layer.number, j + 1), TIMES, "1"])
            numbers.append([Num(layer.bias[j]), TIMES, "1"])
            note = ""
            if self.r.is_notes_example and neuron.name == "h1":
                note = ("a later slide writes w3 * i2 here, but w2 feeds h1 from i2 and w3 "
                        "feeds h2 from i1, as w2+ and w3+ confirm")
            self.add(Eq([names.net(layer.number, j + 1, e)], _sum(formula), _sum(numbers),
                        [Num(neuron.net[n])], note))
            if layer.activation is None:
                continue
            out = names.out(layer.number, j + 1, e)
            if layer.activation == "softmax":
                syms = [[names.net(layer.number, k + 1, e)] for k in range(layer.n_out)]
                nums = [[Num(v)] for v in layer.net[n]]
                self.add(Eq([out], [*_exp(syms[j]), " / (", *_sum([_exp(s) for s in syms]),
                                    ")"],
                            [*_exp(nums[j]), " / (", *_sum([_exp(v) for v in nums]), ")"],
                            [Num(neuron.out[n])]))
                continue
            self.add(Eq([out],
                        activation_formula(layer.activation,
                                           [names.net(layer.number, j + 1, e)], layer.slope),
                        activation_formula(layer.activation,
                                           [Num(neuron.net[n], layer.activation == "sigmoid")],
                                           layer.slope),
                        [Num(neuron.out[n])]))

    def _forward_matrix(self, layer, n):
        names, e = self.names, self.ex(n)
        l = layer.number
        self.add(Eq([names.net_vector(l, e)],
                    [names.matrix(l), " ", names.out_vector(l - 1, e), PLUS, names.bias_vector(l)],
                    None, [Mat(layer.net[n])]))
        if layer.activation is not None:
            self.add(Eq([names.out_vector(l, e)],
                        [Lit(f"{layer.activation}(", rf"\mathrm{{{layer.activation}}}(",
                             f"{layer.activation}("), names.net_vector(l, e), ")"],
                        None, [Mat(layer.out[n])]))

    # ---- error ----------------------------------------------------------------------------------
    def error(self):
        r, names = self.r, self.names
        out_layer = r.layers[-1]
        L, K = out_layer.number, out_layer.n_out
        self.heading("The error")
        split = r.errors is not None and K <= self.max
        for n in range(self.m):
            e = self.ex(n)
            if split:
                for k in range(K):
                    t, o = [names.target(k + 1, e)], [names.out(L, k + 1, e)]
                    tv, ov = [Num(r.targets[n, k])], [Num(out_layer.out[n, k])]
                    self.add(Eq([names.error(k + 1, e)], loss_term_formula(r.loss_key, t, o, K),
                                loss_term_formula(r.loss_key, tv, ov, K),
                                [Num(r.errors[n, k])]))
            if r.errors is None:
                continue
            total = names.total(e)
            value = r.E_total if self.m == 1 else r.E_examples[n]
            if split:
                self.add(Eq([total], _sum([[names.error(k + 1, e)] for k in range(K)]),
                            _sum([[Num(v)] for v in r.errors[n]]), [Num(value)]))
            else:
                self.add(Eq([total], [SUM_K, names.error("k", e)], None, [Num(value)]))
        if self.m > 1 or r.errors is None:
            formula = _mean([[names.total(n + 1)] for n in range(self.m)], self.m) \
                if self.m > 1 and r.errors is not None else None
            numbers = _mean([[Num(v)] for v in r.E_examples], self.m) \
                if formula is not None else None
            self.add(Eq([names.total()], formula, numbers, [Num(r.E_total)],
                        "the batch mean" if self.m > 1 else ""))

    # ---- backward -------------------------------------------------------------------------------
    def backward(self, layer):
        L = len(self.r.layers)
        self.heading(f"The backward pass: {self.layer_title(layer)}")
        if layer.number < L:
            above = self.r.layers[layer.number]
            if layer.paths is not None and not self.wide(above):
                self.add(Para([
                    "Each output of this layer reaches the error through every neuron k of "
                    "the layer above, so dE/dout is the sum of those paths: dE/dnet_k * "
                    "dnet_k/dout, where dnet_k/dout is the weight joining the two ",
                    "(its value before the update)."]))
        for n in range(self.m):
            if self.m > 1:
                self.heading(f"Example {n + 1}", 1)
            if self.wide(layer):
                self._deltas_matrix(layer, n)
            else:
                self._deltas_neurons(layer, n)
                if self.m > 1:
                    self._gradients(layer, n)
        if self.m == 1:
            if self.wide(layer):
                self._gradients_matrix(layer)
            else:
                self._gradients(layer, None)

    def _deltas_neurons(self, layer, n):
        r, names, e = self.r, self.names, self.ex(n)
        l, L = layer.number, len(r.layers)
        E = names.loss(e)
        if layer.activation == "softmax" and not layer.fused:
            for j in range(layer.n_out):
                self._dE_dout_line(layer, j, n)
            for j in range(layer.n_out):
                net_j = names.net(l, j + 1, e)
                pairs = [[deriv(E, names.out(l, k + 1, e)), TIMES,
                          deriv(names.out(l, k + 1, e), net_j)] for k in range(layer.n_out)]
                nums = [[Num(layer.dE_dout[n, k]), TIMES, Num(layer.jacobian[n, k, j], True)]
                        for k in range(layer.n_out)]
                self.add(Eq([deriv(E, net_j)], _sum(pairs), _sum(nums),
                            [Num(layer.delta[n, j])], f"delta_{names.neuron(l, j + 1)}"))
            return
        for j in range(layer.n_out):
            net_j, out_j = names.net(l, j + 1, e), names.out(l, j + 1, e)
            if layer.fused:
                t = names.target(j + 1, e)
                self.add(Eq([deriv(E, net_j)], [*[out_j], MINUS, t],
                            [Num(layer.out[n, j]), MINUS, Num(r.targets[n, j])],
                            [Num(layer.delta[n, j])],
                            f"delta_{names.neuron(l, j + 1)}: dE/dout * dout/dnet in one"))
                continue
            self._dE_dout_line(layer, j, n)
            if layer.activation is None and l == L:  # the output is the net input itself
                t, K = names.target(j + 1, e), layer.n_out
                formula = loss_derivative_formula(r.loss_key, [t], [net_j], K)
                numbers = loss_derivative_formula(r.loss_key, [Num(r.targets[n, j])],
                                                  [Num(layer.net[n, j])], K)
                self.add(Eq([deriv(E, net_j)], formula, numbers, [Num(layer.delta[n, j])],
                            f"delta_{names.neuron(l, j + 1)}; no activation: out = net"))
                continue
            if layer.dout_dnet is None:
                self.add(Eq([deriv(E, net_j)], None, None, [Num(layer.delta[n, j])],
                            "the engine's dE/dnet"))
                continue
            self.add(Eq([deriv(out_j, net_j)],
                        derivative_formula(layer.activation, [out_j], [net_j], layer.slope),
                        derivative_formula(layer.activation, [Num(layer.out[n, j], True)],
                                           [Num(layer.net[n, j], True)], layer.slope),
                        [Num(layer.dout_dnet[n, j])]))
            if layer.dE_dout is not None:
                self.add(Eq([deriv(E, net_j)], [deriv(E, out_j), TIMES, deriv(out_j, net_j)],
                            [Num(layer.dE_dout[n, j]), TIMES, Num(layer.dout_dnet[n, j], True)],
                            [Num(layer.delta[n, j])], f"delta_{names.neuron(l, j + 1)}"))

    def _dE_dout_line(self, layer, j, n):
        """dE/dout_j: from the loss (output layer) or summed over the paths (hidden)."""
        r, names, e = self.r, self.names, self.ex(n)
        l, L = layer.number, len(r.layers)
        E = names.loss(e)
        out_j = names.out(l, j + 1, e)
        if layer.dE_dout is None:
            return
        if l == L:
            t, K = names.target(j + 1, e), layer.n_out
            self.add(Eq([deriv(E, out_j)], loss_derivative_formula(r.loss_key, [t], [out_j], K),
                        loss_derivative_formula(r.loss_key, [Num(r.targets[n, j])],
                                                [Num(layer.out[n, j])], K),
                        [Num(layer.dE_dout[n, j])]))
            return
        above = r.layers[l]
        if layer.paths is None:
            self.add(Eq([deriv(E, out_j)], None, None, [Num(layer.dE_dout[n, j])],
                        "the engine's dE/dout"))
            return
        if self.wide(above):
            self.add(Eq([deriv(E, out_j)],
                        [SUM_K, deriv(E, names.net(l + 1, "k", e)), TIMES,
                         deriv(names.net(l + 1, "k", e), out_j)],
                        None, [Num(layer.dE_dout[n, j])]))
            return
        separable = above.number == L and above.activation != "softmax"
        terms = []
        for k in range(above.n_out):
            net_k = names.net(l + 1, k + 1, e)
            factors = [deriv(E, net_k), TIMES, deriv(net_k, out_j)]
            numbers = [Num(above.delta[n, k]), TIMES, Num(above.weight[k, j], True)]
            value = layer.paths[n, j, k]
            note = ""
            if self.r.is_notes_example and (j, k) == (0, 1):
                note = (f"the notes print -0.019049119, but the exact value {value:.10f} rounds "
                        f"to {value:.9f}: their last digit is one off")
            if separable:
                lhs = [deriv(names.error(k + 1, e), out_j)]
                self.add(Eq(lhs, factors, numbers, [Num(value)], note))
            else:
                lhs = factors
                self.add(Eq(lhs, None, numbers, [Num(value)], note))
            terms.append((lhs, value))
        formula = _sum([lhs for lhs, _ in terms]) if separable else None
        self.add(Eq([deriv(E, out_j)], formula, _sum([[Num(v)] for _, v in terms]),
                    [Num(layer.dE_dout[n, j])]))

    def _gradient_factors(self, layer, p, n):
        """The symbols and numbers of one parameter's chain-rule product for example n."""
        names, e = self.names, self.ex(n) if n is not None else None
        l, j = layer.number, p.j
        E = names.loss(e)
        net_j, out_j = names.net(l, j, e), names.out(l, j, e)
        target = names.weight(l, j, p.i) if p.kind == "weight" else names.bias(l, j)
        syms = {"dE/dout": deriv(E, out_j), "dout/dnet": deriv(out_j, net_j),
                "dE/dnet": deriv(E, net_j), "dnet/dw": deriv(net_j, target),
                "dnet/db": deriv(net_j, target)}
        k = 0 if n is None else n
        return ([[syms[label]] for label, _ in p.factors],
                [[Num(values[k], paren=bool(f))] for f, (_, values) in enumerate(p.factors)])

    def _gradients(self, layer, n):
        """One line per weight and bias: dE/dw = the product of its factors."""
        names = self.names
        l, e = layer.number, self.ex(n) if n is not None else None
        for p in layer.parameters:
            target = names.weight(l, p.j, p.i) if p.kind == "weight" else names.bias(l, p.j)
            syms, nums = self._gradient_factors(layer, p, n)
            source = names.out(l - 1, p.i, e) if p.kind == "weight" else None
            net_j = names.net(l, p.j, e)
            if p.kind == "weight":
                note = [deriv(net_j, target).text, " = ", source.text]
            else:
                note = [deriv(net_j, target).text, " = 1"]
            if self._shared_bias(layer, p):
                note.append(f"; {target.text} of {names.neuron(l, p.j)}")
            value = p.grad if n is None else p.products[n]
            self.add(Eq([deriv(names.loss(e), target)], _product(syms), _product(nums),
                        [Num(value)], "".join(note)))

    def _shared_bias(self, layer, p):
        return p.kind == "bias" and self.names.scheme == "notes" and \
            self.names.shared_bias[layer.number - 1] and layer.n_out > 1

    def _deltas_matrix(self, layer, n):
        names, e = self.names, self.ex(n)
        l, L = layer.number, len(self.r.layers)
        E = names.loss(e)
        net_v, out_v = names.net_vector(l, e), names.out_vector(l, e)
        if layer.dE_dout is not None:
            formula = None
            if l < L and layer.paths is not None:
                W = names.matrix(l + 1)
                formula = [Lit(f"{W.text}^T ", f"{{{W.latex}}}^T ", f"{W.html}<sup>T</sup> "),
                           deriv(E, names.net_vector(l + 1, e))]
            self.add(Eq([deriv(E, out_v)], formula, None, [Mat(layer.dE_dout[n])]))
        if layer.dout_dnet is not None:
            self.add(Eq([deriv(out_v, net_v)], None, None, [Mat(layer.dout_dnet[n])],
                        "element by element"))
        formula = None
        if layer.fused:
            formula = [out_v, MINUS, with_example(Lit("t", r"\mathbf{t}", "<b>t</b>"), e)]
        elif layer.dE_dout is not None and layer.dout_dnet is not None:
            formula = [deriv(E, out_v), Lit(" (.) ", r" \odot ", " &odot; "), deriv(out_v, net_v)]
        self.add(Eq([deriv(E, net_v)], formula, None, [Mat(layer.delta[n])],
                    f"the deltas of layer {names.shown(l)}"))

    def _gradients_matrix(self, layer):
        names, l, m = self.names, layer.number, self.m
        net_v, prev = names.net_vector(l), names.out_vector(l - 1)
        dE = deriv(names.loss(), net_v)
        if m == 1:
            formula = [dE, Lit("^T ", "^T ", "<sup>T</sup> "), prev]
        else:
            formula = [Lit(f"1/{m} sum_n ", rf"\frac{{1}}{{{m}}}\sum_n ",
                           f"1/{m} &sum;<sub>n</sub> "),
                       deriv(names.loss("n"), names.net_vector(l, "n")),
                       Lit("^T ", "^T ", "<sup>T</sup> "), names.out_vector(l - 1, "n")]
        self.add(Eq([deriv(names.loss(), names.matrix(l))], formula, None,
                    [Mat(layer.weight_grad)],
                    "outer product: row j, column i is dE/dnet_j * out_i"))
        self.add(Eq([deriv(names.loss(), names.bias_vector(l))],
                    [dE] if m == 1 else None, None, [Mat(layer.bias_grad)],
                    "" if m == 1 else "the batch mean of dE[n]/dnet"))

    def batch_means(self):
        self.heading("The gradients: the mean over the batch")
        names, m = self.names, self.m
        for layer in reversed(self.r.layers):
            if self.wide(layer):
                self._gradients_matrix(layer)
                continue
            l = layer.number
            for p in layer.parameters:
                target = names.weight(l, p.j, p.i) if p.kind == "weight" else names.bias(l, p.j)
                formula = _mean([[deriv(names.loss(n + 1), target)] for n in range(m)], m)
                numbers = _mean([[Num(v)] for v in p.products], m)
                note = f"{target.text} of {names.neuron(l, p.j)}" \
                    if self._shared_bias(layer, p) else ""
                self.add(Eq([deriv(names.loss(), target)], formula, numbers, [Num(p.grad)],
                            note))
        if self.images:
            self.images.batch_means()

    # ---- update ---------------------------------------------------------------------------------
    def update(self):
        r, names = self.r, self.names
        self.heading("The update")
        if r.rule == "sgd":
            self.add(Para(["Gradient descent, w+ = w - eta * dE/dw with eta = ", Num(r.lr),
                           ", for every trainable weight at once, after the whole backward "
                           "pass: the hidden layer's gradients above used the weights from "
                           "before the update."]))
        else:
            self.add(Para([f"{r.optimizer} updates each weight by its own rule (see its "
                           f"documentation); shown are the old value, the change and the new "
                           f"value, w+ = w + change."]))
        for layer in reversed(r.layers):
            l = layer.number
            if self.wide(layer):
                W = names.matrix(l)
                for sym, new, grad, trainable in ((W, layer.weight_new, layer.weight_grad,
                                                   layer.weight_trainable),
                                                  (names.bias_vector(l), layer.bias_new,
                                                   layer.bias_grad, layer.bias_trainable)):
                    if not trainable:
                        self.add(Para([sym, " is frozen: not updated."]))
                        continue
                    formula = [sym, MINUS, ETA, " ", deriv(names.loss(), sym)] \
                        if r.rule == "sgd" else None
                    self.add(Eq([plus(sym)], formula, None, [Mat(new)]))
                continue
            frozen = []
            for p in layer.parameters:
                sym = names.weight(l, p.j, p.i) if p.kind == "weight" else names.bias(l, p.j)
                if not p.trainable:
                    if not any(s == sym for s, _ in frozen):
                        frozen.append((sym, p.old))
                    continue
                note = f"{sym.text} of {names.neuron(l, p.j)}" \
                    if self._shared_bias(layer, p) else ""
                if r.rule == "sgd":
                    self.add(Eq([plus(sym)], [sym, MINUS, ETA, TIMES, deriv(names.loss(), sym)],
                                [Num(p.old), MINUS, Num(r.lr), TIMES, Num(p.grad, paren=True)],
                                [Num(p.new)], note))
                else:
                    self.add(Eq([plus(sym)], [sym, Lit(" + change", " + \\Delta",
                                                      " + &Delta;")],
                                [Num(p.old), PLUS, Num(p.change, paren=True)], [Num(p.new)], note))
            if frozen:
                tokens = []
                for sym, value in frozen:
                    tokens += ([", "] if tokens else []) + [sym, " = ", Num(value)]
                self.add(Para(tokens + [" frozen: not updated."]))
        if self.images:
            self.images.update()

    def others(self):
        if not self.r.others:
            return
        self.heading("Other layers")
        for other in self.r.others:
            self.add(Para([f"Layer {other.index}: {other.description}."]))
            for n in range(self.m):
                if other.output is not None:
                    self.add(Eq([words(f"output{'' if self.m == 1 else f'[{n + 1}]'}")], None,
                                None, [Mat(np.asarray(other.output[n]).reshape(-1))]))
            for name, old, grad, new, trainable in other.parameters:
                self.add(Eq([words(f"{name} gradient")], None, None, [Mat(np.atleast_1d(grad))]))
                self.add(Eq([words(f"{name} after the step")], None, None,
                            [Mat(np.atleast_1d(new))], "" if trainable else "frozen"))

    def after(self):
        r = self.r
        self.heading("After the step")
        note = ""
        if r.is_notes_example:
            note = ("the notes print 0.291027924: that is the error if the hidden deltas are "
                    "propagated through the already-updated w5..w8; the notes' own algorithm, "
                    "run here, gives this (see `chainrule examples --check`)")
        self.add(Eq([Lit("E_total with the updated weights", r"E_{total}^{+}",
                         "E<sub>total</sub><sup>+</sup>")], None, None,
                    [Num(r.error_after)], note))


def build(records, max_neurons=6):
    """The blocks of a document tracing ``records`` (one or several successive steps)."""
    blocks = []
    if len(records) == 1:
        blocks.append(Heading(_title(records[0]), 1))
        blocks += _Builder(records[0], max_neurons, 2).build()
        return blocks
    blocks.append(Heading(f"{len(records)} training steps, traced", 1))
    for k, record in enumerate(records):
        step = record.step if record.step is not None else k + 1
        blocks.append(Heading(f"Step {step}", 2))
        blocks += _Builder(record, max_neurons, 3).build()
    return blocks


def _title(record):
    shape = "-".join(str(s) for s in record.naming.sizes)
    if record.flatten is not None and record.flatten.image:
        images = ["x".join(map(str, s)) for s in record.image_shapes]
        shape = "-".join(images + [str(s) for s in record.naming.sizes[1:]])
        kind = "convolutional network" if record.images else "network"
        return f"Backpropagation, one step: a {shape} {kind}"
    if record.is_notes_example:
        return "Backpropagation, one step: the 2-2-2 network of the notes"
    return f"Backpropagation, one step: a {shape} network"
