"""A trained run's mismatch figures again, on more simulated chips than it was measured on.

``train --quick`` measures its network on 16 simulated chips per deviation, so its yield
(the fraction of chips within 5 points of float) moves in steps of 6.25 points, and one
chip more or less within the margin moves a comparison of two runs as much as a change of
the training does. This script separates that measurement noise from the training's: for
each ``train`` output folder (``network.npz``, ``x_test.npy``, ``y_test.npy``,
``results.json``) it

1. re-runs the chips the run was measured on (``--check``: the run's seed + 1, its chip
   count) and fails loudly unless their accuracies equal ``results.json``'s (the same
   network, test set and mismatch draw: the script measures what ``train`` measures);
2. runs ``--chips`` fresh chips at ``--deviation`` (drawn from ``--chip-seed``, the same
   chips for every run: a paired comparison of networks), and reports their mean, worst
   and yield with the 95 % interval of the yield (Wilson's, ``yield_interval``: how far ``k`` of ``n``
   chips within the margin pin the chip population's yield down).

Rows go to ``--jsonl`` (one per run; a folder already in the file is not measured again).

    python benchmarks/more_chips.py runs/beat-anomaly_s0_default runs/beat-anomaly_s0_vc8 --chips 64 --jsonl more.jsonl
    python benchmarks/more_chips.py --table more.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

CHIP_SEED = 1_000_003
"""Default seed of the fresh chips: far from any run's own (``train`` draws from its seed + 1)."""


def load_run(run: Path) -> Tuple[Any, Dict[str, Any], np.ndarray, np.ndarray]:
    """``run``'s model, trained quantities and test set."""
    from rockpool_dynapse2.training import load_parameters

    result = load_parameters(run / "network.npz")
    return result.model, result.params, np.load(run / "x_test.npy"), np.load(run / "y_test.npy")


def chip_accuracies(model: Any, params: Dict[str, Any], x: np.ndarray, y: np.ndarray, deviation: float, n_chips: int,
                    seed: int, workers: int = 1) -> List[float]:
    """Every chip's test accuracy (``n_chips`` chips drawn from ``seed``, as ``train`` draws them)."""
    from rockpool_dynapse2.training.jax_trainer import mismatch_counts_jax

    counts = mismatch_counts_jax(model, params, x, deviation, n_chips, seed=seed, workers=workers)
    return [float(model.accuracy(c, y)) for c in counts]


def figures(chips: Sequence[float], reference: float) -> Dict[str, Any]:
    """Mean, worst, yield (chips within 5 points of ``reference``) and its 95 % interval."""
    from rockpool_dynapse2.twin.yield_study import distribution

    d = distribution(list(chips), reference)
    low, high = d["yield_interval"]
    return {"mean": d["mean"], "worst": d["worst"], "yield": d["yield"], "yield_low": low, "yield_high": high, "n": len(chips)}


def measure(run: Path, deviation: float, n_chips: int, chip_seed: int, check: bool, workers: int) -> Dict[str, Any]:
    """One row: the run's own figures (``results.json``), the check, and the fresh chips'."""
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    results = json.loads((run / "results.json").read_text())
    accuracy, job = results["accuracy"], results["job"]
    own = accuracy["mismatch"][f"{deviation:g}"]
    row: Dict[str, Any] = {"run": str(run), "task": results["task"]["name"], "seed": job["seed"],
                           "deviation": deviation, "float": accuracy["float"],
                           "own": figures(own["chips"], accuracy["float"])}
    start = time.time()
    model, params, x, y = load_run(run)
    float_now = model.accuracy(counts_jax(model, params, x), y)
    if abs(float_now - accuracy["float"]) > 1e-9:
        raise SystemExit(f"{run}: the network tests at {float_now:.4f} here, results.json says {accuracy['float']:.4f} "
                         "(another version of the model?): not measured")
    if check:
        again = chip_accuracies(model, params, x, y, deviation, len(own["chips"]), job["seed"] + 1, workers)
        if not np.allclose(again, own["chips"], atol=1e-9):
            raise SystemExit(f"{run}: the run's own chips measure {np.round(again, 4).tolist()}, results.json says "
                             f"{np.round(own['chips'], 4).tolist()}: this script does not measure what train measured")
        row["checked"] = True
    chips = chip_accuracies(model, params, x, y, deviation, n_chips, chip_seed, workers)
    row.update(chip_seed=chip_seed, fresh=figures(chips, accuracy["float"]), chips=chips, seconds=time.time() - start)
    return row


def table(rows: Sequence[Dict[str, Any]]) -> str:
    """A markdown table: each run's own figures beside the fresh chips'."""
    lines = ["| run | float | own chips: mean / yield | fresh chips: n, mean / worst / yield [95 % interval] |",
             "|---|---|---|---|"]
    for r in rows:
        o, f = r["own"], r["fresh"]
        lines.append(f"| {Path(r['run']).name} | {100 * r['float']:.1f} | {100 * o['mean']:.1f} / {100 * o['yield']:.0f} % "
                     f"({o['n']}) | {f['n']}: {100 * f['mean']:.1f} / {100 * f['worst']:.1f} / {100 * f['yield']:.0f} % "
                     f"[{100 * f['yield_low']:.0f}, {100 * f['yield_high']:.0f}] |")
    return "\n".join(lines)


def _rows(path: Path) -> List[Dict[str, Any]]:
    """The rows a jsonl file holds (none if it does not exist)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="train output folders")
    parser.add_argument("--chips", type=int, default=64, help="fresh chips per run (default: 64)")
    parser.add_argument("--deviation", type=float, default=0.3, help="their mismatch (default: 0.3)")
    parser.add_argument("--chip-seed", type=int, default=CHIP_SEED, help="seed of the fresh chips (the same for every run)")
    parser.add_argument("--check", action="store_true", help="first re-run the run's own chips and compare with results.json")
    parser.add_argument("--workers", type=int, default=1, help="threads for the chips (default: 1)")
    parser.add_argument("--jsonl", type=Path, help="append one row per run (runs already there are skipped)")
    parser.add_argument("--table", type=Path, help="print the table of a jsonl file and stop")
    args = parser.parse_args(argv)
    if args.table:
        if not args.table.exists():
            raise SystemExit(f"--table {args.table}: no such file")
        print(table(_rows(args.table)))
        return 0
    done = {(r["run"], len(r["chips"])) for r in _rows(args.jsonl)} if args.jsonl else set()
    rows = []
    for run in args.runs:
        if not (run / "network.npz").exists():
            raise SystemExit(f"{run}: not a train output folder (no network.npz)")
        if (str(run), args.chips) in done:
            continue
        row = measure(run, args.deviation, args.chips, args.chip_seed, args.check, args.workers)
        rows.append(row)
        if args.jsonl:
            with args.jsonl.open("a") as f:
                f.write(json.dumps(row) + "\n")
        print(table([row]).splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
