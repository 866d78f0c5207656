"""cr.trace of convolutional networks: every product of a convolution, written out.

Every expected number is computed here, independently of the trace: the tiny 4x4/2x2 case
by hand (its numbers are chosen so that the sums are exact by eye), the others by a
convolution written as loops and scipy.signal.correlate2d, gradients by central
differences of a forward pass written here, and the step against the engine's own
forward, backward and optimiser on a copy of the network.
"""
import copy
import shutil
import subprocess

import numpy as np
import pytest
from scipy.signal import correlate2d

import chainrule as cr
from chainrule.trace import conv as trace_conv, trace, trace_steps
from numeric import numeric_grad
from test_trace_render import Checker, check_balanced

F64 = "float64"


# ---- the tiny case: one 4x4 image, one 2x2 kernel -------------------------------------------
# x[r, c] = (4r + c + 1)/10, kernel [[0.1, -0.2], [0.3, -0.4]], bias 0.21: every output cell is
# a1[y, x] = 0.11 - 0.2 x[y, x], i.e. 0.09 0.07 0.05 / 0.01 -0.01 -0.03 / -0.07 -0.09 -0.11, so
# ReLU keeps the first four. The Dense layer adds them with weights 1 (no activation):
# out = 0.22; with target -0.78 the squared error is 1/2 and dE/dout = out - t = 1, so every
# delta of the convolution is 1 (kept cells) or 0.
X_TINY = (np.arange(16, dtype=float).reshape(1, 1, 4, 4) + 1) / 10
KERNEL = [[0.1, -0.2], [0.3, -0.4]]


def tiny_net():
    return cr.Sequential([
        cr.Conv2D(1, 1, 2, weight=np.array(KERNEL).reshape(1, 1, 2, 2), bias=0.21, dtype=F64),
        cr.ReLU(), cr.Flatten(),
        cr.Dense(9, 1, weight=np.ones((1, 9)), bias=0.0, dtype=F64)])


def tiny_trace(lr=0.1):
    net = tiny_net()
    return net, trace(net, cr.SquaredError(), X_TINY, [[-0.78]], cr.SGD(lr))


def test_tiny_forward_cells_are_the_kernel_times_the_patch_plus_the_bias():
    _, r = tiny_trace()
    conv = r.images[0]
    assert (conv.kind, conv.level, conv.activation) == ("conv", 1, "relu")
    expected = np.array([[0.09, 0.07, 0.05], [0.01, -0.01, -0.03], [-0.07, -0.09, -0.11]])
    np.testing.assert_allclose(conv.net[0, 0], expected, atol=1e-15)
    np.testing.assert_allclose(conv.out[0, 0], np.maximum(expected, 0), atol=1e-15)
    assert r.E_total == pytest.approx(0.5, abs=1e-15)                      # 1/2 (0.22 + 0.78)^2
    # loops, independently of the layer: a[y,x] = sum_ij w[i,j] x[y+i, x+j] + b
    x, w = X_TINY[0, 0], np.array(KERNEL)
    for y in range(3):
        for c in range(3):
            value = sum(w[i, j] * x[y + i, c + j] for i in range(2) for j in range(2)) + 0.21
            assert conv.net[0, 0, y, c] == pytest.approx(value, abs=1e-15)


def test_tiny_backward_kernel_gradient_is_the_sum_of_delta_times_input():
    net, r = tiny_trace()
    conv = r.images[0]
    delta = np.array([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]])                  # dE/da1, see above
    np.testing.assert_allclose(conv.delta[0, 0], delta, atol=1e-14)
    np.testing.assert_allclose(conv.dout_dnet[0, 0], delta, atol=0)        # relu' = 1 or 0
    # dE/dw1[i,j] = sum over the 4 kept cells of x[y+i, x+j]
    x = X_TINY[0, 0]
    by_hand = {(0, 0): 0.1 + 0.2 + 0.3 + 0.5, (0, 1): 0.2 + 0.3 + 0.4 + 0.6,
               (1, 0): 0.5 + 0.6 + 0.7 + 0.9, (1, 1): 0.6 + 0.7 + 0.8 + 1.0}
    for (i, j), value in by_hand.items():
        p = r.parameter(f"w1[{i},{j}]")
        assert p.grad == pytest.approx(value, abs=1e-14), (i, j)
        assert p.products[0] == pytest.approx(value, abs=1e-14)
        assert p.new == p.old - 0.1 * p.grad
        assert p.grad == pytest.approx(correlate2d(x, delta, mode="valid")[i, j], abs=1e-14)
    assert r.parameter("b1").grad == pytest.approx(4.0, abs=1e-14)         # the sum of the deltas
    assert r.parameter("b1").new == pytest.approx(0.21 - 0.4, abs=1e-15)
    assert conv.grad_in is None                  # the bottom layer: no input gradient is needed
    np.testing.assert_array_equal(net.layers[0].weight.value[0, 0],
                                  [[r.parameter(f"w1[{i},{j}]").new for j in (0, 1)]
                                   for i in (0, 1)])


