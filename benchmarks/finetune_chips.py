"""Fine-tuning for one chip: virtual-board accuracy per chip before and after ``twin.fine_tune``.

Trains one network with mismatch injection on a built-in task (or loads one saved with
``--network``), draws ``--chips`` virtual chips (``ChipProfile.draw(seed)``: 30 % mismatch,
bias-generator gains, dead and always-on neurons, defective CAM entries), and per chip
fine-tunes the network on the chip's TRUE profile (an oracle twin: the upper bound of
what a fitted twin can give), reporting the accuracy on that chip's virtual board before
and after, and the fine-tuning time.

    python benchmarks/finetune_chips.py --task frozen-noise --json finetune_frozen.json
    python benchmarks/finetune_chips.py --task rate-frequency --samples 240 --json finetune_rate.json

The figures are in ``docs/training.md`` ("Fine-tuning for one chip").
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def _network(args, task):
    """The trained network: loaded from ``--network`` if it exists, else trained (and saved there)."""
    from rockpool_dynapse2.app.train_pipeline import initial_input_scale, size_network
    from rockpool_dynapse2.training import ChipModel, TrainSettings, connectivity, load_parameters, save_parameters
    from rockpool_dynapse2.training.jax_trainer import train_jax

    if args.network and Path(args.network).exists():
        return load_parameters(args.network), 0.0
    layout = size_network(task, (args.hidden,) if args.hidden else None)
    settings = TrainSettings(epochs=args.epochs, seed=args.seed, dt=task.dt, batch_size=32, chips_per_step=4)
    connections = connectivity(layout, settings.seed)
    settings = replace(settings, input_scale=initial_input_scale(connections, task, settings.excitatory_fraction))
    t0 = time.perf_counter()
    result = train_jax(ChipModel(layout, settings, connections), task.x_train, task.y_train)
    if args.network:
        save_parameters(args.network, result)
    return result, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="frozen-noise", help="a built-in task (frozen-noise, rate-frequency, ...)")
    parser.add_argument("--samples", type=int, default=200, help="samples of the task (half of them test samples)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the training with injection")
    parser.add_argument("--hidden", type=int, default=None, help="hidden neurons (default: the train pipeline's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--network", default=None, help="load the trained network from this .npz (trained and saved there if missing)")
    parser.add_argument("--chips", type=int, default=8, help="chips drawn (seeds 100, 101, ...)")
    parser.add_argument("--mismatch", type=float, default=0.3, help="the chips' mismatch (0.3: 30 %% at 3 sigma)")
    parser.add_argument("--finetune-epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.003)
    parser.add_argument("--deviation", type=float, default=0.0, help="random mismatch around the twin while fine-tuning")
    parser.add_argument("--eval-samples", type=int, default=None, help="test samples run on the board (default: all)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()

    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.hardware import ChipProfile
    from rockpool_dynapse2.mapping.trained import spec_from_training
    from rockpool_dynapse2.placement import config_from_specification
    from rockpool_dynapse2.placement.mapped import consecutive_classes
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.twin.finetune import board_accuracy, fine_tune

    task = make_task(args.task, args.samples, args.seed)
    result, train_seconds = _network(args, task)
    n_eval = len(task.y_test) if args.eval_samples is None else min(args.eval_samples, len(task.y_test))
    x_eval, y_eval = task.x_test[:n_eval], task.y_test[:n_eval]
    nominal = result.model.accuracy(counts_jax(result.model, result.params, x_eval), y_eval)
    mapped = replace(config_from_specification(spec_from_training(result)),
                     classes=consecutive_classes(len(result.model.layout.output_neurons), result.model.layout.per_class))
    ideal = board_accuracy(result.model, mapped, None, x_eval, y_eval)
    print(f"{task.name}: trained {train_seconds:.0f} s; nominal chip {nominal:.1%} (simulated), {ideal:.1%} (ideal virtual board); "
          f"{args.chips} chips at {args.mismatch:.0%}, {n_eval} test samples on the board", flush=True)
    rows = []
    for k in range(args.chips):
        profile = ChipProfile.draw(100 + k, mismatch=args.mismatch)
        t0 = time.perf_counter()
        out = fine_tune(result, profile, task.x_train, task.y_train, epochs=args.finetune_epochs,
                        learning_rate=args.learning_rate, deviation=args.deviation, x_eval=x_eval, y_eval=y_eval)
        row = {"chip_seed": 100 + k, "before": out.before, "after": out.after, "twin_before": out.twin_before,
               "twin_after": out.twin_after, "finetune_seconds": out.seconds,
               "total_seconds": time.perf_counter() - t0, "always_on": list(out.always_on), "same_places": out.same_places}
        rows.append(row)
        print(f"chip {100 + k}: before {out.before:.1%} after {out.after:.1%} (twin: {out.twin_before:.1%} -> {out.twin_after:.1%})  fine-tuning {out.seconds:.0f} s "
              f"(with placement and both board runs {row['total_seconds']:.0f} s)  always-on hit {list(out.always_on)}", flush=True)
    before, after = np.array([r["before"] for r in rows]), np.array([r["after"] for r in rows])
    summary = {"mean_before": float(before.mean()), "mean_after": float(after.mean()), "worst_before": float(before.min()),
               "worst_after": float(after.min()), "improved": int((after > before).sum()), "worse": int((after < before).sum())}
    print(f"mean {summary['mean_before']:.1%} -> {summary['mean_after']:.1%}; worst {summary['worst_before']:.1%} -> "
          f"{summary['worst_after']:.1%}; improved on {summary['improved']} of {len(rows)} chips, worse on {summary['worse']}")
    if args.json:
        doc = {"task": task.name, "args": vars(args), "train_seconds": train_seconds, "n_eval": n_eval, "nominal": nominal,
               "ideal_board": ideal, "chips": rows, "summary": summary}
        Path(args.json).write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
