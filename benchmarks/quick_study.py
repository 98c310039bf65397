"""What ``rockpool-dynapse2 train --data DATA.npz --quick`` reaches on every built-in task.

Issue #15 is checked by running a reviewer's data set through ``train --data DATA.npz --out
DIR --quick`` and reading ``DIR/results.json``. This does exactly that on our six built-in
tasks: for each task (:func:`rockpool_dynapse2.app.tasks.make_task`, ``--samples`` samples,
half for training and half for testing, as ``study_training.py``) it writes the task's arrays
as a ``DATA.npz`` in ``train``'s ``--data`` format (:mod:`rockpool_dynapse2.app.data`:
``x_train``, ``y_train``, ``x_test``, ``y_test``, ``dt``), runs the real command in a child
process (``OMP_NUM_THREADS=1``) once per ``--variant`` (extra ``train`` arguments, split
as a shell would) and appends a row read from its ``results.json`` to ``--jsonl``: float,
as trained, quantized, mismatch at 20 % and 30 % (mean, worst), the yield at 30 % (chips
within 5 points of float and of as-trained: ``study_training._yield``), the calibrated
numbers, the board, the kept epoch, the wall seconds and the child's CPU seconds (user +
system, which a loaded machine inflates less than wall time). Rows already in the file are
not measured again: rerun the same command to resume. Tasks run in order, every variant of
a task before the next task; then the table (the seed-0 LIF reference of
``docs/results.md``, "The LIF reference", where it has the task; ``targets``: which of the
issue's four targets a row meets, F: float >= 0.9 x LIF, Q: quantized >= float - 1 point,
M: 30 % mean >= 0.95 x float, Y: 30 % yield >= 90 %; ``+`` met, ``-`` missed).

    python benchmarks/quick_study.py --jsonl quick.jsonl --variant default= --variant ramp8="--inject-ramp 8"
    python benchmarks/quick_study.py --jsonl quick.jsonl --variant ramp8_w05="--inject-ramp 8 --readout-start 0.5"
    python benchmarks/quick_study.py --jsonl quick.jsonl --table-only
    python benchmarks/quick_study.py --tasks temporal-xor --jsonl xor.jsonl --variant default= --runs runs/

The ``train`` output folders (configuration, network, ``results.json``) are kept under
``--runs`` (default: ``runs/`` beside the jsonl file), one per task, seed and variant.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_training import _done, _yield, trained_accuracy  # noqa: E402  (the study's yield rule and resumable rows)

TASKS = ("rate-frequency", "temporal-xor", "beat-anomaly", "burst-detection", "emg-gesture", "frozen-noise")

MANY_CLASSES = {
    "rate-frequency-10": ("rate-frequency", {"frequencies": (3.0, 4.0, 5.33, 7.11, 9.49, 12.65, 16.87, 22.49, 30.0, 40.0)}),
    "frozen-noise-10": ("frozen-noise", {"n_classes": 10}),
}
"""Ten-class members of two built-in task families (session 23), to set what ``train``
does with many classes on (the held-out ``patterns10`` of ``fresh_tasks.py`` stays a
check): rate-frequency with ten modulation frequencies, 3 to 40 Hz a third apart
(``numpy.geomspace(3, 40, 10)``, rounded), and frozen noise with ten patterns."""
RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results.md"
DEVIATIONS = ("0.2", "0.3")


def _key(row: Dict[str, Any]) -> tuple:
    return (row["task"], row["seed"], row["samples"], row["variant"], tuple(row["args"]))


def parse_variant(text: str) -> Tuple[str, List[str]]:
    """``NAME=ARGS`` (``ARGS`` split as a shell would, may be empty) as ``(NAME, [args])``."""
    name, sep, args = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"`--variant` must be NAME=ARGS (e.g. ramp8=\"--inject-ramp 8\"); got {text!r}")
    return name, shlex.split(args)


def write_data(task_name: str, samples: int, seed: int, path: Path) -> Path:
    """The built-in task as a ``train --data`` file (written once, reused)."""
    if path.exists():
        return path
    from rockpool_dynapse2.app.tasks import make_task

    family, kwargs = MANY_CLASSES.get(task_name, (task_name, {}))
    task = make_task(family, samples, seed, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, x_train=task.x_train, y_train=task.y_train, x_test=task.x_test, y_test=task.y_test,
                        dt=np.float64(task.dt))  # as the task holds them: train's loader checks they are counts
    tmp.replace(path)
    return path


def run_cli(data: Path, out: Path, seed: int, args: List[str]) -> Tuple[Dict[str, Any], float, float]:
    """Run ``train --data data --out out --quick --seed seed *args``; (results.json, wall s, child CPU s)."""
    cmd = [sys.executable, "-m", "rockpool_dynapse2.app.cli", "train", "--data", str(data), "--out", str(out), "--quick",
           "--seed", str(seed), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").unlink(missing_ok=True)  # never read a former run's
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(out.parent / f"{out.name}.log", "w") as log:
        subprocess.run(cmd, check=True, env=env, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads((out / "results.json").read_text()), wall, cpu


def row_from_results(results: Dict[str, Any]) -> Dict[str, Any]:
    """The accuracies of one ``results.json``, flat, with the yields. Since session 22
    ``float`` is the trained network as the loop simulates it (``as_trained`` before, kept
    here under both names, so that rows of every session share their columns) and
    ``unrounded`` the latent values (``float`` before)."""
    acc = results["accuracy"]
    as_trained = trained_accuracy(acc)
    ref = {"": acc["float"], "as_trained_": as_trained}
    row = {"float": acc["float"], "as_trained": as_trained, "unrounded": acc.get("unrounded"), "quantized": acc["quantized"],
           "board": acc["board"],
           "best_epoch": results["training"]["best_epoch"], "epochs_run": results["training"]["epochs_run"]}
    for prefix, stage in (("", "mismatch"), ("calibrated_", "mismatch_calibrated")):
        for dev, m in acc.get(stage, {}).items():
            row[f"{prefix or 'mismatch_'}{dev}_mean"] = m["mean"]
            row[f"{prefix or 'mismatch_'}{dev}_worst"] = m["worst"]
            for name, reference in ref.items():
                if reference is not None:
                    row[f"{prefix}yield_{name}{dev}"] = _yield(m["chips"], reference)
    return row


def measure(task_name: str, seed: int, samples: int, variant: Tuple[str, List[str]], runs: Path) -> Dict[str, Any]:
    """One ``train --quick`` run of one task and variant, as a row."""
    name, args = variant
    data = write_data(task_name, samples, seed, runs / "data" / f"{task_name}_{samples}_s{seed}.npz")
    out = runs / f"{task_name}_s{seed}_{name}"
    results, wall, cpu = run_cli(data, out, seed, args)
    return {"task": task_name, "seed": seed, "samples": samples, "variant": name, "args": args,
            **row_from_results(results), "wall_seconds": wall, "cpu_seconds": cpu}


def run(args: argparse.Namespace) -> List[Dict[str, Any]]:
    rows = _done(args.jsonl)
    done = {_key(r) for r in rows}
    runs = Path(args.runs) if args.runs else Path(args.jsonl).resolve().parent / "runs"
    for seed in args.seeds:
        for task_name in args.tasks:
            for name, extra in args.variant:
                setting = {"task": task_name, "seed": seed, "samples": args.samples, "variant": name, "args": extra}
                if _key(setting) in done:
                    continue
                print(f"{task_name} seed {seed} {name} {shlex.join(extra)}", flush=True)
                try:
                    row = measure(task_name, seed, args.samples, (name, extra), runs)
                except subprocess.CalledProcessError as error:  # reported, no row: the next run measures it again
                    print(f"{task_name} {name}: train exited with {error.returncode}; see {runs}/{task_name}_s{seed}_{name}.log",
                          file=sys.stderr, flush=True)
                    continue
                rows.append(row)
                print(json.dumps(row), flush=True)
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")
    return rows


def lif_reference(path: Path = RESULTS) -> Dict[str, float]:
    """The seed-0 LIF reference per task, ``{task: test accuracy}`` (0..1): the best test
    accuracy over the readouts and settings of the first table of the section "The LIF
    reference" in ``docs/results.md`` (empty if it is not there)."""
    if not path.exists():
        return {}
    text = path.read_text()
    start = text.find("### The LIF reference")
    table = re.search(r"\n(\|[^\n]*\|\n)+", text[start:]) if start >= 0 else None
    best: Dict[str, float] = {}
    for line in (table.group(0).strip().splitlines()[2:] if table else []):
        cells = [c.strip() for c in line.strip("|").split("|")]
        task = cells[0].split(" (")[0]
        tests = [float(m.group(1)) for c in cells[1:] for m in [re.search(r"/\s*\**([\d.]+)\**\s*$", c)] if m]
        if tests:
            best[task] = max(best.get(task, 0.0), max(tests) / 100)
    return best


