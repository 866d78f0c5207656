"""Sequential networks: forward through the layers, backward through them in reverse."""
import copy

import numpy as np

from . import backend
from .errors import DTypeError, InvalidValueError, ShapeError
from .flat import is_packed, pack
from .layers import BatchNorm, Dense, Dropout, Layer, activation as make_activation
from .layers.activations import NAMES


# ---- shapes through a network (sizes, input checks, repr) ----------------------------------
# A shape is an int (features of a flat row) or a tuple (channels, height, width) of images,
# whose height and width may be None while no layer fixes them.

def _is_image_layer(layer):
    from .layers import AvgPool2D, Conv2D, Flatten, MaxPool2D

    return isinstance(layer, (Conv2D, MaxPool2D, AvgPool2D, Flatten))


def _output_shape(layer, shape, index):
    """What ``layer`` (number ``index``) gives for inputs of ``shape``; ShapeError if it cannot."""
    if shape is None:  # a width nothing fixed yet: a dense layer fixes it, the rest keep it
        return layer.n_out if isinstance(layer, Dense) else (
            layer.n if isinstance(layer, BatchNorm) else None)
    if isinstance(shape, tuple) and isinstance(layer, (Dense, BatchNorm)):
        raise ShapeError(f"layer {index} {layer!r} takes rows of features but receives images "
                         f"of shape {_format_shape(shape)} (channels x height x width); put a "
                         f"Flatten() before it")
    if hasattr(layer, "output_shape"):
        return layer.output_shape(shape)
    return layer.output_size(shape)


def _shapes(layers, shape, start=0):
    """The output shape of every layer from ``start`` on, for input ``shape``."""
    shapes = []
    for i, layer in enumerate(layers[start:], start):
        shape = _output_shape(layer, shape, i)
        shapes.append(shape)
    return shapes


def _input_anchor(layers):
    """(index, layer) of the first layer with a fixed input: a Dense or a Conv2D."""
    from .layers import Conv2D

    for i, layer in enumerate(layers):
        if isinstance(layer, Conv2D) or getattr(layer, "n_in", None) is not None:
            return i, layer
    return None, None


def _image_size(layers, start, channels):
    """The smallest (height, width) the layers from ``start`` on accept, or (None, None).

    A convolution takes images of any size; what fixes the size is the first Dense
    layer after the Flatten, which needs an exact number of features. Feature counts
    never decrease as images grow (each conv/pool output size is a floor of a linear
    function of the input size), so a binary search finds the smallest square that
    fits, then, failing that, the smallest height with a width that does. Several
    sizes can fit (28x28 and 29x29 both give LeNet-5 400 features: pooling drops the
    odd row); the smallest is the one shown, and ``prepare_inputs`` checks real data
    by running its own size through every layer.
    """
    dense = next((i for i in range(start, len(layers)) if isinstance(layers[i], Dense)), None)
    shape = (channels, None, None)
    shapes = _shapes(layers[:dense], shape, start)  # channel and Flatten errors, size-free
    if dense is None:
        return None, None
    if shapes and isinstance(shapes[-1], tuple):
        _output_shape(layers[dense], shapes[-1], dense)  # raises: a Flatten is missing
    target = layers[dense].n_in

    def features(h, w):
        try:
            return _shapes(layers[:dense], (channels, h, w), start)[-1]
        except ShapeError:  # the kernels or windows do not fit in such small images
            return 0

    def smallest(lo, hi, f):  # smallest x in [lo, hi] with f(x) >= target, else None
        if f(hi) < target:
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if f(mid) < target else (lo, mid)
        return lo

    limit = 1 << 16
    side = smallest(1, limit, lambda h: features(h, h))
    if side is not None and features(side, side) == target:
        return side, side
    for h in range(1, 513):
        w = smallest(1, limit, lambda w: features(h, w))
        if w is not None and features(h, w) == target:
            return h, w
    near = "" if side is None else (f"; {side}x{side} images give {features(side, side)} and "
                                    f"{side - 1}x{side - 1} give {features(side - 1, side - 1)}")
    raise ShapeError(f"layer {dense} {layers[dense]!r} needs {target} features, but no image "
                     f"size makes the layers before it produce that many{near}")


