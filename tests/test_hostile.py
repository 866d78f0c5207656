"""Hostile input sweep (issue 6, item 5): bad inputs to the API, the CLI and the file loader.

Each case asserts ONE clear error: the chainrule exception class that names the problem,
or, on the command line, exit code 2, a one-line ``chainrule VERB: error: ...`` on stderr
(after argparse's usage block for argparse errors) and no traceback. Every case that could
write a file checks that the output directory lists the same files before and after.

Every bad file is built inside ``tmp_path``, by hand (raw bytes, ``safetensors`` itself,
``pickle``), so the tests do not lean on the code under test to produce them.
"""
import csv
import json
import pickle
import re
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import chainrule as cr
from chainrule import cli
from chainrule.errors import (DataError, InvalidValueError, ModelFileError,
                              ModelFileNotFoundError, ShapeError, UnknownNameError)


# ---- helpers ----------------------------------------------------------------------------

def files(*roots):
    """Every path under the given directories, relative and sorted: the 'no partial output'
    check compares this before and after a failing call."""
    return [sorted(str(p.relative_to(root)) for p in Path(root).rglob("*")) for root in roots]


def assert_one_error(out, err):
    """stderr holds one line ``chainrule ...: error: ...`` (argparse's usage block may come
    first) and nothing anywhere looks like a Python traceback."""
    assert "Traceback" not in out + err, err
    lines = err.rstrip("\n").splitlines()
    if lines and lines[0].startswith("usage: chainrule"):
        i = 1
        while i < len(lines) and lines[i].startswith(" "):  # argparse wraps usage indented
            i += 1
        lines = lines[i:]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert lines[0].startswith("chainrule") and "error:" in lines[0], err
    return lines[0]


def cli_error(capsys, argv, *dirs):
    """Run ``chainrule ARGV`` in-process; it must exit 2 with one error line and write
    nothing into ``dirs``. Returns the error line."""
    before = files(*dirs)
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    line = assert_one_error(out, err)
    assert files(*dirs) == before, "a failing command left files behind"
    return line


