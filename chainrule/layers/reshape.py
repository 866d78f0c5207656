"""Flatten: images to rows of features, the bridge from convolutions to dense layers."""
import math
import numbers

from .base import Layer


class Flatten(Layer):
    """Each example's array as one row: ``(batch, channels, height, width)`` -> ``(batch, c*h*w)``.

    The order is row-major over ``(channels, height, width)``, as in PyTorch's
    ``nn.Flatten`` and ONNX's ``Flatten(axis=1)``, so weights of a following dense layer
    carry over between the three. Backward is the inverse reshape: nothing is computed.

    Shape:
        input ``(batch, channels, height, width)`` (or any ``(batch, ...)``), output
        ``(batch, channels*height*width)``. A view where NumPy can make one: for the
        batch-last layout conv and pooling layers return it is a transposed (Fortran-
        ordered) matrix, which the next dense layer's matrix product takes as it is.
    """

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)

    def output_shape(self, input_shape):
        """The number of features: the product of ``input_shape`` (None if a size is unknown)."""
        if isinstance(input_shape, numbers.Integral):
            return input_shape
        if any(s is None for s in input_shape):
            return None
        return math.prod(input_shape)

    def output_size(self, n_in):
        return self.output_shape(n_in)
