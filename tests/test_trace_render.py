"""Renderings of a trace: the notes' lines in text, Markdown tables, LaTeX that compiles, HTML."""
import html.parser
import re
import shutil
import subprocess

import numpy as np
import pytest

import chainrule as cr
from chainrule import examples
from chainrule.trace import format_number, render, trace, trace_steps


def notes_record():
    return trace(examples.two_two_two_net(), "squared_error", examples.INPUT_222,
                 examples.TARGET_222, cr.SGD(0.5))


def batch_record():
    rng = np.random.default_rng(3)
    net = cr.mlp([3, 4, 2], activation="tanh", output="softmax", dtype="float64", seed=1)
    return trace(net, "cross_entropy", rng.normal(size=(3, 3)), np.array([0, 1, 1]), cr.SGD(0.1))


def wide_record():
    rng = np.random.default_rng(4)
    net = cr.mlp([8, 3, 2], activation="relu", output="sigmoid", dtype="float64", seed=2)
    return trace(net, "binary_cross_entropy", rng.normal(size=(2, 8)),
                 np.array([[0.0, 1.0], [1.0, 0.0]]), cr.optim.Adam(0.01))


# The notes' lines, as the text rendering writes them: "lhs = formula = numbers = value",
# where the notes put "*" between factors and "+ -" before a negative term.
NOTES_LINES = [
    "net_h1 = w1 * i1 + w2 * i2 + b1 * 1 = 0.15 * 0.05 + 0.2 * 0.1 + 0.35 * 1 = 0.3775",
    "out_h1 = 1/(1+e^-net_h1) = 1/(1+e^-0.3775) = 0.593269992",
    "out_h2 = 1/(1+e^-net_h2) = 1/(1+e^-0.3925) = 0.596884378",
    "net_o1 = w5 * out_h1 + w6 * out_h2 + b2 * 1 = 0.4 * 0.593269992 + 0.45 * 0.596884378 "
    "+ 0.6 * 1 = 1.105905967",
    "out_o1 = 1/(1+e^-net_o1) = 1/(1+e^-1.105905967) = 0.75136507",
    "out_o2 = 1/(1+e^-net_o2) = 1/(1+e^-1.224921404) = 0.772928465",
    "E_o1 = 1/2 (t_o1 - out_o1)^2 = 1/2 (0.01 - 0.75136507)^2 = 0.274811083",
    "E_o2 = 1/2 (t_o2 - out_o2)^2 = 1/2 (0.99 - 0.772928465)^2 = 0.023560026",
    "E_total = E_o1 + E_o2 = 0.274811083 + 0.023560026 = 0.298371109",
    "dE/dout_o1 = -(t_o1 - out_o1) = -(0.01 - 0.75136507) = 0.74136507",
    "dout_o1/dnet_o1 = out_o1 (1 - out_o1) = 0.75136507 (1 - 0.75136507) = 0.186815602",
    "dE/dnet_o1 = dE/dout_o1 * dout_o1/dnet_o1 = 0.74136507 * 0.186815602 = 0.138498562",
    "dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5 = 0.74136507 * 0.186815602 * "
    "0.593269992 = 0.082167041",
    "dE_o1/dout_h1 = dE/dnet_o1 * dnet_o1/dout_h1 = 0.138498562 * 0.4 = 0.055399425",
    "dE_o2/dout_h1 = dE/dnet_o2 * dnet_o2/dout_h1 = -0.038098237 * 0.5 = -0.019049118",
    "dE/dout_h1 = dE_o1/dout_h1 + dE_o2/dout_h1 = 0.055399425 + -0.019049118 = 0.036350306",
    "dout_h1/dnet_h1 = out_h1 (1 - out_h1) = 0.593269992 (1 - 0.593269992) = 0.241300709",
    "dE/dw1 = dE/dout_h1 * dout_h1/dnet_h1 * dnet_h1/dw1 = 0.036350306 * 0.241300709 * 0.05 "
    "= 0.000438568",
    "w5+ = w5 - eta * dE/dw5 = 0.4 - 0.5 * 0.082167041 = 0.35891648",
    "w6+ = w6 - eta * dE/dw6 = 0.45 - 0.5 * 0.082667628 = 0.408666186",
    "w7+ = w7 - eta * dE/dw7 = 0.5 - 0.5 * (-0.02260254) = 0.51130127",
    "w8+ = w8 - eta * dE/dw8 = 0.55 - 0.5 * (-0.022740242) = 0.561370121",
    "w1+ = w1 - eta * dE/dw1 = 0.15 - 0.5 * 0.000438568 = 0.149780716",
    "w2+ = w2 - eta * dE/dw2 = 0.2 - 0.5 * 0.000877135 = 0.199561432",
    "w3+ = w3 - eta * dE/dw3 = 0.25 - 0.5 * 0.000497713 = 0.249751144",
    "w4+ = w4 - eta * dE/dw4 = 0.3 - 0.5 * 0.000995425 = 0.299502287",
]


