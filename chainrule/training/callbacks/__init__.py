"""Callbacks: hooks the training loop calls; each may stop training.

Every hook receives the :class:`TrainingState` (network, epoch, iteration, history,
the latest logs) and may set ``state.stop = True``. One small module per callback.
"""
from .base import Callback, TrainingState
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .lr_scheduler import LearningRateScheduler
from .progress import ProgressBar, ProgressLogger

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LearningRateScheduler", "ModelCheckpoint",
           "ProgressBar", "ProgressLogger", "TrainingState"]
