"""Training speed of the training library: JAX against torch (eager and compiled), and
injection against none, on the same network and data in one run.

    python benchmarks/bench_training.py --epochs 4 --json bench_training.json

Each configuration trains ``--epochs`` epochs; the first epoch (compilation) is reported
apart, the rest as seconds per epoch. Rate-frequency, 600 training samples, 500 steps, 32
channels; a hidden population of 32 and 16 output neurons; batches of 64; 8 chips per
step with injection.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def run(backend: str, inject: bool, epochs: int, compile: bool = False) -> dict:
    from rockpool_dynapse2.app.tasks import rate_frequency
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings

    task = rate_frequency(n_samples=1200, seed=0)
    layout = NetworkLayout.layered(32, hidden=(32,), n_classes=4, per_class=4)
    model = ChipModel(layout, TrainSettings(epochs=epochs, inject=inject, chips_per_step=8, validation_fraction=0.0))
    if backend == "jax":
        from rockpool_dynapse2.training.jax_trainer import train_jax

        result = train_jax(model, task.x_train, task.y_train)
    else:
        import torch

        torch.set_num_threads(1)
        from rockpool_dynapse2.training.torch_trainer import train_torch

        result = train_torch(model, task.x_train, task.y_train, compile=compile)
    t = np.diff(np.concatenate([[0.0], result.curve("seconds")]))
    return {"backend": backend + (" compiled" if compile else ""), "inject": inject, "first_epoch": float(t[0]),
            "per_epoch": float(np.median(t[1:])) if len(t) > 1 else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--json", default=None)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()
    rows = [run("jax", False, args.epochs), run("jax", True, args.epochs)]
    if not args.skip_torch:
        rows += [run("torch", True, args.epochs), run("torch", True, args.epochs, compile=True)]
    base = {r["inject"]: r["per_epoch"] for r in rows if r["backend"] == "jax"}
    print("| backend | injection | first epoch (s) | per epoch (s) | / JAX, same injection |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['backend']} | {'8 chips' if r['inject'] else 'no'} | {r['first_epoch']:.1f} | {r['per_epoch']:.2f} | "
              f"{r['per_epoch'] / base[r['inject']]:.2f}x |")
    print(f"injection / none (JAX, per epoch): {base[True] / base[False]:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
