"""Callbacks for ``fit``: ``cr.callbacks.Callback``, ``ProgressLogger``..."""
from .training.callbacks import Callback, ProgressLogger, TrainingState

__all__ = ["Callback", "ProgressLogger", "TrainingState"]
