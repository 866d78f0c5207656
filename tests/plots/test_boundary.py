"""decision_boundary and BoundaryRecorder: the plane as a 2-D classifier sees it, over time."""

import numpy as np
import pytest

import chainrule as cr
from png import png_size
from chainrule.errors import InvalidValueError, ShapeError

pytest.importorskip("matplotlib")
from PIL import Image  # noqa: E402  (Pillow comes with matplotlib)

from chainrule.plots import BoundaryRecorder, decision_boundary  # noqa: E402
from chainrule.plots.boundary import class_colors  # noqa: E402

def threshold_net(axis):
    """Softmax over (-5 x_axis, 5 x_axis): class 1 exactly where x_axis > 0."""
    w = np.zeros((2, 2))
    w[0, axis], w[1, axis] = -5.0, 5.0
    return cr.Sequential([cr.Dense(2, 2, weight=w, dtype="float64"), cr.Softmax()])


def square_points():
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [0.5, 0.2]])
    return X


def image_of(fig):
    (image,) = fig.axes[0].images
    return image


def test_png_is_written_with_the_size_asked(tmp_path):
    path = tmp_path / "boundary.png"
    X = square_points()
    decision_boundary(threshold_net(0), X, (X[:, 0] > 0).astype(int), path, resolution=30,
                      size=(6, 4), dpi=50)
    assert png_size(path.read_bytes()) == (300, 200)


@pytest.mark.parametrize("axis", [0, 1])
def test_shading_follows_the_predicted_class_and_y_grows_upwards(axis):
    X = square_points()
    fig = decision_boundary(threshold_net(axis), X, (X[:, axis] > 0).astype(int), resolution=40)
    image = image_of(fig)
    assert image.origin == "lower"  # row 0 of the grid at the bottom
    ax = fig.axes[0]
    assert ax.get_ylim()[0] < ax.get_ylim()[1] and ax.get_xlim()[0] < ax.get_xlim()[1]
    rgb = np.asarray(image.get_array())[..., :3]
    blue, orange = class_colors(2)
    # low x (or low y: first rows) is class 0, high is class 1; colours point the same way
    low = rgb[20, 0] if axis == 0 else rgb[0, 20]
    high = rgb[20, -1] if axis == 0 else rgb[-1, 20]
    for pixel, colour, other in ((low, blue, orange), (high, orange, blue)):
        assert np.linalg.norm(1 - pixel) > 0.2  # coloured (the network is sure there)
        assert np.linalg.norm(pixel - colour) < np.linalg.norm(pixel - other)
    # the extent is the points' range plus 10% on every side
    x0, x1, y0, y1 = image.get_extent()
    assert (x0, x1, y0, y1) == pytest.approx((-1.2, 1.2, -1.2, 1.2))


def test_boundary_line_and_misclassified_points():
    X = square_points()
    y = (X[:, 0] > 0).astype(int)
    y[-1] = 0  # (0.5, 0.2) is predicted 1: one mistake
    fig = decision_boundary(threshold_net(0), X, y, resolution=40)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["class 0", "class 1", "misclassified", "decision boundary"]
    assert "accuracy 80.0% on 5 points" in ax.get_title()
    (contour,) = [c for c in ax.collections if hasattr(c, "levels")]  # the boundary line
    assert list(contour.levels) == [0.0]


