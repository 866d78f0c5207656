r"""What MLPClassifier and MLPRegressor share: parameters, network, optimiser, stopping, files.

The estimators are thin: they validate data the scikit-learn way, build a
:class:`~chainrule.Sequential` and an optimiser from their parameters, and call
``net_.fit`` -- the one training loop. Everything sklearn's MLP does inside its own
loop is a chainrule callback here: the stopping rule (:class:`Convergence`), the
learning-rate schedule (``LearningRateScheduler``), the validation score.

How the parameters map onto chainrule (the differences from sklearn's MLP are on purpose
and listed here once):

* ``alpha`` is ``fit(l2=alpha)``: chainrule's L2 penalty is
  :math:`\frac{\alpha}{2m}\sum w^2` over the weights (not biases) for a batch of
  :math:`m` examples, which is exactly the term sklearn adds (``0.5 * alpha * ||W||^2 /
  n_samples``), so the same ``alpha`` regularises the same amount. With
  ``solver="adamw"`` it is AdamW's decoupled ``weight_decay`` instead (shrink every
  weight by ``lr * alpha * w`` per step): that decay is the point of AdamW.
* ``max_iter`` counts epochs, as in sklearn; ``n_iter_`` the epochs run, ``t_`` the
  training examples seen (epochs times training-set size).
* Stopping: an epoch *improves* when the training loss falls below the best so far by at
  least ``tol`` (with ``early_stopping``: the validation score rises above the best by at
  least ``tol``). Training stops after ``n_iter_no_change`` epochs in a row that do not
  improve. sklearn's code stops one epoch later (its counter must *exceed*
  ``n_iter_no_change``), so ``n_iter_`` is one less than sklearn's on the same curve.
* ``loss_curve_`` holds the mean loss of each epoch's batches, L2 term included, as
  sklearn's does; for regression it is chainrule's squared error
  :math:`\frac1m\sum_n \frac12\|o_n - t_n\|^2`, equal to sklearn's loss for one
  output and ``n_outputs`` times it for several.

Any other architecture -- a convolutional network, say -- is the ``net`` parameter: a
:class:`~chainrule.Sequential` to start from, or a function that builds one (in the
manner of skorch's ``module``). The estimator then trains that network instead of an
MLP, with everything else above unchanged::

    def small_cnn(seed, dtype, classes):
        return cr.Sequential([cr.Conv2D(1, 8, 3, padding=1, seed=seed, dtype=dtype),
                              cr.ReLU(), cr.MaxPool2D(2), cr.Flatten(),
                              cr.Dense(8 * 4 * 4, classes, seed=seed, dtype=dtype),
                              cr.Softmax()])

    MLPClassifier(net=small_cnn).fit(X.reshape(-1, 1, 8, 8), y)   # or the rows X

With ``net``, ``X`` may be 2-D rows or an array with more axes per sample (images
``(n, channels, height, width)``); the network's ``prepare_inputs`` takes whichever it
accepts (a convolutional network both). Validation treats every sample as the row of
its values, so ``n_features_in_`` is the number of values per sample (64 for 8x8
images of one channel) and rows and images of the same size are interchangeable.
"""
import copy
import inspect
import math
import numbers
import sys
import warnings

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import backend
from ..errors import InvalidValueError, ModelFileError, unknown
from ..io import load as load_network
from ..layers import BatchNorm, Dense, Dropout, activation as make_activation
from ..network import Sequential, mlp
from ..optim import SGD, AdaGrad, Adam, AdamW, RMSProp, schedules
from ..training.callbacks import Callback, LearningRateScheduler, ProgressLogger
from ..training.callbacks.base import resolve_mode
from ..training.callbacks.early_stopping import restore, snapshot

SOLVERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
HIDDEN_ACTIVATIONS = ("identity", "linear", "logistic", "sigmoid", "tanh", "relu", "leaky_relu")
FLOAT_DTYPES = (np.float64, np.float32)
FILE_VERSION = 2  # layout of the estimator's part of the model file metadata
# version 2 added the ``net`` parameter; files of estimators without it are still written
# as version 1, which older chainrule versions read.

