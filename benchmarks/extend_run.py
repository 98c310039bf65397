"""A trained run continued: more epochs at the whole injected deviation, with the margin.

``train --quick``'s 40 epochs leave the networks that learn their task late (the held-out
interval task and dense input, ``docs/results.md``) little training on the whole deviation
after they have learnt it; a longer run from the start (``--epochs 80``) is another
trajectory, which may not learn the task at all. This script measures the other way to
spend more time: continue the run that learnt it. For each ``train`` output folder
(``network.npz``, ``x_test.npy``, ``y_test.npy``, ``results.json``) and the data it was
trained on, it

1. measures the run's network: float on its test set, and 30 % mismatch on ``--chips`` fresh
   chips (``more_chips.py``'s, the same chips for every run);
2. trains it ``--epochs`` more from its trained quantities with ``train --extend``'s
   settings (``train_pipeline.continued_settings``: the whole deviation from the first step,
   the relative margin from the first step, the run's ratio or else 2, ``--lr-share`` of its
   peak learning rate with its own warm-up and cosine decay), keeping the epoch of lowest
   validation loss as ``train`` does;
3. measures the continued network the same way.

Rows go to ``--jsonl`` (one per run: ``before`` and ``after``, each float, mean, worst,
yield and its 95 % interval, and the continuation's seconds).

    python benchmarks/extend_run.py RUN_DIR DATA.npz --epochs 20 --lr-share 0.3 --jsonl extend.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from more_chips import CHIP_SEED, chip_accuracies, figures  # noqa: E402


def measure(model: Any, params: Dict[str, Any], x: np.ndarray, y: np.ndarray, n_chips: int, workers: int) -> Dict[str, Any]:
    """Float on the test set and the 30 % figures on ``n_chips`` fresh chips."""
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    float_accuracy = float(model.accuracy(counts_jax(model, params, x), y))
    chips = chip_accuracies(model, params, x, y, 0.3, n_chips, CHIP_SEED, workers)
    return {"float": float_accuracy, **figures(chips, float_accuracy)}


def continued(run: Path, data: Path, epochs: int, lr_share: float, n_chips: int, workers: int) -> Dict[str, Any]:
    """One row: the run's network before and after ``epochs`` more epochs."""
    from rockpool_dynapse2.app.data import load_dataset
    from rockpool_dynapse2.app.train_pipeline import continued_settings
    from rockpool_dynapse2.training import ChipModel, load_parameters
    from rockpool_dynapse2.training.jax_trainer import train_jax

    loaded = load_parameters(run / "network.npz")
    task = load_dataset(data)
    x, y = np.load(run / "x_test.npy"), np.load(run / "y_test.npy")
    row: Dict[str, Any] = {"run": str(run), "data": str(data), "epochs": epochs, "lr_share": lr_share}
    row["before"] = measure(loaded.model, loaded.params, x, y, n_chips, workers)
    print("before", json.dumps(row["before"]), flush=True)
    settings = continued_settings(loaded.model.settings, epochs, learnt=True, lr_share=lr_share)  # the margin at once
    settings = replace(settings, margin_ratio=settings.margin_ratio or 2.0)  # a run trained without one: train's default
    model = ChipModel(loaded.model.layout, settings, loaded.model.connections)
    start = time.time()
    result = train_jax(model, task.x_train, task.y_train, params=loaded.params, workers=workers,
                       progress=lambda record: print(record.line(), flush=True))
    row.update(seconds=time.time() - start, best_epoch=result.best_epoch)
    row["after"] = measure(model, result.params, x, y, n_chips, workers)
    print("after", json.dumps(row["after"]), flush=True)
    return row


def table(rows: Sequence[Dict[str, Any]]) -> str:
    """A markdown table: each run's float and 30 % figures before and after."""
    lines = ["| run | epochs more | before: float / 30 % mean / worst / yield | after | seconds |", "|---|---|---|---|---|"]
    cell = lambda m: f"{100 * m['float']:.1f} / {100 * m['mean']:.1f} / {100 * m['worst']:.1f} / {100 * m['yield']:.0f} %"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['run']} | {r['epochs']} (lr x {r['lr_share']:g}) | {cell(r['before'])} | {cell(r['after'])} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", type=Path, help="a train output folder")
    parser.add_argument("data", nargs="?", type=Path, help="the data file it was trained on")
    parser.add_argument("--epochs", type=int, default=20, help="epochs more (default: 20)")
    parser.add_argument("--lr-share", type=float, default=0.3, help="share of the run's peak learning rate (default: 0.3)")
    parser.add_argument("--chips", type=int, default=64, help="fresh chips at 30 %% (default: 64)")
    parser.add_argument("--workers", type=int, default=2, help="threads (default: 2)")
    parser.add_argument("--jsonl", type=Path, help="append the row here")
    parser.add_argument("--table", type=Path, help="print the table of a jsonl file and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(table([json.loads(line) for line in args.table.read_text().splitlines() if line.strip()]))
        return 0
    if args.run is None or args.data is None:
        parser.error("give a run folder and its data file (or --table)")
    row = continued(args.run, args.data, args.epochs, args.lr_share, args.chips, args.workers)
    if args.jsonl:
        with args.jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
