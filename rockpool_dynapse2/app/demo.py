"""The demo pipeline: the paper's method end to end, on a built-in task.

:func:`run_demo` trains the same network twice through the differentiable simulation —
once with dynamic mismatch injection (a new mismatched chip at every training step),
once without — and then takes both through every stage of deployment, measuring the
task accuracy at each:

1. **float**: the trained network in simulation;
2. **quantized**: ``mapper(net.as_graph())`` -> ``quantize_spec`` (4 base weights and 4-bit
   masks per core, currents snapped to bias codes), simulated with
   ``dynapsim_net_from_spec``: exactly what the chip configuration holds;
3. **mismatch**: the quantized network on ``n_chips`` simulated chips with frozen mismatch
   (``monte_carlo``) at each deviation: mean, standard deviation and worst chip;
4. **board**: ``config_from_specification`` -> JSON file -> ``DynapseSamna`` on the virtual
   board (or a real board), the test set sent as events and read back.

Results go to a directory: ``config.json`` (the network trained with injection, ready to
deploy), ``config_without_injection.json``, ``results.json`` and the plots of
:mod:`.demo_plots`; :func:`summary_table` prints the stage x network table.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from .demo_train import (
    BACKENDS,
    MISMATCH_FAMILIES,
    TrainSettings,
    accuracy,
    class_counts,
    spike_counts,
    initial_weights,
    train,
)
from ..errors import ParameterValueError, UnknownParameterError
from .tasks import TASKS, Task, make_task

__all__ = ["DemoSettings", "NetworkReport", "DemoResult", "run_demo", "board_outputs", "summary_table", "injection_note", "PRESETS", "NETWORKS"]

NETWORKS = ("with injection", "without injection")
"""The two trained networks, in report order."""

PRESETS = ("default", "quick", "smoke")


@dataclass(frozen=True)
class DemoSettings:
    """Everything that defines a demo run (see ``docs/cli.md``).

    Attributes:
        task: ``"frozen-noise"`` or ``"rate-frequency"``.
        backend: ``"jax"`` or ``"torch"``.
        seed: seed of the task, the initial weights, the injected draws and the chips.
        n_samples: task samples, half for training and half for testing.
        neurons_per_class: output neurons per class (readout: the class whose neurons fire most).
        epochs: training epochs (full batch, one Adam step each).
        learning_rate: Adam's peak learning rate.
        weight_scale: standard deviation of the initial input weights (units of ``Iscale``).
        rec_scale: standard deviation of the initial recurrent weights.
        temperature: scale of the spike counts in the cross-entropy.
        min_count: mean spike count per sample below which an output neuron is penalised.
        train_deviation: injected mismatch (fraction reached at ``sigma_rule`` sigmas).
        chips_per_step: mismatched chips drawn per training step, each on the whole batch.
        n_chips: simulated chips of the Monte-Carlo evaluation.
        deviations: mismatch levels of the Monte-Carlo evaluation.
        sigma_rule: standard deviations at which a deviation is reached.
        board_samples: test samples sent to the board (None: all).
        write_configs: write the configuration JSON files (about 50 MB per chip).
    """

    task: str = "frozen-noise"
    backend: str = "jax"
    seed: int = 0
    n_samples: int = 200
    neurons_per_class: int = 2
    epochs: int = 300
    learning_rate: float = 0.01
    weight_scale: float = 0.1
    rec_scale: float = 0.1
    temperature: float = 0.5
    min_count: float = 2.0
    train_deviation: float = 0.3
    chips_per_step: int = 8
    n_chips: int = 32
    deviations: Tuple[float, ...] = (0.2, 0.3)
    sigma_rule: float = 3.0
    board_samples: Optional[int] = None
    write_configs: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UnknownParameterError("task", self.task, tuple(TASKS))
        if self.backend not in BACKENDS:
            raise UnknownParameterError("backend", self.backend, BACKENDS)
        for name in ("n_samples", "neurons_per_class", "epochs", "chips_per_step", "n_chips"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ParameterValueError(name, "an integer >= 1", value)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "DemoSettings":
        """Settings of a named size: ``"default"`` (a few minutes), ``"quick"`` (under a
        minute with JAX) or ``"smoke"`` (seconds; for tests).

        Args:
            name: one of :data:`PRESETS`.
            **overrides: fields to set (``task``, ``backend``, ``seed``, ...).
        """
        if name not in PRESETS:
            raise UnknownParameterError("preset", name, PRESETS)
        base = cls(**{k: v for k, v in overrides.items() if k in ("task", "backend")})
        torch = base.backend == "torch"
        sizes: Dict[str, Any] = {
            "default": dict(epochs=150 if torch else 300, n_chips=32),
            "quick": dict(n_samples=100, epochs=60 if torch else 150, chips_per_step=4, n_chips=16, board_samples=20),
            "smoke": dict(n_samples=16, epochs=3, chips_per_step=2, n_chips=2, board_samples=2, deviations=(0.3,)),
        }[name]
        if base.task == "rate-frequency":
            sizes.setdefault("n_samples", 240)
        return replace(base, **{**sizes, **overrides})


@dataclass
class NetworkReport:
    """What one trained network scored at every stage.

    Attributes:
        name: ``"with injection"`` or ``"without injection"``.
        float_accuracy: test accuracy of the trained network in simulation.
        quantized_accuracy: test accuracy of the quantized (chip-exact) network.
        mismatch: ``{deviation: (n_chips,) accuracies}`` of the quantized network.
        board_accuracy: test accuracy on the board (over ``board_samples`` samples).
        quantization_error: relative error of the quantized weights.
        train_loss: training loss per epoch.
        train_seconds: training time.
        config_file: where its configuration was written (or None).
    """

    name: str
    float_accuracy: float = float("nan")
    quantized_accuracy: float = float("nan")
    mismatch: Dict[float, np.ndarray] = field(default_factory=dict)
    board_accuracy: float = float("nan")
    quantization_error: float = float("nan")
    train_loss: List[float] = field(default_factory=list)
    train_seconds: float = 0.0
    config_file: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["mismatch"] = {
            f"{dev:g}": {"accuracies": acc.tolist(), "mean": float(acc.mean()), "std": float(acc.std()), "min": float(acc.min())}
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

    def to_dict(self) -> Dict[str, Any]:
        return {
            "settings": asdict(self.settings),
            "board": self.board,
            "seconds": self.seconds,
            "stage_seconds": self.stage_seconds,
            "files": self.files,
            "networks": {k: v.to_dict() for k, v in self.networks.items()},
        }


# --- stages ----------------------------------------------------------------------------


def _quantize(backend: str, net: Any, seed: int):
    """``(quantized spec, report, simulation of it)``."""
    from ..mapping import dynapsim_net_from_spec, mapper, quantize_spec

    spec, report = quantize_spec(mapper(net.as_graph()), seed=seed)
    return spec, report, dynapsim_net_from_spec(spec, backend)


def _monte_carlo(backend: str, qnet: Any, spec: Any, task: Task, s: DemoSettings, deviation: float) -> np.ndarray:
    from ..transform.mismatch import monte_carlo

    K, M, outputs = task.n_classes, s.neurons_per_class, spec.output_neurons
    if backend == "jax":
        import jax.numpy as jnp

        labels = jnp.asarray(task.y_test)
        metric = lambda out: accuracy(jnp, class_counts(jnp, out, K, M, outputs), labels)
    else:
        import torch

        labels = torch.as_tensor(task.y_test)
        index = torch.as_tensor(np.array(outputs))
        metric = lambda out: accuracy(torch, class_counts(torch, out, K, M, index), labels)
        qnet.reset_state()
    return monte_carlo(
        qnet,
        task.x_test,
        metric,
        n_chips=s.n_chips,
        percent_deviation=deviation,
        sigma_rule=s.sigma_rule,
        families=MISMATCH_FAMILIES,
        seed=s.seed + 1,
    )


def board_outputs(
    mapped: Any,
    x: np.ndarray,
    board_factory: Callable[[], Any],
    progress: Callable = lambda it: it,
    rest_steps: Optional[int] = None,
) -> np.ndarray:
    """Run every sample through ``DynapseSamna``; output rasters ``(B, T, n_outputs)``.

    Each sample starts from rest: on a board that can reset its neurons (its
    ``capabilities.can_reset``, e.g. the virtual board) by a reset before it; on one that
    cannot (a chip), by ``rest_steps`` steps without input before it (default
    :data:`REST_STEPS`; their output is dropped).

    Args:
        mapped: the :class:`~rockpool_dynapse2.config.MappedConfiguration`.
        x: input spike counts ``(B, T, n_inputs)``.
        board_factory: returns the open board (e.g. ``board_factory("virtual")`` of
            :mod:`rockpool_dynapse2.hardware`).
        progress: wraps the sample iterator (e.g. a tqdm bar).
        rest_steps: steps without input before each sample on a board that cannot reset.
    """
    from ..hardware import DynapseSamna

    out = np.zeros((x.shape[0], x.shape[1], mapped.n_outputs), dtype=np.float32)
    with DynapseSamna(board_factory(), mapped) as mod:
        can_reset = mod.capabilities.can_reset
        rest = 0 if can_reset else (REST_STEPS if rest_steps is None else rest_steps)
        for b in progress(range(x.shape[0])):
            if can_reset:
                mod.reset_state()
            sample = np.concatenate([np.zeros((rest, x.shape[2]), dtype=x.dtype), x[b]]) if rest else x[b]
            out[b] = mod(sample)[0][0][rest:]
    return out


REST_STEPS = 200
"""Steps without input before each sample on a real board (200 ms at 1 ms: ten membrane time constants)."""


CAM_ENTRIES = 64
"""Synapses (CAM entries) per neuron."""


def _recurrent_sources(task: Task, s: DemoSettings) -> int:
    """Recurrent sources per neuron: all neurons, as far as the CAM entries left by the inputs allow."""
    n, n_in = task.n_classes * s.neurons_per_class, task.x_train.shape[2]
    free = CAM_ENTRIES - n_in
    if free < 1:
        raise ParameterValueError("input channels", f"fewer than {CAM_ENTRIES} (synapses per neuron)", n_in)
    return min(n, free)


# --- the pipeline --------------------------------------------------------------------------


def run_demo(
    settings: DemoSettings,
    out_dir: Path,
    board_factory: Optional[Callable[[], Any]] = None,
    board_name: str = "virtual board",
    progress: Optional[Callable[..., Any]] = None,
    log: Callable[[str], None] = print,
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
        progress: ``progress(iterable, desc=..., total=...)`` wrapper (e.g. ``tqdm``);
            default: none.
        log: where progress messages go.

    Returns:
        The :class:`DemoResult` (also written to ``out_dir/results.json``).
    """
    with _torch_threads(settings.backend):
        return _run_demo(settings, out_dir, board_factory, board_name, progress, log)


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


