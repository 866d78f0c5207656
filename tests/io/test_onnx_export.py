"""ONNX export: the graph run by onnxruntime must give what ``net.predict`` gives.

The reference is chainrule's own evaluation forward; onnxruntime is an independent
implementation of every operator, so agreement to 1e-5 (float32) or 1e-12 (float64)
checks both the choice of operators and the weights, layouts and attributes passed.
"""
import builtins
import io
import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ChainruleError, InvalidValueError, NotAvailableError

onnx = pytest.importorskip("onnx", reason="ONNX export tests need the onnx package")
ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need onnxruntime")

from chainrule import cli  # noqa: E402
from chainrule.io import onnx_export  # noqa: E402
from chainrule.io.onnx_export import export_onnx  # noqa: E402

TOL = {"float32": 1e-5, "float64": 1e-12}


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(path, X):
    return session(path).run(["output"], {"input": X})[0]


def check_agrees(net, tmp_path, n_in, name="net.onnx", seed=0):
    """Export ``net``; its ONNX outputs match ``net.predict`` for batches of 1 and 64."""
    path = tmp_path / name
    model = export_onnx(net, path)
    dtype = str(net.dtype)
    sess = session(path)
    rng = np.random.default_rng(seed)
    for batch in (1, 64):
        X = (rng.normal(size=(batch, n_in)) * 2).astype(dtype)
        got = sess.run(["output"], {"input": X})[0]
        want = net.predict(X)
        assert got.dtype == want.dtype == np.dtype(dtype)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
    return model


def op_types(model):
    return [node.op_type for node in model.graph.node]


def trained(net, n_in, n_out, dtype, steps=5):
    """A few SGD steps so BatchNorm's running statistics move away from (0, 1)."""
    rng = np.random.default_rng(3)
    X = (rng.normal(size=(64, n_in)) * 3 + 1).astype(dtype)
    y = rng.integers(0, n_out, size=64)
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(0.05), epochs=steps,
            batch_size=16, seed=0)
    return net


# ---- every layer, float32 and float64 ----------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act, ops", [
    (cr.Sigmoid, ["Sigmoid"]), (cr.Tanh, ["Tanh"]), (cr.ReLU, ["Relu"]),
    (cr.Identity, ["Identity"]), (cr.Softmax, ["Softmax"]),
])
def test_dense_with_each_activation(tmp_path, dtype, act, ops):
    rng = np.random.default_rng(11)
    net = cr.Sequential([cr.Dense(5, 7, seed=rng, bias=0.3, dtype=dtype), act(),
                         cr.Dense(7, 3, seed=rng, dtype=dtype), act()])
    model = check_agrees(net, tmp_path, 5)
    assert op_types(model) == ["Gemm"] + ops + ["Gemm"] + ops


