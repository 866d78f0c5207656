"""Diagnostics: each warning fires on a planted case, once per run, and never on a healthy one."""
import os
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InvalidValueError
from chainrule.layers import Dense
from chainrule.training.diagnostics import (CHECKS, DiagnosticWarning, Diagnostics, diagnose,
                                            with_diagnostics)


def spirals(**options):
    X, y, _, _ = cr.datasets.load("spirals", **options)
    return X, y


def digits():
    X, y, _, _ = cr.datasets.load("digits")
    return X, y


def scaled(net, factor):
    for layer in net.layers:
        if isinstance(layer, Dense):
            layer.weight.value *= factor
    return net


def fit_and_catch(net, X, y, diagnostics=None, **options):
    """Train with a Diagnostics callback; the DiagnosticWarnings raised, in order."""
    diagnostics = diagnostics or Diagnostics()
    options = {"epochs": 3, **options}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.fit(X, y, callbacks=[diagnostics], **options)
    return [w for w in caught if issubclass(w.category, DiagnosticWarning)], diagnostics


def kinds(found):
    """The checks behind caught warnings or Findings, in order."""
    return [w.message.kind if isinstance(w, warnings.WarningMessage) else w.kind for w in found]


# ---- healthy runs stay silent ---------------------------------------------------------------
@pytest.mark.parametrize("sizes, activation, data, options", [
    ([64, 32, 10], "relu", digits, {"optimizer": cr.SGD(0.1, momentum=0.9), "batch_size": 32}),
    ([64, 32, 10], "sigmoid", digits, {"optimizer": cr.Adam(0.01), "batch_size": 64}),
    ([2, 16, 16, 3], "tanh", spirals, {"optimizer": cr.Adam(0.01), "batch_size": 32}),
    ([2, 16, 3], "relu", spirals, {"optimizer": cr.SGD(0.1)}),
])
def test_healthy_runs_are_silent(sizes, activation, data, options):
    X, y = data()
    found, diagnostics = fit_and_catch(cr.mlp(sizes, activation=activation, seed=0), X, y,
                                       epochs=4, **options)
    assert found == [] and diagnostics.findings == []
    assert diagnostics.checked == [1]  # the epoch checks did run


# ---- each check on its planted case ---------------------------------------------------------
def test_unscaled_inputs_large_values():
    X, y = spirals()
    found, _ = fit_and_catch(cr.mlp([2, 16, 3], seed=0), X * 1000.0, y,
                             optimizer=cr.SGD(1e-4))
    assert "unscaled_inputs" in kinds(found)
    message = str(next(w.message for w in found if w.message.kind == "unscaled_inputs"))
    assert "feature" in message and "standardize" in message and "Fix:" in message


