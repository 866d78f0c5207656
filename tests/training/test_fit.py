import numpy as np
import pytest

import chainrule as cr


def regression_data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1


def net64(seed=0):
    return cr.mlp([3, 4, 1], activation="tanh", output="identity", dtype="float64", seed=seed)


@pytest.mark.parametrize("n, batch_size, per_epoch", [
    (1000, 20, 50),     # the notes: 1000 images, batch 20 -> 50 iterations
    (1000, None, 1),    # batch gradient descent
    (10, 1, 10),        # stochastic
    (10, 4, 3),         # the last mini-batch is partial
])
def test_iterations_per_epoch(n, batch_size, per_epoch):
    X, y = regression_data(n)
    steps = []

    class Count(cr.callbacks.Callback):
        def on_batch_end(self, state):
            steps.append(state.iteration)

    history = net64().fit(X, y, loss="squared_error", optimizer=cr.SGD(0.01), epochs=2,
                          batch_size=batch_size, callbacks=[Count()])
    assert history.iterations == 2 * per_epoch and history.epochs == 2
    assert steps == list(range(1, 2 * per_epoch + 1))
    assert len(history["loss"]) == 2


def test_minibatch_training_equals_hand_written_loop():
    X, y = regression_data(10)
    net, reference = net64(), net64()
    history = net.fit(X, y, loss="squared_error", optimizer=cr.SGD(0.05), epochs=3, batch_size=4,
                      shuffle=False)
    # The same thing written out: forward, loss, backward, w -= lr * grad, per batch.
    loss, epoch_losses = cr.SquaredError(), []
    for _ in range(3):
        total = 0.0
        for start in range(0, 10, 4):
            xb, yb = X[start:start + 4], y[start:start + 4]
            out = reference.forward(xb, training=True)
            total += loss.forward(out, yb) * len(xb)
            reference.backward(loss.backward())
            for p in reference.parameters():
                p.value -= 0.05 * p.grad
        epoch_losses.append(total / 10)
    np.testing.assert_allclose(history["loss"], epoch_losses, rtol=1e-12)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_batch_loss_is_loss_before_each_update():
    X, y = regression_data(8)
    net = net64()
    before = cr.SquaredError().forward(net.forward(X), y)
    history = net.fit(X, y, loss="squared_error", optimizer=cr.SGD(0.01), epochs=2)
    assert history["loss"][0] == pytest.approx(before, rel=1e-12)
    assert history["loss"][1] < history["loss"][0]


def test_seeded_shuffling_is_reproducible_and_leaves_data_alone():
    X, y = regression_data(20)
    X_before, y_before = X.copy(), y.copy()
    runs = [net64().fit(X, y, loss="mse", optimizer=cr.SGD(0.05), epochs=3, batch_size=3, seed=s)
            for s in (1, 1, 2)]
    assert runs[0]["loss"] == runs[1]["loss"]
    assert runs[0]["loss"] != runs[2]["loss"]
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_xor_with_2_4_1_sigmoid_network():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    net = cr.mlp([2, 4, 1], activation="sigmoid", output="sigmoid", dtype="float64", seed=0)
    history = net.fit(X, y, loss="binary_cross_entropy", optimizer=cr.SGD(2.0), epochs=3000)
    np.testing.assert_array_equal(net.predict(X) > 0.5, y > 0.5)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.05


def test_target_loss_stops_till_satisfied():
    X, y = regression_data(10)
    history = net64().fit(X, y, loss="squared_error", optimizer=cr.SGD(0.05), epochs=5000,
                          target_loss=0.05)
    assert history.stop_reason == "target_loss"
    assert history["loss"][-1] <= 0.05 < history["loss"][-2]
    assert history.epochs == len(history["loss"]) < 5000


def test_validation_metrics_recorded():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    net = cr.mlp([2, 4, 2], activation="tanh", output="softmax", dtype="float64", seed=0)
    history = net.fit(X[:30], y[:30], loss="cross_entropy", optimizer=cr.SGD(0.5), epochs=5,
                      batch_size=10, validation_data=(X[30:], y[30:]))
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.values())
    expected = cr.CrossEntropy().forward(net.predict(X[30:]), y[30:])
    assert history["val_loss"][-1] == pytest.approx(expected, rel=1e-12)
    assert history["val_accuracy"][-1] == pytest.approx(np.mean(net.predict(X[30:]).argmax(1) == y[30:]))


