r"""What a traced quantity is called, in plain text, LaTeX and HTML.

Three naming schemes, chosen from the network's shape:

``"notes"``
    The 2-2-2 sigmoid network of the notes (seeds 001/002): inputs ``i1, i2``, hidden
    neurons ``h1, h2``, outputs ``o1, o2``, each with a net input ``net_h1`` and an
    output ``out_h1``; weights numbered ``w1 .. w8`` row by row (``w1, w2`` feed h1
    from i1, i2; ``w5, w6`` feed o1 from h1, h2) and one bias name per layer,
    ``b1, b2``, when every neuron of the layer has the same bias (as in the notes).
``"one-hidden"``
    One hidden layer of any width (or none): ``i, h, o`` neurons with ``net_``/``out_``
    as above, and weights ``w1_2,1`` = :math:`w^{(1)}_{2,1}` (layer 1, into neuron 2,
    from input 1: the row/column of ``W``).
``"deep"``
    Two hidden layers or more, in the notes' :math:`a_l = W_l h_{l-1} + b_l`,
    :math:`h_l = g(a_l)`: neuron ``j`` of layer ``l`` has net input ``a1_2`` =
    :math:`a^{(1)}_2` and output ``h1_2`` = :math:`h^{(1)}_2`.

Examples of a batch carry their number in brackets: ``out_h1[2]`` is ``out_h1`` for the
second example.

Convolutional networks (see :mod:`chainrule.trace.conv`) number their weight layers as
``repr(net)`` does, convolutions and Dense layers in one sequence, so the Dense layers'
names start after the convolutions' (``first``); an image's cells carry their
``[channel, row, column]`` in brackets: ``x[0,1]``, ``a1[0,2]``, ``w1[1,0]``.
"""
import html
from typing import NamedTuple


class Lit(NamedTuple):
    """A piece of an equation in each output format: a symbol, an operator, a construct."""

    text: str
    latex: str
    html: str


def lit(text, latex=None, html_=None):
    """A :class:`Lit` whose LaTeX defaults to the text and whose HTML is the escaped text."""
    return Lit(text, text if latex is None else latex,
               html.escape(text) if html_ is None else html_)


def _latex_base(base):
    return base if len(base) == 1 else rf"\mathit{{{base}}}"


def subscripted(base, sub, compact=False):
    """``net_h1`` (``compact``: ``w5``), :math:`net_{h1}`, net<sub>h1</sub>."""
    text = f"{base}{sub}" if compact else f"{base}_{sub}"
    return Lit(text, f"{_latex_base(base)}_{{{sub}}}",
               f"{html.escape(base)}<sub>{html.escape(sub)}</sub>")


def layered(base, layer, sub):
    """``w1_2,1``: :math:`w^{(1)}_{2,1}`, the notes' layer-neuron-input numbering."""
    return Lit(f"{base}{layer}_{sub}", f"{_latex_base(base)}^{{({layer})}}_{{{sub}}}",
               f"{html.escape(base)}<sup>({layer})</sup><sub>{html.escape(sub)}</sub>")


def map_name(letter, level):
    """An image map of weight layer ``level``: ``a1``, :math:`a^{(1)}`; level 0 is just ``x``."""
    if not level:
        return lit(letter)
    return Lit(f"{letter}{level}", f"{_latex_base(letter)}^{{({level})}}",
               f"{html.escape(letter)}<sup>({level})</sup>")


def cell(base, index):
    """One cell of a map or kernel: ``a1[0,2]``, :math:`a^{(1)}_{0,2}`; ``index`` ints or text."""
    sub = ",".join(str(k) for k in index)
    return Lit(f"{base.text}[{sub}]", f"{base.latex}_{{{sub}}}",
               f"{base.html}<sub>{html.escape(sub)}</sub>")


def with_example(sym, n):
    """``sym`` for example ``n`` of a batch (``out_h1[2]``); unchanged when ``n`` is None."""
    if n is None:
        return sym
    return Lit(f"{sym.text}[{n}]", f"{sym.latex}[{n}]", f"{sym.html}[{n}]")


def plus(sym):
    """The value after the update: ``w5+``, :math:`w_5^+`."""
    return Lit(f"{sym.text}+", f"{{{sym.latex}}}^{{+}}", f"{sym.html}<sup>+</sup>")


def deriv(num, den):
    r"""``dE/dw5``, :math:`\frac{\partial E}{\partial w_5}`, a fraction in HTML."""
    return Lit(f"d{num.text}/d{den.text}",
               rf"\frac{{\partial {num.latex}}}{{\partial {den.latex}}}",
               f'<span class="frac"><span>&part;{num.html}</span>'
               f'<span>&part;{den.html}</span></span>')


E = Lit("E", "E", "E")
ETA = Lit("eta", r"\eta", "&eta;")


