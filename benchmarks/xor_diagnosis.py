"""Temporal XOR: what an untrained network's hidden neurons hold in the readout window, and
what a hand-set neuron can do with two bursts (issue #15, session 10).

Two measurements, seed 0, 400 training and 400 test samples, the last half of each sample
(the readout window ``readout_start = 0.5``), no training:

* ``memory``: the `train` pipeline's start (balanced signs, input weights scaled to the
  data) for a layout; a ridge classifier on the hidden neurons' spike counts in the window
  decodes the first bit (burst at 50 or 150 ms), the second bit (250 or 350 ms) and the
  class (their XOR). Train / test accuracy. A bit the counts do not hold cannot be learned
  by a readout of them.
* ``hand``: 64 neurons, each receiving the 16 signal channels with one weight (64 weights
  from 0.002 to 5, log-spaced) on AMPA, or half of the channels on NMDA; per condition
  (first bit, second bit) the mean spike count in the window; the XOR needs the
  interaction ``m11 - m10 - m01 + m00``, reported in units of the counts' within-condition
  standard deviation, for the neuron where it is largest.

    python benchmarks/xor_diagnosis.py memory                       # --input-factor 0.1: smaller initial input weights
    python benchmarks/xor_diagnosis.py hand

The training library drives only AMPA and GABA (``constraints.typed_input``); for the NMDA
rows this script routes the chosen synapses' excitatory weight to NMDA in its own
simulation (``_nmda_routing``), a probe, not a feature of the library.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

N_SAMPLES = 800
SIGNAL = 16
WINDOW = 200
"""First step of the readout window (400-step samples, ``readout_start = 0.5``)."""

LAYOUTS = {
    "one hidden population, 10 ms (the pipeline's)": dict(hidden=(32,)),
    "two side by side, 10 / 150 ms": dict(hidden=(32, 32), parallel=True, hidden_taus=(0.01, 0.15)),
    "three side by side, 10 / 50 / 150 ms": dict(hidden=(32, 32, 32), parallel=True, hidden_taus=(0.01, 0.05, 0.15)),
}


def bits(x: np.ndarray):
    """``(first, second)``: 1 where the bit's burst is the late one (from the signal channels)."""
    s = x[:, :, :SIGNAL].sum(2)
    return (s[:, 130:170].sum(1) > s[:, 30:70].sum(1)).astype(int), (s[:, 330:370].sum(1) > s[:, 230:270].sum(1)).astype(int)


def ridge(F, y, Ft, yt, lam=1.0):
    """Train / test accuracy of a ridge classifier on standardised features."""
    mu, sd = F.mean(0), F.std(0) + 1e-6
    A, At = (np.c_[(f - mu) / sd, np.ones(len(f))] for f in (F, Ft))
    w = np.linalg.solve(A.T @ A + lam * np.eye(A.shape[1]), A.T @ (2.0 * y - 1))
    return float(((A @ w > 0) == y).mean()), float(((At @ w > 0) == yt).mean())


def window_counts(model, params, x, neurons):
    from rockpool_dynapse2.training.jax_trainer import simulate_jax

    runs = [np.asarray(simulate_jax(model, params, x[i : i + 200], quantize=False, snap=False)) for i in range(0, len(x), 200)]
    return np.concatenate(runs)[:, WINDOW:, neurons].sum(1)


def memory(task, input_factor: float = 1.0) -> None:
    from dataclasses import replace

    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model
    from rockpool_dynapse2.training import ChipModel

    for label, options in LAYOUTS.items():
        model = build_model(task, TrainJob(inject=False, readout_start=0.5, **options))
        if input_factor != 1.0:
            settings = replace(model.settings, input_scale=model.settings.input_scale * input_factor)
            model = ChipModel(model.layout, settings, model.connections)
        hidden = slice(0, model.layout.n_neurons - model.layout.population("output").size)
        params = model.initial_parameters()
        F, Ft = (window_counts(model, params, x, hidden) for x in (task.x_train, task.x_test))
        (a, b), (at, bt) = bits(task.x_train), bits(task.x_test)
        row = ", ".join(f"{name} {tr:.1%} / {te:.1%}" for name, (tr, te) in (
            ("first bit", ridge(F, a, Ft, at)), ("second bit", ridge(F, b, Ft, bt)), ("class", ridge(F, task.y_train, Ft, task.y_test))))
        print(f"{label}: {row}", flush=True)


