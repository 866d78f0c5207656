"""cr.trace: one training step recorded number by number.

The 2-2-2 network is checked against every number the notes print (typed in from
worked-examples.md, to the digits the slides print); a random 3-4-2 network with a batch
against central differences and updates computed here, independently of the trace.
"""
import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import examples
from chainrule.errors import InvalidValueError, ShapeError
from chainrule.trace import trace, trace_steps


def close_to_printed(value, printed, tolerance=None):
    """Whether ``value`` rounds to the slide's ``printed`` text (half a unit of its last digit)."""
    decimals = len(printed.partition(".")[2])
    tolerance = 0.5 * 10.0 ** -decimals + 1e-15 if tolerance is None else tolerance
    return abs(float(value) - float(printed)) <= tolerance


def notes_trace():
    net = examples.two_two_two_net()
    record = trace(net, cr.SquaredError(), examples.INPUT_222, examples.TARGET_222, cr.SGD(0.5))
    return net, record


# ---- the notes' 2-2-2 network -------------------------------------------------------------------
def test_forward_pass_and_error_of_the_notes():
    _, r = notes_trace()
    assert r.is_notes_example and r.naming.scheme == "notes" and r.batch == 1
    slide = {
        "net_h1": (r.neuron("h1").net[0], "0.3775"),
        "out_h1": (r.neuron("h1").out[0], "0.593269992"),
        "out_h2": (r.neuron("h2").out[0], "0.596884378"),
        "net_o1": (r.neuron("o1").net[0], "1.105905967"),
        "out_o1": (r.neuron("o1").out[0], "0.75136507"),
        "out_o2": (r.neuron("o2").out[0], "0.772928465"),
        "E_o1": (r.neuron("o1").error[0], "0.274811083"),
        "E_o2": (r.neuron("o2").error[0], "0.023560026"),
        "E_total": (r.E_total, "0.298371109"),
    }
    for name, (value, printed) in slide.items():
        assert close_to_printed(value, printed), (name, value, printed)
    assert r.neuron("o1").target[0] == 0.01 and r.neuron("o2").target[0] == 0.99
    assert r.errors.sum() == pytest.approx(r.E_total, abs=1e-15)


def test_output_weight_w5_as_the_chain_rule_of_the_notes():
    _, r = notes_trace()
    w5 = r.parameter("w5")
    assert (w5.kind, w5.layer, w5.j, w5.i) == ("weight", 2, 1, 1)
    assert [label for label, _ in w5.factors] == ["dE/dout", "dout/dnet", "dnet/dw"]
    assert close_to_printed(w5.factor("dE/dout")[0], "0.74136507")
    assert close_to_printed(w5.factor("dout/dnet")[0], "0.186815602")
    assert close_to_printed(w5.factor("dnet/dw")[0], "0.593269992")
    assert close_to_printed(w5.grad, "0.082167041")
    assert w5.products[0] == pytest.approx(w5.grad, rel=1e-14)
    assert close_to_printed(r.neuron("o1").delta[0], "0.138498562")   # dE_o1/dnet_o1
    assert close_to_printed(w5.new, "0.35891648")


def test_hidden_weight_w1_sums_the_paths_through_both_outputs():
    _, r = notes_trace()
    h1 = r.neuron("h1")
    through_o1, through_o2 = h1.paths[0]
    assert close_to_printed(through_o1, "0.055399425")
    # The slide prints -0.019049119; the exact value -0.0190491183 rounds to ...118.
    assert abs(through_o2 - (-0.019049119)) <= 1e-9
    assert close_to_printed(through_o2, "-0.019049118")
    assert close_to_printed(h1.dE_dout[0], "0.036350306")
    assert h1.dE_dout[0] == pytest.approx(through_o1 + through_o2, abs=1e-16)
    assert close_to_printed(h1.dout_dnet[0], "0.241300709")
    w1 = r.parameter("w1")
    assert close_to_printed(w1.factor("dE/dout")[0], "0.036350306")
    assert close_to_printed(w1.factor("dout/dnet")[0], "0.241300709")
    assert w1.factor("dnet/dw")[0] == 0.05
    assert close_to_printed(w1.grad, "0.000438568")


