"""Data augmentation for image batches: random shifts, rotations and noise.

A network that sees every digit a pixel or two to the side, or turned a few
degrees, learns features that do not depend on where exactly the stroke lies.
:class:`Augment` makes such variants freshly for every batch, from its own
seeded generator, so a run can be repeated and a checkpoint can resume the
very same stream of draws.
"""
import math
import numbers

import numpy as np

from .. import backend
from ..errors import DTypeError, InvalidValueError, ShapeError

__all__ = ["Augment"]


class Augment:
    """Random shifts, rotations and Gaussian noise for a batch of images.

    ``augment(X_batch)`` returns a new array of the input's shape and dtype and
    never changes ``X_batch``. Per image it draws:

    * a shift of ``dy`` pixels down and ``dx`` right, each a whole number uniform in
      ``-shift..shift``; pixels moved in from outside are 0;
    * a rotation about the image centre by an angle uniform in ``[-rotate, rotate]``
      degrees (positive turns anticlockwise as displayed, like ``np.rot90``), with
      bilinear interpolation (``order=1``) and 0 outside the image;
    * noise: every pixel gets ``N(0, noise**2)`` added;

    then clips to ``clip`` (``None`` keeps any value). The order is rotate, shift,
    noise, clip. All channels of an image move together; noise is per pixel.

    Shape:
        X: ``(batch, h*w)`` with ``image_shape=(h, w)`` (one channel, rows of pixels
        as in MNIST files), or ``(batch, channels, h, w)``, whose images carry their
        own height and width (``image_shape`` is then not used).
        Output: the same shape and dtype.

    The default ``clip=(0.0, 1.0)`` suits pixels scaled to [0, 1]; pass ``clip=None``
    for standardised data, which has negative values.

    ``seed`` is an int or a ``numpy.random.Generator``; ``None`` derives a new
    generator from chainrule's global one (``chainrule.backend.seed`` makes that
    reproducible). :meth:`state`/:meth:`set_state` save and restore the generator
    for checkpoints. ``last_shifts`` (batch, 2) and ``last_angles`` (batch,) record
    what the last call drew.
    """

    def __init__(self, image_shape=(28, 28), shift=0, rotate=0.0, noise=0.0, seed=None,
                 clip=(0.0, 1.0)):
        self.image_shape = _check_image_shape(image_shape)
        self.shift = _check_shift(shift)
        self.rotate = _check_number("rotate", rotate, 0.0, 180.0, "degrees")
        self.noise = _check_number("noise", noise, 0.0, math.inf, "standard deviation")
        self.clip = _check_clip(clip)
        # An own generator, even when seed is None: set_state must never rewind the
        # global generator that weight initialisation and shuffling draw from.
        self._rng = backend.rng(seed) if seed is not None else backend.rng().spawn(1)[0]
        self.last_shifts = np.zeros((0, 2), dtype=np.int64)
        self.last_angles = np.zeros(0)

    def __repr__(self):
        return (f"Augment(image_shape={self.image_shape}, shift={self.shift}, "
                f"rotate={self.rotate}, noise={self.noise}, clip={self.clip})")

    def __call__(self, X):
        X = np.asarray(backend.to_numpy(X))
        images = self._as_images(X)
        n = images.shape[0]
        out = images
        self.last_angles = np.zeros(n)
        self.last_shifts = np.zeros((n, 2), dtype=np.int64)
        if self.rotate > 0:
            self.last_angles = self._rng.uniform(-self.rotate, self.rotate, size=n)
            out = rotate_images(out, self.last_angles)
        if self.shift > 0:
            self.last_shifts = self._rng.integers(-self.shift, self.shift + 1, size=(n, 2))
            out = shift_images(out, self.last_shifts)
        if self.noise > 0:
            noise = self._normal(out.shape, out.dtype)
            noise *= self.noise
            noise += out
            out = noise
        if out is images:  # never write into the caller's array
            out = images.copy()
        if self.clip is not None:
            np.clip(out, *self.clip, out=out)
        return out.reshape(X.shape).astype(X.dtype, copy=False)

    # ---- generator state, for checkpoints ----------------------------------

    def state(self):
        """The generator's ``bit_generator.state``: a dict of plain ints and strings."""
        return self._rng.bit_generator.state

    def set_state(self, state):
        """Continue from a :meth:`state`; the next batches get the draws they would have."""
        kind = type(self._rng.bit_generator).__name__
        if not isinstance(state, dict) or state.get("bit_generator") != kind:
            got = state.get("bit_generator") if isinstance(state, dict) else type(state).__name__
            raise InvalidValueError(
                f"state: expected the dict returned by Augment.state() for a {kind} "
                f"generator, got {got!r}")
        try:
            self._rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError) as err:
            raise InvalidValueError(f"state: not a valid {kind} state ({err})") from None

    # ---- helpers -------------------------------------------------------------

    def _as_images(self, X):
        """A ``(batch, channels, h, w)`` view of X, after checking shape and dtype."""
        if X.dtype.kind != "f":
            raise DTypeError(
                f"X: expected floating-point pixels, got dtype {X.dtype}; scale them first, "
                "e.g. X.astype('float32') / 255")
        if X.ndim == 4:
            return X
        if X.ndim != 2:
            raise ShapeError(f"X: expected (batch, h*w) or (batch, channels, h, w), got shape "
                             f"{X.shape}")
        h, w = self.image_shape
        if X.shape[1] != h * w:
            raise ShapeError(
                f"image_shape: {self.image_shape} needs rows of {h * w} pixels, but X has shape "
                f"{X.shape}{_hint(X.shape[1])}")
        return X.reshape(X.shape[0], 1, h, w)

    def _normal(self, shape, dtype):
        """Standard normal draws, made directly in float32 when the images are float32."""
        if dtype in (np.float32, np.float64):
            return self._rng.standard_normal(shape, dtype=dtype)
        return self._rng.standard_normal(shape).astype(dtype)


