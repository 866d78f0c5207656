"""Pictures of networks and of training, drawn with matplotlib (an optional extra).

``pip install "chainrule[plots]"``. matplotlib is imported inside the functions, never
when chainrule is imported, and every figure is drawn on its own Agg canvas: chainrule
never touches pyplot or the global matplotlib backend. Each function returns the
matplotlib Figure and, given a ``path``, writes it (PNG, SVG or PDF by the extension).

* :func:`loss_curve`: the error-versus-epoch graph (loss and accuracy per epoch);
* :func:`network_diagram`: neurons as circles, edges coloured and sized by weight;
* :func:`decision_boundary`: a 2-D classifier's class probabilities over the plane;
  :class:`BoundaryRecorder` records them during ``fit`` and writes an animated GIF;
* :func:`confusion_matrix_plot`, :func:`weight_histograms`;
* :class:`GradientNorms` (a callback) and :func:`gradient_norms`: per-layer gradient
  norms over training, the picture of vanishing gradients;
* :func:`report`: one standalone HTML page about a trained classifier.
"""
from .boundary import BoundaryRecorder, decision_boundary
from .diagram import network_diagram
from .gradients import GradientNorms, gradient_norms
from .loss import loss_curve
from .matrices import confusion_matrix_plot, weight_histograms
from .report import report

__all__ = ["BoundaryRecorder", "GradientNorms", "confusion_matrix_plot", "decision_boundary",
           "gradient_norms", "loss_curve", "network_diagram", "report", "weight_histograms"]