def cli_process_error(cwd, *argv):
    """Run ``python -m chainrule ARGV`` end to end, as a user would."""
    before = files(cwd)
    done = subprocess.run([sys.executable, "-m", "chainrule", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    line = assert_one_error(done.stdout, done.stderr)
    assert files(cwd) == before, "a failing command left files behind"
    return line


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def small_table(n=40, seed=0):
    """Rows a, b, label with label 'yes' when a > 0: what the CLI model is trained on."""
    X = np.random.default_rng(seed).normal(size=(n, 2))
    return [[a, b, "yes" if a > 0 else "no"] for a, b in X]


def safetensors_parts(path):
    """(header dict, data bytes) of a safetensors file, parsed by hand."""
    raw = Path(path).read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def safetensors_bytes(header, data):
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + data


class PlantedPayload:
    """Unpickling this creates ``marker``: proof that a loader ran code from a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def net():
    return cr.mlp([4, 8, 3], seed=0)


@pytest.fixture
def data():
    X = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    return X, np.arange(12) % 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A CLI-trained CSV model (features a, b; classes no, yes) and a data-set model (xor)."""
    root = tmp_path_factory.mktemp("models")
    table = write_csv(root / "train.csv", ["a", "b", "label"], small_table())
    model = root / "csv.safetensors"
    assert cli.main(["train", "--csv", str(table), "--target", "label", "--hidden", "4",
                     "--epochs", "2", "--quiet", "--out", str(model)]) == 0
    xor = root / "xor.safetensors"
    assert cli.main(["train", "--dataset", "xor", "--hidden", "4", "--epochs", "1", "--quiet",
                     "--out", str(xor)]) == 0
    return {"root": root, "csv": model, "xor": xor, "table": table}


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    cr.mlp([4, 5, 3], seed=0).save(path)
    return path


# ---- API: shapes and dtypes of X --------------------------------------------------------

@pytest.mark.parametrize("X, fragment", [
    (np.zeros(4), r"shape \(samples, 4\), got \(4,\)"),                  # 1-D
    (np.zeros((2, 4, 1)), r"shape \(samples, 4\), got \(2, 4, 1\)"),     # 3-D into an MLP
    (np.zeros((2, 5)), "5 features but the first layer expects 4"),      # wrong width
], ids=["1d", "3d", "wrong-feature-count"])
def test_x_of_the_wrong_shape(net, X, fragment):
    with pytest.raises(ShapeError, match=fragment):
        net.predict(X)


@pytest.mark.parametrize("X", [
    np.array([["a", "b", "c", "d"]]),
    np.array([[1.0, 2.0, 3.0, None]], dtype=object),
    np.zeros((2, 4), dtype=complex),
], ids=["strings", "objects", "complex"])
def test_x_that_is_not_real_numbers(net, data, X):
    with pytest.raises(InvalidValueError, match="must be numeric, got dtype"):
        net.fit(X, data[1][:len(X)])


def test_bool_x_is_read_as_zeros_and_ones(net):
    # Not an error, on purpose: prepare_inputs accepts kinds "biuf", as scikit-learn does;
    # True/False features are the numbers 1/0, never a silent reinterpretation.
    X = np.array([[True, False, True, False], [False, False, True, True]])
    np.testing.assert_array_equal(net.predict(X), net.predict(X.astype(np.float32)))


def test_x_as_a_ragged_list(net):
    with pytest.raises(ShapeError, match="X"):
        net.predict([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0]])


# ---- API: NaN, inf and empty data -------------------------------------------------------

def test_nan_in_x(net, data):
    X, y = data
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(InvalidValueError, match=r"X contains NaN or inf \(rows \[3\]\)"):
        net.fit(X, y)


def test_inf_in_x_to_predict(net, data):
    X = data[0].copy()
    X[0, 0] = -np.inf
    with pytest.raises(InvalidValueError, match="NaN or inf"):
        net.predict(X)


def test_nan_in_regression_targets(data):
    X, y = data
    target = y.astype(np.float64)
    target[2] = np.nan
    with pytest.raises(InvalidValueError, match="SquaredError: targets contain NaN or inf"):
        cr.mlp([4, 1], output="identity", seed=0).fit(X, target)


def test_nan_among_class_labels(net, data):
    X, y = data
    labels = y.astype(np.float64)
    labels[5] = np.nan
    with pytest.raises(InvalidValueError, match="class labels must be integers"):
        net.fit(X, labels)


def test_nan_in_validation_x(net, data):
    X, y = data
    X_val = X.copy()
    X_val[1, 2] = np.nan
    with pytest.raises(InvalidValueError, match="validation X contains NaN"):
        net.fit(X, y, validation_data=(X_val, y))


def test_inf_in_validation_targets(data):
    X, y = data
    y_val = y.astype(np.float64)
    y_val[0] = np.inf
    with pytest.raises(InvalidValueError, match="targets contain NaN or inf"):
        cr.mlp([4, 1], output="identity", seed=0).fit(X, y.astype(float),
                                                       validation_data=(X, y_val))


def test_empty_x_to_fit(net):
    with pytest.raises(InvalidValueError, match="X is empty"):
        net.fit(np.zeros((0, 4)), np.zeros(0, dtype=int))


def test_empty_x_to_predict(net):
    with pytest.raises(InvalidValueError, match="X is empty"):
        net.predict(np.zeros((0, 4)))


def test_x_and_y_of_different_lengths(net, data):
    X, y = data
    with pytest.raises(ShapeError, match="12 samples but its targets have 5"):
        net.fit(X, y[:5])


def test_targets_missing(net, data):
    with pytest.raises(InvalidValueError, match="y"):
        net.fit(data[0], None)


# ---- API: labels and targets ------------------------------------------------------------

@pytest.mark.parametrize("shift, found", [(3, r"\[3, 4, 5\]"), (-1, r"\[-1, -1, -1\]")],
                         ids=["too-large", "negative"])
def test_labels_out_of_range(net, data, shift, found):
    X, y = data
    with pytest.raises(InvalidValueError, match=rf"must lie in 0..2 .* got {found}"):
        net.fit(X, y + shift)


def test_non_integer_labels(net, data):
    X, y = data
    with pytest.raises(InvalidValueError, match=r"integers 0..2, got \[0.5"):
        net.fit(X, y + 0.5)


def test_string_labels(net, data):
    with pytest.raises(InvalidValueError, match="class labels must be integers"):
        net.fit(data[0], np.array(["cat", "dog", "emu"] * 4))


def test_one_hot_rows_that_do_not_sum_to_one(net, data):
    X, y = data
    target = np.eye(3)[y]
    target[4] = [1.0, 1.0, 0.0]
    with pytest.raises(InvalidValueError, match=r"sum to 1; row 4 is \[1.0, 1.0, 0.0\]"):
        net.fit(X, target)


def test_one_hot_rows_of_the_wrong_width(net, data):
    X, y = data
    with pytest.raises(ShapeError, match=r"\(batch, 3\), got \(12, 4\)"):
        net.fit(X, np.eye(4)[y])


def test_validation_labels_out_of_range(net, data):
    X, y = data
    with pytest.raises(InvalidValueError, match="must lie in 0..2"):
        net.fit(X, y, validation_data=(X, y + 7))


def test_evaluate_with_labels_the_outputs_cannot_score(net, data):
    # was: accuracy 0.0, silently (every out-of-range label just counted as a miss)
    X, y = data
    with pytest.raises(InvalidValueError, match=r"y_true: expected class labels 0..2"):
        net.evaluate(X, y + 7)


def test_validation_data_that_is_not_a_pair(net, data):
    with pytest.raises(InvalidValueError, match="validation_data"):
        net.fit(*data, validation_data=data[0])


@pytest.mark.parametrize("loss, target, fragment", [
    (cr.MSE(), np.array(["a", "b"]), "MSE: targets must be real numbers, got dtype <U1"),
    (cr.MSE(), np.array([1j, 2.0]), "MSE: targets must be real numbers, got dtype complex"),
    (cr.CrossEntropy(), np.array([["1", "0", "0"]] * 2), "real numbers, got dtype <U1"),
    (cr.CrossEntropy(), np.eye(3)[:2] * (1 + 0j), "real numbers, got dtype complex"),
], ids=["mse-strings", "mse-complex", "one-hot-strings", "one-hot-complex"])
def test_loss_targets_that_are_not_real_numbers(loss, target, fragment):
    # were: NumPy's "could not convert string to float", a TypeError from isfinite, and a
    # silent cast dropping the imaginary part
    pred = np.full((2, 3 if isinstance(loss, cr.CrossEntropy) else 1), 1 / 3)
    with pytest.raises(InvalidValueError, match=fragment):
        loss.forward(pred, target)


@pytest.mark.parametrize("loss", [cr.MSE(), cr.CrossEntropy()], ids=["mse", "cross-entropy"])
def test_loss_of_an_empty_batch(loss):
    # was: nan and a RuntimeWarning
    with pytest.raises(InvalidValueError, match="the batch is empty"):
        loss.forward(np.zeros((0, 3)), np.zeros(0, dtype=int))


@pytest.mark.parametrize("y_true, y_pred, fragment", [
    ([1.0, np.nan], [1.0, 2.0], "y_true: contains NaN"),          # was: nan
    (["a", "b"], [1.0, 2.0], "y_true: expected numbers"),          # was: NumPy ValueError
    ([1.0, 2.0], [[1.0], [2.0, 3.0]], "y_pred: expected a rectangular array"),
], ids=["nan", "strings", "ragged"])
def test_mse_metric_of_bad_values(y_true, y_pred, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        cr.metrics.mse(y_true, y_pred)


# ---- API: huge values -------------------------------------------------------------------

def test_huge_inputs_stop_with_a_divergence_warning_and_finite_weights(tmp_path, data):
    # 1e30 inputs with SGD: the first step is finite, the next loss is NaN. fit does not
    # raise: it stops with a DivergenceWarning and keeps finite weights, which can be saved.
    X, y = data
    net = cr.mlp([4, 8, 3], seed=0)
    with np.errstate(all="ignore"), pytest.warns(cr.DivergenceWarning, match="scale the inputs"):
        history = net.fit(X * np.float32(1e30), y, optimizer=cr.SGD(0.1), epochs=5)
    assert history.stop_reason == "diverged"
    assert all(np.all(np.isfinite(p.value)) for p in net.parameters())
    net.save(tmp_path / "kept.safetensors")
    assert all(np.all(np.isfinite(p.value)) for p in cr.load(tmp_path / "kept.safetensors")
               .parameters())


def test_huge_inputs_with_adam_do_not_stall_silently(data):
    X, y = data
    net = cr.mlp([4, 8, 3], seed=0)
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        net.fit(X * np.float32(1e30), y, optimizer=cr.Adam(0.01), epochs=3)
    assert any(issubclass(w.category, cr.DivergenceWarning) for w in caught)


def test_predict_after_divergence_does_not_return_silent_nan(data):
    X, y = data
    net = cr.mlp([4, 8, 3], seed=0)
    with np.errstate(all="ignore"), pytest.warns(cr.DivergenceWarning):
        net.fit(X * np.float32(1e30), y, optimizer=cr.SGD(0.1), epochs=5)
    with np.errstate(all="ignore"), pytest.raises(InvalidValueError, match="outputs overflowed"):
        net.predict(X * np.float32(1e30))


# ---- API: unknown names -----------------------------------------------------------------

@pytest.mark.parametrize("make, kind, name", [
    (lambda: cr.mlp([4, 8, 3], activation="relux"), "activation", "relux"),
    (lambda: cr.mlp([4, 3], output="softmaxx"), "activation", "softmaxx"),
    (lambda: cr.mlp([4, 3], init="hee"), "initialiser", "hee"),
    (lambda: cr.mlp([4, 3], dtype="float16"), "dtype", "float16"),
    (lambda: cr.datasets.load("mnistt"), "data set", "mnistt"),
    (lambda: cr.optim.schedules.get("stepp", cr.SGD(0.1)), "learning-rate schedule", "stepp"),
    (lambda: cr.metrics.get("acc"), "metric", "acc"),
    (lambda: cr.losses.get("crossentropy"), "loss", "crossentropy"),
], ids=["activation", "output", "init", "dtype", "dataset", "schedule", "metric", "loss"])
def test_unknown_names_list_the_valid_ones(make, kind, name):
    with pytest.raises(UnknownNameError, match=f"unknown {kind} '{name}'; valid names are: "):
        make()


def test_unknown_loss_in_fit(net, data):
    with pytest.raises(UnknownNameError, match="unknown loss 'hinge'"):
        net.fit(*data, loss="hinge")


def test_unknown_data_set_option():
    with pytest.raises(InvalidValueError, match="unknown option.* noize; its options are: n, "):
        cr.datasets.load("moons", noize=0.1)


def test_optimizer_given_as_a_name(net, data):
    with pytest.raises(InvalidValueError, match="optimizer"):
        net.fit(*data, optimizer="adam")


# ---- API: hyper-parameters out of range -------------------------------------------------

@pytest.mark.parametrize("make", [lambda: cr.SGD(-1), lambda: cr.Adam(0),
                                  lambda: cr.RMSProp(float("nan"))],
                         ids=["negative", "zero", "nan"])
def test_learning_rate_out_of_range(make):
    with pytest.raises(InvalidValueError, match="Invalid learning rate"):
        make()


@pytest.mark.parametrize("epochs", [0, -1, 1.5])
def test_epochs_out_of_range(net, data, epochs):
    with pytest.raises(InvalidValueError, match=f"epochs must be a positive integer, got {epochs}"):
        net.fit(*data, epochs=epochs)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5])