# ---- the transformations (also usable on their own) ----------------------------

def shift_images(images, offsets):
    """Move image ``i`` by ``offsets[i] = (dy, dx)`` whole pixels (down, right), filling 0.

    Vectorised over the batch: pad by the largest offset, view every possible
    window with ``sliding_window_view`` (no copy) and pick one window per image
    with fancy indexing, which is the only copy made.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    n, _, h, w = images.shape
    pad = int(np.abs(offsets).max()) if offsets.size else 0
    if pad == 0:
        return images.copy()
    padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
    # out[y, x] = in[y - dy, x - dx] = padded[y - dy + pad, x - dx + pad]
    return windows[np.arange(n), :, pad - offsets[:, 0], pad - offsets[:, 1]]


# Rotation works through the batch in slices of about this many values. The
# temporaries of a whole 128x28x28 batch are large enough that the allocator hands
# them back to the operating system after every call, and the page faults of
# fetching them again cost more than the arithmetic: measured 3.7 ms per batch in
# one piece against 1.1 ms in slices of 32 images.
_CHUNK_VALUES = 32 * 28 * 28


def rotate_images(images, degrees):
    """Rotate image ``i`` by ``degrees[i]`` about its centre (anticlockwise as displayed).

    Bilinear resampling written out in NumPy and vectorised over the batch (done in
    slices of a few dozen images, see ``_CHUNK_VALUES``, never image by image):
    each output pixel looks up where it came from, ``source = centre + R(-angle)
    (pixel - centre)``, and blends the four pixels around that point. Outside the
    image counts as 0, and a point within a pixel of the edge blends with that 0,
    so this equals ``scipy.ndimage.rotate(img, angle, reshape=False, order=1,
    mode="grid-constant")`` image by image (to 1e-14 in float64), without a Python
    loop over the batch. Coordinates are computed in the images' precision.
    """
    images = np.asarray(images)
    degrees = np.broadcast_to(np.asarray(degrees, dtype=np.float64), images.shape[:1])
    step = max(1, _CHUNK_VALUES // max(1, images[0].size)) if len(images) else 1
    if len(images) <= step:
        return _rotate(images, degrees)
    out = np.empty_like(images)
    for i in range(0, len(images), step):
        out[i:i + step] = _rotate(images[i:i + step], degrees[i:i + step])
    return out


def _rotate(images, degrees):
    """rotate_images for one slice of the batch."""
    n, c, h, w = images.shape
    ftype = images.dtype if images.dtype in (np.float32, np.float64) else np.dtype(np.float32)
    theta = np.deg2rad(np.asarray(degrees, dtype=np.float64))[:, None, None]
    cos, sin = np.cos(theta).astype(ftype), np.sin(theta).astype(ftype)
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    u = (np.arange(h, dtype=ftype) - cy)[None, :, None]
    v = (np.arange(w, dtype=ftype) - cx)[None, None, :]
    # Coordinates in the image padded by one zero pixel on each side, hence the + 1.
    rows = np.empty((n, h, w), dtype=ftype)
    np.multiply(sin, v, out=rows)
    rows += cos * u
    rows += cy + 1
    cols = np.empty((n, h, w), dtype=ftype)
    np.multiply(cos, v, out=cols)
    cols -= sin * u
    cols += cx + 1
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    return _bilinear(padded, rows, cols).astype(images.dtype, copy=False)


def _bilinear(padded, rows, cols):
    """Sample padded image ``i`` at ``(rows[i], cols[i])``; its 1-pixel border must be 0.

    Points further out are clamped onto that zero border, so they read 0. Written
    with in-place operations: batches of temporaries this size are fresh pages from
    the operating system each time, and page faults cost more than the arithmetic.
    ``rows`` and ``cols`` (float, shape (n, h, w)) are overwritten.
    """
    n, c, hp, wp = padded.shape
    r0 = _floor_in(rows, hp)  # rows now holds the fraction past r0
    c0 = _floor_in(cols, wp)
    # One flat index per output pixel and channel into the contiguous padded batch:
    # np.take on a 1-D array is the fastest gather NumPy has.
    r0 *= wp
    r0 += c0
    index = r0.astype(np.intp).reshape(n, 1, rows.shape[1] * rows.shape[2])
    index = index + (np.arange(n * c, dtype=np.intp) * (hp * wp)).reshape(n, c, 1)
    flat = np.ascontiguousarray(padded).reshape(-1)
    shape = (n, c) + rows.shape[1:]
    fr, fc = rows[:, None], cols[:, None]

    def at(offset):  # flat[offset:].take(index) is flat[index + offset] without a new index
        return flat[offset:].take(index).reshape(shape)

    upper, right = at(0), at(1)
    right -= upper
    right *= fc
    upper += right  # upper-left blended with upper-right
    lower, right = at(wp), at(wp + 1)
    right -= lower
    right *= fc
    lower += right
    lower -= upper
    lower *= fr
    upper += lower  # and the two rows blended
    return upper


def _floor_in(coords, size):
    """Clamp coords to [0, size - 1], return their floor (at most size - 2) as floats and
    leave the fraction above the floor in ``coords``."""
    np.clip(coords, 0, size - 1, out=coords)
    base = np.floor(coords)
    np.minimum(base, size - 2, out=base)
    coords -= base
    return base


# ---- argument checks -----------------------------------------------------------

def _check_image_shape(image_shape):
    try:
        h, w = image_shape
        ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                 for v in (h, w))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidValueError(f"image_shape: expected (height, width) as two positive whole "
                                f"numbers, got {image_shape!r}")
    return int(h), int(w)


def _check_shift(shift):
    if isinstance(shift, bool) or not isinstance(shift, numbers.Integral) or shift < 0:
        raise InvalidValueError(f"shift: expected a whole number of pixels >= 0, got {shift!r}")
    return int(shift)


def _check_number(name, value, low, high, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not low <= value <= high or math.isnan(value):
        span = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
        raise InvalidValueError(f"{name}: expected a {what} {span}, got {value!r}")
    if math.isinf(value):
        raise InvalidValueError(f"{name}: expected a finite {what}, got {value!r}")
    return float(value)


def _check_clip(clip):
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise InvalidValueError(f"clip: expected (low, high) or None, got {clip!r}") from None
    if not low < high:
        raise InvalidValueError(f"clip: expected low < high, got {clip!r}")
    return low, high


def _hint(width):
    """A suggestion when the row width is a perfect square, e.g. 64 -> (8, 8)."""
    side = math.isqrt(width)
    return f"; pass image_shape=({side}, {side})" if side * side == width and side else ""
