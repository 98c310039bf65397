"""The yield study: one trained network deployed to many virtual chips, each tuned or not.

A *chip* is a virtual board with its own flaws, :class:`~rockpool_dynapse2.hardware.ChipProfile`
drawn from a seed (``ChipProfile.draw(seed, mismatch)``). For every chip, :func:`run_chip`

1. draws the chip (stage ``"draw"``);
2. runs the network's configuration on ``VirtualBoard(profile=...)``, the test set sent as
   events one sample at a time (:func:`~rockpool_dynapse2.hardware.run_samples`), and scores
   it: the *untuned* accuracy (stage ``"deploy"``);
3. with a tuning strategy other than ``"none"``, makes a configuration for this chip
   (stage ``"tune"``) and scores it on the same board: the *tuned* accuracy (stage
   ``"deploy_tuned"``); with :attr:`ChipJob.gate`, only for a chip whose trained
   configuration misses the float accuracy by more than :data:`YIELD_MARGIN` on tuning
   samples (stage ``"gate"``, :func:`gate_check`).

The strategies (:data:`TUNE_STRATEGIES`):

* ``"none"``: deploy as trained;
* ``"oracle"``: fine-tune the network for the chip with its true profile as the twin;
* ``"fitted"``: probe the chip through the board protocol, fit a twin to the recordings,
  fine-tune with the fitted profile.

Both place the network around the twin's defects
(:meth:`~rockpool_dynapse2.hardware.ChipProfile.defects`) and fine-tune it on the twin
with :func:`~.finetune.fine_tune` (``epochs`` epochs on the tuning data);
``"fitted"`` probes, on each core the network uses, only the slots it can be placed on
(its neurons there plus spares: :mod:`.probe_plan`), fits the twin to them with
:func:`~.fit.fit_twin`'s defaults and places the network on the probed good slots only
(a network that needs more fails in placement; it is never put on an unprobed slot), and
then runs :data:`BOARD_CHECK_SAMPLES` tuning samples on the chip's board with the trained
and the tuned configuration (``details["board_check"]``; :attr:`ChipOutcome.checked` is
the test accuracy of the one that did better, the study's ``checked`` distribution). Its
parts are timed on their own (``details["seconds"]``: ``probe``, ``fit``, ``fine_tune``,
``check``, parts of the stage ``tune``) and what it found is the outcome's ``details``. A strategy named but not in a
version raises :class:`~rockpool_dynapse2.errors.StrategyNotAvailableError`
(:func:`check_strategy` says so before any work).

Every chip's result is a :class:`ChipOutcome`, a plain record (picklable, and JSON through
:meth:`ChipOutcome.to_dict`): a stage that fails is recorded in it (``error``,
``failed_stage``), never dropped. :func:`summarize` reduces the outcomes to the
distribution before and after tuning: mean, worst and the *yield*, the fraction of chips
within :data:`YIELD_MARGIN` of the float accuracy. :mod:`.yield_runners` runs the chips
here, in a process pool or on Ray.

What the chips share, :class:`StudyInputs` (the trained network, its configuration, the
test and tuning data), is sent to each worker once; each process rebuilds the network
from it once (:func:`prepared`).
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import ParameterValueError, ProbeError, Shown, StrategyNotAvailableError
from ..parameters.validate import choice, flag, integer, real_number, seed as check_seed

__all__ = [
    "TUNE_STRATEGIES",
    "YIELD_MARGIN",
    "BOARD_CHECK_SAMPLES",
    "ChipJob",
    "ChipOutcome",
    "StudyInputs",
    "Prepared",
    "TuneContext",
    "check_strategy",
    "chip_jobs",
    "prepared",
    "board_accuracy",
    "float_accuracy",
    "run_chip",
    "distribution",
    "yield_interval",
    "summarize",
]

TUNE_STRATEGIES: Tuple[str, ...] = ("none", "oracle", "fitted")
"""The tuning strategies, by name (see the module docs)."""

YIELD_MARGIN = 0.05
"""A chip *yields* if its accuracy is at most this much (5 points) below the float accuracy."""


def _yield_floor(reference: float, margin: float = YIELD_MARGIN) -> float:
    """The least accuracy that yields: ``margin`` below ``reference``, less a rounding
    allowance (an accuracy exactly at the margin yields). The one rule the yield
    (:func:`distribution`) and the gate (:func:`gate_check`) share."""
    return reference - margin - 1e-12


def _last_tuning_samples(x_tune: np.ndarray, y_tune: np.ndarray, n: int) -> Tuple[np.ndarray, np.ndarray]:
    """The last ``n`` tuning samples (all if fewer): what a check on a chip's board runs,
    never the test set."""
    n = min(n, len(y_tune))
    return x_tune[-n:], y_tune[-n:]

_WAITING: Dict[str, str] = {}
"""Strategies named but not in this version, and what each waits for (none now)."""


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChipJob:
    """One chip of a study: which chip, and what to do with it.

    Attributes:
        seed: the chip's seed (``ChipProfile.draw(seed, mismatch)``), an integer >= 0.
        mismatch: the chip's per-neuron deviation (0.3 for 30 %).
        tune: one of :data:`TUNE_STRATEGIES`.
        epochs: fine-tuning epochs per chip (the tuned strategies).
        backend: the virtual board's simulation backend, ``"jax"`` or ``"torch"``.
        gate: with a tuning strategy, first run :data:`GATE_SAMPLES` tuning samples
            on the chip's board with the trained configuration, and tune only a chip whose
            accuracy there is more than :data:`YIELD_MARGIN` below the float accuracy on
            the same samples (:func:`gate_check`; ``details["gate"]``); a chip within it
            keeps the trained configuration (its tuned accuracy is its untuned one).

    Raises:
        ParameterValueError, UnknownParameterError: a field outside its range or choices.
    """

    seed: int
    mismatch: float = 0.3
    tune: str = "none"
    epochs: int = 20
    backend: str = "jax"
    gate: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "seed", check_seed("seed", self.seed))
        object.__setattr__(self, "mismatch", real_number("mismatch", self.mismatch, low=0.0, high=1.0, what="a fraction"))
        choice("tune", self.tune, TUNE_STRATEGIES)
        object.__setattr__(self, "epochs", integer("epochs", self.epochs, low=1))
        choice("backend", self.backend, ("jax", "torch"))
        object.__setattr__(self, "gate", flag("gate", self.gate))


@dataclass(frozen=True)
class ChipOutcome:
    """What one chip gave (accuracies are fractions in 0..1; ``None``: not measured).

    Attributes:
        seed, mismatch, tune: the job's.
        untuned: test accuracy of the trained configuration on the chip.
        tuned: test accuracy of the chip's tuned configuration on it (``tune`` ``"none"``: ``None``).
        seconds: wall time of each stage that ran (``draw``, ``deploy``, ``tune``, ``deploy_tuned``).
        error: ``"ErrorType: message"`` of the stage that failed, else ``None``.
        failed_stage: the stage that failed, else ``None``.
        worker: ``host:pid`` of the process that ran the chip.
        details: what the tuning strategy reports (``"fitted"``: the slots probed per
            core, the probes run, the defective slots found, the fit's held-out correlation,
            and ``"seconds"`` of the parts of its ``tune`` stage: ``probe``, ``fit``, ``fine_tune``);
            every chip's ``"cpu_seconds"``: the CPU time of its process in each stage and
            part (every thread's; what the chip costs, whatever the machine's load).
    """

    seed: int
    mismatch: float
    tune: str
    untuned: Optional[float] = None
    tuned: Optional[float] = None
    seconds: Dict[str, float] = field(default_factory=dict)
    error: Optional[str] = None
    failed_stage: Optional[str] = None
    worker: str = ""
    details: Dict[str, Any] = field(default_factory=dict)

    @property
    def checked(self) -> Optional[float]:
        """The test accuracy of the configuration a user with the board keeps after the
        strategy's board check (``details["board_check"]``): the tuned one if it scored at
        least the trained one's on the check's samples, else the trained one, whose test
        accuracy on this (deterministic) board is :attr:`untuned`; the trained one too for a
        chip the gate did not tune (:attr:`ChipJob.gate`). ``None`` without a check."""
        if self.details.get("gate", {}).get("tune") is False:  # the trained configuration kept, untouched
            return self.untuned
        check = self.details.get("board_check")
        if check is None or self.tuned is None:
            return None
        return self.tuned if check["tuned"] >= check["untuned"] else self.untuned

    @property
    def ok(self) -> bool:
        """Whether every stage ran."""
        return self.error is None

    def to_dict(self) -> Dict[str, Any]:
        """The record as plain JSON data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "ChipOutcome":
        """The record from :meth:`to_dict`'s dictionary."""
        return cls(**d)

    @classmethod
    def failed(cls, job: ChipJob, stage: str, error: BaseException, worker: str = "") -> "ChipOutcome":
        """The outcome of a chip whose ``stage`` raised ``error`` before anything was measured
        (e.g. its worker died: ``stage`` ``"worker"``)."""
        return cls(job.seed, job.mismatch, job.tune, error=_error_text(error), failed_stage=stage, worker=worker)


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