def test_batch_size_out_of_range(net, data, batch_size):
    with pytest.raises(InvalidValueError, match="batch_size must be a positive integer"):
        net.fit(*data, batch_size=batch_size)


@pytest.mark.parametrize("p", [1.0, -0.1, float("nan")])
def test_dropout_p_out_of_range(p):
    with pytest.raises(InvalidValueError, match=r"dropout p must be in \[0, 1\)"):
        cr.mlp([4, 8, 3], dropout=p)


def test_layer_of_size_zero():
    with pytest.raises(InvalidValueError, match="n_out must be a positive integer, got 0"):
        cr.mlp([4, 0, 3])


@pytest.mark.parametrize("name, options, fragment", [
    ("moons", {"n": "abc"}, "n must be a positive integer, got 'abc'"),   # was: int() error
    ("moons", {"noise": -1}, "noise must be a number >= 0"),
    ("spirals", {"k": 1}, r"k \(number of arms\) must be an integer >= 2"),
    ("digits", {"test_fraction": 2}, r"test_fraction must be in \(0, 1\)"),  # was: sklearn's
], ids=["moons-n", "moons-noise", "spirals-k", "digits-test-fraction"])
def test_data_set_options_out_of_range(name, options, fragment):
    with pytest.raises(InvalidValueError, match=fragment):
        cr.datasets.load(name, **options)


