"""A multi-node Ray cluster simulated on this machine (``ray.cluster_utils.Cluster``).

The session fixture is a head and two worker nodes; training joins it by address, from
this process and from the command line of another one, and survives losing a node.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
import chainrule.parallel

from .conftest import blobs, max_difference, net64


def test_training_connects_by_address_from_another_process(ray_cluster, tmp_path):
    import ray

    out = tmp_path / "model.safetensors"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--parallel", "data", "--workers", "2",
         "--address", ray_cluster.address, "--epochs", "3", "--batch-size", "128",
         "--quiet", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout
    assert cr.load(out).sizes == [64, 64, 10]
    # It joined the cluster and left it running.
    assert sum(node["Alive"] for node in ray.nodes()) == 3


def test_losing_a_node_mid_training_does_not_lose_the_run(ray_cluster):
    import ray

    ray_cluster.add_node(num_cpus=1)  # a CPU for the lost worker, and for later tests
    ray_cluster.wait_for_nodes()
    strategy = cr.parallel.DataParallel(2, address=ray_cluster.address)
    removed = []

    class RemoveNode(cr.callbacks.Callback):
        def on_epoch_end(self, state):
            if state.epoch != 1:
                return
            head = ray_cluster.head_node.node_id
            victims = [node for node in ray_cluster.worker_nodes
                       if node.node_id in strategy.worker_nodes() and node.node_id != head]
            removed.append(victims[0].node_id)
            ray_cluster.remove_node(victims[0])

    X, y = blobs()
    net, reference = net64(), net64()
    expected = reference.fit(X, y, optimizer=cr.Adam(0.01), epochs=3, batch_size=24, seed=6)
    history = net.fit(X, y, optimizer=cr.Adam(0.01), epochs=3, batch_size=24, seed=6,
                      callbacks=[RemoveNode()], parallel=strategy)
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    print(f"removed node {removed[0][:8]} after epoch 1; Ray restarted {history.restarts} "
          f"worker(s) elsewhere")
    assert removed and removed[0] not in alive and len(alive) == 3
    assert history.epochs == 3 and history.restarts == 1
    assert max_difference(net, reference) < 1e-10
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-10)


def test_more_workers_than_the_cluster_has_cpus_is_an_error(ray_cluster):
    X, y = blobs(n=20)
    with pytest.raises(cr.InvalidValueError, match="needs 9 CPUs"):
        net64().fit(X, y, parallel=cr.parallel.DataParallel(9))
