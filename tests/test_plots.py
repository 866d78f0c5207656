"""loss_curve: the error-versus-epoch graph of seed 002, written as PNG/SVG/PDF."""
import builtins
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from chainrule.errors import InvalidValueError, NotAvailableError
from chainrule.training import History
from png import png_size

pytest.importorskip("matplotlib")
from chainrule.plots import loss_curve  # noqa: E402



def history_of(**series):
    h = History()
    for key, values in series.items():
        h[key] = list(values)
    h.epochs = len(series.get("loss", ()))
    return h


def classifier_history():
    """15 epochs in the shape of a digits run: validation loss lowest at epoch 9."""
    loss = np.linspace(1.3, 0.05, 15)
    val = np.array([0.5, 0.3, 0.25, 0.2, 0.18, 0.16, 0.15, 0.14, 0.12, 0.13, 0.13, 0.14,
                    0.14, 0.15, 0.16])
    return history_of(loss=loss, val_loss=val, accuracy=np.linspace(0.6, 0.99, 15),
                      val_accuracy=np.linspace(0.9, 0.96, 15))


def test_png_has_the_pixel_size_of_size_times_dpi(tmp_path):
    path = tmp_path / "curve.png"
    loss_curve(classifier_history(), path, size=(8, 4.5), dpi=100)
    assert png_size(path.read_bytes()) == (800, 450)


def test_png_size_follows_size_and_dpi(tmp_path):
    path = tmp_path / "small.PNG"  # extension case does not matter
    loss_curve(classifier_history(), path, size=(4, 3), dpi=50)
    assert png_size(path.read_bytes()) == (200, 150)


def test_svg_is_well_formed_xml(tmp_path):
    path = tmp_path / "curve.svg"
    loss_curve(classifier_history(), path, title="digits")
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # SVG sizes are in points: 72 per inch, whatever the dpi.
    assert (root.get("width"), root.get("height")) == ("576pt", "324pt")
    assert root.findall(".//{http://www.w3.org/2000/svg}path")


def test_pdf_is_written(tmp_path):
    path = tmp_path / "curve.pdf"
    loss_curve(classifier_history(), str(path))
    assert path.read_bytes()[:5] == b"%PDF-"


def test_returns_a_figure_without_writing_when_no_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = loss_curve(classifier_history())
    assert type(fig).__name__ == "Figure"
    assert list(tmp_path.iterdir()) == []


def test_panels_axes_and_epochs_from_one():
    fig = loss_curve(classifier_history())
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert acc_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    curves = {line.get_label().split()[0]: line for line in loss_ax.get_lines()}
    np.testing.assert_array_equal(curves["loss"].get_xdata(), np.arange(1, 16))
    np.testing.assert_allclose(curves["val_loss"].get_ydata(), classifier_history()["val_loss"])
    assert loss_ax.get_legend() is not None and acc_ax.get_legend() is not None


def test_one_panel_without_accuracy():
    fig = loss_curve({"loss": [0.3, 0.2, 0.1]})
    assert len(fig.axes) == 1


def test_best_validation_epoch_is_marked():
    fig = loss_curve(classifier_history())
    best = [line for line in fig.axes[0].get_lines()
            if line.get_label().startswith("best val_loss")]
    assert len(best) == 1
    assert list(best[0].get_xdata()) == [9]
    assert best[0].get_ydata()[0] == pytest.approx(0.12)
    assert "epoch 9" in best[0].get_label()


def test_no_best_mark_without_validation():
    fig = loss_curve({"loss": [0.3, 0.2, 0.1]})
    assert not any(line.get_label().startswith("best") for line in fig.axes[0].get_lines())


def test_log_scale_when_the_loss_spans_more_than_two_decades():
    # The notes' 2-2-2 example: 0.298371109 at the start, 0.0000351085 after 10,000 epochs.
    loss = np.geomspace(0.298371109, 0.0000351085, 10_000)
    assert loss_curve({"loss": loss}).axes[0].get_yscale() == "log"


