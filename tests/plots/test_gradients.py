"""GradientNorms and gradient_norms: per-layer gradient norms over training."""
import copy

import numpy as np
import pytest

import chainrule as cr
from png import png_size
from chainrule.errors import InvalidValueError

pytest.importorskip("matplotlib")
from chainrule.plots import GradientNorms, gradient_norms  # noqa: E402

def test_norms_are_those_of_the_gradient_of_each_weight_matrix():
    """Batch gradient descent: one batch per epoch, so epoch 1's norm is the norm of the
    gradient at the initial weights, computed here separately."""
    X, y, _, _ = cr.datasets.load("moons", n=60)
    net = cr.mlp([2, 5, 4, 2], activation="tanh", seed=0, dtype="float64")
    before = copy.deepcopy(net)
    loss = cr.CrossEntropy()
    before.compute_gradients(loss, before.prepare_inputs(X),
                             loss.prepare_target(y, 2, before.dtype))
    expected = [np.linalg.norm(before.layers[i].weight.grad) for i in (0, 2, 4)]

    norms = GradientNorms()
    net.fit(X, y, loss=loss, epochs=3, callbacks=[norms])
    assert list(norms.norms) == ["W1", "W2", "W3"]
    assert norms.shapes == {"W1": (5, 2), "W2": (4, 5), "W3": (2, 4)}
    assert norms.epochs == [1, 2, 3]
    assert all(len(v) == 3 for v in norms.norms.values())
    np.testing.assert_allclose([norms.norms[k][0] for k in ("W1", "W2", "W3")], expected,
                               rtol=1e-12)


def test_mini_batches_are_averaged():
    X, y, _, _ = cr.datasets.load("moons", n=60)
    net = cr.mlp([2, 4, 2], seed=0)
    norms = GradientNorms()
    net.fit(X, y, epochs=2, batch_size=16, callbacks=[norms])
    assert norms.epochs == [1, 2] and all(v > 0 for v in norms.norms["W1"])
    net.fit(X, y, epochs=1, callbacks=[norms])  # a new fit starts a new record
    assert norms.epochs == [1]


def test_vanishing_gradients_in_a_deep_sigmoid_network(tmp_path):
    """2-16-16-16-16-2 sigmoid on spirals: each layer on the way back multiplies the error
    by a sigmoid slope of at most 0.25, so the first layer's gradient is far smaller."""
    X, y, _, _ = cr.datasets.load("spirals", k=2)
    net = cr.mlp([2, 16, 16, 16, 16, 2], activation="sigmoid", seed=0)
    norms = GradientNorms()
    net.fit(X, y, optimizer=cr.SGD(0.5), epochs=8, callbacks=[norms])
    first, last = np.array(norms.norms["W1"]), np.array(norms.norms["W5"])
    assert first[0] < 0.01 * last[0]                # a hundred times smaller at the start
    assert first.mean() < 0.05 * last.mean()        # and over the whole run
    values = [norms.norms[f"W{k}"][0] for k in range(1, 6)]
    assert values == sorted(values)                 # growing from the input to the output
    assert norms.ratio(0) == pytest.approx(first[0] / last[0])

    path = tmp_path / "norms.png"
    fig = gradient_norms(norms, path, size=(8, 4), dpi=50)
    assert png_size(path.read_bytes()) == (400, 200)
    left, right = fig.axes
    assert left.get_yscale() == "log" and right.get_yscale() == "log"
    assert [line.get_label() for line in left.get_lines()] == [
        "W1 (16x2)", "W2 (16x16)", "W3 (16x16)", "W4 (16x16)", "W5 (2x16)"]
    assert "W1's gradient is" in right.get_title() and "smaller than W5's" in right.get_title()


def test_relu_network_for_contrast():
    X, y, _, _ = cr.datasets.load("spirals", k=2)
    net = cr.mlp([2, 16, 16, 16, 16, 2], activation="relu", seed=0)
    norms = GradientNorms()
    net.fit(X, y, optimizer=cr.SGD(0.1), epochs=3, callbacks=[norms])
    assert norms.ratio(0) > 0.05


def test_a_dict_and_a_linear_axis_within_a_decade():
    fig = gradient_norms({"W1": [0.12, 0.1], "W2": [0.2, 0.18]})
    left, right = fig.axes
    assert left.get_yscale() == "linear" and left.get_ylim()[0] == 0
    np.testing.assert_array_equal(left.get_lines()[0].get_xdata(), [1, 2])


@pytest.mark.parametrize("source", [{}, {"W1": []}, GradientNorms(), [1, 2]])
def test_nothing_to_plot(source):
    with pytest.raises(InvalidValueError, match="gradient_norms"):
        gradient_norms(source)


def test_uneven_lists():
    with pytest.raises(InvalidValueError, match="lengths"):
        gradient_norms({"W1": [1.0], "W2": [1.0, 2.0]})