def _run_demo(settings: DemoSettings, out_dir: Path, board_factory: Optional[Callable[[], Any]], board_name: str,
              progress: Optional[Callable[..., Any]], log: Callable[[str], None]) -> DemoResult:
    """:func:`run_demo` without the thread setting."""
    from ..placement import config_from_specification
    from .demo_plots import save_plots
    from ..hardware import board_factory as factory_of

    s = settings
    wrap = progress or (lambda it, **kw: it)
    board_factory = board_factory or factory_of("virtual", backend=s.backend)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stage_seconds: Dict[str, float] = {}

    task = make_task(s.task, s.n_samples, s.seed)
    K, M = task.n_classes, s.neurons_per_class
    rec_sources = _recurrent_sources(task, s)
    log(
        f"task {task.name}: {len(task.y_train)} training and {len(task.y_test)} test samples, "
        f"{task.x_train.shape[1]} steps of {task.dt * 1e3:g} ms, {task.x_train.shape[2]} channels, "
        f"{K} classes ({', '.join(task.class_names)})"
    )
    log(
        f"network: {task.x_train.shape[2]} inputs -> {K * M} recurrently connected DYNAP-SE2 neurons "
        f"({M} per class, {rec_sources} recurrent sources each), backend {s.backend}"
    )
    w_in, w_rec = initial_weights(task.x_train.shape[2], K * M, s.weight_scale, s.rec_scale, rec_sources, s.seed)
    result = DemoResult(settings=s, networks={}, board=board_name)
    trained: Dict[str, Any] = {}
    for name in NETWORKS:
        inject = name == "with injection"
        ts = TrainSettings(
            epochs=s.epochs,
            learning_rate=s.learning_rate,
            temperature=s.temperature,
            min_count=s.min_count,
            inject=inject,
            deviation=s.train_deviation,
            sigma_rule=s.sigma_rule,
            seed=s.seed,
            chips_per_step=s.chips_per_step,
        )
        bar = lambda it, name=name: wrap(it, desc=f"training {name}", total=s.epochs, unit="epoch")
        t0 = time.perf_counter()
        tr = train(s.backend, w_in, w_rec, task.x_train, task.y_train, K, M, rec_sources, ts, bar)
        stage_seconds[f"train {name}"] = time.perf_counter() - t0
        report = NetworkReport(name, train_loss=tr.loss, train_seconds=tr.seconds)
        out = spike_counts(s.backend, tr.net, task.x_test)
        report.float_accuracy = float(accuracy(np, class_counts(np, out, K, M), task.y_test))
        trained[name] = (tr.net, out)
        result.networks[name] = report
        log(f"trained {name} in {tr.seconds:.1f} s: float test accuracy {report.float_accuracy:.1%}")

    t0 = time.perf_counter()
    quantized: Dict[str, Any] = {}
    for name, report in result.networks.items():
        spec, qreport, qnet = _quantize(s.backend, trained[name][0], s.seed)
        out = spike_counts(s.backend, qnet, task.x_test)
        report.quantized_accuracy = float(accuracy(np, class_counts(np, out, K, M, spec.output_neurons), task.y_test))
        report.quantization_error = qreport.error
        quantized[name] = (spec, qnet)
        log(f"quantized {name}: weight error {qreport.error:.1%}, test accuracy {report.quantized_accuracy:.1%}")
    stage_seconds["quantize"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    runs = [(name, dev) for name in NETWORKS for dev in s.deviations]
    for name, dev in wrap(runs, desc=f"Monte Carlo ({s.n_chips} chips per run)", total=len(runs), unit="run"):
        spec, qnet = quantized[name]
        acc = _monte_carlo(s.backend, qnet, spec, task, s, dev)
        result.networks[name].mismatch[dev] = acc
        log(f"mismatch {dev:.0%} ({name}): mean {acc.mean():.1%}, std {acc.std():.1%}, worst chip {acc.min():.1%}")
    stage_seconds["monte carlo"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    n_board = len(task.y_test) if s.board_samples is None else min(s.board_samples, len(task.y_test))
    board_out: Dict[str, np.ndarray] = {}
    for name, report in result.networks.items():
        mapped = config_from_specification(quantized[name][0])
        if s.write_configs:
            path = out_dir / ("config.json" if name == "with injection" else "config_without_injection.json")
            path.write_text(mapped.to_json())
            report.config_file = str(path)
            result.files[f"config {name}"] = str(path)
        bar = lambda it, name=name: wrap(it, desc=f"{board_name} ({name})", total=n_board, unit="sample")
        out = board_outputs(mapped, task.x_test[:n_board], board_factory, bar)
        board_out[name] = out
        report.board_accuracy = float(accuracy(np, class_counts(np, out, K, M), task.y_test[:n_board]))
        log(f"{board_name} ({name}): test accuracy {report.board_accuracy:.1%} on {n_board} samples")
    stage_seconds["board"] = time.perf_counter() - t0

    result.files.update(save_plots(result, task, trained["with injection"][1], out_dir))
    result.seconds = time.perf_counter() - start
    result.stage_seconds = stage_seconds
    results_path = out_dir / "results.json"
    result.files["results"] = str(results_path)
    results_path.write_text(json.dumps(result.to_dict(), indent=2))
    return result


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
        f"{s.n_samples // 2} test samples). Averaged over seeds with the default settings, injection helps "
        "in both backends: see docs/results.md."
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
