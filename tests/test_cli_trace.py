"""The ``chainrule trace`` and ``chainrule gradcheck`` verbs."""
import io
import json

import pytest

import chainrule as cr
from chainrule import cli, examples
from chainrule.cli import gradcheck as gradcheck_verb
from chainrule.trace import trace


def run(argv):
    out = io.StringIO()
    args = cli.build_parser().parse_args(argv)
    code = cli.VERBS[args.verb](args, out=out)
    return code, out.getvalue()


def error_of(argv, capsys):
    """The exit code and the one-line message ``chainrule VERB: error: ...``."""
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err, err
    return err


# ---- chainrule trace ----------------------------------------------------------------------------
def test_default_trace_is_the_notes_network():
    code, text = run(["trace"])
    assert code == 0
    expected = trace(examples.two_two_two_net(), "squared_error", examples.INPUT_222,
                     examples.TARGET_222, cr.SGD(0.5)).to_text()
    assert text == expected
    lines = text.splitlines()
    assert lines[0] == "Backpropagation, one step: the 2-2-2 network of the notes"
    assert "dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5 = 0.74136507 * 0.186815602 * " \
           "0.593269992 = 0.082167041   (dnet_o1/dw5 = out_h1)" in lines
    assert "w5+ = w5 - eta * dE/dw5 = 0.4 - 0.5 * 0.082167041 = 0.35891648" in lines


def test_two_steps():
    code, text = run(["trace", "--steps", "2"])
    assert code == 0 and "\nStep 1\n" in text and "\nStep 2\n" in text
    step2 = text.split("\nStep 2\n")[1]
    # the second step starts from the first one's weights and error
    assert "w5 = 0.35891648, w6 = 0.408666186, w7 = 0.51130127, w8 = 0.561370121" in step2
    assert "E_total = E_o1 + E_o2 = " in step2 and "= 0.291027774\n" in step2


def test_markdown_to_a_file(tmp_path):
    path = tmp_path / "trace.md"
    code, text = run(["trace", "--format", "markdown", "--out", str(path)])
    assert code == 0
    assert text == (f"wrote {path} (markdown, 1 step; error 0.298371109 -> 0.291027774)\n")
    md = path.read_text()
    assert md.startswith("# Backpropagation, one step: the 2-2-2 network of the notes")
    assert "| `dE/dw1` | " in md and "`0.000438568`" in md


def test_html_and_latex_formats(tmp_path):
    code, _ = run(["trace", "--format", "html", "--out", str(tmp_path / "t.html")])
    assert code == 0 and "0.082167041" in (tmp_path / "t.html").read_text()
    code, tex = run(["trace", "--format", "latex"])
    assert code == 0 and tex.startswith("\\documentclass") and "\\end{document}" in tex


def test_network_sizes_batch_and_class_targets():
    code, text = run(["trace", "--network", "3-4-2", "--activation", "tanh", "--output",
                      "softmax", "--input", "0.5,-1,2;1,0,0.3", "--target", "0;1", "--lr",
                      "0.1"])
    assert code == 0
    assert "Network: i1, i2, i3 -> h1, h2, h3, h4 (tanh) -> o1, o2 (softmax). Loss: " \
           "cross-entropy" in text
    assert "Data: a batch of 2 examples" in text
    assert "Example 1: i1 = 0.5, i2 = -1, i3 = 2; t_o1 = 1, t_o2 = 0" in text
    assert "eta = 0.1" in text


def test_random_inputs_from_the_seed_are_reproducible():
    first = run(["trace", "--network", "2-3-1", "--seed", "5", "--batch", "2"])[1]
    second = run(["trace", "--network", "2-3-1", "--seed", "5", "--batch", "2"])[1]
    other = run(["trace", "--network", "2-3-1", "--seed", "6", "--batch", "2"])[1]
    assert first == second != other
    assert "w1_1,1" in first and "a batch of 2 examples" in first


def test_weights_file_reproduces_the_notes(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"layers": [
        {"weight": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35, "train_bias": False},
        {"weight": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60, "train_bias": False}]}))
    code, text = run(["trace", "--weights", str(path), "--input", "0.05,0.10",
                      "--target", "0.01,0.99"])
    assert code == 0
    assert text == run(["trace"])[1]       # the same step: the notes' lines and errata


