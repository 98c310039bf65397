"""The demo pipeline: the training library's method end to end, on a built-in task.

:func:`run_demo` trains the same network twice with the training library
(:mod:`rockpool_dynapse2.training`, through the stages of :mod:`.train_pipeline`, which
``rockpool-dynapse2 train`` runs too): once with dynamic mismatch injection (new
mismatched chips at every training step), once without, from the same synapses and
initial weights. Both are trained with the chip's constraints in the loop (per-core
parameters on bias codes, 16 weight levels per core, 64 synapses per neuron), then taken
through every stage of deployment, the test accuracy measured at each:

1. **float**: the trained network in floating-point simulation, as the training loop
   simulates it (its weights on their levels, its currents on bias codes);
2. **quantized**: the chip-exact network spec
   (:func:`~rockpool_dynapse2.mapping.trained.spec_from_training`), simulated: exactly
   what the configuration holds;
3. **mismatch**: that network on ``n_chips`` simulated chips with frozen mismatch at each
   deviation: mean, standard deviation and worst chip;
4. **board**: ``config_from_specification`` -> JSON file -> ``DynapseSamna`` on the
   virtual board (or a real board), the test set sent as events and read back.

The network (:func:`demo_layout`): ``neurons_per_class`` output neurons per class, each
reached by every input channel and by every output neuron (recurrent).

Results go to a directory: ``config.json.gz`` (the network trained with injection, ready to
deploy, with its class map; gzip-compressed samna JSON), ``config_without_injection.json.gz``, the trained networks (``network.npz``,
``network_without_injection.npz``), the test raster and labels (``x_test.npy``,
``y_test.npy``: ``deploy`` runs at once), ``results.json`` and the plots of
:mod:`.demo_plots`; :func:`summary_table` prints the stage x network table.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..errors import ParameterValueError, UnknownParameterError
from ..training import INPUT, NetworkLayout, Population, Projection, TrainResult
from .tasks import TASKS, Task, make_task
from .train_pipeline import (
    REST_STEPS,
    TrainJob,
    board_outputs,
    build_model,
    describe,
    epoch_lines,
    jsonable,
    measure_board,
    measure_simulated,
    task_summary,
    train_model,
    training_summary,
    write_files,
)

__all__ = [
    "DemoSettings",
    "NetworkReport",
    "DemoResult",
    "demo_layout",
    "run_demo",
    "epoch_reporter",
    "board_outputs",
    "summary_table",
    "injection_note",
    "PRESETS",
    "NETWORKS",
    "BACKENDS",
    "REST_STEPS",
]

NETWORKS = ("with injection", "without injection")
"""The two trained networks, in report order."""

BACKENDS = ("jax", "torch")
"""Training backends of the demo."""

PRESETS = ("default", "quick", "smoke")

_SUFFIX = {"with injection": "", "without injection": "_without_injection"}
"""File-name suffix of each network's configuration and trained network."""


DEMO_EXCITATORY_FRACTION = 0.8
"""Share of excitatory initial weights of the demo's networks (its figures were measured with it)."""

DEMO_MIN_RATE = 1.0
"""``min_rate`` of the demo's networks."""