@pytest.mark.parametrize("dtype, ops", [("float32", ["LeakyRelu"]), ("float64", ["Mul", "Max"])])
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3])
def test_leaky_relu_slope(tmp_path, dtype, ops, slope):
    net = cr.Sequential([cr.Dense(4, 9, seed=1, dtype=dtype), cr.LeakyReLU(slope),
                         cr.Dense(9, 2, seed=2, dtype=dtype)])
    model = check_agrees(net, tmp_path, 4)
    assert op_types(model) == ["Gemm", *ops, "Gemm"]
    if dtype == "float32":
        (alpha,) = model.graph.node[1].attribute
        assert alpha.name == "alpha" and alpha.f == pytest.approx(slope)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_after_training(tmp_path, dtype):
    net = cr.Sequential([
        cr.Dense(6, 10, init="he", seed=1, dtype=dtype), cr.BatchNorm(10, dtype=dtype),
        cr.LeakyReLU(0.1), cr.Dropout(0.4, seed=0),
        cr.Dense(10, 8, seed=2, dtype=dtype), cr.BatchNorm(8, momentum=0.3, eps=1e-3, dtype=dtype),
        cr.Tanh(), cr.Dropout(0.2, seed=1),
        cr.Dense(8, 8, seed=3, dtype=dtype), cr.Sigmoid(),
        cr.Dense(8, 8, seed=4, dtype=dtype), cr.ReLU(), cr.Identity(),
        cr.Dense(8, 4, seed=5, dtype=dtype), cr.Softmax(),
    ])
    trained(net, 6, 4, dtype)
    bn = net[1]
    assert np.abs(bn.running_mean).max() > 0.05 and np.abs(bn.running_var - 1).max() > 0.05
    model = check_agrees(net, tmp_path, 6)
    leaky = ["LeakyRelu"] if dtype == "float32" else ["Mul", "Max"]
    assert op_types(model) == ["Gemm", "BatchNormalization", *leaky,
                               "Gemm", "BatchNormalization", "Tanh",
                               "Gemm", "Sigmoid", "Gemm", "Relu", "Identity", "Gemm", "Softmax"]
    assert "Dropout" not in op_types(model)  # the identity at inference: no node at all


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mlp_with_batchnorm_and_dropout(tmp_path, dtype):
    net = cr.mlp([5, 16, 12, 3], activation="relu", dropout=0.25, batchnorm=True, seed=4,
                 dtype=dtype)
    trained(net, 5, 3, dtype, steps=4)
    check_agrees(net, tmp_path, 5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_batchnorm_with_set_buffers_and_small_variances(tmp_path, dtype):
    """Hand-set statistics, some variances near eps: ONNX's 32-bit epsilon must not show."""
    rng = np.random.default_rng(5)
    bn = cr.BatchNorm(4, eps=1e-3, dtype=dtype)
    bn.set_buffer("running_mean", np.array([0.5, -2.0, 3.0, 0.0], dtype=dtype))
    bn.set_buffer("running_var", np.array([1e-4, 0.02, 4.0, 1.0], dtype=dtype))
    bn.gamma.value[...] = rng.normal(size=4)
    bn.beta.value[...] = rng.normal(size=4)
    net = cr.Sequential([cr.Dense(3, 4, seed=rng, dtype=dtype), bn])
    model = check_agrees(net, tmp_path, 3)
    assert op_types(model) == ["Gemm", "BatchNormalization"]
    X = np.array([[0.1, -0.2, 0.3]], dtype=dtype)
    want = bn.forward(net[0].forward(X))  # (x - mean) / sqrt(var + eps) * gamma + beta
    np.testing.assert_allclose(run_onnx(tmp_path / "net.onnx", X), want,
                               rtol=TOL[dtype], atol=TOL[dtype])


def test_float64_is_not_computed_in_float32(tmp_path):
    """Differences below float32's resolution survive the float64 graph."""
    net = cr.Sequential([cr.Dense(2, 2, weight=np.eye(2), dtype="float64"), cr.Identity()])
    export_onnx(net, tmp_path / "f64.onnx")
    X = np.array([[1.0 + 1e-12, -3.0 - 1e-13]])
    np.testing.assert_array_equal(run_onnx(tmp_path / "f64.onnx", X), X)


def test_weights_keep_the_notes_layout(tmp_path):
    """W is stored (n_out, n_in) as in the net, and Gemm transposes it (transB=1)."""
    net = cr.Sequential([cr.Dense(3, 2, weight=[[1, 2, 3], [4, 5, 6]], bias=[0.5, -0.5])])
    model = export_onnx(net, tmp_path / "w.onnx")
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    np.testing.assert_array_equal(weights["layers.0.weight"], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(weights["layers.0.bias"], [0.5, -0.5])
    gemm = model.graph.node[0]
    assert {a.name: a.i for a in gemm.attribute} == {"transB": 1}
    out = run_onnx(tmp_path / "w.onnx", np.array([[1, 0, -1]], dtype=np.float32))
    np.testing.assert_allclose(out, [[1 - 3 + 0.5, 4 - 6 - 0.5]])


# ---- the graph's interface and description -----------------------------------------------

def shape_of(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("dtype, elem", [("float32", 1), ("float64", 11)])  # FLOAT, DOUBLE
def test_interface_and_metadata(tmp_path, dtype, elem):
    net = cr.mlp([4, 6, 3], dtype=dtype, seed=0)
    path = tmp_path / "m.onnx"
    export_onnx(net, path)
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert (inp.name, out.name) == ("input", "output")
    assert shape_of(inp) == ["batch", 4] and shape_of(out) == ["batch", 3]
    assert inp.type.tensor_type.elem_type == out.type.tensor_type.elem_type == elem
    assert model.opset_import[0].version == onnx_export.DEFAULT_OPSET
    props = {p.key: p.value for p in model.metadata_props}
    assert props["chainrule_version"] == cr.__version__
    assert props["architecture"] == repr(net)
    assert props["dtype"] == dtype
    assert [layer["type"] for layer in json.loads(props["layers"])] == ["Dense", "ReLU", "Dense",
                                                                        "Softmax"]
    assert cr.__version__ in model.doc_string and repr(net) in model.doc_string
    assert model.producer_name == "chainrule"


def test_user_metadata_is_carried(tmp_path):
    net = cr.mlp([2, 3], seed=0)
    net.metadata = {"classes": ["no", "yes"], "scaling": {"mean": [1.0, 2.0], "scale": [3, 4]}}
    model = export_onnx(net, tmp_path / "m.onnx")
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["metadata"]) == net.metadata


@pytest.mark.parametrize("opset", [13, 17, 21])
def test_opset_choice(tmp_path, opset):
    net = trained(cr.mlp([3, 5, 2], batchnorm=True, activation="leaky_relu", seed=1), 3, 2,
                  "float32", steps=2)
    model = export_onnx(net, tmp_path / "m.onnx", opset=opset)
    assert onnx.load(str(tmp_path / "m.onnx")).opset_import[0].version == opset
    X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X), net.predict(X), atol=1e-5)
    assert op_types(model) == ["Gemm", "BatchNormalization", "LeakyRelu", "Gemm", "Softmax"]


