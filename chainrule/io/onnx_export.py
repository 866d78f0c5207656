"""ONNX export: a network's evaluation-mode forward pass as an ONNX graph.

``export_onnx(net, path)`` writes what ``net.predict`` computes, so the network can run
wherever ONNX does (onnxruntime, browsers, phones) without chainrule. Each layer becomes
the ONNX operator that computes the same function at inference:

===============  ================================================================
``Dense``        ``Gemm(x, W, b, transB=1)``: ``x @ W.T + b`` with ``W`` kept
                 ``(n_out, n_in)``, the notes' layout, as the file's ``weight``
``Sigmoid``...   ``Sigmoid``, ``Tanh``, ``Relu``, ``Identity``
``LeakyReLU``    ``LeakyRelu(alpha=slope)``; for float64 ``Max(x, Mul(x, slope))``,
                 the same function (slope < 1), because onnxruntime has no float64
                 ``LeakyRelu`` kernel
``Softmax``      ``Softmax(axis=-1)``
``Dropout``      nothing: inverted dropout is the identity at inference
``BatchNorm``    ``BatchNormalization`` with the running statistics and ``eps``
``Conv2D``       ``Conv(x, W, b)`` with ``kernel_shape``, ``strides`` and symmetric
                 ``pads``; ``W`` is ``(out_channels, in_channels, kh, kw)`` in both
``MaxPool2D``    ``MaxPool`` (``kernel_shape``, ``strides``, no padding, floor mode)
``AvgPool2D``    ``AveragePool``, likewise
``Flatten``      ``Flatten(axis=1)``: row-major over (channels, height, width), as ours
===============  ================================================================

onnxruntime's CPU provider has no float64 ``Conv`` kernel: a float64 network with
convolutions exports as valid ONNX, but onnxruntime refuses to load it; export the
``net.astype("float32")`` copy to run it there.

Tensor names follow the model file: initializers are ``layers.<i>.weight``,
``layers.<i>.running_mean``...; the graph input is ``"input"`` and its output ``"output"``,
both ``(batch, features)`` with a symbolic batch size; a network that starts with a
convolution takes ``(batch, channels, height, width)`` images instead, with the image
size its dense layers fix (symbolic ``height``/``width`` when none does). The model's
``doc_string`` and ``metadata_props`` carry the chainrule version and the architecture
(``repr(net)``).

The ``onnx`` package is needed only here and imported only when exporting:
``pip install "chainrule[onnx]"``.
"""
import json
import os

import numpy as np

from .. import backend
from ..errors import ChainruleError, InvalidValueError, NotAvailableError
from ..layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Identity, LeakyReLU,
                      MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from .model_file import _user_json, _write_atomic

# Opset 17 runs on every onnxruntime since 1.12 (2022) and has every operator used here.
DEFAULT_OPSET = 17
# From 13 on, Softmax normalises one axis (before, it flattened the trailing axes).
MIN_OPSET = 13

INPUT, OUTPUT = "input", "output"


def export_onnx(net, path, opset=None):
    """Write ``net`` (evaluation mode) to ``path`` as an ONNX model; returns the ModelProto.

    Args:
        net: a :class:`~chainrule.Sequential` of chainrule's own layers.
        path: where to write the ``.onnx`` file; written atomically (temporary file,
            fsync, rename), so an existing file is replaced whole or not at all.
        opset: ONNX opset version, from :data:`MIN_OPSET` to the newest the installed
            ``onnx`` knows (default :data:`DEFAULT_OPSET`).

    Raises:
        NotAvailableError: the ``onnx`` package is not installed.
        ChainruleError: a layer has no ONNX form (the message names it).
        InvalidValueError: bad ``opset``, or NaN/inf in the weights.
    """
    onnx = _import_onnx()
    model = to_model(net, opset)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:  # a bug here, not the user's doing
        raise ChainruleError(f"the ONNX graph built for this network is not valid ONNX "
                             f"(please report this as a chainrule bug): {exc}") from exc
    _write_atomic(os.fspath(path), model.SerializeToString())
    return model