@pytest.mark.parametrize("k", [-1, 2.5, "3"])
def test_one_hot_with_a_bad_class_count(k):
    # were: NumPy's "negative dimensions", a TypeError and a UFuncTypeError
    with pytest.raises(InvalidValueError, match="k .number of classes. must be a non-negative"):
        cr.data.one_hot(np.array([0, 1]), k=k)


# ---- API: CSV and IDX files -------------------------------------------------------------

@pytest.mark.parametrize("text, error, fragment", [
    ("a,b,label\n1,2,yes\n3,no\n", DataError, r"line 3: expected 3 fields .* found 2"),
    ("a,b,label\n1,2,yes\nx,3,no\n", DataError, r"line 3, column 'a': expected a number, "
                                                 r"found 'x'"),
    ("", DataError, "the file is empty"),
    ("a,b,label\n", DataError, "only a header line"),
    ("a,,label\n1,2,yes\n", DataError, "column 2 of the header has no name"),
    ("label\nyes\nno\n", DataError, "the only column"),
    ("a,b,label\n1e39,2,yes\n1,2,no\n", DataError, "'1e39' is too large for float32"),
], ids=["ragged", "non-numeric", "empty", "header-only", "unnamed-column", "no-features",
        "float32-overflow"])
def test_malformed_csv(tmp_path, text, error, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(error, match=fragment):
        cr.data.load_csv(path, "label", test_fraction=0)


def test_csv_without_the_target_column(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b", "label"], small_table(4))
    with pytest.raises(DataError, match="no target column 'species'; the columns are: a, b, "
                                        "label"):
        cr.data.load_csv(path, "species")


def test_csv_path_that_is_a_directory(tmp_path):
    # was: a bare IsADirectoryError
    with pytest.raises(DataError, match="is a directory, not a CSV file"):
        cr.datasets.load("csv", path=tmp_path, target="label")


def test_csv_delimiter_that_is_not_one_character(tmp_path):
    # was: the csv module's TypeError
    path = write_csv(tmp_path / "t.csv", ["a", "b", "label"], small_table(4))
    with pytest.raises(InvalidValueError, match="delimiter must be one character"):
        cr.data.load_csv(path, "label", delimiter=";;")


def test_truncated_idx_file(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(b"\x00\x00\x08\x02" + struct.pack(">II", 5, 5) + b"abc")
    with pytest.raises(DataError, match=r"truncated file; header says shape \(5, 5\)"):
        cr.data.read_idx(path)


# ---- the model file loader --------------------------------------------------------------

def test_empty_model_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match=r"is empty \(0 bytes\)"):
        cr.load(path)


@pytest.mark.parametrize("cut, fragment", [
    (lambda size, n: 5, "only 5 bytes"),
    (lambda size, n: 8 + size // 2, "is truncated: the header needs"),
    (lambda size, n: n - 7, "is truncated: its tensors need"),
], ids=["in-the-length", "in-the-header", "in-the-data"])
def test_truncated_model_file(good_file, cut, fragment):
    raw = good_file.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    good_file.write_bytes(raw[:cut(size, len(raw))])
    with pytest.raises(ModelFileError, match=fragment):
        cr.load(good_file)


@pytest.mark.parametrize("where", ["length", "middle", "last-byte"])
def test_flipped_byte_in_the_header(good_file, where):
    raw = bytearray(good_file.read_bytes())
    (size,) = struct.unpack("<Q", raw[:8])
    pos = {"length": 1, "middle": 8 + size // 2, "last-byte": 8 + size - 1}[where]
    raw[pos] ^= 0xFF
    good_file.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="model file .*good.safetensors"):
        cr.load(good_file)


def test_header_edited_to_name_another_format(good_file):
    raw = good_file.read_bytes()
    good_file.write_bytes(raw.replace(b'"format": "chainrule"', b'"format": "chainrulf"', 1)
                          .replace(b'"format":"chainrule"', b'"format":"chainrulf"', 1))
    with pytest.raises(ModelFileError, match="not a chainrule model"):
        cr.load(good_file)


def _weight_byte(path, key, element, byte):
    """Offset in the file of one byte of one float32 element of tensor ``key``."""
    header, _ = safetensors_parts(path)
    (size,) = struct.unpack("<Q", Path(path).read_bytes()[:8])
    return 8 + size + header[key]["data_offsets"][0] + 4 * element + byte


def test_flipped_exponent_bits_in_the_data(good_file):
    raw = bytearray(good_file.read_bytes())
    pos = _weight_byte(good_file, "layers.0.weight", 3, 0)
    raw[pos + 3] |= 0x7F  # every exponent bit set: the weight becomes inf or NaN
    raw[pos + 2] |= 0x80
    good_file.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="'layers.0.weight' contains NaN or inf"):
        cr.load(good_file)


def test_flipped_mantissa_byte_in_the_data(good_file):
    raw = bytearray(good_file.read_bytes())
    raw[_weight_byte(good_file, "layers.0.weight", 3, 0)] ^= 0xFF
    good_file.write_bytes(bytes(raw))
    with pytest.raises(ModelFileError):
        cr.load(good_file)


@pytest.mark.parametrize("content", [b'{"architecture": [{"type": "Dense"}]}', b"[1, 2, 3]"],
                         ids=["object", "list"])
def test_json_file_renamed_to_safetensors(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a safetensors|truncated"):
        cr.load(path)


def test_safetensors_file_not_written_by_chainrule(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not a chainrule model"):
        cr.load(path)


def test_newer_format_version(good_file):
    header, data = safetensors_parts(good_file)
    header["__metadata__"]["format_version"] = "99"
    good_file.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match="newer chainrule .format 99.* upgrade chainrule"):
        cr.load(good_file)


def test_pickle_renamed_to_safetensors_is_never_unpickled(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(PlantedPayload(marker)))
    with pytest.raises(ModelFileError, match="not a safetensors model file"):
        cr.load(path)
    assert not marker.exists(), "the loader unpickled the file"


@pytest.mark.parametrize("planted", ["os.system", "__import__", "builtins.eval",
                                     "subprocess.Popen", "Sequential"])
def test_header_planting_a_layer_type(good_file, planted, monkeypatch):
    import importlib

    imported = []
    real_import = importlib.import_module
    monkeypatch.setattr(importlib, "import_module",
                        lambda name, *a: imported.append(name) or real_import(name, *a))
    header, data = safetensors_parts(good_file)
    layers = json.loads(header["__metadata__"]["architecture"])
    layers[1]["type"] = planted
    header["__metadata__"]["architecture"] = json.dumps(layers)
    good_file.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match=f"layer 1 has unknown type '{planted}'; model files "
                                             f"may use only: "):
        cr.load(good_file)
    assert imported == []


def test_header_planting_a_constructor_argument(good_file):
    header, data = safetensors_parts(good_file)
    layers = json.loads(header["__metadata__"]["architecture"])
    layers[0]["config"]["__class__"] = "os.system"
    header["__metadata__"]["architecture"] = json.dumps(layers)
    good_file.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError, match=r"layer 0 \(Dense\) cannot be built from config"):
        cr.load(good_file)


def test_header_declaring_an_enormous_layer(good_file):
    header, data = safetensors_parts(good_file)
    layers = json.loads(header["__metadata__"]["architecture"])
    layers[0]["config"]["n_in"] = 10 ** 15
    header["__metadata__"]["architecture"] = json.dumps(layers)
    good_file.write_bytes(safetensors_bytes(header, data))
    with pytest.raises(ModelFileError):
        cr.load(good_file)


def test_model_path_that_is_a_directory(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory, not a model file"):
        cr.load(tmp_path)


def test_model_path_that_does_not_exist(tmp_path):
    with pytest.raises(ModelFileNotFoundError, match="does not exist"):
        cr.load(tmp_path / "nope.safetensors")


def test_save_onto_a_directory(tmp_path):
    (tmp_path / "out.safetensors").mkdir()
    with pytest.raises(ModelFileError, match="it is a directory"):
        cr.mlp([2, 2]).save(tmp_path / "out.safetensors")
    assert files(tmp_path) == [["out.safetensors"]]


# ---- CLI, in-process --------------------------------------------------------------------

XOR = ["--dataset", "xor", "--hidden", "4", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize("argv, fragment", [
    (["--optimizer", "adamm"], "argument --optimizer: invalid choice: 'adamm'"),
    (["--dataset", "mnistt"], "argument --dataset: invalid choice: 'mnistt'"),
    (["--schedule", "stepp"], "argument --schedule: invalid choice: 'stepp'"),
    (["--lr", "-1"], "argument --lr: must be > 0, got -1"),
    (["--lr", "0"], "argument --lr: must be > 0, got 0"),
    (["--epochs", "0"], "argument --epochs: must be > 0"),
    (["--epochs", "ten"], "argument --epochs: expected an integer, got 'ten'"),
    (["--batch-size", "0"], "argument --batch-size: --batch-size must be > 0"),
    (["--dropout", "1"], r"argument --dropout: must be in \[0, 1\), got 1"),
    (["--hidden", "8,x"], "argument --hidden: --hidden takes sizes like"),
], ids=["optimizer", "dataset", "schedule", "lr-negative", "lr-zero", "epochs-zero",
        "epochs-word", "batch-size-zero", "dropout-one", "hidden-word"])
def test_cli_rejects_bad_flags(tmp_path, monkeypatch, capsys, argv, fragment):
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", *XOR, *argv], tmp_path)
    assert line.startswith("chainrule train: error: ")
    assert re.search(fragment, line), line


@pytest.mark.parametrize("flag, value, kind", [("--activation", "relux", "activation"),
                                                ("--init", "hee", "initialiser")])
def test_cli_unknown_activation_and_init(tmp_path, monkeypatch, capsys, flag, value, kind):
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", *XOR, flag, value], tmp_path)
    assert f"unknown {kind} '{value}'; valid names are: " in line


@pytest.mark.parametrize("text, fragment", [
    ("a,b,label\n1,2,yes\n3,no\n", "bad.csv, line 3: expected 3 fields"),
    ("a,b,label\n1,2,yes\nx,3,no\n", "bad.csv, line 3, column 'a': expected a number"),
    ("", "bad.csv: the file is empty"),
    ("a,b,label\n", "bad.csv: only a header line"),
    ("a,b,kind\n1,2,yes\n", "bad.csv: no target column 'label'"),
], ids=["ragged", "non-numeric", "empty", "header-only", "missing-target"])
def test_cli_malformed_csv(tmp_path, monkeypatch, capsys, text, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(text)
    line = cli_error(capsys, ["train", "--csv", "bad.csv", "--target", "label", "--quiet"],
                     tmp_path)
    assert fragment in line


def test_cli_csv_without_target(tmp_path, monkeypatch, capsys, trained):
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", "--csv", trained["table"], "--quiet"], tmp_path)
    assert "--csv needs --target COLUMN" in line


def test_cli_csv_that_is_a_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", "--csv", "data", "--target", "label", "--quiet"],
                     tmp_path)
    assert "data: is a directory, not a CSV file" in line


def test_cli_toml_syntax_error_names_the_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text('epochs = 3\nhidden = [8]\nlr = = 0.1\n')
    line = cli_error(capsys, ["train", "--config", "exp.toml", *XOR], tmp_path)
    assert "'exp.toml' is not valid TOML" in line and "line 3" in line


@pytest.mark.parametrize("text, fragment", [
    ('epochs = "ten"\n', "epochs = 'ten': expected an integer, got 'ten'"),
    ('hidden = "abc"\n', "hidden = 'abc': --hidden takes sizes like"),
    ("dropout = 1.5\n", r"dropout = 1.5: must be in [0, 1)"),
    ('optimizer = "adamm"\n', "optimizer = 'adamm' is not one of adagrad, adam"),
    ("epochz = 3\n", "unknown setting in exp.toml 'epochz'; valid names are"),
], ids=["epochs-string", "hidden-string", "dropout-range", "optimizer-name", "unknown-key"])
def test_cli_toml_with_wrong_values(tmp_path, monkeypatch, capsys, text, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text(text)
    line = cli_error(capsys, ["train", "--config", "exp.toml", "--dataset", "xor", "--quiet"],
                     tmp_path)
    assert fragment in line


def test_cli_config_that_is_a_directory(tmp_path, monkeypatch, capsys):
    # was: a traceback (IsADirectoryError); main now turns any OSError into one line
    (tmp_path / "exp.toml").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", "--config", "exp.toml", *XOR], tmp_path)
    assert "'exp.toml': is a directory" in line


def test_cli_tune_with_broken_toml(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp.toml").write_text("[search\nlr = [0.1]\n")
    line = cli_error(capsys, ["tune", "exp.toml"], tmp_path)
    assert "is not valid TOML" in line and "line 1" in line


def test_cli_out_that_is_a_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "model.safetensors").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", *XOR, "--out", "model.safetensors"], tmp_path)
    assert "--out 'model.safetensors' is a directory" in line


def test_cli_log_csv_that_is_a_directory(tmp_path, monkeypatch, capsys):
    # was: a traceback (IsADirectoryError from the CSV logger)
    (tmp_path / "log.csv").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", *XOR, "--out", "m.safetensors", "--log-csv", "log.csv"],
                     tmp_path)
    assert "--log-csv 'log.csv' is a directory" in line


def test_cli_plot_with_an_unknown_image_type_leaves_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["train", *XOR, "--out", "m.safetensors", "--plot", "loss.xyz"],
                     tmp_path)
    assert "loss.xyz" in line


@pytest.mark.parametrize("verb", ["evaluate", "predict", "export"])
def test_cli_model_path_that_is_a_directory(tmp_path, monkeypatch, capsys, trained, verb):
    (tmp_path / "model.safetensors").mkdir()
    monkeypatch.chdir(tmp_path)
    extra = {"evaluate": [], "predict": ["--csv", trained["table"]],
             "export": ["--onnx", "m.onnx"]}[verb]
    line = cli_error(capsys, [verb, "model.safetensors", *extra], tmp_path)
    assert f"chainrule {verb}: error: model file 'model.safetensors': is a directory" in line


@pytest.mark.parametrize("verb", ["evaluate", "predict"])
def test_cli_model_path_that_does_not_exist(tmp_path, monkeypatch, capsys, trained, verb):
    monkeypatch.chdir(tmp_path)
    extra = ["--csv", trained["table"]] if verb == "predict" else []
    line = cli_error(capsys, [verb, "nope.safetensors", *extra], tmp_path)
    assert "model file 'nope.safetensors' does not exist" in line


def test_cli_evaluate_a_newer_format(tmp_path, monkeypatch, capsys, trained):
    header, data = safetensors_parts(trained["csv"])
    header["__metadata__"]["format_version"] = "2"
    (tmp_path / "new.safetensors").write_bytes(safetensors_bytes(header, data))
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["evaluate", "new.safetensors", "--csv", trained["table"],
                              "--target", "label"], tmp_path)
    assert "upgrade chainrule" in line


def test_cli_predict_csv_without_the_model_columns(tmp_path, monkeypatch, capsys, trained):
    write_csv(tmp_path / "new.csv", ["x", "y"], [[1, 2], [3, 4]])
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["predict", trained["csv"], "--csv", "new.csv", "--out", "p.csv"],
                     tmp_path, trained["root"])
    assert "new.csv: no column 'a'; the columns are: x, y" in line


def test_cli_predict_csv_with_the_wrong_column_count(tmp_path, monkeypatch, capsys, trained):
    # a model trained on a built-in set has no column names: the count is checked
    write_csv(tmp_path / "new.csv", ["p", "q", "r"], [[1, 2, 3]])
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["predict", trained["xor"], "--csv", "new.csv", "--out", "p.csv"],
                     tmp_path, trained["root"])
    assert "X has 3 features but the first layer expects 2" in line


