"""Callbacks for ``fit``: ``cr.callbacks.EarlyStopping``, ``ModelCheckpoint``..."""
from .training.callbacks import (CSVLogger, Callback, EarlyStopping, LearningRateScheduler,
                                 ModelCheckpoint, ProgressBar, ProgressLogger, TrainingState)
from .training.diagnostics import Diagnostics

__all__ = ["CSVLogger", "Callback", "Diagnostics", "EarlyStopping", "LearningRateScheduler",
           "ModelCheckpoint", "ProgressBar", "ProgressLogger", "TrainingState"]
