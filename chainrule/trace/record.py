r"""One training step, recorded number by number: :func:`trace`.

``trace(net, loss, X, y, optimizer)`` runs **one real training step on ``net`` itself**,
exactly as an iteration of ``fit`` does (``net.compute_gradients`` then
``optimizer.step(net.parameters())``), so ``net`` and the optimiser's state change as
they would in training, and calling ``trace`` again traces the next step. Every
number in the record is one the engine computed during that step, read off the
layers while they ran: each layer's ``forward`` and ``backward`` are wrapped for the
duration of the step to keep copies of what goes in and out. The only numbers
the record derives itself are the ones the engine never forms separately, and each
is the product (or sum) of engine numbers it shows next to it:

* the per-example factors of a gradient and their product (the engine multiplies
  whole matrices at once: :math:`\delta^T x`);
* the terms :math:`\partial E/\partial net_k \cdot w_{kj}` of a hidden neuron's
  :math:`\partial E/\partial out_j` (the engine forms their sum, :math:`\delta W`);
* the loss terms :math:`E_{o1}, E_{o2}` (the engine forms their total);
* in a convolutional network, each example's kernel and bias gradients (the sums over
  the output cells whose batch mean is the engine's gradient) and which cell won each
  max-pooling window (see :mod:`chainrule.trace.conv`).

Precision is the network's: trace ``net.astype("float64")`` to compare with the notes'
nine decimals (a float32 network is good to about seven significant digits).

A convolutional network (``Conv2D``, ``MaxPool2D``, ``AvgPool2D``, ``Flatten`` before the
Dense layers) is traced the same way, every product of its convolutions written out;
:mod:`chainrule.trace.conv` records those layers and refuses networks too large to
write out.

A batch of ``m`` examples: the engine's loss is the batch mean, so every gradient it
passes down carries a factor :math:`1/m`. The record stores per-example quantities
:math:`\partial E_n/\partial\cdot` (the engine's value times ``m``) and each
parameter's gradient as the engine computed it, the mean over the examples.
"""
import contextlib
from dataclasses import dataclass, field

import numpy as np

from .. import backend, losses as losses_
from ..errors import InvalidValueError, ShapeError
from ..layers import Dense, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ..optim import SGD
from . import conv
from .names import Naming

# The activations a Dense layer's neurons can have, by the name the record uses.
ACTIVATIONS = ((Sigmoid, "sigmoid"), (Tanh, "tanh"), (ReLU, "relu"),
               (LeakyReLU, "leaky_relu"), (Identity, "identity"), (Softmax, "softmax"))
LOSS_KEYS = ((losses_.SquaredError, "squared_error"), (losses_.MSE, "mse"),
             (losses_.BinaryCrossEntropy, "binary_cross_entropy"),
             (losses_.CrossEntropy, "cross_entropy"))


def _kind(obj, table):
    for cls, name in table:
        if isinstance(obj, cls):
            return name
    return None


# ---- the record ---------------------------------------------------------------------------------
@dataclass
class Neuron:
    """One neuron of a Dense layer. Arrays hold one value per example of the batch.

    ``delta`` is :math:`\\partial E_n/\\partial net_j`; ``dE_dout`` and ``dout_dnet`` its two
    factors where the engine forms them (None where the loss's gradient enters below the
    activation, as softmax with cross-entropy). ``paths[n, k]`` is the part of
    :math:`\\partial E_n/\\partial out_j` that flows back through neuron ``k`` of the next
    layer: :math:`\\partial E_n/\\partial net_k \\cdot w_{kj}`.
    """

    name: str
    layer: int
    index: int
    net: np.ndarray
    out: np.ndarray
    delta: np.ndarray
    dE_dout: np.ndarray = None
    dout_dnet: np.ndarray = None
    paths: np.ndarray = None
    target: np.ndarray = None
    error: np.ndarray = None


