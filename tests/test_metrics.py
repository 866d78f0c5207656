"""Metrics against values counted by hand."""
import numpy as np
import pytest

from chainrule import metrics
from chainrule.metrics import accuracy, confusion_matrix, mse
from chainrule.errors import InvalidValueError, ShapeError, UnknownNameError


def test_accuracy_from_labels():
    assert accuracy(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1])) == 0.5
    assert accuracy([1, 1, 1], [1, 1, 1]) == 1.0


def test_accuracy_from_scores_and_one_hot():
    y = np.array([2, 0, 1])
    scores = np.array([[0.1, 0.2, 0.7],   # 2, right
                       [0.5, 0.4, 0.1],   # 0, right
                       [0.6, 0.3, 0.1]])  # 0, wrong
    assert accuracy(y, scores) == pytest.approx(2 / 3)
    one_hot = np.eye(3)[y]
    assert accuracy(one_hot, scores) == pytest.approx(2 / 3)
    assert accuracy(one_hot, one_hot) == 1.0


def test_accuracy_binary_probabilities():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.9, 0.2, 0.4, 0.6])  # thresholded: 1, 0, 0, 1
    assert accuracy(y, p) == 0.5
    assert accuracy(y.reshape(-1, 1), p.reshape(-1, 1)) == 0.5
    assert accuracy(y.astype(np.float32), p) == 0.5  # float 0/1 targets
    assert accuracy([1, 0], [0.5, 0.5]) == 0.5  # exactly 0.5 counts as class 0


def test_accuracy_float_labels_above_one():
    assert accuracy([0, 1, 2], np.array([0.0, 1.0, 2.0])) == 1.0


def test_accuracy_shape_mismatch_names_both_shapes():
    with pytest.raises(ShapeError) as e:
        accuracy(np.zeros(3, dtype=int), np.zeros((4, 2)))
    assert "(3,)" in str(e.value) and "(4, 2)" in str(e.value)
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        accuracy(np.eye(3)[:2], np.zeros((2, 4)))


def test_accuracy_rejects_ambiguous_values():
    with pytest.raises(InvalidValueError, match="probabilities"):
        accuracy([0, 1], np.array([0.3, 1.7]))
    with pytest.raises(InvalidValueError, match="NaN"):
        accuracy([0, 1], np.array([np.nan, 0.2]))
    with pytest.raises(InvalidValueError, match="zero samples"):
        accuracy(np.array([], dtype=int), np.array([], dtype=int))


def test_confusion_matrix_counted_by_hand():
    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 0, 1, 2, 2, 2, 0, 2]
    # true 0: predicted 0 twice, 1 once; true 1: 1 once, 2 once; true 2: 0 once, 2 three times
    expected = [[2, 1, 0],
                [0, 1, 1],
                [1, 0, 3]]
    c = confusion_matrix(y_true, y_pred)
    assert c.tolist() == expected
    assert c.dtype == np.int64
    assert c.sum(axis=1).tolist() == [3, 2, 4]  # rows are true classes


def test_confusion_matrix_from_scores_and_n_classes():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    c = confusion_matrix([0, 0, 1], scores, n_classes=4)
    assert c.shape == (4, 4)
    assert c[:2, :2].tolist() == [[1, 1], [1, 0]] and c.sum() == 3
    with pytest.raises(InvalidValueError, match="0..1"):
        confusion_matrix([0, 2], [0, 1], n_classes=2)


def test_mse():
    assert mse([1.0, 2.0, 3.0], [1.0, 4.0, 0.0]) == pytest.approx((0 + 4 + 9) / 3)
    t = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.5, 0.5], [0.0, 0.0]])
    assert mse(t, p) == pytest.approx((0.25 + 0.25 + 0 + 1) / 4)
    assert mse(np.array([1.0, 2.0]), np.array([[1.0], [3.0]])) == 0.5  # (n,) vs (n, 1)


def test_mse_shape_mismatch():
    with pytest.raises(ShapeError) as e:
        mse(np.zeros((3, 2)), np.zeros((3, 3)))
    assert "(3, 2)" in str(e.value) and "(3, 3)" in str(e.value)
    with pytest.raises(ShapeError):
        mse(np.zeros((2, 2)), np.zeros(4))


def test_registry():
    assert metrics.get("accuracy") is accuracy
    assert metrics.get("mse") is mse
    assert set(metrics.METRICS) == {"accuracy", "mse"}
    assert metrics.get(len) is len  # a callable passes through
    with pytest.raises(UnknownNameError, match="'f1'.*accuracy, mse"):
        metrics.get("f1")
