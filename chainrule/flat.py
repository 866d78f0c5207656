"""Arrays that lie back to back in one vector, so one array operation covers them all.

A network keeps all its parameter values in one vector and all its gradients in
another (``pack``); each ``Parameter`` holds views of its slice. An optimiser then
updates a run of neighbouring parameters with one pass over one slice (``joined``)
instead of a dozen small array operations per parameter: that per-call overhead is
most of a step for small networks, and one contiguous pass is what a fused kernel needs.
"""
import numpy as np

from . import backend


def pack(params):
    """Move the values and gradients of ``params`` into one new vector each.

    Every ``p.value`` and ``p.grad`` becomes a view of its slice, with the same
    numbers. The order is ``params``' within three parts: trainable parameters with
    weight decay (weights), trainable ones without (biases), frozen ones (the notes'
    fixed biases), so that neither frozen parameters nor weight decay split what an
    optimiser can update as one. All parameters must share one dtype.
    """
    if not params:
        return
    params = sorted(params, key=lambda p: (not p.trainable, not p.decay))  # stable
    for what in ("value", "grad"):
        arrays = [getattr(p, what) for p in params]
        vector = backend.xp.empty(sum(a.size for a in arrays), dtype=arrays[0].dtype)
        for p, view in zip(params, views(vector, [a.shape for a in arrays])):
            view[...] = getattr(p, what)
            setattr(p, what, view)


def is_packed(params):
    """Whether the values, and the gradients, of ``params`` each fill one vector already."""
    for what in ("value", "grad"):
        arrays = in_memory_order([getattr(p, what) for p in params])
        if arrays and (_owner(arrays[0]).size != sum(a.size for a in arrays)
                       or not all(adjacent(a, b) for a, b in zip(arrays, arrays[1:]))):
            return False
    return True


def views(vector, shapes):
    """Arrays of ``shapes`` that share ``vector``'s memory, one after the other."""
    out, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape, dtype=np.int64))
        out.append(vector[start:start + size].reshape(shape))
        start += size
    return out


def _address(a):
    return a.__array_interface__["data"][0]


def _owner(a):
    """The array whose memory ``a`` views (``a`` itself when it views a non-array buffer,
    such as the bytes an unpickled array lives in)."""
    return a.base if isinstance(a.base, np.ndarray) else a


def adjacent(a, b):
    """Whether ``b`` starts where ``a`` ends, both contiguous slices of one 1-D vector."""
    return (backend.xp is np and a.dtype == b.dtype and a.flags.c_contiguous
            and b.flags.c_contiguous and _owner(a) is _owner(b)
            and _address(a) + a.nbytes == _address(b))


def in_memory_order(items, array=lambda item: item):
    """``items`` sorted so that arrays of one vector come in the order they lie there."""
    def where(item):
        a = array(item)
        return id(_owner(a)), _address(a)
    return sorted(items, key=where) if backend.xp is np else list(items)


def joined(arrays):
    """One 1-D view spanning ``arrays``, which must lie back to back (see ``adjacent``)."""
    first = arrays[0]
    if not first.flags.c_contiguous:  # a reshape would copy: writes would be lost
        raise ValueError("arrays to join must be contiguous")
    if len(arrays) == 1:
        return first.reshape(-1)
    owner = _owner(first)
    if owner.ndim != 1 or not owner.flags.c_contiguous:
        raise ValueError("arrays to join must be slices of one contiguous vector")
    start = (_address(first) - _address(owner)) // first.itemsize
    return owner[start:start + sum(a.size for a in arrays)]
