"""``rockpool-dynapse2 train``: a user's data set -> a trained, deployed network, measured.

:func:`run_training` sizes a network for the data (:func:`size_network`), trains it with
the training library (mismatch injection and the chip's constraints in the loop), and
measures its test accuracy at every stage:

* ``float``: the trained network in floating-point simulation, as the training loop
  simulates it (weights on 16 levels per core, currents on bias codes, the nominal chip):
  the network the loss was minimised on, the one the ``mismatch`` chips are copies of and
  the reference of their mean and yield. The chip's constraints are trained in, so this
  is the network the training made (until session 21, ``as_trained``);
* ``unrounded``: the latent values the training loop rounds in its forward pass (until
  session 21, ``float``), a diagnostic: the loss never sees them unrounded, so each keeps
  whatever value the straight-through gradient left it within its rounding interval
  (weights gather at the interval's edges, and a weight below half its core's smallest
  level, 0 on the chip, keeps its start; ``rounding`` in ``results.json`` says how many);
  summed over many inputs, as with several spikes per step, that can take the unrounded
  network far from the trained one (session 22's held-out ``dense`` task: 33 % against
  91 %), which is why it is not the reference;
* ``quantized``: what the chip holds (currents on bias codes, 16 weight levels per core,
  64 synapses per neuron), simulated from the chip-exact network spec
  (:func:`~rockpool_dynapse2.mapping.trained.spec_from_training`);
* ``mismatch``: that network on simulated chips with frozen mismatch, per deviation:
  mean, worst chip and every chip;
* ``board``: the configuration (``config_from_specification``) run on a board (the
  virtual board by default) through ``DynapseSamna``, the test set sent as events.

It writes ``results.json`` (the keys of :data:`RESULT_KEYS`, fractions in 0..1), the
configuration with its class map (``config.json.gz``, gzip-compressed: about 0.75 MB per
chip instead of 50 MB; :meth:`~rockpool_dynapse2.placement.MappedConfiguration.load`
reads it), the trained network (``network.npz``, reloadable with
:func:`~rockpool_dynapse2.training.load_parameters`), the test raster and labels
(``x_test.npy``, ``y_test.npy``: ``deploy`` runs at once) and plots.

Its stages are functions the demo (:mod:`.demo`) runs too, on a built-in task, once with
and once without injection: :func:`build_model`, :func:`train_model` (with
:func:`epoch_lines` for the log), :func:`measure_simulated`, :func:`write_files` and
:func:`measure_board`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..chip import GEOMETRY
from ..errors import ParameterValueError, UnknownParameterError
from ..parameters.validate import choice, flag, integer, real_number
from ..training import (LOGITS, ChipModel, Connectivity, NetworkLayout, TrainResult, TrainSettings, connectivity, logit_scale,
                        margin_ratio, save_parameters)
from .tasks import Task

__all__ = [
    "TrainJob",
    "RESULT_KEYS",
    "REST_STEPS",
    "EXCITATORY_FRACTION",
    "OUTPUT_MIN_RATE",
    "BATCH_SIZE",
    "QUICK_BATCH_SIZE",
    "SIDE_BY_SIDE_TAUS",
    "SIDE_BY_SIDE_DRIVE",
    "INJECT_RAMP_SHARE",
    "READOUT_START",
    "MARGIN_RATIO",
    "MARGIN_ACCURACY",
    "CONTINUE_LR_SHARE",
    "continued_settings",
    "size_network",
    "initial_input_scale",
    "build_model",
    "describe",
    "epoch_lines",
    "train_model",
    "SimulatedMeasures",
    "measure_simulated",
    "chip_figures",
    "interval_text",
    "learnt_little",
    "robust",
    "mismatch_accuracies",
    "rounded_away",
    "board_samples",
    "board_outputs",
    "measure_board",
    "write_files",
    "task_summary",
    "schedule",
    "training_summary",
    "hints",
    "results_hints",
    "gradient_peak",
    "jsonable",
    "run_training",
]

RESULT_KEYS = ("float", "unrounded", "quantized", "mismatch", "mismatch_calibrated", "board")
"""The keys of ``results.json``'s ``"accuracy"``."""

CALIBRATION_SAMPLES = 100
"""Unlabelled training inputs each simulated chip's readout calibration is measured on
(``mismatch_calibrated``; :meth:`~rockpool_dynapse2.training.ChipModel.calibrate_readout`)."""

REST_STEPS = 200
"""Steps without input before each sample on a real board (200 ms at 1 ms: ten membrane time constants)."""

INPUT_SYNAPSES = 40
"""Input synapses a hidden neuron gets on average (of its 64 CAM entries) when the data
has more channels: the rest are left for the recurrent ones."""

INITIAL_DRIVE = 0.25
"""Mean net input weight per time step (units of ``Iscale``) a hidden neuron receives at
the start: the initial input weights are scaled to it from the data's mean spike rate
and the neuron's input synapses (too strong a drive saturates the neurons, and training
then starts slowly or not at all; measured on rate-frequency with 32 and 64 channels).
The scale is set for :data:`DRIVE_SIGN_MIX` of the weights excitatory; the signs are then
drawn with :attr:`TrainJob.excitatory_fraction` (a balanced start keeps the magnitudes)."""

DRIVE_SIGN_MIX = 0.8
"""The excitatory fraction :data:`INITIAL_DRIVE` is reached at (the input weights' scale is
computed for it, whatever share of them is then drawn excitatory)."""

EXCITATORY_FRACTION = 0.5
"""Share of the initial weights ``train`` draws excitatory (AMPA), the rest inhibitory
(GABA): balanced, so a neuron's mean net drive starts near zero and its spike count
follows what its input does. A DPI neuron's rate grows about with the logarithm of its
drive (100 times the weight: 7 times the rate); with 80 % excitatory weights the input's
background noise alone drove the neurons to a regular 40-45 Hz, a 20 ms burst of 7.5
times that input raised it by a fifth, and the output groups fired alike (ties). See
``docs/training.md``, "A start the gradient can use"."""

OUTPUT_MIN_RATE = 4.0
"""``min_rate`` of the networks ``train`` builds: each output neuron fires at least this
many spikes per sample on average, so the groups' mean counts have the resolution to
differ (with 1, a balanced start left many output neurons silent and samples tied)."""

BATCH_SIZE = 16
"""Samples per training step of ``train``: with 600 samples, 60 epochs are about 2000 Adam
steps; batches of 64 gave 500, too few for the timing tasks (beat anomaly: 46 % after 20
epochs against 94 % with batches of 16 and 30 epochs)."""

QUICK_BATCH_SIZE = 8
"""Samples per training step of ``train --quick``: 25 epochs (its length until session 16)
of 600 samples are about 1900 Adam steps, as many as 60 epochs of :data:`BATCH_SIZE`, for 2-16 % more CPU than
batches of 16 (a step of 8 simulates half the samples of one of 16, but each time step of a
step has a cost whatever its batch: 340 against 294 s of CPU on 600 x 500 x 64,
``docs/benchmarks.md``). Measured at seeds 0 and 1 (``docs/results.md``, "``--quick`` on batches of 8"): burst
detection 83-85 -> 99.8 % float and every target met where none or one was; rate-frequency,
EMG gestures and frozen noise keep every target; beat anomalies fall from 98.5-99.2 to
84-88 % float (their 30 % targets missed either way)."""


QUICK_EPOCHS = 40
"""Epochs of ``train --quick``. Session 16: 40 on :data:`QUICK_WORKERS` threads take about
the wall time 25 took on one (an epoch about two thirds of its one-thread time on two
cores), and at seed 0 burst detection gains its 30 % yield (88 -> 94 %) and beat anomalies
their float target (88 -> 99 %); rate-frequency, EMG gestures and frozen noise keep every
target (``docs/results.md``, "``--quick`` on two cores: 40 epochs")."""

QUICK_TORCH_EPOCHS = 25
"""Epochs of ``train --quick --backend torch``: its length before session 16. The 15 extra
epochs of JAX's :data:`QUICK_EPOCHS` are paid for by a second thread, which torch's loop
does not take (``--workers``); at 40 a torch ``--quick`` run would take 60 % longer (its
25 compiled epochs took about 10 minutes here)."""

QUICK_WORKERS = 2
"""Threads of ``train --quick`` (JAX; ``TrainJob.workers``): the issue's machine has two
cores. A fixed number, not the machine's core count, so that a run splits its steps the
same way, and gives the same numbers, on any machine (on one core it is slower, not
different)."""

SIDE_BY_SIDE_TAUS = (0.01, 0.05, 0.15)
"""The AMPA and GABA time constants (s) the default network's three hidden cores start
from, side by side (:func:`size_network`): a fast, a middle and a slow core, so that a
memory of 100-300 ms (temporal XOR) is within reach of the gradient (one 10-ms core left
it at chance). See ``docs/results.md``, "The default start: three hidden cores side by side"."""

SIDE_BY_SIDE_DRIVE = 0.025
"""The initial drive (:data:`INITIAL_DRIVE`'s meaning) of the default network's hidden
cores side by side: a tenth of the single population's, which starts the neurons near
their threshold, where one can combine two bursts (temporal XOR learned from there)."""

INJECT_RAMP_SHARE = 1 / 3
"""The share of the epochs over which ``train``'s injected mismatch grows to its whole by
default (``TrainJob.inject_ramp`` not given: 20 of 60 epochs, 13 of ``--quick``'s 40). With
the whole deviation from the first step the network fits each step's random chips instead
of the task (temporal XOR stayed at chance); ramped, it first finds a solution on
near-nominal chips, then learns to keep it on mismatched ones (``docs/results.md``, "The
default injection schedule and readout window")."""