# name: (must be an integer, test, what the test asks for)
_NUMBERS = {
    "alpha": (False, lambda v: v >= 0, ">= 0"),
    "learning_rate_init": (False, lambda v: v > 0, "> 0"),
    "momentum": (False, lambda v: 0 <= v < 1, "in [0, 1)"),
    "tol": (False, lambda v: v >= 0, ">= 0"),
    "validation_fraction": (False, lambda v: 0 < v < 1, "in (0, 1)"),
    "dropout": (False, lambda v: 0 <= v < 1, "in [0, 1)"),
    "max_iter": (True, lambda v: v >= 1, ">= 1"),
    "n_iter_no_change": (True, lambda v: v >= 1, ">= 1"),
}


class BaseMLP(BaseEstimator):
    """Parameters and training shared by both estimators (the mapping onto chainrule is
    in the module docstring). Subclasses give the output activation and loss, how targets
    are encoded for the loss, and the validation score ``early_stopping`` watches.

    Parameters (the constructor stores them verbatim; ``fit`` checks them):
        hidden_layer_sizes: tuple of ints, one per hidden layer; ``()`` is a linear model.
            Ignored, like ``activation``, ``dropout`` and ``batchnorm``, when ``net`` is given.
        activation: ``"relu"``, ``"tanh"``, ``"logistic"``/``"sigmoid"``,
            ``"identity"``, ``"leaky_relu"``, or a list with one of them per hidden layer.
        solver: ``"sgd"`` (with ``momentum``, ``nesterovs_momentum``), ``"adam"``,
            ``"adamw"``, ``"adagrad"`` or ``"rmsprop"``; chainrule's optimisers.
        alpha: L2 strength, the same amount as sklearn's ``alpha`` (module docstring).
        batch_size: examples per weight update; ``"auto"`` is ``min(200, n_samples)``.
        learning_rate_init: the optimiser's learning rate.
        learning_rate_schedule: None, ``"step"``, ``"exponential"``, ``"cosine"``,
            ``"plateau"``, or ``{"name": ..., **options}`` (see
            :func:`make_schedule_callback`); stepped once per epoch.
        max_iter: at most this many epochs per ``fit``.
        shuffle: reshuffle the examples every epoch.
        random_state: None, int or RandomState: seeds weights, dropout, shuffling and the
            validation split; an int makes ``fit`` reproducible.
        tol, n_iter_no_change: the stopping rule (module docstring); reaching
            ``max_iter`` first emits sklearn's ``ConvergenceWarning``.
        early_stopping: hold out ``validation_fraction`` of the data, stop on its score,
            and keep the weights of the best epoch.
        dropout: dropout probability after every hidden activation.
        batchnorm: a BatchNorm after every hidden Dense layer.
        callbacks: more chainrule callbacks, run after the estimator's own.
        dtype: ``"float32"`` (fast) or ``"float64"`` (the network's precision); a
            network given as ``net`` is trained in it too (a converted copy).
        verbose: print one line per epoch (chainrule's ProgressLogger).
        net: None (build an MLP from ``hidden_layer_sizes``), or the network to train:

            * a :class:`~chainrule.Sequential`: ``fit`` trains a copy (``net_``) starting
              from its weights, so the instance itself never changes and every ``fit``
              (and every ``clone``) starts from the same point; ``random_state`` then
              seeds only shuffling, dropout in the estimator's own layers and the
              validation split;
            * a function returning a new Sequential, called at the start of every
              ``fit`` with those of these keyword arguments its signature names (all of
              them if it takes ``**kwargs``): ``input_shape`` (the shape of one sample of
              ``X``: ``(n_features,)`` for rows, ``(channels, height, width)`` for
              images), ``n_out`` (outputs: classes or targets), ``classes`` (the same
              number, the name :func:`chainrule.lenet5` uses), ``seed`` (a
              ``numpy.random.Generator`` drawn from ``random_state``, so weights are
              reproducible) and ``dtype``. ``functools.partial`` fixes other arguments,
              e.g. ``net=partial(cr.wide_cnn, dropout=0.0)`` on 8x8 images. A module-level
              function or a partial of one keeps the estimator picklable; a lambda does not.

            A classifier's network must end in :class:`~chainrule.Softmax` with one output
            per class; a regressor's must have one output per target. ``X`` may then also
            hold images (module docstring).
    """

    _output = None          # output activation name
    _validation_key = None  # the log key of the validation score

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001,
                 learning_rate_schedule=None, momentum=0.9, nesterovs_momentum=True,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, dropout=0.0, batchnorm=False,
                 callbacks=(), dtype="float32", verbose=False, net=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate_schedule = learning_rate_schedule
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.callbacks = callbacks
        self.dtype = dtype
        self.verbose = verbose
        self.net = net

    # ---- hooks for the subclasses ----------------------------------------------------
    def _make_loss(self):
        raise NotImplementedError

    def _fit_targets(self, y):
        """``y`` (already encoded) in the form the loss trains on."""
        return y

    def _score_callbacks(self, X_val, y_val):
        """Callbacks that add the validation score to the logs (none: the loop logs it)."""
        return []

    def _check_network(self, net, n_out):
        """Refuse a ``net`` whose outputs cannot be what this estimator trains and returns."""
        if net.n_out is not None and net.n_out != n_out:
            raise InvalidValueError(f"{type(self).__name__}: net gives {_describe(net.n_out)} "
                                    f"outputs but y needs {n_out} ({self._outputs_are})")

    _outputs_are = "one per target"

    # ---- data at the boundary --------------------------------------------------------
    def _validated(self, X, *y, **check):
        """``validate_data`` on X (and y), for samples of any shape when ``net`` is given.

        Samples with more than one axis (images) are validated as the rows of their
        values and returned in their own shape: the network's ``prepare_inputs`` decides
        which shapes it takes. Without ``net``, X must be 2-D, as for sklearn's MLP.
        """
        shape = None
        if self.net is not None and not hasattr(X, "iloc") and not issparse(X):  # 2-D ones
            try:
                arr = np.asarray(X)
            except ValueError:  # ragged: validate_data says so
                arr = None
            if arr is not None and arr.ndim > 2:
                shape = arr.shape
                X = arr.reshape(shape[0], math.prod(shape[1:]))
        out = validate_data(self, X, *y, dtype=FLOAT_DTYPES, **check)
        if shape is None:
            return out
        if y:
            return out[0].reshape(shape), out[1]
        return out.reshape(shape)

    # ---- training --------------------------------------------------------------------
    def _start(self, input_shape, n_out):
        """Fresh network, optimiser, schedule and curves: what ``fit`` starts from.

        ``input_shape`` is the shape of one sample (``X.shape[1:]``); an int is a row width.
        """
        self._prepare_training()
        self.net_ = build_network(self, input_shape, n_out)
        self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
        self.validation_scores_ = [] if self.early_stopping else None
        self.val_loss_curve_ = [] if self.early_stopping else None

    def _prepare_training(self):
        """Checked parameters, a generator, the optimiser and the callback stepping its
        schedule: private state kept between ``partial_fit`` calls, not saved in files."""
        _check_params(self)
        self._rng = _generator(self.random_state)
        self._optimizer = make_optimizer(self)
        self._lr_callback = make_schedule_callback(self, self._optimizer)

    def _train(self, X, y, epochs, incremental):
        """``epochs`` passes of ``net_.fit`` over (X, y); ``incremental`` for partial_fit.

        ``partial_fit`` neither holds data out nor stops early, as in sklearn.
        """
        if not hasattr(self, "_optimizer"):  # an estimator read by load()
            self._prepare_training()
        validate = self.early_stopping and not incremental
        validation, callbacks = None, []
        if validate:
            X, X_val, y, y_val = self._split(X, y)
            validation = (X_val, y_val)
            callbacks = self._score_callbacks(X_val, y_val)
        callbacks += [self._lr_callback] if self._lr_callback is not None else []
        if not incremental:
            monitor = self._validation_key if validate else "loss"
            callbacks.append(Convergence(monitor, "max" if validate else "min", self.tol,
                                         self.n_iter_no_change, restore_best=validate))
        callbacks += [ProgressLogger(stream=sys.stdout)] if self.verbose else []
        history = self.net_.fit(
            X, self._fit_targets(y), loss=self._make_loss(), optimizer=self._optimizer,
            epochs=epochs, batch_size=self._batch_size(len(X)), shuffle=bool(self.shuffle),
            seed=int(self._rng.integers(2 ** 32)), callbacks=callbacks + list(self.callbacks),
            validation_data=validation,
            l2=0.0 if self.solver == "adamw" else self.alpha)
        self._record(history, len(X), validate)
        if not incremental and history.stop_reason == "epochs":
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          f"and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=3)
        return self

    def _split(self, X, y):
        """Hold out ``validation_fraction`` of the data (stratified for classifiers)."""
        X, X_val, y, y_val = train_test_split(
            X, y, test_size=self.validation_fraction, stratify=y if is_classifier(self) else None,
            random_state=int(self._rng.integers(np.iinfo(np.int32).max)))
        if len(X_val) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        return X, X_val, y, y_val

    def _batch_size(self, n):
        if self.batch_size == "auto":
            return min(200, n)
        return min(self.batch_size, n)

    def _record(self, history, n, validated):
        self.history_ = history
        self.loss_curve_ += history["loss"]
        self.n_iter_ += history.epochs
        self.t_ += history.epochs * n
        if validated:
            self.validation_scores_ += history[self._validation_key]
            self.val_loss_curve_ += history["val_loss"]
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        self.best_validation_score_ = (max(self.validation_scores_)
                                       if self.validation_scores_ else None)

    def _outputs(self, X):
        """The network's outputs for validated X, in float64 (what sklearn returns)."""
        check_is_fitted(self)
        X = self._validated(X, reset=False)
        return backend.to_numpy(self.net_.predict(X)).astype(np.float64)

    # ---- files -----------------------------------------------------------------------
    def save(self, path):
        """Write the fitted estimator to one chainrule model file (no pickle).

        The network is the file's arrays; the estimator's parameters and fitted
        attributes are JSON in its metadata (``net_.metadata`` after loading).
        Not stored: ``callbacks`` (objects, not data), a ``random_state`` that is a
        RandomState instance (saved as None), the optimiser state and ``history_``;
        nor ``net`` itself (a network or a function): the loaded estimator's ``net`` is
        a copy of the saved network, so its ``fit`` trains that architecture again,
        starting from the saved weights.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        params["callbacks"] = ()
        if not isinstance(params["random_state"], (numbers.Integral, type(None))):
            params["random_state"] = None
        version = FILE_VERSION
        if params["net"] is None:
            del params["net"]  # readable by chainrule versions without the parameter
            version = 1
        else:
            params["net"] = "the saved network"
        metadata = {"estimator": type(self).__name__, "estimator_file_version": version,
                    "params": _jsonable(self._encode_params(params)),
                    "fitted": _jsonable(self._fitted_state())}
        self.net_.save(path, metadata=metadata)

    @classmethod
    def load(cls, path):
        """A fitted estimator from a file written by :meth:`save`.

        It predicts exactly as the saved one; ``partial_fit`` continues from its weights
        with a fresh optimiser (the optimiser state is not in the file).
        """
        net = load_network(path)
        meta = net.metadata
        if meta.get("estimator") != cls.__name__:
            found = meta.get("estimator") or "a plain network (load it with chainrule.load)"
            raise ModelFileError(f"model file {str(path)!r} holds {found}, not a "
                                 f"{cls.__name__}")
        if meta.get("estimator_file_version", 0) > FILE_VERSION:
            raise ModelFileError(f"model file {str(path)!r} was written by a newer "
                                 f"chainrule.sklearn; upgrade chainrule to load it")
        try:
            params = cls._decode_params(dict(meta["params"]))
            given = params.pop("net", None) is not None
            est = cls(**params)
            est.net = copy.deepcopy(net) if given else None
            est.net_ = net
            est._restore_fitted(meta["fitted"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"model file {str(path)!r}: its {cls.__name__} metadata is "
                                 f"incomplete or malformed ({exc!r})") from exc
        return est

    @staticmethod
    def _encode_params(params):
        params["hidden_layer_sizes"] = _hidden_sizes(params["hidden_layer_sizes"])
        return params

    @staticmethod
    def _decode_params(params):
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        params["callbacks"] = ()
        return params

    def _fitted_state(self):
        state = {name: getattr(self, name) for name in (
            "n_features_in_", "loss_curve_", "validation_scores_", "val_loss_curve_",
            "n_iter_", "t_", "best_loss_", "best_validation_score_")}
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = self.feature_names_in_.tolist()
        return state

    def _restore_fitted(self, state):
        for name, value in state.items():
            setattr(self, name, value)
        if "feature_names_in_" in state:
            self.feature_names_in_ = np.asarray(state["feature_names_in_"], dtype=object)
        self.history_ = None


class Convergence(Callback):
    """scikit-learn's stopping rule for its MLPs, as a callback.

    An epoch improves when ``monitor`` beats the best value so far by at least ``tol``
    (mode ``"min"``: lower is better, ``"max"``: higher). After ``patience`` epochs in a
    row without improvement it stops training with ``stop_reason`` ``"converged"``.
    Unlike :class:`~chainrule.callbacks.EarlyStopping` the best value follows every
    new best, improved by ``tol`` or not, so ``tol`` is a per-epoch rate: a loss still
    falling, but by less than ``tol`` per epoch, has converged.

    With ``restore_best`` the network leaves ``fit`` with the weights of its best epoch.
    """

    def __init__(self, monitor, mode, tol, patience, restore_best=False):
        self.monitor, self.sign = monitor, 1.0 if mode == "max" else -1.0
        self.tol, self.patience, self.restore_best = tol, patience, restore_best

    def on_train_begin(self, state):
        self.best, self.wait, self._saved = -math.inf, 0, None

    def on_epoch_end(self, state):
        score = self.sign * float(state.logs[self.monitor])  # higher is better from here
        self.wait = 0 if score >= self.best + self.tol else self.wait + 1  # NaN never improves
        if score > self.best:
            self.best = score
            if self.restore_best:
                self._saved = snapshot(state.net)
        if self.wait >= self.patience:
            state.stop, state.stop_reason = True, "converged"

    def on_train_end(self, state):
        if self._saved is not None:
            restore(state.net, self._saved)
        self._saved = None


# ---- building from parameters -------------------------------------------------------------

def build_network(est, input_shape, n_out):
    """The Sequential for ``est``: its ``net``, or mlp() when every hidden layer has the
    same activation.

    Per-layer activations build the same stack by hand: Dense, BatchNorm (optional),
    activation, Dropout (optional) per hidden layer; weights He-initialised before a
    (leaky) ReLU and Xavier otherwise, the output layer like the last hidden one, as
    mlp() does. One generator draws all weights and dropout masks.
    """
    input_shape = (input_shape,) if isinstance(input_shape, numbers.Integral) else \
        tuple(int(s) for s in input_shape)
    if est.net is not None:
        return given_network(est, input_shape, n_out)
    sizes = [math.prod(input_shape), *_hidden_sizes(est.hidden_layer_sizes), n_out]
    names = _hidden_activations(est.activation, len(sizes) - 2)
    common = dict(dtype=est.dtype, seed=est._rng, dropout=est.dropout, batchnorm=est.batchnorm)
    if len(set(names)) <= 1:
        return mlp(sizes, activation=names[0] if names else "identity", output=est._output,
                   **common)
    layers = []
    for n_a, n_b, name in zip(sizes[:-2], sizes[1:-1], names):
        layers.append(Dense(n_a, n_b, init=_init_for(name), dtype=est.dtype, seed=est._rng))
        layers += [BatchNorm(n_b, dtype=est.dtype)] if est.batchnorm else []
        layers.append(make_activation(name))
        layers += [Dropout(est.dropout, seed=est._rng)] if est.dropout else []
    layers.append(Dense(sizes[-2], n_out, init=_init_for(names[-1]), dtype=est.dtype,
                        seed=est._rng))
    layers.append(make_activation(est._output))
    return Sequential(layers)


def given_network(est, input_shape, n_out):
    """The network ``est.net`` stands for, in ``est.dtype``, never the user's own object.

    A Sequential is copied (``astype`` makes a converted copy); a function is called with
    the arguments its signature names among those BaseMLP's docstring lists.
    """
    spec = est.net
    if isinstance(spec, Sequential):
        net = spec.astype(est.dtype)
    else:
        offered = dict(input_shape=input_shape, n_out=n_out, classes=n_out, seed=est._rng,
                       dtype=est.dtype)
        net = spec(**_accepted(spec, offered))
        if not isinstance(net, Sequential):
            raise InvalidValueError(f"{type(est).__name__}: net={spec!r} returned "
                                    f"{type(net).__name__}, not a chainrule Sequential")
        if net.dtype != backend.dtype(est.dtype):
            net = net.astype(est.dtype)
    est._check_network(net, n_out)
    return net


def _accepted(function, offered):
    """The items of ``offered`` that ``function`` takes by name (all, with ``**kwargs``)."""
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature to read (some builtins): offer them all
        return offered
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return offered
    names = {name for name, p in params.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {name: value for name, value in offered.items() if name in names}


def _describe(n_out):
    return "x".join(map(str, n_out)) if isinstance(n_out, tuple) else str(n_out)


def _generator(random_state):
    """A NumPy Generator seeded from sklearn's ``random_state`` (None: the global RandomState)."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


