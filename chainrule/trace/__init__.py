"""See backprop: one training step, every number of it, as text, Markdown, LaTeX or HTML.

``trace(net, loss, X, y, optimizer)`` trains ``net`` for one step (in place, exactly as
``fit`` would) and returns a :class:`TraceRecord` of every net input, output, loss term,
delta, gradient (as its chain-rule product) and update; ``trace_steps`` does several
successive steps. ``record.to_text()``, ``to_markdown()``, ``to_latex()`` and
``to_html()`` write it out the way the lecture notes do.
"""
from .record import (LayerStep, Neuron, OtherLayerStep, ParameterStep, TraceRecord, TraceSteps,
                     trace, trace_steps)
from .render import FORMATS, format_number, render

__all__ = ["FORMATS", "LayerStep", "Neuron", "OtherLayerStep", "ParameterStep", "TraceRecord",
           "TraceSteps", "format_number", "render", "trace", "trace_steps"]