def test_every_updated_weight_of_the_notes():
    net, r = notes_trace()
    printed = {"w1": "0.149780716", "w2": "0.19956143", "w3": "0.24975114", "w4": "0.29950229",
               "w5": "0.35891648", "w6": "0.408666186", "w7": "0.511301270", "w8": "0.561370121"}
    for name, text in printed.items():
        p = r.parameter(name)
        assert close_to_printed(p.new, text), (name, p.new, text)
        assert p.new == p.old - 0.5 * p.grad                 # the rule the record shows
    assert r.rule == "sgd" and r.lr == 0.5
    # the step really happened on the network, and the biases stayed frozen as in the notes
    np.testing.assert_array_equal(net.layers[0].weight.value, r.layer(1).weight_new)
    np.testing.assert_array_equal(net.layers[2].weight.value, r.layer(2).weight_new)
    for name, value in (("b1", 0.35), ("b2", 0.6)):
        b = r.parameter(name)
        assert not b.trainable and b.old == b.new == value and b.grad != 0
    # the textbook error after one update (worked-examples.md); the slide prints 0.291027924
    assert r.error_after == pytest.approx(0.2910277737, abs=1e-10)


def test_the_record_holds_the_engines_numbers():
    """Same gradients as net.compute_gradients on a copy, same step as SGD on a copy."""
    _, r = notes_trace()
    ref, loss = examples.two_two_two_net(), cr.SquaredError()
    ref.compute_gradients(loss, examples.INPUT_222, loss.prepare_target(examples.TARGET_222, 2,
                                                                        ref.dtype))
    np.testing.assert_array_equal(r.layer(1).weight_grad, ref.layers[0].weight.grad)
    np.testing.assert_array_equal(r.layer(2).weight_grad, ref.layers[2].weight.grad)
    np.testing.assert_array_equal(r.layer(2).bias_grad, ref.layers[2].bias.grad)
    cr.SGD(0.5).step(ref.parameters())
    np.testing.assert_array_equal(r.layer(1).weight_new, ref.layers[0].weight.value)


def test_successive_steps_continue_from_the_updated_weights():
    net = examples.two_two_two_net()
    steps = trace_steps(net, "squared_error", examples.INPUT_222, examples.TARGET_222,
                        cr.SGD(0.5), 3)
    assert [s.step for s in steps] == [1, 2, 3]
    assert steps[0].is_notes_example and not steps[1].is_notes_example
    for before, after in zip(steps, steps[1:]):
        np.testing.assert_array_equal(after.layer(1).weight, before.layer(1).weight_new)
        assert after.E_total == pytest.approx(before.error_after, abs=1e-15)
    history = examples.two_two_two_net().fit(examples.INPUT_222, examples.TARGET_222,
                                             loss="squared_error", optimizer=cr.SGD(0.5),
                                             epochs=3)
    assert [s.E_total for s in steps] == pytest.approx(history["loss"], abs=1e-15)


# ---- a random 3-4-2 network, tanh hidden, softmax + cross-entropy, a batch of 3 -----------------
def batch_case():
    rng = np.random.default_rng(42)
    net = cr.mlp([3, 4, 2], activation="tanh", output="softmax", dtype="float64", seed=7)
    for p in net.parameters():  # non-zero biases so that their gradients mean something
        p.value += rng.normal(scale=0.1, size=p.value.shape)
    X = rng.normal(size=(3, 3))
    y = np.array([0, 1, 1])
    return net, X, y


