"""chainrule.sklearn with convolutional networks: the ``net`` parameter, images and rows.

scikit-learn's digits (8x8 images of one channel, 16 grey levels) train a small conv net
(Conv2D 1->4 3x3 pad 1, ReLU, MaxPool2D 2, Flatten, Dense 64->10, Softmax) in a fraction
of a second. Expected values come from outside the estimator: the network's own
``predict``, sklearn's metrics and splitters, a second fit from the same seed.
"""
import pickle
from functools import partial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, \
    train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import chainrule as cr
from chainrule.errors import InvalidValueError
from chainrule.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(max_iter=20, learning_rate_init=0.01, batch_size=32, random_state=0)


def small_cnn(seed, dtype, classes, channels=4):
    """The builder a user writes: the estimator passes the seed, dtype and class count."""
    return cr.Sequential([
        cr.Conv2D(1, channels, 3, padding=1, seed=seed, dtype=dtype), cr.ReLU(),
        cr.MaxPool2D(2), cr.Flatten(),
        cr.Dense(channels * 4 * 4, classes, seed=seed, dtype=dtype), cr.Softmax()])


def to_images(X):
    """Rows of 64 pixels as (n, 1, 8, 8) images: a pipeline step (module level: picklable)."""
    return np.asarray(X).reshape(-1, 1, 8, 8)