READOUT_START = 0.0
"""``train``'s default readout window (``TrainJob.readout_start`` not given): the whole
sample. The last half (``--readout-start 0.5``) is what temporal XOR needs (77 -> 96 % as
trained at 60 epochs, with the injection ramp), and with the ramp it kept or raised every
built-in task at 60 epochs; but with ``--quick``'s 25 epochs it cost beat anomalies 11
points of float accuracy and rate-frequency's 30 % yield fell from 100 to 88 %
(``docs/results.md``, "The default injection schedule and readout window"): not a
default until it is measured to help at both lengths."""

MARGIN_RATIO = 2.0
"""``train``'s default relative margin (``TrainJob.margin_ratio`` not given;
``TrainSettings.margin_ratio``) where the job injects mismatch with a ramp of more than one
epoch: each sample's loss gains a hinge where the right output group's ``1 + s`` is less than
twice the best other's, trained from the ramp's end (``TrainSettings.margin_from``), once
the network has learnt its task on the counts. Without injection or a ramp the default is
0 (off): asked from the first step, the margin cost held-out tasks the network had not yet
learnt their float accuracy (session 27). Sessions 27-28, ``--quick``, seeds 0-2
(``docs/results.md``, "The margin from the injection ramp's end"): learnt networks more
robust on 64 fresh chips; every held-out task the network learns as accurate or more, and
more robust; temporal XOR, still learning at the ramp's end, less accurate."""

MARGIN_ACCURACY = 0.5
"""``train``'s default share of the way from chance to every sample right that the
validation accuracy must reach before the steps ask for the relative margin
(``TrainJob.margin_accuracy`` not given; ``TrainSettings.margin_accuracy``; 0: no wait):
half (67 % on 3 classes, 75 % on 2). Session 29, ``--quick`` (``docs/results.md``, "The
margin waits for the task to be learnt"): temporal XOR at seed 2, still near chance at the
ramp's end, kept its float accuracy (58.2 % with the margin from the ramp's end, 73.7 %
waiting, as without a margin); the held-out interval task, learnt a few epochs after the
ramp, took the margin from there (float 98.5 -> 97.7 % and 95.2 -> 96.0 % at seeds 0 and 2,
30 % means 1.5-2.7 points lower, above the margin off); every built-in run that had learnt
its task by the ramp's end trains exactly as before."""

CONTINUE_LR_SHARE = 0.3
"""The share of the run's peak learning rate that ``train --extend E``'s continuation trains
at (its own warm-up and cosine decay). Session 29 (``benchmarks/extend_run.py``,
``docs/results.md``, "The margin waits for the task to be learnt"): 20 epochs more at 0.3
raised every figure of three late-learnt held-out runs (30 % means +7 to +13 points) and took
beat anomalies at seed 2 to every target (yield 83 -> 91 % on 64 chips)."""

KEEP_TOLERANCE = 0.01
"""``train``'s default tie tolerance of the kept epoch (``TrainJob.keep_tolerance`` not
given; ``TrainSettings.keep_tolerance``): a validation loss within 0.01 nats of the lowest
is a tie, and the later epoch, trained longer on the injected chips, is kept. Session 22,
``--quick`` (``docs/results.md``, "The kept epoch among ties"): where the validation loss
falls to about 0 the lowest is noise. Of eight runs the kept epoch moved to the last on
five: three more robust at 30 % (rate-frequency seed 0: yield 94 -> 100 %; beat anomalies
seed 0: 50 -> 62 %; the held-out coincidence task seed 2: 88 -> 94 %, every target), two
alike within a chip of 16 (burst detection seed 0, the held-out interval task seed 2); on
three it stayed; no run lost a target."""


