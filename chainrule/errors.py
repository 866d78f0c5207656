"""The exceptions users see.

Every error says what was expected, what was given, and where possible what to do.
Each class also derives from the built-in exception a Python user would catch
(``ValueError``, ``TypeError``...), so ``except ValueError`` keeps working.
Warnings point at the user's line: :func:`user_stacklevel`.
"""
import os
import sys


class ChainruleError(Exception):
    """Base class of every error raised on purpose by chainrule."""


class ShapeError(ChainruleError, ValueError):
    """An array has the wrong number of dimensions or the wrong size."""


class DTypeError(ChainruleError, TypeError):
    """Arrays of different floating-point precision were mixed."""


class InvalidValueError(ChainruleError, ValueError):
    """A value is out of its allowed range: NaN/inf data, labels out of range, lr <= 0..."""


class UnknownNameError(ChainruleError, ValueError):
    """A name (activation, initialiser, loss, data set...) is not one chainrule knows."""

    def __init__(self, kind, name, valid):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid names are: {', '.join(self.valid)}")


class ModelFileError(ChainruleError, ValueError):
    """A model file is missing, truncated, corrupt or not written by chainrule."""


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """The model file (or the directory to save it in) does not exist."""


class MetadataError(ChainruleError, TypeError):
    """The ``metadata`` given to ``save`` cannot be stored as JSON."""


class DataError(ChainruleError, ValueError):
    """A data set cannot be found or read (bad IDX/CSV file, missing download...)."""


class NotAvailableError(ChainruleError, RuntimeError):
    """A feature was asked for that this installation cannot provide."""


def unknown(kind, name, valid):
    """Shorthand: ``raise unknown("activation", name, ACTIVATIONS)``."""
    return UnknownNameError(kind, name, valid)


def user_stacklevel():
    """``stacklevel`` for ``warnings.warn`` naming the first caller outside chainrule (the
    line calling ``fit``), however deep in chainrule the warning is raised."""
    root = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(root):
        frame, level = frame.f_back, level + 1
    return level if frame is not None else 1
