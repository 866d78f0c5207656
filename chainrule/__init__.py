"""chainrule: feed-forward neural networks with backpropagation written out layer by layer."""
from . import backend, callbacks, data, datasets, init, losses, metrics, optim, parallel
from .errors import (ChainruleError, DataError, DTypeError, InvalidValueError, ModelFileError,
                     ShapeError, UnknownNameError)
from .gradcheck import gradcheck
from .trace import trace
from .layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Identity, Layer,
                     LeakyReLU, MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from .models import lenet5, wide_cnn
from .losses import L1, L2, MSE, BinaryCrossEntropy, CrossEntropy, SquaredError
from .network import Sequential, mlp
from .optim import SGD, AdaGrad, Adam, AdamW, RMSProp
from .parameter import Parameter
from .training import DivergenceWarning, History

__version__ = "0.1.0"


def load(path):
    """Read a network written by ``net.save(path)``; never runs code from the file."""
    from .io import load as _load

    return _load(path)


__all__ = ["AvgPool2D", "Conv2D", "Flatten", "MaxPool2D", "lenet5", "wide_cnn", "AdaGrad", "Adam", "AdamW", "RMSProp", "BatchNorm", "Dropout", "L1", "BinaryCrossEntropy", "ChainruleError", "CrossEntropy", "DTypeError", "DataError",
           "Dense", "DivergenceWarning", "History", "Identity", "InvalidValueError", "L2", "Layer",
           "LeakyReLU", "MSE", "ModelFileError", "Parameter", "ReLU", "SGD", "Sequential",
           "ShapeError", "Sigmoid", "Softmax", "SquaredError", "Tanh", "UnknownNameError",
           "backend", "callbacks", "datasets", "gradcheck", "init", "load", "losses", "metrics",
           "mlp", "optim", "parallel", "trace"]
