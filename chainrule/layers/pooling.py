r"""Pooling: each output is the maximum or the mean of one window of its input channel."""
from .. import backend
from .base import Layer
from .im2col import (as_pair, batch_first, batch_last, check_image_shape, check_images,
                     conv_output_size, pair_config)


class _Pool2D(Layer):
    """What max and average pooling share: window and stride, shapes, config, repr.

    Both work on the batch-last ``(C, H, W, N)`` view of their input (see
    :mod:`~chainrule.layers.im2col`) one window offset at a time: ``kh*kw`` strided
    slices, each holding that offset's cell of every window, combined elementwise.
    Even when the windows tile the image this beats a reduction over the windows
    reshaped to ``(..., oh, kh, ow, kw)``: on LeNet-5's first pooling (6x28x28, batch
    128, NumPy 2.4) the reshaped ``max(axis=(3, 5))`` takes 11.5 ms (NumPy reduces two
    short strided axes slowly), four ``np.maximum`` passes 0.33 ms, and 0.14 ms in the
    batch-last layout, where every slice is made of contiguous runs of ``batch`` numbers.
    """

    op = ""

    def __init__(self, size, stride=None):
        name = type(self).__name__
        self.size = as_pair("size", size, name)
        self.stride = self.size if stride is None else as_pair("stride", stride, name)
        self._x = self._out = self._x_shape = None

    def _name(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def _out_hw(self, c, h, w):
        oh = conv_output_size(h, self.size[0], self.stride[0], 0)
        ow = conv_output_size(w, self.size[1], self.stride[1], 0)
        if oh < 1 or ow < 1:
            from ..errors import ShapeError

            raise ShapeError(f"{self._name()}: a {self.size[0]}x{self.size[1]} window does not "
                             f"fit in {c}x{h}x{w} images")
        return oh, ow

    def _overlaps(self):
        """Whether an input cell can lie in two windows (stride < size on an axis)."""
        return self.stride[0] < self.size[0] or self.stride[1] < self.size[1]

    def _covers(self, h, w, oh, ow):
        """Whether every input cell lies in some window (nothing skipped or cropped)."""
        (kh, kw), (sh, sw) = self.size, self.stride
        return (sh <= kh and sw <= kw and (oh - 1) * sh + kh == h and (ow - 1) * sw + kw == w)

    def _offsets(self, oh, ow):
        """Row-major window offsets, as the (rows, cols) slices that pick, for every
        output position, the input cell at that offset of its window."""
        (kh, kw), (sh, sw) = self.size, self.stride
        for i in range(kh):
            for j in range(kw):
                yield (slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))

    def output_shape(self, input_shape):
        """``(channels, out_h, out_w)`` for ``(channels, h, w)`` (h, w may be None)."""
        c, h, w = check_image_shape(self._name(), input_shape)
        if h is None or w is None:
            return (c, None, None)
        return (c, *self._out_hw(c, h, w))

    def output_size(self, n_in):
        return self.output_shape(n_in)

    def config(self):
        return {"size": pair_config(self.size), "stride": pair_config(self.stride)}

    def extra_repr(self):
        text = f"{pair_config(self.size)}"
        if self.stride != self.size:
            text += f", stride={pair_config(self.stride)}"
        return text

    def _combine_windows(self, x, combine):
        """``combine`` (maximum, add) over each window, one pass per offset in the window:
        the result is (channels, out_h, out_w, batch), batch last."""
        check_images(self._name(), x)
        n, c, h, w = x.shape
        oh, ow = self._out_hw(c, h, w)
        xc = batch_last(x)
        slices = [xc[:, rows, cols] for rows, cols in self._offsets(oh, ow)]
        out = slices[0].copy() if len(slices) == 1 else combine(slices[0], slices[1])
        for view in slices[2:]:
            combine(out, view, out=out)
        return out