def test_model_file(tmp_path):
    net = cr.mlp([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    path = tmp_path / "m.safetensors"
    net.save(path)
    code, text = run(["trace", "--model", str(path), "--input", "0.1,0.2", "--target", "1"])
    assert code == 0 and "Precision: float64" in text and "net_o1 = " in text


def test_convolutional_model_file(tmp_path, capsys):
    # one 4x4 image x[r, c] = 4r + c (pixels as one row), kernel [[1, 0], [0, -1]], bias 0.5:
    # a1[y, x] = x[y, x] - x[y+1, x+1] + 0.5 = -5 + 0.5 = -4.5 everywhere, written out
    net = cr.Sequential([cr.Conv2D(1, 1, 2, weight=[[[[1.0, 0.0], [0.0, -1.0]]]], bias=0.5),
                         cr.Tanh(), cr.Flatten(), cr.Dense(9, 1, seed=0)])
    path = tmp_path / "conv.safetensors"
    net.save(path)
    pixels = ",".join(str(v) for v in range(16))
    code, text = run(["trace", "--model", str(path), "--input", pixels, "--target", "0.5",
                      "--lr", "0.1"])
    assert code == 0
    assert text.startswith("Backpropagation, one step: a 1x4x4-1x3x3-1 convolutional network\n")
    assert "a1[1,2] = w1[0,0] * x[1,2] + w1[0,1] * x[1,3] + w1[1,0] * x[2,2] + w1[1,1] * x[2,3] " \
           "+ b1 = 1 * 6 + 0 * 7 + 0 * 10 + -1 * 11 + 0.5 = -4.5" in text.splitlines()
    assert "dE/dw1[1,1] = dE/da1[0,0] * x[1,1] + " in text and "w1[1,1]+ = w1[1,1] - eta" in text
    code, batch = run(["trace", "--model", str(path), "--batch", "2", "--seed", "3"])
    assert code == 0 and "Data: a batch of 2 examples" in batch and "x[1] =\n" in batch
    err = error_of(["trace", "--model", str(path), "--input", "1,2,3", "--target", "1"], capsys)
    assert err == ("chainrule trace: error: --input has 3 values per example but the network "
                   "takes 1x4x4 images: 16 pixels per example, channel by channel, row by row")
    big = tmp_path / "lenet.safetensors"
    cr.lenet5(seed=0).save(big)
    err = error_of(["trace", "--model", str(big)], capsys)
    assert "products" in err and "a trace writes at most 3,000" in err


def test_optimizers():
    code, text = run(["trace", "--optimizer", "adam", "--lr", "0.01"])
    assert code == 0 and "Adam(lr=0.01)" in text and "w5+ = w5 + change = 0.4 + " in text
    assert "the notes print 0.291027924" not in text


def test_wrong_number_of_inputs_is_one_clear_line(capsys):
    err = error_of(["trace", "--input", "0.05,0.10,0.2"], capsys)
    assert err == ("chainrule trace: error: --input has 3 values per example but the network "
                   "has 2 inputs (i1, i2)")


@pytest.mark.parametrize("argv, message", [
    (["--target", "0.01"], "--target has 1 value per example but the network has 2 outputs "
                           "(o1, o2)"),
    (["--input", "0.05,abc"], "--input: 'abc' is not a number"),
    (["--input", "0.1,0.2;0.3,0.4", "--target", "0,1"], "--target has 1 example but --input has 2"),
    (["--activation", "tanh"], "--activation, --output and --freeze-bias shape a network from "
                               "--network SIZES"),
    (["--network", "2-2-1", "--model", "m.safetensors"], "give one of --network, --weights, "
                                                         "--model"),
    (["--network", "2-2", "--output", "softmax", "--target", "3"],
     "CrossEntropy: class labels must lie in 0..1"),
    (["--weights", "/nonexistent/w.json"], "--weights /nonexistent/w.json: cannot read it"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum is for --optimizer sgd"),
])
def test_bad_arguments(argv, message, capsys):
    err = error_of(["trace", *argv], capsys)
    assert err.startswith("chainrule trace: error: ") and message in err, err


def test_bad_weights_files(tmp_path, capsys):
    path = tmp_path / "w.json"
    path.write_text(json.dumps([{"weight": [[1, 2], [3, 4]]}, {"weight": [[1, 2, 3]]}]))
    err = error_of(["trace", "--weights", str(path)], capsys)
    assert "layer 2: its rows have 3 weights but layer 1 has 2 neurons" in err
    path.write_text("{not json")
    assert "not valid JSON" in error_of(["trace", "--weights", str(path)], capsys)
    path.write_text(json.dumps([{"weights": [[1, 2]]}]))
    assert "layer 1 needs a \"weight\" matrix" in error_of(["trace", "--weights", str(path)],
                                                           capsys)


# ---- chainrule gradcheck ------------------------------------------------------------------------
def test_gradcheck_table_and_verdict():
    code, text = run(["gradcheck", "--network", "4-8-3", "--activation", "tanh", "--output",
                      "softmax", "--loss", "cross_entropy", "--samples", "5", "--seed", "0"])
    assert code == 0
    lines = text.splitlines()
    header = next(k for k, line in enumerate(lines) if line.startswith("layer"))
    rows = lines[header + 2:header + 6]
    assert [row.split()[:4] for row in rows] == [
        ["0", "Dense(4,", "8)", "weight"], ["0", "Dense(4,", "8)", "bias"],
        ["2", "Dense(8,", "3)", "weight"], ["2", "Dense(8,", "3)", "bias"]]
    assert all(row.split()[-1] == "ok" and float(row.split()[-2]) < 1e-7 for row in rows)
    assert lines[-1].startswith("overall: ok (4 ok)")


def test_gradcheck_of_a_model_file(tmp_path):
    path = tmp_path / "m.safetensors"
    cr.mlp([3, 5, 2], activation="sigmoid", output="sigmoid", seed=1).save(path)
    code, text = run(["gradcheck", "--model", str(path), "--loss", "binary_cross_entropy"])
    assert code == 0 and f"model {path}" in text and "overall: ok" in text


@pytest.mark.parametrize("error, verdict", [
    (0.0, "ok"), (3e-10, "ok"), (1e-7, "suspect"), (5e-6, "suspect"), (1e-4, "WRONG"),
    (0.5, "WRONG"), (float("nan"), "WRONG")])
def test_verdicts(error, verdict):
    assert gradcheck_verb.verdict(error) == verdict


def test_overall_verdict():
    assert gradcheck_verb.overall(["ok", "ok"]) == "ok"
    assert gradcheck_verb.overall(["ok", "suspect"]) == "suspect"
    assert gradcheck_verb.overall(["suspect", "WRONG", "ok"]) == "WRONG"


class BrokenTanh(cr.Tanh):
    """A deliberately wrong backward: the derivative of tanh is 1 - tanh^2, not 1 - tanh."""

    def backward(self, grad_out):
        return grad_out * (1.0 - self._out)


def test_a_broken_layer_is_WRONG_and_exits_1(monkeypatch):
    def broken(args):
        return cr.Sequential([cr.Dense(4, 8, dtype="float64", seed=0), BrokenTanh(),
                              cr.Dense(8, 3, dtype="float64", seed=1), cr.Softmax()])

    monkeypatch.setattr(gradcheck_verb, "build_network", broken)
    code, text = run(["gradcheck"])
    assert code == 1
    rows = {tuple(line.split()[:4]): line.split()[-1] for line in text.splitlines()
            if line[:1].isdigit()}
    assert rows[("0", "Dense(4,", "8)", "weight")] == "WRONG"   # below the broken layer
    assert rows[("2", "Dense(8,", "3)", "weight")] == "ok"      # above it: still right
    assert text.splitlines()[-1].startswith("overall: WRONG")
    assert cli.main(["gradcheck"]) == 1


def test_gradcheck_bad_arguments(capsys):
    err = error_of(["gradcheck", "--network", "2-2", "--model", "x.safetensors"], capsys)
    assert err == "chainrule gradcheck: error: give --network or --model, not both"
    err = error_of(["gradcheck", "--loss", "hinge"], capsys)
    assert "unknown loss 'hinge'" in err