def test_the_input_check_reads_its_sample_a_few_rows_at_a_time():
    """Its statistics are the whole sample's (closed form), and the check allocates a small
    part of what a float64 copy of the sample would take (4,096 images: 54 MB)."""
    import tracemalloc

    from chainrule.training import diagnostics

    rng = np.random.default_rng(0)
    images = (rng.random((5000, 1, 28, 28)) * (rng.random((5000, 1, 28, 28)) > 0.4) * 255)
    images = images.astype(np.float32)
    squares, nonzero, n = diagnostics._column_squares(images, diagnostics.INPUT_SAMPLE)
    sample = images[diagnostics._rows(5000, diagnostics.INPUT_SAMPLE)].reshape(n, -1)
    assert n == diagnostics.INPUT_SAMPLE
    np.testing.assert_allclose(squares, (sample.astype(np.float64) ** 2).sum(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(nonzero, (sample != 0).sum(axis=0))
    tracemalloc.start()
    try:
        found = diagnostics._unscaled_inputs(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    largest = np.sqrt((sample.astype(np.float64) ** 2).mean(axis=0)).max()  # about 255 sqrt(0.2)
    assert f"(about {largest:.2g})" in found
    assert peak < 8 * 2**20


def test_unscaled_inputs_very_different_scales():
    X, y = spirals()
    X = X * np.array([1.0, 1e-4])
    findings = diagnose(cr.mlp([2, 16, 3], seed=0), X, y, checks=["unscaled_inputs"])
    assert kinds(findings) == ["unscaled_inputs"]
    assert "very different scales" in findings[0].message
    assert "feature 0" in findings[0].message and "feature 1" in findings[0].message


def test_rarely_used_pixels_are_not_a_scale_problem():
    X, y = digits()  # corner pixels are almost always 0: small on average, not small-scaled
    assert diagnose(cr.mlp([64, 16, 10], seed=0), X, y, checks=["unscaled_inputs"]) == []


def test_unscaled_regression_targets_and_not_exploding_gradients():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=200)
    net = cr.mlp([3, 8, 1], activation="tanh", output="identity", seed=0)
    found, _ = fit_and_catch(net, X, 500.0 * y + 1000.0, optimizer=cr.Adam(0.01))
    assert kinds(found) == ["unscaled_targets"]  # the cause, not its symptom
    assert "pred * std + mean" in str(found[0].message)
    net = cr.mlp([3, 8, 1], activation="tanh", output="identity", seed=0)
    found, _ = fit_and_catch(net, X, y, optimizer=cr.Adam(0.01))
    assert found == []


def test_softmax_with_squared_error():
    X, y = spirals()
    one_hot = np.eye(3)[y]
    found, _ = fit_and_catch(cr.mlp([2, 16, 3], seed=0), X, one_hot, loss=cr.SquaredError())
    assert kinds(found) == ["softmax_squared_error"]
    assert "CrossEntropy" in str(found[0].message)
    found, _ = fit_and_catch(cr.mlp([2, 16, 3], seed=0), X, one_hot, loss=cr.CrossEntropy())
    assert found == []


def test_saturated_sigmoid_units():
    X, y = spirals()
    net = scaled(cr.mlp([2, 32, 32, 3], activation="sigmoid", seed=0), 10.0)
    findings = diagnose(net, X, y)
    assert "saturation" in kinds(findings)
    message = next(f.message for f in findings if f.kind == "saturation")
    assert "hidden layer 2" in message and "within 0.026 of 0 or 1" in message


def test_saturated_tanh_units_from_unscaled_inputs():
    X, y = spirals()
    found, _ = fit_and_catch(cr.mlp([2, 32, 32, 3], activation="tanh", seed=0), X * 100.0, y)
    assert kinds(found)[:2] == ["unscaled_inputs", "saturation"]
    assert "hidden layer 1" in str(found[1].message)


def test_dead_relus():
    X, y = spirals()
    net = cr.mlp([2, 32, 32, 3], seed=0)
    for layer in net.layers:
        if isinstance(layer, Dense):
            layer.bias.value[...] = -5.0  # every weighted sum below 0
    found, _ = fit_and_catch(net, X, y, optimizer=cr.SGD(0.5))
    assert kinds(found) == ["dead_relu"]
    message = str(found[0].message)
    assert "32 of the 32 ReLU units of hidden layer 1" in message
    assert "lower the learning rate (it is 0.5)" in message and "leaky_relu" in message


@pytest.mark.parametrize("frozen", [False, True], ids=["trained", "first-layer-frozen"])
def test_vanishing_gradients_in_a_deep_sigmoid_network(frozen):
    # fit computes no gradient for a frozen weight; the check computes it all the same.
    X, y = spirals(k=2)
    net = cr.mlp([2, 16, 16, 16, 16, 2], activation="sigmoid", seed=0)
    net.layers[0].weight.trainable = not frozen
    found, _ = fit_and_catch(net, X, y, optimizer=cr.SGD(0.5))
    assert kinds(found) == ["vanishing_gradients"]
    message = str(found[0].message)
    assert "layer 1" in message and "layer 5" in message and "ReLU" in message


def test_exploding_gradients():
    X, y = spirals()
    net = scaled(cr.mlp([2, 32, 32, 32, 32, 32, 3], seed=0), 3.0)
    found, _ = fit_and_catch(net, X, y, optimizer=cr.SGD(0.1), epochs=1)
    assert "exploding_gradients" in kinds(found)
    message = str(next(w.message for w in found if w.message.kind == "exploding_gradients"))
    assert "one step of SGD(lr=0.1) would move the weights of layer" in message
    assert "clip_norm" in message
    # Adam's steps do not grow with the gradient: large gradients alone are no explosion
    net = scaled(cr.mlp([2, 32, 32, 32, 32, 32, 3], seed=0), 3.0)
    assert diagnose(net, X, y, optimizer=cr.Adam(0.001), checks=["exploding_gradients"]) == []
    assert kinds(diagnose(net, X, y, checks=["exploding_gradients"])) == ["exploding_gradients"]


def test_every_message_says_what_to_do():
    X, y = spirals()
    net = scaled(cr.mlp([2, 32, 32, 3], activation="sigmoid", seed=0), 10.0)
    for finding in diagnose(net, X * 100, y):
        assert "Fix:" in finding.message


# ---- the callback --------------------------------------------------------------------------
def test_once_per_run_and_again_in_the_next_run():
    X, y = spirals()
    net = cr.mlp([2, 16, 3], seed=0)
    diagnostics = Diagnostics(budget=1.0)  # check after every epoch
    found, _ = fit_and_catch(net, X * 1000.0, y, diagnostics, epochs=5,
                             optimizer=cr.SGD(1e-4))
    assert diagnostics.checked == [1, 2, 3, 4, 5]
    assert len(found) == len(set(kinds(found))) and "unscaled_inputs" in kinds(found)
    again, _ = fit_and_catch(net, X * 1000.0, y, diagnostics, epochs=1,
                             optimizer=cr.SGD(1e-4))
    assert "unscaled_inputs" in kinds(again)


def test_restarts_are_one_run():
    X, y = spirals()
    net = cr.mlp([2, 8, 3], seed=0)
    found, _ = fit_and_catch(net, X * 1000.0, y, epochs=2, restarts=2, restart_after=1,
                             optimizer=cr.SGD(1e-9))
    assert kinds(found).count("unscaled_inputs") == 1


def test_the_warning_points_at_the_callers_line():
    X, y = spirals()
    found, _ = fit_and_catch(cr.mlp([2, 8, 3], seed=0), X * 1000.0, y)
    assert os.path.basename(found[0].filename) == "test_diagnostics.py"


def test_checks_follow_the_budget():
    X, y = spirals()  # 225 examples: a check looks at all of them, so once per 100 epochs
    diagnostics = Diagnostics()
    fit_and_catch(cr.mlp([2, 4, 3], seed=0), X, y, diagnostics, epochs=3)
    assert diagnostics.every == 100 and diagnostics.checked == [1]
    diagnostics = Diagnostics(sample=16, budget=0.5)
    fit_and_catch(cr.mlp([2, 4, 3], seed=0), X, y, diagnostics, epochs=4)
    assert diagnostics.every == 1 and diagnostics.checked == [1, 2, 3, 4]
    # 16 examples: a check still costs about a chunk of 64, so 64 / (0.5 * 16) = 8 epochs.
    diagnostics = Diagnostics(budget=0.5)
    fit_and_catch(cr.mlp([2, 4, 3], seed=0), X[:16], y[:16], diagnostics, epochs=10)
    assert diagnostics.every == 8 and diagnostics.checked == [1, 9]


def test_training_is_unchanged_and_gradients_are_put_back():
    """No random number drawn, no running statistic moved, no gradient left changed."""
    X, y = digits()

    class Grads(cr.callbacks.Callback):
        def on_epoch_end(self, state):
            self.seen = [p.grad.copy() for p in state.net.parameters()]

    results = []
    for extra in ([], [Diagnostics(budget=1.0)]):
        net = cr.Sequential([cr.Dense(64, 16, seed=1), cr.BatchNorm(16), cr.ReLU(),
                             cr.Dropout(0.3, seed=2), cr.Dense(16, 10, seed=3), cr.Softmax()])
        before, after = Grads(), Grads()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DiagnosticWarning)
            net.fit(X, y, epochs=2, batch_size=128, seed=4, callbacks=[before, *extra, after])
        for a, b in zip(before.seen, after.seen):
            np.testing.assert_array_equal(a, b)
        results.append([p.value.copy() for p in net.parameters()] + [net.layers[1].running_mean])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_choosing_checks_and_with_diagnostics():
    X, y = spirals()
    found, _ = fit_and_catch(cr.mlp([2, 8, 3], seed=0), X * 1000.0, y,
                             Diagnostics(checks=["dead_relu"]))
    assert found == []
    with pytest.raises(InvalidValueError, match="unknown check"):
        Diagnostics(checks=["typo"])
    with pytest.raises(InvalidValueError, match="sample"):
        Diagnostics(sample=0)
    mine = Diagnostics(checks=())
    assert with_diagnostics([mine]) == [mine]
    added = with_diagnostics([])
    assert len(added) == 1 and isinstance(added[0], Diagnostics) and added[0].checks == CHECKS


def test_diagnose_changes_nothing():
    X, y = digits()
    net = cr.mlp([64, 16, 10], seed=0)
    values = [p.value.copy() for p in net.parameters()]
    grads = [p.grad.copy() for p in net.parameters()]
    assert diagnose(net, X, y) == []
    for p, v, g in zip(net.parameters(), values, grads):
        np.testing.assert_array_equal(p.value, v)
        np.testing.assert_array_equal(p.grad, g)
