"""Hardware-aware training measured: per task, with and without injection, over seeds.

For every (task, backend, seed, injection) this runs the ``train`` pipeline
(:func:`rockpool_dynapse2.app.train_pipeline.run_training`: float, as trained, quantized,
mismatch at 20 % and 30 % over ``--chips`` simulated chips, virtual board) and records the
accuracies, the yield (fraction of chips within 5 points of float: ``yield_*``; of the
network as trained, the one the chips are copies of: ``yield_as_trained_*``) and the
training time. (Rows measured before session 11 have no ``as_trained``: blank cells. Since
session 22 ``train``'s ``float`` is the network as trained, so both columns hold it, and
``unrounded`` the latent values, ``float`` of the rows before.) The table
it prints is the one in ``docs/results.md``; ``--json`` keeps every number.

    python benchmarks/study_training.py --tasks rate-frequency temporal-xor --seeds 0 1 2 --json study.json
    python benchmarks/study_training.py --quick            # a few minutes: one task, one seed
    python benchmarks/study_training.py --jsonl study.jsonl   # appends each row as it is measured;
                                                              # rerun the same command to resume
    python benchmarks/study_training.py --seeds 1 --tasks temporal-xor --runs runs/  # keeps each row's network

Each row records the injection ramp and readout window it trained with (``train``'s
defaults unless ``--inject-ramp`` / ``--readout-start`` are given; since session 12 a
third of the epochs and the last half); rows with other values are other rows.

The LIF reference of each task is ``benchmarks/task_references.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def _task(name: str, n_samples: int, seed: int):
    from rockpool_dynapse2.app import tasks

    registry = dict(tasks.TASKS)
    try:
        from rockpool_dynapse2.app.temporal_tasks import TEMPORAL_TASKS

        registry.update(TEMPORAL_TASKS)
    except ImportError:  # pragma: no cover
        pass
    if name not in registry:
        sys.exit(f"unknown task {name!r}; known: {', '.join(registry)}")
    fn = registry[name]
    return fn(n_samples, seed) if n_samples else fn(seed=seed)


INJECTIONS = {"both": (True, False), "with": (True,), "without": (False,)}
"""``--injection``: the rows measured per task, seed and backend (``--inject-only`` is ``with``)."""


def _yield(chips: List[float], reference: float, points: float = 0.05) -> float:
    return float(np.mean(np.asarray(chips) >= reference - points))


def trained_accuracy(acc: Dict[str, Any]) -> Optional[float]:
    """The trained network's test accuracy of a ``results.json``'s ``"accuracy"`` of any
    session: ``as_trained`` until session 21, ``float`` since session 22 (whose results have
    ``unrounded``), None before session 11 (neither)."""
    return acc.get("as_trained", acc["float"] if "unrounded" in acc else None)


def _key(row: Dict[str, Any]) -> tuple:
    return (row["task"], row["seed"], row["backend"], row["inject"], row.get("epochs"), row.get("samples"), row.get("chips"),
            row.get("per_class"), row.get("inject_ramp", 0), row.get("readout_start", 0.0),  # rows before session 12: 0, 0.0
            row.get("logits", "counts"))  # rows before session 17: the counts' logits


def _done(path: str) -> List[Dict[str, Any]]:
    """The rows a ``--jsonl`` file already holds (a line cut by a killed run is reported, not kept)."""
    if not path or not Path(path).exists():
        return []
    rows = []
    for i, line in enumerate(Path(path).read_text().splitlines()):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{i + 1}: an incomplete row (a run cut short?) is measured again", file=sys.stderr)
    return rows


@contextlib.contextmanager
def _out_dir(runs: Optional[str], setting: Dict[str, Any]) -> Iterator[str]:
    """Where a row's ``train`` outputs go: a folder under ``runs`` named after the row
    (kept: the network, configuration and ``results.json``), or a temporary one."""
    if runs is None:
        with tempfile.TemporaryDirectory() as out:
            yield out
        return
    name = f"{setting['task']}_s{setting['seed']}_{setting['backend']}_{'inject' if setting['inject'] else 'no-inject'}"
    out = Path(runs) / name
    out.mkdir(parents=True, exist_ok=True)
    yield str(out)


def run(args: argparse.Namespace) -> List[Dict[str, Any]]:
    from rockpool_dynapse2.app.train_pipeline import TrainJob, run_training

    rows = _done(args.jsonl)
    done = {_key(r) for r in rows}
    for seed in args.seeds:  # every task at one seed before the next seed: a cut study still covers the tasks
        for task_name in args.tasks:
            task = None
            for backend in args.backends:
                for inject in INJECTIONS[args.injection]:
                    job = TrainJob(backend=backend, epochs=args.epochs, seed=seed, inject=inject, n_chips=args.chips,
                                   board_samples=args.board_samples, hidden=tuple(args.hidden) if args.hidden else None,
                                   per_class=args.per_class, inject_ramp=args.inject_ramp, readout_start=args.readout_start,
                                   compile=backend == "torch" and not args.eager, logits=args.logits)
                    setting = {"task": task_name, "seed": seed, "backend": backend, "inject": inject,
                               "epochs": args.epochs, "samples": args.samples, "chips": args.chips, "per_class": args.per_class,
                               "inject_ramp": job.ramp_epochs, "readout_start": job.readout_fraction, "logits": job.loss_logits}
                    if _key(setting) in done:
                        continue
                    task = task or _task(task_name, args.samples, seed)
                    with _out_dir(args.runs, setting) as out:
                        t0 = time.perf_counter()
                        res = run_training(task, job, Path(out), log=lambda m: None, epoch_log=lambda r: None)
                        wall = time.perf_counter() - t0
                    acc = res["accuracy"]
                    as_trained = trained_accuracy(acc)  # session 22: float is the trained network
                    row = {
                        **setting,
                        "float": acc["float"], "as_trained": as_trained, "unrounded": acc.get("unrounded"),
                        "quantized": acc["quantized"], "board": acc["board"],
                        "train_seconds": res["training"]["seconds"], "wall_seconds": wall,
                        "best_epoch": res["training"]["best_epoch"],
                    }
                    for dev, m in acc["mismatch"].items():
                        row[f"mismatch_{dev}_mean"] = m["mean"]
                        row[f"mismatch_{dev}_worst"] = m["worst"]
                        row[f"yield_{dev}"] = _yield(m["chips"], acc["float"])
                        row[f"yield_as_trained_{dev}"] = _yield(m["chips"], as_trained)  # the chips' own reference
                    for dev, m in acc.get("mismatch_calibrated", {}).items():  # each chip's readout calibrated
                        row[f"calibrated_{dev}_mean"] = m["mean"]
                        row[f"calibrated_{dev}_worst"] = m["worst"]
                        row[f"calibrated_yield_{dev}"] = _yield(m["chips"], acc["float"])
                        row[f"calibrated_yield_as_trained_{dev}"] = _yield(m["chips"], as_trained)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    if args.jsonl:
                        with open(args.jsonl, "a") as f:
                            f.write(json.dumps(row) + "\n")
    return rows


def _group(row: Dict[str, Any]) -> tuple:
    return (row["task"], row["backend"], row["inject"], row.get("per_class") or 0, row.get("inject_ramp", 0), row.get("readout_start", 0.0),
            row.get("logits", "counts"))


def table(rows: List[Dict[str, Any]]) -> str:
    keys = sorted({_group(r) for r in rows})
    cols = ["float", "as_trained", "quantized", "mismatch_0.2_mean", "mismatch_0.3_mean", "mismatch_0.3_worst", "yield_0.3",
            "yield_as_trained_0.3", "calibrated_0.3_mean", "calibrated_0.3_worst", "calibrated_yield_0.3",
            "calibrated_yield_as_trained_0.3", "board", "train_seconds"]
    head = "| task | backend | injection | seeds | " + " | ".join(c.replace("_", " ") for c in cols) + " |"
    lines = [head, "|" + "---|" * (4 + len(cols))]
    for key in keys:
        task, backend, inject, per_class, ramp, readout_start, logits = key
        sel = [r for r in rows if _group(r) == key]
        task = f"{task}, {per_class} per class" if per_class else task
        task += f", readout from {readout_start:g}" if readout_start else ""
        task += ", counts' logits" if logits == "counts" else ""
        injection = ("yes" + (f", ramp {ramp}" if ramp else "")) if inject else "no"
        cells = []
        for c in cols:
            v = np.array([r.get(c, np.nan) for r in sel], dtype=float)
            cells.append(f"{v.mean():.0f} s" if c == "train_seconds" else f"{100 * v.mean():.1f}" + (f" ± {100 * v.std():.1f}" if len(v) > 1 else ""))
        lines.append(f"| {task} | {backend} | {injection} | {len(sel)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["rate-frequency", "temporal-xor", "beat-anomaly", "burst-detection", "emg-gesture", "frozen-noise"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--backends", nargs="+", default=["jax"], choices=("jax", "torch"))
    parser.add_argument("--samples", type=int, default=1200, help="samples per task (half train, half test); 0: the task's default")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--chips", type=int, default=64)
    parser.add_argument("--board-samples", type=int, default=100)
    parser.add_argument("--hidden", type=int, nargs="+", default=None)
    parser.add_argument("--per-class", type=int, default=None, help="output neurons per class (default: train's)")
    parser.add_argument("--inject-ramp", type=int, default=None, metavar="E", help="epochs of the injection ramp (default: train's)")
    parser.add_argument("--readout-start", type=float, default=None, metavar="F", help="readout window start, a fraction of the sample (default: train's)")
    parser.add_argument("--logits", choices=("log", "counts"), default=None,
                        help="the loss's logits (default: train's, counts)")
    parser.add_argument("--injection", choices=tuple(INJECTIONS), default="both",
                        help="the rows per task and seed: with and without injection (default), or one of them")
    parser.add_argument("--inject-only", dest="injection", action="store_const", const="with", help="the same as --injection with")
    parser.add_argument("--eager", action="store_true", help="torch rows without torch.compile (compiled by default: 2.6x JAX per epoch against 6.6x eager)")
    parser.add_argument("--quick", action="store_true", help="one task, one seed, 20 epochs, 16 chips")
    parser.add_argument("--json", default=None, help="write every row here")
    parser.add_argument("--runs", default=None, metavar="DIR",
                        help="keep each row's train outputs (network, configuration, results.json) in DIR/TASK_sSEED_BACKEND_INJECTION")
    parser.add_argument("--jsonl", default=None, help="append each row here as it is measured; rows already there are not measured again")
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.seeds, args.epochs, args.chips = args.tasks[:1], args.seeds[:1], 20, 16
    rows = run(args)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    print(table(rows))


if __name__ == "__main__":
    main()
