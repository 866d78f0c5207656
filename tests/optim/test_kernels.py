"""The Numba kernels give the bits of the NumPy path they replace."""
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import Adam, AdamW, kernels

pytest.importorskip("numba")
if os.environ.get("CHAINRULE_NUMBA") == "0":
    pytest.skip("CHAINRULE_NUMBA=0 switches the kernels off", allow_module_level=True)


@pytest.fixture
def switch(monkeypatch):
    """switch(True) runs the kernels for every size, switch(False) never."""
    def set_(on):
        monkeypatch.setattr(kernels, "MIN_SIZE", 0 if on else 1 << 62)
    return set_


def train(net, opt, steps, seed=0):
    rng = np.random.default_rng(seed)
    params = net.parameters()
    for _ in range(steps):
        for p in params:
            p.grad[...] = rng.standard_normal(p.value.shape)
        opt.step(params)
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("make", [lambda: Adam(0.01), lambda: Adam(0.01, weight_decay=0.05),
                                  lambda: AdamW(0.01, weight_decay=0.1)],
                         ids=["adam", "adam-decay", "adamw"])
def test_adam_kernel_is_bit_identical(switch, dtype, make):
    switch(True)
    assert kernels.get("adam", np.zeros(4, dtype)) is not None
    fused = train(cr.mlp([20, 30, 5], dtype=dtype, seed=1), make(), 7)
    switch(False)
    plain = train(cr.mlp([20, 30, 5], dtype=dtype, seed=1), make(), 7)
    for p, q in zip(fused.parameters(), plain.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_kernels_run_only_where_they_pay_and_can(switch):
    switch(True)
    a = np.zeros((4, 6), np.float32)
    assert kernels.get("adam", a, a, a, a) is not None
    assert kernels.get("adam", a[:, ::2], a[:, ::2]) is None       # not contiguous
    assert kernels.get("adam", a, a.astype(np.float64)) is None     # mixed dtypes
    switch(False)
    assert kernels.get("adam", a, a, a, a) is None                  # too small to pay



def test_a_numba_that_fails_to_set_up_leaves_the_work_to_numpy(monkeypatch, switch):
    import builtins

    real_import = builtins.__import__

    def failing(name, globals=None, locals=None, fromlist=(), level=0):
        if fromlist and "_numba" in fromlist:
            raise RuntimeError("no writable cache directory")
        return real_import(name, globals, locals, fromlist, level)

    switch(True)
    kernels._module.cache_clear()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(builtins, "__import__", failing)
            with pytest.warns(RuntimeWarning, match="no writable cache directory"):
                assert kernels.get("adam", np.zeros(8, np.float32)) is None
    finally:
        kernels._module.cache_clear()
    assert kernels.get("adam", np.zeros(8, np.float32)) is not None
