"""chainrule.sklearn: MLPClassifier and MLPRegressor as scikit-learn estimators.

Expected values come from outside the code under test: sklearn's own metrics and
helpers, finite differences, losses written out in NumPy from the initial weights.
"""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_digits, load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import check_methods_subset_invariance

import chainrule as cr
from chainrule.errors import ModelFileError
from chainrule.sklearn import Convergence, MLPClassifier, MLPRegressor, WeightedCrossEntropy
from chainrule.sklearn.base import make_optimizer
from chainrule.training.callbacks import Callback, TrainingState
from numeric import numeric_grad

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def iris_names(iris):
    X, y = iris
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


# ---- working with scikit-learn ---------------------------------------------------------

def test_digits_in_a_pipeline_reaches_95_percent():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=0)).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.95


def test_regressor_r2_on_easy_make_regression():
    X, y = make_regression(n_samples=400, n_features=8, noise=5.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), MLPRegressor(random_state=0)), transformer=StandardScaler())
    assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.9


def test_cross_val_score_on_iris():
    X, y = load_iris(return_X_y=True)
    scores = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(max_iter=100, **FAST)),
                             X, y, cv=3)
    assert scores.mean() >= 0.9


def test_grid_search_refits_the_best(iris):
    X, y = iris
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (16,)]}
    search = GridSearchCV(MLPClassifier(max_iter=60, learning_rate_init=0.01, random_state=0),
                          grid, cv=3).fit(X, y)
    assert search.best_params_["alpha"] in grid["alpha"]
    best = search.best_estimator_
    assert best.net_.sizes == [4, *best.hidden_layer_sizes, 3]
    assert search.score(X, y) >= 0.9


def test_constructor_stores_parameters_verbatim():
    activation, schedule, callbacks = ["relu", "tanh"], {"name": "step"}, [Callback()]
    est = MLPClassifier((8, 4), activation, learning_rate_schedule=schedule, callbacks=callbacks,
                        class_weight="balanced", batch_size=7)
    params = est.get_params()
    assert params["activation"] is activation and params["callbacks"] is callbacks
    assert params["learning_rate_schedule"] is schedule and params["hidden_layer_sizes"] == (8, 4)
    assert not [k for k in vars(est) if k.endswith("_")]


def test_clone_is_unfitted_with_the_same_parameters(iris):
    est = MLPClassifier(max_iter=5, **FAST).fit(*iris)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        copy.predict(iris[0])


def test_pickle_round_trip_predicts_the_same_and_keeps_training(iris):
    X, y = iris
    est = MLPClassifier(max_iter=20, **FAST).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    again.partial_fit(X, y)
    assert again.n_iter_ == est.n_iter_ + 1


def test_subset_invariance_holds_in_float64():
    """The one estimator check we xfail (float32 rounding) passes in float64."""
    for cls in (MLPClassifier, MLPRegressor):
        check_methods_subset_invariance(cls.__name__, cls(dtype="float64", max_iter=20, **FAST))


# ---- labels and outputs ----------------------------------------------------------------

def test_string_labels_map_through_classes(iris_names):
    X, y = iris_names
    est = MLPClassifier(max_iter=100, **FAST).fit(X, y)
    np.testing.assert_array_equal(est.classes_, ["setosa", "versicolor", "virginica"])
    assert set(est.predict(X)) <= set(est.classes_)
    assert accuracy_score(y, est.predict(X)) >= 0.9
    proba = est.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba))


def test_binary_problem_is_a_softmax_of_two():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    labels = np.array([-1, 7])[y]
    est = MLPClassifier(max_iter=50, **FAST).fit(X, labels)
    assert est.net_.n_out == 2 and type(est.net_.layers[-1]) is cr.Softmax
    assert est.predict_proba(X).shape == (200, 2)
    assert est.score(X, labels) >= 0.85


def test_one_class_is_an_error():
    with pytest.raises(ValueError, match="1 class"):
        MLPClassifier(max_iter=2).fit(np.zeros((4, 2)), ["a"] * 4)


def test_regressor_output_shapes():
    X, Y = make_regression(n_samples=60, n_features=4, n_targets=2, random_state=0)
    est = MLPRegressor(max_iter=5, **FAST).fit(X, Y)
    assert est.n_outputs_ == 2 and est.predict(X).shape == (60, 2)
    est = MLPRegressor(max_iter=5, **FAST).fit(X, Y[:, :1])
    assert est.n_outputs_ == 1 and est.predict(X).shape == (60,)
    assert est.predict(X).dtype == np.float64


