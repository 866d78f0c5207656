r"""Learning-rate schedules: change ``optimizer.lr`` as training goes on.

A schedule wraps an optimiser, remembers its learning rate at construction as the base
:math:`\eta_0`, and sets ``optimizer.lr`` for unit :math:`k = 0` at once. Each ``step()``
advances one unit and sets the rate for the next one; whether a unit is an epoch or an
iteration is the caller's choice (call ``step()`` after each)::

    schedule = CosineLR(optimizer, total_steps=epochs)
    for epoch in range(epochs):
        ...train one epoch with optimizer.lr...
        schedule.step()

:class:`ReduceLROnPlateau` instead reacts to a monitored value: ``step(val_loss)``.
``get("cosine", optimizer, total_steps=100)`` builds one by name.
"""
import inspect
import math
import numbers

from ..errors import InvalidValueError, unknown
from .base import _number, check_non_negative


def _count(name, value, minimum):
    """An integer >= minimum (step counts, patience)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidValueError(f"Invalid {name}: {value!r} (must be an integer >= {minimum})")
    return int(value)


def _gamma(name, value):
    """A multiplicative factor in (0, 1]."""
    number = _number(name, value)
    if not 0.0 < number <= 1.0:
        raise InvalidValueError(f"Invalid {name}: {value} (must be in (0, 1])")
    return number


class _Lr:
    """A stand-in optimiser, to check a saved configuration by building a schedule on it."""

    def __init__(self, lr):
        self.lr = lr


class Schedule:
    """Base class: the wrapped optimiser, its base learning rate and the units stepped.

    Attributes:
        optimizer: the optimiser whose ``lr`` this schedule sets.
        base_lr: ``optimizer.lr`` when the schedule was made.
        steps: calls to ``step()`` so far (:math:`k`).
    """

    name = None

    def __init__(self, optimizer):
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr):
            raise InvalidValueError(f"a learning-rate schedule needs an optimiser with a "
                                    f"numeric lr attribute, got {optimizer!r}")
        self.optimizer = optimizer
        self.base_lr = float(lr)
        self.steps = 0

    @classmethod
    def option_names(cls):
        """The constructor's arguments after the optimiser, stored under the same names."""
        return list(inspect.signature(cls.__init__).parameters)[2:]

    def state_dict(self):
        """JSON-able numbers: the schedule's name, options, base lr and counters."""
        state = {"schedule": self.name, "base_lr": self.base_lr, "steps": self.steps}
        state.update({name: getattr(self, name) for name in self.option_names()})
        return state

    def load_state_dict(self, state):
        """Restore ``state_dict()``; options are checked as the constructor checks them."""
        if not isinstance(state, dict):
            raise InvalidValueError(f"schedule state must be a dict, got {state!r}")
        if state.get("schedule") != self.name:
            raise InvalidValueError(f"schedule state is for {state.get('schedule')!r}, "
                                    f"not {self.name!r}")
        expected = set(self.state_dict())
        for key in sorted(set(state) ^ expected):
            what = "is missing" if key in expected else "is not part of"
            raise InvalidValueError(f"schedule state key {key!r} {what} a {self.name!r} schedule")
        base_lr = _number("base_lr", state["base_lr"])
        steps = _count("steps", state["steps"], 0)
        checked = type(self)(_Lr(base_lr), **{name: state[name] for name in self.option_names()})
        for name in self.option_names():
            setattr(self, name, getattr(checked, name))
        self.base_lr, self.steps = base_lr, steps
        return checked

    def __repr__(self):
        options = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.option_names())
        return f"{type(self).__name__}({options}, base_lr={self.base_lr}, steps={self.steps})"


class _ClosedForm(Schedule):
    """A schedule whose rate is a formula of the unit count: ``lr_at(k)``."""

    def step(self):
        """Advance one unit and set the optimiser's learning rate for the next one."""
        self.steps += 1
        self.optimizer.lr = self.lr_at(self.steps)

    def lr_at(self, k):
        raise NotImplementedError

    def load_state_dict(self, state):
        """Restore the counters and set ``optimizer.lr`` to the rate they give."""
        super().load_state_dict(state)
        self.optimizer.lr = self.lr_at(self.steps)


class StepLR(_ClosedForm):
    r"""Multiply the rate by ``gamma`` every ``step_size`` units: :math:`\eta_k = \eta_0\,
    \gamma^{\lfloor k / s \rfloor}` (``torch.optim.lr_scheduler.StepLR``)."""

    name = "step"

    def __init__(self, optimizer, step_size, gamma=0.1):
        super().__init__(optimizer)
        self.step_size = _count("step_size", step_size, 1)
        self.gamma = _gamma("gamma", gamma)
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, k):
        return self.base_lr * self.gamma ** (k // self.step_size)


class ExponentialLR(_ClosedForm):
    r"""Multiply the rate by ``gamma`` every unit: :math:`\eta_k = \eta_0\, \gamma^k`
    (``torch.optim.lr_scheduler.ExponentialLR``)."""

    name = "exponential"

    def __init__(self, optimizer, gamma):
        super().__init__(optimizer)
        self.gamma = _gamma("gamma", gamma)
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, k):
        return self.base_lr * self.gamma ** k