@dataclass(frozen=True)
class DemoSettings:
    """Everything that defines a demo run (see ``docs/cli.md``).

    Attributes:
        task: a built-in task (a key of :data:`~.tasks.TASKS`).
        backend: ``"jax"`` or ``"torch"``: the training loop.
        seed: seed of the task, the synapses, the initial weights, the injected draws and
            the chips.
        n_samples: task samples, half for training (a tenth of those held out for
            validation) and half for testing.
        neurons_per_class: output neurons per class (readout: the class whose neurons
            fire most).
        epochs: training epochs.
        batch_size: samples per training step.
        chips_per_step: mismatched chips per training step with injection, each on its
            slice of the batch.
        n_chips: simulated chips of the Monte-Carlo evaluation, per deviation.
        deviations: mismatch levels of the Monte-Carlo evaluation.
        board_samples: test samples sent to the board (None: all).
        write_configs: write the configuration JSON files (about 50 MB per chip).
    """

    task: str = "frozen-noise"
    backend: str = "jax"
    seed: int = 0
    n_samples: int = 200
    neurons_per_class: int = 4
    epochs: int = 100
    batch_size: int = 32
    chips_per_step: int = 8
    n_chips: int = 32
    deviations: Tuple[float, ...] = (0.2, 0.3)
    board_samples: Optional[int] = None
    write_configs: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UnknownParameterError("task", self.task, tuple(TASKS))
        if self.backend not in BACKENDS:
            raise UnknownParameterError("backend", self.backend, BACKENDS)
        for name in ("n_samples", "neurons_per_class", "epochs", "batch_size", "chips_per_step", "n_chips"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ParameterValueError(name, "an integer >= 1", value)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "DemoSettings":
        """Settings of a named size: ``"default"`` (about 80 s of CPU time with JAX, most
        of it compiling), ``"quick"`` (the same training, fewer chips and board samples)
        or ``"smoke"`` (tiny; for tests). torch's eager loop is slower per step: it trains
        fewer epochs (and ``quick`` on less data).

        Args:
            name: one of :data:`PRESETS`.
            **overrides: fields to set (``task``, ``backend``, ``seed``, ...).
        """
        if name not in PRESETS:
            raise UnknownParameterError("preset", name, PRESETS)
        torch = overrides.get("backend") == "torch"
        sizes: Dict[str, Any] = {
            "default": dict(epochs=40) if torch else {},
            "quick": dict(n_chips=16, board_samples=20,
                          **(dict(n_samples=100, epochs=20, batch_size=16, chips_per_step=4) if torch else {})),
            "smoke": dict(n_samples=16, neurons_per_class=2, epochs=2, batch_size=8, chips_per_step=2, n_chips=2,
                          board_samples=2, deviations=(0.3,)),
        }[name]
        if overrides.get("task") == "rate-frequency" and name != "smoke":
            sizes.setdefault("n_samples", 240)
        return cls(**{**sizes, **overrides})

    def job(self, inject: bool) -> TrainJob:
        """The :class:`~.train_pipeline.TrainJob` of one of the two networks. The demo keeps the
        start its figures were measured with (80 % excitatory initial weights, ``min_rate``
        1, the whole deviation injected from the first step, no relative margin), not the
        balanced start, the injection ramp and the margin ``train`` gives its hidden networks."""
        return TrainJob(backend=self.backend, hidden=(), per_class=self.neurons_per_class, epochs=self.epochs,
                        seed=self.seed, inject=inject, deviations=tuple(self.deviations), n_chips=self.n_chips,
                        board_samples=self.board_samples, batch_size=self.batch_size, chips_per_step=self.chips_per_step,
                        excitatory_fraction=DEMO_EXCITATORY_FRACTION, min_rate=DEMO_MIN_RATE,
                        inject_ramp=0, readout_start=0.0, margin_ratio=0.0)


def demo_layout(task: Task, per_class: int) -> NetworkLayout:
    """The demo's network: one population of ``per_class`` output neurons per class, each
    reached by every input channel and every neuron of the population (the fan-in limit
    thins both evenly where they exceed the 64 CAM entries)."""
    pops = (Population("output", task.n_classes * per_class),)
    projs = (Projection(INPUT, "output", 1.0), Projection("output", "output", 1.0))
    return NetworkLayout(task.x_train.shape[2], pops, projs, "output", task.n_classes)


@dataclass
class NetworkReport:
    """What one trained network scored at every stage.

    Attributes:
        name: ``"with injection"`` or ``"without injection"``.
        float_accuracy: test accuracy of the trained network in simulation.
        quantized_accuracy: test accuracy of the quantized (chip-exact) network.
        mismatch: ``{deviation: (n_chips,) accuracies}`` of the quantized network.
        board_accuracy: test accuracy on the board (over ``board_samples`` samples).
        train_loss: training loss per epoch.
        val_accuracy: validation accuracy (nominal chip) per epoch.
        best_epoch: the epoch whose parameters were kept (lowest validation loss).
        train_seconds: training time.
        config_file: where its configuration was written (or None).
    """

    name: str
    float_accuracy: float = float("nan")
    quantized_accuracy: float = float("nan")
    mismatch: Dict[float, np.ndarray] = field(default_factory=dict)
    board_accuracy: float = float("nan")
    train_loss: List[float] = field(default_factory=list)
    val_accuracy: List[float] = field(default_factory=list)
    best_epoch: int = -1
    train_seconds: float = 0.0
    config_file: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["mismatch"] = {
            f"{dev:g}": {"accuracies": np.asarray(acc).tolist(), "mean": float(np.mean(acc)), "std": float(np.std(acc)),
                         "min": float(np.min(acc))}
            for dev, acc in self.mismatch.items()
        }
        return d


@dataclass
class DemoResult:
    """A finished demo: settings, the two networks' reports, timings and output files."""

    settings: DemoSettings
    networks: Dict[str, NetworkReport]
    board: str
    seconds: float = 0.0
    stage_seconds: Dict[str, float] = field(default_factory=dict)
    files: Dict[str, str] = field(default_factory=dict)
    details: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "settings": jsonable(asdict(self.settings)),
            "board": self.board,
            "seconds": self.seconds,
            "stage_seconds": self.stage_seconds,
            "files": self.files,
            "networks": {k: v.to_dict() for k, v in self.networks.items()},
            **self.details,
        }


