"""``cr.datasets.load(name)``: the data sets chainrule knows (see :mod:`chainrule.data`)."""
from .data import load, names

__all__ = ["load", "names"]
