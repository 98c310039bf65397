"""Digital twins of virtual chips: probe, fit, and the three targets of issue #18.

For each seed a virtual board is drawn (``ChipProfile.draw(seed, mismatch, ...)``, with
defect fractions of your choice), probed through the board protocol (``twin.probe``) and
fitted (``twin.fit_twin``: the staged fit on spike times, or with ``--counts-only`` the
count fit of a protocol without timing runs). Printed per seed:

* the median relative error of each identifiable quantity (``twin.quantities``) against
  the drawn truth, and their median (target: <= 5 % at 30 % mismatch);
* defects found, true and false: dead and always-on neurons, defective CAM entries among
  the probed neurons (target: no false alarm), and the neurons whose entries went untested;
* the held-out correlation: observed vs predicted spike counts per neuron of a stimulus the
  fit never saw (target: >= 0.95), and the ideal chip's as a baseline;
* the cost: simulated seconds sent to the board, wall time of the probe and of the fit.

Usage (the figures of docs/twin.md)::

    python benchmarks/twin_fit.py --seed 0 1 2 --mismatch 0.3 --cores 0 --neurons 64
    python benchmarks/twin_fit.py --seed 0 1 2 --mismatch 0.2 --cores 0 --neurons 64
    python benchmarks/twin_fit.py --seed 0 1 2 --mismatch 0.3 --cores 0 --neurons 64 --counts-only
    python benchmarks/twin_fit.py --seed 0 --cores 0 1 2 3 --neurons 256 --json twin.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from rockpool_dynapse2.hardware import ChipProfile, VirtualBoard
from rockpool_dynapse2.twin import ProbeProtocol, effective_quantities, fit_twin, predict_counts, probe, probe_runs, quantity_errors
from rockpool_dynapse2.twin.quantities import PARAMETER_NAMES, QUANTITY_NAMES


def _inside(addresses, probed):
    return sorted(a for a in addresses if tuple(a[:3]) in probed)


def _defect_table(truth: ChipProfile, twin, probed: set) -> dict:
    out = {}
    for name, true, found in (
        ("dead", truth.dead_neurons, twin.defects.dead),
        ("always_on", truth.always_on_neurons, twin.defects.always_on),
        ("cam_entries", truth.defective_cam_entries, twin.defects.cam_entries),
    ):
        true = set(_inside(true, probed))
        found = set(found)
        out[name] = {"true": len(true), "found": len(found & true), "false_alarms": len(found - true)}
    out["untested_neurons"] = len(twin.defects.untested_entries)
    return out


def _ideal_correlation(twin, recordings) -> float:
    """The held-out correlation of the ideal chip's prediction (the baseline)."""
    observed, predicted = [], []
    for chip in recordings.chips:
        theta = np.zeros((len(chip.addresses(recordings.protocol)), len(PARAMETER_NAMES)))
        predicted.append(predict_counts(theta, chip, recordings.protocol, twin.defects, "held_out").sum(axis=0))
        observed.append(chip.counts["held_out"].sum(axis=0))
    o, p = np.concatenate(observed)[twin.quality.fitted], np.concatenate(predicted)[twin.quality.fitted]
    return float(np.corrcoef(o, p)[0, 1]) if p.std() > 0 else float("nan")


def run_seed(seed: int, args) -> dict:
    truth = ChipProfile.draw(seed, mismatch=args.mismatch, dead_fraction=args.dead, always_on_fraction=args.always_on,
                             cam_defect_fraction=args.cam)
    extra = {} if args.pulse_bias is None else {"pulse_bias_levels": tuple(args.pulse_bias)}
    protocol = ProbeProtocol(neurons_per_core=args.neurons, mixture_seeds=tuple(range(2, 2 + args.mixtures)), timing=not args.counts_only, **extra)
    t0 = time.perf_counter()
    recordings = probe(VirtualBoard(profile=truth), chips=args.chips, cores=args.cores, protocol=protocol)
    t_probe = time.perf_counter() - t0
    t0 = time.perf_counter()
    twin = fit_twin(recordings, steps=args.steps)
    t_fit = time.perf_counter() - t0
    errors = quantity_errors(twin, truth)
    baseline = effective_quantities(truth, twin.addresses, protocol.core(max(protocol.dc_levels)))
    steps = sum(r.raster.shape[0] for r in probe_runs(protocol)) * len(args.chips)
    return {
        "seed": seed,
        "neurons": len(twin.addresses),
        "median_error": {k: float(np.median(np.abs(v))) for k, v in errors.items()},
        "median_error_all": float(np.median(np.abs(np.concatenate(list(errors.values()))))),
        "ideal_median_error": {k: float(np.median(np.abs(1.0 / baseline[k][twin.quality.fitted] - 1.0))) for k in QUANTITY_NAMES},
        "defects": _defect_table(truth, twin, set(twin.addresses)),
        "held_out_correlation": twin.quality.held_out_correlation,
        "ideal_held_out_correlation": _ideal_correlation(twin, recordings),
        "loss_per_bin": float(np.median(twin.quality.loss_per_bin[twin.quality.fitted])),
        "chip_seconds": steps * protocol.dt,
        "probe_wall_s": t_probe,
        "fit_wall_s": t_fit,
    }


def _print(r: dict) -> None:
    print(f"seed {r['seed']}: {r['neurons']} neurons, probe {r['chip_seconds']:.1f} s of chip time in {r['probe_wall_s']:.0f} s, fit {r['fit_wall_s']:.0f} s", flush=True)
    print(f"  {'quantity':12s} {'twin':>8s} {'ideal':>8s}   (median |relative error|)")
    for k in QUANTITY_NAMES:
        print(f"  {k:12s} {100 * r['median_error'][k]:7.1f}% {100 * r['ideal_median_error'][k]:7.1f}%")
    print(f"  all quantities: {100 * r['median_error_all']:.1f}%")
    for k, v in r["defects"].items():
        print(f"  {k}: {v}")
    print(f"  held-out correlation {r['held_out_correlation']:.3f} (ideal chip {r['ideal_held_out_correlation']:.3f}); loss per bin {r['loss_per_bin']:.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--mismatch", type=float, default=0.3)
    parser.add_argument("--chips", type=int, nargs="+", default=[0])
    parser.add_argument("--cores", type=int, nargs="+", default=[0])
    parser.add_argument("--neurons", type=int, default=64, help="neurons probed per core")
    parser.add_argument("--steps", type=int, default=150, help="fit steps")
    parser.add_argument("--mixtures", type=int, default=1, help="fitted Poisson mixture runs (seeds 2, 3, ...)")
    parser.add_argument("--dead", type=float, default=0.02)
    parser.add_argument("--always-on", type=float, default=0.01)
    parser.add_argument("--cam", type=float, default=0.01)
    parser.add_argument("--counts-only", action="store_true",
                        help="the protocol without timing runs: the count fit (fit_twin's gradient descent on binned counts)")
    parser.add_argument("--pulse-bias", type=float, nargs="*", default=None,
                        help="DC levels (A) of the inhibitory pulses over a bias (ProbeProtocol.pulse_bias_levels; none: no such run)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    results = []
    for seed in args.seed:
        results.append(run_seed(seed, args))
        _print(results[-1])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
