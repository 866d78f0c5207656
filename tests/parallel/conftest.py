"""One Ray for the whole test run: a three-node cluster simulated on this machine.

Ray's own ``ray.cluster_utils.Cluster`` starts a head and two worker nodes (one CPU
each) as separate Ray nodes, and this process connects to it. Strategies given no
address use the Ray this process is connected to, so every parallel test shares it;
``test_cluster.py`` adds and removes nodes. Node deaths are noticed within about a
second (faster health checks than Ray's defaults), so the fault tests stay short.
"""
import copy

import numpy as np
import pytest

import chainrule as cr

FAST_FAILURE_DETECTION = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 300,
                          "health_check_failure_threshold": 3}


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, connect=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False, "_system_config": FAST_FAILURE_DETECTION})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def blobs(n=240, features=5, classes=3, seed=0):
    """A small float64 classification set: the exactness tests need no real data."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(classes, features))
    y = rng.integers(0, classes, n)
    return centres[y] + rng.normal(size=(n, features)), y


def twin_fits(make_net, parallel, **fit):
    """(single-process net and History, parallel net and History) from the same start."""
    net = make_net()
    reference = copy.deepcopy(net)
    optimizer = fit.pop("optimizer")
    expected = reference.fit(optimizer=optimizer(), **fit)
    history = net.fit(optimizer=optimizer(), parallel=parallel, **fit)
    return (reference, expected), (net, history)


def max_difference(a, b):
    return max(float(np.abs(p.value - q.value).max()) for p, q in zip(a.parameters(),
                                                                       b.parameters()))


def net64(sizes=(5, 16, 8, 3), seed=1):
    return cr.mlp(list(sizes), activation="tanh", dtype="float64", seed=seed)