@dataclass
class ParameterStep:
    """One weight or bias: its gradient as a chain-rule product, and its update.

    ``factors`` is a list of ``(label, values per example)``; labels are ``"dE/dout"``,
    ``"dout/dnet"``, ``"dE/dnet"`` and ``"dnet/dw"`` (``"dnet/db"`` for a bias).
    ``products`` is their product per example, ``grad`` the engine's gradient (the
    batch mean of ``products``), ``old``/``new`` the value before and after the step.
    A convolution's weight (``kind`` ``"kernel"``) or bias (``"kernel_bias"``) has no
    factors: its ``products`` are each example's sum over the output cells, ``layer`` is
    its weight layer and ``j`` its index, ``(f, c, i, j)`` or ``(f,)``.
    """

    name: str
    kind: str
    layer: int
    j: int
    i: int
    factors: list
    products: np.ndarray
    grad: float
    old: float
    new: float
    trainable: bool
    symbol: object = None  # its name in every format (a Lit); set for convolution kernels

    @property
    def change(self):
        return self.new - self.old

    def factor(self, label):
        for name, values in self.factors:
            if name == label:
                return values
        raise KeyError(f"{self.name} has no factor {label!r}; it has "
                       f"{[name for name, _ in self.factors]}")


@dataclass
class LayerStep:
    """A Dense layer and the activation right after it (``activation`` None if none).

    Arrays are ``(batch, n_out)`` unless said otherwise; ``inputs`` is ``(batch, n_in)``,
    ``jacobian`` ``(batch, n_out, n_out)`` (softmax whose gradient is not fused),
    ``paths`` ``(batch, n_out, n_next)``. ``weight``/``bias`` hold the values before the
    step, ``*_grad`` the engine's gradients, ``*_new`` the values after it.
    """

    number: int
    index: int
    activation: str
    n_in: int
    n_out: int
    inputs: np.ndarray
    net: np.ndarray
    out: np.ndarray
    delta: np.ndarray
    dE_dout: np.ndarray
    dout_dnet: np.ndarray
    jacobian: np.ndarray
    paths: np.ndarray
    fused: bool
    weight: np.ndarray
    weight_grad: np.ndarray
    weight_new: np.ndarray
    bias: np.ndarray
    bias_grad: np.ndarray
    bias_new: np.ndarray
    weight_trainable: bool
    bias_trainable: bool
    neurons: list = field(default_factory=list)
    parameters: list = field(default_factory=list)
    slope: float = 0.0  # LeakyReLU's


@dataclass
class OtherLayerStep:
    """A layer that is neither a Dense layer nor its activation (Dropout, BatchNorm...).

    Its input, output and the gradients through it, and each of its parameters as
    ``(name, old, grad, new, trainable)``.
    """

    index: int
    description: str
    input: np.ndarray
    output: np.ndarray
    grad_out: np.ndarray
    grad_in: np.ndarray
    parameters: list