class MaxPool2D(_Pool2D):
    r"""Maximum over each ``size`` window of each channel, windows ``stride`` apart.

    Backward: the whole gradient of a window goes to the input cell that was its
    maximum, :math:`\partial L/\partial h_{c,u,v} = \sum_{\text{windows } w \ni (u,v)}
    g_{c,w}\,[\,(u,v) = \arg\max_w h\,]`. When several cells tie for the maximum
    (a window of zeros after a ReLU, a constant image) the derivative is not defined;
    like PyTorch we pick one: the first maximum in row-major order within the window,
    so each window's gradient is routed exactly once. (An equality mask would send it
    to every tied cell, multiplying it by the number of ties.)

    Rows and columns past the last whole window are dropped (floor mode, as in
    PyTorch and ONNX) and receive no gradient.

    Args:
        size: window ``k`` or ``(kh, kw)``.
        stride: step between windows; ``None`` (default) means ``size``.

    Shape:
        input ``(batch, channels, height, width)``, output
        ``(batch, channels, floor((height - kh) / sh) + 1, floor((width - kw) / sw) + 1)``.
    """

    op = "maxpool"

    def forward(self, x, training=False):
        out = self._combine_windows(x, backend.xp.maximum)
        self._x, self._out = x, out
        return batch_first(out)

    def backward(self, grad_out):
        xp = backend.xp
        xc, out = batch_last(self._x), self._out
        c, h, w, n = xc.shape
        oh, ow = out.shape[1:3]
        g = xp.ascontiguousarray(batch_last(grad_out))
        overlap = self._overlaps()
        # Every cell is written below when the windows tile the image; else start from 0.
        fill = xp.empty if self._covers(h, w, oh, ow) and not overlap else xp.zeros
        dx = fill(xc.shape, dtype=grad_out.dtype)
        # One pass per window offset, in row-major order: a cell receives its window's
        # gradient if it equals the maximum and no earlier cell of the window did.
        free = xp.ones(out.shape, dtype=bool)  # windows whose maximum is still to be found
        for rows, cols in self._offsets(oh, ow):
            hit = xp.equal(xc[:, rows, cols], out)
            hit &= free
            free ^= hit
            if overlap:
                dx[:, rows, cols] += g * hit
            else:  # each input cell lies in one window at most: plain assignment
                xp.multiply(g, hit, out=dx[:, rows, cols])
        return batch_first(dx)


class AvgPool2D(_Pool2D):
    r"""Mean over each ``size`` window of each channel, windows ``stride`` apart.

    Backward: every cell of a window receives the window's gradient divided by the
    window area, :math:`\partial L/\partial h_{c,u,v} = \sum_{w \ni (u,v)} g_{c,w}/(k_h k_w)`.
    Rows and columns past the last whole window are dropped (floor mode) and receive 0.

    Args:
        size: window ``k`` or ``(kh, kw)``.
        stride: step between windows; ``None`` (default) means ``size``.

    Shape:
        input ``(batch, channels, height, width)``, output
        ``(batch, channels, floor((height - kh) / sh) + 1, floor((width - kw) / sw) + 1)``.
    """

    op = "avgpool"

    def forward(self, x, training=False):
        out = self._combine_windows(x, backend.xp.add)
        out *= 1.0 / (self.size[0] * self.size[1])
        self._x_shape = x.shape
        return batch_first(out)

    def backward(self, grad_out):
        xp = backend.xp
        n, c, h, w = self._x_shape
        scaled = batch_last(grad_out) * (1.0 / (self.size[0] * self.size[1]))
        oh, ow = scaled.shape[1:3]
        overlap = self._overlaps()
        fill = xp.empty if self._covers(h, w, oh, ow) and not overlap else xp.zeros
        dx = fill((c, h, w, n), dtype=grad_out.dtype)
        for rows, cols in self._offsets(oh, ow):
            if overlap:
                dx[:, rows, cols] += scaled
            else:  # each input cell lies in one window at most: plain assignment
                dx[:, rows, cols] = scaled
        return batch_first(dx)
