"""Learning-rate schedules: closed-form sequences and a planted plateau metric."""
import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import (SGD, Adam, CosineLR, ExponentialLR, ReduceLROnPlateau, StepLR,
                             schedules)


def rates(schedule, units):
    """optimizer.lr for units 0, 1, ..., units - 1 (the rate is set before each unit)."""
    seen = [schedule.optimizer.lr]
    for _ in range(units - 1):
        schedule.step()
        seen.append(schedule.optimizer.lr)
    return seen


def test_step_lr():
    seen = rates(StepLR(SGD(0.8), step_size=3, gamma=0.5), 10)
    expected = [0.8] * 3 + [0.4] * 3 + [0.2] * 3 + [0.1]
    np.testing.assert_allclose(seen, expected, rtol=1e-15)


def test_exponential_lr():
    seen = rates(ExponentialLR(SGD(0.5), gamma=0.9), 12)
    np.testing.assert_allclose(seen, [0.5 * 0.9 ** k for k in range(12)], rtol=1e-14)


def test_gamma_one_keeps_the_rate():
    assert rates(ExponentialLR(SGD(0.3), gamma=1.0), 5) == [0.3] * 5


def test_cosine_without_warmup():
    base, low, T = 0.1, 0.01, 10
    seen = rates(CosineLR(SGD(base), total_steps=T, min_lr=low), 14)
    expected = [low + (base - low) * (1 + math.cos(math.pi * k / T)) / 2 for k in range(T + 1)]
    np.testing.assert_allclose(seen[:T + 1], expected, rtol=1e-14)
    assert seen[0] == base
    assert seen[5] == pytest.approx((base + low) / 2, rel=1e-14)   # half way down
    assert seen[T:] == [low] * 4                                    # held at the floor


def test_cosine_with_warmup():
    base, W, T = 0.4, 4, 12
    seen = rates(CosineLR(SGD(base), total_steps=T, warmup_steps=W), 14)
    # warm-up 0.08, 0.16, 0.24, 0.32, then 0.4 at k = W, down to 0 at k = T
    np.testing.assert_allclose(seen[:W + 1], [0.08, 0.16, 0.24, 0.32, 0.4], rtol=1e-14)
    cosine = [base * (1 + math.cos(math.pi * (k - W) / (T - W))) / 2 for k in range(W, T + 1)]
    np.testing.assert_allclose(seen[W:T + 1], cosine, rtol=1e-14, atol=1e-17)
    assert seen[T] == 0.0 and seen[T + 1] == 0.0


def test_schedule_drives_the_optimiser_step():
    p = cr.Parameter(np.array([1.0]), "w")
    opt = SGD(1.0)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad[...] = 1.0
        opt.step([p])
        schedule.step()
    assert p.value[0] == 1.0 - (1.0 + 0.5 + 0.25)
    assert opt.lr == 0.125


def plateau_rates(schedule, metrics):
    seen = []
    for value in metrics:
        schedule.step(value)
        seen.append(schedule.optimizer.lr)
    return seen


def test_plateau_reduces_after_patience_bad_units():
    schedule = ReduceLROnPlateau(SGD(1.0), factor=0.5, patience=2)
    metrics = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.85, 0.85, 0.7, 0.75]
    # best:    1.0  0.9  -bad1 -bad2 -bad3>2: halve, 0.8  -b1   -b2   -b3: halve, 0.7  -b1
    expected = [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert plateau_rates(schedule, metrics) == expected
    assert schedule.best == 0.7 and schedule.bad_steps == 1


def test_plateau_patience_zero_and_min_delta():
    schedule = ReduceLROnPlateau(SGD(1.0), factor=0.1, patience=0, min_delta=0.05)
    # 0.97 is not below 1.0 - 0.05: no improvement, so the rate drops at once.
    metrics = [1.0, 0.97, 0.9, 0.86, 0.84]
    # 0.9 < 0.95 improves; 0.86 is not < 0.85: drop; 0.84 < 0.85 improves
    assert plateau_rates(schedule, metrics) == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])


def test_plateau_mode_max_and_floor():
    schedule = ReduceLROnPlateau(SGD(1.0), factor=0.5, patience=1, mode="max", min_lr=0.3)
    metrics = [0.5, 0.6, 0.6, 0.55, 0.7, 0.6, 0.6, 0.6, 0.6]
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]
    assert plateau_rates(schedule, metrics) == expected


def test_plateau_nan_never_improves():
    schedule = ReduceLROnPlateau(SGD(1.0), factor=0.5, patience=0)
    assert plateau_rates(schedule, [float("nan"), 2.0, float("nan")]) == [0.5, 0.5, 0.25]


def test_plateau_never_raises_a_rate_below_min_lr():
    opt = SGD(0.01)
    schedule = ReduceLROnPlateau(opt, patience=0, min_lr=0.1)
    plateau_rates(schedule, [1.0, 2.0, 3.0])
    assert opt.lr == 0.01


def test_get_by_name():
    opt = SGD(0.1)
    assert isinstance(schedules.get("step", opt, step_size=2), StepLR)
    assert isinstance(schedules.get("exponential", opt, gamma=0.5), ExponentialLR)
    assert isinstance(schedules.get("cosine", opt, total_steps=5), CosineLR)
    assert isinstance(schedules.get("plateau", opt, patience=1), ReduceLROnPlateau)


