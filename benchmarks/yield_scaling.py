"""Wall time of a yield study against its workers: here, in a process pool and on Ray.

The same chips (seeds 1..N, tuning ``none``: the cheap path, one deployment per chip) of
one network, run by each runner with each worker count; a table of wall time, speed-up
over one worker and the mean time per chip. The network is a ``yield``, ``train`` or
``demo`` output directory, on the task it was trained on (the same ``--samples`` and
``--seed`` rebuild its test set):

    python benchmarks/yield_scaling.py --network DIR --task frozen-noise --chips 20 --test-samples 100 \\
        --workers 1 2 --runners ray pool

Wall times depend on what else the machine runs; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Dict, List


def _inputs(args: argparse.Namespace) -> Any:
    from rockpool_dynapse2.app.tasks import make_task
    from rockpool_dynapse2.app.yield_command import load_network
    from rockpool_dynapse2.twin.yield_study import StudyInputs

    task = make_task(args.task, args.samples, args.seed)
    result, mapped = load_network(args.network, task)
    n = args.test_samples
    return StudyInputs.from_objects(result, mapped, task.x_test[:n], task.y_test[:n], task.x_train, task.y_train)


def _measure(inputs: Any, runner: str, workers: int, args: argparse.Namespace) -> Dict[str, Any]:
    from rockpool_dynapse2.twin.yield_runners import run_study
    from rockpool_dynapse2.twin.yield_study import chip_jobs

    jobs = chip_jobs(args.chips, args.mismatch)
    start = time.perf_counter()
    outcomes = run_study(jobs, inputs, workers, "local" if runner == "ray" else None)
    wall = time.perf_counter() - start
    per_chip = [sum(o.seconds.values()) for o in outcomes]
    return {"runner": runner, "workers": workers, "chips": len(jobs), "wall_seconds": wall,
            "chip_seconds_mean": sum(per_chip) / len(per_chip), "failed": sum(not o.ok for o in outcomes),
            "processes": len({o.worker for o in outcomes})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", required=True, metavar="DIR")
    parser.add_argument("--task", default="frozen-noise")
    parser.add_argument("--samples", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chips", type=int, default=20)
    parser.add_argument("--mismatch", type=float, default=0.3)
    parser.add_argument("--test-samples", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runners", nargs="+", choices=("ray", "pool"), default=["ray", "pool"])
    parser.add_argument("--json", default=None, metavar="OUT.json")
    args = parser.parse_args()
    inputs = _inputs(args)
    rows: List[Dict[str, Any]] = []
    for runner in args.runners:
        for workers in args.workers:
            rows.append(_measure(inputs, runner, workers, args))
            r = rows[-1]
            print(f"{runner} x{workers}: {r['wall_seconds']:.1f} s for {r['chips']} chips", flush=True)
    print("\n| runner | workers | chips | wall time | speed-up | mean per chip | failed |\n|---|---|---|---|---|---|---|")
    for r in rows:
        one = next((q for q in rows if q["runner"] == r["runner"] and q["workers"] == 1), None)
        speedup = f"{one['wall_seconds'] / r['wall_seconds']:.2f}x" if one else "-"
        print(f"| {r['runner']} | {r['workers']} | {r['chips']} | {r['wall_seconds']:.1f} s | {speedup} | "
              f"{r['chip_seconds_mean']:.1f} s | {r['failed']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
