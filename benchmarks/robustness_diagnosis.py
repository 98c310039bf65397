"""What bounds a trained network's accuracy on mismatched chips: one mismatch family at a time.

Trains a network with the ``train`` pipeline's sizing and settings (JAX, injection on by
default), measures float, quantized and 20 % / 30 % mismatch (mean, worst chip, yield =
fraction of chips within 5 points of float), raw and with each chip's readout calibrated
on 100 unlabelled training inputs (``ChipModel.calibrate_readout``), then, with ``--families``, the accuracy at
30 % when only one family of parameters is mismatched and the others stay nominal (the
same chips, ``--family-chips`` of them, on the first ``--family-samples`` test samples).

    python benchmarks/robustness_diagnosis.py --samples 1200 --epochs 40 --families
    python benchmarks/robustness_diagnosis.py --samples 1200 --epochs 40 --hidden 64 --per-class 12
    python benchmarks/robustness_diagnosis.py --samples 1200 --epochs 40 --train-deviation 0.45

The figures are in ``docs/results.md`` ("Robustness at 30 % mismatch").
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

FAMILIES = ("w_in", "w_rec", "Itau_mem", "Igain_mem", "Ispkthr", "Itau_ampa", "Igain_ampa", "Itau_gaba", "Ut",
            "kappa_n", "C_mem", "C_ampa", "Vth", "Io", "Iref", "Ipulse")


def _train(args):
    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.train_pipeline import initial_input_scale, size_network
    from rockpool_dynapse2.training import ChipModel, TrainSettings, connectivity
    from rockpool_dynapse2.training.jax_trainer import train_jax

    task = make_task(args.task, args.samples, args.seed)
    layout = size_network(task, (args.hidden,), args.per_class)
    settings = TrainSettings(epochs=args.epochs, inject=not args.no_inject, seed=args.seed, dt=task.dt,
                             deviation=args.train_deviation, chips_per_step=args.chips_per_step,
                             chip_tilt=args.chip_tilt, validation_chips=args.validation_chips)
    connections = connectivity(layout, settings.seed)
    settings = replace(settings, input_scale=initial_input_scale(connections, task, settings.excitatory_fraction))
    model = ChipModel(layout, settings, connections)
    t0 = time.perf_counter()
    result = train_jax(model, task.x_train, task.y_train)
    return task, model, result, time.perf_counter() - t0


def _family_accuracy(model, params, task, args):
    """Accuracy at 30 % with one family (or group) mismatched, the rest nominal."""
    import jax
    import jax.numpy as jnp

    from rockpool_dynapse2.simulation.records import CURRENT_NAMES, LAYOUT_NAMES
    from rockpool_dynapse2.training import jax_trainer as jt
    from rockpool_dynapse2.transform.deviation import sigma_from_deviation

    sigma = sigma_from_deviation(0.3, 3.0)
    names = list(CURRENT_NAMES) + list(LAYOUT_NAMES) + ["w_in", "w_rec"]
    keys = jax.random.split(jax.random.PRNGKey(args.seed + 1), args.family_chips)
    x, y = jnp.asarray(task.x_test[: args.family_samples]), task.y_test[: args.family_samples]

    def run(key, xb, selected):
        noise = jt._chip_noise(key, model, sigma)
        noise = {k: 1.0 + (v - 1.0) * selected[k] for k, v in noise.items()}
        return model.readout_counts(jt.simulate_jax(model, params, xb, noise=noise))

    f = jax.jit(jax.vmap(run, in_axes=(0, None, None)))
    groups = {"all currents": list(CURRENT_NAMES), "all layout constants": list(LAYOUT_NAMES), **{n: [n] for n in FAMILIES}}
    out = {}
    for group, members in groups.items():
        selected = {k: jnp.asarray(1.0 if k in members else 0.0) for k in names}
        counts = np.asarray(f(keys, x, selected))
        out[group] = float(np.mean([model.accuracy(c, y) for c in counts]))
        print(f"  only {group}: {out[group]:.1%}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="rate-frequency")
    parser.add_argument("--samples", type=int, default=1200, help="samples in all (half train, half test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--train-deviation", type=float, default=0.3)
    parser.add_argument("--chips-per-step", type=int, default=8)
    parser.add_argument("--no-inject", action="store_true")
    parser.add_argument("--chip-tilt", type=float, default=0.0, help="TrainSettings.chip_tilt")
    parser.add_argument("--validation-chips", type=int, default=0, help="TrainSettings.validation_chips")
    parser.add_argument("--chips", type=int, default=16, help="chips per mismatch level")
    parser.add_argument("--families", action="store_true", help="also one family at a time at 30 %%")
    parser.add_argument("--family-chips", type=int, default=8)
    parser.add_argument("--family-samples", type=int, default=200)
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args()

    from rockpool_dynapse2.app.train_pipeline import mismatch_accuracies
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    task, model, result, seconds = _train(args)
    flt = model.accuracy(counts_jax(model, result.params, task.x_test, quantize=False, snap=False), task.y_test)
    quant = model.accuracy(counts_jax(model, result.params, task.x_test), task.y_test)
    out = {"args": vars(args), "float": flt, "quantized": quant, "train_seconds": seconds}
    print(f"float {flt:.1%}, quantized {quant:.1%}, trained in {seconds:.0f} s")
    for dev in (0.2, 0.3):
        raw, calibrated = mismatch_accuracies(model, result.params, task, dev, args.chips, seed=args.seed + 1)
        for name, chips in (("", np.array(raw)), (" calibrated", np.array(calibrated))):
            out[f"mismatch {dev:g}{name}"] = {"mean": float(chips.mean()), "worst": float(chips.min()),
                                              "yield": float((chips >= flt - 0.05).mean()), "chips": chips.tolist()}
            print(f"mismatch {dev:.0%}{name}: mean {chips.mean():.1%}, worst {chips.min():.1%}, "
                  f"yield {(chips >= flt - 0.05).mean():.0%} ({chips.mean() / flt:.0%} of float)")
    if args.families:
        out["one family at 30 %"] = _family_accuracy(model, result.params, task, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
