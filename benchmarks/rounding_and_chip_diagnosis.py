"""What a trained network's stages differ by: the float network against the rounded one,
and what makes a mismatched chip fail (session 11, issue #15).

Reads a ``train`` output directory (``network.npz``, ``results.json``, ``x_test.npy``,
``y_test.npy``):

    rockpool-dynapse2 train --data DATA.npz --out run
    python benchmarks/rounding_and_chip_diagnosis.py run              # float against rounded
    python benchmarks/rounding_and_chip_diagnosis.py run --chips 4    # and the 4 worst chips at 30 %

The first part prints the test accuracy with the weights' levels and the currents' bias
codes each on or off, the share of synapses the levels round to 0, and the float network
with those synapses at 0. The second takes the worst chips of ``results.json``'s
``mismatch`` at ``--deviation`` (the same chips: drawn from the job's seed + 1, as
``train`` draws them) and keeps each chip's mismatch on one group of quantities, or on the
output or hidden neurons only, the rest nominal; with the chip's confusion matrix.
The figures are in ``docs/results.md`` ("Beat anomalies' float, and robustness with injection").
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def rounding(model, params, x, y) -> None:
    from rockpool_dynapse2.app.train_pipeline import rounded_away
    from rockpool_dynapse2.training.constraints import jax_ops
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    for q in (True, False):
        for s in (True, False):
            acc = model.accuracy(counts_jax(model, params, x, quantize=q, snap=s), y)
            print(f"weights {'on levels' if q else 'unrounded'}, currents {'on bias codes' if s else 'unrounded'}: {acc:.1%}")
    print("synapses the levels round to 0:", {k: f"{v:.1%}" for k, v in rounded_away(model, params).items()})
    view = model.chip_view(jax_ops(), params)
    zeroed = dict(params)
    for key in ("w_in", "w_rec"):
        zeroed[key] = np.where(np.asarray(getattr(view, key)) == 0, 0.0, np.asarray(params[key])).astype(np.float32)
    for s in (False, True):
        acc = model.accuracy(counts_jax(model, zeroed, x, quantize=False, snap=s), y)
        print(f"unrounded weights, those the levels round to 0 at 0, currents {'on bias codes' if s else 'unrounded'}: {acc:.1%}")


def groups():
    from rockpool_dynapse2.simulation.records import CURRENT_NAMES, LAYOUT_NAMES

    taus = [n for n in CURRENT_NAMES if n.startswith("Itau")]
    return {
        "time constants (Itau_*, layout)": taus + list(LAYOUT_NAMES),
        "layout (Ut, kappa, C, ...)": list(LAYOUT_NAMES),
        "Itau currents": taus,
        "gain currents": [n for n in CURRENT_NAMES if n.startswith("Igain")],
        "other currents": [n for n in CURRENT_NAMES if not n.startswith(("Itau", "Igain"))],
        "weights": ["w_in", "w_rec"],
    }


def restricted(factors, names=None, neurons=None):
    """The chip's factors on ``names`` (or on ``neurons``: a mask over the targets), 1 elsewhere."""
    out = {}
    for k, v in factors.items():
        if names is not None:
            out[k] = v if k in names else np.ones_like(v)
        else:
            mask = neurons[None, :] if v.ndim == 2 else neurons
            out[k] = np.where(mask, v, 1.0).astype(np.float32)
    return out


def chips(model, params, x, y, results, deviation: float, n_worst: int) -> None:
    import jax

    from rockpool_dynapse2.training.jax_trainer import _chip_noise, counts_jax
    from rockpool_dynapse2.transform.deviation import sigma_from_deviation

    values = np.asarray(results["accuracy"]["mismatch"][f"{deviation:g}"]["chips"])
    keys = jax.random.split(jax.random.PRNGKey(results["job"]["seed"] + 1), len(values))
    sigma = sigma_from_deviation(deviation, model.settings.sigma_rule)
    is_out = np.zeros(model.layout.n_neurons, bool)
    is_out[model.layout.slice_of(model.layout.output)] = True
    acc = lambda f: model.accuracy(counts_jax(model, params, x, chip=f), y)  # noqa: E731
    for c in np.argsort(values)[:n_worst]:
        factors = {k: np.asarray(v) for k, v in _chip_noise(keys[c], model, sigma).items()}
        full = counts_jax(model, params, x, chip=factors)
        parts = [f"chip {c}: {model.accuracy(full, y):.1%} (results.json {values[c]:.1%})"]
        parts += [f"{g} only {acc(restricted(factors, names)):.1%}" for g, names in groups().items()]
        parts += [f"{w} neurons only {acc(restricted(factors, neurons=m)):.1%}" for w, m in (("output", is_out), ("hidden", ~is_out))]
        confusion = np.zeros((model.layout.n_classes, model.layout.n_classes + 1), int)
        np.add.at(confusion, (y, model.predict(full)), 1)  # last column: ties
        print("; ".join(parts) + f"; confusion (rows: true class; last column: ties) {confusion.tolist()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a train output directory")
    parser.add_argument("--samples", type=int, default=None, help="test samples used (default: all)")
    parser.add_argument("--chips", type=int, default=0, help="also diagnose this many of the worst chips")
    parser.add_argument("--deviation", type=float, default=0.3)
    args = parser.parse_args()

    from rockpool_dynapse2.training import load_parameters

    run = Path(args.run)
    saved = load_parameters(run / "network.npz")
    x, y = np.load(run / "x_test.npy")[: args.samples], np.load(run / "y_test.npy")[: args.samples]
    rounding(saved.model, saved.params, x, y)
    if args.chips:
        results = json.loads((run / "results.json").read_text())
        chips(saved.model, saved.params, x, y, results, args.deviation, args.chips)


if __name__ == "__main__":
    main()