def mean_cross_entropy(net, X, y):
    """The loss written out here: softmax(W2 tanh(W1 x + b1) + b2), -ln p_y, batch mean."""
    W1, b1 = net.layers[0].weight.value, net.layers[0].bias.value
    W2, b2 = net.layers[2].weight.value, net.layers[2].bias.value
    a2 = np.tanh(X @ W1.T + b1) @ W2.T + b2
    log_p = a2 - np.log(np.exp(a2).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean()


def central_differences(net, X, y, eps=1e-6):
    grads = []
    for p in net.parameters():
        g = np.zeros_like(p.value)
        for index in np.ndindex(p.value.shape):
            keep = p.value[index]
            p.value[index] = keep + eps
            up = mean_cross_entropy(net, X, y)
            p.value[index] = keep - eps
            down = mean_cross_entropy(net, X, y)
            p.value[index] = keep
            g[index] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def test_batch_trace_against_central_differences_and_the_engine():
    net, X, y = batch_case()
    before = copy.deepcopy(net)
    numeric = central_differences(copy.deepcopy(net), X, y)
    engine = copy.deepcopy(net)
    loss = cr.CrossEntropy()
    engine.compute_gradients(loss, X, loss.prepare_target(y, 2, engine.dtype))

    r = trace(net, loss, X, y, cr.SGD(0.3))
    assert r.batch == 3 and r.naming.scheme == "one-hidden" and r.fused
    assert r.E_total == pytest.approx(mean_cross_entropy(before, X, y), abs=1e-14)
    recorded = [r.layer(1).weight_grad, r.layer(1).bias_grad,
                r.layer(2).weight_grad, r.layer(2).bias_grad]
    for got, want, p in zip(recorded, numeric, engine.parameters()):
        np.testing.assert_allclose(got, want, atol=1e-8)      # central differences
        np.testing.assert_array_equal(got, p.grad)            # the engine's own gradients
    # every parameter: the batch mean of its per-example chain-rule products, then the update
    for layer in r.layers:
        for p in layer.parameters:
            assert p.grad == pytest.approx(np.mean(p.products), abs=1e-15)
            assert p.new == p.old - 0.3 * p.grad
            assert p.change == pytest.approx(-0.3 * p.grad, abs=1e-16)
    np.testing.assert_array_equal(net.layers[0].weight.value,
                                  before.layers[0].weight.value - 0.3 * recorded[0])
    assert r.parameter("w1_2,3").grad == recorded[0][1, 2]    # layer 1, into h2, from i3
    assert r.parameter("b2_1").grad == recorded[3][0]


def test_batch_trace_forward_and_deltas_written_out():
    net, X, y = batch_case()
    W1, b1 = net.layers[0].weight.value.copy(), net.layers[0].bias.value.copy()
    W2, b2 = net.layers[2].weight.value.copy(), net.layers[2].bias.value.copy()
    r = trace(net, "cross_entropy", X, y, cr.SGD(0.3))
    h = np.tanh(X @ W1.T + b1)
    a2 = h @ W2.T + b2
    p = np.exp(a2) / np.exp(a2).sum(axis=1, keepdims=True)
    t = np.eye(2)[y]
    for j in range(4):
        neuron = r.neuron(f"h{j + 1}")
        np.testing.assert_allclose(neuron.net, (X @ W1.T + b1)[:, j], atol=1e-15)
        np.testing.assert_allclose(neuron.out, h[:, j], atol=1e-15)
        np.testing.assert_allclose(neuron.dout_dnet, 1 - h[:, j] ** 2, atol=1e-15)
        # dE_n/dout_hj = sum over k of (p - t)_k w_kj, path by path
        np.testing.assert_allclose(neuron.paths, (p - t) * W2[:, j], atol=1e-15)
        np.testing.assert_allclose(neuron.dE_dout, ((p - t) @ W2)[:, j], atol=1e-15)
    for k in range(2):
        neuron = r.neuron(f"o{k + 1}")
        np.testing.assert_allclose(neuron.out, p[:, k], atol=1e-15)
        np.testing.assert_allclose(neuron.delta, (p - t)[:, k], atol=1e-15)  # per example
        np.testing.assert_allclose(neuron.error, -t[:, k] * np.log(p[:, k]), atol=1e-15)
        assert neuron.dE_dout is None                     # fused: dE/dnet = p - t directly
    w = r.parameter("w2_1,3")
    assert [label for label, _ in w.factors] == ["dE/dnet", "dnet/dw"]
    np.testing.assert_allclose(w.products, (p - t)[:, 0] * h[:, 2], atol=1e-15)


# ---- other losses, optimisers and layers --------------------------------------------------------
def test_softmax_with_squared_error_uses_the_softmax_jacobian():
    net, X, _ = batch_case()
    y = np.array([[0.2, 0.8], [1.0, 0.0], [0.5, 0.5]])
    r = trace(net, "squared_error", X, y, cr.SGD(0.1))
    out = r.layer(2)
    assert not out.fused and out.jacobian.shape == (3, 2, 2)
    np.testing.assert_allclose(out.dE_dout, out.out - y, atol=1e-15)
    np.testing.assert_allclose(out.delta, np.einsum("nk,nkj->nj", out.dE_dout, out.jacobian),
                               atol=1e-15)
    p = out.out
    np.testing.assert_allclose(out.jacobian[:, 0, 1], -p[:, 0] * p[:, 1], atol=1e-15)


def test_other_optimisers_show_old_new_and_change():
    net, X, y = batch_case()
    ref = copy.deepcopy(net)
    r = trace(net, "cross_entropy", X, y, cr.optim.Adam(0.01))
    assert r.rule == "other" and r.optimizer.startswith("Adam")
    loss = cr.CrossEntropy()
    ref.compute_gradients(loss, X, loss.prepare_target(y, 2, ref.dtype))
    cr.optim.Adam(0.01).step(ref.parameters())
    np.testing.assert_array_equal(r.layer(2).weight_new, ref.layers[2].weight.value)
    p = r.parameter("w2_2,4")
    assert p.change == p.new - p.old and abs(p.change) == pytest.approx(0.01, rel=1e-3)
    assert "w2_2,4+ = w2_2,4 + change = " in r.to_text()


def test_momentum_carries_over_between_traced_steps():
    net, X, y = batch_case()
    ref = copy.deepcopy(net)
    opt = cr.SGD(0.1, momentum=0.9)
    steps = trace_steps(net, "cross_entropy", X, y, opt, 2)
    assert steps[0].rule == steps[1].rule == "other"
    ref.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(0.1, momentum=0.9), epochs=2,
            shuffle=False)
    np.testing.assert_allclose(net.layers[0].weight.value, ref.layers[0].weight.value,
                               atol=1e-15)


