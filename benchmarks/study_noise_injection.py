"""The paper's claim, measured: does mismatch injection during training keep the accuracy
after quantization and under device mismatch close to the float accuracy?

Runs the demo pipeline (:func:`rockpool_dynapse2.app.demo.run_demo`) for several seeds and
prints, per seed and averaged, the test accuracy of the network trained with injection and
of the one trained without it: float simulation, quantized (chip-exact), and on simulated
mismatched chips (mean and worst chip). Figures in ``docs/results.md``.

    python benchmarks/study_noise_injection.py --task frozen-noise --seeds 0 1 2 --json /tmp/study.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace

import numpy as np

from rockpool_dynapse2.app.demo import NETWORKS, PRESETS, DemoSettings, run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="frozen-noise", choices=("frozen-noise", "rate-frequency"))
    parser.add_argument("--preset", default="default", choices=PRESETS)
    parser.add_argument("--backend", default="jax", choices=("jax", "torch"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, help="training epochs (default: the preset's)")
    parser.add_argument("--neurons-per-class", type=int, help="output neurons per class (default: the preset's)")
    parser.add_argument("--samples", type=int, help="task samples, half for testing (default: the preset's)")
    parser.add_argument("--chips-per-step", type=int, help="mismatched chips per training step (default: the preset's)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()

    rows = []
    for seed in args.seeds:
        options = {
            "epochs": args.epochs,
            "neurons_per_class": args.neurons_per_class,
            "n_samples": args.samples,
            "chips_per_step": args.chips_per_step,
        }
        extra = {k: v for k, v in options.items() if v is not None}
        s = DemoSettings.preset(args.preset, task=args.task, backend=args.backend, seed=seed, **extra)
        s = replace(s, write_configs=False, board_samples=1)  # the board stage equals "quantized" (tested)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            result = run_demo(s, out, log=lambda _: None)
        for name in NETWORKS:
            r = result.networks[name]
            row = {"seed": seed, "network": name, "float": r.float_accuracy, "quantized": r.quantized_accuracy}
            for dev, acc in r.mismatch.items():
                row[f"mismatch {dev:.0%} mean"] = float(np.mean(acc))
                row[f"mismatch {dev:.0%} worst"] = float(np.min(acc))
            rows.append(row)
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)

    keys = [k for k in rows[0] if k not in ("seed", "network")]
    print("\n| seed | network | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for row in rows:
        print(f"| {row['seed']} | {row['network']} | " + " | ".join(f"{100 * row[k]:.1f}" for k in keys) + " |")
    for name in NETWORKS:
        mine = [r for r in rows if r["network"] == name]
        print(f"| mean | {name} | " + " | ".join(f"{100 * np.mean([r[k] for r in mine]):.1f}" for k in keys) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "settings": str(s), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