@pytest.mark.parametrize("opset", [12, 10_000, 17.0, "17", True])
def test_bad_opset(tmp_path, opset):
    with pytest.raises(InvalidValueError, match="opset must be an integer from 13"):
        export_onnx(cr.mlp([2, 2]), tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_network_without_nodes_still_has_an_output(tmp_path):
    """Only Dropout: the graph is one Identity from input to output."""
    net = cr.Sequential([cr.Dropout(0.5)])
    model = export_onnx(net, tmp_path / "d.onnx")
    assert op_types(model) == ["Identity"]
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_onnx(tmp_path / "d.onnx", X), X)


def test_dropout_last(tmp_path):
    net = cr.Sequential([cr.Dense(3, 4, seed=0), cr.ReLU(), cr.Dropout(0.5)])
    model = check_agrees(net, tmp_path, 3)
    assert op_types(model) == ["Gemm", "Relu"]


def test_to_onnx_method(tmp_path):
    net = cr.mlp([3, 4, 2], seed=2)
    model = net.to_onnx(tmp_path / "m.onnx")
    assert op_types(model) == ["Gemm", "Relu", "Gemm", "Softmax"]
    X = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(tmp_path / "m.onnx", X), net.predict(X), atol=1e-5)


# ---- errors --------------------------------------------------------------------------------

class Swish(cr.Layer):
    def forward(self, x, training=False):
        return x / (1 + np.exp(-x))


class ScaledReLU(cr.ReLU):
    """A subclass computes something else: it must not be exported as its parent."""

    def forward(self, x, training=False):
        return 2 * super().forward(x, training)