def _format_shape(shape):
    """``784`` or ``1x28x28`` (``?`` for a size not fixed by any layer)."""
    if isinstance(shape, tuple):
        return "x".join("?" if s is None else str(s) for s in shape)
    return "?" if shape is None else str(shape)


class Sequential:
    """A stack of layers, each feeding the next.

    ``forward`` runs the layers in order and ``backward`` runs their ``backward`` in
    reverse, passing each the gradient the one above returned: the chain rule, layer
    by layer. Parameters are named ``"<layer index>.<name>"`` (``"0.weight"``).

    The network keeps every parameter value in one vector and every gradient in
    another: ``p.value`` and ``p.grad`` are views of their slices (so an optimiser can
    update them all in one pass). Building a network moves its layers' arrays there;
    an array taken from a layer before that is a stale copy.

    Shape:
        input ``(batch, n_in)``, output ``(batch, n_out)``.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise InvalidValueError("Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is {layer!r}, not a chainrule layer")
        self.layers = layers
        self.metadata = {}  # user data stored with the model file (dataset, classes...)
        self.sizes = self._check_sizes()
        self._check_dtypes()
        pack(self.parameters())

    def __setstate__(self, state):  # copies and unpickled networks are packed again
        self.__dict__.update(state)
        if not is_packed(self.parameters()):  # (a copy may share the parameters)
            pack(self.parameters())

    def _check_sizes(self):
        """The sizes of the layers of units: the input, then after each Conv2D and Dense layer.

        An MLP gives widths ``[n_in, n1, ..., n_out]``. A network whose first layer with
        a fixed input is a Conv2D takes images, and its sizes are (channels, height,
        width) shapes until the Flatten, then widths: LeNet-5 gives
        ``[(1, 28, 28), (6, 28, 28), (16, 10, 10), 120, 84, 10]``, the image size being
        the smallest the first Dense layer after the Flatten accepts (height and width
        are None when no dense layer fixes them).

        Every layer from that first one on checks the shape it receives (``output_shape``
        or ``output_size`` raises ShapeError), so a mismatch fails here, not later.
        """
        from .layers import Conv2D

        start, first = _input_anchor(self.layers)
        if first is None:
            return []
        if isinstance(first, Conv2D):
            shape = (first.in_channels, *_image_size(self.layers, start, first.in_channels))
        else:
            shape = first.n_in
        sizes = [shape]
        for layer, out in zip(self.layers[start:], _shapes(self.layers, shape, start)):
            if isinstance(layer, (Conv2D, Dense)):
                sizes.append(out)
        return sizes

    def _check_dtypes(self):
        dtypes = {p.value.dtype for p in self.parameters()}
        if len(dtypes) > 1:
            raise DTypeError(f"Sequential: layers mix {sorted(map(str, dtypes))}; build every "
                             f"layer with the same dtype= or convert with net.astype(...)")

    # ---- the two passes -------------------------------------------------------------
    def forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad, start=None, input_grad=True):
        """Backpropagate ``grad`` = dL/d(output of layer ``start - 1``) down to the input.

        Returns dL/dX; with ``input_grad=False`` (training) the bottom layer stores its
        parameter gradients only and None is returned.
        """
        stop = len(self.layers) if start is None else start
        layers = self.layers[:stop]
        if not layers:
            return grad
        for layer in reversed(layers[1:]):
            grad = layer.backward(grad)
        if not input_grad:
            layers[0].backward_params(grad)
            return None
        return layers[0].backward(grad)

    def compute_gradients(self, loss, x, target, penalty=None):
        """One forward and backward pass; returns the loss (with penalties) and the outputs.

        ``target`` must come from ``loss.prepare_target``. Where the loss fuses with the
        output activation, the gradient (p - y)/m enters just below that activation.
        ``penalty`` is one weight penalty (``cr.L2(0.1)``) or a sequence of them.
        """
        out = self.forward(x, training=True)
        head = self.layers[-1]
        if loss.fuses_with is not None and type(head) is loss.fuses_with:
            value = loss.fused_forward(head.logits, out, target)
            self.backward(loss.fused_backward(), start=len(self.layers) - 1, input_grad=False)
        else:
            value = loss._forward(out, target)
            self.backward(loss.backward(), input_grad=False)
        if penalty is not None:
            for term in (penalty if isinstance(penalty, (list, tuple)) else (penalty,)):
                params = term.select(self)
                value += term.value(params, len(x))
                term.add_grad(params, len(x))
        return value, out

    # ---- parameters and conversion --------------------------------------------------
    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self):
        return [(f"{i}.{p.name}", p) for i, layer in enumerate(self.layers)
                for p in layer.parameters()]

    @property
    def dtype(self):
        params = self.parameters()
        return params[0].value.dtype if params else backend.dtype()

    @property
    def n_in(self):
        """Input features (an int), or the (channels, height, width) of input images."""
        return self.sizes[0] if self.sizes else None

    @property
    def n_out(self):
        """Output features (an int); a shape for a network that ends in image layers."""
        return self.sizes[-1] if self.sizes else None

    def astype(self, dtype):
        """A copy of the network with every parameter and buffer in ``dtype``.

        The original is unchanged. Buffers (BatchNorm's running statistics) convert too:
        evaluation mixes them with the inputs, and mixing precisions is an error.
        """
        dt = backend.dtype(dtype)
        clone = copy.deepcopy(self)
        for p in clone.parameters():
            p.value = p.value.astype(dt)
            p.grad = backend.xp.zeros_like(p.value)
        for layer in clone.layers:
            for name, value in layer.buffers().items():
                layer.set_buffer(name, value.astype(dt))
        pack(clone.parameters())
        return clone

    # ---- data at the boundary -------------------------------------------------------
    def prepare_inputs(self, X, what="X"):
        """Validate user data once and convert it to the network's dtype.

        An MLP takes ``(samples, n_in)``. A network that starts with a Conv2D takes images
        ``(samples, channels, height, width)``; rows of ``channels*height*width`` pixels
        in row-major order (as IDX and CSV files hold them) are reshaped to the image
        size the network was built for. Images of another size are accepted when every
        layer takes them (LeNet-5's 28x28 also takes 29x29); otherwise the error names
        the layer. A network that starts with Flatten before its first Dense layer also
        takes ``(samples, ...)`` arrays of ``n_in`` numbers per sample.
        """
        try:
            arr = np.asarray(backend.to_numpy(X) if not isinstance(X, np.ndarray) else X)
        except ValueError as e:  # a ragged nested list
            raise ShapeError(f"{what} is not a rectangular array: every sample must have the "
                             f"same number of values ({e})") from None
        if arr.dtype.kind not in "biuf":
            raise InvalidValueError(f"{what} must be numeric, got dtype {arr.dtype}")
        if isinstance(self.n_in, tuple):
            arr = self._prepare_images(arr, what)
        else:
            if arr.ndim == 1 and self.n_in == 1:
                arr = arr.reshape(-1, 1)
            if arr.ndim > 2 and self.n_in is not None and self._flattens_input():
                if int(np.prod(arr.shape[1:])) != self.n_in:
                    raise ShapeError(f"{what} has {int(np.prod(arr.shape[1:]))} numbers per "
                                     f"sample {arr.shape[1:]} but the first Dense layer "
                                     f"expects {self.n_in} after Flatten")
            elif arr.ndim != 2:
                raise ShapeError(f"{what} must have shape (samples, {self.n_in}), "
                                 f"got {arr.shape}")
            elif len(arr) and self.n_in is not None and arr.shape[1] != self.n_in:
                raise ShapeError(f"{what} has {arr.shape[1]} features but the first layer "
                                 f"expects {self.n_in}")
        if len(arr) == 0:
            raise InvalidValueError(f"{what} is empty: no samples to work on")
        if arr.dtype.kind == "f" and not _all_finite(arr):
            rows = np.unique(np.nonzero(~np.isfinite(arr))[0])
            raise InvalidValueError(f"{what} contains NaN or inf (rows {rows[:5].tolist()}"
                                    f"{'...' if len(rows) > 5 else ''}); clean or impute them first")
        return backend.asarray(arr, self.dtype)

    def _flattens_input(self):
        from .layers import Flatten

        start, _ = _input_anchor(self.layers)
        return any(isinstance(layer, Flatten) for layer in self.layers[:start])

    def _prepare_images(self, arr, what):
        """``arr`` as ``(samples, channels, height, width)`` images this network takes."""
        c, h, w = self.n_in
        expected = f"(samples, {_format_shape(self.n_in).replace('x', ', ')})"
        if arr.ndim == 2 and h is not None and arr.shape[1] == c * h * w:
            arr = arr.reshape(-1, c, h, w)
        if arr.ndim != 4:
            flat = f" or rows of {c * h * w} pixels" if h is not None else ""
            raise ShapeError(f"{what} must be images of shape {expected}{flat}, got {arr.shape}")
        if arr.shape[1] != c:
            raise ShapeError(f"{what} has {arr.shape[1]} channels (shape {arr.shape}) but the "
                             f"first layer {self.layers[_input_anchor(self.layers)[0]]!r} "
                             f"expects {c}")
        if h is not None and arr.shape[2:] != (h, w):
            start, _ = _input_anchor(self.layers)
            try:
                _shapes(self.layers, tuple(arr.shape[1:]), start)
            except ShapeError as exc:
                raise ShapeError(f"{what} has {arr.shape[2]}x{arr.shape[3]} images but this "
                                 f"network takes {h}x{w}: {exc}") from None
        return arr

    def predict(self, X, batch_size=1024):
        """Outputs in evaluation mode, computed ``batch_size`` rows at a time.

        Outputs that overflow (inf/NaN from finite inputs) are an error, never returned.
        """
        X = self.prepare_inputs(X)
        outs = [self.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        out = outs[0] if len(outs) == 1 else backend.xp.concatenate(outs)
        if not _all_finite(out):
            raise InvalidValueError(f"the outputs overflowed {out.dtype} (inf or NaN) for finite "
                                    f"inputs: the inputs or weights are far too large; scale the "
                                    f"inputs (e.g. chainrule.data.standardize) and retrain")
        return out

    def evaluate(self, X, y, metrics=("accuracy",), loss=None):
        """A dict of metric name -> value on (X, y); ``loss`` adds its mean value."""
        from . import losses as losses_, metrics as metrics_

        pred = self.predict(X)
        if len(pred) != len(y):
            raise ShapeError(f"X has {len(pred)} samples but y has {len(y)}")
        results = {}
        if loss is not None:
            loss = losses_.get(loss)
            results["loss"] = loss.forward(pred, y)
        if isinstance(metrics, str):
            metrics = (metrics,)
        for name in metrics:
            results[name] = float(metrics_.get(name)(backend.to_numpy(y), backend.to_numpy(pred)))
        return results

    # ---- training and files (implemented in their own packages) -----------------------
    def fit(self, X, y, loss=None, optimizer=None, epochs=1, batch_size=None, shuffle=True,
            seed=None, validation_data=None, callbacks=(), resume=None, parallel=None, **options):
        """Train with backpropagation; see :func:`chainrule.training.fit`."""
        from .training import fit

        return fit(self, X, y, loss=loss, optimizer=optimizer, epochs=epochs,
                   batch_size=batch_size, shuffle=shuffle, seed=seed,
                   validation_data=validation_data, callbacks=callbacks, resume=resume,
                   parallel=parallel, **options)

    def save(self, path, metadata=None, checkpoint=None):
        """Write the network to one ``.safetensors`` file (see :mod:`chainrule.io`)."""
        from .io import save

        save(self, path, metadata=metadata, checkpoint=checkpoint)

    def to_onnx(self, path):
        """Write the evaluation-mode network to ``path`` as ONNX (needs ``chainrule[onnx]``).

        See :func:`chainrule.io.onnx_export.export_onnx`; returns the ONNX ModelProto.
        """
        from .io.onnx_export import export_onnx

        return export_onnx(self, path)

    # ---- printing -------------------------------------------------------------------
    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __repr__(self):
        """The architecture in the notes' notation: a_l = W_l h_(l-1) + b_l, h_l = g(a_l).

        Dropout and BatchNorm act on whichever signal they follow (``a_l`` after a Dense
        layer, ``h_l`` after an activation) and are written as a function of it. A network
        with image layers also shows each layer's output shape, and writes a convolution
        ``a_l = W_l * h_(l-1) + b_l`` (``*``: cross-correlation, as in PyTorch).
        """
        from .layers import AvgPool2D, BatchNorm, Conv2D, Dropout, Flatten, MaxPool2D

        params = self.parameters()
        total = sum(p.value.size for p in params)
        trainable = sum(p.value.size for p in params if p.trainable)
        shape = "-".join(map(_format_shape, self.sizes)) if self.sizes else "?"
        lines = [f"Sequential {shape} ({total} parameters, {trainable} trainable, "
                 f"{self.dtype}) ("]
        images = any(_is_image_layer(layer) for layer in self.layers)
        outputs = [None] * len(self.layers)
        if images and self.sizes:
            start, _ = _input_anchor(self.layers)
            outputs[start:] = _shapes(self.layers, self.sizes[0], start)
        level, signal = 0, "h0"
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                level += 1
                signal = f"a{level}"
                frozen = " (frozen)" if not layer.bias.trainable else ""
                note = (f"a{level} = W{level} h{level - 1} + b{level}   "
                        f"W{level}: {layer.n_out}x{layer.n_in}, b{level}: {layer.n_out}{frozen}")
            elif isinstance(layer, Conv2D):
                level += 1
                signal = f"a{level}"
                kernel = "x".join(map(str, layer.weight.shape))
                note = (f"a{level} = W{level} * h{level - 1} + b{level}   "
                        f"W{level}: {kernel}, b{level}: {layer.out_channels}")
            elif type(layer) in NAMES:
                signal = f"h{level}"
                note = f"h{level} = {NAMES[type(layer)]}(a{level})"
            elif isinstance(layer, Dropout):
                note = f"{signal} = dropout({signal}, p={layer.p})"
            elif isinstance(layer, BatchNorm):
                note = f"{signal} = BN({signal})   gamma, beta: {layer.n}"
            elif isinstance(layer, (MaxPool2D, AvgPool2D)):
                note = f"{signal} = {layer.op}({signal})"
            elif isinstance(layer, Flatten):
                note = f"{signal} = flatten({signal})"
            else:
                note = ""
            if images:
                out = "" if outputs[i] is None else f"-> {_format_shape(outputs[i])}"
                index = f"({i})"
                lines.append(f"  {index:<4} {layer!r:<40} {out:<13} {note}".rstrip())
            else:
                lines.append(f"  ({i}) {layer!r:<32} {note}".rstrip())
        lines.append(")")
        return "\n".join(lines)


def _all_finite(arr, rows=4096):
    """np.isfinite(arr).all() without a boolean copy of a whole data set.

    A sum is finite only if every term is (inf and NaN never cancel), and it is one
    fast pass; only when it is not (NaN, inf, or finite numbers whose sum overflowed)
    are the rows looked at, in blocks.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf + -inf: NaN, as it should
        if np.isfinite(arr.sum()):
            return True
    return all(np.isfinite(arr[i:i + rows]).all() for i in range(0, len(arr), rows))


def mlp(sizes, activation="relu", output="softmax", init=None, dtype="float32", seed=None,
        train_bias=True, dropout=0.0, batchnorm=False):
    """A fully connected network from layer sizes: ``mlp([784, 256, 10])``.

    ``activation`` goes after every hidden layer, ``output`` after the last one
    (``"softmax"``, ``"sigmoid"``, ``"identity"`` or None). ``init`` defaults to He for
    (leaky) ReLU and Xavier otherwise. One generator seeded by ``seed`` draws every weight
    (and the dropout masks). Each hidden layer is Dense, then BatchNorm when ``batchnorm``,
    then the activation, then Dropout(``dropout``) when it is above 0.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise InvalidValueError(f"mlp needs at least an input and an output size, got {sizes}")
    hidden_name = activation if isinstance(activation, str) else type(activation).__name__.lower()
    make_activation(hidden_name)  # fail early on an unknown name
    if init is None:
        init = "he" if hidden_name in ("relu", "leaky_relu") else "xavier"
    rng = backend.rng(seed) if seed is not None else backend.rng()
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, init=init, dtype=dtype, seed=rng, train_bias=train_bias))
        if batchnorm and not last:
            layers.append(BatchNorm(n_out, dtype=dtype))
        name = output if last else hidden_name
        if name is not None:
            layers.append(make_activation(name))
        if dropout and not last:
            layers.append(Dropout(dropout, seed=rng))
    return Sequential(layers)
