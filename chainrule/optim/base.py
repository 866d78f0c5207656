"""What every optimiser shares: hyper-parameter checks, per-parameter state, checkpoints.

An optimiser changes ``p.value`` in place from ``p.grad``. Its memory (momentum,
running averages...) is a small dict of arrays per parameter, created lazily on the
parameter's first update, so building an optimiser costs nothing and a frozen
parameter never gets any. ``state_dict``/``load_state_dict`` turn that memory into
JSON-able numbers plus named arrays, the two halves of a checkpoint file.
"""
import inspect
import math
import numbers

import numpy as np

from .. import backend
from ..errors import InvalidValueError
from ..flat import adjacent, in_memory_order, joined


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidValueError(f"Invalid {name}: {value!r} (must be a number)")
    return float(value)


def check_positive(name, value):
    """A finite number > 0 (learning rates, epsilons), else ``Invalid <name>: <value>``."""
    number = _number(name, value)
    if not math.isfinite(number) or number <= 0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be a finite number > 0)")
    return number


def check_non_negative(name, value):
    """A finite number >= 0 (weight decay)."""
    number = _number(name, value)
    if not math.isfinite(number) or number < 0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be a finite number >= 0)")
    return number


def check_fraction(name, value):
    """A number in [0, 1): decay rates of running averages and momentum."""
    number = _number(name, value)
    if not 0.0 <= number < 1.0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be in [0, 1))")
    return number


