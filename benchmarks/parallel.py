"""Parallel training on Ray against single-process training, on one machine.

Usage: python benchmarks/parallel.py [--epochs 3] [--workers 1,2] [--no-memory]
                                     [--strategies data,data-store,async,pipeline] [--repeats 1]

Fashion-MNIST (60,000 x 784), the network 784-512-256-10 (ReLU, softmax), Adam, batch 1024,
float32. Single-process training runs with 1 and 2 BLAS threads; each strategy with 1 and
2 workers (one CPU and one BLAS thread each), so every row of the table has the same
thread budget as the single-process row it is compared with. Throughput is the best
epoch after the first (warm-up), in samples per second of the whole epoch.

Per step it reports what the strategy measured (``strategy.profile``): the workers'
forward/backward time, the optimiser update (driver or server), and the rest, which is
communication: Ray calls, channel or object-store copies, waiting. ``data`` is
DataParallel as users get it (on one machine its replicas swap gradients by channel);
``data-store`` is DataParallel with ``exchange="object store"``, the way gradients travel
between machines. After each DataParallel(2) run through the object store, two bare Ray
actors repeat its exchange (the same compute time, gradient-sized arrays, no chainrule):
the floor that Ray itself puts under that communication on this machine. From the
one-worker DataParallel row and the two-worker object-store row it fits the scaling model
written out in docs/parallel.md and projects 4, 16 and 64 machines on a 10 Gbit/s network. With
``--repeats R`` the single-process runs and the strategies alternate R times and every
ratio is to the single-process run of the same repeat (on a shared machine, conditions
drift between minutes); the medians are printed. With memory on, it also runs one epoch
of single-process and of DataParallel(2) training in fresh processes and reports the
driver's peak memory.
Needs Ray (pip install "chainrule[distributed]") and Fashion-MNIST (see chainrule.data).
"""
import argparse
import os
import subprocess
import sys
import time

import chainrule as cr
import chainrule.parallel
from chainrule.parallel.base import communication_share, pieces

SIZES = [784, 512, 256, 10]
BATCH = 1024
BANDWIDTH = 10e9 / 8  # bytes per second: 10 Gbit/s


class Clock(cr.callbacks.Callback):
    """Seconds of every epoch; the strategy's profile restarted after the first one."""

    def __init__(self, strategy=None):
        self.strategy, self.seconds = strategy, []

    def on_epoch_begin(self, state):
        self.began = time.perf_counter()

    def on_epoch_end(self, state):
        self.seconds.append(time.perf_counter() - self.began)
        if self.strategy is not None and state.epoch == 1:
            self.strategy.profile.update(steps=0, seconds=0.0, compute=0.0, update=0.0)