@dataclass
class TraceRecord:
    """Everything one training step computed; see :func:`trace`.

    ``errors[n, k]`` is the loss term of output ``k`` for example ``n`` (None for a loss
    the record cannot split), ``E_examples[n]`` their sum, ``E_total`` the engine's
    loss (the batch mean), ``error_after`` the loss with the updated weights
    (evaluation mode). ``rule`` is ``"sgd"`` when the update is :math:`w - \\eta g`,
    else ``"other"`` (the record then shows old, new and the change).
    """

    step: int
    naming: Naming
    batch: int
    dtype: str
    inputs: np.ndarray
    targets: np.ndarray
    loss: str
    loss_key: str
    errors: np.ndarray
    E_examples: np.ndarray
    E_total: float
    error_after: float
    optimizer: str
    lr: float
    rule: str
    layers: list
    others: list
    fused: bool
    is_notes_example: bool
    notes: list = field(default_factory=list)
    images: list = field(default_factory=list)  # conv.ImageStep, input to Flatten
    flatten: object = None                      # conv.FlattenStep

    @property
    def image_shapes(self):
        """One example's input image and each image stage's output, ``(channels, h, w)``."""
        if self.flatten is None:
            return []
        first = self.images[0].in_shape if self.images else self.flatten.shape
        return [first] + [s.out_shape for s in self.images]

    # ---- lookups ------------------------------------------------------------------------
    def neuron(self, name):
        """A neuron by its name: ``"h1"``, ``"o2"``, ``"h2_3"``."""
        for layer in self.layers:
            for neuron in layer.neurons:
                if neuron.name == name:
                    return neuron
        raise KeyError(f"no neuron {name!r}; neurons are "
                       f"{[n.name for layer in self.layers for n in layer.neurons]}")

    def parameter(self, name):
        """A weight or bias by its name: ``"w5"``, ``"w1_2,1"``, ``"b1"`` (the first neuron's);
        a convolution's ``"w1[0,1]"``, ``"b1"``."""
        steps = [p for layer in self.images + self.layers for p in layer.parameters]
        for p in steps:
            if p.name == name:
                return p
        raise KeyError(f"no parameter {name!r}; parameters are "
                       f"{sorted({p.name for p in steps})}")

    def layer(self, number):
        """The Dense layer ``number`` (1 = first)."""
        return self.layers[number - 1]

    # ---- renderings ---------------------------------------------------------------------
    def to_text(self, digits=9, max_neurons=6):
        from .render import render

        return render([self], "text", digits=digits, max_neurons=max_neurons)

    def to_markdown(self, digits=9, max_neurons=6):
        from .render import render

        return render([self], "markdown", digits=digits, max_neurons=max_neurons)

    def to_latex(self, digits=9, max_neurons=6):
        from .render import render

        return render([self], "latex", digits=digits, max_neurons=max_neurons)

    def to_html(self, digits=9, max_neurons=6):
        from .render import render

        return render([self], "html", digits=digits, max_neurons=max_neurons)

    def __str__(self):
        return self.to_text()


class TraceSteps(list):
    """Several successive :class:`TraceRecord`, rendered as one document."""

    def to_text(self, digits=9, max_neurons=6):
        from .render import render

        return render(list(self), "text", digits=digits, max_neurons=max_neurons)

    def to_markdown(self, digits=9, max_neurons=6):
        from .render import render

        return render(list(self), "markdown", digits=digits, max_neurons=max_neurons)

    def to_latex(self, digits=9, max_neurons=6):
        from .render import render

        return render(list(self), "latex", digits=digits, max_neurons=max_neurons)

    def to_html(self, digits=9, max_neurons=6):
        from .render import render

        return render(list(self), "html", digits=digits, max_neurons=max_neurons)


# ---- watching the engine work -------------------------------------------------------------------
def _keep(a):
    return None if a is None else np.array(backend.to_numpy(a), dtype=np.float64)


@contextlib.contextmanager
def _recording(net):
    """Wrap every layer's forward and backward to keep copies of what passes through.

    The wrappers are instance attributes shadowing the class's methods (also
    ``backward_params``, which training calls on the bottom layer instead of
    ``backward``), removed on exit whatever happens; the layers compute exactly what
    they always do.
    """
    seen = [{} for _ in net.layers]
    patched = []
    try:
        for layer, store in zip(net.layers, seen):
            wrappers = {"forward": _watch_forward(layer.forward, store),
                        "backward": _watch_backward(layer.backward, store)}
            if callable(getattr(layer, "backward_params", None)):  # the bottom layer in training
                # what it returns is no input gradient (Conv2D's: its deltas as a matrix)
                wrappers["backward_params"] = _watch_backward(layer.backward_params, store,
                                                              result=False)
            saved = {k: vars(layer)[k] for k in wrappers if k in vars(layer)}
            for name, wrapper in wrappers.items():
                setattr(layer, name, wrapper)
            patched.append((layer, list(wrappers), saved))
        yield seen
    finally:
        for layer, names, saved in patched:
            for name in names:
                if name in saved:
                    setattr(layer, name, saved[name])
                else:
                    vars(layer).pop(name, None)


