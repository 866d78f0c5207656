r"""Gradient check: backprop's gradients against central finite differences.

For every weight :math:`w`: :math:`\frac{L(w+\epsilon) - L(w-\epsilon)}{2\epsilon}`, in
float64 on a copy of the network. The relative error per parameter is
:math:`\|g_{bp} - g_{fd}\| / \max(\|g_{bp}\| + \|g_{fd}\|, 10^{-12})`; below about 1e-7
the backward pass is right.

Layers that draw at random in training (Dropout) are held fixed with ``layer.freeze()``
for the whole check: every loss evaluation then sees the same mask, so the finite
differences measure the network the backward pass differentiated.
"""
import contextlib

import numpy as np

from . import losses as losses_


def gradcheck(net, loss, X, y, eps=1e-6, l2=0.0, penalty=None):
    """A dict: parameter name -> relative error between backprop and finite differences.

    ``l2`` adds seed 003's L2 penalty; ``penalty`` any penalty or list of them.
    """
    net = net.astype("float64")
    loss = losses_.get(loss)
    X = net.prepare_inputs(X)
    target = loss.prepare_target(y, net.n_out, net.dtype)
    terms = list(penalty) if isinstance(penalty, (list, tuple)) else [penalty]
    terms = [t for t in terms if t is not None] + ([losses_.L2(l2)] if l2 else [])
    penalty = terms or None

    def objective():
        return net.compute_gradients(loss, X, target, penalty)[0]

    with contextlib.ExitStack() as frozen:
        for layer in net.layers:
            frozen.enter_context(layer.freeze())
        return _compare(net, objective, eps)


def _compare(net, objective, eps):
    objective()
    analytic = {name: p.grad.copy() for name, p in net.named_parameters()}
    errors = {}
    for name, p in net.named_parameters():
        numeric = np.zeros_like(p.value)
        flat, out = p.value.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            up = objective()
            flat[i] = keep - eps
            down = objective()
            flat[i] = keep
            out[i] = (up - down) / (2 * eps)
        diff = np.linalg.norm(analytic[name] - numeric)
        scale = max(np.linalg.norm(analytic[name]) + np.linalg.norm(numeric), 1e-12)
        errors[name] = float(diff / scale)
    return errors