def _nmda_routing(mask):
    """A ``typed_input`` that sends the excitatory part of the input weights where ``mask``
    (C, N) is 1 to NMDA instead of AMPA (recurrent weights unchanged)."""
    import jax.numpy as jnp

    from rockpool_dynapse2.training.constraints import typed_input

    def typed(ops, w):
        t = typed_input(ops, w)
        if w.shape != mask.shape:
            return t
        t = t.reshape(w.shape[0], w.shape[1], 4)
        t = jnp.stack([t[..., 0] * (1 - mask), t[..., 0] * mask, t[..., 2], t[..., 3]], -1)
        return t.reshape(w.shape[0], -1)

    return typed


def hand(task) -> None:
    import jax.numpy as jnp

    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings
    from rockpool_dynapse2.training import jax_trainer

    C, n = task.x_train.shape[2], 64
    weights = np.geomspace(0.002, 5, n).astype(np.float32)
    cases = [(f"AMPA {tau * 1e3:g} ms, threshold {thr:g} A", {"tau_ampa": tau, "Ispkthr": thr}, False)
             for tau in (0.05, 0.1, 0.2) for thr in (1e-7, 1e-6)]
    cases += [(f"half NMDA {tau * 1e3:g} ms, gate {gate:g} A", {"tau_nmda": tau, "If_nmda": gate}, True)
              for tau in (0.1, 0.2) for gate in (1e-9, 1e-8)]
    plain = jax_trainer.typed_input
    for label, start, nmda in cases:
        layout = NetworkLayout.layered(C, hidden=(n,), n_classes=2, per_class=8, starts=(start,))
        model = ChipModel(layout, TrainSettings(quantize=False, snap_codes=False))
        params = model.initial_parameters()
        params["w_in"] = np.zeros_like(params["w_in"])
        params["w_in"][:SIGNAL, :n] = weights
        params["w_rec"] = np.zeros_like(params["w_rec"])
        mask = np.zeros((C, layout.n_neurons), np.float32)
        mask[SIGNAL // 2 : SIGNAL, :n] = 1.0 if nmda else 0.0
        jax_trainer.typed_input = _nmda_routing(jnp.asarray(mask)) if nmda else plain
        try:
            counts = window_counts(model, params, task.x_train, slice(0, n))
        finally:
            jax_trainer.typed_input = plain
        a, b = bits(task.x_train)
        m = np.array([[counts[(a == i) & (b == j)].mean(0) for j in (0, 1)] for i in (0, 1)])
        sd = np.sqrt(np.mean([counts[(a == i) & (b == j)].var(0) for i in (0, 1) for j in (0, 1)], 0)) + 1e-3
        inter = np.abs(m[1, 1] - m[1, 0] - m[0, 1] + m[0, 0]) / sd
        k = int(np.argmax(inter))
        print(f"{label}: largest interaction {inter[k]:.2f} sd (weight {weights[k]:.3g}; condition means "
              f"{np.round(m[:, :, k], 1).tolist()}, sd {sd[k]:.2f}); neurons above 1 sd: {(inter > 1).sum()} of {n}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("memory", "hand"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-factor", type=float, default=1.0, help="memory: the initial input weights times this")
    args = parser.parse_args()
    from rockpool_dynapse2.app.tasks import make_task

    task = make_task("temporal-xor", N_SAMPLES, args.seed)
    if args.what == "memory":
        memory(task, args.input_factor)
    else:
        hand(task)


if __name__ == "__main__":
    main()
