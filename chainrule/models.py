"""Ready-made convolutional networks: LeNet-5 and a wider CNN, for 28x28 digit-like images.

Seed 003 compares LeNet (1998: 28x28 digits, about 60k parameters, sigmoid units, no
GPU) with AlexNet; :func:`lenet5` is that network with today's defaults (ReLU, max
pooling, a softmax output trained with cross-entropy).
"""
from . import backend
from .errors import InvalidValueError
from .layers import Conv2D, Dense, Dropout, Flatten, MaxPool2D, Softmax, activation as make_act
from .network import Sequential

__all__ = ["lenet5", "wide_cnn"]


def _input(input_shape, what):
    shape = tuple(input_shape)
    if len(shape) != 3 or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0
                              for s in shape):
        raise InvalidValueError(f"{what}: input_shape must be (channels, height, width) of "
                                f"positive integers, got {input_shape!r}")
    return shape


def _init(name):
    return "he" if name in ("relu", "leaky_relu") else "xavier"


def lenet5(activation="relu", dtype="float32", seed=None, input_shape=(1, 28, 28), classes=10):
    """LeNet-5 adapted to 28x28 images (MNIST, Fashion-MNIST): 61,706 parameters.

    ======================================  ==============
    layer                                   output
    ======================================  ==============
    Conv2D(1, 6, kernel_size=5, padding=2)  6 x 28 x 28
    activation, MaxPool2D(2)                6 x 14 x 14
    Conv2D(6, 16, kernel_size=5)            16 x 10 x 10
    activation, MaxPool2D(2)                16 x 5 x 5
    Flatten, Dense(400, 120), activation    120
    Dense(120, 84), activation              84
    Dense(84, 10), Softmax                  10
    ======================================  ==============

    The original (LeCun et al. 1998) took 32x32 inputs without padding, used scaled tanh
    units, average-pooling "subsampling" layers with trained coefficients and sparse
    C3 connections; padding the first layer by 2 gives the same 28x28 maps from 28x28
    images, and ReLU with max pooling trains faster.

    Args:
        activation: hidden activation name (``"relu"``, ``"tanh"``, ``"sigmoid"``...);
            weights are drawn with He for (leaky) ReLU and Xavier otherwise.
        dtype: ``"float32"`` (default) or ``"float64"``.
        seed: int or ``numpy.random.Generator``; one generator draws every weight.
        input_shape: ``(channels, height, width)`` of the images; at least 12x12 (the
            second convolution needs 5x5 maps after the first pooling).
        classes: number of outputs.

    Shape:
        input ``(batch, channels, height, width)``, output ``(batch, classes)``.
    """
    c, h, w = _input(input_shape, "lenet5")
    if min(h, w) < 12:
        raise InvalidValueError(f"lenet5 needs images of at least 12x12, got {h}x{w}; for "
                                f"smaller images use wide_cnn (or --model wide-cnn)")
    make_act(activation)  # an unknown name fails before any weight is drawn
    init = _init(activation)
    rng = backend.rng(seed) if seed is not None else backend.rng()
    fh, fw = (h // 2 - 4) // 2, (w // 2 - 4) // 2
    return Sequential([
        Conv2D(c, 6, 5, padding=2, init=init, dtype=dtype, seed=rng), make_act(activation),
        MaxPool2D(2),
        Conv2D(6, 16, 5, init=init, dtype=dtype, seed=rng), make_act(activation),
        MaxPool2D(2),
        Flatten(),
        Dense(16 * fh * fw, 120, init=init, dtype=dtype, seed=rng), make_act(activation),
        Dense(120, 84, init=init, dtype=dtype, seed=rng), make_act(activation),
        Dense(84, classes, init=init, dtype=dtype, seed=rng), Softmax(),
    ])


def wide_cnn(dropout=0.25, dtype="float32", seed=None, input_shape=(1, 28, 28), classes=10):
    """Two 3x3 convolution blocks of 32 and 64 channels, then a 128-unit dense layer.

    Conv2D(1, 32, 3, padding=1), ReLU, MaxPool2D(2), Conv2D(32, 64, 3, padding=1), ReLU,
    MaxPool2D(2), Flatten, Dropout, Dense(3136, 128), ReLU, Dropout, Dense(128, 10),
    Softmax: 421,642 parameters for 28x28 images (3136 = 64 x 7 x 7).

    Args:
        dropout: probability of the two Dropout layers (0 leaves them out).
        dtype, seed: as for :func:`lenet5` (He initialisation throughout).
        input_shape: ``(channels, height, width)``; at least 4x4 (8x8 digits work).
        classes: number of outputs.

    Shape:
        input ``(batch, channels, height, width)``, output ``(batch, classes)``.
    """
    c, h, w = _input(input_shape, "wide_cnn")
    if min(h, w) < 4:
        raise InvalidValueError(f"wide_cnn needs images of at least 4x4, got {h}x{w}")
    rng = backend.rng(seed) if seed is not None else backend.rng()
    fh, fw = h // 4, w // 4  # padding 1 keeps 3x3 convolutions' sizes; two pools halve them

    def dropped():
        return [Dropout(dropout, seed=rng)] if dropout else []

    return Sequential([
        Conv2D(c, 32, 3, padding=1, dtype=dtype, seed=rng), make_act("relu"), MaxPool2D(2),
        Conv2D(32, 64, 3, padding=1, dtype=dtype, seed=rng), make_act("relu"), MaxPool2D(2),
        Flatten(), *dropped(),
        Dense(64 * fh * fw, 128, init="he", dtype=dtype, seed=rng), make_act("relu"),
        *dropped(),
        Dense(128, classes, init="he", dtype=dtype, seed=rng), Softmax(),
    ])
