"""scikit-learn estimators over chainrule networks: ``MLPClassifier`` and ``MLPRegressor``.

They follow scikit-learn's conventions (parameters stored verbatim, fitted attributes
ending in ``_``, validation at the boundary, ``get_params``/``set_params``), so they work
in ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``, and train with chainrule's
one fit loop. ``est.save(path)`` writes a chainrule model file; ``MLPClassifier.load``
and ``MLPRegressor.load`` read it back without unpickling anything.

``net=`` replaces the MLP by any network, a Sequential or a function that builds one:
convolutional networks train on images ``(n, channels, height, width)`` or on rows of
pixels (see :class:`~chainrule.sklearn.base.BaseMLP`).
"""
from .base import BaseMLP, Convergence
from .classifier import MLPClassifier, WeightedCrossEntropy
from .regressor import MLPRegressor

__all__ = ["BaseMLP", "Convergence", "MLPClassifier", "MLPRegressor", "WeightedCrossEntropy"]
