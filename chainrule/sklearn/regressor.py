"""MLPRegressor: identity outputs and squared error."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .. import backend
from ..losses import SquaredError
from ..training.callbacks import Callback
from .base import BaseMLP


class MLPRegressor(RegressorMixin, BaseMLP):
    r"""A multi-layer perceptron regressor trained by chainrule's fit loop.

    Identity outputs, one per target column, trained on chainrule's squared error
    :math:`\frac1m\sum_n \frac12\|o_n - t_n\|^2`. Targets are used as given: scale them
    (``TransformedTargetRegressor`` with a ``StandardScaler``) when they are large,
    as with sklearn's MLP. ``y`` of shape ``(n,)`` or ``(n, 1)`` predicts shape ``(n,)``.

    Parameters are documented on :class:`~chainrule.sklearn.base.BaseMLP`; a network
    given as ``net`` needs one output per target column, and its outputs are the
    predictions as they are (no output activation is added).

    Attributes: ``net_``, ``n_outputs_``, ``n_features_in_``, ``feature_names_in_``,
    ``loss_curve_``, ``validation_scores_`` (validation :math:`R^2` per epoch with
    ``early_stopping``, what sklearn's MLP reports and what the stopping rule watches;
    else None), ``val_loss_curve_`` (validation squared error per epoch, or None),
    ``best_loss_``, ``best_validation_score_``, ``n_iter_``, ``t_``, ``history_``.
    """

    _output = "identity"
    _validation_key = "val_r2"

    def fit(self, X, y):
        """Train from scratch for up to ``max_iter`` epochs; returns self."""
        X, y = self._validate(X, y, reset=True)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self._start(X.shape[1:], self.n_outputs_)
        return self._train(X, y, self.max_iter, incremental=False)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing from the current weights and optimiser."""
        first = not hasattr(self, "n_outputs_")
        X, y = self._validate(X, y, reset=first)
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if first:
            self.n_outputs_ = n_outputs
            self._start(X.shape[1:], n_outputs)
        elif n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} outputs but the regressor was fitted with "
                             f"{self.n_outputs_}")
        return self._train(X, y, 1, incremental=True)

    def _validate(self, X, y, reset):
        return self._validated(X, y, reset=reset, multi_output=True, y_numeric=True)

    def _make_loss(self):
        return SquaredError()

    def _score_callbacks(self, X_val, y_val):
        return [ValidationR2(X_val, y_val)]

    def predict(self, X):
        """Predicted targets in float64: ``(n,)`` for one output, else ``(n, n_outputs)``."""
        out = self._outputs(X)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _fitted_state(self):
        state = super()._fitted_state()
        state["n_outputs_"] = self.n_outputs_
        return state


class ValidationR2(Callback):
    """Adds ``val_r2``, the :math:`R^2` on held-out data, to every epoch's logs."""

    def __init__(self, X, y):
        self.X, self.y = X, np.asarray(y, dtype=np.float64)

    def on_epoch_end(self, state):
        pred = backend.to_numpy(state.net.predict(self.X)).astype(np.float64)
        state.logs["val_r2"] = float(r2_score(self.y, pred.reshape(self.y.shape)))
