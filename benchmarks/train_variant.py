"""One built-in task through ``train``'s pipeline with a variant of its settings, without the board stage.

``build_model``, ``train_model`` and ``measure_simulated`` of
:mod:`rockpool_dynapse2.app.train_pipeline` with the ``TrainJob`` the options give (and,
with ``--train-deviation``, another injected deviation in training): prints the epochs,
float / as trained / quantized accuracy and the mismatched chips' (raw and calibrated),
and appends a row (with the yields against float and against quantized) to
``OUT/rows.jsonl``; the trained network is saved in ``OUT/NAME/network.npz``. Its
``--inject-ramp`` and ``--readout-start`` default to 0 (no ramp, the whole sample: the
settings the rows below were measured from), not to ``train``'s session-12 defaults. The temporal
XOR rows of ``docs/results.md`` (session 11):

    python benchmarks/train_variant.py temporal-xor xor_dev0.1 --train-deviation 0.1 --chips 16
    python benchmarks/train_variant.py temporal-xor xor_ramp20 --inject-ramp 20 --chips 16
    python benchmarks/train_variant.py temporal-xor xor_ramp20_w05 --inject-ramp 20 --readout-start 0.5 --chips 16
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_training import _yield  # noqa: E402  (the study's yield rule: chips within 5 points)

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("task")
    p.add_argument("name", help="the run's name: its folder under --out and its row's name")
    p.add_argument("--out", default="train-variants")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--samples", type=int, default=1200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chips", type=int, default=64)
    p.add_argument("--no-inject", action="store_true")
    p.add_argument("--no-parallel", action="store_true")
    p.add_argument("--initial-drive", type=float, default=None)
    p.add_argument("--train-deviation", type=float, default=None, help="the injected deviation in training (default 0.3)")
    p.add_argument("--chips-per-step", type=int, default=None)
    p.add_argument("--per-class", type=int, default=None)
    p.add_argument("--inject-ramp", type=int, default=0)
    p.add_argument("--readout-start", type=float, default=0.0)
    a = p.parse_args()

    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model, measure_simulated, train_model
    from rockpool_dynapse2.training import ChipModel, save_parameters

    out = Path(a.out) / a.name
    out.mkdir(parents=True, exist_ok=True)
    task = make_task(a.task, a.samples, a.seed)
    job = TrainJob(epochs=a.epochs, seed=a.seed, inject=not a.no_inject, initial_drive=a.initial_drive, n_chips=a.chips,
                   parallel=False if a.no_parallel else None, chips_per_step=a.chips_per_step, per_class=a.per_class,
                   inject_ramp=a.inject_ramp, readout_start=a.readout_start)
    model = build_model(task, job)
    if a.train_deviation is not None:
        model = ChipModel(model.layout, replace(model.settings, deviation=a.train_deviation), model.connections)
    t0 = time.time()
    res = train_model(model, task, job, epoch_log=lambda r: print(r.line(), flush=True))
    print(f"trained {time.time() - t0:.0f} s, best epoch {res.best_epoch + 1}", flush=True)
    save_parameters(out / "network.npz", res)
    acc = measure_simulated(model, res, task, job, log=lambda m: print(m, flush=True)).accuracy
    row = {"name": a.name, "task": a.task, "args": vars(a), "train_seconds": res.seconds, "best_epoch": res.best_epoch,
           "float": acc["float"], "quantized": acc["quantized"]}
    for key in ("mismatch", "mismatch_calibrated"):
        for dev, m in acc[key].items():
            for ref in ("float", "quantized"):
                row[f"{key}_{dev}_yield_vs_{ref}"] = _yield(m["chips"], acc[ref])
            row[f"{key}_{dev}_mean"], row[f"{key}_{dev}_worst"] = m["mean"], m["worst"]
    (out / "accuracy.json").write_text(json.dumps(acc))
    print(json.dumps(row), flush=True)
    with open(Path(a.out) / "rows.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
