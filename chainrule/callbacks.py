"""Callbacks for ``fit``: ``cr.callbacks.EarlyStopping``, ``ModelCheckpoint``..."""
from .training.callbacks import (CSVLogger, Callback, EarlyStopping, LearningRateScheduler,
                                 ModelCheckpoint, ProgressBar, ProgressLogger, TrainingState)

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "ProgressBar", "ProgressLogger", "TrainingState"]
