"""Speed: chainrule against scikit-learn, PyTorch and JAX on the same networks, in one run.

Usage:
    python benchmarks/speed.py [--cases a,b,c,d,e] [--repeats 3] [--epochs 3] [--threads 2]

"chainrule" has its optional Numba kernels (`pip install "chainrule[fast]"`),
"chainrule-numpy" runs without them (plain `pip install chainrule`).

Every measurement runs in its own subprocess (so peak memory is that system's alone), and
the systems alternate within each repeat; the table shows medians over the repeats. The
comparison systems are optional benchmark dependencies (`pip install torch==2.13.0 jax`),
never imported by chainrule; a system that is not installed is reported as missing.

Cases (Fashion-MNIST from the Debian package dataset-fashion-mnist, float32, ReLU,
softmax cross-entropy, Adam 1e-3):
  a  784-256-10, batch 128              b  784-512-256-128-10, batch 128
  c  the notes' 2-2-2 sigmoid network, 10,000 full-batch SGD steps (time per step;
     "numpy-loop" is the same step written out in bare NumPy: the floor for an engine)
  d  inference throughput of (a)'s network on the 10,000 test images
  e  (a) with batch 32 and batch 512
Each line of JSON output is one system and case; "matmul_fraction" is the time the matrix
products alone need at NumPy's measured rate for those shapes, divided by the epoch time.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CASES = {
    "a": {"sizes": [784, 256, 10], "batch": 128},
    "b": {"sizes": [784, 512, 256, 128, 10], "batch": 128},
    "e32": {"sizes": [784, 256, 10], "batch": 32},
    "e512": {"sizes": [784, 256, 10], "batch": 512},
}
SYSTEMS = ["chainrule", "chainrule-numpy", "numpy-loop", "torch", "torch-fused", "jax", "sklearn"]


# ---- workers: each trains one system on one case and prints one JSON line ---------------

def load_data():
    import chainrule as cr

    X, y, Xt, yt = cr.datasets.load("fashion-mnist")
    return X, y, Xt, yt


def worker_chainrule(case, epochs, X, y, Xt, yt):
    import chainrule as cr

    net = cr.mlp(case["sizes"], activation="relu", output="softmax", seed=0)
    stamps = []

    class Stamp(cr.callbacks.Callback):
        def on_epoch_begin(self, state):
            stamps.append(time.perf_counter())

        def on_train_end(self, state):
            stamps.append(time.perf_counter())

    net.fit(X, y, optimizer=cr.Adam(1e-3), epochs=epochs, batch_size=case["batch"], seed=0,
            callbacks=[Stamp()])
    return _epoch_times(stamps), float((net.predict(Xt).argmax(1) == yt).mean())


def worker_numpy_loop(case, epochs, X, y, Xt, yt):
    """The 40-line NumPy loop with in-place Adam the speed issue measured."""
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = case["sizes"]
    Ws = [(rng.standard_normal((o, i)) * np.sqrt(2 / i)).astype(np.float32)
          for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    params = Ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t, times = 0, []
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(X))
        for s in range(0, len(X), case["batch"]):
            idx = order[s:s + case["batch"]]
            xb, yb = X[idx], y[idx]
            acts = [xb]
            for k, (W, b) in enumerate(zip(Ws, bs)):
                a = acts[-1] @ W.T + b
                acts.append(np.maximum(a, 0) if k < len(Ws) - 1 else a)
            z = acts[-1] - acts[-1].max(1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(1, keepdims=True)
            p[np.arange(len(yb)), yb] -= 1
            g = p / len(yb)
            grads_W, grads_b = [None] * len(Ws), [None] * len(Ws)
            for k in range(len(Ws) - 1, -1, -1):
                grads_W[k] = g.T @ acts[k]
                grads_b[k] = g.sum(0)
                if k:
                    g = (g @ Ws[k]) * (acts[k] > 0)
            t += 1
            for p_, g_, m_, v_ in zip(params, grads_W + grads_b, m, v):
                m_ *= 0.9
                m_ += 0.1 * g_
                v_ *= 0.999
                v_ += 0.001 * g_ * g_
                p_ -= (1e-3 / (1 - 0.9 ** t)) * m_ / (np.sqrt(v_ / (1 - 0.999 ** t)) + 1e-8)
        times.append(time.perf_counter() - start)
    a = Xt
    for k, (W, b) in enumerate(zip(Ws, bs)):
        a = a @ W.T + b
        a = np.maximum(a, 0) if k < len(Ws) - 1 else a
    return times, float((a.argmax(1) == yt).mean())


def _torch_model(case):
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(case["sizes"][:-1], case["sizes"][1:])):
        layers.append(torch.nn.Linear(n_in, n_out))
        if i < len(case["sizes"]) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def worker_torch(case, epochs, X, y, Xt, yt, fused=False):
    import torch

    model = _torch_model(case)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused or None)
    Xt_, yt_ = torch.from_numpy(Xt), torch.from_numpy(yt)
    X_, y_ = torch.from_numpy(X), torch.from_numpy(y)
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X_), generator=gen)
        for s in range(0, len(X_), case["batch"]):
            idx = order[s:s + case["batch"]]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(X_[idx]), y_[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        acc = float((model(Xt_).argmax(1) == yt_).float().mean())
    return times, acc


def worker_jax(case, epochs, X, y, Xt, yt):
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.example_libraries import optimizers

    key = jax.random.PRNGKey(0)
    params = []
    for n_in, n_out in zip(case["sizes"][:-1], case["sizes"][1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (n_in, n_out)) * np.sqrt(2 / n_in),
                       jnp.zeros(n_out)))

    def forward(params, x):
        for W, b in params[:-1]:
            x = jax.nn.relu(x @ W + b)
        W, b = params[-1]
        return x @ W + b

    def loss(params, x, t):
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(forward(params, x)),
                                             t[:, None], 1))

    init, update, get = optimizers.adam(1e-3)
    batch = case["batch"]
    n = (len(X) // batch) * batch

    @jax.jit
    def epoch(opt_state, xs, ts, step0):
        def body(carry, xt):
            state, i = carry
            g = jax.grad(loss)(get(state), xt[0], xt[1])
            return (update(i, g, state), i + 1), None
        (state, _), _ = jax.lax.scan(body, (opt_state, step0), (xs, ts))
        return state

    state = init(params)
    rng = np.random.default_rng(0)
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    start = time.perf_counter()
    order = rng.permutation(len(X))[:n]
    xs = Xj[order].reshape(-1, batch, X.shape[1])
    ts = yj[order].reshape(-1, batch)
    jax.block_until_ready(epoch(state, xs, ts, 0))
    compile_seconds = time.perf_counter() - start
    times = []
    for e in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(X))[:n]
        xs = Xj[order].reshape(-1, batch, X.shape[1])
        ts = yj[order].reshape(-1, batch)
        state = jax.block_until_ready(epoch(state, xs, ts, e * (n // batch)))
        times.append(time.perf_counter() - start)
    acc = float((np.asarray(forward(get(state), jnp.asarray(Xt))).argmax(1) == yt).mean())
    return times, acc, compile_seconds


def worker_sklearn(case, epochs, X, y, Xt, yt):
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=tuple(case["sizes"][1:-1]), solver="adam",
                        batch_size=case["batch"], learning_rate_init=1e-3, alpha=0.0,
                        max_iter=1, warm_start=True, random_state=0, shuffle=True)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            start = time.perf_counter()
            clf.fit(X, y)
            times.append(time.perf_counter() - start)
    return times, float(clf.score(Xt, yt))


def worker_inference(system, X, Xt, case):
    """Test-set predictions per second (case d), network of case a, 1024 rows a call."""
    import numpy as np

    reps = 5
    if system == "chainrule":
        import chainrule as cr

        net = cr.mlp(case["sizes"], seed=0)
        run = lambda: net.predict(Xt, batch_size=1024)
    elif system.startswith("torch"):
        import torch

        model = _torch_model(case).eval()
        data = torch.from_numpy(Xt)

        def run():
            with torch.no_grad():
                return [model(data[i:i + 1024]).softmax(1) for i in range(0, len(data), 1024)]
    elif system == "sklearn":
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=tuple(case["sizes"][1:-1]), max_iter=1)
        clf.fit(X[:2000], np.arange(2000) % 10)
        run = lambda: clf.predict_proba(Xt)
    else:
        return None
    run()
    start = time.perf_counter()
    for _ in range(reps):
        run()
    return len(Xt) * reps / (time.perf_counter() - start)


def worker_tiny(system, steps=10_000):
    """Case c: the 2-2-2 network of the notes, full-batch SGD, seconds per step."""
    import numpy as np

    X = np.array([[0.05, 0.10]])
    T = np.array([[0.01, 0.99]])
    W1, W2 = [[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]
    if system == "chainrule":
        import chainrule as cr

        def network():
            return cr.Sequential([
                cr.Dense(2, 2, weight=W1, bias=0.35, train_bias=False, dtype="float64"),
                cr.Sigmoid(),
                cr.Dense(2, 2, weight=W2, bias=0.60, train_bias=False, dtype="float64"),
                cr.Sigmoid()])

        # warm-up, as PyTorch's below: one-time imports (SciPy's expit) are not per step
        network().fit(X, T, loss=cr.SquaredError(), optimizer=cr.SGD(0.5), epochs=10)
        net = network()
        start = time.perf_counter()
        history = net.fit(X, T, loss=cr.SquaredError(), optimizer=cr.SGD(0.5), epochs=steps)
        seconds = time.perf_counter() - start
        return seconds / steps, history["loss"][-1]
    if system == "numpy-loop":  # the same step written out in NumPy: no layers, no loop
        from scipy.special import expit

        w1, w2 = np.array(W1), np.array(W2)
        g1, g2, scaled = np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 2))
        start = time.perf_counter()
        for _ in range(steps):
            x1 = X @ w1.T
            x1 += 0.35
            h = expit(x1)
            x2 = h @ w2.T
            x2 += 0.60
            out = expit(x2)
            diff = out - T
            loss = float(0.5 * (diff * diff).sum())
            delta = diff * out * (1.0 - out)
            np.matmul(delta.T, h, out=g2)
            delta = (delta @ w2) * h * (1.0 - h)
            np.matmul(delta.T, X, out=g1)
            np.multiply(g1, 0.5, out=scaled)
            w1 -= scaled
            np.multiply(g2, 0.5, out=scaled)
            w2 -= scaled
        return (time.perf_counter() - start) / steps, loss
    if system.startswith("torch"):
        import torch

        l1, l2 = torch.nn.Linear(2, 2).double(), torch.nn.Linear(2, 2).double()
        with torch.no_grad():
            l1.weight.copy_(torch.tensor(W1)), l1.bias.fill_(0.35)
            l2.weight.copy_(torch.tensor(W2)), l2.bias.fill_(0.60)
        l1.bias.requires_grad_(False), l2.bias.requires_grad_(False)
        opt = torch.optim.SGD([l1.weight, l2.weight], lr=0.5)
        x, t = torch.tensor(X), torch.tensor(T)
        for warm_up in (True, False):
            if not warm_up:
                start = time.perf_counter()
            for _ in range(10 if warm_up else steps):
                opt.zero_grad()
                out = torch.sigmoid(l2(torch.sigmoid(l1(x))))
                loss = 0.5 * ((out - t) ** 2).sum()
                loss.backward()
                opt.step()
        return (time.perf_counter() - start) / steps, float(loss)
    return None


def peak():
    """This process's peak resident memory in MB (VmHWM: unlike ru_maxrss, not carried
    over from the parent that started it)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args):
    import numpy  # noqa: F401  (loaded first, so that threadpoolctl finds its BLAS to limit)
    from threadpoolctl import threadpool_limits

    system, case_name = args.worker
    if system == "chainrule-numpy":  # chainrule without its optional Numba kernels
        os.environ["CHAINRULE_NUMBA"] = "0"
        system = "chainrule"
    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)  # the kernels' threads, as BLAS's
    with threadpool_limits(args.threads):
        if system.startswith("torch"):
            import torch

            torch.set_num_threads(args.threads)
        result = {"system": args.worker[0], "case": case_name, "threads": args.threads}
        if case_name == "c":
            got = worker_tiny(system)
            if got is None:
                return
            result.update(seconds_per_step=got[0], final_loss=got[1])
        else:
            X, y, Xt, yt = load_data()
            data_mb = (X.nbytes + y.nbytes) / 2**20
            base = peak()
            if case_name == "d":
                rate = worker_inference(system, X, Xt, CASES["a"])
                if rate is None:
                    return
                result.update(samples_per_second=rate)
            else:
                case = CASES[case_name]
                fn = {"chainrule": worker_chainrule, "numpy-loop": worker_numpy_loop,
                      "torch": worker_torch, "jax": worker_jax, "sklearn": worker_sklearn,
                      "torch-fused": lambda *a: worker_torch(*a, fused=True)}[system]
                got = fn(case, args.epochs, X, y, Xt, yt)
                seconds = statistics.median(got[0])
                result.update(seconds_per_epoch=seconds, samples_per_second=len(X) / seconds,
                              test_accuracy=got[1])
                if len(got) > 2:
                    result["compile_seconds"] = got[2]
            result.update(peak_rss_mb=peak(), rss_before_training_mb=base, data_mb=data_mb)
    print(json.dumps(result))


