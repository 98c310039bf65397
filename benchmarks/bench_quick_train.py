"""How long ``rockpool-dynapse2 train --data DATA.npz --quick`` takes on data of 600 x 500 x 64.

The issue's promise: ``--quick`` finishes in a few minutes on a 2-core CPU for about 600
training samples of 500 steps and 64 channels. This writes such a data set (seeded: three
classes told apart by when a burst on 16 of the 64 channels comes, over Poisson noise),
runs the command in a fresh process and prints its wall and CPU time (the child's user +
system time, which a loaded machine does not inflate the way it inflates wall time) and the
accuracies of its ``results.json``.

    python benchmarks/bench_quick_train.py [--backend jax|torch] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_data(path: Path, seed: int = 7, n_train: int = 600, n_test: int = 200, steps: int = 500,
               channels: int = 64) -> None:
    """A 3-class timing task: a burst on channels 0-15 at 50, 200 or 350 ms over 1 % noise."""
    rng = np.random.default_rng(seed)

    def make(n: int):
        y = rng.integers(0, 3, n)
        x = (rng.random((n, steps, channels)) < 0.01).astype(np.uint8)
        for i, c in enumerate(y):
            t0 = (50, 200, 350)[c]
            x[i, t0:t0 + 60, :16] += (rng.random((60, 16)) < 0.15).astype(np.uint8)
        return x, y

    x_train, y_train = make(n_train)
    x_test, y_test = make(n_test)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=("jax", "torch"))
    parser.add_argument("--out", default=None, help="the train command's output folder (default: a temporary one)")
    parser.add_argument("--train-args", default="", metavar="ARGS",
                        help="more arguments for train, split as a shell would (e.g. \"--batch-size 16\")")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.npz"
        write_data(data)
        out = Path(args.out or Path(tmp) / "out")
        cmd = [sys.executable, "-m", "rockpool_dynapse2.app.cli", "train", "--data", str(data), "--out", str(out),
               "--quick", "--backend", args.backend, *shlex.split(args.train_args)]
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        acc = json.loads((out / "results.json").read_text())["accuracy"]
    print(f"train --quick {args.train_args} ({args.backend}) on 600 x 500 x 64: wall {wall:.0f} s, CPU {usage.ru_utime + usage.ru_stime:.0f} s "
          f"(user {usage.ru_utime:.0f}, system {usage.ru_stime:.0f}); load average now {os.getloadavg()[0]:.1f}")
    print(f"accuracy: float {acc['float']:.3f}, quantized {acc['quantized']:.3f}, board {acc['board']:.3f}, "
          + ", ".join(f"mismatch {d}: mean {m['mean']:.3f} worst {m['worst']:.3f}" for d, m in acc["mismatch"].items()))


if __name__ == "__main__":
    main()
