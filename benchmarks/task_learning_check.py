"""Does the ``train`` pipeline's network learn a task at all? A short run that prints every
epoch (training and validation accuracy, loss, gradient norm), then the float accuracy on
the training and the test set, the share of samples no output group wins alone (ties), the
output neurons' mean count, and the accuracy of the network as trained (weights on 16
levels per core, currents on bias codes: what the chip holds, as the loop's accuracy).

    python benchmarks/task_learning_check.py beat-anomaly --epochs 30 --no-inject
    python benchmarks/task_learning_check.py temporal-xor --epochs 30 --no-inject
    python benchmarks/task_learning_check.py beat-anomaly --epochs 30 --no-inject --before   # the start before session 9
    python benchmarks/task_learning_check.py temporal-xor --epochs 20 --no-inject --readout-start 0.5
    python benchmarks/task_learning_check.py temporal-xor --epochs 20 --no-inject --readout-start 0.5 \
        --hidden 32 32 --parallel --hidden-taus 0.01 0.15     # a fast and a slow hidden core side by side
    python benchmarks/task_learning_check.py rate-frequency --epochs 20 --no-inject --no-parallel   # the start before session 10

Without ``--hidden`` and ``--no-parallel`` the network is the pipeline's default (session
10 on): three hidden cores side by side, started at 10, 50 and 150 ms, with a tenth of
the initial drive; ``--no-parallel`` gives the single hidden population of session 9.

``--before`` is the pipeline's start before session 9 (80 % excitatory initial weights,
``min_rate`` 1, 4 output neurons per class, batches of 64); ``--excitatory-fraction``,
``--min-rate``, ``--per-class`` and ``--batch-size`` set one of them. The figures are in
``docs/results.md`` ("The training library on temporal tasks").
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

BEFORE = dict(excitatory_fraction=0.8, min_rate=1.0, per_class=4, batch_size=64)
"""The pipeline's start before session 9."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-inject", action="store_true")
    parser.add_argument("--backend", choices=("jax", "torch"), default="jax", help="the training loop (evaluation: JAX)")
    parser.add_argument("--before", action="store_true", help="the start before session 9 (see the docstring)")
    parser.add_argument("--excitatory-fraction", type=float, default=None)
    parser.add_argument("--min-rate", type=float, default=None)
    parser.add_argument("--per-class", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--tau-mem", type=float, default=None, help="fix the membrane time constant (s), not trained")
    parser.add_argument("--tau-ampa", type=float, default=None, help="fix the AMPA time constant (s), not trained")
    parser.add_argument("--readout-start", type=float, default=0.0, help="count the output spikes from this fraction of the sample on")
    parser.add_argument("--hidden", type=int, nargs="+", default=None, help="sizes of the hidden populations (default: the pipeline's)")
    parser.add_argument("--parallel", action=argparse.BooleanOptionalAction, default=None,
                        help="the hidden populations side by side, not in a chain (default: the pipeline's: side by side "
                        "without --hidden); --no-parallel without --hidden: the single hidden population of session 9")
    parser.add_argument("--hidden-taus", type=float, nargs="+", default=None,
                        help="the AMPA and GABA time constant (s) each hidden population starts from")
    parser.add_argument("--initial-drive", type=float, default=None, help="the hidden neurons' initial mean net input drive per step")
    parser.add_argument("--mismatch", type=float, default=None, metavar="D",
                        help="also the test accuracy on 8 simulated chips with this mismatch (0.2: 20 %%), mean and worst")
    args = parser.parse_args()

    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, train_model
    from rockpool_dynapse2.training import ChipModel
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    task = make_task(args.task, args.samples, args.seed)
    start = dict(BEFORE) if args.before else {}
    for name in BEFORE:
        if getattr(args, name) is not None:
            start[name] = getattr(args, name)
    job = TrainJob(backend=args.backend, epochs=args.epochs, seed=args.seed, inject=not args.no_inject,
                   readout_start=args.readout_start, hidden=args.hidden, parallel=args.parallel,
                   hidden_taus=args.hidden_taus, **start)
    if args.initial_drive is not None:
        job = replace(job, initial_drive=args.initial_drive)
    model = build_model(task, job)
    fixed = {k: v for k, v in (("tau_mem", args.tau_mem), ("tau_ampa", args.tau_ampa)) if v is not None}
    if fixed:
        s = replace(model.settings, fixed=fixed, trainable=tuple(t for t in model.settings.trainable if t not in fixed))
        model = ChipModel(model.layout, s, model.connections)
    print(f"{args.task}: {job}", flush=True)
    result = train_model(model, task, job, epoch_log=lambda r: print(r.line(), flush=True))
    for name, x, y in (("training", task.x_train, task.y_train), ("test", task.x_test, task.y_test)):
        counts = counts_jax(model, result.params, x, quantize=False, snap=False)
        out = counts[:, model.layout.slice_of(model.layout.output)]
        ties = float(np.mean(model.predict(counts) < 0))
        rounded = counts_jax(model, result.params, x)  # as trained: weights on 16 levels, currents on bias codes
        print(f"{name}: float {model.accuracy(counts, y):.1%}, ties {ties:.1%}, "
              f"output mean count {out.mean():.1f} per neuron and sample; "
              f"rounded as trained {model.accuracy(rounded, y):.1%}", flush=True)
    if args.mismatch is not None:
        print(_mismatch_line(model, result.params, task, args.mismatch), flush=True)


def _mismatch_line(model, params, task, deviation: float, n_chips: int = 8) -> str:
    """The test accuracy on ``n_chips`` simulated chips with frozen mismatch: mean and worst."""
    from rockpool_dynapse2.training.jax_trainer import mismatch_counts_jax

    counts = mismatch_counts_jax(model, params, task.x_test, deviation, n_chips)
    acc = [model.accuracy(c, task.y_test) for c in counts]
    return f"test, {n_chips} chips at {deviation:.0%} mismatch: mean {np.mean(acc):.1%}, worst {min(acc):.1%}"


if __name__ == "__main__":
    main()