# The lines the text rendering writes, with the numbers worked out above.
TINY_LINES = [
    "a1[0,0] = w1[0,0] * x[0,0] + w1[0,1] * x[0,1] + w1[1,0] * x[1,0] + w1[1,1] * x[1,1] + b1 "
    "= 0.1 * 0.1 + -0.2 * 0.2 + 0.3 * 0.5 + -0.4 * 0.6 + 0.21 = 0.09",
    "a1[1,2] = w1[0,0] * x[1,2] + w1[0,1] * x[1,3] + w1[1,0] * x[2,2] + w1[1,1] * x[2,3] + b1 "
    "= 0.1 * 0.7 + -0.2 * 0.8 + 0.3 * 1.1 + -0.4 * 1.2 + 0.21 = -0.03",
    "h1[1,1] = max(0, a1[1,1]) = max(0, -0.01) = 0",
    "dE/dh1[1,1] = dE/dnet_o1 * w2_1,5 = 1 * 1 = 1",
    "dh1[1,1]/da1[1,1] = 1 if a1[1,1] > 0, else 0 = 1 if (-0.01) > 0, else 0 = 0",
    "dE/da1[1,1] = dE/dh1[1,1] * dh1[1,1]/da1[1,1] = 1 * 0 = 0",
    "dE/dw1[1,0] = dE/da1[0,0] * x[1,0] + dE/da1[0,1] * x[1,1] + dE/da1[0,2] * x[1,2] "
    "+ dE/da1[1,0] * x[2,0] + dE/da1[1,1] * x[2,1] + dE/da1[1,2] * x[2,2] + dE/da1[2,0] * x[3,0] "
    "+ dE/da1[2,1] * x[3,1] + dE/da1[2,2] * x[3,2] = 1 * 0.5 + 1 * 0.6 + 1 * 0.7 + 1 * 0.9 "
    "+ 0 * 1 + 0 * 1.1 + 0 * 1.3 + 0 * 1.4 + 0 * 1.5 = 2.7   (da1[y,x]/dw1[1,0] = x[y+1,x])",
    "dE/db1 = dE/da1[0,0] + dE/da1[0,1] + dE/da1[0,2] + dE/da1[1,0] + dE/da1[1,1] + dE/da1[1,2] "
    "+ dE/da1[2,0] + dE/da1[2,1] + dE/da1[2,2] = 1 + 1 + 1 + 1 + 0 + 0 + 0 + 0 + 0 = 4"
    "   (da1[y,x]/db1 = 1)",
    "w1[1,0]+ = w1[1,0] - eta * dE/dw1[1,0] = 0.3 - 0.1 * 2.7 = 0.03",
    "b1+ = b1 - eta * dE/db1 = 0.21 - 0.1 * 4 = -0.19",
]


def test_tiny_text_writes_every_product():
    _, r = tiny_trace()
    text = r.to_text()
    lines = text.splitlines()
    assert lines[0] == "Backpropagation, one step: a 1x4x4-1x3x3-1 convolutional network"
    for line in TINY_LINES:
        assert line in lines, line
    order = [lines.index(line) for line in TINY_LINES]
    assert order == sorted(order)              # forward, backward from the top down, update
    # nine output cells of four products each, every one on its own line
    assert sum(line.startswith("a1[") and line.count(" * ") == 8 for line in lines) == 9
    assert "x =\n    [[0.1, 0.2, 0.3, 0.4]\n     [0.5, 0.6, 0.7, 0.8]" in text
    assert "w1 =\n    [[ 0.1, -0.2]\n     [ 0.3, -0.4]]" in text