@dataclass(frozen=True, eq=False)
class StudyInputs:
    """What every chip of a study shares, as bytes and arrays (cheap to pickle and to send
    to a worker once).

    Attributes:
        network: the trained network, the bytes of a ``network.npz``
            (:func:`~rockpool_dynapse2.training.save_parameters`).
        config: the network's configuration with its class map, the bytes of a
            ``config.json(.gz)`` (:meth:`~rockpool_dynapse2.placement.MappedConfiguration.save`).
        x_test: test inputs ``(B, T, C)``, spike counts per step.
        y_test: test labels ``(B,)``.
        x_tune: inputs the tuned strategies fine-tune on ``(B', T, C)`` (the training set).
        y_tune: their labels ``(B',)``.
        key: a digest of the network and configuration (the per-process cache's key).
    """

    network: bytes
    config: bytes
    x_test: np.ndarray
    y_test: np.ndarray
    x_tune: np.ndarray
    y_tune: np.ndarray
    key: str = ""

    def __post_init__(self) -> None:
        for name in ("network", "config"):
            if not isinstance(getattr(self, name), bytes) or not getattr(self, name):
                raise ParameterValueError(name, "the non-empty bytes of a file", type(getattr(self, name)).__name__)
        for x, y, what in ((self.x_test, self.y_test, "test"), (self.x_tune, self.y_tune, "tune")):
            if np.ndim(x) != 3 or np.ndim(y) != 1 or len(x) != len(y) or len(y) == 0:
                raise ParameterValueError(f"x_{what}, y_{what}", "arrays (B, T, C) and (B,) with B >= 1",
                                          f"shapes {np.shape(x)} and {np.shape(y)}")
        digest = hashlib.sha1(self.network + self.config).hexdigest()[:16]
        object.__setattr__(self, "key", digest)

    @classmethod
    def from_objects(cls, result: Any, mapped: Any, x_test: np.ndarray, y_test: np.ndarray,
                     x_tune: np.ndarray, y_tune: np.ndarray) -> "StudyInputs":
        """From a :class:`~rockpool_dynapse2.training.TrainResult` and its
        :class:`~rockpool_dynapse2.placement.MappedConfiguration` (with its class map)."""
        import gzip

        from ..training import save_parameters

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "network.npz")
            save_parameters(path, result)
            with open(path, "rb") as f:
                network = f.read()
        config = gzip.compress(mapped.to_json().encode("utf-8"), compresslevel=3)
        return cls(network, config, x_test, y_test, x_tune, y_tune)


