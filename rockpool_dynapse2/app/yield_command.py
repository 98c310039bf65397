"""``rockpool-dynapse2 yield``: one trained network on many virtual chips, before and after tuning.

:func:`run_yield` gets a network (trains one with mismatch injection on the data as
``train`` does, or loads one that ``train`` or ``demo`` wrote: ``--network DIR``), then runs the yield study of
:mod:`rockpool_dynapse2.twin.yield_study` on ``--chips`` virtual chips drawn at
``--mismatch``, here or on Ray (:mod:`rockpool_dynapse2.twin.yield_runners`), and writes

* ``chips.jsonl``: every chip's outcome, one JSON line each, appended as the chip finishes
  (``--resume`` continues a study from it: the chips already done are not run again);
* ``yield.json``: the summary (float accuracy; mean, worst and yield of the chips before
  and after tuning; the failed chips), every chip's outcome, the wall time and the workers;
* ``yield.png``: the histogram of the chips' accuracies before and after tuning;
* when it trained: ``network.npz`` and ``config.json.gz`` (``--network`` reuses them).

See ``docs/yield.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..errors import CliError, ParameterValueError
from .tasks import Task

__all__ = ["TASK_SAMPLES", "CHIPS_FILE", "YieldOptions", "run_yield", "load_network", "train_network", "summary_table", "histogram"]

TASK_SAMPLES = 600
"""Samples of a built-in task without ``--samples``: half to train on, half to test."""


@dataclass(frozen=True)
class YieldOptions:
    """What ``rockpool-dynapse2 yield`` does (see ``docs/yield.md``).

    Attributes:
        out: the output directory.
        task: a built-in task (a key of :data:`~.tasks.TASKS`), or
        data: a data set ``.npz`` (as ``train`` reads); exactly one of the two.
        chips: virtual chips.
        mismatch: their per-neuron deviation (0.3 for 30 %).
        tune: the tuning strategy (:data:`~rockpool_dynapse2.twin.yield_study.TUNE_STRATEGIES`).
        network: a directory with ``network.npz`` (and ``config.json.gz``) to use instead of training.
        epochs: fine-tuning epochs per chip.
        train_epochs: training epochs (default: ``train``'s, 60).
        workers: processes here, or CPUs of a local Ray instance.
        ray_address: run on Ray (``local``, ``auto`` or a cluster's address); ``None``: here.
        seed: seed of the task and the training.
        first_chip: seed of the first chip (the chips are ``first_chip .. first_chip + chips - 1``).
        test_samples: test samples each chip runs (default: all).
        samples: samples of a built-in task (default: :data:`TASK_SAMPLES`).
        backend: the virtual boards' and the training's backend.
        resume: keep the chips ``chips.jsonl`` already holds (those that ran without error)
            and run only the others; without it, ``chips.jsonl`` starts empty.
        gate: tune only the chips whose trained configuration scores more than 5 points
            below float on the gate's 256 tuning samples (``ChipJob.gate``, ``GATE_SAMPLES``).
    """

    out: str
    task: Optional[str] = None
    data: Optional[str] = None
    chips: int = 100
    mismatch: float = 0.3
    tune: str = "none"
    network: Optional[str] = None
    epochs: int = 20
    train_epochs: Optional[int] = None
    workers: int = 1
    ray_address: Optional[str] = None
    seed: int = 0
    first_chip: int = 1
    test_samples: Optional[int] = None
    samples: Optional[int] = None
    backend: str = "jax"
    resume: bool = False
    gate: bool = False

    def check(self) -> None:
        """Fail before any work where the study surely would.

        Raises:
            CliError: neither or both of ``task`` and ``data``; ``out`` a file; a missing ``network``.
            StrategyNotAvailableError, UnknownParameterError: the tuning strategy.
            RayNotAvailableError: ``ray_address`` without Ray.
            ParameterValueError: a number out of range.
        """
        from ..parameters.validate import seed as check_seed
        from ..twin.yield_runners import check_ray
        from ..twin.yield_study import ChipJob, check_strategy

        if (self.task is None) == (self.data is None):
            raise CliError("`--task` or `--data` must be given (one of them); got " + ("both" if self.task else "neither"))
        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise CliError(f"--out {self.out!r} exists and is not a directory")
        if self.network is not None and not (Path(self.network) / "network.npz").is_file():
            raise CliError(f"`--network` must be a directory with network.npz (written by train or demo); got {self.network!r}")
        check_seed("--first-chip", self.first_chip)
        ChipJob(self.first_chip, self.mismatch, self.tune, self.epochs, self.backend, self.gate)
        for name in ("chips", "workers", "test_samples", "samples", "train_epochs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ParameterValueError(f"--{name.replace('_', '-')}", "an integer >= 1", value)
        check_strategy(self.tune)
        if self.ray_address is not None:
            check_ray()


# --- the network ------------------------------------------------------------------------------


def _task(options: YieldOptions) -> Task:
    from .data import load_dataset
    from .tasks import make_task

    if options.data is not None:
        return load_dataset(options.data)
    return make_task(options.task, options.samples or TASK_SAMPLES, options.seed)


def load_network(directory: str, task: Task) -> Tuple[Any, Any]:
    """``(TrainResult, MappedConfiguration with its class map)`` from a ``train``/``demo``
    directory: ``network.npz``, and ``config.json.gz`` (or ``config.json``) if there, else
    mapped now.

    Raises:
        CliError: the network's input channels or classes do not match the data's.
    """
    from ..training import load_parameters

    d = Path(directory)
    result = load_parameters(d / "network.npz")
    layout = result.model.layout
    if layout.n_inputs != task.x_train.shape[2] or layout.n_classes != task.n_classes:
        raise CliError(f"`--network` must fit the data; {directory!r} has {layout.n_inputs} input channels and "
                       f"{layout.n_classes} classes, the data {task.x_train.shape[2]} and {task.n_classes}")
    saved = next((d / n for n in ("config.json.gz", "config.json") if (d / n).is_file()), None)
    if saved is None:
        return result, _mapped(result)
    from ..placement import MappedConfiguration

    mapped = MappedConfiguration.load(saved)
    return result, mapped if mapped.classes is not None else _with_classes(mapped, result)


def _mapped(result: Any) -> Any:
    from ..mapping.trained import spec_from_training
    from ..placement import config_from_specification

    return _with_classes(config_from_specification(spec_from_training(result)), result)


def _with_classes(mapped: Any, result: Any) -> Any:
    from ..placement.mapped import trained_readout

    return trained_readout(mapped, result.model)


def train_network(options: YieldOptions, task: Task, log: Callable[[str], None]) -> Tuple[Any, Any]:
    """Train with mismatch injection as ``rockpool-dynapse2 train`` does (its sizing and
    settings; ``train_epochs`` epochs, default 60); ``(TrainResult, MappedConfiguration)``."""
    from .train_pipeline import TrainJob, build_model, epoch_lines, train_model

    job = TrainJob(backend=options.backend, epochs=options.train_epochs, seed=options.seed, inject=True)
    model = build_model(task, job)
    log(f"training with mismatch injection: {job.n_epochs} epochs on {len(task.y_train)} samples")
    result = train_model(model, task, job, epoch_lines(job.n_epochs, log, prefix="  "))
    log(f"trained in {result.seconds:.0f} s; kept epoch {result.best_epoch + 1}")
    return result, _mapped(result)


# --- the study -----------------------------------------------------------------------------


def _progress(n: int, log: Callable[[str], None]) -> Callable[[int, Any], None]:
    done = [0]

    def report(i: int, o: Any) -> None:
        done[0] += 1
        acc = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        status = "" if o.ok else f"; FAILED in {o.failed_stage}: {o.error}"
        log(f"chip {done[0]}/{n} (seed {o.seed}): untuned {acc(o.untuned)}, tuned {acc(o.tuned)}, "
            f"{sum(o.seconds.values()):.1f} s on {o.worker or '?'}{status}")

    return report


CHIPS_FILE = "chips.jsonl"
"""The file of a study's outcomes, one JSON line per chip as it finishes."""


def _resumed(path: Path, jobs: List[Any]) -> Dict[int, Any]:
    """``{seed: outcome}`` of the chips of ``path`` that ran without error, each checked
    against this study's job of the same seed.

    Raises:
        CliError: a line that is not an outcome, or one of another study (its mismatch or
            tuning differs from this study's chip of the same seed).
    """
    from ..twin.yield_study import ChipOutcome

    by_seed = {j.seed: j for j in jobs}
    done: Dict[int, Any] = {}
    lines = path.read_text().splitlines() if path.is_file() else []
    for i, line in enumerate(lines):
        try:
            outcome = ChipOutcome.from_dict(json.loads(line))
        except (ValueError, TypeError) as err:
            raise CliError(f"`--resume` must find chip outcomes in {path}; got line {i + 1}: {err}") from err
        job = by_seed.get(outcome.seed)
        if job is not None and (outcome.mismatch, outcome.tune) != (job.mismatch, job.tune):
            raise CliError(f"`--resume` must continue the same study; got chip {outcome.seed} in {path} at mismatch "
                           f"{outcome.mismatch}, tuning {outcome.tune!r}, this study's at {job.mismatch}, {job.tune!r}")
        gated = "gate" in outcome.details
        if job is not None and outcome.tune != "none" and gated != job.gate:
            raise CliError(f"`--resume` must continue the same study; got chip {outcome.seed} in {path} tuned "
                           f"{'with' if gated else 'without'} the gate (--gate), this study {'with' if job.gate else 'without'} it")
        if job is not None and outcome.ok:
            done[outcome.seed] = outcome
    return done


def _recording(path: Path, log: Callable[[int, Any], None]) -> Callable[[int, Any], None]:
    """``log``, after appending each outcome to ``path`` as a JSON line."""

    def record(i: int, outcome: Any) -> None:
        with path.open("a") as f:
            f.write(json.dumps(outcome.to_dict()) + "\n")
        log(i, outcome)

    return record


def _run_chips(options: YieldOptions, jobs: List[Any], inputs: Any, out: Path, log: Callable[[str], None]) -> Tuple[List[Any], int]:
    """Every job's outcome in the jobs' order, the chips of ``chips.jsonl`` kept with
    ``--resume``; and how many were kept."""
    from ..twin.yield_runners import run_study

    path = out / CHIPS_FILE
    done = _resumed(path, jobs) if options.resume else {}
    if not options.resume:
        path.write_text("")
    todo = [j for j in jobs if j.seed not in done]
    if done:
        log(f"resuming: {len(done)} chip(s) of {path} kept, {len(todo)} to run")
    ran = run_study(todo, inputs, options.workers, options.ray_address, _recording(path, _progress(len(todo), log))) if todo else []
    by_seed = {**done, **{o.seed: o for o in ran}}
    return [by_seed[j.seed] for j in jobs], len(done)


def run_yield(options: YieldOptions, log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Get the network, run the study, write ``yield.json`` and ``yield.png``; the content
    of ``yield.json``."""
    from ..training import save_parameters
    from ..twin.yield_study import StudyInputs, chip_jobs, float_accuracy, summarize

    options.check()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    task = _task(options)
    files: Dict[str, str] = {}
    if options.network is not None:
        result, mapped = load_network(options.network, task)
    else:
        result, mapped = train_network(options, task, log)
        files = {"network": str(save_parameters(out / "network.npz", result)), "config": str(mapped.save(out / "config.json.gz"))}
    n_test = min(options.test_samples or len(task.y_test), len(task.y_test))
    x_test, y_test = task.x_test[:n_test], task.y_test[:n_test]
    reference = float_accuracy(result, x_test, y_test)
    log(f"float accuracy {reference:.1%} on {n_test} test samples; {options.chips} chips at {options.mismatch:.0%} mismatch, "
        f"tuning {options.tune}, {options.workers} worker(s)" + (f" on Ray ({options.ray_address})" if options.ray_address else ""))
    inputs = StudyInputs.from_objects(result, mapped, x_test, y_test, task.x_train, task.y_train)
    jobs = chip_jobs(options.chips, options.mismatch, options.tune, options.epochs, options.first_chip, options.backend,
                     options.gate and options.tune != "none")
    start = time.perf_counter()
    outcomes, kept = _run_chips(options, jobs, inputs, out, log)
    wall = time.perf_counter() - start
    report = {
        "summary": summarize(outcomes, reference),
        "chips": [o.to_dict() for o in outcomes],
        "wall_seconds": wall,
        "resumed_chips": kept,
        "workers": options.workers,
        "ray_address": options.ray_address,
        "test_samples": n_test,
        "task": {"name": task.name, "classes": int(task.n_classes), "channels": int(task.x_train.shape[2])},
        "options": asdict(options),
    }
    files["plot"] = str(histogram(report, out / "yield.png"))
    files["results"] = str(out / "yield.json")
    files["chips"] = str(out / CHIPS_FILE)
    report["files"] = files
    (out / "yield.json").write_text(json.dumps(report, indent=2))
    return report


# --- the report ------------------------------------------------------------------------------


def _row(name: str, d: Optional[Dict[str, Any]]) -> str:
    """One distribution's row; the yield with its 95 % interval from the number of chips."""
    if d is None or d["mean"] is None:
        return f"{name:<16}{'-':>8}{'-':>8}{'-':>8}{'-':>8}{'-':>12}"
    low, high = d["yield_interval"]
    return f"{name:<16}{d['mean']:>8.1%}{d['worst']:>8.1%}{d['best']:>8.1%}{d['yield']:>8.0%}{f'{low:.0%}-{high:.0%}':>12}"


def summary_table(report: Dict[str, Any]) -> str:
    """The summary as a table: float accuracy, then mean, worst, best and yield (with its
    95 % interval from the number of chips) before and after tuning, the failed chips and the
    wall time."""
    s = report["summary"]
    lines = [f"float accuracy {s['float']:.1%}; yield: chips within {s['margin'] * 100:g} points of it",
             f"{'':<16}{'mean':>8}{'worst':>8}{'best':>8}{'yield':>8}{'95 % int.':>12}",
             _row("untuned", s["untuned"])]
    if s["tuned"] is not None:
        lines.append(_row(f"tuned ({report['options']['tune']})", s["tuned"]))
    if s.get("checked") is not None:
        lines.append(_row("tuned, checked", s["checked"]))
    if s.get("gate"):
        lines.append(f"the gate tuned {s['gate']['tuned']} of {s['gate']['checked']} chips (the others were within "
                     f"{s['margin'] * 100:g} points of float on its tuning samples and kept the trained configuration)")
    kept = f" ({report['resumed_chips']} kept from an earlier run)" if report.get("resumed_chips") else ""
    lines.append(f"{len(report['chips'])} chips, {len(s['failed'])} failed{kept}; {report['wall_seconds']:.1f} s wall time with "
                 f"{report['workers']} worker(s)" + (f" on Ray ({report['ray_address']})" if report["ray_address"] else ""))
    lines += [f"  chip {f['seed']} failed in {f['stage']}: {f['error']}" for f in s["failed"][:10]]
    return "\n".join(lines)


def histogram(report: Dict[str, Any], path: Path) -> Path:
    """The chips' accuracies before and after tuning, with the float accuracy and the yield line."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    s = report["summary"]
    series: List[Tuple[str, List[float]]] = [("untuned", [c["untuned"] for c in report["chips"] if c["untuned"] is not None])]
    if s["tuned"] is not None:
        series.append((f"tuned ({report['options']['tune']})", [c["tuned"] for c in report["chips"] if c["tuned"] is not None]))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bins = np.linspace(0, 1, 41)
    for (label, values), color in zip(series, ("#dd8452", "#55a868")):
        ax.hist(values, bins=bins, alpha=0.6, color=color, label=f"{label}: {len(values)} chips")
    ax.axvline(s["float"], color="black", label=f"float {s['float']:.1%}")
    ax.axvline(s["float"] - s["margin"], color="black", linestyle=":", label="yield threshold")
    ax.set(xlabel="test accuracy on the chip", ylabel="chips", title=f"{len(report['chips'])} virtual chips")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