def targets(row: Dict[str, Any], lif: Optional[float]) -> str:
    """Which of issue #15's targets the row meets (see the module docs)."""
    f = row["float"]
    checks = {"F": None if lif is None else f >= 0.9 * lif, "Q": row["quantized"] >= f - 0.01,
              "M": row.get("mismatch_0.3_mean", np.nan) >= 0.95 * f, "Y": row.get("yield_0.3", np.nan) >= 0.9}
    return " ".join(k + ("?" if ok is None else "+" if ok else "-") for k, ok in checks.items())


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.1f}"


def _cells(r: Dict[str, Any], lif: Optional[float]) -> List[str]:
    yields = _pct(r.get("yield_0.3")) + (f" ({_pct(r['yield_as_trained_0.3'])})" if "yield_as_trained_0.3" in r else "")
    cal = " / ".join(_pct(r.get(k)) for k in ("calibrated_0.3_mean", "calibrated_0.3_worst", "calibrated_yield_0.3"))
    return [r["task"], str(r["seed"]), r["variant"], shlex.join(r["args"]) or "—", _pct(lif), _pct(r["float"]),
            _pct(r.get("as_trained")), _pct(r["quantized"]), _pct(r.get("mismatch_0.2_mean")),
            f"{_pct(r.get('mismatch_0.3_mean'))} / {_pct(r.get('mismatch_0.3_worst'))}", yields, cal, _pct(r["board"]),
            f"{r['best_epoch'] + 1}/{r['epochs_run']}", f"{r['wall_seconds']:.0f}", f"{r['cpu_seconds']:.0f}", targets(r, lif)]


