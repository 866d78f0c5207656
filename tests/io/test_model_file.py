"""Model files: round trips, atomic writes, and one test per way a file can be bad.

Bad files are built by hand, with ``safetensors.numpy.save_file`` or raw bytes (an 8-byte
little-endian header length, the JSON header, then the tensor data), so the tests do not
lean on the code under test to produce them.
"""
import builtins
import importlib
import json
import os
import struct

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import chainrule as cr
from chainrule import backend
from chainrule.errors import ChainruleError, InvalidValueError, ModelFileError
from chainrule.io import FORMAT_VERSION, MetadataError, load, read_metadata
from chainrule.io import model_file


def make_net(dtype="float32"):
    """Every saveable layer type, a frozen bias and a non-default LeakyReLU slope."""
    rng = np.random.default_rng(7)
    return cr.Sequential([
        cr.Dense(3, 5, init="he", seed=rng, dtype=dtype), cr.LeakyReLU(0.2),
        cr.Dense(5, 4, seed=rng, bias=0.35, train_bias=False, dtype=dtype), cr.Sigmoid(),
        cr.Dense(4, 4, seed=rng, dtype=dtype), cr.Tanh(),
        cr.Dense(4, 4, seed=rng, dtype=dtype), cr.ReLU(),
        cr.Dense(4, 3, seed=rng, dtype=dtype), cr.Identity(),
        cr.Dense(3, 2, seed=rng, dtype=dtype), cr.Softmax(),
    ])


def parts(path):
    """The tensors and metadata header of a safetensors file, read with safetensors itself."""
    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata())


def saved_parts(tmp_path, dtype="float32"):
    path = tmp_path / "good.safetensors"
    make_net(dtype).save(path)
    return parts(path)


def write(tmp_path, tensors, meta, name="bad.safetensors"):
    path = tmp_path / name
    save_file(tensors, str(path), metadata=meta)
    return path


def raw_file(tmp_path, header, data=b"", name="raw.safetensors"):
    body = json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    return path