def run(X, y, epochs, strategy=None, threads=None):
    from threadpoolctl import threadpool_limits

    net = cr.mlp(SIZES, seed=0)
    clock = Clock(strategy)
    with threadpool_limits(threads) if threads else _nothing():
        began = time.perf_counter()
        net.fit(X, y, optimizer=cr.Adam(1e-3), epochs=epochs, batch_size=BATCH, seed=0,
                callbacks=[clock], parallel=strategy)
        total = time.perf_counter() - began
    best = min(clock.seconds[1:] or clock.seconds)
    return {"samples/s": len(X) / best, "fit seconds": total, "epochs": clock.seconds}


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _median(results):
    """The run with the median ratio to its single-process run (the upper one of two)."""
    return sorted(results, key=lambda r: r["ratio"])[len(results) // 2]


def per_step(strategy, workers):
    p = strategy.profile
    steps = max(p["steps"], 1)
    wall = p["seconds"] / steps
    compute = p["compute"] / steps / workers  # per worker
    update = p["update"] / steps
    return {"wall ms": 1e3 * wall, "compute ms": 1e3 * compute, "update ms": 1e3 * update,
            "communication ms": 1e3 * max(wall - compute - update, 0.0),
            "communication share": communication_share(p, workers)}


def ray_floor(ray, n_params, compute_ms, steps=40):
    """Ray's own cost of DataParallel's exchange, in ms per step, with none of chainrule:
    two actors that each compute (matrix products) for about ``compute_ms``, return a
    float32 array the size of the gradient, in DataParallel's pieces of at most 1 MB, and
    receive the other's as the argument of their next call, submitted ahead as DataParallel
    does. Per-step wall time minus the time the actors measured in their products and sums,
    as DataParallel's profile counts it."""
    import numpy as np

    @ray.remote(num_cpus=1)
    class Exchange:
        def __init__(self):
            from threadpoolctl import threadpool_limits

            threadpool_limits(1)
            self.grad = np.ones(n_params, np.float32)
            # small products, so that the last one overshoots the compute time by little
            self.x, self.w = np.ones((32, 784), np.float32), np.ones((784, 512), np.float32)

        @ray.method(num_returns=2)
        def step(self, seconds, other):
            began = time.perf_counter()
            for total, part in zip(pieces(self.grad), other or ()):
                total += part  # DataParallel's sum (it counts as update there)
            summed = time.perf_counter()
            while time.perf_counter() - summed < seconds:
                self.x @ self.w
            return pieces(self.grad.copy()), (time.perf_counter() - summed, summed - began)

    actors = [Exchange.remote() for _ in range(2)]
    last, warm_up, timings = [(None, None)] * 2, 5, []
    for i in range(warm_up + steps):
        if i == warm_up:
            ray.get([info for _, info in last])
            began = time.perf_counter()
        last = [actor.step.remote(compute_ms / 1e3, last[1 - k][0])
                for k, actor in enumerate(actors)]
        if i >= warm_up:
            timings.extend(info for _, info in last)
    ray.get([info for _, info in last])
    wall = (time.perf_counter() - began) / steps
    busy = sum(sum(t) for t in ray.get(timings)) / len(timings)  # per actor and step
    for actor in actors:
        ray.kill(actor)
    return 1e3 * (wall - busy)


def scaling_model(rows, n_params):
    """Fit the per-step time of DataParallel from its 1- and 2-worker runs (ms):

    t(b, N) = c0 + c1 b          forward and backward of b examples on one worker
            + u0 + u1 N          sum N gradients and take the optimiser step (every replica)
            + o0 + o1 N          Ray's per-step work on one machine (calls, store, waiting)
            + net(N)             bytes on the wire per step, at 10 Gbit/s per machine

    net(N) = (N - 1) S / BW for the all-gather chainrule does (each replica reads the N - 1
    other gradients of S bytes from the object store; its own is read by N - 1 others,
    in the other direction of a full-duplex link), or 2 S (N - 1) / N / BW for a ring
    all-reduce, which chainrule does not do. One worker (one core) per machine.
    """
    one, two = rows[1], rows[2]
    c1 = (one["compute ms"] - two["compute ms"]) / (BATCH - BATCH / 2)
    c0 = one["compute ms"] - c1 * BATCH
    u1 = two["update ms"] - one["update ms"]
    u0 = one["update ms"] - u1
    o1 = two["communication ms"] - one["communication ms"]
    o0 = one["communication ms"] - o1
    size = 4 * n_params  # bytes of a float32 gradient
    model = {"c0": c0, "c1": c1, "u0": u0, "u1": u1, "o0": o0, "o1": o1, "S": size}

    def step_ms(shard, machines, network):
        wire = {"all-gather": (machines - 1) * size,
                "ring": 2 * size * (machines - 1) / machines}[network] / BANDWIDTH * 1e3
        return max(c0 + c1 * shard, 0.0) + u0 + u1 * machines + o0 + o1 * machines + wire

    projection = {}
    for machines in (4, 16, 64):
        projection[machines] = {
            "batch 1024 in all, all-gather": BATCH / step_ms(BATCH / machines, machines,
                                                           "all-gather") * 1e3,
            "1024 per machine, all-gather": BATCH * machines / step_ms(BATCH, machines,
                                                                       "all-gather") * 1e3,
            "1024 per machine, ring": BATCH * machines / step_ms(BATCH, machines, "ring") * 1e3}
    return model, projection


def memory_child(kind):
    """One epoch in this fresh process; print the driver's peak RSS and anonymous memory."""
    X, y, _, _ = cr.datasets.load("fashion-mnist")
    peak_anon = [0]

    class Sample(cr.callbacks.Callback):
        def on_batch_end(self, state):
            peak_anon[0] = max(peak_anon[0], _status("RssAnon"))

    strategy = cr.parallel.DataParallel(2) if kind == "data" else None
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2):
        cr.mlp(SIZES, seed=0).fit(X, y, optimizer=cr.Adam(1e-3), epochs=1, batch_size=BATCH,
                                  callbacks=[Sample()], parallel=strategy)
    print(f"{_status('VmHWM')} {peak_anon[0]}")


