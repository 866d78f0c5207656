"""Optimiser state: save, restore, continue bit for bit; clear errors for bad state."""
import json
import tracemalloc

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, AdaGrad, Adam, AdamW, CosineLR, RMSProp

X = np.array([[0.5, -1.0], [1.5, 0.3], [-0.7, 0.8], [0.1, 0.2]])
Y = np.array([0.3, -0.5, 0.9, 0.1])

OPTIMISERS = {
    "sgd": lambda: SGD(0.1),
    "sgd-nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda: AdaGrad(0.1, weight_decay=0.01),
    "rmsprop": lambda: RMSProp(0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "adam": lambda: Adam(0.01, weight_decay=0.01),
    "adam-amsgrad": lambda: Adam(0.01, beta2=0.9, amsgrad=True),
    "adamw": lambda: AdamW(0.01, weight_decay=0.1, amsgrad=True),
}


def network():
    net = cr.mlp([2, 3, 1], activation="tanh", output="identity", dtype="float64", seed=0)
    net.parameters()[3].trainable = False      # a frozen bias: never gets state
    return net


def train(net, opt, steps):
    loss = cr.SquaredError()
    target = loss.prepare_target(Y, 1, net.dtype)
    for _ in range(steps):
        net.compute_gradients(loss, X, target)
        opt.step(net.parameters())


def through_a_file(state):
    """What a checkpoint does: hyper-parameters as JSON, arrays as safetensors."""
    from safetensors.numpy import load, save

    return {"hyper": json.loads(json.dumps(state["hyper"], allow_nan=False)),
            "arrays": load(save(state["arrays"])) if state["arrays"] else {}}


@pytest.mark.parametrize("name", OPTIMISERS)
def test_resume_is_bit_identical(name):
    make = OPTIMISERS[name]
    straight = network()
    train(straight, make(), 20)

    net, opt = network(), make()
    train(net, opt, 10)
    state = through_a_file(opt.state_dict(net.parameters()))
    fresh = make()
    fresh.load_state_dict(net.parameters(), state)
    assert fresh.iterations == 10
    train(net, fresh, 10)

    for a, b in zip(straight.parameters(), net.parameters()):
        assert np.array_equal(a.value, b.value)
    assert np.array_equal(net.parameters()[3].value, network().parameters()[3].value)


def test_keys_name_parameter_index_and_buffer():
    net, opt = network(), Adam(0.01, amsgrad=True)
    train(net, opt, 3)
    state = opt.state_dict(net.parameters())
    assert sorted(state["arrays"]) == sorted(f"{i}.{name}" for i in (0, 1, 2)
                                             for name in ("step", "m", "v", "v_max"))
    assert state["arrays"]["2.step"].shape == () and int(state["arrays"]["2.step"]) == 3
    assert state["arrays"]["0.m"].shape == (3, 2)
    assert state["hyper"] == {"optimizer": "Adam", "iterations": 3, "lr": 0.01, "beta1": 0.9,
                              "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": True}
    assert SGD(0.1).state_dict(net.parameters())["arrays"] == {}


def test_state_dict_is_a_copy():
    net, opt = network(), SGD(0.1, momentum=0.9)
    train(net, opt, 2)
    params = net.parameters()
    state = opt.state_dict(params)
    state["arrays"]["0.b"][...] = 123.0
    assert not np.any(opt.state[params[0]]["b"] == 123.0)


def test_hyper_parameters_and_scheduled_lr_are_restored():
    opt = SGD(0.4, momentum=0.9)
    schedule = CosineLR(opt, total_steps=2)
    schedule.step()
    schedule.step()
    assert opt.lr == 0.0                 # the end of the cosine: a rate __init__ refuses
    other = SGD(1.0)
    other.load_state_dict([], opt.state_dict([]))
    assert (other.lr, other.momentum, other.iterations) == (0.0, 0.9, 0)


def trained_state(make=lambda: Adam(0.01)):
    net, opt = network(), make()
    train(net, opt, 2)
    return net.parameters(), opt.state_dict(net.parameters())


@pytest.mark.parametrize("key, value, match", [
    ("0.m", np.zeros((2, 3)), r"key '0.m': shape \(2, 3\) does not match .* \(3, 2\)"),
    ("0.velocity", np.zeros((3, 2)), r"key '0.velocity': Adam keeps \['m', 'step', 'v'\]"),
    ("7.m", np.zeros((3, 2)), r"key '7.m' does not name one of the 4 parameters"),
    ("w.m", np.zeros((3, 2)), r"key 'w.m' does not name one of the 4 parameters"),
    ("1.v", None, r"key '1.v' is missing"),
])
def test_bad_arrays_name_the_key(key, value, match):
    params, state = trained_state()
    arrays = dict(state["arrays"])
    if value is None:
        del arrays[key]
    else:
        arrays[key] = value
    opt = Adam(0.01)
    with pytest.raises(cr.InvalidValueError, match=match):
        opt.load_state_dict(params, {"hyper": state["hyper"], "arrays": arrays})
    assert opt.state == {} and opt.iterations == 0 and opt.lr == 0.01   # nothing changed


def test_dtype_mismatch_is_an_error():
    params, state = trained_state()
    state["arrays"]["0.m"] = state["arrays"]["0.m"].astype(np.float32)
    with pytest.raises(cr.DTypeError, match="'0.m'"):
        Adam(0.01).load_state_dict(params, state)


@pytest.mark.parametrize("hyper, match", [
    (dict(optimizer="SGD"), "optimiser state is for SGD, not Adam"),
    (dict(beta1=1.5), "Invalid beta1 parameter: 1.5"),
    (dict(lr=-1), "Invalid learning rate: -1"),
    (dict(iterations=-2), "'iterations' must be an integer >= 0"),
    (dict(momentum=0.9), "key 'momentum' is not a hyper-parameter of Adam"),
    (dict(eps=None), "key 'eps' is missing"),
])
def test_bad_hyper_parameters_are_rejected(hyper, match):
    params, state = trained_state()
    merged = {**state["hyper"], **hyper}
    merged = {k: v for k, v in merged.items() if v is not None}
    with pytest.raises(cr.InvalidValueError, match=match):
        Adam(0.01).load_state_dict(params, {"hyper": merged, "arrays": state["arrays"]})


def test_state_must_have_both_halves():
    with pytest.raises(cr.InvalidValueError, match="'hyper' and 'arrays'"):
        SGD(0.1).load_state_dict([], {"arrays": {}})


def test_buffers_follow_the_loaded_configuration():
    # An SGD state with momentum loads into an SGD made without it.
    params, state = trained_state(lambda: SGD(0.1, momentum=0.9))
    opt = SGD(0.1)
    opt.load_state_dict(params, state)
    assert opt.momentum == 0.9 and set(opt.state[params[0]]) == {"b"}


@pytest.mark.parametrize("name", OPTIMISERS)
def test_steps_allocate_no_arrays(name):
    """The hot path: after the first step, updates work in preallocated buffers."""
    big = cr.Parameter(np.zeros((500, 400)), "w")      # 1.6 MB
    small = cr.Parameter(np.zeros(400), "b", decay=False)
    big.grad[...], small.grad[...] = 0.01, -0.02
    opt = OPTIMISERS[name]()
    opt.step([big, small])
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step([big, small])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < big.value.nbytes / 10
