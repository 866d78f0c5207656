"""Layers: ``forward(x, training)`` and ``backward(grad_out)``, side by side."""
from .activations import ACTIVATIONS, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .pooling import AvgPool2D, MaxPool2D
from .reshape import Flatten

__all__ = ["ACTIVATIONS", "AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten",
           "Identity", "Layer", "LeakyReLU", "MaxPool2D", "ReLU", "Sigmoid", "Softmax", "Tanh",
           "activation"]


def activation(name):
    """A new activation layer from its name (``"relu"``, ``"sigmoid"``...)."""
    from ..errors import unknown

    if isinstance(name, Layer):
        return name
    if name not in ACTIVATIONS:
        raise unknown("activation", str(name), ACTIVATIONS)
    return ACTIVATIONS[name]()
