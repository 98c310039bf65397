"""Reference accuracies of the built-in tasks: chance, two regressions and a Rockpool LIF network.

For each task, on its held-out test split:

* **chance**: ``1 / K``;
* **count**: :func:`rockpool_dynapse2.app.temporal_tasks.count_baseline`, a logistic
  regression on per-channel spike totals (no timing at all);
* **timing-lin**: the same regression on spike counts in 10 time bins per channel;
* **timing**: :func:`~rockpool_dynapse2.app.temporal_tasks.timing_baseline`, the bins plus
  the products of channel-summed bins (conjunctions in time, e.g. XOR);
* **LIF**: a Rockpool ``LIFJax`` network trained with surrogate gradients
  (:class:`LIFSettings` holds every number; each is a command-line option):
  ``LinearJax((C, N)) -> LIFJax((N,), has_rec=True) -> LinearJax((N, K g)) -> LIFJax((K g,))``,
  a recurrent population of ``N`` (64) LIF neurons, then ``g`` (4) output neurons per
  class, read out as our library reads the chip: the mean spike count of each class
  group, softmax cross-entropy of ``temperature`` (0.1) times those means. At most one
  spike per neuron and step. Hidden membrane time constants start log-uniform in
  [20, 200] ms, synaptic 10 ms, output 50 ms and 10 ms.

  What trains, and how it stays stable: every weight (input, recurrent, output), the
  biases and the time constants (on a log scale, clipped to [2 dt, 1 s]); thresholds stay
  at 1. AdamW after clipping the global gradient norm at 1, learning rate ``--lr``
  (3e-3) with cosine decay, the recurrent weights and biases at 0.3 times it
  (``--rec-lr-scale``), weight decay 1e-4 on the weights. Small initial weights: the input
  projection scaled to the data (a stationary drive of ``--input-drive`` thresholds), the
  recurrent ones ``0.1 N(0, 1) / sqrt(N)``, the output ones ``0.3 N(0, 1) / sqrt(N)``;
  with the old ``1 / sqrt(N)`` scales every neuron started near one spike per step.
  Regularisation: dropout on the input spikes and on the hidden spikes feeding the
  output layer (0.2 each), a penalty on rates above 0.1 or below 0.002 spikes per step.
  Batches of 32, ``--epochs`` (40) epochs; 20 % of the *training* split (stratified) is
  held out for validation, and the reported network is the epoch with the best
  validation accuracy (ties: lower validation loss). The test split is used once, at
  the end. A tie among the top class scores counts as wrong.

  Readouts (``--readouts``): ``count``, the spikes over the whole sample (our library's);
  ``late``, the spikes in the last half of the sample (``--late-fraction``); ``ramp``, the
  spikes weighted by ``(t + 1) / T``. Each is the same family (mean counts of output
  groups); they differ in which time steps count.

The tasks: the four temporal tasks with their defaults, and ``rate-frequency`` and
``frozen-noise`` from :mod:`rockpool_dynapse2.app.tasks` with 1200 samples (600 train).

Run from the repository root::

    python benchmarks/task_references.py --readouts count late --json references.json
    python benchmarks/task_references.py --quick              # 15 epochs, 32 neurons
    python benchmarks/task_references.py --tasks temporal-xor --seeds 0 1 2 --readouts late
    python benchmarks/task_references.py --tasks rate-frequency --tau-mem 0.005 0.05  # fast hidden neurons

Measured in ``docs/results.md`` ("The LIF reference"): temporal XOR needs the ``late``
readout (the whole-sample count does not generalise there), rate-frequency needs hidden
time constants started in 5-50 ms (chosen on the validation accuracy).
    python benchmarks/task_references.py --no-lif             # only the regressions
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from rockpool_dynapse2.errors import ParameterValueError
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


READOUTS = ("count", "late", "ramp")
"""Spike-count readouts of the output groups: ``count``, the spikes over the whole sample
(our library's readout); ``late``, the spikes in the last ``late_fraction`` of the sample;
``ramp``, spikes weighted by ``(t + 1) / T`` (a time-weighted count)."""


@dataclass(frozen=True)
class LIFSettings:
    """Architecture and training recipe of the LIF reference (see the module docstring)."""

    n_hidden: int = 64
    per_class: int = 4
    epochs: int = 40
    batch: int = 32
    lr: float = 3e-3
    rec_lr_scale: float = 0.3
    tau_lr_scale: float = 1.0
    weight_decay: float = 1e-4
    clip: float = 1.0
    temperature: float = 0.1
    dropout: float = 0.2
    hidden_dropout: float = 0.2
    max_shift: int = 0
    rate_penalty: float = 1.0
    max_rate: float = 0.1
    min_rate: float = 0.002
    val_fraction: float = 0.2
    readout: str = "count"
    late_fraction: float = 0.5
    train_tau: bool = True
    tau_mem: Tuple[float, float] = (20e-3, 200e-3)
    tau_syn: float = 10e-3
    tau_out: float = 50e-3
    rec_scale: float = 0.1
    out_scale: float = 0.3
    input_drive: float = 4.0
    patience: int = 0

    def __post_init__(self) -> None:
        if self.readout not in READOUTS:
            raise ParameterValueError("readout", f"one of {READOUTS}", self.readout)
        if not 0.0 < self.val_fraction < 1.0:
            raise ParameterValueError("val_fraction", "in (0, 1)", self.val_fraction)
        for name in ("dropout", "hidden_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ParameterValueError(name, "in [0, 1)", getattr(self, name))


def split_validation(task: Task, fraction: float, seed: int) -> Tuple[np.ndarray, ...]:
    """``(x_fit, y_fit, x_val, y_val)``: a stratified validation split carved from the training set."""
    rng = np.random.default_rng(seed + 1000)
    val = np.concatenate(
        [rng.permutation(np.flatnonzero(task.y_train == k))[: int(round(fraction * np.sum(task.y_train == k)))]
         for k in range(task.n_classes)]
    )
    fit = np.setdiff1d(np.arange(len(task.y_train)), val)
    return task.x_train[fit], task.y_train[fit], task.x_train[val], task.y_train[val]


def input_scale(x: np.ndarray, s: LIFSettings, dt: float) -> float:
    """Input weight scale: a random input projection (unit-variance weights) gives a
    stationary membrane drive with a standard deviation of ``input_drive`` thresholds
    (the mean input rate through the synaptic and membrane filters)."""
    rate = float(np.mean(x))
    gain_syn = 1.0 / (1.0 - np.exp(-dt / s.tau_syn))
    gain_mem = 1.0 / (1.0 - np.exp(-dt / np.sqrt(s.tau_mem[0] * s.tau_mem[1])))
    return s.input_drive / max(rate * np.sqrt(x.shape[2]) * gain_syn * gain_mem, 1e-9)


def initial_parameters(C: int, K: int, s: LIFSettings, x: np.ndarray, dt: float, rng: np.random.Generator) -> Dict:
    """The trained parameters; time constants as natural logarithms of seconds."""
    N, M = s.n_hidden, K * s.per_class
    log_tau = rng.uniform(np.log(s.tau_mem[0]), np.log(s.tau_mem[1]), size=N)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    return {
        "w_in": f32(input_scale(x, s, dt) * rng.normal(size=(C, N))),
        "w_rec": f32(s.rec_scale * rng.normal(size=(N, N)) / np.sqrt(N)),
        "w_out": f32(s.out_scale * rng.normal(size=(N, M)) / np.sqrt(N)),
        "hidden": {"log_tau_mem": f32(log_tau), "log_tau_syn": f32(np.full((N, 1), np.log(s.tau_syn))),
                   "bias": f32(np.zeros(N))},
        "output": {"log_tau_mem": f32(np.full(M, np.log(s.tau_out))), "log_tau_syn": f32(np.full((M, 1), np.log(s.tau_syn))),
                   "bias": f32(np.zeros(M))},
    }


def lif_params(p: Dict, dt: float) -> Dict:
    """LIFJax parameters of a population from our record (time constants clipped to [2 dt, 1 s])."""
    import jax.numpy as jnp

    def tau(log_tau):
        return jnp.clip(jnp.exp(log_tau), 2 * dt, 1.0)

    return {"tau_mem": tau(p["log_tau_mem"]), "tau_syn": tau(p["log_tau_syn"]), "bias": p["bias"]}


def param_labels(params: Dict, s: LIFSettings) -> Dict:
    """Optimiser group of every parameter: ``fast`` (input, output weights), ``slow`` (recurrent
    weights and biases, ``rec_lr_scale`` times the learning rate), ``tau`` or ``fixed``."""
    def group(path, _):
        name = getattr(path[-1], "key", "")
        if name.startswith("log_tau"):
            return "tau" if s.train_tau else "fixed"
        return "slow" if name in ("w_rec", "bias") else "fast"

    import jax

    return jax.tree_util.tree_map_with_path(group, params)


def optimiser(params: Dict, s: LIFSettings, steps: int):
    """AdamW per parameter group after global-norm clipping; cosine decay of the learning rate."""
    import optax

    def adamw(scale: float, decay: float):
        return optax.adamw(optax.cosine_decay_schedule(scale * s.lr, max(steps, 1)), weight_decay=decay)

    groups = {"fast": adamw(1.0, s.weight_decay), "slow": adamw(s.rec_lr_scale, s.weight_decay),
              "tau": adamw(s.tau_lr_scale, 0.0), "fixed": optax.set_to_zero()}
    return optax.chain(optax.clip_by_global_norm(s.clip), optax.multi_transform(groups, param_labels(params, s)))


def time_weights(T: int, s: LIFSettings) -> np.ndarray:
    """Weight of each time step ``(T,)`` in the readout's spike count."""
    t = np.arange(T)
    if s.readout == "late":
        return (t >= (1.0 - s.late_fraction) * T).astype(np.float32)
    if s.readout == "ramp":
        return ((t + 1) / T).astype(np.float32)
    return np.ones(T, dtype=np.float32)


class LIFNetwork:
    """``LinearJax -> LIFJax (recurrent) -> LinearJax -> LIFJax``, ``per_class`` output neurons per class."""

    def __init__(self, C: int, K: int, T: int, dt: float, s: LIFSettings):
        from rockpool.nn.modules import LIFJax, LinearJax

        N, M = s.n_hidden, K * s.per_class
        one = {"max_spikes_per_dt": 1.0, "dt": dt}  # at most one spike per neuron and step, as on the chip
        self.lin_in, self.lin_out = LinearJax((C, N)), LinearJax((N, M))
        self.hidden, self.output = LIFJax((N,), has_rec=True, **one), LIFJax((M,), **one)
        self.K, self.s, self.dt, self.weights = K, s, dt, time_weights(T, s)

    def run(self, p: Dict, x, hidden_mask=1.0):
        """Hidden and output spikes ``(B, T, N)``, ``(B, T, M)`` of inputs ``x`` ``(B, T, C)``;
        ``hidden_mask`` multiplies the hidden spikes on their way to the output layer."""
        h, _, _ = self.lin_in.set_attributes({"weight": p["w_in"]})(x)
        hidden = dict(lif_params(p["hidden"], self.dt), w_rec=p["w_rec"])
        sh, _, _ = self.hidden.reset_state().set_attributes(hidden)(h)
        o, _, _ = self.lin_out.set_attributes({"weight": p["w_out"]})(sh * hidden_mask)
        so, _, _ = self.output.reset_state().set_attributes(lif_params(p["output"], self.dt))(o)
        return sh, so

    def scores(self, out):
        """Class scores ``(B, K)``: the mean weighted spike count of each class group."""
        import jax.numpy as jnp

        counts = jnp.einsum("btm,t->bm", out, self.weights)
        return counts.reshape(out.shape[0], self.K, self.s.per_class).mean(axis=2)

    def rate_penalty(self, spikes):
        """Mean squared excess of each neuron's rate (spikes per step) over ``max_rate`` or below ``min_rate``."""
        import jax.numpy as jnp

        rates = spikes.mean(axis=(0, 1))
        high, low = jnp.maximum(rates - self.s.max_rate, 0.0), jnp.maximum(self.s.min_rate - rates, 0.0)
        return jnp.mean(high**2 + low**2) / self.s.max_rate**2

    def loss(self, p: Dict, x, y, key):
        """Cross-entropy of ``temperature * scores`` plus the rate penalty, input and hidden spikes under dropout."""
        import jax
        import optax

        k_in, k_hidden = jax.random.split(key)
        keep = jax.random.bernoulli(k_in, 1.0 - self.s.dropout, x.shape) / (1.0 - self.s.dropout)
        B, N = x.shape[0], self.s.n_hidden
        mask = jax.random.bernoulli(k_hidden, 1.0 - self.s.hidden_dropout, (B, 1, N)) / (1.0 - self.s.hidden_dropout)
        sh, so = self.run(p, x * keep, mask)
        ce = optax.softmax_cross_entropy_with_integer_labels(self.s.temperature * self.scores(so), y).mean()
        return ce + self.s.rate_penalty * (self.rate_penalty(sh) + self.rate_penalty(so))


def shifted(x: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each sample of ``x`` ``(B, T, C)`` moved in time by a uniform whole number of steps in
    ``[-max_shift, max_shift]`` (spikes moved past either end are dropped; the gap is silent)."""
    if max_shift == 0:
        return x
    T = x.shape[1]
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (0, 0)))
    starts = max_shift - rng.integers(-max_shift, max_shift + 1, size=len(x))
    return np.stack([padded[b, st : st + T] for b, st in enumerate(starts)])


def _evaluate(net: LIFNetwork, predict, p: Dict, x: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    """``(accuracy, cross-entropy)`` on ``x``, ``y``; a tie among the top scores counts as wrong."""
    hits, losses = [], []
    for i in range(0, len(y), 200):
        scores = np.asarray(predict(p, x[i : i + 200]), dtype=np.float64)
        top = scores.max(axis=1, keepdims=True)
        won = (scores == top).sum(axis=1) == 1
        hits.append(won & (scores.argmax(axis=1) == y[i : i + 200]))
        z = net.s.temperature * scores
        logp = z - top * net.s.temperature - np.log(np.exp(z - top * net.s.temperature).sum(axis=1, keepdims=True))
        losses.append(-logp[np.arange(len(z)), y[i : i + 200]])
    return float(np.mean(np.concatenate(hits))), float(np.mean(np.concatenate(losses)))


def lif_reference(task: Task, settings: LIFSettings, seed: int, verbose: bool = False) -> Dict[str, float]:
    """Train the LIFJax reference on ``task``; train, validation and test accuracy at the
    epoch of best validation accuracy (ties: lower validation loss)."""
    import jax
    import jax.numpy as jnp
    import optax

    s = settings
    x_fit, y_fit, x_val, y_val = split_validation(task, s.val_fraction, seed)
    B, T, C = task.x_train.shape
    net = LIFNetwork(C, task.n_classes, T, task.dt, s)
    rng = np.random.default_rng(seed)
    params = initial_parameters(C, task.n_classes, s, x_fit, task.dt, rng)
    steps_per_epoch = len(y_fit) // s.batch
    opt = optimiser(params, s, s.epochs * steps_per_epoch)
    state = opt.init(params)

    @jax.jit
    def step(p, st, x, y, key):
        value, grads = jax.value_and_grad(net.loss)(p, x, y, key)
        updates, st = opt.update(grads, st, p)
        return optax.apply_updates(p, updates), st, value

    predict = jax.jit(lambda p, x: net.scores(net.run(p, x)[1]))
    key = jax.random.PRNGKey(seed)
    best = {"epoch": 0, "val": -1.0, "val_loss": np.inf, "params": params}
    for epoch in range(1, s.epochs + 1):
        order = rng.permutation(len(y_fit))
        losses = []
        for i in range(steps_per_epoch):  # drop the last partial batch: one compiled shape
            idx = order[i * s.batch : (i + 1) * s.batch]
            key, sub = jax.random.split(key)
            x = jnp.asarray(shifted(x_fit[idx], s.max_shift, rng))
            params, state, value = step(params, state, x, jnp.asarray(y_fit[idx]), sub)
            losses.append(float(value))
        val, val_loss = _evaluate(net, predict, params, x_val, y_val)
        if (val, -val_loss) > (best["val"], -best["val_loss"]):
            best = {"epoch": epoch, "val": val, "val_loss": val_loss, "params": params}
        if verbose:
            print(f"  epoch {epoch}: loss {np.mean(losses):.3f}, val {100 * val:.1f} % ({val_loss:.3f})", flush=True)
        if not np.isfinite(np.mean(losses)) or (s.patience and epoch - best["epoch"] >= s.patience):
            break
    p = best["params"]
    return {
        "lif_train": _evaluate(net, predict, p, x_fit, y_fit)[0],
        "lif_val": best["val"],
        "lif_test": _evaluate(net, predict, p, task.x_test, task.y_test)[0],
        "lif_epoch": best["epoch"],
        "lif_epochs_run": epoch,
    }


QUICK = {"epochs": 15, "n_hidden": 32}
"""``--quick``: fewer epochs and neurons (a few minutes for every task)."""

BASELINES = ("chance", "count", "timing-lin", "timing")


def baselines(task: Task) -> Dict[str, float]:
    """Chance and the three regressions' test accuracy."""
    return {
        "chance": 1.0 / task.n_classes,
        "count": count_baseline(task),
        "timing-lin": timing_baseline(task, interactions=False),
        "timing": timing_baseline(task),
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seed", "--seeds", dest="seeds", type=int, nargs="+", default=[0],
                        help="seeds of the tasks and the network (one row per seed)")
    parser.add_argument("--readouts", nargs="+", default=["count"], choices=READOUTS,
                        help="output readouts to train (one network each)")
    parser.add_argument("--quick", action="store_true", help=f"smaller and shorter: {QUICK}")
    parser.add_argument("--no-lif", action="store_true", help="only the regressions")
    parser.add_argument("--verbose", action="store_true", help="print every epoch")
    parser.add_argument("--json", default=None, help="write the rows to this JSON file")
    defaults = LIFSettings()
    for field in dataclasses.fields(LIFSettings):
        if field.name == "readout":
            continue
        flag = "--" + field.name.replace("_", "-")
        value = getattr(defaults, field.name)
        if isinstance(value, bool):
            parser.add_argument(flag, type=lambda v: v.lower() in ("1", "true", "yes"), default=None, help=f"(default {value})")
        elif isinstance(value, tuple):
            parser.add_argument(flag, type=float, nargs=2, default=None, help=f"(default {value})")
        else:
            parser.add_argument(flag, type=type(value), default=None, help=f"(default {value})")
    return parser.parse_args()


def settings_from(args: argparse.Namespace) -> LIFSettings:
    """The LIF settings: the defaults, then ``--quick``, then every option given."""
    chosen = dict(QUICK) if args.quick else {}
    for field in dataclasses.fields(LIFSettings):
        value = getattr(args, field.name, None)
        if value is not None:
            chosen[field.name] = tuple(value) if isinstance(value, list) else value
    return LIFSettings(**chosen)


def run_task(name: str, seed: int, args: argparse.Namespace, settings: LIFSettings) -> Dict:
    """One row: the task's baselines and one trained LIF network per readout."""
    task = make(name, seed)
    row = {"task": name, "seed": seed, "shape": list(task.x_train.shape), **baselines(task), "lif": {}}
    for readout in [] if args.no_lif else args.readouts:
        t0 = time.perf_counter()
        result = lif_reference(task, dataclasses.replace(settings, readout=readout), seed, verbose=args.verbose)
        row["lif"][readout] = {**result, "seconds": time.perf_counter() - t0}
    return row


def print_tables(rows: List[Dict], settings: LIFSettings) -> None:
    print("\n| task | seed | (B_train, T, C) | " + " | ".join(BASELINES) + " |")
    print("|---|---|---|" + "---|" * len(BASELINES))
    for row in rows:
        shape = "x".join(str(s) for s in row["shape"])
        print(f"| {row['task']} | {row['seed']} | {shape} | " + " | ".join(f"{100 * row[k]:.1f}" for k in BASELINES) + " |")
    if not any(row["lif"] for row in rows):
        return
    print(f"\nLIF: {settings}\n")
    print("| task | seed | readout | LIF train | LIF val | LIF test | best epoch | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        for readout, r in row["lif"].items():
            print(f"| {row['task']} | {row['seed']} | {readout} | {100 * r['lif_train']:.1f} | {100 * r['lif_val']:.1f} | "
                  f"{100 * r['lif_test']:.1f} | {r['lif_epoch']} / {r['lif_epochs_run']} | {r['seconds']:.0f} |")


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 3) if isinstance(value, float) else value


def main() -> None:
    args = parse_args()
    settings = settings_from(args)
    rows = []
    for seed in args.seeds:
        for name in args.tasks:
            rows.append(run_task(name, seed, args, settings))
            print(json.dumps(_rounded(rows[-1])), flush=True)
            if args.json:  # written after every task: a long run keeps what it measured
                with open(args.json, "w") as f:
                    json.dump({"args": vars(args), "settings": dataclasses.asdict(settings), "rows": rows}, f, indent=2)
    print_tables(rows, settings)


if __name__ == "__main__":
    main()