def _init_for(activation):
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def make_optimizer(est):
    """The chainrule optimiser named by ``solver``, at ``learning_rate_init``."""
    lr = est.learning_rate_init
    if est.solver == "sgd":
        return SGD(lr, momentum=est.momentum,
                   nesterov=bool(est.nesterovs_momentum) and est.momentum > 0)
    if est.solver == "adamw":
        return AdamW(lr, weight_decay=est.alpha)
    return {"adam": Adam, "adagrad": AdaGrad, "rmsprop": RMSProp}[est.solver](lr)


def make_schedule_callback(est, optimizer):
    """A LearningRateScheduler stepping once per epoch, or None without a schedule.

    ``learning_rate_schedule`` is a name or a dict ``{"name": ..., **options}`` whose
    options override these defaults (all in epochs):

    * ``"step"``: multiply by 0.1 every ``max_iter // 3`` epochs;
    * ``"exponential"``: ``gamma`` such that the rate falls to 1 % by ``max_iter``;
    * ``"cosine"``: half a cosine down to 0 over ``max_iter`` epochs;
    * ``"plateau"``: divide by 5 once the training loss has not improved by ``tol`` for
      two epochs (sklearn's ``learning_rate="adaptive"``); ``"monitor"`` picks another
      log, e.g. ``"val_loss"`` with ``early_stopping``.
    """
    spec = est.learning_rate_schedule
    if spec is None:
        return None
    options = dict(spec) if isinstance(spec, dict) else {"name": spec}
    name = options.pop("name", None)
    monitor = options.pop("monitor", "loss") if name == "plateau" else None
    defaults = {"step": {"step_size": max(1, est.max_iter // 3)},
                "exponential": {"gamma": 0.01 ** (1 / est.max_iter)},
                "cosine": {"total_steps": est.max_iter},
                "plateau": {"factor": 0.2, "patience": 1, "min_delta": est.tol,
                            "mode": resolve_mode(monitor or "loss", "auto")}}
    schedule = schedules.get(name, optimizer, **{**defaults.get(name, {}), **options})
    return LearningRateScheduler(schedule, monitor=monitor)


def _hidden_sizes(sizes):
    """``hidden_layer_sizes`` as a list of ints (an int means one layer, as in sklearn)."""
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    try:
        sizes = list(sizes)
    except TypeError:
        raise InvalidValueError(f"hidden_layer_sizes must be a sequence of positive integers, "
                                f"got {sizes!r}") from None
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise InvalidValueError(f"hidden_layer_sizes must hold positive integers, got "
                                    f"{sizes!r}")
    return [int(n) for n in sizes]


def _hidden_activations(activation, n_hidden):
    """One activation name per hidden layer, from a name or a list of them."""
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(names) != n_hidden:
        raise InvalidValueError(f"activation lists {len(names)} activations but there are "
                                f"{n_hidden} hidden layers (hidden_layer_sizes)")
    for name in names:
        if name not in HIDDEN_ACTIVATIONS:
            raise unknown("activation", str(name), HIDDEN_ACTIVATIONS)
    return names


def _check_params(est):
    """Reject bad parameters at fit time, naming the parameter (sklearn's convention)."""
    for name, (integer, test, what) in _NUMBERS.items():
        value = getattr(est, name)
        kind = numbers.Integral if integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind) or not test(value) \
                or (not integer and not math.isfinite(value)):
            raise InvalidValueError(f"{type(est).__name__}: {name} must be "
                                    f"{'an integer' if integer else 'a number'} {what}, "
                                    f"got {value!r}")
    _hidden_activations(est.activation, len(_hidden_sizes(est.hidden_layer_sizes)))
    if est.solver not in SOLVERS:
        raise unknown("solver", str(est.solver), SOLVERS)
    batch = est.batch_size
    if batch != "auto" and (isinstance(batch, bool) or not isinstance(batch, numbers.Integral)
                            or batch < 1):
        raise InvalidValueError(f"batch_size must be 'auto' or a positive integer, got {batch!r}")
    backend.dtype(est.dtype)
    if est.net is not None and not (isinstance(est.net, Sequential) or callable(est.net)):
        raise InvalidValueError(f"{type(est).__name__}: net must be None, a chainrule "
                                f"Sequential or a function that builds one, got {est.net!r}")
    spec = est.learning_rate_schedule
    name = spec.get("name") if isinstance(spec, dict) else spec
    if spec is not None and name not in schedules.SCHEDULES:
        raise unknown("learning_rate_schedule", str(name), schedules.SCHEDULES)


def _jsonable(value):
    """``value`` with NumPy scalars and arrays as Python ones and NaN as None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