@dataclass(frozen=True)
class Prepared:
    """The network of a study rebuilt in a process: ``result`` (a
    :class:`~rockpool_dynapse2.training.TrainResult`) and ``mapped`` (its configuration)."""

    result: Any
    mapped: Any


_PREPARED: Dict[str, Prepared] = {}


def prepared(inputs: StudyInputs) -> Prepared:
    """The network and configuration of ``inputs``, rebuilt once per process (cached by ``key``)."""
    if inputs.key not in _PREPARED:
        from ..placement import MappedConfiguration
        from ..training import load_parameters

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "network.npz")
            with open(path, "wb") as f:
                f.write(inputs.network)
            result = load_parameters(path)
        mapped = MappedConfiguration.from_json(inputs.config)
        _PREPARED.clear()  # one study at a time per process
        _PREPARED[inputs.key] = Prepared(result, mapped)
    return _PREPARED[inputs.key]


# --- strategies -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuneContext:
    """What a tuning strategy is given for one chip.

    Attributes:
        job: the chip's job.
        prepared: the trained network and its configuration.
        profile: the chip's true :class:`~rockpool_dynapse2.hardware.ChipProfile` (only
            ``"oracle"`` may read it).
        board_factory: opens the chip's board (what ``"fitted"`` probes).
        x_tune, y_tune: the data to fine-tune on.
        stage: ``stage(name, fn)`` runs ``fn`` as a timed part of the tuning (its seconds
            are the outcome's ``details["seconds"][name]``, a failure in it its ``failed_stage``).
        details: what the strategy reports (the outcome's ``details``).
    """

    job: ChipJob
    prepared: Prepared
    profile: Any
    board_factory: Callable[[], Any]
    x_tune: np.ndarray
    y_tune: np.ndarray
    stage: Callable[[str, Callable[[], Any]], Any] = lambda name, fn: fn()
    details: Dict[str, Any] = field(default_factory=dict)