def expect_error(path, *fragments):
    with pytest.raises(ModelFileError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return info.value


# ---- round trips ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_is_exact(tmp_path, dtype):
    net = make_net(dtype)
    path = tmp_path / "model.safetensors"
    net.save(path)
    back = cr.load(path)

    assert back.dtype == np.dtype(dtype)
    assert [n for n, _ in back.named_parameters()] == [n for n, _ in net.named_parameters()]
    for (_, p), (_, q) in zip(net.named_parameters(), back.named_parameters()):
        assert q.value.dtype == p.value.dtype and q.grad.dtype == p.value.dtype
        assert q.value.tobytes() == p.value.tobytes()  # bit-identical
        assert q.trainable == p.trainable
    assert back.layers[2].bias.trainable is False
    assert back.layers[1].slope == 0.2
    assert repr(back) == repr(net)
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(dtype)
    assert net.predict(x).tobytes() == back.predict(x).tobytes()


def test_file_layout(tmp_path):
    tensors, meta = saved_parts(tmp_path, "float64")
    assert sorted(tensors)[:2] == ["layers.0.bias", "layers.0.weight"]
    assert tensors["layers.0.weight"].shape == (5, 3)
    assert all(t.dtype == np.float64 for t in tensors.values())
    assert meta["format"] == "chainrule" and meta["format_version"] == str(FORMAT_VERSION)
    assert meta["dtype"] == "float64"
    architecture = json.loads(meta["architecture"])
    assert architecture[0] == {"type": "Dense",
                               "config": {"n_in": 3, "n_out": 5, "train_bias": True}}
    assert architecture[1] == {"type": "LeakyReLU", "config": {"slope": 0.2}}
    assert json.loads(meta["trainable"])["layers.2.bias"] is False
    assert set(json.loads(meta["versions"])) == {"chainrule", "numpy", "python", "blas"}
    assert json.loads(meta["user"]) == {}


def test_loaded_parameters_are_writable_and_independent(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    a, b = cr.load(path), cr.load(path)
    a.layers[0].weight.value += 1.0  # optimisers update in place
    assert not np.array_equal(a.layers[0].weight.value, b.layers[0].weight.value)


def test_loading_draws_nothing_from_the_global_generator(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    backend.seed(3)
    expected = backend.rng().random(4)
    backend.seed(3)
    cr.load(path)
    np.testing.assert_array_equal(backend.rng().random(4), expected)


def test_metadata_round_trip(tmp_path):
    meta = {"epochs": 12, "lr": 0.5, "seed": None, "history": {"loss": [1.0, 0.25]},
            "note": "naïve ✓", "ok": True}
    path = tmp_path / "model.safetensors"
    make_net().save(path, metadata=meta)
    assert read_metadata(path) == meta
    assert cr.load(path).metadata == meta
    make_net().save(path)
    assert cr.load(path).metadata == {}


@pytest.mark.parametrize("meta, fragment", [
    ({"f": object()}, "JSON values"),
    ({"loss": float("nan")}, "NaN"),
    ({1: np.float32(1.0)}, "JSON values"),
    (["not", "a", "dict"], "must be a dict"),
])
def test_metadata_must_be_json(tmp_path, meta, fragment):
    path = tmp_path / "model.safetensors"
    with pytest.raises(MetadataError, match=fragment) as info:
        make_net().save(path, metadata=meta)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ChainruleError)
    assert not path.exists()


# ---- saving safely ----------------------------------------------------------------------

@pytest.mark.parametrize("victim", ["fsync", "replace"])
def test_failed_save_keeps_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch, victim):
    path = tmp_path / "model.safetensors"
    make_net().save(path, metadata={"version": "old"})
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_file.os, victim, fail)
    with pytest.raises(OSError, match="disk full"):
        cr.mlp([3, 2], seed=1).save(path, metadata={"version": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert read_metadata(path) == {"version": "old"}


def test_interrupted_save_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_file.os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        make_net().save(path)
    assert os.listdir(tmp_path) == []


def test_save_replaces_existing_file(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    cr.mlp([3, 2], seed=1).save(str(path))
    assert cr.load(str(path)).sizes == [3, 2]
    assert os.listdir(tmp_path) == ["model.safetensors"]


def test_missing_directory_is_an_error(tmp_path):
    path = tmp_path / "nowhere" / "model.safetensors"
    with pytest.raises(ModelFileError, match="does not exist") as info:
        make_net().save(path)
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / "nowhere").exists()


def test_save_refuses_nan_weights_and_keeps_old_file(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    before = path.read_bytes()
    net = make_net()
    net.layers[2].weight.value[0, 0] = np.nan
    with pytest.raises(InvalidValueError, match="layers.2.weight"):
        net.save(path)
    assert path.read_bytes() == before


def test_save_refuses_layers_a_file_cannot_name(tmp_path):
    class Square(cr.Layer):
        def forward(self, x, training=False):
            return x * x

    with pytest.raises(ModelFileError, match="Square"):
        cr.Sequential([cr.Dense(2, 2), Square()]).save(tmp_path / "m.safetensors")


# ---- bad files --------------------------------------------------------------------------

def test_missing_file(tmp_path):
    path = tmp_path / "absent.safetensors"
    error = expect_error(path, "does not exist")
    assert isinstance(error, FileNotFoundError)
    with pytest.raises(ModelFileError, match="does not exist"):
        read_metadata(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    expect_error(path, "is empty")


def test_truncated_data(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    expect_error(path, "truncated", "tensors need")


def test_truncated_header(tmp_path):
    path = tmp_path / "model.safetensors"
    make_net().save(path)
    data = path.read_bytes()
    path.write_bytes(data[:40])
    expect_error(path, "truncated", "header needs")


def test_too_short_to_be_a_file(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x01\x02\x03")
    expect_error(path, "truncated or not a safetensors file")


@pytest.mark.parametrize("junk", [b"this is certainly not a model file",
                                  b"\x10\x00\x00\x00\x00\x00\x00\x00PK\x03\x04 zip bytes",
                                  bytes(range(256)) * 4])
def test_garbage_bytes(tmp_path, junk):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(junk)
    expect_error(path, "not a safetensors model file")


def test_header_that_is_not_json(tmp_path):
    path = tmp_path / "bad.safetensors"
    body = b"{not json at all}"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    expect_error(path, "header is not JSON")


def test_corrupt_tensor_entry_is_wrapped(tmp_path):
    _, meta = saved_parts(tmp_path)
    header = {"__metadata__": meta,
              "x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}  # 3 floats in 4 bytes
    path = raw_file(tmp_path, header, b"\x00" * 4)
    expect_error(path, "not a valid safetensors file")


def test_safetensors_file_from_another_program(tmp_path):
    path = write(tmp_path, {"embedding": np.zeros((2, 2), np.float32)}, {"producer": "other"})
    expect_error(path, "not a chainrule model")
    path = write(tmp_path, {"embedding": np.zeros((2, 2), np.float32)}, None, "plain.safetensors")
    expect_error(path, "not a chainrule model")
    with pytest.raises(ModelFileError, match="not a chainrule model"):
        read_metadata(path)


def test_newer_format_version(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    meta["format_version"] = str(FORMAT_VERSION + 1)
    path = write(tmp_path, tensors, meta)
    expect_error(path, f"newer chainrule (format {FORMAT_VERSION + 1})", "upgrade chainrule")
    with pytest.raises(ModelFileError, match="upgrade chainrule"):
        read_metadata(path)


@pytest.mark.parametrize("key, value, fragment", [
    ("architecture", '[{"type": "Dense", "config": {', "'architecture' is not valid JSON"),
    ("architecture", '{"type": "Dense"}', "'architecture' should be a JSON list"),
    ("architecture", '["Dense"]', "architecture entry 0"),
    ("trainable", "{oops}", "'trainable' is not valid JSON"),
    ("trainable", '{"layers.0.bias": "no"}', "'trainable' entry"),
    ("trainable", '{"layers.99.bias": false}', "'trainable' entry"),
    ("user", "[1, 2", "'user' is not valid JSON"),
    ("format_version", "one", "format_version 'one' is not an integer"),
    ("dtype", "float16", "dtype 'float16'"),
])
def test_malformed_header(tmp_path, key, value, fragment):
    tensors, meta = saved_parts(tmp_path)
    meta[key] = value
    expect_error(write(tmp_path, tensors, meta), "malformed header", fragment)


def test_header_missing_a_key(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    del meta["architecture"]
    expect_error(write(tmp_path, tensors, meta), "missing architecture")


def test_missing_tensor(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    del tensors["layers.4.bias"]
    expect_error(write(tmp_path, tensors, meta), "missing tensor", "layers.4.bias")


def test_unexpected_tensor(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    tensors["layers.1.weight"] = np.ones((2, 2), np.float32)
    expect_error(write(tmp_path, tensors, meta), "unexpected tensor", "layers.1.weight")


def test_shape_mismatch_names_key_and_both_shapes(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    tensors["layers.0.weight"] = np.ascontiguousarray(tensors["layers.0.weight"].T)
    expect_error(write(tmp_path, tensors, meta), "shape mismatch", "'layers.0.weight'",
                 "expects (5, 3)", "holds (3, 5)")


def test_dtype_mismatch(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    tensors["layers.2.bias"] = tensors["layers.2.bias"].astype(np.float64)
    expect_error(write(tmp_path, tensors, meta), "dtype mismatch", "layers.2.bias",
                 "float32", "float64")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights(tmp_path, bad):
    tensors, meta = saved_parts(tmp_path)
    tensors["layers.4.weight"][1, 2] = bad
    expect_error(write(tmp_path, tensors, meta), "NaN or inf", "layers.4.weight")


def test_config_the_constructor_rejects(tmp_path):
    tensors, meta = saved_parts(tmp_path)
    architecture = json.loads(meta["architecture"])
    architecture[1]["config"] = {"slope": 5.0}
    meta["architecture"] = json.dumps(architecture)
    expect_error(write(tmp_path, tensors, meta), "layer 1 (LeakyReLU) cannot be built")
    architecture[1]["config"] = {"slope": 0.1, "payload": "x"}
    meta["architecture"] = json.dumps(architecture)
    expect_error(write(tmp_path, tensors, meta), "layer 1 (LeakyReLU) cannot be built")


def test_architecture_that_does_not_fit_together(tmp_path):
    meta = {"format": "chainrule", "format_version": "1", "dtype": "float64",
            "trainable": "{}", "user": "{}", "versions": "{}",
            "architecture": json.dumps([
                {"type": "Dense", "config": {"n_in": 2, "n_out": 3}},
                {"type": "Dense", "config": {"n_in": 4, "n_out": 1}}])}
    tensors = {"layers.0.weight": np.zeros((3, 2)), "layers.0.bias": np.zeros(3),
               "layers.1.weight": np.zeros((1, 4)), "layers.1.bias": np.zeros(1)}
    expect_error(write(tmp_path, tensors, meta), "does not fit together")


def test_unknown_layer_type_is_rejected_without_importing(tmp_path, monkeypatch):
    tensors, meta = saved_parts(tmp_path)
    architecture = json.loads(meta["architecture"])
    sentinel = tmp_path / "pwned"
    architecture[1] = {"type": "os.system", "config": {"command": f"touch {sentinel}"}}
    meta["architecture"] = json.dumps(architecture)
    path = write(tmp_path, tensors, meta)

    imported = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def spy_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    def spy_import_module(name, *args, **kwargs):
        imported.append(name)
        return real_import_module(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", spy_import)
    monkeypatch.setattr(importlib, "import_module", spy_import_module)
    with pytest.raises(ModelFileError) as info:
        load(path)
    monkeypatch.undo()

    message = str(info.value)
    assert "unknown type 'os.system'" in message and str(path) in message
    assert "Dense" in message and "LeakyReLU" in message  # lists the known types
    assert "os" not in imported and "os.system" not in imported
    assert not sentinel.exists()


def test_pathlike_and_str_paths(tmp_path):
    make_net().save(tmp_path / "a.safetensors")
    assert repr(cr.load(str(tmp_path / "a.safetensors"))) == repr(make_net())


# ---- layers with buffers (BatchNorm) and Dropout ----------------------------------------

def make_regularised_net(dtype="float32"):
    """BatchNorm and Dropout between Dense layers, with running statistics off their start."""
    from chainrule.layers import BatchNorm, Dropout

    rng = np.random.default_rng(11)
    net = cr.Sequential([
        cr.Dense(3, 6, seed=rng, dtype=dtype), BatchNorm(6, momentum=0.2, eps=1e-4, dtype=dtype),
        cr.ReLU(), Dropout(0.3, seed=1), cr.Dense(6, 2, seed=rng, dtype=dtype), cr.Softmax(),
    ])
    X = rng.normal(loc=1.0, scale=2.0, size=(16, 3)).astype(dtype)
    for _ in range(3):
        net.forward(X, training=True)
    net.layers[1].gamma.value[...] = rng.uniform(0.5, 1.5, 6)
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_restores_buffers_and_predictions(tmp_path, dtype):
    net = make_regularised_net(dtype)
    bn = net.layers[1]
    assert not np.all(bn.running_mean == 0) and not np.all(bn.running_var == 1)
    path = tmp_path / "model.safetensors"
    net.save(path)
    back = cr.load(path)

    for name in ("running_mean", "running_var"):
        stored = getattr(back.layers[1], name)
        assert stored.dtype == np.dtype(dtype)
        assert stored.tobytes() == getattr(bn, name).tobytes()  # bit-identical
    assert back.layers[1].config() == {"n": 6, "momentum": 0.2, "eps": 1e-4}
    assert back.layers[3].p == 0.3
    for p, q in zip(net.parameters(), back.parameters()):
        assert q.value.tobytes() == p.value.tobytes()
        assert q.decay == p.decay
    assert repr(back) == repr(net)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(dtype)
    assert net.predict(x).tobytes() == back.predict(x).tobytes()


def test_buffer_tensors_in_the_file(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net("float64").save(path)
    tensors, meta = parts(path)
    assert sorted(k for k in tensors if k.startswith("layers.1.")) == [
        "layers.1.bias", "layers.1.running_mean", "layers.1.running_var", "layers.1.weight"]
    assert not any(k.startswith("layers.3.") for k in tensors)  # Dropout holds no arrays
    architecture = json.loads(meta["architecture"])
    assert architecture[1] == {"type": "BatchNorm",
                               "config": {"n": 6, "momentum": 0.2, "eps": 1e-4}}
    assert architecture[3] == {"type": "Dropout", "config": {"p": 0.3}}
    trainable = json.loads(meta["trainable"])
    assert "layers.1.weight" in trainable and "layers.1.running_mean" not in trainable


def test_loading_a_dropout_net_draws_nothing_from_the_global_generator(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    backend.seed(3)
    expected = backend.rng().random(4)
    backend.seed(3)
    cr.load(path)
    np.testing.assert_array_equal(backend.rng().random(4), expected)


def test_missing_buffer(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    tensors, meta = parts(path)
    del tensors["layers.1.running_var"]
    expect_error(write(tmp_path, tensors, meta), "missing tensor", "layers.1.running_var")


def test_buffer_shape_mismatch(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    tensors, meta = parts(path)
    tensors["layers.1.running_mean"] = np.zeros(5, np.float32)
    expect_error(write(tmp_path, tensors, meta), "shape mismatch", "'layers.1.running_mean'",
                 "expects (6,)", "holds (5,)")


def test_buffer_dtype_mismatch(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    tensors, meta = parts(path)
    tensors["layers.1.running_var"] = tensors["layers.1.running_var"].astype(np.float64)
    expect_error(write(tmp_path, tensors, meta), "dtype mismatch", "layers.1.running_var")


def test_non_finite_buffer(tmp_path):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    tensors, meta = parts(path)
    tensors["layers.1.running_var"][2] = np.nan
    expect_error(write(tmp_path, tensors, meta), "NaN or inf", "layers.1.running_var")


def test_save_refuses_a_nan_buffer(tmp_path):
    net = make_regularised_net()
    net.layers[1].running_mean[0] = np.inf
    with pytest.raises(InvalidValueError, match="layers.1.running_mean"):
        net.save(tmp_path / "model.safetensors")


@pytest.mark.parametrize("index, config, fragment", [
    (3, {"p": 1.5}, "layer 3 (Dropout) cannot be built"),
    (1, {"n": 6, "momentum": 0.2, "eps": -1.0}, "layer 1 (BatchNorm) cannot be built"),
])
def test_bad_config_for_the_new_layers(tmp_path, index, config, fragment):
    path = tmp_path / "model.safetensors"
    make_regularised_net().save(path)
    tensors, meta = parts(path)
    architecture = json.loads(meta["architecture"])
    architecture[index]["config"] = config
    meta["architecture"] = json.dumps(architecture)
    expect_error(write(tmp_path, tensors, meta), fragment)


# ---- convolutional networks ------------------------------------------------------------

def make_cnn(dtype="float32"):
    """Every image layer, with non-square kernels, strides and padding in the configs."""
    from chainrule.layers import AvgPool2D, Conv2D, Flatten, MaxPool2D

    rng = np.random.default_rng(5)
    return cr.Sequential([
        Conv2D(3, 4, (3, 2), stride=(1, 2), padding=(1, 0), seed=rng, dtype=dtype), cr.ReLU(),
        MaxPool2D(2), Conv2D(4, 5, 3, padding=1, seed=rng, bias=0.1, dtype=dtype), cr.Tanh(),
        AvgPool2D(2, stride=1), Flatten(), cr.Dropout(0.3, seed=rng),
        cr.Dense(5 * 3 * 1, 3, seed=rng, dtype=dtype), cr.Softmax(),
    ])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cnn_round_trip_is_exact(tmp_path, dtype):
    net = make_cnn(dtype)
    path = tmp_path / "cnn.safetensors"
    net.save(path)
    back = cr.load(path)
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
    assert [layer.config() for layer in back.layers] == [layer.config() for layer in net.layers]
    # 8x8 -> conv (8, 4) -> pool (4, 2) -> conv (4, 2) -> avg pool (3, 1): 5*3*1 = 15 features
    assert back.sizes == net.sizes == [(3, 8, 8), (4, 8, 4), (5, 4, 2), 3]
    for (_, p), (_, q) in zip(net.named_parameters(), back.named_parameters()):
        assert q.value.shape == p.value.shape and q.value.tobytes() == p.value.tobytes()
    assert repr(back) == repr(net)
    x = np.random.default_rng(0).normal(size=(4, 3, 8, 8)).astype(dtype)
    assert net.predict(x).tobytes() == back.predict(x).tobytes()


def test_lenet5_file_layout(tmp_path):
    from chainrule.models import lenet5

    path = tmp_path / "lenet.safetensors"
    lenet5(seed=0).save(path)
    tensors, meta = parts(path)
    assert tensors["layers.0.weight"].shape == (6, 1, 5, 5)  # (out, in, kh, kw)
    assert tensors["layers.3.weight"].shape == (16, 6, 5, 5)
    assert tensors["layers.7.weight"].shape == (120, 400)
    architecture = json.loads(meta["architecture"])
    assert architecture[0] == {"type": "Conv2D", "config": {
        "in_channels": 1, "out_channels": 6, "kernel_size": 5, "stride": 1, "padding": 2}}
    assert architecture[2] == {"type": "MaxPool2D", "config": {"size": 2, "stride": 2}}
    assert architecture[6] == {"type": "Flatten", "config": {}}


def test_conv_weight_of_the_wrong_shape(tmp_path):
    path = tmp_path / "cnn.safetensors"
    make_cnn().save(path)
    tensors, meta = parts(path)
    tensors["layers.3.weight"] = np.zeros((5, 4, 3, 2), dtype=np.float32)
    expect_error(write(tmp_path, tensors, meta), "layers.3.weight", "(5, 4, 3, 3)", "(5, 4, 3, 2)")


def test_conv_config_that_does_not_fit(tmp_path):
    path = tmp_path / "cnn.safetensors"
    make_cnn().save(path)
    tensors, meta = parts(path)
    architecture = json.loads(meta["architecture"])
    architecture[3]["config"]["kernel_size"] = 0
    meta["architecture"] = json.dumps(architecture)
    expect_error(write(tmp_path, tensors, meta), "layer 3 (Conv2D) cannot be built")
