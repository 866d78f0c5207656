import numpy as np
import pytest

import chainrule as cr


def test_mlp_layout():
    net = cr.mlp([4, 8, 3], activation="tanh", output="softmax", seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "Tanh", "Dense", "Softmax"]
    assert net.sizes == [4, 8, 3] and net.n_in == 4 and net.n_out == 3
    assert [name for name, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert net.dtype == np.float32


def test_mlp_same_as_explicit_layers():
    a = cr.mlp([3, 5, 2], activation="relu", output="softmax", seed=11)
    rng = np.random.default_rng(11)
    b = cr.Sequential([cr.Dense(3, 5, init="he", seed=rng), cr.ReLU(),
                       cr.Dense(5, 2, init="he", seed=rng), cr.Softmax()])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_array_equal(a.forward(x), b.forward(x))


def test_repr_reads_like_the_notes():
    text = repr(cr.mlp([2, 2, 2], activation="sigmoid", output="sigmoid", train_bias=False))
    assert "Sequential 2-2-2" in text
    assert "a1 = W1 h0 + b1" in text and "h2 = sigmoid(a2)" in text and "(frozen)" in text


def test_unknown_activation_lists_valid():
    with pytest.raises(cr.UnknownNameError, match="relu.*sigmoid"):
        cr.mlp([2, 2], activation="swishy")


def test_layer_sizes_must_chain():
    with pytest.raises(cr.ShapeError, match="3 outputs"):
        cr.Sequential([cr.Dense(2, 3), cr.ReLU(), cr.Dense(4, 1)])


def test_mixed_dtypes_rejected():
    with pytest.raises(cr.DTypeError, match="float32.*float64"):
        cr.Sequential([cr.Dense(2, 3), cr.Dense(3, 1, dtype="float64")])


def test_astype_copies():
    net = cr.mlp([2, 3, 1], output="sigmoid", seed=0)
    net64 = net.astype("float64")
    assert net64.dtype == np.float64 and net.dtype == np.float32
    np.testing.assert_allclose(net64.parameters()[0].value, net.parameters()[0].value)
    net64.parameters()[0].value[...] = 0
    assert np.any(net.parameters()[0].value != 0)


def test_predict_in_batches_equals_one_forward():
    net = cr.mlp([3, 7, 4], seed=1)
    X = np.random.default_rng(2).normal(size=(25, 3)).astype(np.float32)
    np.testing.assert_allclose(net.predict(X, batch_size=4), net.forward(X), rtol=1e-6)


def test_boundary_converts_data_to_network_dtype():
    net = cr.mlp([3, 2], seed=1)
    out = net.predict(np.ones((2, 3)))  # float64 data, float32 network
    assert out.dtype == np.float32


@pytest.mark.parametrize("X, message", [
    (np.zeros((0, 3)), "empty"),
    (np.zeros((4, 5)), "5 features but the first layer expects 3"),
    (np.array([[0.0, np.nan, 1.0]]), "NaN or inf"),
    (np.array([[0.0, np.inf, 1.0]]), "NaN or inf"),
    (np.zeros((2, 3, 1)), "shape"),
    (np.array([["a", "b", "c"]]), "numeric"),
])
def test_bad_inputs(X, message):
    net = cr.mlp([3, 2], seed=1)
    with pytest.raises(cr.ChainruleError, match=message):
        net.predict(X)


def test_evaluate_accuracy_and_loss():
    net = cr.Sequential([cr.Dense(2, 2, weight=np.eye(2), dtype="float64"), cr.Softmax()])
    X = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    y = np.array([0, 1, 1])
    result = net.evaluate(X, y, loss="cross_entropy")
    assert result["accuracy"] == pytest.approx(2 / 3)
    p_right = np.exp(2) / (np.exp(2) + 1)
    assert result["loss"] == pytest.approx(-(2 * np.log(p_right) + np.log(1 - p_right)) / 3)


def test_training_backward_skips_only_the_input_gradient():
    net = cr.mlp([3, 4, 2], activation="tanh", dtype="float64", seed=0)
    X = np.random.default_rng(0).normal(size=(5, 3))
    loss = cr.CrossEntropy()
    target = loss.prepare_target(np.array([0, 1, 1, 0, 1]), 2, net.dtype)
    net.compute_gradients(loss, X, target)
    skipped = [p.grad.copy() for p in net.parameters()]
    out = net.forward(X, training=True)
    loss.forward(out, target)
    dx = net.backward(loss.backward())
    assert dx.shape == X.shape
    for a, p in zip(skipped, net.parameters()):
        np.testing.assert_allclose(a, p.grad, rtol=1e-10, atol=1e-15)
    head_only = cr.Sequential([cr.Softmax()])  # fused loss: nothing below the softmax
    assert head_only.backward(np.ones((1, 2)), start=0, input_grad=False).shape == (1, 2)


def test_pickles_and_copies_hold_no_batch_data():
    import pickle

    net = cr.mlp([3, 50, 2], seed=0)
    X = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    empty = len(pickle.dumps(net))
    net.predict(X)
    net.fit(X, np.zeros(500, dtype=int), epochs=1)
    assert len(pickle.dumps(net)) <= empty  # the 500 rows (6 kB) and activations (100 kB) are gone
    clone = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(clone.predict(X), net.predict(X))
    assert net.astype("float64").layers[0].__dict__.get("_x") is None


def test_design_api_names_are_reachable():
    for name in ["Sequential", "mlp", "Dense", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax",
                 "Identity", "Dropout", "BatchNorm", "SquaredError", "MSE", "BinaryCrossEntropy",
                 "CrossEntropy", "SGD", "AdaGrad", "RMSProp", "Adam", "AdamW", "gradcheck",
                 "trace", "load", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "lenet5"]:
        assert hasattr(cr, name), name
    assert cr.callbacks.EarlyStopping and cr.callbacks.ModelCheckpoint
    assert cr.parallel.DataParallel and cr.parallel.AsyncParameterServer and cr.parallel.Pipeline
    assert callable(cr.datasets.load) and callable(cr.mlp([2, 2]).to_onnx)