def test_l2_penalty_in_training_matches_hand_update():
    X, y = regression_data(6)
    net, reference = net64(), net64()
    net.fit(X, y, loss="squared_error", optimizer=cr.SGD(0.1), epochs=1, l2=0.5)
    out = reference.forward(X, training=True)
    loss = cr.SquaredError()
    loss.forward(out, y)
    reference.backward(loss.backward())
    for p in reference.parameters():
        decay = 0.5 / 6 * p.value if p.decay else 0.0
        p.value -= 0.1 * (p.grad + decay)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12)


def test_divergence_stops_with_advice_and_finite_weights():
    X, y = regression_data(10)
    y = y * 1e6
    net = net64()
    with pytest.warns(cr.DivergenceWarning, match=r"learning rate 1e\+06 .* too high for SGD"):
        history = net.fit(X, y, loss="squared_error", optimizer=cr.SGD(1e6), epochs=100)
    assert history.stop_reason == "diverged"
    assert history.epochs < 100
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())


def test_divergence_says_when_the_kept_weights_are_not_finite():
    # One batch per epoch: the step of epoch 1 makes the weights infinite (the loss it saw
    # was finite), so epoch 2's loss is inf and there are no finite weights to go back to.
    net = cr.mlp([1, 1], output="identity", dtype="float64", seed=0)
    X, y = np.array([[10.0], [20.0]]), np.array([[1e3], [2e3]])
    with pytest.warns(cr.DivergenceWarning, match="after iteration 1, which are not finite: "
                                                  "build the network again"):
        history = net.fit(X, y, loss="squared_error", optimizer=cr.SGD(1e307), epochs=5)
    assert history.stop_reason == "diverged" and history.epochs == 1
    assert np.isinf(net.layers[0].weight.value).all()


class TestBadInput:
    def fit(self, X=None, y=None, **kwargs):
        Xd, yd = regression_data(6)
        options = dict(loss="squared_error", optimizer=cr.SGD(0.1), epochs=1)
        options.update(kwargs)
        return net64().fit(Xd if X is None else X, yd if y is None else y, **options)

    def test_length_mismatch(self):
        with pytest.raises(cr.ShapeError, match="6 samples but its targets have 5"):
            self.fit(y=np.zeros((5, 1)))

    def test_feature_count(self):
        with pytest.raises(cr.ShapeError, match="4 features but the first layer expects 3"):
            self.fit(X=np.zeros((6, 4)))

    def test_nan_in_X_and_y(self):
        X = np.zeros((6, 3))
        X[2, 1] = np.nan
        with pytest.raises(cr.InvalidValueError, match=r"NaN or inf \(rows \[2\]"):
            self.fit(X=X)
        with pytest.raises(cr.InvalidValueError, match="targets contain NaN"):
            self.fit(y=np.array([[0.0]] * 5 + [[np.inf]]))

    def test_empty(self):
        with pytest.raises(cr.InvalidValueError, match="empty"):
            self.fit(X=np.zeros((0, 3)), y=np.zeros((0, 1)))

    @pytest.mark.parametrize("name, kwargs", [
        ("epochs", {"epochs": 0}), ("batch_size", {"batch_size": -2}), ("epochs", {"epochs": 1.5})])
    def test_counts_must_be_positive(self, name, kwargs):
        with pytest.raises(cr.InvalidValueError, match=f"{name} must be a positive integer"):
            self.fit(**kwargs)

    def test_unknown_loss(self):
        with pytest.raises(cr.UnknownNameError, match="valid names are"):
            self.fit(loss="cross-entropy")

    def test_labels_out_of_range(self):
        net = cr.mlp([3, 2], output="softmax", seed=0)
        with pytest.raises(cr.InvalidValueError, match=r"0\.\.1"):
            net.fit(np.zeros((3, 3)), np.array([0, 1, 2]), loss="cross_entropy")

    def test_missing_checkpoint(self):
        with pytest.raises(cr.ChainruleError, match="ckpt.safetensors' does not exist"):
            self.fit(resume="ckpt.safetensors")


