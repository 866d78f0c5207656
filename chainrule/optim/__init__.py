"""Optimisers: each updates parameters in place from their gradients."""
from .base import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
