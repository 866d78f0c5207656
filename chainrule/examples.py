r"""The worked examples of the lecture notes, recomputed by chainrule.

Each ``example_*`` function builds its network(s) with chainrule in float64, runs the
engine, and returns a list of :class:`Quantity` records: what the slide prints next to
what the engine computes right now. Nothing recomputed is typed in, so the records are
a live check of the engine against the notes, and of the notes against the engine.

``report(check=True)`` prints them side by side and explains every disagreement::

    >>> from chainrule import examples
    >>> print(examples.report(check=True))        # doctest: +SKIP

The examples (numbering of ``worked-examples.md``):

1. the 2-2-2 sigmoid network of seeds 001/002, trained with squared error and
   eta = 0.5, biases frozen;
2. seed 000's one-hidden-layer network whose bias is "input 1": its weight matrices'
   first column is the bias, which chainrule stores as a Dense layer's ``bias``;
3. binary cross-entropy, 4. categorical cross-entropy after a softmax (seed 001);
5. the linear two-layer network of seed 001's last slide;
6. softmax versus dividing by the sum;
7. the gradient of seed 003's L2 penalty (an erratum on the slide).
"""
import math
from typing import Any, NamedTuple

import numpy as np

from .layers import Dense, Identity, Sigmoid, Softmax
from .losses import L2, BinaryCrossEntropy, CrossEntropy, SquaredError
from .network import Sequential
from .optim import SGD


# ---- records ----------------------------------------------------------------------------
class Printed(float):
    """A number as the notes print it.

    A float that remembers its printed text, because agreement is judged to the printed
    precision and a float forgets trailing zeros ("0.511301270" has nine decimals).
    """

    def __new__(cls, text):
        number = super().__new__(cls, text)
        number.text = text
        return number

    @property
    def decimals(self):
        return len(self.text.partition(".")[2])

    def __repr__(self):
        return self.text

    __str__ = __repr__


def printed(text):
    """``printed("0.15 0.20")`` -> a tuple of :class:`Printed`; a single number stays a number."""
    numbers = tuple(Printed(word) for word in text.split())
    return numbers[0] if len(numbers) == 1 else numbers


class Quantity(NamedTuple):
    """One number (or vector, or matrix) of a worked example.

    ``slide`` is what the notes print (None where they print nothing), ``recomputed``
    what chainrule computes now, ``note`` the erratum or explanation where one is due.
    Vectors are tuples, matrices lists of tuples.
    """

    name: str
    slide: Any
    recomputed: Any
    note: str = ""


class Case(NamedTuple):
    """A network with data, for ``chainrule.gradcheck(net, loss, X, y, l2=l2)``."""

    title: str
    net: Any
    loss: Any
    X: Any
    y: Any
    l2: float = 0.0