def test_default_loss_and_optimizer():
    net = cr.mlp([2, 3, 2], activation="tanh", output="softmax", seed=0)
    history = net.fit(np.eye(2), np.array([0, 1]), epochs=2)
    assert "accuracy" in history
    assert cr.training.default_loss(net).__class__ is cr.CrossEntropy


def test_fit_skips_the_gradients_of_frozen_parameters():
    # The notes' 2-2-2 network, biases frozen. No optimiser reads a frozen gradient, so fit
    # does not compute it (it reads as zero while training); the updates are those of a
    # loop that computes every gradient, and outside fit (traces) they are computed.
    from chainrule.examples import two_two_two_net

    X, y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    net, reference = two_two_two_net(), two_two_two_net()
    frozen, seen = [net.layers[0].bias, net.layers[2].bias], []

    class Record(cr.callbacks.Callback):
        def on_batch_end(self, state):
            seen.extend(p.grad.copy() for p in frozen)

    net.fit(X, y, loss="squared_error", optimizer=cr.SGD(0.5), epochs=3, callbacks=[Record()])
    assert len(seen) == 6 and not any(g.any() for g in seen)
    loss, sgd = cr.SquaredError(), cr.SGD(0.5)
    target = loss.prepare_target(y, 2, np.float64)
    for _ in range(3):
        reference.compute_gradients(loss, X, target)
        sgd.step(reference.parameters())
    assert reference.layers[2].bias.grad.any()
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
    fresh = two_two_two_net()
    fresh.compute_gradients(loss, X, target)
    out = np.array([0.75136507, 0.772928465])  # the notes' first forward pass
    np.testing.assert_allclose(fresh.layers[2].bias.grad, (out - y[0]) * out * (1 - out),
                               rtol=1e-7)
    assert "frozen_gradients" not in vars(net.layers[0])  # fit put the default back


def test_divergence_warnings_point_at_the_line_calling_fit():
    # Raised deep inside the loop, they must name the caller's line, not the library's.
    X, y = regression_data(10)
    with pytest.warns(cr.DivergenceWarning, match="loss became") as caught:
        net64().fit(X, y * 1e6, loss="squared_error", optimizer=cr.SGD(1e6), epochs=100)
    net = cr.mlp([1, 1], output="sigmoid", dtype="float64", seed=0)  # Adam's v overflows
    with np.errstate(over="ignore"), \
            pytest.warns(cr.DivergenceWarning, match="overflowed to inf") as overflowed:
        net.fit(np.array([[1e200], [-1e200]]), np.array([0, 1]), optimizer=cr.Adam(0.1),
                epochs=5)
    found = [w for w in [*caught, *overflowed] if w.category is cr.DivergenceWarning]
    assert len(found) == 2 and all(w.filename == __file__ for w in found)


def test_a_parameter_unfrozen_during_fit_gets_its_gradient_from_then_on():
    # Gradual unfreezing, as in fine-tuning: a callback unfreezes the output biases after
    # epoch 2; fit must compute their gradient from the next step and update them.
    from chainrule.examples import two_two_two_net

    X, y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    net, reference = two_two_two_net(), two_two_two_net()

    class Unfreeze(cr.callbacks.Callback):
        def on_epoch_end(self, state):
            if state.epoch == 2:
                state.net.layers[2].bias.trainable = True

    net.fit(X, y, loss="squared_error", optimizer=cr.SGD(0.5), epochs=4, callbacks=[Unfreeze()])
    loss, sgd = cr.SquaredError(), cr.SGD(0.5)
    for step in range(4):
        reference.layers[2].bias.trainable = step >= 2
        reference.compute_gradients(loss, X, loss.prepare_target(y, 2, np.float64))
        sgd.step(reference.parameters())
    assert not np.allclose(net.layers[2].bias.value, 0.60)
    for a, b in zip(net.parameters(), reference.parameters()):
        np.testing.assert_array_equal(a.value, b.value)
