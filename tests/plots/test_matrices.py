"""confusion_matrix_plot (row = true class) and weight_histograms (one panel per layer)."""

import numpy as np
import pytest

import chainrule as cr
from png import png_size
from chainrule.errors import InvalidValueError

pytest.importorskip("matplotlib")
from chainrule.plots import confusion_matrix_plot, weight_histograms  # noqa: E402

Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 2, 0, 2, 2])


def cell_texts(ax):
    """{(row, column): text} of the numbers written in the cells."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
            for t in ax.texts}


def test_counts_rows_are_true_classes(tmp_path):
    path = tmp_path / "confusion.png"
    fig = confusion_matrix_plot(Y_TRUE, Y_PRED, path, size=(5, 4), dpi=80)
    assert png_size(path.read_bytes()) == (400, 320)
    ax = fig.axes[0]
    cells = cell_texts(ax)
    expected = cr.metrics.confusion_matrix(Y_TRUE, Y_PRED)
    assert expected[0, 1] == 1 and expected[2, 0] == 1
    for (i, j), text in cells.items():
        assert int(text) == expected[i, j]
    assert cells[(0, 0)] == "2" and cells[(0, 1)] == "1" and cells[(2, 0)] == "1"
    assert cells[(2, 2)] == "4" and (1, 0) not in cells  # zeros off the diagonal are blank
    # shade = fraction of the row: row 2 has 5 examples, 4 right
    shade = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(shade[2], [0.2, 0.0, 0.8])
    np.testing.assert_allclose(shade.sum(axis=1), 1.0)
    assert ax.get_ylabel().startswith("true class") and ax.get_xlabel() == "predicted class"
    assert "8 of 10 right (80.0%)" in ax.get_title()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0 (3)", "1 (2)", "2 (5)"]


def test_scores_class_names_and_errors():
    scores = np.eye(3)[Y_PRED] * 0.9 + 0.05  # what net.predict returns
    fig = confusion_matrix_plot(Y_TRUE, scores, class_names=["cat", "dog", "emu"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "emu"]
    assert cell_texts(ax)[(2, 2)] == "4"
    fig = confusion_matrix_plot([0, 1], [1, 1], n_classes=4)
    assert np.asarray(fig.axes[0].images[0].get_array()).shape == (4, 4)
    with pytest.raises(InvalidValueError, match="class_names"):
        confusion_matrix_plot(Y_TRUE, Y_PRED, class_names=["a", "b"], n_classes=3)
    with pytest.raises(InvalidValueError, match="classes 0..1"):
        confusion_matrix_plot([0, 3], [0, 1], n_classes=2)


def test_weight_histograms_one_panel_per_layer(tmp_path):
    net = cr.mlp([4, 16, 8, 8, 3], seed=0)
    path = tmp_path / "weights.png"
    fig = weight_histograms(net, path, dpi=50)
    width, height = png_size(path.read_bytes())
    assert (width, height) == (int(round(12.6 * 50)), int(round(6.7 * 50)))
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["W1 (16x4)", "W2 (8x16)", "W3 (8x8)",
                                                 "W4 (3x8)"]
    assert sum(not ax.axison for ax in fig.axes) == 2  # the unused places of the 2x3 grid
    first = panels[0]
    assert sum(patch.get_height() for patch in first.patches) == 16 * 4  # every weight
    std = float(np.std(net.layers[0].weight.value))
    assert f"std {std:.3g}" in first.texts[0].get_text()


def test_weight_histograms_errors():
    with pytest.raises(InvalidValueError, match="no weight matrix"):
        weight_histograms(cr.Sequential([cr.ReLU()]))
    with pytest.raises(InvalidValueError, match="bins"):
        weight_histograms(cr.mlp([2, 2], seed=0), bins=1)