@pytest.fixture(scope="module")
def digits():
    """(train rows, test rows, train labels, test labels), pixels scaled to [0, 1]."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    return MLPClassifier(net=small_cnn, **FAST).fit(to_images(X_train), y_train)


# ---- training, predicting, scoring --------------------------------------------------------

def test_conv_net_learns_digit_images(digits, fitted):
    _, X_test, _, y_test = digits
    images = to_images(X_test)
    assert isinstance(fitted.net_[0], cr.Conv2D) and fitted.net_.n_in == (1, 8, 8)
    assert fitted.n_features_in_ == 64 and fitted.n_iter_ == 20
    # observed 0.970 (float32, 20 epochs); the margin covers BLAS rounding elsewhere
    assert fitted.score(images, y_test) >= 0.93
    proba = fitted.predict_proba(images)
    assert proba.shape == (len(X_test), 10) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(fitted.predict(images), fitted.classes_[proba.argmax(axis=1)])


def test_predictions_are_the_networks(digits, fitted):
    _, X_test, _, _ = digits
    out = fitted.net_.predict(to_images(X_test)).astype(np.float64)
    np.testing.assert_allclose(fitted.predict_proba(to_images(X_test)),
                               out / out.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(fitted.predict(to_images(X_test)),
                                  fitted.classes_[out.argmax(axis=1)])


def test_rows_and_images_are_interchangeable(digits, fitted):
    X_train, X_test, y_train, _ = digits
    # predicting: rows of 64 pixels are reshaped to the 1x8x8 images the network takes
    np.testing.assert_array_equal(fitted.predict_proba(X_test),
                                  fitted.predict_proba(to_images(X_test)))
    # training: the same seed on rows gives the very same network as on images
    on_rows = MLPClassifier(net=small_cnn, **FAST).fit(X_train, y_train)
    for p, q in zip(on_rows.net_.parameters(), fitted.net_.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    assert on_rows.n_features_in_ == 64
    with pytest.raises(ValueError, match="64 features"):  # sklearn's own check
        fitted.predict(X_test[:, :63])


def test_regressor_with_a_conv_net(digits):
    # Regress the digit's value: one linear output, squared error.
    X_train, X_test, y_train, y_test = digits

    def cnn(seed, dtype, n_out):
        return cr.Sequential([cr.Conv2D(1, 4, 3, padding=1, seed=seed, dtype=dtype), cr.ReLU(),
                              cr.MaxPool2D(2), cr.Flatten(),
                              cr.Dense(64, 32, seed=seed, dtype=dtype), cr.ReLU(),
                              cr.Dense(32, n_out, seed=seed, dtype=dtype)])

    est = MLPRegressor(net=cnn, **{**FAST, "learning_rate_init": 0.003})
    est.fit(to_images(X_train), y_train.astype(float))
    pred = est.predict(to_images(X_test))
    assert pred.shape == (len(X_test),)
    np.testing.assert_array_equal(pred, est.net_.predict(to_images(X_test))[:, 0])
    assert est.score(to_images(X_test), y_test) >= 0.7  # R^2, observed 0.83


# ---- working with scikit-learn ----------------------------------------------------------------

def test_pipeline_from_rows_to_images(digits):
    X_train, X_test, y_train, y_test = digits
    model = make_pipeline(StandardScaler(), FunctionTransformer(to_images),
                          MLPClassifier(net=small_cnn, **FAST))
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.93  # observed 0.96


def test_cross_val_score_on_images(digits):
    X_train, _, y_train, _ = digits
    scores = cross_val_score(MLPClassifier(net=small_cnn, **{**FAST, "max_iter": 10}),
                             to_images(X_train), y_train, cv=StratifiedKFold(3))
    assert scores.shape == (3,) and scores.min() >= 0.85  # observed 0.91-0.94


def test_grid_search_over_learning_rate_and_architecture(digits):
    X_train, X_test, y_train, y_test = digits
    wider = partial(small_cnn, channels=8)
    grid = {"learning_rate_init": [0.01, 0.0005], "net": [small_cnn, wider]}
    search = GridSearchCV(MLPClassifier(net=small_cnn, **{**FAST, "max_iter": 10}), grid,
                          cv=StratifiedKFold(2)).fit(to_images(X_train), y_train)
    assert search.best_params_["learning_rate_init"] == 0.01  # 0.0005 is far too slow here
    best = search.best_estimator_
    channels = 8 if search.best_params_["net"] is wider else 4  # best.net: a clone of it
    assert best.net_[0].out_channels == channels
    assert search.score(to_images(X_test), y_test) >= 0.9


def test_clone_is_unfitted_and_refits_identically(digits, fitted):
    X_train, X_test, y_train, _ = digits
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params() and twin.net is small_cnn
    assert not hasattr(twin, "net_")
    twin.fit(to_images(X_train), y_train)
    np.testing.assert_array_equal(twin.predict_proba(X_test), fitted.predict_proba(X_test))


def test_pickle_round_trip_predicts_the_same_and_keeps_training(digits, fitted):
    X_train, X_test, y_train, _ = digits
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(to_images(X_test)),
                                  fitted.predict_proba(to_images(X_test)))
    again.partial_fit(to_images(X_train), y_train)
    assert again.n_iter_ == fitted.n_iter_ + 1


def test_save_and_load_keep_the_architecture(tmp_path, digits, fitted):
    X_train, X_test, y_train, _ = digits
    path = tmp_path / "cnn.safetensors"
    fitted.save(path)
    loaded = MLPClassifier.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(to_images(X_test)),
                                  fitted.predict_proba(to_images(X_test)))
    assert loaded.net_.metadata["estimator_file_version"] == 2
    # the file holds no function: `net` becomes the saved network, so fit trains it again
    assert isinstance(loaded.net, cr.Sequential) and loaded.net is not loaded.net_
    loaded.set_params(max_iter=1).fit(to_images(X_train), y_train)
    assert isinstance(loaded.net_[0], cr.Conv2D)
    # estimators without `net` still write files older chainrule versions read
    MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(X_train, y_train).save(path)
    meta = cr.load(path).metadata
    assert meta["estimator_file_version"] == 1 and "net" not in meta["params"]


# ---- the ways of giving a network -------------------------------------------------------------

def test_a_network_instance_is_copied_never_trained(digits):
    X_train, X_test, y_train, _ = digits
    net = small_cnn(seed=0, dtype="float64", classes=10)
    start = [p.value.copy() for p in net.parameters()]
    est = MLPClassifier(net=net, **{**FAST, "max_iter": 5})
    est.fit(to_images(X_train), y_train)
    assert est.net_ is not net and est.net_.dtype == np.float32  # the estimator's dtype
    for p, value in zip(net.parameters(), start):
        np.testing.assert_array_equal(p.value, value)
    # every fit (and every clone's) starts from the instance's weights
    first = est.predict_proba(X_test)
    np.testing.assert_array_equal(clone(est).fit(X_train, y_train).predict_proba(X_test), first)
    assert est.get_params()["net"] is net


def test_builders_get_the_arguments_they_name(digits):
    X_train, _, y_train, _ = digits
    seen = []

    def anything(**kwargs):
        seen.append(kwargs)
        return small_cnn(kwargs["seed"], kwargs["dtype"], kwargs["n_out"])

    MLPClassifier(net=anything, max_iter=1, dtype="float64").fit(to_images(X_train), y_train)
    MLPClassifier(net=anything, max_iter=1).fit(X_train, y_train)
    images, rows = seen
    assert images["input_shape"] == (1, 8, 8) and rows["input_shape"] == (64,)
    assert images["n_out"] == images["classes"] == 10
    assert isinstance(images["seed"], np.random.Generator)
    assert images["dtype"] == "float64" and rows["dtype"] == "float32"
    # a ready-made architecture through functools.partial: its own keywords pass through
    est = MLPClassifier(net=partial(cr.wide_cnn, dropout=0.0), max_iter=1, random_state=0)
    est.fit(to_images(X_train[:200]), y_train[:200])
    assert est.net_[0].out_channels == 32 and est.net_.n_out == 10


@pytest.mark.parametrize("net, match", [
    (lambda seed, dtype: cr.Sequential([cr.Flatten(), cr.Dense(64, 10, seed=seed, dtype=dtype)]),
     "must end in a Softmax"),
    (lambda seed, dtype: small_cnn(seed, dtype, 3), "gives 3 outputs but y needs 10"),
    (lambda: "a network", "returned str, not a chainrule Sequential"),
    ("lenet5", "net must be None, a chainrule Sequential or a function"),
])
def test_unusable_networks_are_refused_in_fit(digits, net, match):
    X_train, _, y_train, _ = digits
    with pytest.raises(InvalidValueError, match=match):
        MLPClassifier(net=net, max_iter=1).fit(to_images(X_train), y_train)


def test_images_need_a_net(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="dim 4"):  # sklearn's message for an MLP
        MLPClassifier(max_iter=1).fit(to_images(X_train), y_train)