def test_data_is_validated_at_the_boundary(iris):
    X, y = iris
    est = MLPClassifier(max_iter=3, **FAST)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, y)
    est.fit(X, y)
    with pytest.raises(ValueError, match="3 features, but MLPClassifier is expecting 4"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="Unknown label type"):
        clone(est).fit(X, y + 0.5)


@pytest.mark.parametrize("params, match", [
    ({"learning_rate_init": -1.0}, "learning_rate_init"),
    ({"alpha": -0.1}, "alpha"),
    ({"max_iter": 0}, "max_iter"),
    ({"momentum": 1.0}, "momentum"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"solver": "lbfgs"}, "solver"),
    ({"batch_size": 0}, "batch_size"),
    ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
    ({"activation": ["relu", "tanh"]}, "activation lists 2"),
    ({"activation": "softmax"}, "activation"),
    ({"learning_rate_schedule": "linear"}, "learning_rate_schedule"),
    ({"dtype": "float16"}, "dtype"),
])
def test_bad_parameters_fail_in_fit_naming_the_parameter(iris, params, match):
    est = MLPClassifier(**{**FAST, "hidden_layer_sizes": (4,), **params})  # init never raises
    with pytest.raises(ValueError, match=match):
        est.fit(*iris)


def test_feature_names_from_a_dataframe(iris):
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(iris[0], columns=["a", "b", "c", "d"])
    est = MLPClassifier(max_iter=3, **FAST).fit(X, iris[1])
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d"])


# ---- the network and optimiser built from the parameters ---------------------------------

def test_per_layer_activations_build_the_stack_by_hand(iris):
    est = MLPClassifier((8, 6), ["relu", "tanh"], dropout=0.1, batchnorm=True, max_iter=3,
                        random_state=0).fit(*iris)
    kinds = [type(layer).__name__ for layer in est.net_.layers]
    assert kinds == ["Dense", "BatchNorm", "ReLU", "Dropout", "Dense", "BatchNorm", "Tanh",
                     "Dropout", "Dense", "Softmax"]
    assert est.net_.sizes == [4, 8, 6, 3]


def test_same_activation_everywhere_is_mlp(iris):
    est = MLPClassifier((5, 5), ["tanh", "tanh"], max_iter=1, random_state=0).fit(*iris)
    reference = cr.mlp([4, 5, 5, 3], activation="tanh", output="softmax")
    assert [type(a) for a in est.net_.layers] == [type(b) for b in reference.layers]


def test_no_hidden_layer_is_a_linear_softmax(iris):
    est = MLPClassifier((), max_iter=50, learning_rate_init=0.05, random_state=0).fit(*iris)
    assert est.net_.sizes == [4, 3] and est.score(*iris) >= 0.8


@pytest.mark.parametrize("solver, cls", [("sgd", cr.SGD), ("adam", cr.Adam), ("adamw", cr.AdamW),
                                         ("adagrad", cr.AdaGrad), ("rmsprop", cr.RMSProp)])
def test_every_solver_trains(iris, solver, cls):
    est = MLPClassifier(solver=solver, max_iter=80, hidden_layer_sizes=(16,),
                        learning_rate_init=0.05 if solver in ("sgd", "adagrad") else 0.01,
                        random_state=0).fit(*iris)
    assert type(make_optimizer(est)) is cls
    assert est.score(*iris) >= 0.85


def test_solver_hyper_parameters_reach_the_optimiser():
    sgd = make_optimizer(MLPClassifier(solver="sgd", learning_rate_init=0.2, momentum=0.5))
    assert (sgd.lr, sgd.momentum, sgd.nesterov) == (0.2, 0.5, True)
    plain = make_optimizer(MLPClassifier(solver="sgd", momentum=0.0))
    assert (plain.momentum, plain.nesterov) == (0.0, False)
    adamw = make_optimizer(MLPClassifier(solver="adamw", alpha=0.03))
    assert adamw.weight_decay == 0.03


class _Recorder(Callback):
    """Keeps a copy of the weights fit starts from."""

    def on_train_begin(self, state):
        self.weights = [p.value.astype(np.float64) for p in state.net.parameters()]


def test_alpha_is_sklearns_l2_term(iris):
    """One full-batch epoch: loss_curve_[0] = cross-entropy + alpha/(2n) sum W^2, the term
    sklearn's MLP adds (0.5 * alpha * ||W||^2 / n_samples)."""
    X, y = iris
    recorder, alpha = _Recorder(), 3.0
    est = MLPClassifier((5,), "tanh", alpha=alpha, batch_size=150, max_iter=1, dtype="float64",
                        callbacks=[recorder], random_state=0).fit(X, y)
    W1, b1, W2, b2 = recorder.weights
    logits = np.tanh(X @ W1.T + b1) @ W2.T + b2
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    cross_entropy = -logp[np.arange(150), y].mean()
    l2 = alpha / (2 * 150) * ((W1 ** 2).sum() + (W2 ** 2).sum())
    assert est.loss_curve_[0] == pytest.approx(cross_entropy + l2, rel=1e-12)