def test_three_classes_binary_sigmoid_and_regression():
    Xtr, ytr, _, _ = cr.datasets.load("spirals", n=90)
    net = cr.mlp([2, 8, 3], seed=0)
    fig = decision_boundary(net, Xtr, ytr, resolution=30, class_names=["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:3] == ["a", "b", "c"]

    sig = cr.mlp([2, 4, 1], output="sigmoid", seed=0)
    fig = decision_boundary(sig, Xtr, (ytr == 1).astype(float), resolution=30)
    assert image_of(fig).get_array().shape == (30, 30, 3)

    reg = cr.mlp([2, 4, 1], output="identity", seed=0)
    fig = decision_boundary(reg, Xtr, Xtr[:, 0], resolution=30)
    assert image_of(fig).get_array().shape == (30, 30)  # the output itself, with a colour bar
    assert len(fig.axes) == 2


def test_wrong_inputs():
    net = cr.mlp([3, 4, 2], seed=0)
    with pytest.raises(InvalidValueError, match="2 inputs"):
        decision_boundary(net, np.zeros((4, 3)))
    net = cr.mlp([2, 4, 2], seed=0)
    with pytest.raises(ShapeError, match="shape"):
        decision_boundary(net, np.zeros((4, 3)))
    with pytest.raises(ShapeError, match="labels"):
        decision_boundary(net, np.zeros((4, 2)), [0, 1])
    with pytest.raises(InvalidValueError, match="classes 0..1"):
        decision_boundary(net, np.zeros((2, 2)), [0, 2])
    with pytest.raises(InvalidValueError, match="resolution"):
        decision_boundary(net, np.zeros((2, 2)), resolution=5)


def moons():
    return cr.datasets.load("moons", n=80)


def test_recorder_writes_an_animated_gif(tmp_path):
    Xtr, ytr, _, _ = moons()
    net = cr.mlp([2, 8, 2], activation="tanh", seed=0)
    recorder = BoundaryRecorder(Xtr, ytr, every=2, resolution=24)
    net.fit(Xtr, ytr, optimizer=cr.Adam(0.05), epochs=6, batch_size=16, seed=0,
            callbacks=[recorder])
    assert [epoch for epoch, _, _ in recorder.frames] == [0, 2, 4, 6]
    assert recorder.frames[0][1].shape == (24, 24, 2)
    assert not np.allclose(recorder.frames[0][1], recorder.frames[-1][1])  # it moved
    path = tmp_path / "boundary.gif"
    assert recorder.save(path, fps=4, hold=0.5, size=(4, 3), dpi=40) == 4
    data = path.read_bytes()
    assert data[:6] == b"GIF89a"
    with Image.open(path) as gif:
        assert gif.size == (160, 120)
        assert gif.n_frames > 1
        assert gif.info.get("loop") == 0  # loops forever


def test_recorder_picks_its_own_spacing_and_keeps_the_last_epoch():
    Xtr, ytr, _, _ = moons()
    net = cr.mlp([2, 4, 2], seed=0)
    recorder = BoundaryRecorder(Xtr, ytr, frames=4, resolution=10)
    net.fit(Xtr, ytr, epochs=7, callbacks=[recorder])
    assert [epoch for epoch, _, _ in recorder.frames] == [0, 3, 6, 7]


def test_recorder_does_not_change_training():
    Xtr, ytr, _, _ = moons()
    weights = []
    for callbacks in ([], [BoundaryRecorder(Xtr, ytr, every=1, resolution=10)]):
        net = cr.mlp([2, 6, 2], seed=1, dropout=0.3)
        net.fit(Xtr, ytr, epochs=3, batch_size=16, seed=3, callbacks=callbacks)
        weights.append([p.value.copy() for p in net.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_recorder_errors(tmp_path):
    Xtr, ytr, _, _ = moons()
    recorder = BoundaryRecorder(Xtr, ytr)
    with pytest.raises(InvalidValueError, match="fewer than 2 frames"):
        recorder.save(tmp_path / "b.gif")
    with pytest.raises(InvalidValueError, match=r"\.gif"):
        recorder.save(tmp_path / "b.png")
    with pytest.raises(InvalidValueError, match="every"):
        BoundaryRecorder(Xtr, ytr, every=0)
    net = cr.mlp([3, 2], seed=0)
    with pytest.raises(InvalidValueError, match="2 inputs"):
        net.fit(np.zeros((4, 3)), [0, 1, 0, 1], callbacks=[BoundaryRecorder(Xtr, ytr)])