def _status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--strategies", default="data,data-store,async,pipeline")
    parser.add_argument("--repeats", type=int, default=1,
                        help="alternate single-process and parallel runs; report medians")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", choices=["single", "data"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        return memory_child(args.memory_child)
    import ray

    workers = [int(w) for w in args.workers.split(",")]
    X, y, _, _ = cr.datasets.load("fashion-mnist")
    n_params = sum(p.value.size for p in cr.mlp(SIZES).parameters())
    print(f"Fashion-MNIST {X.shape}, {'-'.join(map(str, SIZES))} ({n_params:,} parameters, "
          f"{4 * n_params / 1e6:.2f} MB float32), batch {BATCH}, Adam, {args.epochs} epochs; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, Ray {ray.__version__}")
    began = time.perf_counter()
    ray.init(address="local", num_cpus=max(workers), include_dashboard=False,
             logging_level="ERROR")
    print(f"ray.init: {time.perf_counter() - began:.1f} s (paid once per fit when fit starts "
          f"its own Ray; here the benchmark starts one for all runs)")
    runs = {}  # ("single", threads) or (strategy, workers) -> one result per repeat
    try:
        for repeat in range(args.repeats):  # single process and strategies alternate
            for threads in sorted(set(workers)):
                result = run(X, y, args.epochs, threads=threads)
                runs.setdefault(("single", threads), []).append(result)
                print(f"single process, {threads} BLAS thread(s): "
                      f"{result['samples/s']:8.0f} samples/s")
            for name in args.strategies.split(","):
                for w in workers:
                    if name == "data-store" and w == 1:
                        continue  # one worker exchanges nothing: the "data" row
                    strategy = (cr.parallel.DataParallel(w, exchange="object store")
                                if name == "data-store" else cr.parallel.get(name, workers=w))
                    result = run(X, y, args.epochs, strategy=strategy)
                    result.update(per_step(strategy, w))
                    result["ratio"] = result["samples/s"] / runs["single", w][-1]["samples/s"]
                    runs.setdefault((name, w), []).append(result)
                    print(f"{strategy!r:58} {result['samples/s']:8.0f} samples/s = "
                          f"{result['ratio']:4.2f} x single ({w} thread{'s' * (w > 1)}, same "
                          f"repeat); per step: {result['wall ms']:6.1f} ms wall, "
                          f"{result['compute ms']:5.1f} ms compute/worker, "
                          f"{result['update ms']:4.1f} ms update, "
                          f"{result['communication ms']:5.1f} ms communication; communication "
                          f"share {result['communication share']:.0%}; "
                          f"fit {result['fit seconds']:.1f} s"
                          + (f"; by {strategy.transport}" if name.startswith("data") else ""))
                    if w == 2 and getattr(strategy, "transport", None) == "object store":
                        # the same exchange on bare Ray, right after
                        result["ray floor ms"] = ray_floor(ray, n_params, result["compute ms"])
                        print(f"{'  bare Ray, the same exchange and compute':58} "
                              f"{result['ray floor ms']:5.1f} ms communication per step")
    finally:
        ray.shutdown()
    rows = {key: _median(results) for key, results in runs.items() if key[0] != "single"}
    if args.repeats > 1:
        print(f"medians of {args.repeats} repeats:")
        for (name, w), row in rows.items():
            ratios = sorted(r["ratio"] for r in runs[name, w])
            print(f"  {name} x {w}: {row['samples/s']:8.0f} samples/s, {row['ratio']:.2f} x "
                  f"single (ratios {', '.join(f'{r:.2f}' for r in ratios)}), communication "
                  f"{row['communication ms']:.1f} ms/step, share "
                  f"{row['communication share']:.0%}" + (
                      f"; bare Ray's exchange {row['ray floor ms']:.1f} ms/step"
                      if "ray floor ms" in row else ""))
    two = rows.get(("data-store", 2), rows.get(("data", 2)))  # between machines: the store
    if ("data", 1) in rows and two is not None:
        model, projection = scaling_model({1: rows["data", 1], 2: two}, n_params)
        print("scaling model (DataParallel, ms per step; b = samples per machine, N machines, "
              "S = {S:.0f} bytes, BW = 10 Gbit/s):\n  t = c0 + c1 b + (u0 + u1 N) + (o0 + o1 N)"
              " + (N - 1) S / BW\n  c0 = {c0:.2f}, c1 = {c1:.4f}, u0 = {u0:.2f}, u1 = {u1:.2f}, "
              "o0 = {o0:.2f}, o1 = {o1:.2f}".format(**model))
        for machines, values in projection.items():
            print(f"  {machines:2d} machines: " + ", ".join(
                f"{key} {value:8.0f} samples/s" for key, value in values.items()))
    if not args.no_memory:
        peaks = {}
        for kind in ("single", "data"):
            done = subprocess.run([sys.executable, __file__, "--memory-child", kind],
                                  capture_output=True, text=True, check=True)
            peaks[kind] = [int(v) for v in done.stdout.split()[-2:]]
        (hwm1, anon1), (hwm2, anon2) = peaks["single"], peaks["data"]
        print(f"driver peak memory, one epoch: single process {hwm1 / 2**20:.0f} MB RSS "
              f"({anon1 / 2**20:.0f} MB private); DataParallel(2) {hwm2 / 2**20:.0f} MB RSS "
              f"({anon2 / 2**20:.0f} MB private) = {hwm2 / hwm1:.2f} x RSS, "
              f"{anon2 / anon1:.2f} x private (the rest of its RSS is the object store's "
              f"shared copy of the data set)")


if __name__ == "__main__":
    main()