@pytest.mark.parametrize("name", ["linear", "Step", None])
def test_get_unknown_name(name):
    with pytest.raises(cr.UnknownNameError, match="cosine, exponential, plateau, step"):
        schedules.get(name, SGD(0.1))


@pytest.mark.parametrize("make, match", [
    (lambda o: StepLR(o, step_size=0), "Invalid step_size: 0"),
    (lambda o: StepLR(o, step_size=2.5), "Invalid step_size: 2.5"),
    (lambda o: StepLR(o, step_size=2, gamma=0), "Invalid gamma: 0"),
    (lambda o: ExponentialLR(o, gamma=1.5), "Invalid gamma: 1.5"),
    (lambda o: CosineLR(o, total_steps=0), "Invalid total_steps: 0"),
    (lambda o: CosineLR(o, total_steps=5, warmup_steps=5), "Invalid warmup_steps: 5"),
    (lambda o: CosineLR(o, total_steps=5, warmup_steps=-1), "Invalid warmup_steps: -1"),
    (lambda o: CosineLR(o, total_steps=5, min_lr=0.2), "Invalid min_lr: 0.2"),
    (lambda o: CosineLR(o, total_steps=5, min_lr=-0.1), "Invalid min_lr: -0.1"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), "Invalid factor: 1.0"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), "Invalid patience: -1"),
    (lambda o: ReduceLROnPlateau(o, min_delta=-0.1), "Invalid min_delta: -0.1"),
    (lambda o: ReduceLROnPlateau(o, min_lr=float("nan")), "Invalid min_lr: nan"),
    (lambda o: StepLR(object(), step_size=1), "needs an optimiser with a numeric lr"),
])
def test_bad_arguments(make, match):
    with pytest.raises(cr.InvalidValueError, match=match):
        make(SGD(0.1))


def test_bad_mode_and_metric():
    with pytest.raises(cr.UnknownNameError, match="plateau mode 'avg'"):
        ReduceLROnPlateau(SGD(0.1), mode="avg")
    with pytest.raises(cr.InvalidValueError, match="Invalid metric"):
        ReduceLROnPlateau(SGD(0.1)).step("0.5")


@pytest.mark.parametrize("make", [
    lambda o: StepLR(o, step_size=3, gamma=0.5),
    lambda o: ExponentialLR(o, gamma=0.8),
    lambda o: CosineLR(o, total_steps=12, min_lr=0.01, warmup_steps=3),
])
def test_closed_form_state_round_trip(make):
    whole = make(Adam(0.1))
    expected = rates(whole, 15)
    first = make(Adam(0.1))
    seen = rates(first, 6)
    state = json.loads(json.dumps(first.state_dict()))
    resumed = make(Adam(0.5))            # a different base: the state restores it
    resumed.load_state_dict(state)
    assert resumed.optimizer.lr == seen[-1]
    assert seen[:-1] + rates(resumed, 10) == expected


def test_plateau_state_round_trip():
    metrics = [1.0, 0.9, 0.95, 0.92, 0.91, 0.8, 0.85, 0.85, 0.85, 0.7]
    expected = plateau_rates(ReduceLROnPlateau(SGD(1.0), factor=0.5, patience=2), metrics)
    first_opt = SGD(1.0)
    first = ReduceLROnPlateau(first_opt, factor=0.5, patience=2)
    head = plateau_rates(first, metrics[:7])
    state = json.loads(json.dumps(first.state_dict()))
    assert state["best"] == 0.8 and state["bad_steps"] == 1
    opt = SGD(1.0)
    opt.lr = first_opt.lr                # the rate itself is the optimiser's state
    resumed = ReduceLROnPlateau(opt)     # default options: the state restores them
    resumed.load_state_dict(state)
    assert (resumed.factor, resumed.patience) == (0.5, 2)
    assert head + plateau_rates(resumed, metrics[7:]) == expected


def test_fresh_plateau_state_is_json():
    state = ReduceLROnPlateau(SGD(1.0)).state_dict()
    assert state["best"] is None
    json.dumps(state, allow_nan=False)


def test_load_rejects_mismatched_state():
    state = StepLR(SGD(0.1), step_size=2).state_dict()
    with pytest.raises(cr.InvalidValueError, match="is for 'step', not 'exponential'"):
        ExponentialLR(SGD(0.1), gamma=0.5).load_state_dict(state)
    with pytest.raises(cr.InvalidValueError, match="Invalid gamma: 2"):
        StepLR(SGD(0.1), step_size=2).load_state_dict({**state, "gamma": 2})
    with pytest.raises(cr.InvalidValueError, match="key 'step_size' is missing"):
        StepLR(SGD(0.1), step_size=2).load_state_dict(
            {k: v for k, v in state.items() if k != "step_size"})
    with pytest.raises(cr.InvalidValueError, match="key 'extra' is not part of"):
        StepLR(SGD(0.1), step_size=2).load_state_dict({**state, "extra": 1})
    with pytest.raises(cr.InvalidValueError, match="Invalid steps: -1"):
        StepLR(SGD(0.1), step_size=2).load_state_dict({**state, "steps": -1})
