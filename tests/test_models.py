"""LeNet-5, the wide CNN, and convolutional networks in Sequential: shapes, gradients, training."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D
from chainrule.models import lenet5, wide_cnn
from numeric import numeric_grad


def small_cnn(pool=MaxPool2D, dtype="float64", seed=0, channels=1, stride=1, padding=1):
    rng = np.random.default_rng(seed)
    conv = Conv2D(channels, 2, 3, stride=stride, padding=padding, dtype=dtype, seed=rng,
                  bias=rng.normal(size=2) * 0.1)
    h = (6 + 2 * padding - 3) // stride + 1
    return cr.Sequential([conv, cr.ReLU(), pool(2), Flatten(),
                          cr.Dense(2 * (h // 2) ** 2, 3, dtype=dtype, seed=rng), cr.Softmax()])


# ---- LeNet-5 and the wide network ------------------------------------------------------

def test_lenet5_parameter_count_by_hand():
    conv1 = 6 * (1 * 5 * 5) + 6           # 156
    conv2 = 16 * (6 * 5 * 5) + 16         # 2,416
    fc1 = 120 * (16 * 5 * 5) + 120        # 48,120: 16 maps of 5x5 after the second pooling
    fc2 = 84 * 120 + 84                   # 10,164
    fc3 = 10 * 84 + 10                    # 850
    assert conv1 + conv2 + fc1 + fc2 + fc3 == 61_706
    net = lenet5(seed=0)
    assert sum(p.value.size for p in net.parameters()) == 61_706


def test_lenet5_layout_and_sizes():
    net = lenet5(seed=0)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten",
        "Dense", "ReLU", "Dense", "ReLU", "Dense", "Softmax"]
    assert net.sizes == [(1, 28, 28), (6, 28, 28), (16, 10, 10), 120, 84, 10]
    assert net.n_in == (1, 28, 28) and net.n_out == 10 and net.dtype == np.float32
    assert net.layers[0].padding == (2, 2) and net.layers[3].padding == (0, 0)


def test_repr_shows_each_output_shape():
    text = repr(lenet5(seed=0))
    assert text.startswith("Sequential 1x28x28-6x28x28-16x10x10-120-84-10 (61706 parameters")
    for fragment in ("Conv2D(1, 6, kernel_size=5, padding=2)", "-> 6x28x28", "-> 6x14x14",
                     "-> 16x10x10", "-> 16x5x5", "-> 400", "-> 120", "-> 84", "-> 10",
                     "a1 = W1 * h0 + b1   W1: 6x1x5x5, b1: 6", "h2 = maxpool(h2)",
                     "h2 = flatten(h2)", "a3 = W3 h2 + b3   W3: 120x400"):
        assert fragment in text, fragment


def test_wide_cnn_layout():
    net = wide_cnn(seed=0)
    count = (32 * 9 + 32) + (64 * 32 * 9 + 64) + (3136 * 128 + 128) + (128 * 10 + 10)
    assert sum(p.value.size for p in net.parameters()) == count == 421_642
    assert net.sizes == [(1, 28, 28), (32, 28, 28), (64, 14, 14), 128, 10]
    assert [type(layer).__name__ for layer in net.layers].count("Dropout") == 2
    assert "Dropout" not in [type(layer).__name__ for layer in wide_cnn(dropout=0).layers]
    assert wide_cnn(input_shape=(1, 8, 8), seed=0).sizes == [(1, 8, 8), (32, 8, 8),
                                                             (64, 4, 4), 128, 10]


def test_builders_check_their_arguments():
    with pytest.raises(cr.InvalidValueError, match="at least 12x12.*wide_cnn"):
        lenet5(input_shape=(1, 8, 8))
    with pytest.raises(cr.UnknownNameError, match="swishy"):
        lenet5(activation="swishy")
    with pytest.raises(cr.InvalidValueError, match="input_shape"):
        wide_cnn(input_shape=(28, 28))
    with pytest.raises(cr.InvalidValueError, match="dropout"):
        wide_cnn(dropout=1.5)


def test_seeds_fix_every_weight():
    a, b = lenet5(seed=3), lenet5(seed=3, activation="tanh")
    for p, q in zip(a.parameters(), lenet5(seed=3).parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert not np.array_equal(a.parameters()[0].value, b.parameters()[0].value)  # Xavier
    assert lenet5(dtype="float64").dtype == np.float64


# ---- gradients -------------------------------------------------------------------------

@pytest.mark.parametrize("pool, stride, padding, channels", [
    (MaxPool2D, 1, 1, 1), (AvgPool2D, 1, 0, 3), (MaxPool2D, 2, 2, 3)])
def test_gradcheck_small_cnn(pool, stride, padding, channels):
    rng = np.random.default_rng(7)
    net = small_cnn(pool, seed=1, channels=channels, stride=stride, padding=padding)
    X = rng.normal(size=(4, channels, 6, 6))
    y = rng.integers(0, 3, size=4)
    errors = cr.gradcheck(net, cr.CrossEntropy(), X, y)
    assert set(errors) == {"0.weight", "0.bias", "4.weight", "4.bias"}
    assert max(errors.values()) < 1e-7, errors


def test_network_backward_returns_the_input_gradient():
    rng = np.random.default_rng(0)
    net = small_cnn()
    X = rng.normal(size=(2, 1, 6, 6))
    out = net.forward(X, training=True)
    g = rng.normal(size=out.shape)
    dx = net.backward(g)
    np.testing.assert_allclose(dx, numeric_grad(lambda: float((net.forward(X) * g).sum()), X),
                               rtol=1e-6, atol=1e-9)


# ---- Sequential with images ------------------------------------------------------------

def test_images_and_rows_of_pixels_are_both_accepted():
    net = lenet5(seed=0)
    X = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    np.testing.assert_array_equal(net.predict(X), net.predict(X.reshape(5, 784)))
    assert net.predict(np.zeros((2, 1, 29, 29))).shape == (2, 10)  # floor pooling: 29 fits too


@pytest.mark.parametrize("X, fragment", [
    (np.zeros((2, 3, 28, 28)), r"3 channels.*Conv2D\(1, 6, kernel_size=5, padding=2\).*1"),
    (np.zeros((2, 1, 20, 20)), r"20x20 images but this network takes 28x28.*Dense\(400, 120\)"),
    (np.zeros((2, 785)), r"\(samples, 1, 28, 28\) or rows of 784 pixels"),
    (np.zeros((0, 1, 28, 28)), "empty"),
    (np.full((1, 1, 28, 28), np.nan), "NaN"),
])
def test_bad_images(X, fragment):
    with pytest.raises(cr.ChainruleError, match=fragment):
        lenet5(seed=0).predict(X)


def test_layers_that_do_not_fit_fail_at_construction():
    with pytest.raises(cr.ShapeError, match=r"Dense\(3, 2\).*images.*Flatten"):
        cr.Sequential([Conv2D(1, 2, 3), cr.Dense(3, 2)])
    with pytest.raises(cr.ShapeError, match=r"Dense\(401, 3\) needs 401 features.*no image size"):
        cr.Sequential([Conv2D(1, 2, 3), Flatten(), cr.Dense(401, 3)])
    with pytest.raises(cr.ShapeError, match=r"Conv2D\(3, 2, kernel_size=3\) expects 3 input "
                                            r"channels.*2"):
        cr.Sequential([Conv2D(1, 2, 3), Conv2D(3, 2, 3)])
    with pytest.raises(cr.ShapeError, match=r"MaxPool2D\(2\) takes images.*4 flat features"):
        cr.Sequential([cr.Dense(3, 4), MaxPool2D(2)])


def test_sizes_without_a_dense_layer_and_non_square_images():
    assert cr.Sequential([Conv2D(1, 2, 3), cr.ReLU()]).sizes == [(1, None, None), (2, None, None)]
    net = cr.Sequential([Conv2D(1, 2, 3), Flatten(), cr.Dense(2 * 1 * 38, 3)])
    assert net.sizes == [(1, 3, 40), (2, 1, 38), 3]


def test_flatten_first_mlp_takes_images():
    net = cr.Sequential([Flatten(), cr.Dense(784, 10, seed=0), cr.Softmax()])
    X = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(net.predict(X), net.predict(X.reshape(3, 784)), rtol=1e-6)
    with pytest.raises(cr.ShapeError, match="783 numbers per sample"):
        net.predict(np.zeros((2, 1, 27, 29)))


def test_mlp_behaviour_is_unchanged():
    net = cr.mlp([4, 8, 3], seed=0)
    assert net.sizes == [4, 8, 3] and net.n_in == 4
    assert "->" not in repr(net)


def test_a_few_training_steps_reduce_the_loss():
    rng = np.random.default_rng(0)
    # Two classes a CNN separates easily: a bright vertical bar or a bright horizontal bar.
    X = rng.random((32, 1, 28, 28), dtype=np.float32) * 0.2
    y = np.arange(32) % 2
    X[y == 0, :, :, 12:16] += 0.8
    X[y == 1, :, 12:16, :] += 0.8
    net = lenet5(seed=0)
    before = net.evaluate(X, y, loss=cr.CrossEntropy())["loss"]
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(1e-3), epochs=5,
                      batch_size=16, seed=0)
    after = net.evaluate(X, y, loss=cr.CrossEntropy())
    assert history["loss"][-1] < history["loss"][0]
    assert after["loss"] < before
    assert net.parameters()[0].value.dtype == np.float32


def test_wide_cnn_trains_with_dropout():
    rng = np.random.default_rng(1)
    net = wide_cnn(seed=0, input_shape=(1, 8, 8), dropout=0.25)
    X = rng.random((8, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, size=8)
    net.fit(X, y, optimizer=cr.Adam(1e-3), epochs=1, batch_size=4, seed=0)
    assert net.predict(X).shape == (8, 10)


# ---- the command line ------------------------------------------------------------------

def run_cli(argv):
    import io

    from chainrule import cli

    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    return cli.VERBS[args.verb](args, out=out), out.getvalue()


def test_cli_trains_a_cnn_on_digit_images(tmp_path):
    from threadpoolctl import threadpool_limits

    model = tmp_path / "cnn.safetensors"
    with threadpool_limits(1):
        code, text = run_cli(["train", "--dataset", "digits", "--model", "wide-cnn", "--epochs",
                              "3", "--optimizer", "adam", "--quiet", "--out", str(model)])
    assert code == 0
    assert "training wide-cnn 1x8x8-32x8x8-64x4x4-128-10 relu network on digits" in text
    assert float(text.split("test accuracy: ")[1].split()[0]) > 0.8
    net = cr.load(model)
    assert net.metadata["model"] == "wide-cnn" and net.layers[7].p == 0.25
    code, text = run_cli(["evaluate", str(model)])  # rows of 64 pixels become 8x8 images
    assert code == 0 and "accuracy" in text


def test_cli_model_errors():
    from chainrule import cli

    args = cli.build_parser().parse_args(["train", "--dataset", "digits", "--model", "lenet5"])
    with pytest.raises(cr.InvalidValueError, match="at least 12x12"):
        cli.VERBS["train"](args, out=__import__("io").StringIO())
