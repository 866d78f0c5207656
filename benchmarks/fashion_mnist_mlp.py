"""The training-toolkit acceptance run: Fashion-MNIST, 784-256-128-10, Adam, dropout 0.2.

Usage: python benchmarks/fashion_mnist_mlp.py [--epochs 20] [--repeats 1]
Runs `chainrule train --dataset fashion-mnist --hidden 256,128 --optimizer adam --dropout 0.2`
as a user would and prints the test accuracy and wall time of each run, then the medians.
Needs the Debian package dataset-fashion-mnist (or a downloaded copy).
"""
import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    times, accuracies = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            command = [sys.executable, "-m", "chainrule", "train", "--dataset", "fashion-mnist",
                       "--hidden", "256,128", "--optimizer", "adam", "--dropout", "0.2",
                       "--epochs", str(args.epochs), "--quiet", "--out", f"{tmp}/m.safetensors"]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - start)
            accuracies.append(float(re.search(r"test accuracy: ([0-9.]+)", done.stdout)[1]))
            print(f"run {i + 1}: test accuracy {accuracies[-1]:.4f}, {times[-1]:.1f} s "
                  f"wall ({done.stdout.strip().splitlines()[-3]})")
    print(f"command: {' '.join(command[1:])}")
    print(f"median test accuracy {statistics.median(accuracies):.4f}, median wall time "
          f"{statistics.median(times):.1f} s")


if __name__ == "__main__":
    main()