def line_index(lines, expected):
    """Index of the line that is ``expected``, possibly followed by a note in parentheses."""
    for k, line in enumerate(lines):
        if line == expected or line.startswith(expected + "   ("):
            return k
    raise AssertionError(f"no line {expected!r} in the trace")


def test_text_has_the_notes_lines_in_the_notes_order():
    lines = notes_record().to_text().splitlines()
    positions = [line_index(lines, expected) for expected in NOTES_LINES[:18]]
    assert positions == sorted(positions)       # forward, error, output layer, hidden layer
    updates = [line_index(lines, expected) for expected in NOTES_LINES[18:]]
    assert min(updates) > max(positions)        # the update comes after the whole backward pass
    text = "\n".join(lines)
    for heading in ("The forward pass", "The error", "The backward pass: output layer (o1, o2)",
                    "The backward pass: hidden layer (h1, h2)", "The update", "After the step"):
        assert f"\n{heading}\n{'-' * len(heading)}\n" in text
    assert "b1 = 0.35 frozen: not updated." in text
    assert "E_total with the updated weights = 0.291027774" in text


def test_text_says_where_the_slides_are_wrong():
    text = notes_record().to_text()
    assert "the notes print -0.019049119, but the exact value -0.0190491183 rounds to " \
           "-0.019049118" in text
    assert "the notes print 0.291027924" in text
    assert "a later slide writes w3 * i2 here" in text
    other = trace(examples.two_two_two_net(), "squared_error", [[0.1, 0.2]], [[0.0, 1.0]],
                  cr.SGD(0.5)).to_text()
    assert "the notes print" not in other and "dE/dw5 = " in other


def test_digits_option():
    text = notes_record().to_text(digits=4)
    assert "out_h1 = 1/(1+e^-net_h1) = 1/(1+e^-0.3775) = 0.5933" in text.splitlines()
    with pytest.raises(cr.InvalidValueError, match="digits"):
        notes_record().to_text(digits=0)


@pytest.mark.parametrize("value, text", [
    (0.7513650695475076, "0.75136507"), (0.5113012702, "0.51130127"),
    (0.3775000000000001, "0.3775"),
    (-0.0190491183, "-0.019049118"), (0.0, "0"), (1.0, "1"), (-1e-17, "-1e-17"),
    (3.14159265e-7, "3.141593e-07"), (2.5e12, "2.5e+12"), (float("nan"), "nan"),
])
def test_format_number(value, text):
    assert format_number(value) == text


def test_batch_text_writes_every_example_and_the_mean():
    text = batch_record().to_text()
    for n in (1, 2, 3):
        assert f"\nExample {n}\n~~~~~~~~~\n" in text
    assert "E_total = (E[1] + E[2] + E[3])/3 = " in text
    assert re.search(r"\ndE/dw2_1,1 = \(dE\[1\]/dw2_1,1 \+ dE\[2\]/dw2_1,1 \+ dE\[3\]/dw2_1,1\)/3"
                     r" = \([-0-9. +]+\)/3 = -?[0-9.]+\n", text)
    assert "dE[2]/dnet_o2[2] = out_o2[2] - t_o2[2] = " in text


def test_wide_layers_are_written_as_matrices():
    r = wide_record()
    text = r.to_text()
    assert "\nW1 =   (row j holds the weights into neuron j)\n    [[" in text
    assert "w1_1,1 = " not in text and "w2_1,1 = " in text    # only the 8-input layer is wide
    assert "dE/dW1 = 1/2 sum_n dE[n]/dnet_h[n]^T i[n] =" in text
    assert "W1+ =\n    [[" in text and "w2_1,1+ = w2_1,1 + change = " in text
    assert "\\begin{bmatrix}" in r.to_latex()
    assert "<br>`[" in r.to_markdown()