def _epoch_times(stamps):
    return [b - a for a, b in zip(stamps[:-1], stamps[1:])]


# ---- driver ------------------------------------------------------------------------------

def matmul_floor(sizes, batch, n, threads):
    """Seconds per epoch that the matrix products alone take at NumPy's measured rates."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    def rate(m, k, n_):
        a = np.random.rand(m, k).astype(np.float32)
        b = np.random.rand(k, n_).astype(np.float32)
        a @ b
        reps, start = 50, time.perf_counter()
        for _ in range(reps):
            a @ b
        return 2 * m * k * n_ * reps / (time.perf_counter() - start)

    with threadpool_limits(threads):
        per_batch = 0.0
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            per_batch += 2 * batch * n_in * n_out / rate(batch, n_in, n_out)      # forward
            per_batch += 2 * batch * n_in * n_out / rate(n_out, batch, n_in)      # dW
            if i:
                per_batch += 2 * batch * n_in * n_out / rate(batch, n_out, n_in)  # dX
    return per_batch * n / batch


def available(system):
    module = {"torch": "torch", "torch-fused": "torch", "jax": "jax", "sklearn": "sklearn"}
    name = module.get(system)
    if name is None:
        return True
    try:
        __import__(name)
        return True
    except ImportError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="a,b,c,d,e")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    cases = []
    for c in args.cases.split(","):
        cases += ["e32", "e512"] if c == "e" else [c]
    systems = [s for s in args.systems.split(",") if available(s)]
    missing = [s for s in args.systems.split(",") if s not in systems]
    results = {}
    for repeat in range(args.repeats):
        for case in cases:
            order = systems[repeat % len(systems):] + systems[:repeat % len(systems)]
            for system in order:
                done = subprocess.run([sys.executable, __file__, "--worker", system, case,
                                       "--epochs", str(args.epochs), "--threads",
                                       str(args.threads)], capture_output=True, text=True)
                if done.returncode:
                    print(f"{system} {case} failed: {done.stderr[-400:]}", file=sys.stderr)
                    continue
                if not done.stdout.strip():  # this system has no version of this case
                    continue
                results.setdefault((system, case), []).append(json.loads(done.stdout))
    import numpy as np
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"# machine: {os.cpu_count()} cores, numpy {np.__version__}, BLAS {blas}, "
          f"{args.threads} threads, median of {args.repeats}; missing: {missing or 'none'}")
    for case in cases:
        print(f"\n## case {case}")
        floor = None
        if case in CASES:
            floor = matmul_floor(CASES[case]["sizes"], CASES[case]["batch"], 60000, args.threads)
            print(f"matrix-product floor: {floor:.3f} s/epoch")
        rows = []
        for system in systems:
            runs = results.get((system, case))
            if not runs:
                continue
            summary = {"system": system, "case": case}
            for key in runs[0]:
                values = [r[key] for r in runs]
                if isinstance(values[0], (int, float)):
                    summary[key] = statistics.median(values)
            if floor and "seconds_per_epoch" in summary:
                summary["matmul_fraction"] = floor / summary["seconds_per_epoch"]
            rows.append(summary)
            print(json.dumps(summary))
        _table(rows)


def _table(rows):
    keys = ["seconds_per_epoch", "seconds_per_step", "samples_per_second", "test_accuracy",
            "peak_rss_mb", "matmul_fraction", "compile_seconds"]
    keys = [k for k in keys if any(k in r for r in rows)]
    print("| system | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for r in rows:
        cells = [f"{r[k]:.4g}" if k in r else "" for k in keys]
        print(f"| {r['system']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
