r"""im2col and col2im: a convolution as one matrix product, and its transpose.

A convolution slides a ``kh x kw`` kernel over every input channel. Copying every
window a kernel sees into one column turns the whole layer into a single matrix
product ``W_mat @ cols`` with

* ``W_mat``: ``(out_channels, in_channels*kh*kw)``, the weights reshaped (no copy:
  the PyTorch/ONNX layout ``(out_channels, in_channels, kh, kw)`` is already row-major
  in that order);
* ``cols``: ``(in_channels*kh*kw, out_h*out_w*batch)``: row ``(c, i, j)`` holds input
  channel ``c`` shifted by the kernel offset ``(i, j)``, for every output position of
  every image.

Memory layout. Arrays handed between image layers have the logical shape
``(batch, channels, height, width)`` of the notes and of PyTorch, but inside, image
layers keep the batch as the *last*, fastest-varying axis: ``(channels, height, width,
batch)`` in memory (the layout of cuda-convnet). The product ``W_mat @ cols`` produces
exactly that, and every slice the layers take (a kernel offset, a pooling window
offset) then reads and writes contiguous runs of ``width*batch`` or ``batch`` numbers
instead of a few pixels, which SIMD loops need. Conv and pooling layers therefore
return a transposed *view* (:func:`batch_first`) of a ``(C, H, W, N)`` array: any
consumer sees the usual shape and NumPy follows the strides. Flatten, the one place
where the order of the numbers matters, copies into row-major ``(batch, c*h*w)``.

Measured with NumPy 2.4 / OpenBLAS on one thread, batch 128, for LeNet-5's two
convolutions (1->6 5x5 on 28x28 padded by 2; 6->16 5x5 on 14x14):

============================================  =============  =============
                                              conv 1         conv 2
============================================  =============  =============
im2col, one copy of the strided view          1.1 ms         0.6 ms
col2im, kh*kw slice-adds, (C, H, W, N)        1.1 ms         1.5 ms
col2im, kh*kw slice-adds, (C, N, H, W)        2.0 ms         3.2 ms
col2im, ``np.add.at``, flat indices           3.7 ms         3.0 ms
============================================  =============  =============

so col2im loops over the kernel offsets in the batch-last layout (``np.add.at``, much
faster in NumPy 2 than it was, still loses, and needs an index array as large as
``cols``). Folding the bias into the product (a row of ones in ``cols``) saved under
0.05 ms a layer, less than the ones row costs to write, so the bias is one add.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import backend


def conv_output_size(size, kernel, stride, padding):
    """Output length along one axis: ``floor((size + 2*padding - kernel) / stride) + 1``.

    The last partial window, if any, is dropped (PyTorch's and ONNX's default floor mode).
    Returns a value below 1 when the kernel does not fit.
    """
    return (size + 2 * padding - kernel) // stride + 1


def batch_last(x):
    """The ``(channels, height, width, batch)`` view of a ``(batch, channels, h, w)`` array."""
    return x.transpose(1, 2, 3, 0)


def batch_first(xc):
    """The ``(batch, channels, height, width)`` view of a ``(channels, h, w, batch)`` array."""
    return xc.transpose(3, 0, 1, 2)


def pad(xc, padding):
    """``xc`` ``(C, H, W, N)`` with ``padding = (ph, pw)`` zero rows and columns around
    each image, as a C-contiguous array (``xc`` itself when it already is one and there
    is nothing to pad)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return backend.xp.ascontiguousarray(xc)
    c, h, w, n = xc.shape
    out = backend.xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=xc.dtype)
    out[:, ph:ph + h, pw:pw + w] = xc
    return out


def windows(xp, kernel, stride, out_hw):
    """Strided view ``(C, kh, kw, out_h, out_w, N)`` of the padded ``xp`` ``(C, Hp, Wp, N)``.

    Element ``[c, i, j, y, x, n]`` is ``xp[c, y*sh + i, x*sw + j, n]``: what kernel
    weight ``(c, i, j)`` multiplies for output position ``(y, x)`` of image ``n``.
    No data is copied.
    """
    (sh, sw), (oh, ow) = stride, out_hw
    view = sliding_window_view(xp, kernel, axis=(1, 2))  # (C, Hp-kh+1, Wp-kw+1, N, kh, kw)
    view = view[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw]  # every stride-th window
    return view.transpose(0, 4, 5, 1, 2, 3)