# ---- Markdown -----------------------------------------------------------------------------------
def table_cells(line):
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_tables():
    for record in (notes_record(), batch_record(), wide_record()):
        md = record.to_markdown()
        assert md.startswith("# Backpropagation, one step")
        lines = md.splitlines()
        tables = 0
        for k, line in enumerate(lines):
            if line.startswith("| quantity | formula | numbers | value"):
                tables += 1
                width = len(table_cells(line))
                assert re.fullmatch(r"\|(---\|)+", lines[k + 1]) and \
                    len(table_cells(lines[k + 1])) == width
                row = k + 2
                while row < len(lines) and lines[row].startswith("|"):
                    assert len(table_cells(lines[row])) == width, lines[row]
                    row += 1
                assert row == len(lines) or lines[row] == ""
        assert tables >= 5
    md = notes_record().to_markdown()
    assert ("| `dE/dw5` | `dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5` | "
            "`0.74136507 * 0.186815602 * 0.593269992` | `0.082167041` |") in md
    assert "## The backward pass: hidden layer (h1, h2)" in md


# ---- LaTeX --------------------------------------------------------------------------------------
def check_balanced(tex):
    stack = []
    for match in re.finditer(r"\\(begin|end)\{([^}]*)\}", tex):
        kind, env = match.groups()
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, f"\\end{{{env}}} does not close its \\begin"
    assert not stack, f"unclosed environments {stack}"
    depth = 0
    for char in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    math = re.sub(r"\\\$", "", tex).count("$")
    assert math % 2 == 0


def test_latex_is_a_balanced_standalone_document():
    for record in (notes_record(), batch_record(), wide_record()):
        tex = record.to_latex()
        assert tex.startswith("\\documentclass") and "\\usepackage{amsmath}" in tex
        assert tex.count("\\begin{document}") == tex.count("\\end{document}") == 1
        check_balanced(tex)
    tex = notes_record().to_latex()
    assert (r"\frac{\partial E}{\partial w_{5}} &= \frac{\partial E}{\partial \mathit{out}_{o1}}"
            r" \cdot \frac{\partial \mathit{out}_{o1}}{\partial \mathit{net}_{o1}} \cdot "
            r"\frac{\partial \mathit{net}_{o1}}{\partial w_{5}}") in tex
    assert r"&= 0.74136507 \cdot 0.186815602 \cdot 0.593269992 = 0.082167041" in tex


TEX_ENGINES = [name for name in ("pdflatex", "lualatex", "tectonic") if shutil.which(name)]


@pytest.mark.skipif(not TEX_ENGINES, reason="no TeX engine (pdflatex, lualatex or tectonic) on "
                                            "PATH, so the LaTeX is checked for balance only")
@pytest.mark.parametrize("make", [notes_record, batch_record, wide_record])
def test_latex_compiles(tmp_path, make):
    engine = TEX_ENGINES[0]
    source = tmp_path / "trace.tex"
    source.write_text(make().to_latex())
    command = [engine, "-interaction=nonstopmode", "-halt-on-error", source.name] \
        if engine != "tectonic" else [engine, source.name]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (tmp_path / "trace.pdf").stat().st_size > 1000


# ---- HTML ---------------------------------------------------------------------------------------
VOID = {"meta", "br", "hr", "img", "input", "link"}


class Checker(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.tags = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"</{tag}> closes nothing"

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_a_standalone_page_with_the_numbers():
    page = notes_record().to_html()
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert not checker.stack
    tags = [tag for tag, _ in checker.tags]
    assert page.startswith("<!DOCTYPE html>") and "style" in tags and "script" not in tags
    assert not any(attrs.get("src") or attrs.get("href") for _, attrs in checker.tags)
    assert "http" not in page
    text = "".join(checker.text)
    for number in ("0.3775", "0.593269992", "0.298371109", "0.082167041", "0.036350306",
                   "0.000438568", "0.35891648", "0.149780716", "0.291027774"):
        assert number in text
    assert "0.74136507 · 0.186815602 · 0.593269992" in text
    assert "∂E" in text and "∂w5" in text


def test_several_steps_in_one_document():
    steps = trace_steps(examples.two_two_two_net(), "squared_error", examples.INPUT_222,
                        examples.TARGET_222, cr.SGD(0.5), 2)
    text = steps.to_text()
    assert text.startswith("2 training steps, traced\n") and "\nStep 1\n" in text and \
        "\nStep 2\n" in text
    assert text.count("\nThe forward pass\n") == 2
    check_balanced(steps.to_latex())
    assert steps.to_markdown().count("\n## Step ") == 2
    with pytest.raises(cr.UnknownNameError, match="trace format"):
        render(steps, "pdf")
