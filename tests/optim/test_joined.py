"""Neighbouring parameters updated as one vector give the same bits as one by one."""
import copy
import pickle

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import SGD, AdaGrad, Adam, AdamW, RMSProp
from chainrule.parameter import Parameter

OPTIMISERS = {
    "sgd": lambda: SGD(0.1),
    "sgd-nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda: AdaGrad(0.1, weight_decay=0.01),
    "rmsprop": lambda: RMSProp(0.01, momentum=0.5, centered=True),
    "adam": lambda: Adam(0.01),
    "adam-decay": lambda: Adam(0.01, weight_decay=0.01),
    "adam-amsgrad": lambda: Adam(0.01, beta2=0.9, amsgrad=True),
    "adamw": lambda: AdamW(0.01, weight_decay=0.1),
}


def network(dtype="float64"):
    net = cr.mlp([3, 5, 4, 2], activation="tanh", dtype=dtype, seed=0)
    net.layers[2].bias.trainable = False   # a frozen bias between trainable parameters
    return net


def loose(params):
    """Copies of ``params`` that each own their arrays: nothing to join."""
    return [Parameter(p.value.copy(), p.name, p.trainable, p.decay) for p in params]


def run(params, opt, grads):
    for step in grads:
        for p, g in zip(params, step):
            p.grad[...] = g
        opt.step(params)


def random_grads(params, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(p.value.shape).astype(p.value.dtype) for p in params]
            for _ in range(steps)]


def groups(opt, params):
    return [len(getattr(p, "name", "").split("+")) for p, _ in opt._groups(params)]


@pytest.mark.parametrize("name", OPTIMISERS)
def test_joined_update_equals_one_by_one(name):
    net = network()
    packed, apart = net.parameters(), loose(net.parameters())
    grads = random_grads(packed, 6)
    opt_packed, opt_apart = OPTIMISERS[name](), OPTIMISERS[name]()
    run(packed, opt_packed, grads)
    run(apart, opt_apart, grads)
    assert max(groups(opt_packed, packed)) > 1        # something was joined
    assert max(groups(opt_apart, apart)) == 1
    for p, q in zip(packed, apart):
        np.testing.assert_array_equal(p.value, q.value)
    a, b = opt_packed.state_dict(packed), opt_apart.state_dict(apart)
    assert a["hyper"] == b["hyper"] and a["arrays"].keys() == b["arrays"].keys()
    for key in a["arrays"]:
        np.testing.assert_array_equal(a["arrays"][key], b["arrays"][key])


def test_the_frozen_bias_is_packed_last_and_never_moves():
    net = network()
    frozen = net.layers[2].bias
    before = frozen.value.copy()
    opt = Adam(0.1)
    run(net.parameters(), opt, random_grads(net.parameters(), 3))
    np.testing.assert_array_equal(frozen.value, before)
    assert frozen not in opt.state


def test_weights_then_biases_so_weight_decay_splits_them_in_two_runs():
    net = cr.mlp([3, 4, 2], dtype="float64", seed=0)     # weight, bias, weight, bias
    assert groups(Adam(0.1), net.parameters()) == [4]
    assert groups(Adam(0.1, weight_decay=0.1), net.parameters()) == [2, 2]
    net.parameters()[1].decay = True     # the first bias decays, and joins the weights
    assert groups(Adam(0.1, weight_decay=0.1), net.parameters()) == [3, 1]


def test_a_network_keeps_values_and_gradients_in_one_vector_each():
    net = cr.mlp([3, 4, 2], seed=0)
    params = net.parameters()
    for what in ("value", "grad"):
        arrays = [getattr(p, what) for p in params]
        base = arrays[0].base
        assert base is not None and all(a.base is base for a in arrays)
        assert base.size == sum(a.size for a in arrays)
    clones = [copy.deepcopy(net), pickle.loads(pickle.dumps(net)), net.astype("float64")]
    for clone in clones:
        values = [p.value for p in clone.parameters()]
        assert all(v.base is values[0].base for v in values) and values[0].base is not None
        for p, q in zip(params, clone.parameters()):
            np.testing.assert_array_equal(p.value, q.value.astype(p.value.dtype))


def test_loaded_state_is_joined_again_and_continues_bit_for_bit():
    grads = random_grads(network().parameters(), 8, seed=3)
    straight = network()
    run(straight.parameters(), Adam(0.01), grads)

    net = network()
    params = net.parameters()
    opt = Adam(0.01)
    run(params, opt, grads[:4])
    fresh = Adam(0.01)
    fresh.load_state_dict(params, opt.state_dict(params))   # separate arrays again
    run(params, fresh, grads[4:])
    assert max(groups(fresh, params)) > 1
    for p, q in zip(straight.parameters(), params):
        np.testing.assert_array_equal(p.value, q.value)


def test_parameters_moved_out_of_the_vector_are_updated_one_by_one():
    net = network()
    params = net.parameters()
    opt = SGD(0.5)
    run(params, opt, random_grads(params, 1))
    layer = net.layers[0]
    layer.weight.value = layer.weight.value.copy()     # e.g. set by hand
    before = layer.weight.value.copy()
    grads = random_grads(params, 1, seed=1)
    run(params, opt, grads)
    np.testing.assert_array_equal(layer.weight.value, before - np.float64(0.5) * grads[0][0])


def test_differing_step_counts_are_not_joined():
    net = network()
    params = net.parameters()
    opt = Adam(0.01)
    params[0].trainable = False                      # trains later than the others
    run(params, opt, random_grads(params, 2))
    params[0].trainable = True
    apart = loose(params)
    opt_apart = copy.deepcopy(opt)
    opt_apart.state = {q: {k: np.array(v) for k, v in opt.state[p].items()}
                       for p, q in zip(params, apart) if p in opt.state}
    grads = random_grads(params, 3, seed=5)
    run(params, opt, grads)
    run(apart, opt_apart, grads)
    assert int(opt.state[params[0]]["step"]) == 3 and int(opt.state[params[1]]["step"]) == 5
    for p, q in zip(params, apart):
        np.testing.assert_array_equal(p.value, q.value)


def test_a_copy_sharing_the_parameters_leaves_them_where_they_are():
    net = network()
    params = net.parameters()
    arrays = [p.value for p in params]
    memo = {id(p): p for p in params}
    twin = copy.deepcopy(net, memo)                      # as a pipeline stage's replicas
    assert all(p is q for p, q in zip(params, twin.parameters()))
    assert all(p.value is a for p, a in zip(params, arrays))


def test_divergence_restores_a_lone_non_contiguous_weight():
    from chainrule.training import loop

    net = cr.mlp([3, 2], output="identity", dtype="float64", seed=0)
    net.layers[0].bias.trainable = False
    layer = net.layers[0]
    layer.weight.value = np.asfortranarray(layer.weight.value)   # set by hand, not contiguous
    before = layer.weight.value.copy()

    class Setup:
        snapshot_plan = None

    saved = loop._snapshot(Setup(), net.parameters())
    layer.weight.value[...] = np.nan
    loop._restore(saved)
    np.testing.assert_array_equal(layer.weight.value, before)


def test_arrays_living_in_bytes_are_not_packed_and_get_packed():
    from chainrule.flat import is_packed, pack

    net = network()
    params = net.parameters()
    for p in params:                       # as unpickling can leave them: views of bytes
        p.value = np.frombuffer(p.value.tobytes(), dtype=p.value.dtype).reshape(p.value.shape)
    assert not is_packed(params)
    pack(params)
    assert is_packed(params)
