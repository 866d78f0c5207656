"""Optimisers: each updates parameters in place from their gradients.

``SGD``, ``AdaGrad``, ``RMSProp``, ``Adam`` and ``AdamW`` follow ``torch.optim``'s
documented update rules; ``clip_grad_norm`` bounds a step's gradient; the
``schedules`` module changes ``optimizer.lr`` over training.
"""
from . import schedules
from .adagrad import AdaGrad
from .adam import Adam, AdamW
from .base import Optimizer
from .clip import clip_grad_norm
from .rmsprop import RMSProp
from .schedules import CosineLR, ExponentialLR, ReduceLROnPlateau, Schedule, StepLR
from .sgd import SGD

__all__ = ["AdaGrad", "Adam", "AdamW", "CosineLR", "ExponentialLR", "Optimizer", "RMSProp",
           "ReduceLROnPlateau", "SGD", "Schedule", "StepLR", "clip_grad_norm", "schedules"]