def test_tiny_dense_layer_written_neuron_by_neuron_uses_the_image_cells_as_inputs():
    _, r = tiny_trace()
    text = r.to_text(max_neurons=9)
    assert ("net_o1 = w2_1,1 * h1[0,0] + w2_1,2 * h1[0,1] + w2_1,3 * h1[0,2] + w2_1,4 * h1[1,0]"
            " + w2_1,5 * h1[1,1]") in text
    assert "dE/dw2_1,4 = dE/dnet_o1 * dnet_o1/dw2_1,4 = 1 * 0.01 = 0.01   " \
           "(dnet_o1/dw2_1,4 = h1[1,0])" in text.splitlines()
    assert r.parameter("w2_1,4").grad == pytest.approx(0.01, abs=1e-15)


def test_tiny_markdown_latex_and_html():
    _, r = tiny_trace()
    md = r.to_markdown()
    assert ("| `a1[0,0]` | `w1[0,0] * x[0,0] + w1[0,1] * x[0,1] + w1[1,0] * x[1,0] + "
            "w1[1,1] * x[1,1] + b1` | `0.1 * 0.1 + -0.2 * 0.2 + 0.3 * 0.5 + -0.4 * 0.6 + 0.21` "
            "| `0.09` |") in md
    assert "## The backward pass: convolution layer 1 (w1, b1)" in md
    tex = r.to_latex()
    check_balanced(tex)
    assert (r"a^{(1)}_{0,0} &= w^{(1)}_{0,0} \cdot x_{0,0} + w^{(1)}_{0,1} \cdot x_{0,1}") in tex
    assert r"\frac{\partial E}{\partial w^{(1)}_{1,0}}" in tex
    assert r"{w^{(1)}_{1,0}}^{+} &= w^{(1)}_{1,0} - \eta" in tex
    page = r.to_html()
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert not checker.stack
    text = "".join(checker.text)
    assert "0.1 · 0.1 + -0.2 · 0.2 + 0.3 · 0.5 + -0.4 · 0.6 + 0.21" in text
    assert "w(1)1,0" in text and "2.7" in text


TEX_ENGINES = [name for name in ("pdflatex", "lualatex", "tectonic") if shutil.which(name)]


@pytest.mark.skipif(not TEX_ENGINES, reason="no TeX engine on PATH")
def test_latex_of_a_convolutional_trace_compiles_without_overfull_lines(tmp_path):
    r = trace(pooled_net(), "cross_entropy", *pooled_data(2), cr.SGD(0.1))
    source = tmp_path / "trace.tex"
    source.write_text(r.to_latex())
    engine = TEX_ENGINES[0]
    command = [engine, "-interaction=nonstopmode", "-halt-on-error", source.name] \
        if engine != "tectonic" else [engine, source.name]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    log = (tmp_path / "trace.log").read_text(errors="replace") if engine != "tectonic" else ""
    assert "Overfull \\hbox" not in log     # the long sums are broken over lines


# ---- a larger case: channels, padding, stride, pooling, a batch -----------------------------
def pooled_net(pool=cr.MaxPool2D(2, stride=1)):
    return cr.Sequential([
        cr.Conv2D(2, 2, 3, stride=2, padding=1, dtype=F64, seed=3), cr.Tanh(),
        copy.deepcopy(pool),
        cr.Conv2D(2, 1, 2, dtype=F64, seed=4), cr.Sigmoid(),
        cr.Flatten(), cr.Dense(1, 2, dtype=F64, seed=5), cr.Softmax()])


def pooled_data(m):
    rng = np.random.default_rng(11)
    return rng.normal(size=(m, 2, 5, 5)), np.arange(m) % 2


def correlate(x, w, b, stride, pad):
    """(C, H, W) images, (F, C, kh, kw) kernels: scipy's correlate2d summed over channels."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.array([sum(correlate2d(x[c], w[f, c], mode="valid") for c in range(len(x)))
                    + b[f] for f in range(len(w))])
    return out[:, ::stride, ::stride]


def pool(x, kind, size, stride):
    c, h, w = x.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.empty((c, oh, ow))
    for k in range(c):
        for y in range(oh):
            for v in range(ow):
                window = x[k, y * stride:y * stride + size, v * stride:v * stride + size]
                out[k, y, v] = window.max() if kind == "max" else window.mean()
    return out


def forward_here(params, x, kind, start=None, given=None):
    """One example's maps and loss terms, written here; ``start``/``given`` replaces a map."""
    W1, b1, W2, b2, W3, b3 = params
    maps = {"a1": correlate(x, W1, b1, 2, 1)}
    if start == "a1":
        maps["a1"] = given
    maps["h1"] = np.tanh(maps["a1"])
    maps["p1"] = pool(maps["h1"], kind, 2, 1)
    if start == "p1":
        maps["p1"] = given
    maps["a2"] = correlate(maps["p1"], W2, b2, 1, 0)
    maps["h2"] = 1 / (1 + np.exp(-maps["a2"]))
    logits = W3 @ maps["h2"].reshape(-1) + b3
    maps["p"] = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    return maps