def _watch_forward(forward, store):
    def watched(x, training=False):
        out = forward(x, training)
        store["in"], store["out"] = _keep(x), _keep(out)
        return out

    return watched


def _watch_backward(backward, store, result=True):
    def watched(grad):
        store["grad_out"] = _keep(grad)
        out = backward(grad)
        if result and out is not None:
            store["grad_in"] = _keep(out)
        return out

    return watched


def _stages(net):
    """[(index of a Dense layer, index of its activation or None)] and the other layers."""
    stages, used = [], set()
    for k, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            nxt = net.layers[k + 1] if k + 1 < len(net.layers) else None
            act = k + 1 if nxt is not None and _kind(nxt, ACTIVATIONS) else None
            stages.append((k, act))
            used.update({k} if act is None else {k, act})
    return stages, [k for k in range(len(net.layers)) if k not in used]


def _scheme(net, stages, sizes):
    kinds = [type(layer) for layer in net.layers]
    if sizes == [2, 2, 2] and kinds == [Dense, Sigmoid, Dense, Sigmoid]:
        return "notes"
    return "one-hidden" if len(stages) <= 2 else "deep"


def _one_hot(target, n_out):
    t = backend.to_numpy(target)
    if t.ndim == 1 and n_out > 1 or t.dtype.kind in "iu":
        hot = np.zeros((len(t), n_out))
        hot[np.arange(len(t)), t.reshape(-1).astype(np.int64)] = 1.0
        return hot
    return np.asarray(t, dtype=np.float64).reshape(len(t), n_out)


def _loss_terms(key, out, logits, t, fused):
    """Per example and output, the terms whose batch mean of row sums is the engine's loss."""
    if key == "squared_error":
        return 0.5 * (t - out) ** 2
    if key == "mse":
        return (out - t) ** 2 / out.shape[1]
    if key == "binary_cross_entropy":
        if fused:
            return np.logaddexp(0.0, logits) - t * logits
        p = np.clip(out, np.finfo(np.float64).eps, 1 - np.finfo(np.float64).eps)
        return -(t * np.log(p) + (1 - t) * np.log1p(-p))
    if key == "cross_entropy":
        if fused:
            top = logits.max(axis=1, keepdims=True)
            log_p = logits - (top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True)))
        else:
            log_p = np.log(np.maximum(out, np.finfo(np.float64).tiny))
        return np.where(t > 0, -t * log_p, 0.0)
    return None


def _softmax_jacobian(act, shape):
    """jac[n, k, j] = dout_k/dnet_j, row k from the layer's backward of the unit vector e_k."""
    m, K = shape
    jac = np.empty((m, K, K))
    for k in range(K):
        unit = backend.xp.zeros(shape, dtype=act._out.dtype)
        unit[:, k] = 1.0
        jac[:, k, :] = _keep(act.backward(unit))  # p_j (delta_kj - p_k): symmetric in k, j
    return jac