@dataclass(frozen=True)
class TrainJob:
    """What ``rockpool-dynapse2 train`` does (see ``docs/cli.md``).

    Attributes:
        backend: ``"jax"`` or ``"torch"``: the training loop.
        quick: fewer epochs and chips (a few minutes on a laptop CPU).
        hidden: sizes of the hidden populations (default: :func:`size_network`'s, three
            hidden cores side by side unless ``parallel`` is ``False``).
        per_class: output neurons per class (default: :func:`size_network`'s).
        epochs: training epochs (default: 60, quick: :data:`QUICK_EPOCHS`, with torch
            :data:`QUICK_TORCH_EPOCHS`).
        seed: seed of everything random.
        inject: train with mismatch injection.
        deviations: mismatch levels of the Monte-Carlo evaluation.
        n_chips: simulated chips per deviation (default: 64, quick: 16).
        board_samples: test samples sent to the board (default: all; quick: 100).
        compile: compile torch's time loop (``torch.compile``).
        workers: threads that simulate each training step's chips in parallel (JAX;
            ``train_jax``'s ``workers``: the same step up to the rounding of a sum, about
            1.5x faster on two cores); default, :attr:`n_workers`: 1, ``quick`` with JAX
            :data:`QUICK_WORKERS`. Torch threads its own operations
            (``torch.set_num_threads``): more than 1 is refused there.
        batch_size: samples per training step (default: :data:`BATCH_SIZE`, quick:
            :data:`QUICK_BATCH_SIZE`).
        learning_rate: Adam's peak learning rate (``TrainSettings.learning_rate``; warm-up,
            then a cosine decay over the run; default, :attr:`peak_learning_rate`:
            ``TrainSettings``'s 0.01).
        chips_per_step: mismatched chips per training step (default: 8, quick: 4).
        average: the decay per step of the moving average of the trained quantities that is
            validated, kept and deployed (``TrainSettings.average``; default, :attr:`decay`:
            0, no average).
        inject_ramp: with injection, the epochs over which the injected mismatch grows to
            its whole (``TrainSettings.inject_ramp``; default, :attr:`ramp_epochs`:
            :data:`INJECT_RAMP_SHARE` of the epochs; 0: the whole from the first step).
        excitatory_fraction: share of the initial weights that are excitatory (default:
            :data:`EXCITATORY_FRACTION`, balanced; 0.8 was the default before).
        min_rate: the least mean spike count per sample of an output neuron (default:
            :data:`OUTPUT_MIN_RATE`).
        readout_start: the readout window: classes are read from the output spikes at or
            after this fraction of the sample (``TrainSettings.readout_start``; default,
            :attr:`readout_fraction`: :data:`READOUT_START`; 0: all of it).
        parallel: the hidden populations side by side (each fed by the input, each reaching
            the output and the others; ``NetworkLayout.layered(parallel=True)``) rather than
            in a chain. ``None`` (the default): side by side when ``hidden`` is not given
            (the default network, :attr:`side_by_side`), else a chain as given. ``False``
            without ``hidden``: the single hidden population of sessions 9 and before.
        hidden_taus: the synaptic time constants (s) each hidden population's cores start
            from, AMPA and GABA alike (one per hidden population; default:
            :data:`SIDE_BY_SIDE_TAUS` for the default network, else the operating point's
            10 ms for all); trained from there as before.
        initial_drive: the mean net input weight per step a hidden neuron starts with
            (:func:`initial_input_scale`; default, :attr:`drive`: :data:`SIDE_BY_SIDE_DRIVE`
            for the default network, else :data:`INITIAL_DRIVE`). A smaller drive starts the
            neurons nearer their threshold (temporal XOR: ``docs/results.md``).
        logits: what the loss's softmax sees of each output group's mean count
            (``TrainSettings.logits``; default ``TrainSettings``' ``"counts"``, their
            difference; ``"log"``: their ratio, ``docs/results.md``).
        temperature: the scale of the logits (``TrainSettings.temperature``; default:
            4 for ``"log"``, 1 for ``"counts"``).
        margin_ratio: the ratio the loss asks of the right output group's ``1 + s`` over
            the best other's, as a hinge added to each sample's loss
            (``TrainSettings.margin_ratio``; default, :attr:`ratio`: :data:`MARGIN_RATIO` with
            injection and a ramp of more than one epoch, else 0, off).
        margin_accuracy: the share of the way from chance to every sample right that the
            validation accuracy must reach before the steps ask for the margin
            (``TrainSettings.margin_accuracy``; default, :attr:`margin_share`:
            :data:`MARGIN_ACCURACY`).
        extend: epochs more after the scheduled ones, continuing from the kept epoch at the
            whole injected deviation with the margin (:func:`continued_settings`; default
            0: none). The results count them with the run's epochs.
        level_pull: the fraction of the way each weight's unrounded value moves to its
            level after every step (``TrainSettings.level_pull``; default, :attr:`pull`:
            ``TrainSettings``' 0).
        keep_tolerance: validation losses within this much (nats) of the lowest count as
            ties and the later epoch is kept (``TrainSettings.keep_tolerance``; default,
            :attr:`tolerance`: :data:`KEEP_TOLERANCE`; 0: the lowest, as before session 22).
        feedback_gradient: the share of the membrane's positive feedback factor's
            derivative the backward pass keeps (``TrainSettings.feedback_gradient``;
            default, :attr:`feedback_share`: ``TrainSettings``' 1, the exact derivative).
        chip_clip: with injection, each chip's gradient clipped before the sum to this
            multiple of the step's median chip's gradient per unit of loss, times its own
            loss (``TrainSettings.chip_clip``; default,
            :attr:`chip_bound`: ``TrainSettings``'; 0: off).
        validation_chips: with injection, pick the kept epoch by the validation loss
            averaged over this many mismatched chips at the whole deviation, drawn once
            (``TrainSettings.validation_chips``; default, :attr:`validation_chip_count`:
            ``TrainSettings``' 0, the nominal chip).
    """

    backend: str = "jax"
    quick: bool = False
    hidden: Optional[Tuple[int, ...]] = None
    per_class: Optional[int] = None
    epochs: Optional[int] = None
    seed: int = 0
    inject: bool = True
    deviations: Tuple[float, ...] = (0.2, 0.3)
    n_chips: Optional[int] = None
    board_samples: Optional[int] = None
    compile: bool = False
    workers: Optional[int] = None
    batch_size: Optional[int] = None
    learning_rate: Optional[float] = None
    chips_per_step: Optional[int] = None
    average: Optional[float] = None
    inject_ramp: Optional[int] = None
    excitatory_fraction: float = EXCITATORY_FRACTION
    min_rate: float = OUTPUT_MIN_RATE
    readout_start: Optional[float] = None
    parallel: Optional[bool] = None
    hidden_taus: Optional[Tuple[float, ...]] = None
    initial_drive: Optional[float] = None
    logits: Optional[str] = None
    temperature: Optional[float] = None
    margin_ratio: Optional[float] = None
    margin_accuracy: Optional[float] = None
    extend: Optional[int] = None
    level_pull: Optional[float] = None
    keep_tolerance: Optional[float] = None
    feedback_gradient: Optional[float] = None
    chip_clip: Optional[float] = None
    validation_chips: Optional[int] = None

    def __post_init__(self) -> None:
        if self.backend not in ("jax", "torch"):
            raise UnknownParameterError("--backend", self.backend, ("jax", "torch"))
        self._check_counts()
        if self.logits is not None:
            object.__setattr__(self, "logits", choice("--logits", self.logits, LOGITS))
        if self.hidden is not None:
            hidden = tuple(self.hidden)
            if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
                raise ParameterValueError("--hidden", "population sizes >= 1", hidden)
            object.__setattr__(self, "hidden", hidden)
        self._check_reals()
        for d in self.deviations:
            if not (np.isfinite(d) and 0 <= d <= 1):
                raise ParameterValueError("--deviations", "fractions in [0, 1] (0.3 for 30 %)", d)
        self._check_injected_only()
        self._check_margin_only()
        object.__setattr__(self, "excitatory_fraction", real_number("excitatory_fraction", self.excitatory_fraction, low=0.0, high=1.0))
        object.__setattr__(self, "min_rate", real_number("min_rate", self.min_rate, low=0.0))
        if self.parallel is not None:
            object.__setattr__(self, "parallel", flag("--parallel", self.parallel))
        self._check_hidden_taus()

    def _check_counts(self) -> None:
        """The optional counts (``None``: the default) are integers >= 1 (``inject_ramp`` and
        ``validation_chips`` >= 0); torch trains on one thread of ours (``workers``)."""
        for name, (option, low) in _OPTIONAL_COUNTS.items():
            if getattr(self, name) is not None:
                object.__setattr__(self, name, integer(option, getattr(self, name), low=low))
        if self.backend == "torch" and self.n_workers > 1:
            raise ParameterValueError("--workers", "1 with --backend torch (torch threads its own operations: torch.set_num_threads)", self.workers)

    def _check_reals(self) -> None:
        """The optional real numbers (``None``: the default) are in their bounds
        (:data:`_OPTIONAL_REALS`); a ``margin_ratio`` is one (``training.margin_ratio``: 0, off, or above 1)."""
        for name, bounds in _OPTIONAL_REALS.items():
            if getattr(self, name) is not None:
                object.__setattr__(self, name, real_number(f"--{name.replace('_', '-')}", getattr(self, name), **bounds))
        if self.margin_ratio is not None:
            object.__setattr__(self, "margin_ratio", margin_ratio("--margin-ratio", self.margin_ratio))

    def _check_injected_only(self) -> None:
        """The options that act on the injected chips are refused without injection, where
        the training loop would ignore them."""
        if self.inject:
            return
        for name, what in (("validation_chips", "the validation chips are drawn at the injected deviation"),
                           ("chip_clip", "it clips the injected chips' gradients")):
            if getattr(self, name):
                raise ParameterValueError(f"--{name.replace('_', '-')}", f"0 or not given with --no-injection ({what})",
                                          getattr(self, name))

    def _check_margin_only(self) -> None:
        """``margin_accuracy`` delays the relative margin: given (and not 0) without one
        (``ratio`` 0), the training loop would ignore it, so it is refused."""
        if self.margin_accuracy and not self.ratio:
            raise ParameterValueError("--margin-accuracy", "0 or not given without a relative margin (it delays the margin "
                                      "that --margin-ratio, or the default with injection and a ramp, asks for)", self.margin_accuracy)

    def _check_hidden_taus(self) -> None:
        """``hidden_taus``: positive seconds, one per hidden population (``--hidden``)."""
        if self.hidden_taus is None:
            return
        if not isinstance(self.hidden_taus, (list, tuple)):
            raise ParameterValueError("--hidden-taus", "a list of time constants (s), one per hidden population", self.hidden_taus)
        taus = tuple(real_number(f"--hidden-taus[{k}]", t, low=0.0, low_open=True, unit="s") for k, t in enumerate(self.hidden_taus))
        n_hidden = len(self.hidden) if self.hidden is not None else _default_populations(self.parallel)
        if len(taus) != n_hidden:
            raise ParameterValueError("--hidden-taus", f"one time constant per hidden population ({n_hidden}, --hidden)", taus)
        object.__setattr__(self, "hidden_taus", taus)

    @property
    def side_by_side(self) -> bool:
        """Whether the job trains the default network: :func:`size_network`'s hidden cores
        side by side (no ``hidden`` given, ``parallel`` not ``False``)."""
        return self.hidden is None and self.parallel is not False

    @property
    def drive(self) -> float:
        """The initial drive the job starts from: ``initial_drive`` if given, else
        :data:`SIDE_BY_SIDE_DRIVE` for the default network, :data:`INITIAL_DRIVE` otherwise."""
        if self.initial_drive is not None:
            return self.initial_drive
        return SIDE_BY_SIDE_DRIVE if self.side_by_side else INITIAL_DRIVE

    @property
    def n_epochs(self) -> int:
        if self.epochs:
            return self.epochs
        if self.quick:
            return QUICK_EPOCHS if self.backend == "jax" else QUICK_TORCH_EPOCHS
        return 60

    @property
    def chips(self) -> int:
        return self.n_chips or (16 if self.quick else 64)

    @property
    def n_batch(self) -> int:
        return self.batch_size or (QUICK_BATCH_SIZE if self.quick else BATCH_SIZE)

    @property
    def peak_learning_rate(self) -> float:
        """The peak learning rate the job trains with: ``learning_rate`` if given, else
        ``TrainSettings``'s default."""
        return TrainSettings.learning_rate if self.learning_rate is None else self.learning_rate

    @property
    def decay(self) -> float:
        """The moving average's decay per step the job trains with: ``average`` if given, else 0."""
        return 0.0 if self.average is None else self.average

    @property
    def n_workers(self) -> int:
        """The threads each training step, and the simulated chips of the mismatch stages,
        run on: ``workers`` if given, else :data:`QUICK_WORKERS` for ``quick`` with JAX, else 1."""
        return self.workers or (QUICK_WORKERS if self.quick and self.backend == "jax" else 1)

    @property
    def n_chips_per_step(self) -> int:
        return self.chips_per_step or (4 if self.quick else 8)

    @property
    def ramp_epochs(self) -> int:
        """The injection ramp the job trains with: ``inject_ramp`` if given, else
        :data:`INJECT_RAMP_SHARE` of the epochs (rounded; 0 without injection)."""
        if self.inject_ramp is not None:
            return self.inject_ramp
        return int(round(self.n_epochs * INJECT_RAMP_SHARE)) if self.inject else 0

    @property
    def loss_logits(self) -> str:
        """The logits the job trains with: ``logits`` if given, else ``TrainSettings``' default."""
        return self.logits or TrainSettings.logits

    @property
    def logit_scale(self) -> float:
        """The temperature the job trains with (``training.logit_scale`` of :attr:`loss_logits`)."""
        return logit_scale(self.loss_logits, self.temperature)

    @property
    def ratio(self) -> float:
        """The relative margin the job's loss asks for: ``margin_ratio`` if given, else
        :data:`MARGIN_RATIO` where the job injects with a ramp of more than one epoch (the
        margin trained from its end), else 0 (off)."""
        if self.margin_ratio is not None:
            return self.margin_ratio
        return MARGIN_RATIO if self.inject and self.ramp_epochs > 1 else 0.0

    @property
    def margin_share(self) -> float:
        """The accuracy the margin waits for: ``margin_accuracy`` if given, else :data:`MARGIN_ACCURACY`."""
        return MARGIN_ACCURACY if self.margin_accuracy is None else self.margin_accuracy

    @property
    def pull(self) -> float:
        """The level pull the job trains with: ``level_pull`` if given, else ``TrainSettings``'."""
        return TrainSettings.level_pull if self.level_pull is None else self.level_pull

    @property
    def tolerance(self) -> float:
        """The kept epoch's tie tolerance: ``keep_tolerance`` if given, else :data:`KEEP_TOLERANCE`."""
        return KEEP_TOLERANCE if self.keep_tolerance is None else self.keep_tolerance

    @property
    def feedback_share(self) -> float:
        """The feedback factor's derivative share: ``feedback_gradient`` if given, else ``TrainSettings``'."""
        return TrainSettings.feedback_gradient if self.feedback_gradient is None else self.feedback_gradient

    @property
    def chip_bound(self) -> float:
        """The per-chip gradient clip: ``chip_clip`` if given, else ``TrainSettings``'."""
        return TrainSettings.chip_clip if self.chip_clip is None else self.chip_clip

    @property
    def validation_chip_count(self) -> int:
        """The mismatched chips that pick the kept epoch: ``validation_chips`` if given, else ``TrainSettings``'."""
        return TrainSettings.validation_chips if self.validation_chips is None else self.validation_chips

    @property
    def readout_fraction(self) -> float:
        """The readout window the job trains with: ``readout_start`` if given, else
        :data:`READOUT_START`."""
        return READOUT_START if self.readout_start is None else self.readout_start

    def resolved(self) -> Dict[str, Any]:
        """The job's fields with every default it resolves (the initial drive, the ramp, the
        readout window, the batch size, the learning rate, the chips per step) filled in:
        ``results.json``'s ``"job"``."""
        return {**asdict(self), "initial_drive": self.drive, "inject_ramp": self.ramp_epochs,
                "readout_start": self.readout_fraction, "batch_size": self.n_batch,
                "learning_rate": self.peak_learning_rate, "chips_per_step": self.n_chips_per_step,
                "average": self.decay, "workers": self.n_workers, "logits": self.loss_logits,
                "temperature": self.logit_scale, "margin_ratio": self.ratio, "margin_accuracy": self.margin_share, "level_pull": self.pull, "keep_tolerance": self.tolerance,
                "feedback_gradient": self.feedback_share, "chip_clip": self.chip_bound,
                "validation_chips": self.validation_chip_count, "extend": self.extend or 0}


