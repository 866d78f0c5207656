"""network_diagram: neurons as circles labelled with their activation, weights as edges."""
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from png import PNG, png_size
from chainrule.errors import InvalidValueError, NotAvailableError

pytest.importorskip("matplotlib")
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from chainrule.plots import network_diagram  # noqa: E402
from chainrule.plots.diagram import NEGATIVE, POSITIVE  # noqa: E402

def notes_network():
    """The 2-2-2 sigmoid network of the lecture notes, with its weights."""
    return cr.Sequential([
        cr.Dense(2, 2, weight=[[0.15, 0.20], [0.25, 0.30]], bias=0.35, train_bias=False,
                 dtype="float64"), cr.Sigmoid(),
        cr.Dense(2, 2, weight=[[0.40, 0.45], [0.50, 0.55]], bias=0.60, train_bias=False,
                 dtype="float64"), cr.Sigmoid()])


def edges(fig):
    (ax,) = fig.axes
    return [c for c in ax.collections if isinstance(c, LineCollection)]


def circles(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, Circle)]


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_notes_network_png(tmp_path):
    path = tmp_path / "net.png"
    fig = network_diagram(notes_network(), path, size=(6, 3), dpi=100)
    assert png_size(path.read_bytes()) == (600, 300)
    assert type(fig).__name__ == "Figure"
    assert len(circles(fig)) == 6
    assert sum(len(c.get_segments()) for c in edges(fig)) == 8
    labels = texts(fig)
    assert labels.count("σ") == 4  # the four sigmoid neurons
    assert {"i1", "i2"} <= set(labels)
    # small enough to write every weight on its edge and every bias under its neuron
    assert {"0.15", "0.2", "0.25", "0.3", "0.4", "0.45", "0.5", "0.55"} <= set(labels)
    assert labels.count("b=0.35") == 2 and labels.count("b=0.6") == 2


def test_edge_colour_follows_the_sign_and_width_the_size():
    net = cr.Sequential([cr.Dense(2, 1, weight=[[2.0, -0.5]], dtype="float64"), cr.Tanh()])
    fig = network_diagram(net, show_values=False)
    (lines,) = edges(fig)
    colors = [tuple(np.round(c[:3], 4)) for c in lines.get_colors()]
    widths = list(lines.get_linewidths())
    # drawn weakest first: -0.5 (red, thin), then 2.0 (blue, thick)
    assert colors == [tuple(np.round(to_rgb(NEGATIVE), 4)), tuple(np.round(to_rgb(POSITIVE), 4))]
    assert widths[0] < widths[1]
    alphas = lines.get_colors()[:, 3]
    assert alphas[0] < alphas[1] == pytest.approx(1.0)
    assert "tanh" in texts(fig)
    assert not any(t.startswith("b=") for t in texts(fig))


def test_wide_layers_are_drawn_with_a_gap():
    net = cr.mlp([784, 256, 10], seed=0, dropout=0.2)
    fig = network_diagram(net, max_neurons=16)
    assert len(circles(fig)) == 16 + 16 + 10 - 2  # 15 neurons and a gap per wide layer
    labels = texts(fig)
    assert labels.count("⋮") == 2
    assert "769 more" in labels and "241 more" in labels
    assert {"i1", "i8", "i778", "i784"} <= set(labels) and "i9" not in labels
    assert sum(len(c.get_segments()) for c in edges(fig)) == 15 * 15 + 15 * 10
    assert labels.count("ReLU") == 15 and labels.count("soft\nmax") == 10
    assert any("dropout 0.2" in t for t in labels)
    assert not any(t[:1].isdigit() and "." in t for t in labels if "more" not in t)  # no values


def test_input_names_and_svg(tmp_path):
    path = tmp_path / "net.svg"
    network_diagram(cr.mlp([3, 4, 2], seed=0), path, input_names=["age", "bmi", "bp"])
    text = path.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text


def test_bad_arguments(tmp_path):
    net = cr.mlp([2, 3, 2], seed=0)
    with pytest.raises(InvalidValueError, match=r"\.png"):
        network_diagram(net, tmp_path / "net.jpg")
    with pytest.raises(InvalidValueError, match="max_neurons"):
        network_diagram(net, max_neurons=2)
    with pytest.raises(InvalidValueError, match="input_names"):
        network_diagram(net, input_names=["a"])
    conv = cr.Sequential([cr.layers.Conv2D(1, 2, 3), cr.layers.Flatten(),
                          cr.Dense(2 * 6 * 6, 2)])
    with pytest.raises(InvalidValueError, match="Conv2D"):
        network_diagram(conv)
    with pytest.raises(InvalidValueError, match="chainrule network"):
        network_diagram("2-2-2")


def test_missing_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(NotAvailableError, match=r'pip install "chainrule\[plots\]"'):
        network_diagram(notes_network())


def test_pictures_never_touch_pyplot(tmp_path):
    code = (
        "import sys, numpy as np, chainrule as cr, chainrule.plots as p\n"
        "assert 'matplotlib' not in sys.modules\n"
        "net = cr.mlp([2, 4, 2], seed=0)\n"
        "X = np.random.default_rng(0).normal(size=(20, 2)); y = (X[:, 0] > 0).astype(int)\n"
        f"p.network_diagram(net, {str(tmp_path / 'a.png')!r})\n"
        f"p.decision_boundary(net, X, y, {str(tmp_path / 'b.png')!r}, resolution=20)\n"
        f"p.confusion_matrix_plot(y, net.predict(X), {str(tmp_path / 'c.png')!r})\n"
        f"p.weight_histograms(net, {str(tmp_path / 'd.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all((tmp_path / f"{n}.png").read_bytes()[:8] == PNG for n in "abcd")