# ---- the step -----------------------------------------------------------------------------------
def trace(net, loss, X, y, optimizer):
    """Run one training step on ``net`` and return every number of it as a record.

    Args:
        net: a :class:`chainrule.Sequential` with at least one Dense layer. It is
            **trained in place** (one step, as ``fit`` does it); pass a copy
            (``net.astype("float64")``) to keep the original.
        loss: a loss or its name (``"squared_error"``, ``"cross_entropy"``...).
        X: inputs, ``(batch, n_in)``; y: targets as the loss takes them.
        optimizer: any chainrule optimiser; its state carries over between calls.

    Returns:
        a :class:`TraceRecord`: ``record.neuron("h1").out``, ``record.parameter("w5")``,
        ``record.to_text()``, ``.to_markdown()``, ``.to_latex()``, ``.to_html()``.
    """
    loss = losses_.get(loss)
    if not callable(getattr(optimizer, "step", None)):
        raise InvalidValueError(f"trace: optimizer must be a chainrule optimiser with "
                                f"step(params), got {optimizer!r}")
    stages, other_indices = _stages(net)
    if not stages:
        raise InvalidValueError("trace: the network has no Dense layer, so no weights to trace")
    X = net.prepare_inputs(X)
    target = loss.prepare_target(y, net.n_out, net.dtype)
    if len(target) != len(X):
        raise ShapeError(f"trace: {len(X)} input rows but {len(target)} targets")
    image_plan = conv.plan(net, X)  # refuses, before any training, what it cannot write out
    if image_plan is not None:
        other_indices = [k for k in other_indices if k not in image_plan.used]
    params = net.parameters()
    old = [_keep(p.value) for p in params]
    with _recording(net) as seen:
        E_total, _ = net.compute_gradients(loss, X, target)
    grads = [_keep(p.grad) for p in params]
    lr = float(optimizer.lr) if hasattr(optimizer, "lr") else None
    derivatives = {}
    image_acts = [s.act_index for s in image_plan.stages] if image_plan is not None else []
    for a in [a for _, a in stages] + image_acts:  # the activations' derivatives, by backward
        if a is None:
            continue
        act, shape = net.layers[a], seen[a]["out"].shape
        if isinstance(act, Softmax):
            derivatives[a] = ("jacobian", _softmax_jacobian(act, shape))
        else:
            derivatives[a] = ("local", _keep(act.backward(backend.xp.ones(shape, net.dtype))))
    optimizer.step(params)
    new = [_keep(p.value) for p in params]

    from ..training.loop import evaluate_loss

    error_after = float(evaluate_loss(net, loss, X, target)[0])
    before = {id(p): (o, g, n) for p, o, g, n in zip(params, old, grads, new)}
    return _build(net, loss, optimizer, lr, X, target, float(E_total), error_after, stages,
                  other_indices, seen, derivatives, before, image_plan)