def test_random_state_makes_fit_reproducible(iris):
    runs = [MLPClassifier(max_iter=10, hidden_layer_sizes=(8,), random_state=seed).fit(*iris)
            for seed in (3, 3, 4)]
    assert runs[0].loss_curve_ == runs[1].loss_curve_ != runs[2].loss_curve_


# ---- stopping, curves, schedules ---------------------------------------------------------

def test_fitted_attributes_without_early_stopping(iris):
    X, y = iris
    est = MLPClassifier(max_iter=7, batch_size=50, **FAST).fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) == 7 and est.t_ == 7 * 150
    assert est.validation_scores_ is None and est.val_loss_curve_ is None
    assert est.history_.iterations == 7 * 3 and est.best_loss_ == min(est.loss_curve_)


def test_max_iter_without_convergence_warns(iris):
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(max_iter=3, **FAST).fit(*iris)


def test_converged_training_stops_quietly(iris, recwarn):
    est = MLPClassifier(max_iter=50, tol=100.0, n_iter_no_change=4, **FAST).fit(*iris)
    # the first epoch sets the best loss; four in a row do not beat it by tol
    assert est.n_iter_ == 5 and est.history_.stop_reason == "converged"
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


def test_early_stopping_scores_held_out_data(iris):
    X, y = iris
    est = MLPClassifier(max_iter=200, early_stopping=True, validation_fraction=0.2,
                        **FAST).fit(X, y)
    assert est.n_iter_ < 200
    assert len(est.validation_scores_) == len(est.val_loss_curve_) == est.n_iter_
    assert est.t_ == est.n_iter_ * 120  # the held-out fifth is not trained on
    n_val = 30
    assert all(round(score * n_val) == pytest.approx(score * n_val) for score in
               est.validation_scores_)  # accuracies on 30 examples
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_regressor_validation_scores_are_r2():
    X, y = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
    est = MLPRegressor(early_stopping=True, max_iter=40, **FAST).fit(X, y / 100)
    assert len(est.validation_scores_) == est.n_iter_
    assert max(est.validation_scores_) <= 1.0 and est.validation_scores_[-1] > 0.5
    assert est.val_loss_curve_[-1] < est.val_loss_curve_[0]


def _state(net=None):
    return TrainingState(net, None, cr.History(), epochs=100)


def _run(callback, values, net=None, monitor="loss"):
    """Feed ``values`` as one epoch each; the number of epochs run before it stops."""
    state = _state(net)
    callback.on_train_begin(state)
    for epoch, value in enumerate(values, 1):
        state.epoch, state.logs = epoch, {monitor: value}
        callback.on_epoch_end(state)
        if state.stop:
            return epoch
    return len(values)


def test_convergence_counts_epochs_without_a_tol_improvement():
    stop = Convergence("loss", "min", tol=0.1, patience=3)
    assert _run(stop, [5, 4, 3.95, 3.9, 3.85, 3.0]) == 5
    assert _run(stop, [5, 4, 3, 2, 1, 0]) == 6
    # a loss still falling, by less than tol an epoch, has converged (best follows it)
    assert _run(Convergence("loss", "min", 0.1, 2), [1.0, 0.95, 0.9, 0.85, 0.8]) == 3
    assert _run(Convergence("val_r2", "max", 0.0, 2), [0.1, 0.5, 0.5, 0.4], monitor="val_r2") == 4


def test_convergence_restores_the_best_weights():
    net = cr.mlp([2, 2], output="identity", seed=0)
    weight = net.parameters()[0].value

    class Drift(Convergence):
        def on_epoch_end(self, state):
            weight[...] = state.epoch  # the weights of epoch k are all k
            super().on_epoch_end(state)

    stop = Drift("val_accuracy", "max", 0.0, patience=2, restore_best=True)
    state = _state(net)
    stop.on_train_begin(state)
    for epoch, value in enumerate([0.5, 0.9, 0.7, 0.8], 1):
        state.epoch, state.logs = epoch, {"val_accuracy": value}
        stop.on_epoch_end(state)
    stop.on_train_end(state)
    assert state.stop and np.all(weight == 2)