def im2col(xc, kernel, stride, padding):
    """The columns ``(C*kh*kw, out_h*out_w*N)`` of ``xc`` ``(C, H, W, N)``, and (out_h, out_w).

    One copy of a strided view: with the padding, the only data movement of the
    forward pass.
    """
    c, h, w, n = xc.shape
    out_hw = (conv_output_size(h, kernel[0], stride[0], padding[0]),
              conv_output_size(w, kernel[1], stride[1], padding[1]))
    view = windows(pad(xc, padding), kernel, stride, out_hw)
    cols = backend.xp.empty(view.shape, dtype=xc.dtype)
    backend.xp.copyto(cols, view)
    return cols.reshape(c * kernel[0] * kernel[1], out_hw[0] * out_hw[1] * n), out_hw


def col2im(dcols, x_shape, kernel, stride, padding):
    """The adjoint of :func:`im2col`: sum each column entry back onto the input cell it came from.

    ``dcols`` is ``(C*kh*kw, out_h*out_w*N)``; ``x_shape`` the ``(C, H, W, N)`` shape of
    the input. A cell covered by several windows (stride < kernel) receives the sum of
    their gradients; one covered by none (the border a large stride skips) receives 0.
    Returns ``(C, H, W, N)`` (a view into the padded buffer when ``padding`` is non-zero).

    A loop over the ``kh*kw`` kernel offsets, one strided slice-add each (no per-sample
    loop): faster here than ``np.add.at`` (see the module docstring).
    """
    c, h, w, n = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh = conv_output_size(h, kh, sh, ph)
    ow = conv_output_size(w, kw, sw, pw)
    d = dcols.reshape(c, kh, kw, oh, ow, n)
    dxp = backend.xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=dcols.dtype)
    for i in range(kh):
        rows = slice(i, i + (oh - 1) * sh + 1, sh)
        for j in range(kw):
            dxp[:, rows, j:j + (ow - 1) * sw + 1:sw] += d[:, i, j]
    if ph == 0 and pw == 0:
        return dxp
    return dxp[:, ph:ph + h, pw:pw + w]


def as_pair(name, value, layer, minimum=1):
    """``value`` as an ``(int, int)`` pair: an int is used for both axes."""
    from ..errors import InvalidValueError

    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                             or v < minimum for v in pair):
        kind = "positive" if minimum >= 1 else "non-negative"
        raise InvalidValueError(f"{layer}: {name} must be a {kind} integer or a pair of them, "
                                f"got {value!r}")
    return int(pair[0]), int(pair[1])


def pair_config(pair):
    """A pair as stored in configs and shown in repr: one int when both axes agree."""
    return pair[0] if pair[0] == pair[1] else list(pair)


def check_images(layer, x, channels=None):
    """Raise ShapeError unless ``x`` is a ``(batch, channels, height, width)`` array."""
    from ..errors import ShapeError

    want = f"(batch, {channels}, height, width)" if channels else "(batch, channels, height, width)"
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        hint = ""
        if x.ndim == 2:
            hint = ("; rows of pixels must be reshaped to images first, e.g. "
                    "X.reshape(-1, 1, 28, 28)")
        raise ShapeError(f"{layer} expects input of shape {want}, got {tuple(x.shape)}{hint}")


def check_image_shape(layer, input_shape, channels=None):
    """The ``(channels, height, width)`` tuple a layer receives, or a ShapeError naming it.

    ``height``/``width`` may be None (not known yet). An int means flat features.
    """
    from ..errors import ShapeError

    if isinstance(input_shape, (int, np.integer)) or len(input_shape) != 3:
        what = (f"{input_shape} flat features" if isinstance(input_shape, (int, np.integer))
                else f"shape {tuple(input_shape)}")
        raise ShapeError(f"{layer} takes images (channels, height, width) but follows a layer "
                         f"with {what}")
    c, h, w = input_shape
    if channels is not None and c != channels:
        raise ShapeError(f"{layer} expects {channels} input channels but follows a layer with "
                         f"{c} output channels")
    return c, h, w