def params_of(net):
    return [p.value.copy() for p in net.parameters()]


def mean_loss(params, X, y, kind):
    return np.mean([-np.log(forward_here(params, x, kind)["p"][t]) for x, t in zip(X, y)])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooled_network_against_central_differences_and_the_engine(kind):
    layer = cr.MaxPool2D(2, stride=1) if kind == "max" else cr.AvgPool2D(2, stride=1)
    net = pooled_net(layer)
    X, y = pooled_data(3)
    params = params_of(net)
    engine = copy.deepcopy(net)
    r = trace(net, "cross_entropy", X, y, cr.SGD(0.2))
    assert [s.kind for s in r.images] == ["conv", f"{kind}pool", "conv"]
    assert [s.net_name.text for s in r.images] == ["a1", "p1", "a2"]

    # the forward maps, example by example, as written here
    for n, x in enumerate(X):
        maps = forward_here(params, x, kind)
        np.testing.assert_allclose(r.images[0].net[n], maps["a1"], atol=1e-13)
        np.testing.assert_allclose(r.images[0].out[n], maps["h1"], atol=1e-13)
        np.testing.assert_allclose(r.images[1].net[n], maps["p1"], atol=1e-13)
        np.testing.assert_allclose(r.images[2].out[n], maps["h2"], atol=1e-13)
    assert r.E_total == pytest.approx(mean_loss(params, X, y, kind), abs=1e-13)

    # every parameter's gradient: central differences of the loss written here
    for k, (got, p) in enumerate(zip(
            [r.images[0].weight_grad, r.images[0].bias_grad, r.images[2].weight_grad,
             r.images[2].bias_grad, r.layer(1).weight_grad, r.layer(1).bias_grad],
            params)):
        def f(params=params):
            return mean_loss(params, X, y, kind)
        np.testing.assert_allclose(got, numeric_grad(f, params[k]), atol=1e-8, err_msg=str(k))

    # the whole step against the engine's own forward, backward and optimiser
    loss = cr.CrossEntropy()
    target = loss.prepare_target(y, 2, engine.dtype)
    out = engine.forward(engine.prepare_inputs(X), training=True)
    loss.fused_forward(engine.layers[-1].logits, out, target)
    engine.backward(loss.fused_backward(), start=len(engine.layers) - 1)
    cr.SGD(0.2).step(engine.parameters())
    stages = [r.images[0], r.images[2]]
    for stage, layer in zip(stages, [engine.layers[0], engine.layers[3]]):
        np.testing.assert_allclose(stage.weight_grad, layer.weight.grad, atol=1e-15)
        np.testing.assert_allclose(stage.bias_grad, layer.bias.grad, atol=1e-15)
        np.testing.assert_allclose(stage.weight_new, layer.weight.value, atol=1e-15)
    for mine, theirs in zip(net.parameters(), engine.parameters()):
        np.testing.assert_allclose(mine.value, theirs.value, atol=1e-15)
    for stage in stages:
        for p in stage.parameters:                   # each gradient: the mean of the examples'
            assert p.grad == pytest.approx(np.mean(p.products), abs=1e-14)
            assert p.new == p.old - 0.2 * p.grad


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_deltas_and_input_gradients_example_by_example(kind):
    """dE_n/da1 and dE_n/dp1 (the second convolution's input gradient) by central differences
    of each example's own loss, with the maps from a1 and from p1 on computed here."""
    layer = cr.MaxPool2D(2, stride=1) if kind == "max" else cr.AvgPool2D(2, stride=1)
    net = pooled_net(layer)
    X, y = pooled_data(2)
    params = params_of(net)
    r = trace(net, "cross_entropy", X, y, cr.SGD(0.2))
    conv1, pooling, conv2 = r.images
    for n, (x, t) in enumerate(zip(X, y)):
        maps = forward_here(params, x, kind)
        for name, stage_values in (("a1", conv1.delta[n]), ("p1", conv2.grad_in[n])):
            given = maps[name].copy()

            def E(name=name, given=given, x=x, t=t):
                return -np.log(forward_here(params, x, kind, start=name, given=given)["p"][t])
            np.testing.assert_allclose(stage_values, numeric_grad(E, given), atol=1e-8)
        # dE/dp1 is also the pooling's delta, and what the pooling passes down adds up to
        # dE/dh1 = dE/da1 / tanh'
        np.testing.assert_allclose(pooling.delta[n], conv2.grad_in[n], atol=1e-15)
        np.testing.assert_allclose(conv1.delta[n], pooling.grad_in[n] * (1 - maps["h1"] ** 2),
                                   atol=1e-14)
        assert conv1.grad_in is None


