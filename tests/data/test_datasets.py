"""The registry behind load(), the generated 2-D sets, scaling and one_hot."""
import numpy as np
import pytest

from chainrule.data import load, min_max_scale, names, one_hot, standardize
from chainrule.data import generated
from chainrule.errors import InvalidValueError, ShapeError, UnknownNameError


def test_names():
    assert names() == ["circles", "csv", "digits", "fashion-mnist", "moons", "spirals", "xor"]


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError) as e:
        load("mnist")
    msg = str(e.value)
    assert "'mnist'" in msg
    for name in names():
        assert name in msg


def test_unknown_and_missing_options():
    with pytest.raises(InvalidValueError, match="unknown option.*nosie.*noise"):
        load("moons", nosie=0.3)
    with pytest.raises(InvalidValueError, match="missing option.*target"):
        load("csv", path="x.csv")


def test_digits():
    X_train, y_train, X_test, y_test = load("digits")
    assert X_train.shape == (1437, 64) and X_test.shape == (360, 64)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    # pixels are 0..16, so every value is a multiple of 1/16
    assert np.all(X_train * 16 == np.round(X_train * 16))
    # stratified: each class keeps its share (classes have 174..183 images)
    assert sorted(set(y_train.tolist())) == list(range(10))
    counts = np.bincount(y_test)
    assert counts.min() >= 34 and counts.max() <= 37
    assert np.bincount(y_train).sum() + counts.sum() == 1797


def test_digits_seeded_and_dtype():
    a = load("digits", seed=1, dtype="float64")
    b = load("digits", seed=1, dtype="float64")
    c = load("digits", seed=2, dtype="float64")
    assert a[0].dtype == np.float64
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_xor_four_points():
    X_train, y_train, X_test, y_test = load("xor")
    assert X_train.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y_train.tolist() == [0, 1, 1, 0]
    assert np.array_equal(X_test, X_train) and np.array_equal(y_test, y_train)
    assert y_train.dtype == np.int64