class CosineLR(_ClosedForm):
    r"""Linear warm-up, then half a cosine from the base rate down to ``min_lr``.

    With :math:`W` warm-up units and :math:`T` units in total:

    .. math::
        \eta_k = \begin{cases}
            \eta_0\, \dfrac{k + 1}{W + 1} & k < W \\[1ex]
            \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})
                \left(1 + \cos\left(\pi\, \dfrac{k - W}{T - W}\right)\right) & W \le k \le T \\[1ex]
            \eta_{\min} & k > T
        \end{cases}

    The warm-up rises in equal steps from 0 (as if at :math:`k = -1`) to exactly
    :math:`\eta_0` at :math:`k = W`, so no unit runs with a zero rate and none repeats
    :math:`\eta_0`; a few small steps first keep adaptive optimisers, whose early
    statistics are noisy, from jumping far. The cosine part is
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``T_max`` :math:`= T - W`,
    held at :math:`\eta_{\min}` after :math:`T` instead of rising again.
    """

    name = "cosine"

    def __init__(self, optimizer, total_steps, min_lr=0.0, warmup_steps=0):
        super().__init__(optimizer)
        self.total_steps = _count("total_steps", total_steps, 1)
        self.min_lr = check_non_negative("min_lr", min_lr)
        if self.min_lr > self.base_lr:
            raise InvalidValueError(f"Invalid min_lr: {min_lr} (must not exceed the "
                                    f"optimiser's learning rate {self.base_lr})")
        self.warmup_steps = _count("warmup_steps", warmup_steps, 0)
        if self.warmup_steps >= self.total_steps:
            raise InvalidValueError(f"Invalid warmup_steps: {warmup_steps} (must be less than "
                                    f"total_steps={self.total_steps})")
        self.optimizer.lr = self.lr_at(0)

    def lr_at(self, k):
        W, T = self.warmup_steps, self.total_steps
        if k < W:
            return self.base_lr * (k + 1) / (W + 1)
        if k > T:
            return self.min_lr
        cosine = 1 + math.cos(math.pi * (k - W) / (T - W))
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * cosine


class ReduceLROnPlateau(Schedule):
    r"""Multiply the rate by ``factor`` when a monitored value stops improving.

    ``step(metric)`` after each unit (usually an epoch, with the validation loss). A
    value improves on the best so far when it is below ``best - min_delta`` (mode
    ``"min"``) or above ``best + min_delta`` (mode ``"max"``); the first value always
    does, NaN never does. After more than ``patience`` units in a row without
    improvement,

    .. math:: \eta \leftarrow \max(\eta\,\text{factor},\ \eta_{\min})

    and the count starts again. This is ``torch.optim.lr_scheduler.ReduceLROnPlateau``
    with an absolute threshold and no cooldown; ``patience=0`` reduces after the first
    unit that does not improve. The rate lives in the optimiser (and its state), not here.
    """

    name = "plateau"

    def __init__(self, optimizer, factor=0.1, patience=10, min_delta=0.0, mode="min",
                 min_lr=0.0):
        super().__init__(optimizer)
        factor = _number("factor", factor)
        if not 0.0 < factor < 1.0:
            raise InvalidValueError(f"Invalid factor: {factor} (must be in (0, 1))")
        self.factor = factor
        self.patience = _count("patience", patience, 0)
        self.min_delta = check_non_negative("min_delta", min_delta)
        if mode not in ("min", "max"):
            raise unknown("plateau mode", mode, ["min", "max"])
        self.mode = mode
        self.min_lr = check_non_negative("min_lr", min_lr)
        self.best = None       # best monitored value so far
        self.bad_steps = 0     # units in a row without improvement

    def step(self, metric):
        """Record the monitored value of the unit just finished; maybe lower the rate."""
        value = _number("metric", metric)
        self.steps += 1
        if self._improves(value):
            self.best, self.bad_steps = value, 0
        else:
            self.bad_steps += 1
        if self.bad_steps > self.patience:
            lowered = max(self.optimizer.lr * self.factor, self.min_lr)
            if lowered < self.optimizer.lr:    # never raise a rate already below min_lr
                self.optimizer.lr = lowered
            self.bad_steps = 0

    def _improves(self, value):
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def state_dict(self):
        state = super().state_dict()
        state.update(best=self.best, bad_steps=self.bad_steps)
        return state

    def load_state_dict(self, state):
        checked = super().load_state_dict(state)
        best = state["best"]
        self.best = None if best is None else _number("best", best)
        self.bad_steps = _count("bad_steps", state["bad_steps"], 0)
        return checked


SCHEDULES = {"step": StepLR, "exponential": ExponentialLR, "cosine": CosineLR,
             "plateau": ReduceLROnPlateau}


def get(name, optimizer, **options):
    """A schedule by name: ``get("step", optimizer, step_size=30, gamma=0.1)``.

    Names: ``"step"``, ``"exponential"``, ``"cosine"``, ``"plateau"``.
    """
    if not isinstance(name, str) or name not in SCHEDULES:
        raise unknown("learning-rate schedule", name, SCHEDULES)
    return SCHEDULES[name](optimizer, **options)