def _fine_tuned(context: TuneContext, twin_profile: Any, defects: Any = None) -> Any:
    """The network placed around ``defects`` (default: ``twin_profile``'s dead and always-on
    neurons and defective CAM entries) and fine-tuned on ``twin_profile``: the chip's configuration."""
    from ..placement import config_from_specification
    from .finetune import fine_tune

    defects = twin_profile.defects() if defects is None else defects
    tuned = fine_tune(context.prepared.result, twin_profile, context.x_tune, context.y_tune, epochs=context.job.epochs,
                      backend=context.job.backend, measure=False,  # the study measures on the chip's board itself
                      place=lambda spec: config_from_specification(spec, defects=defects))
    return tuned.mapped


def _tune_oracle(context: TuneContext) -> Any:
    """Fine-tune for the chip with its true profile as the twin."""
    return _fine_tuned(context, context.profile)


BOARD_CHECK_SAMPLES = 64
"""Tuning samples the fitted strategy runs on the chip's board with the trained and the
tuned configuration (its board check: the twin is fitted, so the tuned network can be worse
on the chip than the trained one; a user with the board measures which to keep)."""


def _board_check(context: TuneContext, tuned: Any) -> Dict[str, Any]:
    """Both configurations' accuracies on the chip's board, on the last
    :data:`BOARD_CHECK_SAMPLES` tuning samples (never the test set)."""
    x, y = _last_tuning_samples(context.x_tune, context.y_tune, BOARD_CHECK_SAMPLES)
    result, factory = context.prepared.result, context.board_factory
    return {"samples": len(y), "untuned": board_accuracy(result, context.prepared.mapped, x, y, factory),
            "tuned": board_accuracy(result, tuned, x, y, factory)}