# --- the pipeline --------------------------------------------------------------------------


def run_demo(
    settings: DemoSettings,
    out_dir: Path,
    board_factory: Optional[Callable[[], Any]] = None,
    board_name: str = "virtual board",
    progress: Optional[Callable[..., Any]] = None,
    log: Callable[[str], None] = print,
    epoch_summaries: bool = True,
) -> DemoResult:
    """Run the whole demo and write its files to ``out_dir``.

    With the torch backend, torch runs on one thread unless ``OMP_NUM_THREADS`` is set:
    the demo's network is small, and on a shared CPU torch's intra-op threads made its
    training up to 15x slower.

    Args:
        settings: the :class:`DemoSettings`.
        out_dir: output directory (created).
        board_factory: returns an open board for the board stage (e.g.
            ``rockpool_dynapse2.hardware.board_factory("samna", index=0)``); default: a
            virtual board of the same backend.
        board_name: how the board stage is labelled.
        progress: ``progress(iterable, desc=..., total=...)`` wrapper (e.g. ``tqdm``) for
            the training epochs and the board's samples; default: none.
        log: receives a line as every stage starts and ends.
        epoch_summaries: also log a training summary every tenth of the epochs (for
            output that is not a terminal, where progress bars do not draw).

    Returns:
        The :class:`DemoResult` (also written to ``out_dir/results.json``).
    """
    with _torch_threads(settings.backend):
        run = _Run(settings, Path(out_dir), board_factory, board_name, progress, log, epoch_summaries)
        return run.all()


