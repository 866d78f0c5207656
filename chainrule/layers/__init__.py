"""Layers: ``forward(x, training)`` and ``backward(grad_out)``, side by side."""
from .activations import ACTIVATIONS, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout

__all__ = ["ACTIVATIONS", "BatchNorm", "Dense", "Dropout", "Identity", "Layer", "LeakyReLU",
           "ReLU", "Sigmoid", "Softmax", "Tanh", "activation"]


def activation(name):
    """A new activation layer from its name (``"relu"``, ``"sigmoid"``...)."""
    from ..errors import unknown

    if isinstance(name, Layer):
        return name
    if name not in ACTIVATIONS:
        raise unknown("activation", str(name), ACTIVATIONS)
    return ACTIVATIONS[name]()