def to_model(net, opset=None):
    """The ONNX ``ModelProto`` of ``net``, unchecked and unwritten (see :func:`export_onnx`)."""
    onnx = _import_onnx()
    from onnx import TensorProto, helper

    from .. import __version__  # late, as in model_file: chainrule/__init__ is still loading

    opset = _check_opset(onnx, opset)
    dtype = np.dtype(net.dtype)
    elem_type = {np.dtype(np.float32): TensorProto.FLOAT,
                 np.dtype(np.float64): TensorProto.DOUBLE}[dtype]

    graph = _GraphBuilder(dtype)
    x = INPUT
    for i, layer in enumerate(net.layers):
        convert = _CONVERTERS.get(type(layer))  # exact type: a subclass may compute otherwise
        if convert is None:
            raise ChainruleError(
                f"cannot export layer {i} ({type(layer).__name__}) to ONNX: there is no ONNX "
                f"exporter for it; exportable layers are "
                f"{', '.join(sorted(cls.__name__ for cls in _CONVERTERS))}")
        x = convert(graph, f"layers.{i}", layer, x)
    graph.finish(x)

    input_dims, output_dims = _io_dims(net)
    architecture = repr(net)
    doc = f"chainrule {__version__} network, evaluation mode:\n{architecture}"
    onnx_graph = helper.make_graph(
        graph.nodes, "chainrule.Sequential",
        [helper.make_tensor_value_info(INPUT, elem_type, input_dims)],
        [helper.make_tensor_value_info(OUTPUT, elem_type, output_dims)],
        initializer=graph.initializers, doc_string=doc)
    opset_ids = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, opset_imports=opset_ids, producer_name="chainrule",
                              producer_version=__version__, doc_string=doc)
    # The oldest IR version that carries this opset, so older runtimes can read the file.
    model.ir_version = helper.find_min_ir_version_for(opset_ids)
    props = {
        "chainrule_version": __version__,
        "architecture": architecture,
        "layers": json.dumps([{"type": type(layer).__name__, "config": layer.config()}
                              for layer in net.layers]),
        "dtype": str(dtype),
    }
    if getattr(net, "metadata", None):
        props["metadata"] = _user_json(net.metadata)  # classes, input scaling... as JSON
    helper.set_model_props(model, props)
    return model


def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError as exc:
        raise NotAvailableError(f'ONNX export needs the onnx package ({exc}); install it with: '
                                f'pip install "chainrule[onnx]"') from exc
    return onnx


def _check_opset(onnx, opset):
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if (isinstance(opset, bool) or not isinstance(opset, (int, np.integer))
            or not MIN_OPSET <= opset <= newest):
        raise InvalidValueError(f"ONNX opset must be an integer from {MIN_OPSET} to {newest} "
                                f"(the newest onnx {onnx.__version__} knows), got {opset!r}")
    return int(opset)


def _widths(layers):
    """(input width, output width) of the layers; None where no layer fixes it."""
    n_in = width = None
    for layer in layers:
        if isinstance(layer, Dense):
            if width is None:
                n_in = layer.n_in
            width = layer.n_out
        elif isinstance(layer, BatchNorm) and width is None:
            n_in = width = layer.n
    return n_in, width


def _io_dims(net):
    """The graph input's and output's dimensions: ``["batch", ...]``, names where not fixed."""
    n_in, n_out = _widths(net.layers)
    if not isinstance(net.n_in, tuple):
        return ["batch", n_in or "features"], ["batch", n_out or "features"]
    from ..network import _input_anchor, _shapes

    names = ("channels", "height", "width")
    c, h, w = net.n_in
    start, _ = _input_anchor(net.layers)
    out = _shapes(net.layers, net.n_in, start)[-1]
    if isinstance(out, tuple):
        output = [d if d is not None else name for d, name in zip(out, names)]
    else:
        output = [out if out is not None else "features"]
    return ["batch", c, h or "height", w or "width"], ["batch", *output]


class _GraphBuilder:
    """The nodes and initializers of the graph, built layer by layer."""

    def __init__(self, dtype):
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.dtype = dtype
        self.nodes, self.initializers = [], []

    def constant(self, name, value):
        """An initializer holding ``value``, checked to be finite and of the net's dtype."""
        array = backend.to_numpy(value)
        if array.dtype != self.dtype:
            raise ChainruleError(f"cannot export: {name} is {array.dtype} but the network is "
                                 f"{self.dtype}; convert it with net.astype(...)")
        if not np.all(np.isfinite(array)):
            raise InvalidValueError(f"cannot export: {name} contains NaN or inf; the network "
                                    f"has diverged (export the last good weights instead)")
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op, inputs, name, **attributes):
        """Append one node; returns the name of its output."""
        output = f"{name}.output"
        self.nodes.append(self._helper.make_node(op, list(inputs), [output], name=name,
                                                 **attributes))
        return output

    def finish(self, last):
        """Name the final tensor ``"output"`` (an Identity node if no layer made a node)."""
        if last == INPUT:
            self.node("Identity", [INPUT], "output")
            last = self.nodes[-1].output[0]
        for node in self.nodes:  # the last tensor may be read only by the graph output
            node.output[:] = [OUTPUT if out == last else out for out in node.output]


