"""Reference accuracies of the built-in tasks: chance, two regressions and a Rockpool LIF network.

For each task, on its held-out test split:

* **chance**: ``1 / K``;
* **count**: :func:`rockpool_dynapse2.app.temporal_tasks.count_baseline`, a logistic
  regression on per-channel spike totals (no timing at all);
* **timing-lin**: the same regression on spike counts in 10 time bins per channel;
* **timing**: :func:`~rockpool_dynapse2.app.temporal_tasks.timing_baseline`, the bins plus
  the products of channel-summed bins (conjunctions in time, e.g. XOR);
* **LIF**: a Rockpool ``LIFJax`` network trained with surrogate gradients:
  ``Sequential(LinearJax((C, N)), LIFJax((N,), has_rec=True), LinearJax((N, K g)),
  LIFJax((K g,)))`` — an input projection to a recurrent population of ``N`` (32) LIF
  neurons, then ``g`` (4) output neurons per class, as our chip readout. Hidden
  membrane time constants are fixed, drawn log-uniformly in [20, 100] ms (some memory for
  the tasks that need it), synaptic 10 ms; output neurons 50 ms and 10 ms; at most one
  spike per neuron and step; fixed random recurrent weights ``0.1 N(0, 1) / sqrt(N)``.
  Only the input and output weights train (recurrent weights, biases, thresholds and
  time constants do not: training them made the loss diverge in our trials), with optax
  Adam (gradient norm clipped at 1; learning rate ``--lr`` = 1e-2, cosine decay to 0) on
  the cross-entropy of ``temperature * mean spike count per class group`` (temperature
  0.1), batches of 64, ``--epochs`` epochs; the test accuracy is the last epoch's (no
  selection on the test split).

The tasks: the four temporal tasks with their defaults, and ``rate-frequency`` and
``frozen-noise`` from :mod:`rockpool_dynapse2.app.tasks` with 1200 samples (600 train).

Run from the repository root::

    python benchmarks/task_references.py                      # every task, 60 epochs
    python benchmarks/task_references.py --quick              # 20 epochs
    python benchmarks/task_references.py --tasks temporal-xor burst-detection --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Dict, Tuple

import numpy as np

from rockpool_dynapse2.app.tasks import Task, frozen_noise, rate_frequency
from rockpool_dynapse2.app.temporal_tasks import TEMPORAL_TASKS, count_baseline, timing_baseline

TASKS = {
    **TEMPORAL_TASKS,
    "rate-frequency": lambda seed: rate_frequency(1200, seed),
    "frozen-noise": lambda seed: frozen_noise(1200, seed),
}


def make(name: str, seed: int) -> Task:
    if name in TEMPORAL_TASKS:
        return TEMPORAL_TASKS[name](seed=seed)
    return TASKS[name](seed)


TRAINED = ("weight",)
"""The LIF network's trained parameters: the input and output weights (the recurrent
weights, biases, thresholds and time constants stay at their initial values; training
``w_rec`` and ``bias`` too made the loss diverge after a few epochs in our trials)."""


def lif_reference(
    task: Task,
    *,
    epochs: int,
    seed: int,
    n_hidden: int = 32,
    per_class: int = 4,
    batch: int = 64,
    lr: float = 1e-2,
    temperature: float = 0.1,
    clip: float = 1.0,
    trained: Tuple[str, ...] = TRAINED,
    verbose: bool = False,
) -> Dict[str, float]:
    """Train the LIFJax reference network on ``task``; its final train and test accuracy."""
    import jax
    import jax.numpy as jnp
    import optax
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFJax, LinearJax

    C, K = task.x_train.shape[2], task.n_classes
    rng = np.random.default_rng(seed)
    tau_hidden = np.exp(rng.uniform(np.log(20e-3), np.log(100e-3), size=n_hidden))
    w_rec = 0.1 * rng.normal(size=(n_hidden, n_hidden)) / np.sqrt(n_hidden)
    one = {"max_spikes_per_dt": 1.0}  # at most one spike per neuron and step, as on the chip
    net = Sequential(
        LinearJax((C, n_hidden), weight=rng.normal(size=(C, n_hidden)) / np.sqrt(C)),
        LIFJax((n_hidden,), has_rec=True, w_rec=w_rec, dt=task.dt, tau_mem=tau_hidden, tau_syn=10e-3, **one),
        LinearJax((n_hidden, K * per_class), weight=rng.normal(size=(n_hidden, K * per_class)) / np.sqrt(n_hidden)),
        LIFJax((K * per_class,), dt=task.dt, tau_mem=50e-3, tau_syn=10e-3, **one),
    )
    params = net.parameters()
    labels = jax.tree_util.tree_map_with_path(
        lambda path, _: "train" if getattr(path[-1], "key", "") in trained else "fixed", params
    )
    steps = epochs * (len(task.y_train) // batch)
    schedule = optax.cosine_decay_schedule(lr, max(steps, 1))
    train = optax.chain(optax.clip_by_global_norm(clip), optax.adam(schedule))
    opt = optax.multi_transform({"train": train, "fixed": optax.set_to_zero()}, labels)
    state = opt.init(params)

    def logits(p, x):
        out, _, _ = net.reset_state().set_attributes(p)(x)
        counts = out.sum(axis=1).reshape(x.shape[0], K, per_class).mean(axis=2)
        return temperature * counts

    def loss(p, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(logits(p, x), y).mean()

    @jax.jit
    def step(p, s, x, y):
        value, grads = jax.value_and_grad(loss)(p, x, y)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, value

    predict = jax.jit(lambda p, x: jnp.argmax(logits(p, x), axis=1))

    def accuracy(p, x, y):
        hits = [np.asarray(predict(p, jnp.asarray(x[i : i + 200]))) == y[i : i + 200] for i in range(0, len(y), 200)]
        return float(np.mean(np.concatenate(hits)))

    x_train, y_train = task.x_train, task.y_train
    n = len(y_train)
    for epoch in range(epochs):
        order = rng.permutation(n)
        losses = []
        for i in range(0, n - batch + 1, batch):  # drop the last partial batch: one compiled shape
            idx = order[i : i + batch]
            params, state, value = step(params, state, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]))
            losses.append(float(value))
        if verbose:
            print(f"  epoch {epoch + 1}: loss {np.mean(losses):.3f}", flush=True)
    return {"lif_train": accuracy(params, x_train, y_train), "lif_test": accuracy(params, task.x_test, task.y_test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--epochs", type=int, default=None, help="LIF training epochs (default 60; 20 with --quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the tasks and the network")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    parser.add_argument("--quick", action="store_true", help="20 epochs")
    parser.add_argument("--no-lif", action="store_true", help="only the regressions")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    args = parser.parse_args()
    epochs = args.epochs if args.epochs is not None else (20 if args.quick else 60)

    rows = []
    for name in args.tasks:
        t0 = time.perf_counter()
        task = make(name, args.seed)
        row = {
            "task": name,
            "shape": list(task.x_train.shape),
            "chance": 1.0 / task.n_classes,
            "count": count_baseline(task),
            "timing-lin": timing_baseline(task, interactions=False),
            "timing": timing_baseline(task),
        }
        if not args.no_lif:
            t1 = time.perf_counter()
            row.update(lif_reference(task, epochs=epochs, seed=args.seed, lr=args.lr))
            row["lif_seconds"] = time.perf_counter() - t1
        rows.append(row)
        print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)

    keys = ["chance", "count", "timing-lin", "timing"] + ([] if args.no_lif else ["lif_train", "lif_test"])
    print(f"\nLIF: {epochs} epochs, seed {args.seed}\n")
    print("| task | (B_train, T, C) | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for row in rows:
        shape = "x".join(str(s) for s in row["shape"])
        print(f"| {row['task']} | {shape} | " + " | ".join(f"{100 * row[k]:.1f}" for k in keys) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "epochs": epochs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
