"""Training: the fit loop, its History and callbacks."""
from .callbacks import Callback, ProgressLogger, TrainingState
from .history import History
from .loop import DivergenceWarning, default_loss, evaluate_loss, fit

__all__ = ["Callback", "DivergenceWarning", "History", "ProgressLogger", "TrainingState",
           "default_loss", "evaluate_loss", "fit"]