@pytest.mark.parametrize("schedule, expected", [
    ("step", [0.01] * 3 + [0.001] * 3 + [0.0001] * 3),
    ({"name": "exponential", "gamma": 0.5}, [0.01 * 0.5 ** k for k in range(9)]),
    ({"name": "step", "step_size": 4, "gamma": 0.5}, [0.01] * 4 + [0.005] * 4 + [0.0025]),
])
def test_schedules_set_the_learning_rate_per_epoch(iris, schedule, expected):
    est = MLPClassifier(max_iter=9, learning_rate_schedule=schedule, tol=0.0,
                        n_iter_no_change=100, learning_rate_init=0.01, hidden_layer_sizes=(4,),
                        random_state=0).fit(*iris)
    np.testing.assert_allclose(est.history_["lr"], expected, rtol=1e-12)


def test_cosine_and_plateau_schedules(iris):
    cosine = MLPClassifier(max_iter=10, learning_rate_schedule="cosine", learning_rate_init=0.01,
                           hidden_layer_sizes=(4,), random_state=0).fit(*iris)
    assert cosine.history_["lr"][0] == 0.01 and cosine.history_["lr"][-1] < 0.001
    plateau = MLPClassifier(max_iter=20, learning_rate_schedule="plateau", tol=10.0,
                            n_iter_no_change=50, learning_rate_init=0.01,
                            hidden_layer_sizes=(4,), random_state=0).fit(*iris)
    # after the first epoch nothing improves by 10: the rate is divided by 5 after every
    # second epoch (the logs show the rate each epoch trained with)
    np.testing.assert_allclose(plateau.history_["lr"][:6],
                               [0.01, 0.01, 0.01, 0.002, 0.002, 0.0004], rtol=1e-12)


class _StopAt(Callback):
    def __init__(self, epoch):
        self.epoch, self.seen = epoch, []

    def on_epoch_end(self, state):
        self.seen.append(dict(state.logs))
        state.stop = state.epoch == self.epoch


def test_user_callbacks_see_the_logs_and_may_stop(iris, recwarn):
    stopper = _StopAt(3)
    est = MLPClassifier(max_iter=50, callbacks=[stopper], early_stopping=True, **FAST).fit(*iris)
    assert est.n_iter_ == 3 and len(stopper.seen) == 3
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(stopper.seen[0])
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


def test_verbose_prints_one_line_per_epoch(iris, capsys):
    MLPClassifier(max_iter=3, verbose=True, **FAST).fit(*iris)
    assert capsys.readouterr().out.count("epoch ") == 3


# ---- partial_fit -------------------------------------------------------------------------

def test_classifier_partial_fit(iris_names):
    X, y = iris_names
    est = MLPClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, y)
    est.partial_fit(X[:50], y[:50], classes=np.unique(y))  # one class in this batch only
    for _ in range(40):
        est.partial_fit(X, y)
    assert est.n_iter_ == len(est.loss_curve_) == 41 and est.t_ == 50 + 40 * 150
    assert est.score(X, y) >= 0.9
    with pytest.raises(ValueError, match="not in classes_"):
        est.partial_fit(X[:2], ["setosa", "rose"])
    with pytest.raises(ValueError, match="not the same"):
        est.partial_fit(X, y, classes=["setosa", "virginica"])
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :2], y)


def test_partial_fit_keeps_the_optimiser_state(iris):
    X, y = iris
    est = MLPClassifier(batch_size=150, **FAST)
    est.partial_fit(X, y, classes=[0, 1, 2])
    est.partial_fit(X, y)
    assert est._optimizer.iterations == 2  # Adam's step count carried over


def test_partial_fit_refuses_balanced_weights(iris):
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced").partial_fit(*iris, classes=[0, 1, 2])


def test_regressor_partial_fit():
    X, y = make_regression(n_samples=100, n_features=3, noise=0.1, random_state=0)
    est = MLPRegressor(**FAST)
    for _ in range(60):
        est.partial_fit(X, y / 100)
    assert est.n_iter_ == 60 and est.score(X, y / 100) >= 0.85
    with pytest.raises(ValueError, match="outputs"):
        est.partial_fit(X, np.c_[y, y])


# ---- class weights -----------------------------------------------------------------------

def _weighted_rows(labels, weights, k):
    rows = np.zeros((len(labels), k))
    rows[np.arange(len(labels)), labels] = weights
    return rows