_OPTIONAL_COUNTS = {"epochs": ("--epochs", 1), "n_chips": ("--chips", 1), "per_class": ("--per-class", 1),
                    "board_samples": ("--board-samples", 1), "batch_size": ("--batch-size", 1),
                    "chips_per_step": ("--chips-per-step", 1), "workers": ("--workers", 1), "inject_ramp": ("--inject-ramp", 0),
                    "validation_chips": ("--validation-chips", 0), "extend": ("--extend", 0)}
"""The option and smallest value of each of :class:`TrainJob`'s optional counts (``None``: the default)."""

_OPTIONAL_REALS = {
    "learning_rate": dict(low=0.0, low_open=True, high=1.0),
    "average": dict(low=0.0, high=1.0, high_open=True),
    "readout_start": dict(low=0.0, high=1.0, high_open=True),
    "initial_drive": dict(low=0.0, low_open=True),
    "temperature": dict(low=float(np.finfo(np.float32).tiny), high=float(np.finfo(np.float32).max)),  # as TrainSettings'
    "level_pull": dict(low=0.0, high=1.0, high_open=True),
    "margin_accuracy": dict(low=0.0, high=1.0),
    "keep_tolerance": dict(low=0.0, high=float(np.finfo(np.float32).max)),  # as TrainSettings'
    "feedback_gradient": dict(low=0.0, high=1.0),
    "chip_clip": dict(low=0.0, high=float(np.finfo(np.float32).max)),  # as TrainSettings'
}
"""The bounds of :class:`TrainJob`'s optional real numbers (``None``: the default)."""


def _default_populations(parallel: Optional[bool]) -> int:
    """How many hidden populations the default network has: one per start time constant
    of :data:`SIDE_BY_SIDE_TAUS` side by side, one with ``parallel=False``."""
    return 1 if parallel is False else len(SIDE_BY_SIDE_TAUS)


def size_network(task: Task, hidden: Optional[Sequence[int]] = None, per_class: Optional[int] = None,
                 parallel: Optional[bool] = None, hidden_taus: Optional[Sequence[float]] = None) -> NetworkLayout:
    """A network for a data set: input -> recurrent hidden populations -> output groups.

    Defaults: ``per_class`` 8 output neurons per class up to 8 classes, 4 up to 16, 2 from
    17 on (so the output population fits one core; a group's mean of 8 counts ties less
    often than one of 4); three hidden populations of ``clip(8 K, 32, 128)`` neurons side by
    side, each on its own core, their AMPA and GABA time constants starting at
    :data:`SIDE_BY_SIDE_TAUS` (10, 50 and 150 ms); with ``parallel=False``, one hidden
    population of that size at the operating point's 10 ms (the default before session 10).
    Each hidden neuron is reached by each input channel with probability ``min(1, 40 / C)``
    (about 40 input synapses of its 64), by a quarter of each hidden population, and every
    output neuron by every hidden one (the fan-in limit then keeps 64). Hidden populations
    given as ``hidden`` form a chain, or with ``parallel`` sit side by side (each fed by the
    input, each reaching the output and, with a quarter of its neurons, every hidden
    population); ``hidden_taus`` starts each hidden population's AMPA and GABA time
    constants (s) at its own value.
    """
    K, C = task.n_classes, task.x_train.shape[2]
    if per_class is None:
        per_class = 8 if K <= 8 else 4 if K <= 16 else 2
    if K * per_class > GEOMETRY.neurons_per_core:
        raise ParameterValueError("--per-class", f"at most {GEOMETRY.neurons_per_core // K} for {K} classes (one core of output neurons)", per_class)
    if hidden is None:
        side_by_side = parallel is not False
        hidden = (int(np.clip(8 * K, 32, 128)),) * _default_populations(parallel)
        parallel = side_by_side
        if side_by_side and hidden_taus is None:
            hidden_taus = SIDE_BY_SIDE_TAUS
    starts = None if hidden_taus is None else tuple({"tau_ampa": t, "tau_gaba": t} for t in hidden_taus)
    return NetworkLayout.layered(C, hidden=tuple(hidden), n_classes=K, per_class=per_class,
                                 input_probability=min(1.0, INPUT_SYNAPSES / C), parallel=bool(parallel), starts=starts)


def initial_input_scale(connections: Connectivity, task: Task, excitatory_fraction: float,
                        drive: float = INITIAL_DRIVE) -> float:
    """The standard deviation of the initial input weights that gives the hidden neurons a
    mean net drive of ``drive`` (default :data:`INITIAL_DRIVE`) per step on this data
    (clipped to 0.05..1).

    A weight's magnitude is ``|N(0, s)|`` (mean ``0.8 s``), positive with probability
    ``excitatory_fraction`` ``p``, so the mean net drive is ``0.8 s (2 p - 1)`` times the
    input synapses times the mean spike count per channel and step.
    """
    receives = connections.input.sum(0)
    hidden = receives[receives > 0]
    rate = float(np.mean(task.x_train))
    p = excitatory_fraction
    per_unit = 0.8 * max(2 * p - 1, 0.1) * float(hidden.mean()) * max(rate, 1e-6)
    return float(np.clip(drive / per_unit, 0.05, 1.0))


def build_model(task: Task, job: TrainJob, layout: Optional[NetworkLayout] = None) -> ChipModel:
    """The :class:`~rockpool_dynapse2.training.ChipModel` a job trains on a task: the layout
    (default: :func:`size_network`'s), the synapses drawn with the job's seed, the initial
    input weights scaled to the data (:func:`initial_input_scale`, for :data:`DRIVE_SIGN_MIX`),
    their signs drawn with the job's ``excitatory_fraction``, its ``min_rate``."""
    layout = layout or size_network(task, job.hidden, job.per_class, job.parallel, job.hidden_taus)
    settings = TrainSettings(epochs=job.n_epochs, inject=job.inject, seed=job.seed, dt=task.dt,
                             chips_per_step=job.n_chips_per_step, batch_size=job.n_batch,
                             learning_rate=job.peak_learning_rate,
                             excitatory_fraction=job.excitatory_fraction, min_rate=job.min_rate,
                             readout_start=job.readout_fraction, inject_ramp=job.ramp_epochs, average=job.decay,
                             logits=job.loss_logits, temperature=job.temperature, margin_ratio=job.ratio, margin_accuracy=job.margin_share, level_pull=job.pull,
                             keep_tolerance=job.tolerance, feedback_gradient=job.feedback_share,
                             chip_clip=job.chip_bound, validation_chips=job.validation_chip_count)
    connections = connectivity(layout, settings.seed)
    scale = initial_input_scale(connections, task, DRIVE_SIGN_MIX, job.drive)
    return ChipModel(layout, replace(settings, input_scale=scale), connections)


def describe(task: Task, model: ChipModel, backend: str) -> Tuple[str, str]:
    """Two lines for the log: the data, and the network."""
    layout = model.layout
    pops = ", ".join(f"{p.name} {p.size}" for p in layout.populations)
    data = (f"data {task.name}: {len(task.y_train)} training and {len(task.y_test)} test samples, "
            f"{task.x_train.shape[1]} steps of {task.dt * 1e3:g} ms, {task.x_train.shape[2]} channels, {task.n_classes} classes")
    network = (f"network: {pops} neurons on {layout.n_cores} cores, at most {int(model.connections.fan_in.max())} synapses "
               f"per neuron; backend {backend}")
    return data, network