def _build(net, loss, optimizer, lr, X, target, E_total, error_after, stages, other_indices,
           seen, derivatives, before, image_plan=None):
    m = len(X)
    head = net.layers[-1]
    fused = loss.fuses_with is not None and type(head) is loss.fuses_with
    sizes = [net.layers[stages[0][0]].n_in] + [net.layers[d].n_out for d, _ in stages]
    dense_layers = [net.layers[d] for d, _ in stages]
    shared = [bool(np.all(before[id(d.bias)][0] == before[id(d.bias)][0].reshape(-1)[0]))
              for d in dense_layers]
    notes = []
    if image_plan is not None:
        notes += conv.fill(image_plan, net, seen, derivatives, before, m)
        flatten = image_plan.flatten
        naming = Naming(_scheme(net, stages, sizes), sizes, shared, first=image_plan.levels + 1,
                        inputs=flatten.names,
                        input_vector=flatten.in_name if flatten.names else None)
        for stage in image_plan.stages:
            _fill_kernel_parameters(stage)
    else:
        naming = Naming(_scheme(net, stages, sizes), sizes, shared)
    loss_key = _kind(loss, LOSS_KEYS)
    t = _one_hot(target, net.n_out)

    rule = "other"
    if isinstance(optimizer, SGD) and not optimizer.momentum and not optimizer.weight_decay:
        rule = "sgd"

    layers = []
    for number, (d, a) in enumerate(stages, start=1):
        dense = net.layers[d]
        act = net.layers[a] if a is not None else None
        w_old, w_grad, w_new = before[id(dense.weight)]
        b_old, b_grad, b_new = before[id(dense.bias)]
        inputs, net_in = seen[d]["in"], seen[d]["out"]
        delta = seen[d]["grad_out"] * m
        out = seen[a]["out"] if act is not None else net_in
        is_fused = act is not None and act is head and fused
        dE_dout = seen[a]["grad_out"] * m if act is not None and "grad_out" in seen[a] else None
        kind, value = derivatives.get(a, (None, None))
        dout_dnet = value if kind == "local" else None
        jacobian = value if kind == "jacobian" else None
        layers.append(LayerStep(
            number=number, index=d, activation=_kind(act, ACTIVATIONS) if act else None,
            n_in=dense.n_in, n_out=dense.n_out, inputs=inputs, net=net_in, out=out,
            delta=delta, dE_dout=dE_dout, dout_dnet=dout_dnet, jacobian=jacobian, paths=None,
            fused=is_fused, weight=w_old, weight_grad=w_grad, weight_new=w_new, bias=b_old,
            bias_grad=b_grad, bias_new=b_new, weight_trainable=dense.weight.trainable,
            bias_trainable=dense.bias.trainable,
            slope=getattr(act, "slope", 0.0) if act is not None else 0.0))

    # hidden neurons: dE/dout_j = sum over k of dE/dnet_k * w_kj, when layer l feeds l+1
    for (d, a), layer, above in zip(stages, layers, layers[1:]):
        last = a if a is not None else d
        if above.index == last + 1:
            layer.paths = above.delta[:, None, :] * above.weight.T[None, :, :]

    errors = _loss_terms(loss_key, layers[-1].out, seen[stages[-1][0]]["out"], t, fused)
    if errors is not None:
        tolerance = 1e-9 if net.dtype == np.float64 else 1e-5
        if abs(errors.sum() / m - E_total) > tolerance * max(1.0, abs(E_total)):
            notes.append("the loss is not split into one term per output: the terms did not "
                         "add up to the engine's loss")
            errors = None
    E_examples = errors.sum(axis=1) if errors is not None else None

    for layer in layers:
        _fill_neurons(layer, naming, len(layers), t, errors)
        _fill_parameters(layer, naming, dense_layers[layer.number - 1])
    images = image_plan.stages if image_plan is not None else []
    for layer in images + layers:
        if rule == "sgd":
            for p in layer.parameters:
                expected = p.old - lr * p.grad if p.trainable else p.old
                if not np.isclose(p.new, expected, rtol=1e-12 if net.dtype == np.float64
                                  else 1e-6, atol=0):
                    rule = "other"

    others = []
    for k in other_indices:
        layer, store = net.layers[k], seen[k]
        plist = [(f"{k}.{p.name}", *before[id(p)], p.trainable) for p in layer.parameters()]
        others.append(OtherLayerStep(k, repr(layer), store.get("in"), store.get("out"),
                                     store.get("grad_out"), store.get("grad_in"), plist))
        notes.append(f"layer {k}, {layer!r}, sits between the Dense layers and their "
                     f"activations: it is shown as a whole, and the chain-rule factors of the "
                     f"weights around it are the engine's dE/dnet")

    if net.dtype != np.float64:
        notes.append(f"the network computes in {net.dtype}: about 7 significant digits are "
                     f"exact; trace net.astype('float64') to compare with the notes")

    return TraceRecord(
        step=getattr(optimizer, "iterations", None), naming=naming, batch=m,
        dtype=str(net.dtype), inputs=_keep(X), targets=t, loss=type(loss).__name__,
        loss_key=loss_key, errors=errors, E_examples=E_examples, E_total=E_total,
        error_after=error_after, optimizer=repr(optimizer), lr=lr, rule=rule, layers=layers,
        others=others, fused=fused,
        is_notes_example=_is_notes_example(naming, loss, rule, lr, X, t, layers),
        notes=notes, images=images, flatten=image_plan.flatten if image_plan else None)


def _fill_neurons(layer, naming, L, t, errors):
    output = layer.number == L
    for j in range(layer.n_out):
        layer.neurons.append(Neuron(
            name=naming.neuron(layer.number, j + 1), layer=layer.number, index=j + 1,
            net=layer.net[:, j], out=layer.out[:, j], delta=layer.delta[:, j],
            dE_dout=None if layer.dE_dout is None else layer.dE_dout[:, j],
            dout_dnet=None if layer.dout_dnet is None else layer.dout_dnet[:, j],
            paths=None if layer.paths is None else layer.paths[:, j, :],
            target=t[:, j] if output else None,
            error=errors[:, j] if output and errors is not None else None))