class Optimizer:
    """Base class. ``step(params)`` updates every trainable parameter in place.

    A subclass gives ``init_state(p)`` (the zero buffers one parameter needs, as a dict
    name -> array) and ``update(p, state)`` (the update rule, written with in-place
    array operations). Its hyper-parameters are the arguments of its ``__init__``,
    stored under the same names; ``lr`` is the current learning rate, which schedules
    change between steps.

    Attributes:
        lr: the learning rate used by the next step.
        iterations: steps taken so far.
        state: ``{parameter: {buffer name: array}}``.
    """

    def __init__(self, lr):
        self.lr = check_positive("learning rate", lr)
        self.state = {}
        self.iterations = 0
        self._work = {}
        self._views = {}  # (parameter, slot) -> (its value, its view of the work buffer)
        self._key = None  # the last grouping of parameters, see _groups

    # ---- the update -------------------------------------------------------------------
    def step(self, params):
        """One update of every trainable parameter from its current ``grad``.

        Parameters that lie back to back in memory (a network packs them so) are
        updated together, as one vector: the same arithmetic, element by element, in
        a few array operations instead of a few per parameter.
        """
        self.iterations += 1
        for p, state in self._groups(params):
            self.update(p, state)

    def _groups(self, params):
        """(parameter or joined run of them, its state) pairs, cached while nothing moved."""
        get = self.state.get
        decays = bool(getattr(self, "weight_decay", 0))
        ids = [id(x) for p in params if p.trainable for x in (p, p.value, p.grad, get(p))]
        if self._key is None or self._key[0] != ids or self._key[1] != decays:
            trainable = [p for p in params if p.trainable]
            groups = self._group(trainable, decays)
            held = [x for p in trainable for x in (p, p.value, p.grad, get(p))]
            self._key = ([id(x) for x in held], decays, groups, held)  # held: ids stay unique
            self._views.clear()
        return self._key[2]

    def _group(self, params, decays):
        """Runs of ``params`` that lie back to back (``decays``: decay=False stays apart)."""
        runs = []
        for p in in_memory_order(params, lambda p: p.value):
            if p not in self.state:
                self.state[p] = self.init_state(p)
            state = self.state[p]
            for name, buf in state.items():  # step counters a previous run shared
                if buf.ndim == 0:
                    state[name] = buf.copy()
            last = runs[-1][-1] if runs else None
            if last is not None and adjacent(last.value, p.value) \
                    and adjacent(last.grad, p.grad) and not (decays and last.decay != p.decay):
                runs[-1].append(p)
            else:
                runs.append([p])
        groups = []
        for run in runs:
            state = self._joined_state(run) if len(run) > 1 else None
            if state is None:
                groups.extend((p, self.state[p]) for p in run)
            else:
                groups.append((_Joined(run), state))
        return groups

    def _joined_state(self, run):
        """The state of ``run`` as views of one vector per buffer (moving the buffers
        there if needed), or None when the parameters' step counts differ."""
        states = [self.state[p] for p in run]
        out = {}
        for name, first in states[0].items():
            arrays = [s[name] for s in states]
            if first.ndim == 0:  # a step counter: one, shared, when they agree
                if any(int(a) != int(first) for a in arrays):
                    return None
                for s in states:
                    s[name] = first
                out[name] = first
                continue
            if not all(adjacent(a, b) for a, b in zip(arrays, arrays[1:])):
                vector = backend.xp.concatenate([a.reshape(-1) for a in arrays])
                start = 0
                for s, a in zip(states, arrays):
                    s[name] = vector[start:start + a.size].reshape(a.shape)
                    start += a.size
                arrays = [s[name] for s in states]
            out[name] = joined(arrays)
        return out

    def init_state(self, p):
        """The buffers ``p`` needs, all zero: ``{name: array}`` (empty if none)."""
        return {}

    def update(self, p, state):
        raise NotImplementedError

    def scratch(self, p, slot=0):
        """A work array shaped like ``p``, for intermediate results of one update.

        Shared by all parameters (one flat buffer per dtype and slot, as large as the
        largest parameter), so steps allocate nothing; its contents mean nothing once
        ``update`` returns.
        """
        value = p.value
        seen = self._views.get((p, slot))
        if seen is not None and seen[0] is value:  # tiny networks: every call counts
            return seen[1]
        key = (type(value), value.dtype, slot)
        buf = self._work.get(key)
        if buf is None or buf.size < value.size:
            buf = self._work[key] = backend.xp.empty(value.size, dtype=value.dtype)
            self._views.clear()  # views of the smaller buffer
        view = buf[:value.size].reshape(value.shape)
        self._views[p, slot] = (value, view)
        return view

    def l2_gradient(self, p):
        r"""The gradient with the L2 term of coupled weight decay: :math:`g + \lambda w`.

        Parameters with ``decay=False`` (biases) are not decayed, as with the ``l2=``
        penalty of ``fit``. Without decay this is ``p.grad`` itself, which callers only read.
        """
        if not (self.weight_decay and p.decay):
            return p.grad
        g = self.scratch(p, 0)
        backend.xp.multiply(p.value, self.weight_decay, out=g)
        g += p.grad
        return g

    def __getstate__(self):  # copies and pickles regroup on their first step
        return {**self.__dict__, "_key": None, "_work": {}, "_views": {}}

    # ---- hyper-parameters and checkpoints ---------------------------------------------
    @classmethod
    def hyper_names(cls):
        """The constructor's arguments, which are also the attribute names."""
        return list(inspect.signature(cls.__init__).parameters)[1:]

    def state_dict(self, params):
        """The optimiser's state as ``{"hyper": {...}, "arrays": {...}}``.

        ``hyper`` holds JSON-able numbers: the hyper-parameters (with the current ``lr``),
        the step count and the optimiser's class name. ``arrays`` holds copies of the
        buffers, keyed ``"<index of the parameter in params>.<buffer name>"``.
        """
        hyper = {"optimizer": type(self).__name__, "iterations": self.iterations}
        hyper.update({name: getattr(self, name) for name in self.hyper_names()})
        arrays = {}
        for i, p in enumerate(params):
            for name, buf in self.state.get(p, {}).items():
                arrays[f"{i}.{name}"] = np.array(backend.to_numpy(buf))
        return {"hyper": hyper, "arrays": arrays}

    def load_state_dict(self, params, state):
        """Restore what ``state_dict(params)`` returned, so training continues bit for bit.

        Everything is checked before anything changes: the optimiser type, every
        hyper-parameter, and each array's key, shape and dtype against the buffer the
        parameter at that index needs.
        """
        params = list(params)
        if not isinstance(state, dict) or set(state) != {"hyper", "arrays"}:
            raise InvalidValueError("optimiser state must be a dict with keys 'hyper' and "
                                    "'arrays', as returned by state_dict(params)")
        configured = self._checked_hyper(state["hyper"])
        new_state = {}  # parameter index -> its fresh buffers, filled from the arrays
        for key, value in state["arrays"].items():
            index, _, name = str(key).partition(".")
            if not index.isdigit() or int(index) >= len(params):
                raise InvalidValueError(f"optimiser state key {key!r} does not name one of the "
                                        f"{len(params)} parameters ('<index>.<buffer>')")
            index = int(index)
            if index not in new_state:
                new_state[index] = configured.init_state(params[index])
            buffers = new_state[index]
            if name not in buffers:
                raise InvalidValueError(f"optimiser state key {key!r}: {type(self).__name__} "
                                        f"keeps {sorted(buffers) or 'no buffers'} for a parameter")
            _copy_into(key, buffers[name], value)
        for index, buffers in new_state.items():
            for name in buffers:
                if f"{index}.{name}" not in state["arrays"]:
                    raise InvalidValueError(f"optimiser state key '{index}.{name}' is missing")
        for name in self.hyper_names():
            setattr(self, name, getattr(configured, name))
        self.iterations = configured.iterations
        self.state = {params[index]: buffers for index, buffers in new_state.items()}

    def _checked_hyper(self, hyper):
        """A fresh optimiser of this type configured from ``hyper``, or a clear error."""
        if not isinstance(hyper, dict):
            raise InvalidValueError(f"optimiser state 'hyper' must be a dict, got {hyper!r}")
        kind = hyper.get("optimizer")
        if kind != type(self).__name__:
            raise InvalidValueError(f"optimiser state is for {kind}, not {type(self).__name__}")
        names = self.hyper_names()
        expected = {"optimizer", "iterations", *names}
        for key in sorted(set(hyper) ^ expected):
            what = "is missing" if key in expected else "is not a hyper-parameter of"
            raise InvalidValueError(f"optimiser state key {key!r} {what} {type(self).__name__}")
        iterations = hyper["iterations"]
        if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) \
                or iterations < 0:
            raise InvalidValueError(f"optimiser state 'iterations' must be an integer >= 0, "
                                    f"got {iterations!r}")
        # A schedule may have driven lr to 0 (the end of a cosine), which __init__ refuses.
        lr = check_non_negative("learning rate", hyper["lr"])
        configured = type(self)(**{name: hyper[name] for name in names if name != "lr"}, lr=1.0)
        configured.lr, configured.iterations = lr, int(iterations)
        return configured

    def __repr__(self):
        defaults = inspect.signature(type(self).__init__).parameters
        parts = [f"{name}={getattr(self, name)}" for name in self.hyper_names()
                 if name == "lr" or getattr(self, name) != defaults[name].default]
        return f"{type(self).__name__}({', '.join(parts)})"


class _Joined:
    """Neighbouring parameters updated as one: their values and gradients joined."""

    __slots__ = ("value", "grad", "decay", "trainable", "name")

    def __init__(self, run):
        self.value = joined([p.value for p in run])
        self.grad = joined([p.grad for p in run])
        self.decay = run[0].decay  # the same for the whole run when it matters
        self.trainable = True
        self.name = "+".join(p.name for p in run)

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)


def _copy_into(key, buf, value):
    """Copy a saved array into a fresh buffer after checking its shape and dtype."""
    array = np.asarray(backend.to_numpy(value))
    if array.shape != tuple(buf.shape):
        raise InvalidValueError(f"optimiser state key {key!r}: shape {array.shape} does not "
                                f"match the parameter's buffer {tuple(buf.shape)}")
    backend.check_same_dtype(f"optimiser state key {key!r}", buf.dtype, array.dtype)
    buf[...] = backend.xp.asarray(array) if isinstance(buf, backend.xp.ndarray) else array