def test_weighted_cross_entropy_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    rows = _weighted_rows(rng.integers(0, 4, 7), rng.uniform(0.1, 5.0, 7), 4)
    net = cr.mlp([3, 5, 4], activation="tanh", output="softmax", dtype="float64", seed=1)
    errors = cr.gradcheck(net, WeightedCrossEntropy(), X, rows)  # fused with the Softmax
    assert max(errors.values()) < 1e-7
    errors = cr.gradcheck(net, WeightedCrossEntropy(), X, rows, l2=0.5)
    assert max(errors.values()) < 1e-7


def test_weighted_cross_entropy_value_and_unfused_gradient():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(3), size=5)
    labels, weights = rng.integers(0, 3, 5), rng.uniform(0.5, 2.0, 5)
    rows = _weighted_rows(labels, weights, 3)
    loss = WeightedCrossEntropy()
    value = loss.forward(p, rows)
    assert value == pytest.approx(-(weights * np.log(p[np.arange(5), labels])).mean(), rel=1e-12)
    numeric = numeric_grad(lambda: loss.forward(p, rows), p)
    loss.forward(p, rows)
    np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-6, atol=1e-9)
    # class indices mean weight 1: plain cross-entropy
    assert loss.forward(p, labels) == pytest.approx(cr.CrossEntropy().forward(p, labels))


def test_weighted_cross_entropy_rejects_negative_rows():
    with pytest.raises(ValueError, match="non-negative"):
        WeightedCrossEntropy().prepare_target(np.array([[1.0, -1.0]]), 2, "float64")


def test_class_weight_values(iris_names):
    X, y = iris_names
    y = y.copy()
    y[:40] = "versicolor"  # unbalance the classes
    est = MLPClassifier(class_weight="balanced", max_iter=2, **FAST).fit(X, y)
    np.testing.assert_allclose(est.class_weight_, compute_class_weight(
        "balanced", classes=np.unique(y), y=y))
    est = MLPClassifier(class_weight={"setosa": 2.0}, max_iter=2, **FAST).fit(X, y)
    np.testing.assert_allclose(est.class_weight_, [2.0, 1.0, 1.0])


def test_balanced_weights_raise_minority_recall():
    X, y = make_classification(n_samples=600, n_features=6, weights=[0.92], flip_y=0.05,
                               class_sep=0.5, random_state=0)
    recalls = [recall_score(y, MLPClassifier(class_weight=cw, max_iter=80, **FAST)
                            .fit(X, y).predict(X)) for cw in (None, "balanced")]
    assert recalls[1] > recalls[0] + 0.1


# ---- files -------------------------------------------------------------------------------

def test_save_and_load_a_classifier(tmp_path, iris_names):
    X, y = iris_names
    est = MLPClassifier(max_iter=30, class_weight={"setosa": 2.0, "virginica": 0.5},
                        early_stopping=True, callbacks=[Callback()], **FAST).fit(X, y)
    path = tmp_path / "iris.safetensors"
    est.save(path)
    back = MLPClassifier.load(path)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.classes_.dtype == est.classes_.dtype
    assert back.get_params() == {**est.get_params(), "callbacks": ()}
    for name in ("n_features_in_", "loss_curve_", "validation_scores_", "val_loss_curve_",
                 "n_iter_", "t_", "best_validation_score_"):
        assert getattr(back, name) == getattr(est, name), name
    np.testing.assert_array_equal(back.class_weight_, est.class_weight_)
    assert cr.load(path).metadata["estimator"] == "MLPClassifier"  # a plain model file
    back.partial_fit(X, y)  # continues, with a fresh optimiser
    assert back.n_iter_ == est.n_iter_ + 1


def test_save_and_load_a_regressor(tmp_path):
    X, Y = make_regression(n_samples=50, n_features=3, n_targets=2, random_state=0)
    est = MLPRegressor((6, 5), ["relu", "tanh"], max_iter=5, random_state=np.int64(2),
                       dtype="float64").fit(X, Y)
    est.save(tmp_path / "r.safetensors")
    back = MLPRegressor.load(tmp_path / "r.safetensors")
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.n_outputs_ == 2 and back.random_state == 2 and back.hidden_layer_sizes == (6, 5)


def test_load_refuses_other_files(tmp_path, iris):
    MLPClassifier(max_iter=2, **FAST).fit(*iris).save(tmp_path / "c.safetensors")
    with pytest.raises(ModelFileError, match="not a MLPRegressor"):
        MLPRegressor.load(tmp_path / "c.safetensors")
    cr.mlp([2, 2]).save(tmp_path / "plain.safetensors")
    with pytest.raises(ModelFileError, match="plain network"):
        MLPClassifier.load(tmp_path / "plain.safetensors")


def test_save_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        MLPClassifier().save(tmp_path / "x.safetensors")