class Naming:
    """Names of the neurons, inputs, weights and biases of one traced network.

    ``sizes`` is ``[n_in, n_1, ..., n_L]``; ``layer`` arguments count Dense layers from 1,
    ``j``/``i`` neurons from 1. ``shared_bias[l - 1]`` says whether every neuron of layer
    ``l`` has the same bias (then the notes' scheme names it once, ``b1``).

    After convolutions, ``first`` is the number written for Dense layer 1 (their weights
    continue the convolutions' numbering), and ``inputs`` the names of the first Dense
    layer's inputs, one :class:`Lit` each (the flattened image's cells), with
    ``input_vector`` the name of all of them together.
    """

    def __init__(self, scheme, sizes, shared_bias, first=1, inputs=None, input_vector=None):
        self.scheme = scheme
        self.sizes = list(sizes)
        self.shared_bias = list(shared_bias)
        self.L = len(sizes) - 1
        self.first = first
        self.inputs = inputs
        self.input_vector = input_vector

    def shown(self, layer):
        """The number written for Dense layer ``layer`` (1 = the first Dense layer)."""
        return layer + self.first - 1

    # ---- neurons ------------------------------------------------------------------------
    def _letter(self, layer):
        return "o" if layer == self.L else "h"

    def neuron(self, layer, j):
        """The neuron's plain name: ``h1``, ``o2``, ``h2_3`` (deep), ``i1`` (layer 0)."""
        if layer == 0:
            return f"i{j}"
        if self.scheme == "deep":
            return f"h{self.shown(layer)}_{j}"
        return f"{self._letter(layer)}{j}"

    def input(self, i, n=None):
        if self.inputs is not None:
            return with_example(self.inputs[i - 1], n)
        return with_example(subscripted("i", str(i), compact=True), n)

    def net(self, layer, j, n=None):
        if self.scheme == "deep":
            return with_example(layered("a", self.shown(layer), str(j)), n)
        return with_example(subscripted("net", self.neuron(layer, j)), n)

    def out(self, layer, j, n=None):
        """The output of neuron ``j`` of ``layer``; layer 0 is the input ``i_j``."""
        if layer == 0:
            return self.input(j, n)
        if self.scheme == "deep":
            return with_example(layered("h", self.shown(layer), str(j)), n)
        return with_example(subscripted("out", self.neuron(layer, j)), n)

    def target(self, j, n=None):
        name = str(j) if self.scheme == "deep" else self.neuron(self.L, j)
        return with_example(subscripted("t", name), n)

    def error(self, j, n=None):
        """The loss term of output ``j``: ``E_o1``."""
        name = str(j) if self.scheme == "deep" else self.neuron(self.L, j)
        return with_example(subscripted("E", name), n)

    def total(self, n=None):
        """``E_total``, or the error ``E[n]`` of example ``n`` of a batch."""
        if n is None:
            return subscripted("E", "total")
        return with_example(E, n)

    def loss(self, n=None):
        """The E of a derivative: ``dE/dw5``; ``dE[2]/dw5`` for example 2."""
        return with_example(E, n)

    # ---- parameters ---------------------------------------------------------------------
    def weight(self, layer, j, i):
        if self.scheme == "notes":
            before = sum(self.sizes[k] * self.sizes[k + 1] for k in range(layer - 1))
            return subscripted("w", str(before + (j - 1) * self.sizes[layer - 1] + i),
                               compact=True)
        return layered("w", self.shown(layer), f"{j},{i}")

    def bias(self, layer, j):
        if self.scheme == "notes" and self.shared_bias[layer - 1]:
            return subscripted("b", str(layer), compact=True)
        if self.scheme == "notes":
            return Lit(f"b{layer}_{j}", f"b_{{{layer},{j}}}", f"b<sub>{layer},{j}</sub>")
        return layered("b", self.shown(layer), str(j))

    def matrix(self, layer):
        layer = self.shown(layer)
        return Lit(f"W{layer}", f"W^{{({layer})}}", f"W<sup>({layer})</sup>")

    def bias_vector(self, layer):
        layer = self.shown(layer)
        return Lit(f"b{layer}", rf"\mathbf{{b}}^{{({layer})}}", f"<b>b</b><sup>({layer})</sup>")

    # ---- whole layers (matrix form) -------------------------------------------------------
    def net_vector(self, layer, n=None):
        if self.scheme == "deep":
            shown = self.shown(layer)
            return with_example(Lit(f"a{shown}", rf"\mathbf{{a}}^{{({shown})}}",
                                    f"<b>a</b><sup>({shown})</sup>"), n)
        return with_example(subscripted("net", self._letter(layer)), n)

    def out_vector(self, layer, n=None):
        if layer == 0 and self.input_vector is not None:
            return with_example(self.input_vector, n)
        if layer == 0:
            return with_example(Lit("i", r"\mathbf{i}", "<b>i</b>"), n)
        if self.scheme == "deep":
            shown = self.shown(layer)
            return with_example(Lit(f"h{shown}", rf"\mathbf{{h}}^{{({shown})}}",
                                    f"<b>h</b><sup>({shown})</sup>"), n)
        return with_example(subscripted("out", self._letter(layer)), n)


def words(text):
    """Prose inside an equation: upright text in LaTeX."""
    escaped = "".join(_LATEX_SPECIAL.get(c, c) for c in text)
    return Lit(text, rf"\text{{{escaped}}}", html.escape(text))


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
                  "#": r"\#", "%": r"\%", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}


def latex_escape(text):
    """``text`` safe in LaTeX text mode."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)