# ---- one converter per layer: (graph, name, layer, input tensor) -> output tensor --------

def _dense(graph, name, layer, x):
    # Gemm: Y = X B' + C with B' = B.T when transB=1, so W stays (n_out, n_in).
    w = graph.constant(f"{name}.weight", layer.weight.value)
    b = graph.constant(f"{name}.bias", layer.bias.value)
    return graph.node("Gemm", [x, w, b], name, transB=1)


def _simple(op):
    def convert(graph, name, layer, x):
        return graph.node(op, [x], name)

    return convert


def _leaky_relu(graph, name, layer, x):
    if graph.dtype == np.float32:
        return graph.node("LeakyRelu", [x], name, alpha=layer.slope)
    # onnxruntime implements LeakyRelu for float32 only (a float64 graph fails to load or
    # is computed in float32). For 0 <= slope < 1, max(a, slope * a) is the same function:
    # a when a > 0, slope * a otherwise, with the very same rounding.
    slope = graph.constant(f"{name}.slope", np.asarray(layer.slope, dtype=graph.dtype))
    scaled = graph.node("Mul", [x, slope], f"{name}.Mul")
    return graph.node("Max", [x, scaled], f"{name}.Max")


def _softmax(graph, name, layer, x):
    return graph.node("Softmax", [x], name, axis=-1)


def _dropout(graph, name, layer, x):
    return x  # inverted dropout scales in training, so inference is the identity


def _batchnorm(graph, name, layer, x):
    # Evaluation form: (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
    # ONNX stores epsilon as a 32-bit float. For float32 networks that is what chainrule
    # adds too; for float64 the rounding error of eps is moved into the variance, so that
    # var + float32(eps) is the network's running_var + eps to float64 precision.
    eps32 = float(np.float32(layer.eps))
    var = backend.to_numpy(layer.running_var)
    if graph.dtype == np.float64:
        var = var + (layer.eps - eps32)
    inputs = [x,
              graph.constant(f"{name}.weight", layer.gamma.value),
              graph.constant(f"{name}.bias", layer.beta.value),
              graph.constant(f"{name}.running_mean", layer.running_mean),
              graph.constant(f"{name}.running_var", var)]
    return graph.node("BatchNormalization", inputs, name, epsilon=eps32)


def _conv(graph, name, layer, x):
    # ONNX Conv is the same cross-correlation with the same (out, in, kh, kw) weight layout;
    # pads are [top, left, bottom, right].
    (ph, pw) = layer.padding
    w = graph.constant(f"{name}.weight", layer.weight.value)
    b = graph.constant(f"{name}.bias", layer.bias.value)
    return graph.node("Conv", [x, w, b], name, kernel_shape=list(layer.kernel_size),
                      strides=list(layer.stride), pads=[ph, pw, ph, pw])


def _pool(op):
    def convert(graph, name, layer, x):
        # No padding and floor mode (ceil_mode=0, the default), as chainrule pools.
        return graph.node(op, [x], name, kernel_shape=list(layer.size),
                          strides=list(layer.stride))

    return convert


def _flatten(graph, name, layer, x):
    return graph.node("Flatten", [x], name, axis=1)


_CONVERTERS = {
    Dense: _dense,
    Sigmoid: _simple("Sigmoid"),
    Tanh: _simple("Tanh"),
    ReLU: _simple("Relu"),
    LeakyReLU: _leaky_relu,
    Softmax: _softmax,
    Identity: _simple("Identity"),
    Dropout: _dropout,
    BatchNorm: _batchnorm,
    Conv2D: _conv,
    MaxPool2D: _pool("MaxPool"),
    AvgPool2D: _pool("AveragePool"),
    Flatten: _flatten,
}
