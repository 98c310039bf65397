"""Does the ``train`` pipeline's network learn a task at all? A short run that prints every
epoch (training and validation accuracy, loss, gradient norm) and the float test accuracy,
the share of samples no output group wins alone (ties), and the output neurons' mean count.

    python benchmarks/task_learning_check.py temporal-xor --epochs 20 --no-inject
    python benchmarks/task_learning_check.py temporal-xor --epochs 20 --no-inject --tau-mem 0.1 --tau-ampa 0.05

The figures are in ``docs/results.md`` ("the tasks the library does not learn yet").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-inject", action="store_true")
    parser.add_argument("--tau-mem", type=float, default=None, help="fix the membrane time constant (s), not trained")
    parser.add_argument("--tau-ampa", type=float, default=None, help="fix the AMPA time constant (s), not trained")
    args = parser.parse_args()

    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, train_model
    from rockpool_dynapse2.training import ChipModel
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    task = make_task(args.task, args.samples, args.seed)
    job = TrainJob(backend="jax", epochs=args.epochs, seed=args.seed, inject=not args.no_inject)
    model = build_model(task, job)
    fixed = {k: v for k, v in (("tau_mem", args.tau_mem), ("tau_ampa", args.tau_ampa)) if v is not None}
    if fixed:
        s = replace(model.settings, fixed=fixed, trainable=tuple(t for t in model.settings.trainable if t not in fixed))
        model = ChipModel(model.layout, s, model.connections)
    result = train_model(model, task, job, epoch_log=lambda r: print(r.line(), flush=True))
    counts = counts_jax(model, result.params, task.x_test, quantize=False, snap=False)
    out = counts[:, model.layout.slice_of(model.layout.output)]
    ties = float(np.mean(model.predict(counts) < 0))
    print(f"float {model.accuracy(counts, task.y_test):.1%}, ties {ties:.1%}, "
          f"output mean count {out.mean():.1f} per neuron and sample")


if __name__ == "__main__":
    main()