def test_pooled_text_writes_windows_winners_and_input_gradients():
    net = pooled_net()
    X, y = pooled_data(2)
    params = params_of(net)
    r = trace(net, "cross_entropy", X, y, cr.SGD(0.2))
    text = r.to_text()
    pooling, conv2 = r.images[1], r.images[2]
    maps = forward_here(params, X[1], "max")
    # the winner of window p1[1,0,1] of example 2, found here
    window = maps["h1"][1, 0:2, 1:3]
    u, v = np.unravel_index(np.argmax(window), window.shape)
    assert tuple(pooling.winners[1, 1, 0, 1]) == (u, v + 1)
    line = next(line for line in text.splitlines() if line.startswith("p1[1,0,1][2] = max("))
    assert line.endswith(f"(h1[1,{u},{v + 1}][2] is the maximum)")
    # the first convolution's corner cell: 2 input channels x 2x2 of the 3x3 kernel in the image
    corner = next(line for line in text.splitlines() if line.startswith("a1[0,0,0][1] = "))
    assert corner.count("w1[0,") == 8 and "(10 cells on the padding, 0, left out)" in corner
    # dE/dp1 passed down by the second convolution: one product per output cell and kernel cell
    terms = next(line for line in text.splitlines() if line.startswith("dE[1]/dp1[0,0,0][1] = "))
    assert terms.count(" * ") == 2 and "* w2[0,0,0,0]" in terms
    assert r.parameter("w2[0,1,1,0]").grad == conv2.weight_grad[0, 1, 1, 0]
    assert "dE/dw1[1,0,2,2] = (dE[1]/dw1[1,0,2,2] + dE[2]/dw1[1,0,2,2])/2 = " in text
    assert "\nThe backward pass: max pooling (p1)\n" in text


def test_max_pooling_ties_go_to_the_first_cell_as_in_the_engine():
    # a constant image: every window of the ReLU output ties; the gradient goes to its first cell
    net = cr.Sequential([cr.Conv2D(1, 1, 1, weight=np.ones((1, 1, 1, 1)), bias=0.0, dtype=F64),
                         cr.ReLU(), cr.MaxPool2D(2), cr.Flatten(),
                         cr.Dense(4, 1, weight=[[1.0, -2.0, 3.0, -4.0]], dtype=F64)])
    X = np.full((1, 1, 4, 4), 0.5)
    r = trace(net, "mse", X, [[0.0]], cr.SGD(0.1))
    pooling = r.images[1]
    for y in range(2):
        for x in range(2):
            assert tuple(pooling.winners[0, 0, y, x]) == (2 * y, 2 * x)
    routed = np.zeros((4, 4))
    routed[::2, ::2] = pooling.delta[0, 0]
    np.testing.assert_array_equal(pooling.grad_in[0, 0], routed)         # the engine's routing
    text = r.to_text()
    assert "p1[0,1] = max(h1[0,2], h1[0,3], h1[1,2], h1[1,3]) = max(0.5, 0.5, 0.5, 0.5) = 0.5" \
           "   (h1[0,2] is the maximum; of the tied cells, the first in row order)" in text
    assert "dE/dh1 is 0 at h1[0,1], h1[0,3], h1[1,0], h1[1,1], h1[1,2], h1[1,3], ... " \
           "(12 cells): none of them is the maximum of a window." in " ".join(text.splitlines())