def _tune_fitted(context: TuneContext) -> Any:
    """Probe the slots the network can use on the chip's board (:mod:`.probe_plan`: on each
    core it uses, its neurons there plus spares), fit a twin, place the network on the
    probed good slots and fine-tune it on the twin."""
    from .probe_plan import placement_defects, plan_probe, probe_and_fit

    twin, plan, probes = probe_and_fit(context.board_factory, plan_probe(context.prepared.mapped.neurons), context.stage)
    probed = plan.probed()
    found = twin.profile.defects()
    quality = getattr(twin, "quality", None)
    context.details.update(
        probed_neurons_per_core=plan.neurons_per_core, probes=probes,
        bad_slots_found=sorted(list(a) for a in found.bad_neurons), bad_entries_found=len(found.bad_cam_entries),
        held_out_correlation=getattr(quality, "held_out_correlation", None))
    mapped = context.stage("fine_tune", lambda: _fine_tuned(context, twin.profile, placement_defects(twin.profile, probed)))
    _check_probed(mapped, probed)
    context.details["board_check"] = context.stage("check", lambda: _board_check(context, mapped))
    return mapped


def _check_probed(mapped: Any, probed: Any) -> None:
    """Every neuron of the tuned configuration sits on a probed slot (placement was told the
    others are unusable; this says so loudly if that ever breaks)."""
    off = [a for a in mapped.neurons if (a.chip, a.core, a.neuron) not in probed]
    if off:
        a = off[0]
        raise ProbeError("the tuned network's neurons", "on slots the probe measured",
                         Shown(f"{len(off)} elsewhere, the first at chip {a.chip}, core {a.core}, neuron {a.neuron}"))


_TUNERS: Dict[str, Optional[Callable[[TuneContext], Any]]] = {
    "none": None,
    "oracle": _tune_oracle,
    "fitted": _tune_fitted,
}


def check_strategy(name: str) -> None:
    """Fail early where :func:`run_chip` would fail on every chip.

    Raises:
        UnknownParameterError: not one of :data:`TUNE_STRATEGIES`.
        StrategyNotAvailableError: a strategy whose code is not in this version (the
            message names what it waits for).
    """
    choice("tune", name, TUNE_STRATEGIES)
    if name in _WAITING:
        raise StrategyNotAvailableError(
            f"`tune` must be a strategy available in this version; got {name!r}, which waits for {_WAITING[name]}")


# --- one chip -------------------------------------------------------------------------------


def chip_jobs(n_chips: int, mismatch: float = 0.3, tune: str = "none", epochs: int = 20, first_seed: int = 1,
              backend: str = "jax", gate: bool = False) -> List[ChipJob]:
    """The jobs of ``n_chips`` chips, seeds ``first_seed .. first_seed + n_chips - 1``."""
    n_chips = integer("chips", n_chips, low=1)
    first_seed = check_seed("first_seed", first_seed)
    return [ChipJob(first_seed + i, mismatch, tune, epochs, backend, gate) for i in range(n_chips)]


def board_accuracy(result: Any, mapped: Any, x: np.ndarray, y: np.ndarray, board_factory: Callable[[], Any]) -> float:
    """The accuracy of ``mapped`` on a board: every sample of ``x`` ``(B, T, C)`` run from
    rest, scored by the trained model's readout on the output counts."""
    from ..hardware.driver import run_samples

    out = run_samples(mapped, np.asarray(x, dtype=np.float32), board_factory, rest_steps=0)  # the virtual board resets
    return result.model.output_accuracy(result.model.readout_counts(out), y)