def plain(array):
    """An engine array as plain Python: a float, a tuple (vector) or a list of tuples."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 1:
        return float(a.reshape(()))
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim == 1:
        return tuple(float(v) for v in a)
    return [tuple(float(v) for v in row) for row in a]


def _flat(value):
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _flat(item)]
    return [value]


def _decimals(number):
    """Decimals printed: a :class:`Printed`'s text, else the shortest repr of the float."""
    if isinstance(number, Printed):
        return number.decimals
    text = repr(float(number))
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        return max(0, len(mantissa.partition(".")[2]) - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


def agrees(q):
    """Whether the slide matches the recomputed value to the slide's printed precision.

    Each recomputed number is rounded to as many decimals as the slide prints and must
    then equal the slide's number. None when the slide prints nothing to compare.
    """
    if q.slide is None:
        return None
    slide, mine = _flat(q.slide), _flat(q.recomputed)
    if len(slide) != len(mine):
        return False
    return all(round(float(r), _decimals(s)) == float(s) for s, r in zip(slide, mine))


# ---- 1. the 2-2-2 sigmoid network (seeds 001 and 002) ------------------------------------
INPUT_222 = np.array([[0.05, 0.10]])
TARGET_222 = np.array([[0.01, 0.99]])


def two_two_two_net():
    """Seed 002's network: weights w1..w8, biases 0.35 and 0.60 that the example never updates."""
    return Sequential([
        Dense(2, 2, weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35, train_bias=False,
              dtype="float64"),
        Sigmoid(),
        Dense(2, 2, weight=[[0.40, 0.45], [0.50, 0.55]], bias=0.60, train_bias=False,
              dtype="float64"),
        Sigmoid(),
    ])


def train_updating_as_you_go(net, X, y, loss, lr, steps):
    """Gradient steps that update each layer before backpropagating through it.

    This is *not* the textbook algorithm: the delta of a lower layer is propagated
    through the weights just updated above it, not through the weights of the forward
    pass. It is how the slides' 0.291027924 (and their outputs after training) arise,
    so it is kept to explain them. Returns the loss of each iteration's forward pass,
    like ``history["loss"]``.
    """
    optimizer = SGD(lr)
    losses = []
    for _ in range(steps):
        out = net.forward(X, training=True)
        losses.append(loss.forward(out, y))
        grad = loss.backward()
        for layer in reversed(net.layers):
            params = layer.parameters()
            if params:
                layer.backward(grad)      # dE/dW with the weights of the forward pass
                optimizer.step(params)    # ...applied at once
            grad = layer.backward(grad)   # and the delta goes down through the new weights
    return losses


def _output_error(net, X, y, loss):
    return loss.forward(net.forward(X), y)


def _222_first_pass():
    """Forward pass and the chain-rule factors, one layer call at a time, as the notes go."""
    X, y, loss = INPUT_222, TARGET_222, SquaredError()
    dense1, sig1, dense2, sig2 = two_two_two_net().layers
    net_h = dense1.forward(X)
    out_h = sig1.forward(net_h)
    net_o = dense2.forward(out_h)
    out_o = sig2.forward(net_o)
    e_o = [loss.forward(out_o[:, k:k + 1], y[:, k:k + 1]) for k in range(2)]
    e_total = loss.forward(out_o, y)
    dE_dout_o = loss.backward()                                # o - t (m = 1)
    dout_dnet_o = sig2.backward(np.ones_like(out_o))           # o (1 - o)
    delta_o = sig2.backward(dE_dout_o)                         # dE/dnet_o
    dense2.backward(np.array([[1.0, 0.0]]))                    # dnet_o1/dW2 = [out_h1, out_h2]
    dnet_o1_dw5 = dense2.weight.grad[0, 0]
    # dE_ok/dout_h: the path through output k alone; dE/dout_h sums both paths.
    paths = [dense2.backward(delta_o * np.eye(2)[k]) for k in range(2)]
    dE_dout_h = dense2.backward(delta_o)                       # and dE/dW2 = delta_o out_h^T
    dE_dw5 = dense2.weight.grad[0, 0]
    dout_dnet_h = sig1.backward(np.ones_like(out_h))
    dense1.backward(np.array([[1.0, 0.0]]))                    # dnet_h1/dW1 = [i1, i2]
    dnet_h1_dw1 = dense1.weight.grad[0, 0]
    dense1.backward(sig1.backward(dE_dout_h))
    dE_dw1 = dense1.weight.grad[0, 0]
    return [
        Quantity("net_h1", printed("0.3775"), plain(net_h[0, 0])),
        Quantity("out_h1, out_h2", printed("0.593269992 0.596884378"), plain(out_h)),
        Quantity("net_o1", printed("1.105905967"), plain(net_o[0, 0])),
        Quantity("out_o1, out_o2", printed("0.75136507 0.772928465"), plain(out_o)),
        Quantity("E_o1, E_o2, E_total", printed("0.274811083 0.023560026 0.298371109"),
                 (e_o[0], e_o[1], e_total)),
        Quantity("dE/dout_o1", printed("0.74136507"), plain(dE_dout_o[0, 0])),
        Quantity("dout_o1/dnet_o1", printed("0.186815602"), plain(dout_dnet_o[0, 0])),
        Quantity("dnet_o1/dw5 = out_h1", printed("0.593269992"), plain(dnet_o1_dw5)),
        Quantity("dE/dw5", printed("0.082167041"), plain(dE_dw5)),
        Quantity("dE_o1/dnet_o1", printed("0.138498562"), plain(delta_o[0, 0])),
        Quantity("dnet_o1/dout_h1 = w5", printed("0.40"), plain(dense2.weight.value[0, 0])),
        Quantity("dE_o1/dout_h1, dE_o2/dout_h1", printed("0.055399425 -0.019049119"),
                 (plain(paths[0][0, 0]), plain(paths[1][0, 0])),
                 "dE_o2/dout_h1 = -0.0190491183 (delta_o2 = -0.0380982365 times w7 = 0.50) rounds "
                 "to -0.019049118; the slide's last digit is one off (it agrees to 1e-9)"),
        Quantity("dE/dout_h1", printed("0.036350306"), plain(dE_dout_h[0, 0])),
        Quantity("dout_h1/dnet_h1", printed("0.241300709"), plain(dout_dnet_h[0, 0])),
        Quantity("dnet_h1/dw1 = i1", printed("0.05"), plain(dnet_h1_dw1),
                 "one slide writes net_h1 = w1 i1 + w3 i2 + b1; it is w2 i2 (w3 feeds h2), "
                 "as the forward pass and w2+, w3+ show"),
        Quantity("dE/dw1", printed("0.000438568"), plain(dE_dw1)),
    ]


def _222_first_update():
    """One backward pass of the whole network and one gradient step, biases frozen."""
    loss, net = SquaredError(), two_two_two_net()
    net.compute_gradients(loss, INPUT_222, loss.prepare_target(TARGET_222, 2, net.dtype))
    SGD(0.5).step(net.parameters())
    dense1, dense2 = net.layers[0], net.layers[2]
    return [
        Quantity("w1+, w2+, w3+, w4+", printed("0.149780716 0.19956143 0.24975114 0.29950229"),
                 plain(dense1.weight.value.reshape(-1))),
        Quantity("w5+, w6+, w7+, w8+", printed("0.35891648 0.408666186 0.511301270 0.561370121"),
                 plain(dense2.weight.value.reshape(-1))),
    ]


def _222_training():
    """10,000 full-batch updates, textbook and with the slides' shortcut, side by side."""
    X, y, loss = INPUT_222, TARGET_222, SquaredError()
    trained = two_two_two_net()
    history = trained.fit(X, y, loss=loss, optimizer=SGD(0.5), epochs=10000)
    variant = two_two_two_net()
    variant_losses = train_updating_as_you_go(variant, X, y, loss, 0.5, 10000)
    shortcut = "hidden deltas through the updated w5..w8"
    return [
        Quantity("E_total after the first update", printed("0.291027924"), history["loss"][1],
                 "the textbook algorithm (hidden deltas through the old w5..w8, as the notes "
                 "instruct) gives 0.2910277737; the slide's 0.291027924 is what one gets by "
                 "propagating the hidden deltas through the already-updated w5..w8 (next row). "
                 "They differ by 1.5e-7."),
        Quantity(f"E_total after the first update, {shortcut}", printed("0.291027924"),
                 variant_losses[1], "reproduces the slide; see train_updating_as_you_go"),
        Quantity("E_total in the 10,000th iteration (history['loss'][9999])",
                 printed("0.0000351085"), history["loss"][9999],
                 "the error of the forward pass of the 10,000th iteration, i.e. after 9,999 "
                 "updates, with the textbook algorithm"),
        Quantity("E_total after 10,000 updates", None, _output_error(trained, X, y, loss)),
        Quantity("out_o1, out_o2 after 10,000 updates", printed("0.015912196 0.984065734"),
                 plain(trained.forward(X)),
                 "no step count of the textbook algorithm gives these (o1 is 0.015912492 after "
                 "10,002 updates and 0.015911927 after 10,003); they are the outputs after "
                 "exactly 10,000 updates with the hidden deltas propagated through the "
                 "already-updated output weights (next row), the slide's 0.291027924 rule"),
        Quantity(f"out_o1, out_o2 after 10,000 updates, {shortcut}",
                 printed("0.015912196 0.984065734"), plain(variant.forward(X)),
                 "reproduces the slide exactly after 10,000 updates (not 9,999 nor 10,001)"),
    ]


def example_222():
    """Seed 002's 2-2-2 network: forward pass, chain rule, one update, 10,000 updates.

    Weight names follow the notes: w1, w2 feed h1 from i1, i2 (row 0 of W1), w3, w4 feed
    h2; w5, w6 feed o1 from h1, h2, w7, w8 feed o2.
    """
    return _222_first_pass() + _222_first_update() + _222_training()


# ---- 2. one hidden layer, bias as input 1 (seed 000) -------------------------------------
W1_SEED000 = np.array([[0.5, 1.5, 0.8], [0.8, 0.2, -1.6]])
W2_SEED000 = np.array([[0.9, -1.7, 1.6], [1.2, 2.1, -0.2]])
INPUT_SEED000 = np.array([[0.7, 1.2]])
TARGET_SEED000 = np.array([[1.0, 0.0]])


def _bias_first_dense(w):
    """Seed 000's matrix [bias | weights] as a Dense layer: column 0 is the bias."""
    return Dense(w.shape[1] - 1, w.shape[0], weight=w[:, 1:], bias=w[:, 0], dtype="float64")


def seed000_net():
    """Seed 000's network with each layer's bias column stored as the Dense bias."""
    return Sequential([_bias_first_dense(W1_SEED000), Sigmoid(),
                       _bias_first_dense(W2_SEED000), Sigmoid()])


def _with_one(h):
    """Prepend the constant input O_1 = 1 that seed 000 uses for the bias."""
    return np.hstack([np.ones((len(h), 1)), h])


def seed000_bias_as_input(X, y):
    """Seed 000 literally: bias-free Dense(3, 2) layers fed [1, O].

    Returns (theta1, O2, dE/dW1, dE/dW2) with 3-column gradients, so they can be set
    beside the Dense-with-bias network's [bias grad | weight grad]: the same numbers.
    """
    loss = SquaredError()
    layer1 = Sequential([Dense(3, 2, weight=W1_SEED000, dtype="float64"), Sigmoid()])
    layer2 = Sequential([Dense(3, 2, weight=W2_SEED000, dtype="float64"), Sigmoid()])
    O1 = layer1.forward(_with_one(X), training=True)
    O2 = layer2.forward(_with_one(O1), training=True)
    loss.forward(O2, y)
    dE_dO1 = layer2.backward(loss.backward())
    layer1.backward(dE_dO1[:, 1:])            # the constant 1 has no input to pass back to
    theta1 = layer1.layers[1].logits
    return theta1, O2, layer1[0].weight.grad.copy(), layer2[0].weight.grad.copy()


def _bias_and_weight_grad(dense):
    """dE/d[bias | weights], the 3-column gradient seed 000 writes."""
    return np.column_stack([dense.bias.grad, dense.weight.grad])


def example_seed000():
    """Seed 000's forward pass and gradients, in the bias-as-input-1 layout of the notes."""
    X, y, loss = INPUT_SEED000, TARGET_SEED000, SquaredError()
    net = seed000_net()
    dense1, sig1, dense2, sig2 = net.layers
    theta1 = dense1.forward(X)
    O1 = sig1.forward(theta1)
    theta2 = dense2.forward(O1)
    O2 = sig2.forward(theta2)
    net.compute_gradients(loss, X, loss.prepare_target(y, 2, net.dtype))
    theta1_literal, O2_literal, dW1_literal, dW2_literal = seed000_bias_as_input(X, y)
    return [
        Quantity("theta1 = W1 O0", printed("2.51 -9.8"), plain(theta1),
                 "typo: 0.8 + 0.2*0.7 - 1.6*1.2 = -0.98, not -9.8 (the slide's sigmoid 0.27 "
                 "is that of -0.98)"),
        Quantity("O1 = [1, sigmoid(theta1)]", printed("1 0.92 0.27"), plain(_with_one(O1))),
        Quantity("theta2 = W2 O1", printed("-0.232 3.057"), plain(theta2),
                 "from the rounded O1 = [1, 0.92, 0.27] the slide gets -0.232 for the first "
                 "entry; the second is an arithmetic slip (1.2 + 2.1*0.92 - 0.2*0.27 = 3.078). "
                 "Unrounded: [-0.23560096, 3.08758541]"),
        Quantity("O2 = sigmoid(theta2)", printed("0.44 0.95"), plain(O2),
                 "0.95637774 rounds to 0.96: the slide truncates"),
        Quantity("delta2 = (O2 - t) O2 (1 - O2) = dE/db2", None, plain(dense2.bias.grad)),
        Quantity("dE/dW2 = delta2 O1^T", None, plain(_bias_and_weight_grad(dense2))),
        Quantity("dE/dW1", None, plain(_bias_and_weight_grad(dense1))),
        Quantity("theta1, bias as input 1 (bias-free Dense(3, 2) on [1, 0.7, 1.2])", None,
                 plain(theta1_literal)),
        Quantity("O2, bias as input 1", None, plain(O2_literal)),
        Quantity("dE/dW2, bias as input 1", None, plain(dW2_literal)),
        Quantity("dE/dW1, bias as input 1", None, plain(dW1_literal)),
    ]


# ---- 3. binary cross-entropy (seed 001) --------------------------------------------------
INPUT_BCE = np.array([[-0.6, -0.6, 0.2, 0.3]])
TARGET_BCE = np.array([[0.0]])


def bce_net():
    """Seed 001's binary classifier: b = [0.5 0.3] is 0.5 on every hidden neuron, 0.3 out."""
    return Sequential([
        Dense(4, 4, weight=[[0.9, 0.2, 0.4, 0.3], [-0.5, 0.4, 0.3, 0.3],
                            [0.1, 0.1, -0.1, 0.2], [-0.2, 0.5, 0.5, 0.7]],
              bias=0.5, dtype="float64"),
        Sigmoid(),
        Dense(4, 1, weight=[[0.5, 0.8, -0.6, 0.3]], bias=0.3, dtype="float64"),
        Sigmoid(),
    ])


def example_bce():
    """Forward pass and binary cross-entropy -ln(1 - y_hat) for the label y = 0."""
    net = bce_net()
    dense1, sig1, dense2, sig2 = net.layers
    a1 = dense1.forward(INPUT_BCE)
    h1 = sig1.forward(a1)
    a2 = dense2.forward(h1)
    y_hat = sig2.forward(a2)
    loss = BinaryCrossEntropy().forward(y_hat, TARGET_BCE)
    return [
        Quantity("a1 = W1 x + b1", printed("0.01 0.71 0.42 0.63"), plain(a1)),
        Quantity("h1 = sigmoid(a1)", printed("0.50 0.67 0.60 0.65"), plain(h1)),
        Quantity("a2 = W2 h1 + b2", printed("0.921"), plain(a2)),
        Quantity("y_hat = sigmoid(a2)", printed("0.7152"), plain(y_hat),
                 "0.71529221 rounds to 0.7153: the slide truncates"),
        Quantity("loss -ln(1 - y_hat)", printed("1.2560"), loss,
                 "-ln(1 - 0.71529221) = 1.25629194; the slide's 1.2560 is -ln(1 - 0.7152), "
                 "computed from its truncated y_hat"),
    ]


# ---- 4. categorical cross-entropy with softmax (seed 001) --------------------------------
INPUT_CE = np.array([[0.6, 0.4, 0.6, 0.1]])
TARGET_CE = np.array([[0.0, 0.0, 1.0]])


def softmax_net():
    """Seed 001's three-class network: sigmoid hidden layer, softmax output, biases 0."""
    return Sequential([
        Dense(4, 4, weight=[[0.1, 0.3, 0.8, -0.4], [-0.3, -0.2, 0.5, 0.5],
                            [-0.3, 0.1, 0.5, 0.4], [0.2, 0.5, -0.9, 0.7]],
              bias=0.0, dtype="float64"),
        Sigmoid(),
        Dense(4, 3, weight=[[0.3, 0.8, -0.2, -0.4], [0.5, -0.2, -0.3, 0.5],
                            [0.2, 0.1, 0.6, 0.6]], bias=0.0, dtype="float64"),
        Softmax(),
    ])


def example_softmax_ce():
    """Forward pass and cross-entropy -ln p_3 for the one-hot label [0, 0, 1]."""
    net = softmax_net()
    dense1, sig1, dense2, soft = net.layers
    a1 = dense1.forward(INPUT_CE)
    h1 = sig1.forward(a1)
    a2 = dense2.forward(h1)
    p = soft.forward(a2)
    loss = CrossEntropy().forward(p, TARGET_CE)
    return [
        Quantity("a1 = W1 x + b1", printed("0.62 0.09 0.2 -0.15"), plain(a1)),
        Quantity("h1 = sigmoid(a1)", printed("0.65 0.52 0.55 0.46"), plain(h1)),
        Quantity("a2 = W2 h1 + b2", printed("0.32 0.29 0.85"), plain(a2),
                 "third entry: 0.2*0.65 + 0.1*0.52 + 0.6*0.55 + 0.6*0.46 = 0.788, not 0.85 "
                 "(arithmetic slip); unrounded 0.78973468"),
        Quantity("y_hat = softmax(a2)", printed("0.2718 0.2634 0.4648"), plain(p),
                 "follows from the slip in a2, and is not even the softmax of the slide's own "
                 "a2 (that is [0.2725, 0.2645, 0.4630])"),
        Quantity("loss -ln(y_hat_3)", printed("0.7661"), loss,
                 "-ln(0.44867236) = 0.80146237; the slide's 0.7661 is -ln(0.4648), from its "
                 "wrong softmax"),
    ]


# ---- 5. a linear two-layer network (seed 001, last slide) --------------------------------
INPUT_LINEAR = np.array([[2.0, 3.0]])


def linear_net():
    """No activation, no bias. The slide writes x W with W's columns per hidden neuron
    ([[0.11, 0.12], [0.21, 0.08]]); chainrule's rows per hidden neuron are its transpose."""
    return Sequential([
        Dense(2, 2, weight=[[0.11, 0.21], [0.12, 0.08]], dtype="float64"), Identity(),
        Dense(2, 1, weight=[[0.14, 0.15]], dtype="float64"), Identity(),
    ])


def example_linear():
    """Two matrix products: [2 3] -> [0.85 0.48] -> 0.191."""
    net = linear_net()
    hidden = net.layers[0].forward(INPUT_LINEAR)
    return [
        Quantity("hidden = W1 x", printed("0.85 0.48"), plain(hidden)),
        Quantity("prediction = W2 hidden", printed("0.191"), plain(net.forward(INPUT_LINEAR))),
    ]


# ---- 6. softmax versus divide-by-sum (seed 001) ------------------------------------------
def divide_by_sum(a):
    """The slide's first attempt at probabilities: each entry over the sum of all."""
    return a / a.sum(axis=-1, keepdims=True)


def example_softmax_vs_sum():
    """Why softmax: dividing by the sum gives a negative "probability" for [7, -2, 4, 1]."""
    first, second = np.array([[3.0, 4.0, 10.0, 3.0]]), np.array([[7.0, -2.0, 4.0, 1.0]])
    return [
        Quantity("divide-by-sum [3, 4, 10, 3]", printed("0.15 0.20 0.50 0.15"),
                 plain(divide_by_sum(first))),
        Quantity("divide-by-sum [7, -2, 4, 1]", printed("0.70 -0.20 0.40 0.10"),
                 plain(divide_by_sum(second)),
                 "not an erratum: the negative entry is the slide's point"),
        Quantity("softmax [3, 4, 10, 3]", None, plain(Softmax().forward(first))),
        Quantity("softmax [7, -2, 4, 1]", None, plain(Softmax().forward(second))),
    ]


# ---- 7. the L2 penalty's gradient (seed 003) ---------------------------------------------
L2_LAMBDA = 1.0
INPUT_L2 = np.vstack([INPUT_BCE, INPUT_CE])     # m = 2 examples, so that 1/m shows
TARGET_L2 = np.array([[0.0], [1.0]])


def central_difference(f, p, index, eps=1e-6):
    """(f(w + eps) - f(w - eps)) / (2 eps) for one entry of a parameter."""
    keep = p.value[index]
    p.value[index] = keep + eps
    up = f()
    p.value[index] = keep - eps
    down = f()
    p.value[index] = keep
    return (up - down) / (2 * eps)


def example_l2():
    r"""Seed 003's penalty :math:`\frac{\lambda}{2m}\sum w^2` on example 3's network.

    Its derivative is :math:`\frac{\lambda}{m} w`; the slide writes :math:`\frac{\lambda}{2m} w`.
    The slide prints a formula, not a number, so ``slide`` holds that formula evaluated here.
    """
    net, penalty, m = bce_net(), L2(L2_LAMBDA), len(INPUT_L2)
    params = net.parameters()
    w = net.layers[2].weight                       # w = 0.5, the first output weight
    index = (0, 0)

    def penalty_value():
        return penalty.value(params, m)

    numeric = central_difference(penalty_value, w, index)
    for p in params:
        p.grad[...] = 0.0
    penalty.add_grad(params, m)
    engine = float(w.grad[index])
    slide_formula = L2_LAMBDA / (2 * m) * float(w.value[index])
    loss = BinaryCrossEntropy()
    target = loss.prepare_target(TARGET_L2, 1, net.dtype)
    objective, _ = net.compute_gradients(loss, INPUT_L2, target, penalty)
    note = ("the derivative of lambda/(2m) w^2 is lambda/m w; the slide writes "
            "lambda/(2m) w, half of it")
    return [
        Quantity(f"penalty lambda/(2m) sum w^2 (lambda = {L2_LAMBDA:g}, m = {m})", None,
                 penalty_value()),
        Quantity("d penalty/d w (w = 0.5), central differences", slide_formula, numeric, note),
        Quantity("d penalty/d w (w = 0.5), chainrule's L2 gradient", slide_formula, engine, note),
        Quantity("E(w) = cross-entropy/m + penalty", None, objective),
        Quantity("dE/dw (w = 0.5), backprop + penalty", None, float(w.grad[index])),
    ]


# ---- all of them -------------------------------------------------------------------------
EXAMPLES = [
    ("1. The 2-2-2 sigmoid network (seeds 001 and 002)", example_222),
    ("2. One hidden layer, bias as input 1 (seed 000)", example_seed000),
    ("3. Binary cross-entropy (seed 001)", example_bce),
    ("4. Categorical cross-entropy with softmax (seed 001)", example_softmax_ce),
    ("5. A linear two-layer network (seed 001)", example_linear),
    ("6. Softmax versus divide-by-sum (seed 001)", example_softmax_vs_sum),
    ("7. L2 regularisation (seed 003)", example_l2),
]


def all_examples():
    """[(title, quantities)] for every worked example, recomputed now (about a second)."""
    return [(title, build()) for title, build in EXAMPLES]


def gradcheck_cases():
    """Every example's network with data and loss, for ``chainrule.gradcheck``.

    Example 5 has no target on the slide and example 6 no network, so they get a
    target of 1 and a softmax over an identity Dense layer with squared error
    (which runs Softmax's own backward instead of the fused cross-entropy gradient).
    """
    softmax_only = Sequential([Dense(4, 4, weight=np.eye(4), dtype="float64"), Softmax()])
    return [
        Case("2-2-2", two_two_two_net(), SquaredError(), INPUT_222, TARGET_222),
        Case("seed 000", seed000_net(), SquaredError(), INPUT_SEED000, TARGET_SEED000),
        Case("binary cross-entropy", bce_net(), BinaryCrossEntropy(), INPUT_BCE, TARGET_BCE),
        Case("softmax cross-entropy", softmax_net(), CrossEntropy(), INPUT_CE, TARGET_CE),
        Case("linear", linear_net(), SquaredError(), INPUT_LINEAR, np.array([[1.0]])),
        Case("softmax", softmax_only, SquaredError(), np.array([[7.0, -2.0, 4.0, 1.0]]),
             np.array([[1.0, 0.0, 0.0, 0.0]])),
        Case("L2", bce_net(), BinaryCrossEntropy(), INPUT_L2, TARGET_L2, L2_LAMBDA),
    ]


# ---- the report --------------------------------------------------------------------------
def format_number(x):
    """Ten significant digits in fixed notation, trailing zeros dropped; a slide number as printed."""
    if isinstance(x, Printed):
        return x.text
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return repr(x) if x else "0"
    exponent = math.floor(math.log10(abs(x)))
    if exponent < -7:
        return f"{x:.9e}"
    text = f"{x:.{max(0, 9 - exponent)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value):
    """Lines of text: a number, a vector [a, b] or a matrix, one row per line."""
    if value is None:
        return ["-"]
    if isinstance(value, list):
        rows = ["[" + ", ".join(map(format_number, row)) + "]" for row in value]
        return ["[" + rows[0]] + [" " + r for r in rows[1:-1]] + [" " + rows[-1] + "]"] \
            if len(rows) > 1 else ["[" + rows[0] + "]"]
    if isinstance(value, tuple):
        return ["[" + ", ".join(map(format_number, value)) + "]"]
    return [format_number(value)]


def _verdict(q):
    return {None: "", True: "yes", False: "NO"}[agrees(q)]


def _table(quantities, check):
    header = ["quantity", "the slide says", "recomputed", "agrees?"] if check \
        else ["quantity", "recomputed"]
    rows = []
    for q in quantities:
        cells = [[q.name], format_value(q.slide), format_value(q.recomputed), [_verdict(q)]] \
            if check else [[q.name], format_value(q.recomputed)]
        rows.append((q, cells))
    widths = [max([len(header[i])] + [len(line) for _, cells in rows for line in cells[i]])
              for i in range(len(header))]

    def line(parts):
        return " | ".join(p.ljust(w) for p, w in zip(parts, widths)).rstrip()

    lines = [line(header), "-+-".join("-" * w for w in widths)]
    for q, cells in rows:
        for k in range(max(len(c) for c in cells)):
            lines.append(line([c[k] if k < len(c) else "" for c in cells]))
        if check and q.note:
            label = "erratum" if agrees(q) is False else "note"
            lines.append(f"    {label}: {q.note}")
    return lines


def report(check=False, examples=None):
    """Every worked example as a plain-text table.

    ``check=True`` sets the slide beside the recomputed value, says whether they agree to
    the slide's printed precision, and prints the erratum under each row that does not.
    ``examples`` reuses the result of :func:`all_examples` instead of recomputing.
    """
    blocks = []
    for title, quantities in (all_examples() if examples is None else examples):
        blocks.append("\n".join([title, "=" * len(title)] + _table(quantities, check)))
    return "\n\n".join(blocks) + "\n"