def epoch_lines(epochs: int, log: Callable[[str], None], every: Optional[int] = None, prefix: str = "") -> Callable[[Any], None]:
    """An ``EpochRecord`` callback that logs the first epoch and every ``every``-th (default:
    a tenth of the run), each as ``prefix`` + :meth:`~rockpool_dynapse2.training.EpochRecord.line`."""
    every = every or max(1, epochs // 10)

    def report(record: Any) -> None:
        if record.epoch == 0 or (record.epoch + 1) % every == 0:
            log(prefix + record.line())

    return report


def train_model(model: ChipModel, task: Task, job: TrainJob, epoch_log: Optional[Callable[[Any], None]] = None) -> TrainResult:
    """Train ``model`` on the task's training set with the job's backend, then, with
    ``job.extend``, continue from the kept epoch (:func:`continued_settings`); ``epoch_log``
    receives every epoch's record, the continuation's counted on."""
    result = _train_with(job, model, task, epoch_log)
    if not job.extend:
        return result
    settings = continued_settings(model.settings, job.extend, learnt=result.margin_epoch is not None)
    offset = len(result.history)
    log = None if epoch_log is None else (
        lambda record: epoch_log(replace(record, epoch=record.epoch + offset, seconds=record.seconds + result.seconds)))
    more = _train_with(job, ChipModel(model.layout, settings, model.connections), task, log, params=result.params)
    return result.continued_by(more)


def _train_with(job: TrainJob, model: ChipModel, task: Task, epoch_log: Optional[Callable[[Any], None]],
                params: Optional[Dict[str, Any]] = None) -> TrainResult:
    """One training run with the job's backend (from ``params``, else the model's start)."""
    if job.backend == "jax":
        from ..training.jax_trainer import train_jax

        return train_jax(model, task.x_train, task.y_train, progress=epoch_log, params=params, workers=job.n_workers)
    from ..training.torch_trainer import train_torch

    return train_torch(model, task.x_train, task.y_train, progress=epoch_log, params=params, compile=job.compile)


def continued_settings(settings: TrainSettings, epochs: int, learnt: bool = True,
                       lr_share: float = CONTINUE_LR_SHARE) -> TrainSettings:
    """The settings ``train --extend`` continues a run with: ``epochs`` epochs at the whole
    injected deviation from the first step (no ramp), the relative margin from the first step
    where the run had begun it (``learnt``; else it waits as the run did), at ``lr_share``
    (default :data:`CONTINUE_LR_SHARE`) of the run's peak learning rate; the rest as the run's."""
    epochs = integer("epochs", epochs, low=1)
    lr_share = real_number("lr_share", lr_share, low=0.0, low_open=True, high=1.0)
    return replace(settings, epochs=epochs, inject_ramp=0, learning_rate=settings.learning_rate * lr_share,
                   margin_accuracy=0.0 if flag("learnt", learnt) else settings.margin_accuracy)


@dataclass(frozen=True)
class SimulatedMeasures:
    """What :func:`measure_simulated` measures of a trained network.

    Attributes:
        accuracy: the test accuracies by stage, as in ``results.json``'s ``accuracy``.
        spec: the chip-exact :class:`~rockpool_dynapse2.mapping.NetworkSpec`.
        rounded_away: :func:`rounded_away`'s shares (``results.json``'s ``rounding.zeroed``).
    """

    accuracy: Dict[str, Any]
    spec: Any
    rounded_away: Dict[str, float]


def measure_simulated(model: ChipModel, result: TrainResult, task: Task, job: TrainJob,
                      log: Callable[[str], None] = print, prefix: str = "") -> SimulatedMeasures:
    """The test accuracy in simulation: ``float`` (the trained network, rounded as the
    training loop rounds), ``unrounded`` (its latent values), ``quantized`` (from the
    chip-exact spec) and ``mismatch``
    (per deviation: mean, worst and every chip), as in ``results.json``; the log also gives
    :func:`rounded_away`'s shares, computed once here and returned with them.
    """
    from ..mapping import dynapsim_net_from_spec
    from ..mapping.trained import spec_from_training
    from ..training.jax_trainer import counts_jax, in_batches

    accuracy: Dict[str, Any] = {}
    accuracy["float"] = model.accuracy(counts_jax(model, result.params, task.x_test), task.y_test)  # the settings' rounding
    unrounded = counts_jax(model, result.params, task.x_test, quantize=False, snap=False)
    accuracy["unrounded"] = model.accuracy(unrounded, task.y_test)
    spec = spec_from_training(result)
    net = dynapsim_net_from_spec(spec, "jax")
    q_counts = in_batches(lambda xb: model.readout_counts(np.asarray(net.reset_state()(xb)[0])), task.x_test)
    accuracy["quantized"] = model.output_accuracy(q_counts[:, spec.output_neurons], task.y_test)  # the net gives every neuron
    log(f"{prefix}test accuracy: float (the trained network, rounded as in the loop) {accuracy['float']:.1%}, "
        f"quantized (what the chip holds) {accuracy['quantized']:.1%}; unrounded (the latent values the loop rounds) "
        f"{accuracy['unrounded']:.1%}")
    away = rounded_away(model, result.params)
    log(f"{prefix}rounding: {away['input']:.0%} of the input and {away['recurrent']:.0%} of the recurrent synapses are "
        "below half their core's smallest weight level (0 on the chip and as trained; the unrounded network keeps them)")
    accuracy["mismatch"], accuracy["mismatch_calibrated"] = {}, {}
    for dev in job.deviations:
        chips, calibrated = mismatch_accuracies(model, result.params, task, dev, job.chips, seed=job.seed + 1, workers=job.n_workers)
        for key, values in (("mismatch", chips), ("mismatch_calibrated", calibrated)):
            accuracy[key][f"{dev:g}"] = chip_figures(values, accuracy["float"])
        raw, cal = accuracy["mismatch"][f"{dev:g}"], accuracy["mismatch_calibrated"][f"{dev:g}"]
        log(f"{prefix}mismatch {dev:.0%} ({job.chips} chips): mean {raw['mean']:.1%}, worst {raw['worst']:.1%}, "
            f"yield {raw['yield']:.0%} ({interval_text(raw)}); with each chip's readout calibrated: mean {cal['mean']:.1%}, worst "
            f"{cal['worst']:.1%}, yield {cal['yield']:.0%}")
    return SimulatedMeasures(accuracy, spec, away)


def chip_figures(chips: Sequence[float], float_accuracy: float) -> Dict[str, Any]:
    """One deviation's entry of ``results.json``'s ``"mismatch"``: ``mean``, ``worst``,
    ``yield`` (the fraction of the chips within :data:`~rockpool_dynapse2.twin.yield_study.YIELD_MARGIN`,
    5 points, of ``float``, the trained network the chips are copies of: the issue's
    definition), ``yield_interval`` (its 95 % interval from the number of chips,
    :func:`~rockpool_dynapse2.twin.yield_study.yield_interval`: a yield measured on 16
    chips is known to about +-20 points) and ``chips`` (every chip's accuracy)."""
    from ..twin.yield_study import distribution

    chips = [float(c) for c in chips]
    of_float = distribution(chips, float_accuracy)
    return {key: of_float[key] for key in ("mean", "worst", "yield", "yield_interval")} | {"chips": chips}


def interval_text(figures: Dict[str, Any]) -> str:
    """A deviation's yield interval, as the log and the summary print it."""
    low, high = figures["yield_interval"]
    return f"95 % interval {low:.0%}-{high:.0%} from {len(figures['chips'])} chips"


def mismatch_accuracies(model: ChipModel, params: Dict[str, Any], task: Task, deviation: float, n_chips: int,
                        seed: int, workers: int = 1) -> Tuple[List[float], List[float]]:
    """The test accuracy of ``n_chips`` simulated chips with frozen mismatch (drawn from
    ``seed``): ``(raw, calibrated)``, one value per chip; ``calibrated`` with each chip's
    readout calibrated on its counts for the first :data:`CALIBRATION_SAMPLES` training
    inputs (their labels unused). The chips run in ``workers`` threads (the same counts).

    Both sets run in one call (the same chips: one seed), in calls of one shape: one
    compilation, where the test set and the calibration set apart compiled three (600
    test samples: 256, 256 and 88 at a time, then 100)."""
    from ..training.jax_trainer import mismatch_counts_jax

    out = model.layout.slice_of(model.layout.output)
    n_test = len(task.x_test)
    calibration = task.x_train[:CALIBRATION_SAMPLES]  # unlabelled training inputs: each chip's readout calibration
    both = mismatch_counts_jax(model, params, np.concatenate([task.x_test, calibration]), deviation, n_chips, seed=seed,
                               workers=workers)
    counts, cal_counts = both[:, :n_test], both[:, n_test:]
    raw = [model.accuracy(c, task.y_test) for c in counts]
    calibrated = [model.output_accuracy(c[:, out], task.y_test, model.calibrate_readout(k[:, out]))
                  for c, k in zip(counts, cal_counts)]
    return raw, calibrated


def rounded_away(model: ChipModel, params: Dict[str, Any]) -> Dict[str, float]:
    """The share of the drawn synapses whose trained weight the chip's 16 levels per core
    round to 0 (below half the core's smallest level), ``{"input", "recurrent"}``; the
    ``float`` stage keeps them, the chip and the training loop do not (with the settings'
    ``quantize`` off, none is)."""
    from ..training.constraints import jax_ops

    view = model.chip_view(jax_ops(), params)
    out = {}
    for key, weights, mask in (("input", view.w_in, model.connections.input), ("recurrent", view.w_rec, model.connections.recurrent)):
        drawn = np.asarray(mask) > 0
        out[key] = float(np.mean(np.asarray(weights)[drawn] == 0)) if drawn.any() else 0.0
    return out


def board_samples(task: Task, job: TrainJob) -> int:
    """How many test samples the board stage sends: ``job.board_samples`` (default: all;
    ``quick``: at most 100)."""
    n = len(task.y_test) if job.board_samples is None else min(job.board_samples, len(task.y_test))
    return min(100, n) if job.quick and job.board_samples is None else n


def board_outputs(
    mapped: Any,
    x: np.ndarray,
    board_factory: Callable[[], Any],
    progress: Callable = lambda it: it,
    rest_steps: Optional[int] = None,
) -> np.ndarray:
    """Run every sample through ``DynapseSamna``; output rasters ``(B, T, n_outputs)``
    (:func:`~rockpool_dynapse2.hardware.driver.run_samples`).

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
    from ..hardware.driver import run_samples

    return run_samples(mapped, x, board_factory, REST_STEPS if rest_steps is None else rest_steps, progress)


class BoardMeasure(NamedTuple):
    """What :func:`measure_board` measures: the ``accuracy``, the output ``raster``
    ``(B, T, n_outputs)`` and each sample's class (``classes``, ``-1``: a tie, as deploy
    prints), read from the raster once."""

    accuracy: float
    raster: np.ndarray
    classes: np.ndarray


def measure_board(model: ChipModel, mapped: Any, x: np.ndarray, y: np.ndarray, board_factory: Callable[[], Any],
                  progress: Callable = lambda it: it) -> BoardMeasure:
    """The :class:`BoardMeasure` of a configuration run on a board (:func:`board_outputs`)
    on inputs ``x`` ``(B, T, C)`` with labels ``y``."""
    out = board_outputs(mapped, x, board_factory, progress)
    counts = model.readout_counts(out)
    return BoardMeasure(model.output_accuracy(counts, y), out, model.output_predict(counts))


def run_training(task: Task, job: TrainJob, out_dir: Path, board_factory: Optional[Callable[[], Any]] = None,
                 log: Callable[[str], None] = print, epoch_log: Optional[Callable[[Any], None]] = None) -> Dict[str, Any]:
    """Train, quantize, map, configure and run on a board; write the files; return the results.

    Args:
        task: the data (a built-in task or :func:`~.data.load_dataset`'s).
        job: the :class:`TrainJob`.
        out_dir: where the files go (created).
        board_factory: opens the board (default: the virtual board of the job's backend).
        log: receives one line per stage.
        epoch_log: receives every epoch's record (default: a line every few epochs to ``log``).

    Returns:
        The content of ``results.json``.
    """
    from ..hardware import board_factory as factory_of
    from ..placement import config_from_specification
    from ..placement.mapped import trained_readout

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    board_factory = board_factory or factory_of("virtual", backend=job.backend)
    start = time.perf_counter()
    model = build_model(task, job)
    data, network = describe(task, model, job.backend)
    log(data)
    log(f"{network}; {schedule(job, model)}")
    result = train_model(model, task, job, epoch_log or epoch_lines(job.n_epochs, log))
    keep_from = model.settings.keep_from
    picked = f" (picked from epoch {keep_from + 1} on, where the injected deviation is whole)" if keep_from else ""
    log(f"trained in {result.seconds:.0f} s; kept epoch {result.best_epoch + 1} of {len(result.history)}{picked}{margin_note(result)}")
    simulated = measure_simulated(model, result, task, job, log)
    accuracy = simulated.accuracy
    mapped = config_from_specification(simulated.spec)
    mapped = trained_readout(mapped, model)  # the class map as output_channels says, the readout window
    files = write_files(out_dir, mapped, result, task, compress=True)
    n_board = board_samples(task, job)
    board = measure_board(model, mapped, task.x_test[:n_board], task.y_test[:n_board], board_factory)
    accuracy["board"] = board.accuracy
    log(f"board: test accuracy {accuracy['board']:.1%} on {n_board} samples")
    files.update(_plots(out_dir, result, accuracy))
    layout = model.layout
    results = {
        "accuracy": accuracy,
        "task": task_summary(task),
        "network": {"populations": {p.name: p.size for p in layout.populations}, "cores": layout.n_cores,
                    "per_class": layout.per_class, "max_fan_in": int(model.connections.fan_in.max()),
                    "output_channels": {str(j): j // layout.per_class for j in range(layout.population(layout.output).size)}},
        "rounding": {"zeroed": simulated.rounded_away},
        "training": training_summary(result, job),
        "board_samples": n_board,
        "board_classes": board.classes.tolist(),  # per sample, -1: a tie (as deploy prints)
        "job": jsonable(job.resolved()),
        "hints": [],
        "files": files,
    }
    results["hints"] = results_hints(results)
    for line in results["hints"]:
        log(f"hint: {line}")
    results["seconds"] = time.perf_counter() - start
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    return results


def task_summary(task: Task) -> Dict[str, Any]:
    """The task's name and sizes, for ``results.json``."""
    return {"name": task.name, "n_train": int(len(task.y_train)), "n_test": int(len(task.y_test)),
            "steps": int(task.x_train.shape[1]), "channels": int(task.x_train.shape[2]), "classes": int(task.n_classes), "dt": task.dt}


def schedule(job: TrainJob, model: ChipModel) -> str:
    """The injection schedule, relative margin and readout window a job trains with, for the log."""
    injection = "without mismatch injection"
    if job.inject:
        ramp = job.ramp_epochs
        grows = f", growing from 0 over the first {ramp} epoch{'s' * (ramp != 1)}" if ramp else ", from the first step"
        injection = f"with mismatch injection ({model.settings.deviation:.0%}{grows})"
    s = model.settings
    if s.margin_ratio:
        since = f" from epoch {s.margin_from + 1}" if s.margin_from else ""
        if s.margin_accuracy:
            since += f" once the validation accuracy reaches {s.margin_bar(model.layout.n_classes):.0%}"
        injection += f"; a margin: the right output group's 1 + s at least {s.margin_ratio:g} times any other's{since}"
    if job.extend:
        injection += (f"; then {job.extend} epoch{'s' * (job.extend != 1)} more from the kept one at the whole deviation "
                      f"and {CONTINUE_LR_SHARE:g} of the learning rate")
    start = job.readout_fraction
    return injection + (f"; classes read from the output spikes after {start:.0%} of each sample" if start
                        else "; classes read from the output spikes of the whole sample")


LATE_BEST_SHARE = 0.9
"""A run whose kept (best) epoch is in the last tenth of its epochs was still learning
when it stopped: :func:`hints` says so (with ``--quick``'s 25 epochs before session 16, beat
anomalies and burst detection kept epoch 24 or 25 and gained 5-10 points of float or 30 % mean with 35
epochs; ``docs/results.md``, "``--quick``: learning more per minute")."""

ROBUST_SHARE = 0.95
"""The issue's robustness target: the mean accuracy at a mismatch deviation at least this
share of ``float``; below it :func:`hints` points at the per-chip readout calibration when
that recovers it."""

YIELD_TARGET = 0.9
"""The issue's yield target: at least this share of the simulated chips within 5 points of
``float`` (``results.json``'s ``"yield"``, :func:`chip_figures`); below it, or below
:data:`ROBUST_SHARE`, where each chip's readout calibration does not recover the mean,
:func:`hints` points at longer training."""


NEAR_CHANCE = 2.0
"""A float accuracy at most this many standard errors above chance (``1 / K`` for ``K``
classes; the standard error of an accuracy of ``1 / K`` on the ``n`` test samples,
``sqrt((1 / K) (1 - 1 / K) / n)``) is not above chance: :func:`hints` then points at the
readout window and longer training (temporal XOR, whose class exists only after its second
burst, stays at chance with the whole sample read and ``--quick``'s 40 epochs;
``docs/results.md``)."""


OVERFIT_GAP = 0.15
"""Training accuracy this far above validation accuracy over a run's last
:data:`GAP_EPOCHS` epochs says the network fits the samples it trains on more than the
task: :func:`hints` then points at the readout window and more data. On the 113 runs of
sessions 10-19 with a validation split the gap was at most 0.06 on each of the 95 that
learnt their task (:data:`LEARNT_LITTLE`) and above 0.15 on six of the 18 that did not (the
held-out ``interval`` task at seed 1: training 60-75 %, validation 30-53 %, whatever the
epochs or injection; its last half read, a gap of 0.01 and 75 % test, with 80 epochs 99 %;
temporal XOR; ``docs/results.md``)."""

GAP_EPOCHS = 3
"""The last epochs over which :func:`fit_gap` averages training minus validation accuracy."""

EXPLODING_GRADIENT = 1e4
"""A training step whose gradient norm passed this had an exploding gradient (the
membrane's positive feedback through the recurrent weights: ``docs/training.md``). A run
trained with the exact derivative (``--feedback-gradient 1``) that did and misses a 30 %
target gets :func:`hints`' advice to keep half of the feedback factor's derivative. Of the
49 runs of sessions 22-24 with the exact derivative whose ``results.json`` this machine
kept, 18 had such steps (peaks of 1.2e4 to 4e10, one not finite). Of the four of them
that learnt and missed a 30 % target, half the derivative took EMG gestures at seed 2
(peak 5e4, 30 % yield 81 %) and ten frozen patterns (4e10, 88 %) to every target (yield
100 %, largest steps 25 and 44), raised the held-out dense input (30 % mean 64.7 -> 72.4 %,
still exploding) and not ten modulation frequencies (75.0 -> 71.3 %); it took the
held-out interval task from 94.7 % to chance (``docs/results.md``)."""

LEARNT_LITTLE = 0.5
"""A float accuracy (the trained network) below ``chance + LEARNT_LITTLE (1 - chance)``
(66.7 % for 3 classes, 75 % for 2) is a network that learnt little of its task:
:func:`hints` then leaves out the mismatch advice (each chip's readout calibration, the
log's logits), which is about keeping what was learnt (on the held-out ``interval`` task at seed 1, 40.5 % float, it pointed at
a calibration that lifted the mean to 40.9 %)."""


def _chance_bound(n_classes: int, n_test: int) -> float:
    """The highest accuracy on ``n_test`` samples that is not above chance (:data:`NEAR_CHANCE`)."""
    chance = 1.0 / n_classes
    return chance + NEAR_CHANCE * float(np.sqrt(chance * (1.0 - chance) / n_test))


def fit_gap(history: Sequence[Any], epochs: int = GAP_EPOCHS) -> Optional[float]:
    """Training minus validation accuracy, averaged over the last ``epochs`` epochs of a
    history (:class:`~rockpool_dynapse2.training.result.EpochRecord` or their dicts) that
    has a validation accuracy on each; None without one (``TrainSettings.validation_fraction`` 0)."""
    last = [r if isinstance(r, dict) else asdict(r) for r in list(history)[-epochs:]]
    if not last or any(r.get("val_accuracy") is None or not np.isfinite(r["val_accuracy"]) for r in last):
        return None  # no validation split (NaN in a record, null in results.json)
    return float(np.mean([r["train_accuracy"] - r["val_accuracy"] for r in last]))


def results_hints(results: Dict[str, Any]) -> List[str]:
    """:func:`hints` from a ``results.json``'s ``accuracy`` (with each level's yield),
    ``task``, ``training`` and ``job``, as ``train`` writes them (the settings a run written
    before a setting existed lacks take their former defaults). ``--quick``'s batches are
    those of a ``--quick`` job whose batch size is :data:`QUICK_BATCH_SIZE`."""
    training, settings, job = results["training"], results["training"]["settings"], results.get("job", {})
    return hints(training["best_epoch"], training["epochs_run"], results["accuracy"],
                 epochs_given=job.get("epochs") is not None,
                 quick_batch=bool(job.get("quick")) and job.get("batch_size") in (None, QUICK_BATCH_SIZE),
                 n_classes=results["task"]["classes"], n_test=results["task"]["n_test"],
                 readout_start=settings.get("readout_start", 0.0), logits=settings.get("logits", "counts"),
                 gap=fit_gap(training["history"]), inject=settings.get("inject", True),
                 gradient_peak=gradient_peak(training["history"]),
                 feedback_gradient=settings.get("feedback_gradient", 1.0), margin_ratio=settings.get("margin_ratio", 0.0))


def gradient_peak(history: Sequence[Any]) -> Optional[float]:
    """The largest gradient norm of a history's steps (its epochs'
    :class:`~rockpool_dynapse2.training.result.EpochRecord` or their dicts; a non-finite
    one counts); None without any."""
    peaks = [r.get("grad_norm_max") if isinstance(r, dict) else r.grad_norm_max for r in history]
    peaks = [float(p) for p in peaks if p is not None and not np.isnan(p)]
    return max(peaks) if peaks else None


def hints(best_epoch: int, epochs_run: int, accuracy: Dict[str, Any], epochs_given: bool = False,
          quick_batch: bool = False, n_classes: Optional[int] = None, n_test: int = 0,
          readout_start: float = 0.0, logits: str = "counts",
          gap: Optional[float] = None, inject: bool = True, gradient_peak: Optional[float] = None,
          feedback_gradient: float = 1.0, margin_ratio: float = 0.0) -> List[str]:
    """What a user could do next, from a run's figures: one sentence per finding, logged
    after the board stage and kept in ``results.json``'s ``"hints"`` (empty: nothing to say).

    * the kept epoch among the last tenth of the run (:data:`LATE_BEST_SHARE`): it was
      still learning, so more epochs (``--epochs``) may lift it;
    * a deviation's mean below :data:`ROBUST_SHARE` of ``float`` whose calibrated mean is
      not: each chip's readout calibration (``deploy --calibration-input``) recovers it;
      for a run on the counts' logits without a relative margin, training with one
      (``--margin-ratio 2``) may too (both address the output groups' bias; measured in
      ``docs/results.md``, where it also cost tasks not yet learnt their float); a deviation whose mean
      is below that share or whose yield is below :data:`YIELD_TARGET`, where calibration
      does not recover the mean: with injection, longer training (robustness kept improving
      after float stopped: beat anomalies at ``--quick``'s seed 0, 40 epochs 91.4 % mean and 50 %
      yield at 30 %, 80 epochs 98.6 % and 100 %), without it, injection;
    * ``float`` not above chance by more than :data:`NEAR_CHANCE` standard errors (given
      ``n_classes`` and ``n_test``): the readout window (``--readout-start``, when the
      whole sample was read) and more epochs.
    * a training accuracy more than :data:`OVERFIT_GAP` above the validation accuracy at
      the run's end (``gap``, :func:`fit_gap`): the network fits its training samples, not
      the task; the readout window (when the whole sample was read) and more samples.
    * a run with the exact derivative whose gradient exploded (``gradient_peak`` above
      :data:`EXPLODING_GRADIENT`) and that misses a mismatch target: half the positive
      feedback factor's derivative (``--feedback-gradient 0.5``), which bounded it on two of
      the four such runs measured and took them to every target; a run
      with less than the exact derivative whose float is at chance or learnt little: the
      exact one, which carries credit over long delays (temporal XOR and the held-out
      interval task learnt nothing with half of it, the interval task 44 % with 0.9).
    * (the mismatch advice above is left out for a network whose float accuracy is below
      :data:`LEARNT_LITTLE` of the way from chance to 1, given ``n_classes``.)

    Until session 21 ``float`` was the unrounded latent values (``unrounded`` now) and a
    hint pointed at ``--level-pull`` when it fell below the trained network; the trained
    network is the reference now, and the unrounded one needs no advice.

    Args:
        best_epoch: the kept epoch (0-based).
        epochs_run: the epochs trained.
        accuracy: ``results.json``'s ``"accuracy"``.
        epochs_given: whether the run's epochs were given (``--epochs``) rather than a preset's.
        quick_batch: whether the run trained on ``--quick``'s batches (:data:`QUICK_BATCH_SIZE`,
            no ``--batch-size``): a late kept epoch then also points at batches of 16 (beat
            anomalies learned more with them in 25 epochs; ``docs/results.md``).
        n_classes: the data's classes (None: no claim about chance).
        n_test: the test samples ``float`` was measured on (0: no claim about chance).
        readout_start: the run's readout window (``TrainSettings.readout_start``).
        logits: the run's logits (``TrainSettings.logits``).
        gap: training minus validation accuracy at the run's end (:func:`fit_gap`; None: no claim).
        inject: whether the run trained with mismatch injection.
        gradient_peak: the largest gradient norm of the run's steps (None: no claim).
        feedback_gradient: the run's ``TrainSettings.feedback_gradient``.
        margin_ratio: the run's ``TrainSettings.margin_ratio`` (0: none).
    """
    overfit = gap is not None and gap > OVERFIT_GAP
    window = _LATE_WINDOW if readout_start == 0 else ""
    window_longer = window and f"{window} with more epochs (--epochs {2 * epochs_run})"  # where it fits its samples
    at_chance = n_classes is not None and n_test > 0 and accuracy["float"] <= _chance_bound(n_classes, n_test)
    out = []
    if at_chance:
        # Where it only fits its samples, longer training alone did not help (the held-out interval task).
        advice = window_longer if overfit else f"{window}; train longer (--epochs {max(60, 2 * epochs_run)})"
        advice += _exact_derivative(feedback_gradient)
        out.append(f"float accuracy {accuracy['float']:.1%} is not above chance ({1.0 / n_classes:.1%} for {n_classes} "
                   f"classes, {n_test} test samples): the network did not learn the task{advice}")
    if epochs_run >= 5 and best_epoch + 1 >= LATE_BEST_SHARE * epochs_run:
        more = "more epochs" if epochs_given else "more epochs than the preset's"
        batch = f", or larger steps (--batch-size {BATCH_SIZE} instead of --quick's {QUICK_BATCH_SIZE})" if quick_batch else ""
        out.append(f"the kept epoch is {best_epoch + 1} of {epochs_run}: the network was still learning when training "
                   f"stopped; {more} (--epochs {2 * epochs_run}){batch} may lift every stage")
    if overfit:
        window = "" if at_chance else window_longer  # said once
        out.append(f"over the last epochs the network classified its training samples {gap:.0%} better than its "
                   f"validation samples: it fits the samples it trains on more than the task{window}; more training "
                   "samples help too")
    if n_classes is not None and learnt_little(accuracy, n_classes):
        if not at_chance and feedback_gradient < 1.0:  # at chance, said above
            out.append(f"float accuracy {accuracy['float']:.1%} is less than half-way from chance "
                       f"({1.0 / n_classes:.1%}) to 100 %{_exact_derivative(feedback_gradient)}")
        return out  # robustness advice keeps what was learnt: first learn the task
    return out + _mismatch_hints(accuracy, logits, epochs_run, inject, margin_ratio) + _gradient_hints(accuracy, gradient_peak,
                                                                                          feedback_gradient)


def _exact_derivative(feedback_gradient: float) -> str:
    """The at-chance hint's advice for a run trained with less than the exact derivative of
    the positive feedback ("" for the exact one)."""
    if feedback_gradient >= 1.0:
        return ""
    return (f"; it trained with {feedback_gradient:g} of the positive feedback's derivative: the exact one "
            "(--feedback-gradient 1) carries credit over long delays (docs/training.md)")


def _gradient_hints(accuracy: Dict[str, Any], gradient_peak: Optional[float], feedback_gradient: float) -> List[str]:
    """:func:`hints`' line for a run with the exact derivative whose gradient passed
    :data:`EXPLODING_GRADIENT` (inf and NaN too) and that misses a mismatch target."""
    exploded = gradient_peak is not None and not gradient_peak <= EXPLODING_GRADIENT
    missed = any(not robust(m, accuracy["float"]) for m in accuracy.get("mismatch", {}).values())
    out = []
    if exploded and missed and feedback_gradient == 1.0:
        out.append(f"the gradient's norm reached {gradient_peak:.2g} on some steps (it explodes through the membrane's "
                   "positive feedback and the recurrent weights, docs/training.md): keeping half of the feedback's "
                   "derivative (--feedback-gradient 0.5) took two of four such runs measured to every target (EMG "
                   "gestures, ten frozen patterns: 30 % yield 81 and 88 -> 100 %, their gradients bounded) and raised a "
                   "third (several spikes per step: 30 % mean 64.7 -> 72.4 %); it loses the credit a task decided by the "
                   "time between events needs (an interval task learnt nothing with it), and one seed's robustness moves "
                   "about as much with the rounding of a sum (docs/results.md, session 25): compare at two or three seeds")
    return out


def learnt_little(accuracy: Dict[str, Any], n_classes: int) -> bool:
    """Whether a run's network learnt little of its task (:data:`LEARNT_LITTLE`): its float
    accuracy (the trained network) below ``chance + LEARNT_LITTLE (1 - chance)``."""
    chance = 1.0 / n_classes
    return accuracy["float"] < chance + LEARNT_LITTLE * (1.0 - chance)


def robust(level: Dict[str, Any], float_accuracy: float) -> bool:
    """Whether one mismatch level's figures (an entry of ``results.json``'s ``"mismatch"`` or
    ``"mismatch_calibrated"``) meet the issue's targets: a mean at least :data:`ROBUST_SHARE`
    of ``float`` and, where the entry has one, a yield at least :data:`YIELD_TARGET`."""
    return level["mean"] >= ROBUST_SHARE * float_accuracy and level.get("yield", 1.0) >= YIELD_TARGET


_LATE_WINDOW = ("; if a sample's class is decided late in it (by the order or timing of its events, as in temporal XOR), "
                "read only its late part (--readout-start 0.5)")


def _mismatch_hints(accuracy: Dict[str, Any], logits: str, epochs_run: int, inject: bool,
                    margin_ratio: float = 0.0) -> List[str]:
    """:func:`hints`' lines for the mismatch levels whose mean is below :data:`ROBUST_SHARE`
    of float or whose yield is below :data:`YIELD_TARGET`: one per level that each chip's
    readout calibration brings to both (``yield`` and the calibrated yield read only where
    ``results.json`` has them), one for the levels it does not. Both name longer training
    (with injection; without it, injection)."""
    out, missed = [], []
    longer = (f"train longer (--epochs {2 * epochs_run}): robustness kept improving after the float accuracy stopped "
              "on the runs measured (beat anomalies, --quick, seed 0: at 30 % a mean of 91.4 % and a yield of 50 % with "
              "40 epochs, 98.6 % and 100 % with 80; a held-out dense input, seed 1: 72.8 % and 19 %, 98.4 % and 94 %; "
              "a longer run is another trajectory, which may not learn where the shorter did, docs/results.md)" if inject else
              "train with mismatch injection, which is what makes a network robust (drop --no-injection)")
    for dev, m in accuracy.get("mismatch", {}).items():
        if robust(m, accuracy["float"]):
            continue
        figures = f"mean {m['mean']:.1%}" + (f", {m['yield']:.0%} of the chips within 5 points of float" if "yield" in m else "")
        figures += _straddles(m)
        calibrated = accuracy.get("mismatch_calibrated", {}).get(dev)
        if calibrated is not None and robust(calibrated, accuracy["float"]):
            reached = f"mean {calibrated['mean']:.1%}" + (f", {calibrated['yield']:.0%}" if "yield" in calibrated else "")
            out.append(f"at {float(dev):.0%} mismatch ({figures}) the chips miss {ROBUST_SHARE:.0%} of float "
                       f"({accuracy['float']:.1%}) on average or {YIELD_TARGET:.0%} within 5 points of it, and each chip's "
                       f"readout calibrated reaches both ({reached}): calibrate a board's readout with deploy "
                       "--calibration-input (docs/cli.md)"
                       + _margin_advice(logits, margin_ratio) + f"; or {longer}")
        else:
            missed.append(f"{float(dev):.0%} ({figures})")
    if missed:
        out.append(f"at mismatch {' and '.join(missed)} the chips miss {ROBUST_SHARE:.0%} of float "
                   f"({accuracy['float']:.1%}) on average or {YIELD_TARGET:.0%} within 5 points of it, and each chip's "
                   f"readout calibration does not bring them there: {longer}")
    return out


def _margin_advice(logits: str, margin_ratio: float) -> str:
    """The mismatch hint's advice of a relative margin, for a run on the counts' logits
    without one ("" otherwise: the log's logits, or a margin, already ask for a ratio)."""
    if logits != "counts" or margin_ratio:
        return ""
    return ("; or train with --margin-ratio 2 and the default injection ramp (train's default since session 28), whose "
            "loss asks each sample, from the ramp's end, for a margin relative to the output groups' common rate "
            "(measured at three seeds: the learnt built-in tasks more robust on 64 fresh chips, every held-out task "
            "learnt as accurate or more; asked from the first step it cost tasks not yet learnt their float "
            "accuracy; docs/results.md)")


def _straddles(level: Dict[str, Any]) -> str:
    """A note for a level whose yield's 95 % interval (``results.json``'s ``yield_interval``,
    where it has one) contains :data:`YIELD_TARGET`: its chips are too few to say whether the
    network meets the target ("" otherwise)."""
    low, high = level.get("yield_interval", (1.0, 1.0))
    if not low < YIELD_TARGET <= high:
        return ""
    return (f"; measured on {len(level['chips'])} chips, the yield's 95 % interval {low:.0%}-{high:.0%} contains "
            f"{YIELD_TARGET:.0%}, so this count neither meets nor misses it (--chips 64 measures it to about +-10 points)")


def margin_note(result: TrainResult) -> str:
    """Where the relative margin began, for the log ("" without one): the epoch, or that the
    accuracy it waits for (``TrainSettings.margin_accuracy``) was never reached."""
    s = result.model.settings
    if not s.margin_ratio:
        return ""
    if result.margin_epoch is None and len(result.history) > s.margin_from:
        return f"; the margin was never trained (the validation accuracy it waits for, {s.margin_bar(result.model.layout.n_classes):.0%}, not reached)"
    if result.margin_epoch is None:
        return f"; the margin was never trained (the run ended before epoch {s.margin_from + 1})"
    return f"; the margin trained from epoch {result.margin_epoch + 1}"


def training_summary(result: TrainResult, job: TrainJob) -> Dict[str, Any]:
    """The training's backend, epochs, history and settings, for ``results.json``
    (``margin_epoch``: the first epoch, from 0, that trained the relative margin; None: none did)."""
    return {"backend": job.backend, "epochs_run": len(result.history), "best_epoch": result.best_epoch,
            "keep_from": result.model.settings.keep_from, "margin_epoch": result.margin_epoch, "seconds": result.seconds, "history": result.history_dict(), "settings": jsonable(asdict(result.model.settings))}


def write_files(out_dir: Path, mapped: Any, result: TrainResult, task: Task, suffix: str = "",
                compress: bool = False) -> Dict[str, str]:
    """Write the configuration (``config{suffix}.json``, or gzip-compressed
    ``config{suffix}.json.gz`` with ``compress``: ``train`` does), the trained network
    (``network{suffix}.npz``) and the test raster and labels (``x_test.npy``,
    ``y_test.npy``: ``deploy`` runs at once); ``{name: path}``."""
    config = f"config{suffix}.json" + (".gz" if compress else "")
    files = {"config": out_dir / config, "network": out_dir / f"network{suffix}.npz",
             "x_test": out_dir / "x_test.npy", "y_test": out_dir / "y_test.npy"}
    mapped.save(files["config"])
    save_parameters(files["network"], result)
    np.save(files["x_test"], task.x_test)
    np.save(files["y_test"], task.y_test)
    return {k: str(v) for k, v in files.items()}


def _plots(out_dir: Path, result: TrainResult, accuracy: Dict[str, Any]) -> Dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    files = {"training_plot": str(result.plot(out_dir / "training.png"))}
    stages = ["unrounded", "float", "quantized"] + [f"mismatch {k}" for k in accuracy["mismatch"]] + ["board"]
    values = ([accuracy["unrounded"], accuracy["float"], accuracy["quantized"]] + [v["mean"] for v in accuracy["mismatch"].values()]
              + [accuracy["board"]])
    worst = [np.nan] * 3 + [v["worst"] for v in accuracy["mismatch"].values()] + [np.nan]
    fig, ax = plt.subplots(figsize=(7.6, 3.6))
    bars = ax.bar(stages, values, color=["#4c72b0", "#64b5cd", "#55a868"] + ["#dd8452"] * len(accuracy["mismatch"]) + ["#8172b3"])
    ax.scatter(stages, worst, color="black", marker="v", zorder=3, label="worst chip")
    for bar, v in zip(bars, values):
        ax.text(bar.get_x() + bar.get_width() / 2, v + 0.01, f"{v:.0%}", ha="center", fontsize=8)
    ax.set(ylim=(0, 1.1), ylabel="test accuracy", title="test accuracy at every stage (mismatch: mean of the chips)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path = out_dir / "accuracy.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    files["accuracy_plot"] = str(path)
    return files


def jsonable(d: Dict[str, Any]) -> Dict[str, Any]:
    """``d`` as plain JSON data: numpy scalars as numbers, tuples and sets as lists, any
    other object by its ``str``."""
    return json.loads(json.dumps(d, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)
