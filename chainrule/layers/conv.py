r"""The 2-D convolution layer: a weighted sum whose weights are shared across positions."""
import numpy as np

from .. import backend, init as initializers
from ..errors import InvalidValueError, ShapeError
from ..parameter import Parameter
from .base import Layer, explicit_values
from .im2col import (as_pair, batch_first, batch_last, check_image_shape, check_images,
                     col2im, conv_output_size, im2col, pair_config)


class Conv2D(Layer):
    r"""Convolution (cross-correlation, as in PyTorch and ONNX) of images with learned kernels.

    Output channel :math:`f` at position :math:`(y, x)` is the notes' weighted sum over
    the window the kernel covers there, with the same weights at every position:

    .. math::
        a_{f,y,x} = b_f + \sum_{c=1}^{C} \sum_{i=0}^{k_h-1} \sum_{j=0}^{k_w-1}
                    W_{f,c,i,j}\; h_{c,\, s_h y + i - p_h,\, s_w x + j - p_w}

    (:math:`h` is 0 outside the image: zero padding). Written as im2col, this is one
    matrix product per batch: ``a = W_mat @ cols + b`` with ``W_mat`` the weights as an
    ``(out_channels, in_channels*kh*kw)`` matrix and ``cols`` every window as a column
    (see :mod:`chainrule.layers.im2col`).

    Backward, for :math:`\delta = \partial L/\partial a` as a matrix ``(out_channels,
    out_h*out_w*batch)``: the same three products as a dense layer, summed over
    positions because the weights are shared,
    :math:`\partial L/\partial W = \delta\, \text{cols}^T`,
    :math:`\partial L/\partial b_f = \sum_{n,y,x} \delta_{f,n,y,x}`,
    :math:`\partial L/\partial\,\text{cols} = W^T \delta`, and col2im adds every column
    entry back onto the input pixel it was copied from (:math:`\partial L/\partial h`).

    Args:
        in_channels, out_channels: channels of the input and output images.
        kernel_size: ``k`` or ``(kh, kw)``.
        stride: step between windows, ``s`` or ``(sh, sw)``.
        padding: zeros added on each side, ``p`` or ``(ph, pw)``.
        weight, bias: explicit initial values, shapes ``(out_channels, in_channels, kh, kw)``
            and ``(out_channels,)`` (``bias`` may be a scalar); they override ``init``.
        init: initialiser name, callable or constant; ``"he"`` by default, with
            ``fan_in = in_channels*kh*kw`` and ``fan_out = out_channels*kh*kw``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        seed: int or ``numpy.random.Generator`` for the random initial weights.

    Shape:
        input ``(batch, in_channels, height, width)``, output
        ``(batch, out_channels, out_height, out_width)`` with
        ``out_height = floor((height + 2*ph - kh) / sh) + 1`` (likewise the width).
        The weight is ``(out_channels, in_channels, kh, kw)``, as in PyTorch and ONNX.
        The output is a transposed view of a ``(channels, h, w, batch)`` array (see
        :mod:`~chainrule.layers.im2col`); ``np.ascontiguousarray`` gives a plain one.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, weight=None,
                 bias=None, init="he", dtype="float32", seed=None):
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise InvalidValueError(f"Conv2D: {name} must be a positive integer, got {n!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = as_pair("kernel_size", kernel_size, "Conv2D")
        self.stride = as_pair("stride", stride, "Conv2D")
        self.padding = as_pair("padding", padding, "Conv2D", minimum=0)
        self.init = init
        dt = backend.dtype(dtype)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        if weight is None:
            w = self._draw(backend.rng(seed), dt)
        else:
            w = explicit_values(self._name(), "weight", weight, shape, dt,
                                " (out_channels, in_channels, kh, kw)")
        b = explicit_values(self._name(), "bias", 0.0 if bias is None else bias,
                            (self.out_channels,), dt, " (out_channels,)")
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(b, "bias", decay=False)
        self._x_shape = self._x = self._cols = None

    def _draw(self, rng, dt):
        kh, kw = self.kernel_size
        shape = (self.out_channels, self.in_channels, kh, kw)
        return initializers.get(self.init)(shape, self.in_channels * kh * kw,
                                           self.out_channels * kh * kw, rng, dt)

    def reset_parameters(self, rng):
        """Re-draw the weights with this layer's initialiser and zero the bias (restarts)."""
        self.weight.value[...] = self._draw(rng, self.dtype)
        self.bias.value[...] = 0

    @property
    def dtype(self):
        return self.weight.value.dtype

    def _name(self):
        return f"Conv2D({self.extra_repr()})"

    def _out_hw(self, h, w):
        return (conv_output_size(h, self.kernel_size[0], self.stride[0], self.padding[0]),
                conv_output_size(w, self.kernel_size[1], self.stride[1], self.padding[1]))

    def _check_fits(self, c, h, w):
        oh, ow = self._out_hw(h, w)
        if oh < 1 or ow < 1:
            kh, kw = self.kernel_size
            ph, pw = self.padding
            raise ShapeError(f"{self._name()}: a {kh}x{kw} kernel does not fit in {c}x{h}x{w} "
                             f"images with padding ({ph}, {pw}); images must be at least "
                             f"{max(kh - 2 * ph, 1)}x{max(kw - 2 * pw, 1)}")
        return oh, ow

    # ---- forward: one matrix product; backward right under it -----------------------
    def forward(self, x, training=False):
        check_images(self._name(), x, self.in_channels)
        if x.dtype != self.dtype:
            backend.check_same_dtype(f"{self._name()} input", self.dtype, x.dtype)
        n, c, h, w = x.shape
        oh, ow = self._check_fits(c, h, w)
        cols, _ = im2col(batch_last(x), self.kernel_size, self.stride, self.padding)
        out = self.weight.value.reshape(self.out_channels, -1) @ cols  # (F, oh*ow*N)
        # The bias is added in one pass over the (out_channels, positions) product. Folding
        # it into the product (a row of ones in cols, a bias column in W_mat) measured no
        # faster: the ones row costs as much as the add it saves.
        out += self.bias.value[:, None]
        self._x = x
        self._x_shape = x.shape
        # The columns are kept for dW only in training; evaluation (predict, on batches of
        # 1024) does not hold on to them. A backward after an evaluation forward rebuilds them.
        self._cols = cols if training else None
        return batch_first(out.reshape(self.out_channels, oh, ow, n))

    def backward(self, grad_out):
        delta = self.backward_params(grad_out)
        # dL/dcols = W^T delta, then col2im sums each entry back onto its input pixel.
        n, c, h, w = self._x_shape
        dcols = self.weight.value.reshape(self.out_channels, -1).T @ delta
        dx = col2im(dcols, (c, h, w, n), self.kernel_size, self.stride, self.padding)
        return batch_first(dx)

    def backward_params(self, grad_out):
        """dL/dW and dL/db only (the bottom layer in training: its input needs no gradient).

        Returns delta as the ``(out_channels, out_h*out_w*batch)`` matrix.
        """
        f = self.out_channels
        cols = self._cols
        if cols is None:
            cols, _ = im2col(batch_last(self._x), self.kernel_size, self.stride, self.padding)
        delta = batch_last(grad_out).reshape(f, -1)  # a view when it comes in our layout
        # dL/dW = delta cols^T: one matrix product over every position of every image.
        # These products are memory-bound (a long inner dimension, a small result); OpenBLAS
        # runs them faster with the larger of (out_channels, in_channels*kh*kw) as the rows
        # of the result: 1.6 vs 2.3 ms for LeNet's first layer, 2.7 vs 3.2 ms the other way
        # round for a 1->32 3x3 layer (batch 128, one thread).
        if self.needs_gradient(self.weight):
            dw = (cols @ delta.T).T if cols.shape[0] >= f else delta @ cols.T
            backend.xp.copyto(self.weight.grad, dw.reshape(self.weight.grad.shape))
        if self.needs_gradient(self.bias):
            delta.sum(axis=1, out=self.bias.grad)
        return delta

    def parameters(self):
        return [self.weight, self.bias]

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": pair_config(self.kernel_size), "stride": pair_config(self.stride),
                "padding": pair_config(self.padding)}

    def output_shape(self, input_shape):
        """``(out_channels, out_h, out_w)`` for ``(channels, h, w)`` (h, w may be None)."""
        c, h, w = check_image_shape(self._name(), input_shape, self.in_channels)
        if h is None or w is None:
            return (self.out_channels, None, None)
        return (self.out_channels, *self._check_fits(c, h, w))

    def output_size(self, n_in):
        return self.output_shape(n_in)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, "
                f"kernel_size={pair_config(self.kernel_size)}")
        if self.stride != (1, 1):
            text += f", stride={pair_config(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={pair_config(self.padding)}"
        return text