def test_cli_predict_non_numeric_cell(tmp_path, monkeypatch, capsys, trained):
    write_csv(tmp_path / "new.csv", ["a", "b"], [[1, 2], [3, "high"]])
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["predict", trained["csv"], "--csv", "new.csv", "--out", "p.csv"],
                     tmp_path)
    assert "new.csv, line 3, column 'b': expected a number, found 'high'" in line


@pytest.mark.parametrize("out, fragment", [("preds", "is a directory"),
                                           ("missing/p.csv", "does not exist")],
                         ids=["directory", "missing-directory"])
def test_cli_predict_out_that_cannot_be_written(tmp_path, monkeypatch, capsys, trained, out,
                                                fragment):
    # were: tracebacks (IsADirectoryError, FileNotFoundError) after the prediction work
    (tmp_path / "preds").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["predict", trained["csv"], "--csv", trained["table"], "--out",
                              out], tmp_path, trained["root"])
    assert f"--out '{out}'" in line and fragment in line


def test_cli_evaluate_csv_without_the_model_columns(tmp_path, monkeypatch, capsys, trained):
    # was: exit 0 -- the 1 remaining column was broadcast against the model's 2 scalings
    write_csv(tmp_path / "held.csv", ["x", "label"], [[1.0, "yes"], [-1.0, "no"]])
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["evaluate", trained["csv"], "--csv", "held.csv", "--target",
                              "label"], tmp_path)
    assert "no column(s) 'a', 'b' that the model was trained on" in line


