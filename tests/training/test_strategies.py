"""Seed 003's strategies (misclassified examples, random restarts), penalties, augmentation."""
import numpy as np
import pytest

import chainrule as cr
from numeric import numeric_grad


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def classifier(seed=0):
    return cr.mlp([2, 5, 2], activation="tanh", output="softmax", dtype="float64", seed=seed)


def test_misclassified_trains_only_on_the_wrong_examples():
    X, y = blobs()
    net, reference = classifier(), classifier()
    history = net.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(0.5), epochs=1,
                      strategy="misclassified")
    wrong = reference.predict(X).argmax(axis=1) != y
    assert 0 < wrong.sum() < len(y)
    expected = cr.CrossEntropy().forward(reference.predict(X[wrong]), y[wrong])
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)
    reference.fit(X[wrong], y[wrong], loss="cross_entropy", optimizer=cr.SGD(0.5), epochs=1)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_misclassified_stops_when_everything_is_right():
    X, y = blobs()
    history = classifier().fit(X, y, loss="cross_entropy", optimizer=cr.SGD(1.0), epochs=500,
                               strategy="misclassified")
    assert history.stop_reason == "all_classified"
    assert history.epochs < 500


def test_misclassified_needs_a_classifier():
    net = cr.mlp([2, 3, 1], output="identity")
    with pytest.raises(cr.InvalidValueError, match="classifier"):
        net.fit(np.zeros((4, 2)), np.zeros(4), loss="mse", strategy="misclassified")
    with pytest.raises(cr.UnknownNameError, match="misclassified"):
        net.fit(np.zeros((4, 2)), np.zeros(4), loss="mse", strategy="hardest")


def stuck_network():
    """Zero weights, frozen biases: every gradient is 0, so the loss cannot fall."""
    return cr.Sequential([
        cr.Dense(2, 4, weight=np.zeros((4, 2)), init="he", train_bias=False, dtype="float64"),
        cr.ReLU(),
        cr.Dense(4, 2, weight=np.zeros((2, 4)), init="xavier", train_bias=False, dtype="float64"),
        cr.Softmax()])


def test_restart_when_the_loss_does_not_fall():
    X, y = blobs()
    net = stuck_network()
    history = net.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(0.5), epochs=40, restarts=2,
                      restart_after=5, seed=3)
    assert history.runs[0]["stop_reason"] == "stalled" and history.runs[0]["epochs"] == 5
    assert history.runs[0]["loss"] == pytest.approx(np.log(2))  # uniform softmax, never moved
    assert len(history.runs) == 2 and history.runs[1]["stop_reason"] == "epochs"
    assert history["loss"][-1] < 0.5 < np.log(2)
    assert net.evaluate(X, y)["accuracy"] > 0.9


def test_restarts_keep_the_best_run():
    X, y = blobs()
    net = stuck_network()
    history = net.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(1e-9), epochs=6, restarts=2,
                      restart_after=3, seed=1)
    final = [run["loss"] for run in history.runs]
    assert history["loss"][-1] == min(final)
    assert net.evaluate(X, y, loss="cross_entropy")["loss"] == pytest.approx(min(final), rel=1e-6)


def test_l1_penalty_gradient_and_layers_selection():
    net = cr.mlp([3, 4, 2], activation="tanh", output="softmax", dtype="float64", seed=2)
    X = np.random.default_rng(0).normal(size=(5, 3))
    errors = cr.gradcheck(net, "cross_entropy", X, np.array([0, 1, 1, 0, 1]),
                          penalty=[cr.losses.L1(0.3), cr.L2(0.2, layers=[0])])
    assert max(errors.values()) < 1e-7
    penalty = cr.losses.L1(0.3)
    params = penalty.select(net)
    assert [p.name for p in params] == ["weight", "weight"]
    w = params[0]
    numeric = numeric_grad(lambda: penalty.value(params, 5), w.value)
    for p in params:
        p.grad[...] = 0
    penalty.add_grad(params, 5)
    np.testing.assert_allclose(w.grad, numeric, rtol=1e-7)
    only_last = cr.L2(0.5, layers=[2])
    assert only_last.select(net) == [net.layers[2].weight]
    with pytest.raises(cr.InvalidValueError, match="no layer 7"):
        cr.L2(0.5, layers=[7]).select(net)


def test_per_layer_penalty_changes_only_that_layer():
    X, y = blobs(20)
    plain, penalised = classifier(), classifier()
    plain.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(0.1), epochs=1)
    penalised.fit(X, y, loss="cross_entropy", optimizer=cr.SGD(0.1), epochs=1,
                  penalties=[cr.L2(2.0, layers=[2])])
    np.testing.assert_array_equal(plain.layers[0].weight.value, penalised.layers[0].weight.value)
    w_before = classifier().layers[2].weight.value
    np.testing.assert_allclose(penalised.layers[2].weight.value,
                               plain.layers[2].weight.value - 0.1 * 2.0 / 20 * w_before, rtol=1e-12)


def test_augment_applies_to_every_training_batch_only():
    X, y = blobs(20)
    seen = []

    def augment(batch):
        seen.append(batch.copy())
        return batch + 1.0

    history = classifier().fit(X, y, epochs=2, batch_size=8, shuffle=False, augment=augment,
                               validation_data=(X, y))
    assert [len(b) for b in seen] == [8, 8, 4] * 2
    np.testing.assert_array_equal(seen[0], X[:8])
    assert history["val_loss"][0] != history["loss"][0]


def test_clip_norm_validation():
    with pytest.raises(cr.InvalidValueError, match="clip_norm"):
        classifier().fit(*blobs(10), clip_norm=0)


def test_batchnorm_last_batch_of_one_joins_the_previous_one():
    X, y = blobs(33)
    net = cr.mlp([2, 4, 2], activation="tanh", batchnorm=True, dtype="float64", seed=0)
    sizes = []

    class Sizes(cr.callbacks.Callback):
        def on_batch_end(self, state):
            sizes.append(state.batch)

    history = net.fit(X, y, epochs=1, batch_size=16, callbacks=[Sizes()])
    assert history.iterations == 2 and sizes == [0, 1]


def test_mlp_with_dropout_and_batchnorm_layout():
    net = cr.mlp([4, 8, 3], activation="relu", dropout=0.2, batchnorm=True, seed=0)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Dense", "BatchNorm", "ReLU", "Dropout", "Dense", "Softmax"]
    with pytest.raises(cr.ShapeError, match=r"BatchNorm\(5\)"):
        cr.Sequential([cr.Dense(4, 8), cr.BatchNorm(5)])