def test_deep_network_names_and_relu():
    net = cr.Sequential([cr.Dense(2, 3, dtype="float64", seed=1), cr.ReLU(),
                         cr.Dense(3, 3, dtype="float64", seed=2), cr.Sigmoid(),
                         cr.Dense(3, 1, dtype="float64", seed=3), cr.Identity()])
    r = trace(net, "mse", [[0.5, -1.0]], [[0.3]], cr.SGD(0.1))
    assert r.naming.scheme == "deep"
    assert [n.name for n in r.layer(2).neurons] == ["h2_1", "h2_2", "h2_3"]
    relu = r.layer(1)
    np.testing.assert_array_equal(relu.dout_dnet[0], (relu.net[0] > 0).astype(float))
    assert r.parameter("w3_1,2").factor("dnet/dw")[0] == r.neuron("h2_2").out[0]
    assert r.errors[0, 0] == pytest.approx(r.E_total, abs=1e-15)


def test_dropout_is_recorded_as_another_layer():
    net = cr.Sequential([cr.Dense(2, 4, dtype="float64", seed=1), cr.Sigmoid(),
                         cr.Dropout(0.5, seed=3), cr.Dense(4, 2, dtype="float64", seed=2),
                         cr.Sigmoid()])
    r = trace(net, "squared_error", [[0.1, 0.2]], [[0.0, 1.0]], cr.SGD(0.5))
    assert [o.index for o in r.others] == [2]
    mask = r.others[0].output[0] / r.layer(1).out[0]
    assert set(np.round(mask, 12)) <= {0.0, 2.0}
    assert r.layer(1).paths is None                        # dropout sits between the layers
    assert r.layer(1).dE_dout is not None
    assert "Other layers" in r.to_text()


def test_float32_networks_are_traced_in_float32_with_a_note():
    net = examples.two_two_two_net().astype("float32")
    r = trace(net, "squared_error", examples.INPUT_222.astype("float32"),
              examples.TARGET_222, cr.SGD(0.5))
    assert r.dtype == "float32" and not r.is_notes_example
    assert any("float32" in note for note in r.notes)
    assert r.parameter("w5").grad == pytest.approx(0.082167041, abs=1e-7)


# ---- errors and hygiene -------------------------------------------------------------------------
def test_bad_arguments_say_what_is_wrong():
    net = examples.two_two_two_net()
    with pytest.raises(ShapeError, match="3 features but the first layer expects 2"):
        trace(net, "squared_error", [[0.1, 0.2, 0.3]], [[0.0, 1.0]], cr.SGD(0.5))
    with pytest.raises(ShapeError, match="2 input rows but 1 targets"):
        trace(net, "squared_error", [[0.1, 0.2], [0.3, 0.4]], [[0.0, 1.0]], cr.SGD(0.5))
    with pytest.raises(InvalidValueError, match="optimizer must be"):
        trace(net, "squared_error", [[0.1, 0.2]], [[0.0, 1.0]], 0.5)
    with pytest.raises(InvalidValueError, match="no Dense layer"):
        trace(cr.Sequential([cr.Sigmoid()]), "squared_error", [[0.1]], [[0.0]], cr.SGD(0.5))
    with pytest.raises(InvalidValueError, match="steps must be a positive integer"):
        trace_steps(net, "squared_error", [[0.1, 0.2]], [[0.0, 1.0]], cr.SGD(0.5), 0)


class Exploding(cr.Sigmoid):
    def backward(self, grad_out):
        raise RuntimeError("boom")


def test_the_layers_are_left_as_they_were_even_when_the_step_fails():
    net = cr.Sequential([cr.Dense(2, 2, dtype="float64", seed=0), Exploding()])
    with pytest.raises(RuntimeError, match="boom"):
        trace(net, "squared_error", [[0.1, 0.2]], [[0.0, 1.0]], cr.SGD(0.5))
    for layer in net.layers:
        assert not {"forward", "backward", "backward_params"} & set(vars(layer))
    net, _ = notes_trace()
    for layer in net.layers:
        assert not {"forward", "backward", "backward_params"} & set(vars(layer))