def test_cli_evaluate_on_a_data_set_of_another_width(tmp_path, monkeypatch, capsys, trained):
    # was: a traceback (NumPy broadcast error in apply_scaling)
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["evaluate", trained["csv"], "--dataset", "digits"], tmp_path)
    assert "the data has 64 feature columns but the model was trained on 2 (a, b)" in line


def test_cli_evaluate_label_the_model_does_not_know(tmp_path, monkeypatch, capsys, trained):
    # was: labels re-numbered in the evaluation file's own sorted order, silently
    write_csv(tmp_path / "held.csv", ["a", "b", "label"], [[1, 2, "maybe"], [3, 4, "yes"]])
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["evaluate", trained["csv"], "--csv", "held.csv", "--target",
                              "label"], tmp_path)
    assert "label(s) 'maybe' that the model does not know; its classes are no, yes" in line


def test_cli_evaluate_matches_columns_and_labels_by_name(tmp_path, capsys, trained):
    # Not an error: the counterpart of the two cases above. Columns in another order and a
    # file holding only 'yes' score exactly as the training file's rows do.
    rows = [r for r in small_table() if r[2] == "yes"]
    write_csv(tmp_path / "yes.csv", ["label", "b", "a"], [[t, b, a] for a, b, t in rows])
    assert cli.main(["evaluate", str(trained["csv"]), "--csv", str(tmp_path / "yes.csv"),
                     "--target", "label"]) == 0
    text = capsys.readouterr().out
    net = cr.load(trained["csv"])
    meta = net.metadata
    X = (np.array([r[:2] for r in rows]) - meta["scaling"]["mean"]) / meta["scaling"]["scale"]
    expected = float(np.mean(net.predict(X.astype(np.float32)).argmax(axis=1) == 1))
    assert f"accuracy: {expected:.4f}" in text


