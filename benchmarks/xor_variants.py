"""Temporal XOR: training variants of the hidden layout, the time constants and the start
(issue #15, session 10); the runs of ``docs/results.md`` ("Temporal XOR: what was tried").

Builds the layout itself (``--layout parallel``: every hidden population fed by the input,
reaching the output and every hidden population; ``single``: each only recurrent within
itself; ``two-stage``: the input reaches the first, each the next), starts each hidden
core's AMPA and GABA time constants at ``--taus`` and its membrane at ``--mem`` (the output
core at 10 and 20 ms), and trains with the `train` pipeline's start otherwise (no
injection, readout window 0.5). ``--val 0`` trains on every training sample and keeps the
last epoch; ``--input-factor`` scales the initial input weights; ``--float`` trains without
weight quantization and bias snapping. Prints every epoch, then the float and quantized
accuracy on the training and the test set.

    python benchmarks/xor_variants.py --n 32 32 32 --taus 0.01 0.05 0.15 --mem 0.02 0.02 0.05 --epochs 40 --val 0
    python benchmarks/xor_variants.py --n 32 32 32 --taus 0.01 0.05 0.15 --mem 0.02 0.02 0.05 --epochs 20 --input-factor 0.1
    python benchmarks/xor_variants.py --layout two-stage --epochs 20
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layout", default="parallel", choices=("parallel", "single", "two-stage"))
    ap.add_argument("--n", type=int, nargs="+", default=[32, 32])
    ap.add_argument("--taus", type=float, nargs="+", default=[0.01, 0.15])
    ap.add_argument("--mem", type=float, nargs="+", default=[0.02, 0.05])
    ap.add_argument("--readout-start", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--rec-p", type=float, default=0.25)
    ap.add_argument("--trainable", nargs="+", default=None)
    ap.add_argument("--task", default="temporal-xor")
    ap.add_argument("--samples", type=int, default=1200)
    ap.add_argument("--float", action="store_true")
    ap.add_argument("--val", type=float, default=0.1)
    ap.add_argument("--input-factor", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model
    from rockpool_dynapse2.training import NetworkLayout, Population, Projection, ChipModel
    from rockpool_dynapse2.training.jax_trainer import train_jax, counts_jax
    task = make_task(args.task, args.samples, args.seed)
    C, K = task.x_train.shape[2], task.n_classes
    names = [f"h{i}" for i in range(len(args.n))]
    pops = tuple(Population(nm, n) for nm, n in zip(names, args.n)) + (Population("output", 8 * K),)
    projs = []
    for i, a in enumerate(names):
        if args.layout == "two-stage" and i > 0:
            projs.append(Projection(names[i - 1], a, 1.0))
        else:
            projs.append(Projection("input", a, min(1.0, 40 / C)))
        for b in names:
            if args.layout == "parallel" or a == b:
                projs.append(Projection(a, b, args.rec_p))
        projs.append(Projection(a, "output", 1.0))
    layout = NetworkLayout(C, pops, tuple(projs), "output", K)
    job = TrainJob(epochs=args.epochs, inject=False, readout_start=args.readout_start, seed=args.seed)
    model = build_model(task, job, layout)
    s = replace(model.settings, learning_rate=args.lr, batch_size=args.batch, validation_fraction=args.val, input_scale=model.settings.input_scale * args.input_factor)
    if args.float:
        s = replace(s, quantize=False, snap_codes=False)
    if args.trainable:
        s = replace(s, trainable=tuple(args.trainable))
    model = ChipModel(layout, s, model.connections)
    p = model.initial_parameters()
    def per_core(vals, out_val):
        return np.log(np.asarray(list(vals) + [out_val], np.float32))
    for nm in ("tau_ampa", "tau_gaba"):
        if nm in p["core"]:
            p["core"][nm] = per_core(args.taus, 0.01)
    if "tau_mem" in p["core"]:
        p["core"]["tau_mem"] = per_core(args.mem, 0.02)
    print(vars(args), model.layout.n_cores, "cores", flush=True)
    t0 = time.time()
    res = train_jax(model, task.x_train, task.y_train, progress=lambda r: print(r.line(), flush=True), params=p)
    for name, x, y in (("training", task.x_train, task.y_train), ("test", task.x_test, task.y_test)):
        counts = counts_jax(model, res.params, x, quantize=False, snap=False)
        ties = float(np.mean(model.predict(counts) < 0))
        qc = counts_jax(model, res.params, x)
        print(f"{name}: float {model.accuracy(counts, y):.1%}, ties {ties:.1%}; quantized {model.accuracy(qc, y):.1%}, ties {float(np.mean(model.predict(qc) < 0)):.1%}", flush=True)
    print("core taus", {k: np.exp(v).round(4).tolist() for k, v in res.params["core"].items()})
    print("time", time.time() - t0)


if __name__ == "__main__":
    main()