def test_other_optimisers_frozen_biases_and_successive_steps():
    net = tiny_net()
    net.layers[0].bias.trainable = False
    ref = copy.deepcopy(net)
    steps = trace_steps(net, "squared_error", X_TINY, [[-0.78]], cr.optim.Adam(0.01), 2)
    assert steps[0].rule == "other"
    np.testing.assert_array_equal(steps[1].images[0].weight, steps[0].images[0].weight_new)
    ref.fit(X_TINY, np.array([[-0.78]]), loss="squared_error", optimizer=cr.optim.Adam(0.01),
            epochs=2, shuffle=False)
    np.testing.assert_allclose(net.layers[0].weight.value, ref.layers[0].weight.value,
                               atol=1e-15)
    b1 = steps[0].parameter("b1")
    assert not b1.trainable and b1.new == b1.old == 0.21
    text = steps.to_text()
    assert "w1[0,0]+ = w1[0,0] + change = 0.1 + " in text
    assert "b1 = 0.21 frozen: not updated." in text


def test_a_flatten_only_network_names_its_inputs_by_pixel():
    net = cr.Sequential([cr.Flatten(), cr.Dense(16, 1, weight=np.arange(16.0)[None] / 100,
                                                dtype=F64), cr.Sigmoid()])
    r = trace(net, "squared_error", X_TINY, [[1.0]], cr.SGD(0.5))
    assert not r.images and r.flatten.image
    text = r.to_text()
    assert text.startswith("Backpropagation, one step: a 1x4x4-1 network\n")
    assert "net_o = W1 x + b1 =" in text
    assert r.naming.input(6).text == "x[1,1]"


# ---- what the trace refuses, before training anything -----------------------------------------
def test_networks_too_large_to_write_out_are_refused_before_the_step():
    net = cr.lenet5(seed=0).astype(F64)
    before = [p.value.copy() for p in net.parameters()]
    opt = cr.SGD(0.1)
    X = np.zeros((1, 1, 28, 28))
    with pytest.raises(cr.errors.NotAvailableError,
                       match=r"takes [0-9,]+ products .* at most 3,000"):
        trace(net, "cross_entropy", X, [3], opt)
    for p, value in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.value, value)                     # nothing was trained
    assert getattr(opt, "iterations", 0) == 0
    for layer in net.layers:
        assert not {"forward", "backward", "backward_params"} & set(vars(layer))


def test_the_product_count_and_the_line_limit():
    # the tiny case: 36 products forward, 36 for the kernel gradient, 9 relu deltas, 9 through
    # the Dense layer: far under the limit
    image_plan = trace_conv.plan(tiny_net(), X_TINY)
    assert [s.kind for s in image_plan.stages] == ["conv"]
    wide = cr.Sequential([cr.Conv2D(1, 1, 1, dtype=F64), cr.Flatten(),
                          cr.Dense(225, 1, dtype=F64)])
    with pytest.raises(cr.errors.NotAvailableError, match="sums of 225 terms on one line.*"
                                                          "at most 200 per line"):
        trace(wide, "mse", np.zeros((1, 1, 15, 15)), [[0.0]], cr.SGD(0.1))
    many = cr.Sequential([cr.Conv2D(1, 4, 3, padding=1, dtype=F64), cr.Flatten(),
                          cr.Dense(4 * 36, 1, dtype=F64)])
    # per axis 16 (output row, kernel row) pairs land in the 6 rows: 4 kernels x 16 x 16 = 1024
    # products forward, 1024 for the kernel gradients, 144 through the Dense layer: 2192 for
    # one example, which is written; two examples take 4384 and are refused
    trace(copy.deepcopy(many), "mse", np.ones((1, 1, 6, 6)), [[0.0]], cr.SGD(0.1))
    with pytest.raises(cr.errors.NotAvailableError, match="takes 4,384 products"):
        trace(many, "mse", np.ones((2, 1, 6, 6)), [[0.0], [1.0]], cr.SGD(0.1))


def test_layers_the_image_part_cannot_write_are_named():
    net = cr.Sequential([cr.Conv2D(1, 1, 2, dtype=F64), cr.Dropout(0.5), cr.Flatten(),
                         cr.Dense(9, 1, dtype=F64)])
    with pytest.raises(cr.errors.NotAvailableError, match=r"layer 1, Dropout\(p=0.5\), sits "
                                                          r"before the Flatten"):
        trace(net, "mse", X_TINY, [[0.0]], cr.SGD(0.1))