def table(rows: List[Dict[str, Any]]) -> str:
    """The rows as a markdown table, in the order of the built-in tasks, then seed, then as measured."""
    lif = lif_reference()
    head = ["task", "seed", "variant", "args", "LIF", "float", "as trained", "quantized", "20 % mean", "30 % mean / worst",
            "30 % yield (vs as trained)", "calibrated 30 % mean / worst / yield", "board", "kept epoch", "wall s", "CPU s",
            "targets"]
    order = {t: i for i, t in enumerate(TASKS)}
    ordered = sorted(rows, key=lambda r: (order.get(r["task"], len(order)), r["task"], r["seed"]))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cells(r, lif.get(r["task"]))) + " |" for r in ordered]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS + tuple(MANY_CLASSES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--samples", type=int, default=1200, help="samples per task, half train and half test (default: 1200)")
    parser.add_argument("--variant", type=parse_variant, action="append", default=[], metavar="NAME=ARGS",
                        help="extra train arguments of one variant, e.g. ramp8=\"--inject-ramp 8\" (default=: none); repeatable")
    parser.add_argument("--jsonl", required=True, help="append each row here; rows already there are not measured again")
    parser.add_argument("--runs", default=None, help="where train's output folders go (default: runs/ beside --jsonl)")
    parser.add_argument("--table-only", action="store_true", help="print the table of --jsonl without running anything")
    args = parser.parse_args()
    if not args.table_only and not args.variant:
        parser.error("`--variant` must be given at least once (e.g. --variant default=); got none")
    rows = _done(args.jsonl) if args.table_only else run(args)
    print(table(rows))


if __name__ == "__main__":
    main()
