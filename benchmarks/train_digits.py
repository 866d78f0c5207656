"""Time `chainrule train` (the README's main job) end to end, as a user runs it.

Usage: python benchmarks/train_digits.py [--repeats 5]
Prints each run's wall time and test accuracy, then the medians.
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
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times, accuracies = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "chainrule", "train", "--quiet", "--out",
                                   f"{tmp}/m.safetensors"], capture_output=True, text=True,
                                  check=True)
            times.append(time.perf_counter() - start)
            accuracies.append(float(re.search(r"test accuracy: ([0-9.]+)", done.stdout)[1]))
            print(f"run {i + 1}: {times[-1]:.2f} s, test accuracy {accuracies[-1]:.4f}")
    print(f"median wall time {statistics.median(times):.2f} s (process start, imports, data, "
          f"training, saving); median test accuracy {statistics.median(accuracies):.4f}")


if __name__ == "__main__":
    main()
