"""MLPClassifier, and the weighted cross-entropy behind its ``class_weight``."""
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets

from .. import backend
from ..errors import InvalidValueError, ShapeError
from ..layers import Softmax
from ..losses import CrossEntropy
from .base import BaseMLP


class WeightedCrossEntropy(CrossEntropy):
    r"""Cross-entropy with a weight per example: :math:`-\frac1m \sum_n w_n \ln p_{n, y_n}`.

    The weight rides in the target: row :math:`n` is :math:`w_n` times the one-hot row of
    its class, so the fit loop, which knows nothing about weights, shuffles and batches
    it with its example. Class indices ``(batch,)`` are also accepted (every weight 1),
    which is how validation data is scored.

    :class:`CrossEntropy`'s value for rows, :math:`-\sum_k t_k \ln p_k` (fused:
    :math:`\sum_k t_k\,\mathrm{lse}(a) - \sum_k t_k a_k`), and its unfused gradient
    :math:`-t/(p\,m)` hold for any non-negative rows. Two things change: rows need not
    sum to 1, and the gradient fused with the Softmax is

    .. math:: \frac{\partial L}{\partial a_n} = \frac{p_n \sum_k t_{nk} - t_n}{m}

    which is :math:`w_n (p_n - e_{y_n})/m`, not :math:`(p_n - t_n)/m`.
    """

    def prepare_target(self, target, n_out, dtype):
        t = backend.to_numpy(target)
        if t.ndim == 1:
            return super().prepare_target(t, n_out, dtype)
        if t.ndim != 2 or t.shape[1] != n_out:
            raise ShapeError(f"WeightedCrossEntropy: targets must be class indices (batch,) or "
                             f"weighted one-hot rows (batch, {n_out}), got {t.shape}")
        if not np.all(np.isfinite(t)) or (t.size and t.min() < 0):
            raise InvalidValueError("WeightedCrossEntropy: target rows must be finite and "
                                    "non-negative (a weight times a one-hot row)")
        return backend.asarray(t, dtype)

    def fused_backward(self):
        if self._t.ndim == 1:
            return super().fused_backward()
        p, t = self._p, self._t
        return (p * t.sum(axis=1, keepdims=True) - t) / len(p)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by chainrule's fit loop.

    A softmax over one output per class, trained with cross-entropy. Binary problems
    also use a softmax of 2 outputs rather than one sigmoid: the same model (the
    softmax of two logits is the sigmoid of their difference), one code path, and
    ``predict_proba`` has its two columns directly. Labels may be any sortable values
    (strings, ints...): ``classes_`` holds them sorted, as ``LabelEncoder`` does.

    The parameters shared with :class:`MLPRegressor` are documented on
    :class:`~chainrule.sklearn.base.BaseMLP`. Specific to the classifier:

    class_weight : None, "balanced" or dict label -> weight
        Each example's loss is multiplied by its class's weight
        (:class:`WeightedCrossEntropy`); "balanced" uses ``n / (n_classes * count)``.
        ``partial_fit`` takes only a dict (the counts of later batches are unknown).

    Attributes: ``classes_``, ``class_weight_`` (one weight per class, ones without
    ``class_weight``), ``net_`` (the trained network), ``n_features_in_`` (values per
    sample), ``feature_names_in_`` (inputs with column names), ``loss_curve_``,
    ``validation_scores_`` (validation *accuracy* per epoch with ``early_stopping``,
    else None), ``val_loss_curve_`` (validation cross-entropy per epoch, or None),
    ``best_loss_``, ``best_validation_score_``, ``n_iter_`` (epochs), ``t_`` (examples
    seen), ``history_`` (the History of the last ``fit``/``partial_fit`` call; None
    after :meth:`load`).
    """

    _output = "softmax"
    _validation_key = "val_accuracy"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001,
                 learning_rate_schedule=None, momentum=0.9, nesterovs_momentum=True,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, dropout=0.0, batchnorm=False,
                 class_weight=None, callbacks=(), dtype="float32", verbose=False, net=None):
        super().__init__(
            hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
            learning_rate_init=learning_rate_init, learning_rate_schedule=learning_rate_schedule,
            momentum=momentum, nesterovs_momentum=nesterovs_momentum, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, dropout=dropout, batchnorm=batchnorm,
            callbacks=callbacks, dtype=dtype, verbose=verbose, net=net)
        self.class_weight = class_weight

    # ---- training --------------------------------------------------------------------
    def fit(self, X, y):
        """Train from scratch for up to ``max_iter`` epochs; returns self."""
        X, y = self._validate(X, y, reset=True)
        self._set_classes(np.unique(y), y, incremental=False)
        self._start(X.shape[1:], len(self.classes_))
        return self._train(X, self._encode(y), self.max_iter, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights and optimiser.

        ``classes`` (every label that will ever appear) is required on the first call,
        as in sklearn, since a batch may not show them all.
        """
        first = not hasattr(self, "classes_")
        X, y = self._validate(X, y, reset=first)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._set_classes(np.unique(classes), y, incremental=True)
            self._start(X.shape[1:], len(self.classes_))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to "
                             f"partial_fit (or fit), which was {self.classes_!r}")
        return self._train(X, self._encode(y), 1, incremental=True)

    def _validate(self, X, y, reset):
        X, y = self._validated(X, y, reset=reset)
        check_classification_targets(y)
        return X, y

    _outputs_are = "one per class"

    def _check_network(self, net, n_out):
        """A network given as ``net`` must end in a softmax over one output per class:
        cross-entropy trains probabilities, and ``predict_proba`` returns them."""
        if not isinstance(net.layers[-1], Softmax):
            raise InvalidValueError(f"MLPClassifier: net must end in a Softmax layer (its "
                                    f"outputs are the class probabilities), but its last "
                                    f"layer is {net.layers[-1]!r}; append cr.Softmax()")
        super()._check_network(net, n_out)

    def _set_classes(self, classes, y, incremental):
        if len(classes) < 2:
            raise ValueError(f"MLPClassifier needs examples of at least 2 classes; got 1 class: "
                             f"{classes.tolist()!r}")
        self.classes_ = classes
        if self.class_weight is None:
            self.class_weight_ = np.ones(len(classes))
        elif incremental and isinstance(self.class_weight, str):
            raise ValueError("class_weight='balanced' is not supported for partial_fit: the "
                             "class counts of later batches are unknown; pass a dict, e.g. from "
                             "sklearn.utils.class_weight.compute_class_weight")
        else:
            self.class_weight_ = compute_class_weight(self.class_weight, classes=classes, y=y)

    def _encode(self, y):
        """Labels -> indices into ``classes_``; a label never seen is an error."""
        idx = np.searchsorted(self.classes_, y)
        known = idx < len(self.classes_)
        known[known] = self.classes_[idx[known]] == y[known]
        if not np.all(known):
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()!r}: "
                             f"{np.unique(y[~known])[:5].tolist()!r}")
        return idx

    def _make_loss(self):
        return CrossEntropy() if self.class_weight is None else WeightedCrossEntropy()

    def _fit_targets(self, y):
        """Class indices, or weighted one-hot rows when classes are weighted."""
        if self.class_weight is None:
            return y
        rows = np.zeros((len(y), len(self.classes_)))
        rows[np.arange(len(y)), y] = self.class_weight_[y]
        return rows

    # ---- prediction ------------------------------------------------------------------
    def predict(self, X):
        """The most probable class of each row, as a label of ``classes_``."""
        best = np.argmax(self._outputs(X), axis=1)  # checks that we are fitted, first
        return self.classes_[best]

    def predict_proba(self, X):
        """Class probabilities ``(n, n_classes)`` in float64, columns in ``classes_`` order.

        Renormalised in float64, so rows sum to 1 to double precision even when the
        network computes in float32.
        """
        p = self._outputs(X)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # ---- files -----------------------------------------------------------------------
    @staticmethod
    def _encode_params(params):
        params = BaseMLP._encode_params(params)
        if isinstance(params["class_weight"], dict):  # JSON keys would become strings
            params["class_weight"] = [[k, v] for k, v in params["class_weight"].items()]
        return params

    @staticmethod
    def _decode_params(params):
        params = BaseMLP._decode_params(params)
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = {k: v for k, v in params["class_weight"]}
        return params

    def _fitted_state(self):
        state = super()._fitted_state()
        state.update(classes_=self.classes_.tolist(), classes_dtype=self.classes_.dtype.str,
                     class_weight_=self.class_weight_.tolist())
        return state

    def _restore_fitted(self, state):
        state = dict(state)
        dtype = np.dtype(state.pop("classes_dtype"))
        super()._restore_fitted(state)
        self.classes_ = np.asarray(state["classes_"], dtype=dtype)
        self.class_weight_ = np.asarray(state["class_weight_"], dtype=np.float64)