def test_xor_noisy_clusters():
    X_train, y_train, X_test, y_test = generated.xor(400, noise=0.05, seed=3)
    X = np.concatenate([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    assert X.shape == (400, 2) and len(y_test) == 100
    corner = np.round(X)  # noise is small: every point is near its corner
    assert np.array_equal(y, (corner[:, 0] != corner[:, 1]).astype(np.int64))
    assert np.bincount(y).tolist() == [200, 200]
    assert np.bincount(y_test).tolist() == [50, 50]  # stratified


@pytest.mark.parametrize("name", ["moons", "circles", "spirals"])
def test_generated_sets_are_seeded_and_stratified(name):
    a = load(name, seed=5)
    b = load(name, seed=5)
    c = load(name, seed=6)
    for x, z in zip(a, b):
        assert np.array_equal(x, z)
    assert not np.array_equal(a[0], c[0])
    X_train, y_train, X_test, y_test = a
    assert X_train.shape[1] == 2 and X_train.dtype == np.float32
    assert y_train.dtype == np.int64 and y_train.min() == 0
    k = y_train.max() + 1
    # stratified: test class counts differ by at most one
    counts = np.bincount(y_test, minlength=k)
    assert counts.max() - counts.min() <= 1


def test_moons_matches_sklearn():
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=100, noise=0.2, random_state=4)
    X_train, y_train, X_test, y_test = load("moons", n=100, noise=0.2, seed=4, dtype="float64")
    got = np.concatenate([X_train, X_test])
    order = np.lexsort(got.T)
    ref = np.lexsort(X.T)
    assert np.array_equal(got[order], X[ref])
    assert np.array_equal(np.concatenate([y_train, y_test])[order], y[ref])


def test_circles_radii():
    X_train, y_train, _, _ = load("circles", n=200, noise=0.0, factor=0.3, dtype="float64")
    r = np.hypot(X_train[:, 0], X_train[:, 1])
    # make_circles: class 0 is the outer circle (radius 1), class 1 the inner one
    assert np.allclose(r[y_train == 0], 1.0)
    assert np.allclose(r[y_train == 1], 0.3)


def test_spirals_without_noise_follow_the_formula():
    k, turns = 3, 1.0
    X_train, y_train, X_test, y_test = generated.spirals(
        90, k=k, noise=0.0, turns=turns, dtype="float64")
    X = np.concatenate([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    assert np.bincount(y).tolist() == [30, 30, 30]
    r = np.hypot(X[:, 0], X[:, 1])
    assert r.max() == pytest.approx(1.0) and r.min() == 0.0
    far = r > 0.05  # the angle at the centre is meaningless
    theta = np.arctan2(X[far, 1], X[far, 0])
    expected = 2 * np.pi * (turns * r[far] + y[far] / k)
    diff = np.angle(np.exp(1j * (theta - expected)))  # wrap to (-pi, pi]
    assert np.allclose(diff, 0.0, atol=1e-9)


def test_generated_argument_errors():
    with pytest.raises(InvalidValueError, match="n must be a positive integer"):
        load("moons", n=0)
    with pytest.raises(InvalidValueError, match="k .* >= 2"):
        load("spirals", k=1)
    with pytest.raises(InvalidValueError, match="test_fraction"):
        load("circles", test_fraction=1.5)
    with pytest.raises(InvalidValueError, match="cannot split 3 points"):
        load("xor", n=3)


# ---- scaling ---------------------------------------------------------------

def test_standardize_uses_train_statistics():
    X_train = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    X_test = np.array([[7.0, 6.0, 5.0]])
    a, b = standardize(X_train, X_test)
    # column 0: mean 3, std sqrt(8/3); column 1 is constant -> centred, not divided
    s = np.sqrt(8 / 3)
    assert np.allclose(a[:, 0], [-2 / s, 0, 2 / s])
    assert np.allclose(b[0, 0], 4 / s)
    assert a[:, 1].tolist() == [0.0, 0.0, 0.0] and b[0, 1] == 1.0
    assert np.allclose(a.mean(axis=0), 0) and np.allclose(a.std(axis=0)[[0, 2]], 1)
    assert X_train[0, 0] == 1.0  # inputs untouched


def test_standardize_single_array_and_dtype():
    X = np.array([[1, 2], [3, 2]], dtype=np.float32)
    out = standardize(X)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert out.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    ints = standardize(np.array([[0, 1], [2, 1]]))
    assert ints.dtype == np.float64


def test_min_max_scale():
    X_train = np.array([[0.0, 10.0, 3.0], [4.0, 20.0, 3.0], [2.0, 15.0, 3.0]])
    X_test = np.array([[8.0, 5.0, 7.0]])
    a, b = min_max_scale(X_train, X_test)
    assert a.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.5, 0.5, 0.0]]
    assert b.tolist() == [[2.0, -0.5, 4.0]]  # outside [0, 1]: train statistics


def test_scaling_errors():
    with pytest.raises(ShapeError, match=r"others\[0\].*3 columns"):
        standardize(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ShapeError, match="2-D"):
        min_max_scale(np.zeros(3))
    with pytest.raises(InvalidValueError, match="NaN"):
        standardize(np.array([[np.nan, 1.0]]))


def test_one_hot():
    out = one_hot(np.array([2, 0, 1, 2]), 4)
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
    assert one_hot([1, 0]).tolist() == [[0, 1], [1, 0]]  # k inferred
    assert one_hot([1], 2, dtype="float64").dtype == np.float64


def test_one_hot_errors():
    with pytest.raises(InvalidValueError, match=r"0\.\.2.*3\.\.3|0\.\.2"):
        one_hot([0, 3], 3)
    with pytest.raises(InvalidValueError, match="integer"):
        one_hot([0.5, 1.0], 2)
    with pytest.raises(ShapeError):
        one_hot(np.zeros((2, 2), dtype=int), 2)