@pytest.mark.parametrize("layer, name", [(Swish(), "Swish"), (ScaledReLU(), "ScaledReLU")])
def test_layer_without_exporter(tmp_path, layer, name):
    net = cr.Sequential([cr.Dense(2, 3), layer, cr.Dense(3, 1)])
    with pytest.raises(ChainruleError, match=rf"layer 1 \({name}\).*no ONNX exporter"):
        export_onnx(net, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []  # nothing written, no temporary file left


def test_nan_weights(tmp_path):
    net = cr.mlp([2, 3, 2], seed=0)
    net[2].weight.value[0, 1] = np.nan
    with pytest.raises(InvalidValueError, match=r"layers\.2\.weight contains NaN"):
        export_onnx(net, tmp_path / "m.onnx")


def test_missing_directory(tmp_path):
    with pytest.raises(ChainruleError, match="does not exist"):
        export_onnx(cr.mlp([2, 2]), tmp_path / "nowhere" / "m.onnx")


def test_atomic_replace(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    export_onnx(cr.mlp([2, 2], seed=0), path)
    assert onnx.load(str(path)).graph.input[0].name == "input"
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


def test_missing_onnx_package(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(NotAvailableError, match=r'pip install "chainrule\[onnx\]"'):
        cr.mlp([2, 2]).to_onnx(tmp_path / "m.onnx")


# ---- the command ---------------------------------------------------------------------------

def run_cli(argv):
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    code = cli.VERBS[args.verb](args, out=out)
    return code, out.getvalue()


def test_cli_export(tmp_path):
    net = trained(cr.mlp([4, 8, 3], batchnorm=True, dropout=0.1, seed=5), 4, 3, "float32")
    net.save(tmp_path / "m.safetensors")
    out = tmp_path / "m.onnx"
    code, text = run_cli(["export", str(tmp_path / "m.safetensors"), "--onnx", str(out)])
    assert code == 0
    assert f"wrote {out}" in text and "opset 17" in text
    assert "float32 [batch, 4]" in text and "float32 [batch, 3]" in text
    X = np.random.default_rng(2).normal(size=(10, 4)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(out, X), cr.load(tmp_path / "m.safetensors").predict(X),
                               atol=1e-5)


def test_cli_export_opset_and_scaling_note(tmp_path):
    cr.mlp([2, 3, 2], seed=0, dtype="float64").save(
        tmp_path / "m.safetensors", metadata={"scaling": {"mean": [0, 0], "scale": [1, 1]}})
    out = tmp_path / "m.onnx"
    code, text = run_cli(["export", str(tmp_path / "m.safetensors"), "--onnx", str(out),
                          "--opset", "21"])
    assert code == 0 and "opset 21" in text and "float64 [batch, 2]" in text
    assert "scaled inputs" in text
    assert session(out).get_inputs()[0].name == "input"


def test_cli_errors_are_reported(tmp_path, capsys):
    cr.mlp([2, 2]).save(tmp_path / "m.safetensors")
    code = cli.main(["export", str(tmp_path / "m.safetensors"), "--onnx",
                     str(tmp_path / "m.onnx"), "--opset", "5"])
    assert code == 2
    assert "chainrule export: error: ONNX opset must be an integer" in capsys.readouterr().err
    code = cli.main(["export", str(tmp_path / "missing.safetensors"), "--onnx",
                     str(tmp_path / "m.onnx")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


# ---- convolutional networks ------------------------------------------------------------

def check_images_agree(net, tmp_path, name="cnn.onnx"):
    """Export ``net``; onnxruntime's outputs match ``net.predict`` on random images."""
    path = tmp_path / name
    model = export_onnx(net, path)
    sess = session(path)
    rng = np.random.default_rng(0)
    for batch in (1, 33):
        X = rng.random((batch, *net.n_in), dtype=np.float32)
        got = sess.run(["output"], {"input": X})[0]
        want = net.predict(X)
        assert got.shape == want.shape and got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=TOL["float32"], atol=TOL["float32"])
    return model


def test_small_cnn_with_every_image_layer(tmp_path):
    from chainrule.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D

    rng = np.random.default_rng(2)
    net = cr.Sequential([
        Conv2D(3, 4, (3, 2), stride=(1, 2), padding=(1, 0), seed=rng, bias=0.2), cr.ReLU(),
        MaxPool2D(2), Conv2D(4, 5, 3, padding=2, seed=rng, bias=-0.1), cr.Tanh(),
        AvgPool2D(3, stride=2), Flatten(), cr.Dropout(0.5),
        cr.Dense(5 * 2 * 1, 3, seed=rng), cr.Softmax(),
    ])
    model = check_images_agree(net, tmp_path)
    assert op_types(model) == ["Conv", "Relu", "MaxPool", "Conv", "Tanh", "AveragePool",
                               "Flatten", "Gemm", "Softmax"]
    conv = model.graph.node[0]
    attrs = {a.name: list(a.ints) for a in conv.attribute}
    assert attrs == {"kernel_shape": [3, 2], "strides": [1, 2], "pads": [1, 0, 1, 0]}
    # 6x6 -> conv (6, 3) -> pool (3, 1) -> conv (5, 3) -> avg pool (2, 1): 5*2*1 = 10 features
    assert shape_of(model.graph.input[0]) == ["batch", 3, 6, 6]
    assert shape_of(model.graph.output[0]) == ["batch", 3]


def test_lenet5_after_training(tmp_path):
    from chainrule.models import lenet5

    net = lenet5(seed=0)
    rng = np.random.default_rng(1)
    X = rng.random((32, 1, 28, 28), dtype=np.float32)
    net.fit(X, rng.integers(0, 10, size=32), optimizer=cr.Adam(1e-3), epochs=1, batch_size=16,
            seed=0)
    model = check_images_agree(net, tmp_path)
    assert shape_of(model.graph.input[0]) == ["batch", 1, 28, 28]
    weight = next(t for t in model.graph.initializer if t.name == "layers.0.weight")
    assert list(weight.dims) == [6, 1, 5, 5]


def test_convolutions_without_a_dense_layer_have_symbolic_sizes(tmp_path):
    from chainrule.layers import Conv2D, MaxPool2D

    net = cr.Sequential([Conv2D(1, 2, 3, padding=1, seed=0), cr.ReLU(), MaxPool2D(2)])
    model = export_onnx(net, tmp_path / "fcn.onnx")
    assert shape_of(model.graph.input[0]) == ["batch", 1, "height", "width"]
    assert shape_of(model.graph.output[0]) == ["batch", 2, "height", "width"]
    X = np.random.default_rng(0).random((2, 1, 6, 8), dtype=np.float32)
    got = run_onnx(tmp_path / "fcn.onnx", X)
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-5, atol=1e-5)