def _fill_parameters(layer, naming, dense):
    three = layer.dE_dout is not None and layer.dout_dnet is not None
    m = len(layer.inputs)

    def factors(j, last_label, last_values):
        if three:
            head = [("dE/dout", layer.dE_dout[:, j]), ("dout/dnet", layer.dout_dnet[:, j])]
        else:
            head = [("dE/dnet", layer.delta[:, j])]
        return head + [(last_label, last_values)]

    for j in range(layer.n_out):
        for i in range(layer.n_in):
            fs = factors(j, "dnet/dw", layer.inputs[:, i])
            layer.parameters.append(ParameterStep(
                name=naming.weight(layer.number, j + 1, i + 1).text, kind="weight",
                layer=layer.number, j=j + 1, i=i + 1, factors=fs,
                products=np.prod([v for _, v in fs], axis=0),
                grad=float(layer.weight_grad[j, i]), old=float(layer.weight[j, i]),
                new=float(layer.weight_new[j, i]), trainable=layer.weight_trainable))
    for j in range(layer.n_out):
        fs = factors(j, "dnet/db", np.ones(m))
        layer.parameters.append(ParameterStep(
            name=naming.bias(layer.number, j + 1).text, kind="bias", layer=layer.number,
            j=j + 1, i=None, factors=fs, products=np.prod([v for _, v in fs], axis=0),
            grad=float(layer.bias_grad[j]), old=float(layer.bias[j]),
            new=float(layer.bias_new[j]), trainable=layer.bias_trainable))


def _fill_kernel_parameters(stage):
    """A convolution's weights and biases as ParameterSteps: each example's sum, and the step."""
    if stage.kind != "conv":
        return
    f_all, c_all = stage.out_shape[0], stage.in_shape[0]
    kh, kw = stage.size
    for index in np.ndindex(f_all, c_all, kh, kw):
        sym = stage.weight_cell(*index)
        stage.parameters.append(ParameterStep(
            name=sym.text, kind="kernel", layer=stage.level, j=index, i=None, factors=[],
            products=stage.weight_sums[(slice(None),) + index],
            grad=float(stage.weight_grad[index]),
            old=float(stage.weight[index]), new=float(stage.weight_new[index]),
            trainable=stage.weight_trainable, symbol=sym))
    for f in range(f_all):
        sym = stage.bias_cell(f)
        stage.parameters.append(ParameterStep(
            name=sym.text, kind="kernel_bias", layer=stage.level, j=(f,), i=None, factors=[],
            products=stage.bias_sums[:, f], grad=float(stage.bias_grad[f]),
            old=float(stage.bias[f]), new=float(stage.bias_new[f]),
            trainable=stage.bias_trainable, symbol=sym))


def _is_notes_example(naming, loss, rule, lr, X, t, layers):
    """Whether this is the very step the notes work out (their weights, data and eta)."""
    if naming.scheme != "notes" or type(loss) is not losses_.SquaredError or rule != "sgd" \
            or lr != 0.5:
        return False
    from .. import examples

    notes_net = examples.two_two_two_net()
    dense = [notes_net.layers[0], notes_net.layers[2]]
    return (np.array_equal(_keep(X), examples.INPUT_222)
            and np.array_equal(t, examples.TARGET_222)
            and all(np.array_equal(layer.weight, _keep(d.weight.value))
                    and np.array_equal(layer.bias, _keep(d.bias.value))
                    for layer, d in zip(layers, dense)))


def trace_steps(net, loss, X, y, optimizer, steps):
    """``steps`` successive :func:`trace` calls, each on the weights the last one left."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InvalidValueError(f"steps must be a positive integer, got {steps!r}")
    return TraceSteps(trace(net, loss, X, y, optimizer) for _ in range(int(steps)))