def test_linear_scale_within_two_decades():
    assert loss_curve({"loss": np.linspace(1.3, 0.05, 15)}).axes[0].get_yscale() == "linear"
    assert loss_curve({"loss": [1.0, 0.0101]}).axes[0].get_yscale() == "linear"  # 99x
    assert loss_curve({"loss": [1.0, 0.0099]}).axes[0].get_yscale() == "log"  # 101x


def test_auto_scale_counts_validation_loss_too():
    fig = loss_curve({"loss": [1.0, 0.5], "val_loss": [1.0, 0.001]})
    assert fig.axes[0].get_yscale() == "log"


def test_auto_scale_stays_linear_when_the_loss_reaches_zero():
    assert loss_curve({"loss": [1.0, 1e-3, 0.0]}).axes[0].get_yscale() == "linear"


def test_log_scale_can_be_forced_either_way():
    assert loss_curve({"loss": [1.0, 0.9]}, log_scale=True).axes[0].get_yscale() == "log"
    loss = np.geomspace(1, 1e-5, 50)
    assert loss_curve({"loss": loss}, log_scale=False).axes[0].get_yscale() == "linear"


def test_forced_log_scale_with_zero_loss_is_an_error():
    with pytest.raises(InvalidValueError, match="log_scale"):
        loss_curve({"loss": [1.0, 0.0]}, log_scale=True)


def test_log_scale_must_be_a_bool_or_none():
    with pytest.raises(InvalidValueError, match="log_scale"):
        loss_curve({"loss": [1.0, 0.5]}, log_scale="yes")


def test_a_single_epoch_plots():
    fig = loss_curve({"loss": [0.5], "val_loss": [0.6]})
    assert fig.axes[0].get_xlim() == (0.5, 1.5)


def test_nan_epochs_do_not_break_the_plot(tmp_path):
    path = tmp_path / "diverged.png"
    loss_curve({"loss": [1.0, 0.5, float("nan")], "val_loss": [1.1, float("nan"), 0.7]}, path)
    assert png_size(path.read_bytes()) == (800, 450)


@pytest.mark.parametrize("history", [History(), {"loss": []}, {}, {"lr": [0.1, 0.1]}])
def test_empty_history_is_an_error(history):
    with pytest.raises(InvalidValueError, match="nothing to plot"):
        loss_curve(history)


def test_history_must_be_a_dict():
    with pytest.raises(InvalidValueError, match="history"):
        loss_curve([0.3, 0.2])


def test_history_values_must_be_numbers():
    with pytest.raises(InvalidValueError, match="'loss'"):
        loss_curve({"loss": ["a", "b"]})


@pytest.mark.parametrize("name", ["curve.jpg", "curve", "curve.png.txt"])
def test_unknown_extension_lists_the_formats(tmp_path, name):
    path = tmp_path / name
    with pytest.raises(InvalidValueError) as err:
        loss_curve(classifier_history(), path)
    message = str(err.value)
    assert ".png" in message and ".svg" in message and ".pdf" in message
    assert not path.exists()


@pytest.mark.parametrize("kwargs", [{"size": (0, 4)}, {"size": "big"}, {"dpi": -1}])
def test_bad_size_or_dpi(kwargs):
    with pytest.raises(InvalidValueError, match="size|dpi"):
        loss_curve(classifier_history(), **kwargs)


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # None in sys.modules: ImportError
    with pytest.raises(NotAvailableError, match=r'pip install "chainrule\[plots\]"'):
        loss_curve(classifier_history())


def test_missing_matplotlib_via_import_hook(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(NotAvailableError, match="matplotlib"):
        loss_curve(classifier_history())


def test_importing_chainrule_never_imports_matplotlib_nor_touches_pyplot(tmp_path):
    code = (
        "import sys, chainrule, chainrule.plots\n"
        "assert 'matplotlib' not in sys.modules, 'imported at import time'\n"
        f"chainrule.plots.loss_curve({{'loss': [0.3, 0.2]}}, {str(tmp_path / 'c.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