def float_accuracy(result: Any, x: np.ndarray, y: np.ndarray) -> float:
    """The float accuracy (the study's reference): the trained network in floating-point
    simulation, as the training loop simulates it (its weights on their levels, its
    currents on bias codes), as ``train``'s ``float`` (until session 21 the unrounded
    latent values, which can sit far from the trained network: ``train_pipeline``)."""
    from ..training.jax_trainer import counts_jax

    counts = counts_jax(result.model, result.params, np.asarray(x, dtype=np.float32))
    return result.model.accuracy(counts, y)


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Stages:
    """Runs a chip's stages in turn, timing each; the first failure ends the chip.

    A stage may time parts of itself (:meth:`part`, a tuning strategy's ``stage``): their
    seconds add up under their own names in :attr:`parts` (within the stage's own), and a
    part that raises is the failed stage."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = {}
        self.error: Optional[str] = None
        self.failed: Optional[str] = None
        self.parts: Dict[str, float] = {}
        self.cpu: Dict[str, float] = {}
        """CPU seconds of the process in each stage and part (the wall times' load-free twin)."""
        self._failed_part: Optional[str] = None

    def run(self, stage: str, fn: Callable[[], Any]) -> Any:
        if self.error is not None:
            return None
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 (any failure of a chip is recorded in its outcome)
            self.error, self.failed = _error_text(err), self._failed_part or stage
            return None
        finally:
            self.seconds[stage] = time.perf_counter() - start
            self.cpu[stage] = time.process_time() - cpu

    def part(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` as a timed part of the running stage; its errors pass (to :meth:`run`)."""
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn()
        except Exception:
            self._failed_part = self._failed_part or name
            raise
        finally:
            self.parts[name] = self.parts.get(name, 0.0) + time.perf_counter() - start
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


GATE_SAMPLES = 256
"""Tuning samples the gate (:attr:`ChipJob.gate`) runs on a chip's board. 64 (the board
check's) let a chip at 92 % on the test set through at 95 % or more on its samples
(rate-frequency, session 15: the accuracy of 64 samples at 92 % has a standard error of
3.4 points); 256 halve that for about 10 s more per chip."""


def gate_check(result: Any, mapped: Any, x_tune: np.ndarray, y_tune: np.ndarray,
               board_factory: Callable[[], Any], margin: float = YIELD_MARGIN) -> Dict[str, Any]:
    """Whether a chip needs tuning (:attr:`ChipJob.gate`): the trained configuration's
    accuracy on the chip's board and the float accuracy, both on the last
    :data:`GATE_SAMPLES` tuning samples (never the test set).

    Returns:
        ``{"samples", "untuned", "float", "tune"}``: ``tune`` is whether the board's
        accuracy is more than ``margin`` below the float one.
    """
    x, y = _last_tuning_samples(x_tune, y_tune, GATE_SAMPLES)
    untuned = board_accuracy(result, mapped, x, y, board_factory)
    reference = float_accuracy(result, x, y)
    return {"samples": len(y), "untuned": untuned, "float": reference, "tune": bool(untuned < _yield_floor(reference, margin))}


def run_chip(job: ChipJob, inputs: StudyInputs) -> ChipOutcome:
    """Draw the chip, deploy the trained network on it, tune it (``job.tune``) and deploy again.

    Any failure of a stage is recorded in the outcome (the later stages do not run);
    ``KeyboardInterrupt`` passes.
    """
    from ..hardware import ChipProfile, VirtualBoard

    net = prepared(inputs)
    stages = _Stages()
    profile = stages.run("draw", lambda: ChipProfile.draw(job.seed, mismatch=job.mismatch))
    factory = lambda: VirtualBoard(backend=job.backend, profile=profile)  # noqa: E731
    untuned = stages.run("deploy", lambda: board_accuracy(net.result, net.mapped, inputs.x_test, inputs.y_test, factory))
    tuned, details = None, {}
    tuner = _TUNERS[job.tune]
    if tuner is not None and job.gate:
        gate = stages.run("gate", lambda: gate_check(net.result, net.mapped, inputs.x_tune, inputs.y_tune, factory))
        if gate is not None:
            details = {"gate": gate}
            if not gate["tune"]:  # within the margin: the trained configuration stays (the board is deterministic)
                tuner, tuned = None, untuned
    if tuner is not None:
        context = TuneContext(job, net, profile, factory, inputs.x_tune, inputs.y_tune, stages.part)
        mapped = stages.run("tune", lambda: tuner(context))
        tuned = stages.run("deploy_tuned", lambda: board_accuracy(net.result, mapped, inputs.x_test, inputs.y_test, factory))
        details = {**details, **context.details, **({"seconds": stages.parts} if stages.parts else {})}
    details = {**details, "cpu_seconds": stages.cpu}
    return ChipOutcome(job.seed, job.mismatch, job.tune, untuned, tuned, stages.seconds, stages.error, stages.failed, _worker(), details)


# --- the distribution -------------------------------------------------------------------------


def yield_interval(good: int, chips: int, z: float = 1.96) -> Tuple[float, float]:
    """The 95 % Wilson score interval (``z`` = 1.96) of a yield measured as ``good`` of
    ``chips`` simulated chips: where the yield of the population of chips the measured ones
    were drawn from lies. With 16 chips (``train --quick``) it is wide: 14 of 16 (88 %) is
    64-97 %, so a target of 90 % is neither met nor missed by one run's count.

    Raises:
        ParameterValueError: ``chips`` is not an integer >= 1, or ``good`` not in ``0..chips``.
    """
    chips = integer("chips", chips, low=1)
    good = integer("good", good, low=0, high=chips)
    p, zz = good / chips, z * z
    centre = (p + zz / (2 * chips)) / (1 + zz / chips)
    half = z * math.sqrt(p * (1 - p) / chips + zz / (4 * chips * chips)) / (1 + zz / chips)
    low = 0.0 if good == 0 else max(0.0, centre - half)  # exact at the ends, where rounding leaves 1 - 1e-16
    return low, 1.0 if good == chips else min(1.0, centre + half)


def distribution(values: Sequence[Optional[float]], reference: float, margin: float = YIELD_MARGIN) -> Dict[str, Any]:
    """Mean, worst, best and yield of chip accuracies (``None``: a chip not measured, which
    counts against the yield and is left out of mean, worst and best).

    Returns:
        ``{"mean", "worst", "best", "yield", "yield_interval", "measured", "chips"}``:
        ``yield`` is the fraction of all chips within ``margin`` of ``reference``,
        ``yield_interval`` its 95 % interval ``[low, high]`` from their count
        (:func:`yield_interval`); ``mean``, ``worst`` and ``best`` are ``None`` when no chip
        was measured, ``yield`` and ``yield_interval`` when there is no chip.
    """
    measured = np.array([v for v in values if v is not None], dtype=float)
    n = len(values)
    good = int(np.sum(measured >= _yield_floor(reference, margin)))
    some = measured.size > 0
    return {
        "mean": float(measured.mean()) if some else None,
        "worst": float(measured.min()) if some else None,
        "best": float(measured.max()) if some else None,
        "yield": good / n if n else None,
        "yield_interval": list(yield_interval(good, n)) if n else None,
        "measured": int(measured.size),
        "chips": n,
    }


def summarize(outcomes: Sequence[ChipOutcome], reference: float, margin: float = YIELD_MARGIN) -> Dict[str, Any]:
    """The study's summary: the float accuracy, the distribution before tuning and (if any
    chip was tuned) after, (if any chip was checked on its board) after the check
    (:attr:`ChipOutcome.checked`), the chips that failed (seed, stage, error) and, with the
    gate (:attr:`ChipJob.gate`), how many chips it checked and how many it sent to tuning."""
    tuned = any(o.tune != "none" for o in outcomes)
    checked = any("board_check" in o.details for o in outcomes)
    gated = [o.details["gate"]["tune"] for o in outcomes if "gate" in o.details]
    return {
        "float": reference,
        "margin": margin,
        "untuned": distribution([o.untuned for o in outcomes], reference, margin),
        "tuned": distribution([o.tuned for o in outcomes], reference, margin) if tuned else None,
        "checked": distribution([o.checked for o in outcomes], reference, margin) if checked else None,
        "failed": [{"seed": o.seed, "stage": o.failed_stage, "error": o.error} for o in outcomes if not o.ok],
        "gate": {"checked": len(gated), "tuned": int(sum(gated))} if gated else None,
    }
