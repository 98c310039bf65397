"""Training speed of the training library: JAX against torch (eager and compiled), and
injection against none, on the same network and data in one run.

    python benchmarks/bench_training.py --epochs 3 --json bench_training.json
    python benchmarks/bench_training.py --task rate-frequency --cases jax,jax-inject,torch

The network, the data and the settings are those of the ``train`` pipeline's start
(:func:`~rockpool_dynapse2.app.train_pipeline.build_model`: batches of 16, 8 output neurons
per class, balanced initial weights, 8 mismatched chips per step with injection, a tenth of
the training set held out for validation each epoch), on beat-anomaly by default (1200
samples, 540 to train on, 450 steps, 30 channels; 56 neurons). Each case trains
``--epochs`` epochs in the same process, one after the other. The first epoch includes
compilation (JAX's ``jit``, ``torch.compile``); the rest give the median seconds per
epoch, and the first epoch's excess over that median is the first-call compile cost.
Each is given in wall time and in the process's CPU time (``time.process_time``, every
thread): on a shared machine whose load changes from one case to the next, CPU time
compares the cases' work where wall time does not (with one torch thread and JAX's
threads mostly idle, the two agree on an idle machine).

Cases: ``jax``, ``jax-inject``, ``torch``, ``torch-compiled``, ``torch-inject``,
``torch-inject-compiled``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

CASES = ("jax", "jax-inject", "torch", "torch-compiled", "torch-inject", "torch-inject-compiled")


def run(task, case: str, epochs: int) -> dict:
    """Train one case for ``epochs`` epochs: its first epoch and median later epoch (s)."""
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, train_model

    backend = case.split("-")[0]
    inject, compile = "inject" in case, case.endswith("compiled")
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
    job = TrainJob(backend=backend, epochs=epochs, inject=inject, compile=compile)
    model = build_model(task, job)
    marks = [(time.perf_counter(), time.process_time())]
    train_model(model, task, job, epoch_log=lambda record: marks.append((time.perf_counter(), time.process_time())))
    row = {"case": case, "backend": backend + (" compiled" if compile else ""), "inject": inject,
           "steps_per_epoch": _steps(model, task)}
    for i, clock in enumerate(("wall", "cpu")):
        t = np.diff([m[i] for m in marks])
        per_epoch = float(np.median(t[1:])) if len(t) > 1 else float("nan")
        row[clock] = {"epochs": [float(v) for v in t], "first_epoch": float(t[0]), "per_epoch": per_epoch,
                      "compile_cost": float(t[0] - per_epoch)}
    return row


def _steps(model, task) -> int:
    s = model.settings
    n_train = len(task.y_train) - int(round(s.validation_fraction * len(task.y_train)))
    return -(-n_train // s.batch_size)


def table(rows: list, clock: str) -> str:
    """The markdown table and the ratios of a run, in ``clock`` seconds (``wall`` or ``cpu``)."""
    base = {r["inject"]: r[clock]["per_epoch"] for r in rows if r["backend"] == "jax"}
    lines = [f"{clock} time:", "",
             "| backend | injection | first epoch (s) | per epoch (s) | first-call compile (s) | / JAX, same injection |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        c = r[clock]
        ratio = c["per_epoch"] / base[r["inject"]] if r["inject"] in base else float("nan")
        lines.append(f"| {r['backend']} | {'8 chips' if r['inject'] else 'no'} | {c['first_epoch']:.1f} | "
                     f"{c['per_epoch']:.2f} | {c['compile_cost']:.1f} | {ratio:.2f}x |")
    if len(base) == 2:
        lines.append(f"\ninjection / none (JAX, per epoch): {base[True] / base[False]:.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="beat-anomaly")
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cases", default="jax,jax-inject,torch,torch-compiled,torch-inject",
                        help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    cases = args.cases.split(",")
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"--cases must be of {', '.join(CASES)}; got {', '.join(unknown)}")

    from rockpool_dynapse2.app.tasks import make_task

    task = make_task(args.task, args.samples, 0)
    rows = []
    for case in cases:
        rows.append(run(task, case, args.epochs))
        print(f"{case}: epochs {', '.join(f'{v:.1f}' for v in rows[-1]['wall']['epochs'])} s wall, "
              f"{', '.join(f'{v:.1f}' for v in rows[-1]['cpu']['epochs'])} s CPU", flush=True)
    print(f"{args.task}, {args.samples} samples, {rows[0]['steps_per_epoch']} steps of 16 per epoch, {args.epochs} epochs per case")
    print(table(rows, "wall"), table(rows, "cpu"), sep="\n\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"task": args.task, "samples": args.samples, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