@contextmanager
def _torch_threads(backend: str) -> Iterator[None]:
    """One torch thread for the torch backend, unless the user set ``OMP_NUM_THREADS``."""
    if backend != "torch" or os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Run:
    """One demo run: its settings, where it writes, how it reports, what it has measured."""

    def __init__(self, settings: DemoSettings, out_dir: Path, board_factory: Optional[Callable[[], Any]], board_name: str,
                 progress: Optional[Callable[..., Any]], log: Callable[[str], None], epoch_summaries: bool):
        from ..hardware import board_factory as factory_of

        self.s = settings
        self.out_dir = out_dir
        self.board_factory = board_factory or factory_of("virtual", backend=settings.backend)
        self.progress = progress
        self.log = log
        self.epoch_summaries = epoch_summaries
        self.result = DemoResult(settings=settings, networks={}, board=board_name)
        self.task = make_task(settings.task, settings.n_samples, settings.seed)
        self.layout = demo_layout(self.task, settings.neurons_per_class)
        self.board_out: Dict[str, np.ndarray] = {}
        self.eval_model: Any = None

    def all(self) -> DemoResult:
        """Every stage, both networks; the files; the result."""
        start = time.perf_counter()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        trained = {name: self.train(name) for name in NETWORKS}
        for name, result in trained.items():
            self.measure(name, result)
        self._files()
        self.result.seconds = time.perf_counter() - start
        path = self.out_dir / "results.json"
        self.result.files["results"] = str(path)
        path.write_text(json.dumps(self.result.to_dict(), indent=2))
        return self.result

    def _timed(self, stage: str, started: float) -> None:
        seconds = self.result.stage_seconds
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started

    def train(self, name: str) -> TrainResult:
        """Train one network; its report gets the training curve."""
        s, task, job = self.s, self.task, self.s.job(name == "with injection")
        model = build_model(task, job, self.layout)
        # The two models differ only in `inject`, which evaluation does not read: both
        # networks are evaluated with the first, so the simulation compiles once (the
        # compiled functions are cached per model).
        self.eval_model = self.eval_model or model
        if name == NETWORKS[0]:
            for line in describe(task, model, s.backend):
                self.log(line)
        self.log(f"training {name}: {s.epochs} epochs, batches of {model.settings.batch_size}"
                 + (f", {s.chips_per_step} mismatched chips per step" if job.inject else ""))
        t0 = time.perf_counter()
        callback, finish = self._epoch_callback(name)
        try:
            result = train_model(model, task, job, callback)
        finally:
            finish()
        self._timed("train", t0)
        report = NetworkReport(name, train_loss=result.curve("loss").tolist(), val_accuracy=result.curve("val_accuracy").tolist(),
                               best_epoch=result.best_epoch, train_seconds=result.seconds)
        self.result.networks[name] = report
        self.result.details.setdefault("training", {})[name] = training_summary(result, job)
        self.log(f"trained {name} in {result.seconds:.0f} s; kept epoch {result.best_epoch + 1} of {len(result.history)}")
        return result

    def _epoch_callback(self, name: str) -> Tuple[Callable[[Any], None], Callable[[], None]]:
        """The per-epoch callback (a bar, summary lines or both) and what closes the bar."""
        lines = epoch_lines(self.s.epochs, self.log, prefix=f"  {name}, ") if self.epoch_summaries else None
        return epoch_reporter(self.progress, f"training {name}", self.s.epochs, lines)

    def measure(self, name: str, result: TrainResult) -> None:
        """Float, quantized and mismatch stages in simulation; the configuration; the board."""
        from ..placement import config_from_specification
        from ..placement.mapped import trained_readout

        s, task, report, model = self.s, self.task, self.result.networks[name], self.eval_model
        job = s.job(name == "with injection")
        self.log(f"measuring {name}: float and quantized simulation, {s.n_chips} mismatched chips at "
                 + ", ".join(f"{d:.0%}" for d in s.deviations))
        t0 = time.perf_counter()
        simulated = measure_simulated(model, result, task, job, self.log, prefix=f"  {name}, ")
        accuracy, spec = simulated.accuracy, simulated.spec
        self._timed("simulate", t0)
        report.float_accuracy, report.quantized_accuracy = accuracy["float"], accuracy["quantized"]
        report.mismatch = {dev: np.asarray(accuracy["mismatch"][f"{dev:g}"]["chips"]) for dev in s.deviations}
        t0 = time.perf_counter()
        mapped = config_from_specification(spec)
        mapped = trained_readout(mapped, model)
        if s.write_configs:
            files = write_files(self.out_dir, mapped, result, task, _SUFFIX[name], compress=True)
            report.config_file = files["config"]
            self.result.files.update({f"{key} {name}" if key in ("config", "network") else key: path for key, path in files.items()})
        self._timed("configure", t0)
        self.board(name, model, mapped)

    def board(self, name: str, model: Any, mapped: Any) -> None:
        """Run the test set (``board_samples`` of it) on the board."""
        task, board_name = self.task, self.result.board
        n = len(task.y_test) if self.s.board_samples is None else min(self.s.board_samples, len(task.y_test))
        self.log(f"{board_name} ({name}): sending {n} test samples")
        wrap = self.progress or (lambda it, **kw: it)
        bar = lambda it: wrap(it, desc=f"{board_name} ({name})", total=n, unit="sample")
        t0 = time.perf_counter()
        accuracy, out, _ = measure_board(model, mapped, task.x_test[:n], task.y_test[:n], self.board_factory, bar)
        self._timed("board", t0)
        self.result.networks[name].board_accuracy = accuracy
        self.board_out[name] = out
        self.log(f"{board_name} ({name}): test accuracy {accuracy:.1%} on {n} samples")

    def _files(self) -> None:
        """``x_test.npy`` and ``y_test.npy`` (also without configurations), the plots, and
        what ``results.json`` records beyond the reports."""
        from .demo_plots import save_plots

        task = self.task
        for key in ("x_test", "y_test"):
            path = self.out_dir / f"{key}.npy"
            if key not in self.result.files:  # written with the configurations, or now
                np.save(path, getattr(task, key))
            self.result.files[key] = str(path)
        n = self.board_out[NETWORKS[0]].shape[0]
        raster = (task.x_test[:n], task.y_test[:n], self.board_out[NETWORKS[0]])
        self.result.files.update(save_plots(self.result, task, raster, self.out_dir))
        layout = self.layout
        self.result.details.update({
            "task": task_summary(task),
            "network": {"populations": {p.name: p.size for p in layout.populations}, "per_class": layout.per_class,
                        "output_channels": {str(j): j // layout.per_class for j in range(layout.population(layout.output).size)}},
        })


def epoch_reporter(progress: Optional[Callable[..., Any]], desc: str, epochs: int,
                   lines: Optional[Callable[[Any], None]] = None) -> Tuple[Callable[[Any], None], Callable[[], None]]:
    """A training library ``progress`` callback that advances a bar and passes every epoch's
    record to ``lines``; and a function that closes the bar (call it after training, which
    may stop early).

    Args:
        progress: ``progress(iterable, desc=..., total=..., unit=...)`` (e.g. tqdm), or None.
        desc: the bar's label.
        epochs: epochs of the run.
        lines: receives every :class:`~rockpool_dynapse2.training.EpochRecord` (e.g.
            :func:`~.train_pipeline.epoch_lines`), or None.
    """
    bar = None
    if progress is not None:
        # The bar counts an epoch each time the next item is asked for: the first draws it
        # empty, the one after the last epoch closes it.
        bar = iter(progress(range(epochs), desc=desc, total=epochs, unit="epoch"))
        next(bar, None)

    def report(record: Any) -> None:
        if bar is not None:
            next(bar, None)
        if lines is not None:
            lines(record)

    def finish() -> None:
        for _ in bar or ():
            pass

    return report, finish


# --- report ------------------------------------------------------------------------------


def _stage_rows(result: DemoResult) -> List[Tuple[str, List[str]]]:
    nets = [result.networks[n] for n in NETWORKS]
    n_board = result.settings.board_samples
    rows = [
        ("float simulation", [f"{r.float_accuracy:6.1%}" for r in nets]),
        ("quantized (chip-exact)", [f"{r.quantized_accuracy:6.1%}" for r in nets]),
    ]
    for dev in result.settings.deviations:
        rows.append(
            (
                f"mismatch {dev:.0%}, {result.settings.n_chips} chips",
                [f"{r.mismatch[dev].mean():6.1%} ± {r.mismatch[dev].std():5.1%} (min {r.mismatch[dev].min():.0%})" for r in nets],
            )
        )
    label = result.board if n_board is None else f"{result.board} ({n_board} samples)"
    rows.append((label, [f"{r.board_accuracy:6.1%}" for r in nets]))
    return rows


def injection_note(result: DemoResult) -> Optional[str]:
    """A note for a run where injection did not pay off, else None.

    Injection pays off when the injected network's mean accuracy on the mismatched chips
    beats the other's at the highest mismatch level. Single runs vary between seeds,
    the more so with the short ``quick`` training; the note says so and points to the
    measured averages, so that a reader does not take one run for the method's result.
    """
    nets = [result.networks.get(name) for name in NETWORKS]
    devs = sorted(result.settings.deviations)
    if None in nets or not devs or any(devs[-1] not in r.mismatch for r in nets):
        return None
    with_inj, without = (float(np.mean(r.mismatch[devs[-1]])) for r in nets)
    if with_inj > without:
        return None
    s = result.settings
    return (
        f"note: in this run, injection did not raise the mean accuracy at {devs[-1]:.0%} mismatch "
        f"({with_inj:.1%} against {without:.1%}). Single runs vary with the seed, the more so with short "
        f"training ({s.epochs} epochs, {s.chips_per_step} chips per training step, {s.n_chips} evaluation chips, "
        f"{s.n_samples // 2} test samples). Averaged over seeds with the default settings, injection helps: "
        "see docs/results.md."
    )


def summary_table(result: DemoResult) -> str:
    """The stage x network accuracy table (test set), as printed at the end of the demo."""
    rows = _stage_rows(result)
    head = ("stage",) + NETWORKS
    width0 = max(len(head[0]), *(len(r[0]) for r in rows))
    widths = [max(len(head[i + 1]), *(len(r[1][i]) for r in rows)) for i in range(len(NETWORKS))]
    line = lambda cells: "  ".join([cells[0].ljust(width0)] + [c.rjust(w) for c, w in zip(cells[1:], widths)])
    out = [line(head), "  ".join(["-" * width0] + ["-" * w for w in widths])]
    out += [line((name,) + tuple(values)) for name, values in rows]
    s = result.settings
    out.append(
        f"task {s.task}, backend {s.backend}, seed {s.seed}, {s.neurons_per_class} neuron(s) per class; "
        f"accuracy = the class whose neurons fire most (ties count as errors); "
        f"mismatch = mean ± std (worst chip) of the quantized network; total {result.seconds:.0f} s"
    )
    return "\n".join(out)