def test_cli_export_onto_a_directory(tmp_path, monkeypatch, capsys, trained):
    (tmp_path / "m.onnx").mkdir()
    monkeypatch.chdir(tmp_path)
    line = cli_error(capsys, ["export", trained["csv"], "--onnx", "m.onnx"], tmp_path)
    assert "cannot save to 'm.onnx': it is a directory" in line


# ---- CLI, end to end (python -m chainrule): no traceback reaches the user ---------------

def test_process_csv_that_is_a_directory(tmp_path):
    (tmp_path / "data.csv").mkdir()
    line = cli_process_error(tmp_path, "train", "--csv", "data.csv", "--target", "label")
    assert line == "chainrule train: error: data.csv: is a directory, not a CSV file"


def test_process_unknown_optimizer(tmp_path):
    line = cli_process_error(tmp_path, "train", "--optimizer", "adamm")
    assert "argument --optimizer: invalid choice: 'adamm'" in line


def test_process_toml_syntax_error(tmp_path):
    (tmp_path / "exp.toml").write_text('epochs = 3\nlr = "0.1\n')
    line = cli_process_error(tmp_path, "train", "--config", "exp.toml")
    assert "is not valid TOML" in line and "line 2" in line


def test_process_pickle_disguised_as_a_model(tmp_path):
    marker = tmp_path / "PWNED"
    (tmp_path / "model.safetensors").write_bytes(pickle.dumps(PlantedPayload(marker)))
    line = cli_process_error(tmp_path, "evaluate", "model.safetensors")
    assert "model file 'model.safetensors': is not a safetensors model file" in line
    assert not marker.exists()


def test_process_predict_out_that_is_a_directory(tmp_path, trained):
    (tmp_path / "out").mkdir()
    line = cli_process_error(tmp_path, "predict", trained["csv"], "--csv", trained["table"],
                             "--out", "out")
    assert "--out 'out' is a directory" in line
