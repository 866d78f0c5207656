"""Sequential networks: forward through the layers, backward through them in reverse."""
import copy

import numpy as np

from . import backend
from .errors import DTypeError, InvalidValueError, ShapeError
from .layers import BatchNorm, Dense, Dropout, Layer, activation as make_activation
from .layers.activations import NAMES


class Sequential:
    """A stack of layers, each feeding the next.

    ``forward`` runs the layers in order and ``backward`` runs their ``backward`` in
    reverse, passing each the gradient the one above returned: the chain rule, layer
    by layer. Parameters are named ``"<layer index>.<name>"`` (``"0.weight"``).

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

    def _check_sizes(self):
        """The number of features after each Dense layer: [n_in, n1, ..., n_out].

        Every layer after the first one with a fixed input width checks the width it
        receives (``output_size`` raises ShapeError), so a mismatch fails here, not later.
        """
        sizes, width = [], None
        for layer in self.layers:
            if width is None and getattr(layer, "n_in", None) is not None:
                width = layer.n_in
                sizes.append(width)
            if width is not None:
                width = layer.output_size(width)
                if isinstance(layer, Dense):
                    sizes.append(width)
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
        return self.sizes[0] if self.sizes else None

    @property
    def n_out(self):
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
        return clone

    # ---- data at the boundary -------------------------------------------------------
    def prepare_inputs(self, X, what="X"):
        """Validate user data once and convert it to the network's dtype."""
        arr = backend.to_numpy(X) if not isinstance(X, np.ndarray) else X
        arr = np.asarray(arr)
        if arr.dtype.kind not in "biuf":
            raise InvalidValueError(f"{what} must be numeric, got dtype {arr.dtype}")
        if arr.ndim == 1 and self.n_in == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ShapeError(f"{what} must have shape (samples, {self.n_in}), got {arr.shape}")
        if len(arr) == 0:
            raise InvalidValueError(f"{what} is empty: no samples to work on")
        if self.n_in is not None and arr.shape[1] != self.n_in:
            raise ShapeError(f"{what} has {arr.shape[1]} features but the first layer expects "
                             f"{self.n_in}")
        if not np.all(np.isfinite(arr)):
            rows = np.unique(np.nonzero(~np.isfinite(arr))[0])
            raise InvalidValueError(f"{what} contains NaN or inf (rows {rows[:5].tolist()}"
                                    f"{'...' if len(rows) > 5 else ''}); clean or impute them first")
        return backend.asarray(arr, self.dtype)

    def predict(self, X, batch_size=1024):
        """Outputs in evaluation mode, computed ``batch_size`` rows at a time."""
        X = self.prepare_inputs(X)
        outs = [self.forward(X[i:i + batch_size]) for i in range(0, len(X), batch_size)]
        return outs[0] if len(outs) == 1 else backend.xp.concatenate(outs)

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
        layer, ``h_l`` after an activation) and are written as a function of it.
        """
        from .layers import BatchNorm, Dropout

        params = self.parameters()
        total = sum(p.value.size for p in params)
        trainable = sum(p.value.size for p in params if p.trainable)
        shape = "-".join(map(str, self.sizes)) if self.sizes else "?"
        lines = [f"Sequential {shape} ({total} parameters, {trainable} trainable, "
                 f"{self.dtype}) ("]
        level, signal = 0, "h0"
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Dense):
                level += 1
                signal = f"a{level}"
                frozen = " (frozen)" if not layer.bias.trainable else ""
                note = (f"a{level} = W{level} h{level - 1} + b{level}   "
                        f"W{level}: {layer.n_out}x{layer.n_in}, b{level}: {layer.n_out}{frozen}")
            elif type(layer) in NAMES:
                signal = f"h{level}"
                note = f"h{level} = {NAMES[type(layer)]}(a{level})"
            elif isinstance(layer, Dropout):
                note = f"{signal} = dropout({signal}, p={layer.p})"
            elif isinstance(layer, BatchNorm):
                note = f"{signal} = BN({signal})   gamma, beta: {layer.n}"
            else:
                note = ""
            lines.append(f"  ({i}) {layer!r:<32} {note}".rstrip())
        lines.append(")")
        return "\n".join(lines)


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
