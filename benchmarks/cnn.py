"""Convolutional networks: chainrule against PyTorch (CPU) on Fashion-MNIST, in one run.

Usage:
    python benchmarks/cnn.py [--threads 1,2] [--epochs 2] [--repeats 2] [--model lenet5]
    python benchmarks/cnn.py --accuracy [--threads 2]   # LeNet-5 10 epochs, wide CNN 15

Speed mode trains the model (Adam 1e-3, batch 128, float32, seed 0) for ``--epochs``
epochs, every measurement in its own subprocess (so peak memory is that system's alone),
chainrule and PyTorch alternating within each repeat and thread count; BLAS (and PyTorch's
intra-op pool) are limited to the thread count with threadpoolctl. Each JSON line is one
measurement; the table shows medians over the repeats of the median epoch. PyTorch is an
optional benchmark dependency (``pip install torch==2.13.0``), never imported by chainrule;
without it only chainrule is measured.

Accuracy mode trains chainrule's LeNet-5 for 10 epochs and the wide CNN for 15 and prints
the test accuracy after each epoch (targets: 89.5% and 91.5%).

Data: Fashion-MNIST from the Debian package dataset-fashion-mnist, rows reshaped to
(n, 1, 28, 28).
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

BATCH = 128


def load_images():
    import chainrule as cr

    X, y, Xt, yt = cr.datasets.load("fashion-mnist")
    return X.reshape(-1, 1, 28, 28), y, Xt.reshape(-1, 1, 28, 28), yt


# ---- workers: each trains one system and prints one JSON line ---------------------------

def worker_chainrule(model, epochs, X, y, Xt, yt, dropout=0.25, log=False):
    import chainrule as cr
    from chainrule.models import lenet5, wide_cnn

    net = lenet5(seed=0) if model == "lenet5" else wide_cnn(dropout=dropout, seed=0)
    stamps, accuracy = [], []

    class Stamp(cr.callbacks.Callback):
        def on_epoch_begin(self, state):
            stamps.append(time.perf_counter())

        def on_epoch_end(self, state):
            stamps.append(time.perf_counter())
            if log:  # outside the timed interval: the next epoch starts after this
                accuracy.append(float((net.predict(Xt).argmax(1) == yt).mean()))
                print(f"  {model} epoch {len(accuracy)}: {stamps[-1] - stamps[-2]:.1f}s, "
                      f"test accuracy {accuracy[-1]:.4f}", file=sys.stderr, flush=True)

    net.fit(X, y, optimizer=cr.Adam(1e-3), epochs=epochs, batch_size=BATCH, seed=0,
            callbacks=[Stamp()])
    times = [b - a for a, b in zip(stamps[::2], stamps[1::2])]
    final = accuracy[-1] if accuracy else float((net.predict(Xt).argmax(1) == yt).mean())
    return times, final, accuracy


def _torch_model(model):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model == "lenet5":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dropout(0.25), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25), nn.Linear(128, 10))


def worker_torch(model, epochs, X, y, Xt, yt):
    import torch

    net = _torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    X_, y_ = torch.from_numpy(X), torch.from_numpy(y.astype("int64"))
    lossf = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    times = []
    for _ in range(epochs):
        net.train()
        start = time.perf_counter()
        order = torch.randperm(len(X_), generator=gen)
        for s in range(0, len(X_), BATCH):
            idx = order[s:s + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(X_[idx]), y_[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(torch.from_numpy(Xt[i:i + 1024])) for i in range(0, len(Xt), 1024)])
    return times, float((pred.argmax(1).numpy() == yt).mean()), []


def worker(args):
    import numpy  # noqa: F401  (load BLAS first: threadpoolctl limits only loaded libraries)
    from threadpoolctl import threadpool_info, threadpool_limits

    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    system = args.worker
    with threadpool_limits(args.threads):
        if system == "torch":
            import torch

            torch.set_num_threads(args.threads)
        X, y, Xt, yt = load_images()
        limits = sorted({i["num_threads"] for i in threadpool_info()})
        if limits != [args.threads]:
            raise RuntimeError(f"thread pools run {limits} threads, not {args.threads}")
        base = peak()
        fn = worker_torch if system == "torch" else worker_chainrule
        kwargs = {"log": True} if args.accuracy and system == "chainrule" else {}
        times, accuracy, per_epoch = fn(args.model, args.epochs, X, y, Xt, yt, **kwargs)
        print(json.dumps({
            "system": system, "model": args.model, "threads": args.threads,
            "epochs": args.epochs, "seconds_per_epoch": statistics.median(times),
            "epoch_seconds": [round(t, 2) for t in times], "test_accuracy": accuracy,
            "accuracy_per_epoch": per_epoch, "peak_rss_mb": round(peak(), 1),
            "rss_before_training_mb": round(base, 1)}), flush=True)


def available(system):
    if system == "chainrule":
        return True
    try:
        subprocess.run([sys.executable, "-c", "import torch"], check=True, capture_output=True)
        return True
    except subprocess.CalledProcessError:
        return False


def run_worker(system, model, epochs, threads, accuracy=False):
    argv = [sys.executable, __file__, "--worker", system, "--model", model, "--epochs",
            str(epochs), "--threads", str(threads)] + (["--accuracy"] if accuracy else [])
    env = {**os.environ, **{k: str(threads) for k in (
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
    done = subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=True, env=env)
    line = done.stdout.strip().splitlines()[-1]
    print(line, flush=True)
    return json.loads(line)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--model", default="lenet5", choices=["lenet5", "wide-cnn"])
    p.add_argument("--systems", default="chainrule,torch")
    p.add_argument("--accuracy", action="store_true",
                   help="train LeNet-5 10 epochs and the wide CNN 15, report test accuracy")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.threads = int(args.threads)
        return worker(args)

    threads = [int(t) for t in args.threads.split(",")]
    import numpy  # noqa: F401  (so that threadpool_info sees its BLAS)
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['version']}" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print(f"# cpus: {os.cpu_count()}, blas: {', '.join(blas)}, python {sys.version.split()[0]}",
          flush=True)
    if args.accuracy:
        for model, epochs, target in (("lenet5", 10, 0.895), ("wide-cnn", 15, 0.915)):
            r = run_worker("chainrule", model, epochs, threads[-1], accuracy=True)
            print(f"# {model}: {r['test_accuracy']:.4f} after {epochs} epochs (target "
                  f"{target:.3f}: {'met' if r['test_accuracy'] >= target else 'NOT met'}), "
                  f"{r['seconds_per_epoch']:.1f} s/epoch at {threads[-1]} threads", flush=True)
        return

    systems = [s for s in args.systems.split(",") if available(s)]
    missing = sorted(set(args.systems.split(",")) - set(systems))
    if missing:
        print(f"# not installed, skipped: {', '.join(missing)}", flush=True)
    results = []
    for _ in range(args.repeats):
        for t in threads:
            for system in systems:  # alternating: a load change hits both systems alike
                results.append(run_worker(system, args.model, args.epochs, t))
    print(f"\n{args.model}, batch {BATCH}, Adam 1e-3, {args.epochs} epochs, median of "
          f"{args.repeats} runs")
    print(f"{'system':<10} {'threads':>7} {'s/epoch':>8} {'ratio':>6} {'test acc':>9} "
          f"{'peak RSS MB':>12}")
    for t in threads:
        rows = {s: [r for r in results if r["system"] == s and r["threads"] == t]
                for s in systems}
        med = {s: statistics.median(r["seconds_per_epoch"] for r in rs)
               for s, rs in rows.items()}
        for s, rs in rows.items():
            ratio = f"{med[s] / med['torch']:.2f}" if "torch" in med else "-"
            print(f"{s:<10} {t:>7} {med[s]:>8.2f} {ratio:>6} "
                  f"{statistics.median(r['test_accuracy'] for r in rs):>9.4f} "
                  f"{max(r['peak_rss_mb'] for r in rs):>12.0f}")


if __name__ == "__main__":
    sys.exit(main())
