"""A network to train for the chip: its trained quantities and what the chip makes of them.

:class:`ChipModel` holds a :class:`~.layout.NetworkLayout`, its drawn
:class:`~.layout.Connectivity` and the :class:`TrainSettings`. Its trained quantities
(:meth:`ChipModel.initial_parameters`) are

* ``w_in`` ``(C, N)`` and ``w_rec`` ``(N, N)``: signed weights in units of ``Iscale``
  (only the drawn synapses count; the sign picks AMPA or GABA);
* ``core``: ``{quantity: (n_cores,)}``, the natural logarithm of each core's trained
  high-level values (:data:`~.constraints.DEFAULT_TRAINABLE`).

:meth:`ChipModel.chip_view` turns them into what the chip holds (per-core currents
snapped to bias codes, weights quantized per core, the fan-in respected) and what the
simulator needs, written once for both backends; :meth:`ChipModel.loss_terms` is the
loss. The readout counts each neuron's spikes at or after the settings' ``readout_start``
(:func:`readout_counts`, the one function every count of the package goes through: the
trainers, the boards' rasters, the deployed configuration). The training loops are in :mod:`.jax_trainer` and :mod:`.torch_trainer`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..chip import CONSTANTS, BIAS_PARAMETERS
from ..errors import ParameterValueError, ShapeError, Shown
from ..parameters.validate import (
    as_array,
    check_real,
    choice,
    flag,
    instance,
    integer,
    mapping,
    names,
    real_array,
    real_number,
    seed as check_seed,
)
from ..transform.deviation import MAX_DEVIATION, sigma_from_deviation
from ..parameters.core import OFF_TOLERANCE, CoreHighLevel
from ..simulation.records import CURRENT_NAMES, LAYOUT_NAMES
from .constraints import (
    DEFAULT_TRAINABLE,
    HIGH_LEVEL_NAMES,
    Ops,
    core_currents,
    quantize_per_core,
    snap_to_codes,
)
from .layout import Connectivity, NetworkLayout, connectivity
from .readout_calibration import ReadoutCalibration

__all__ = ["TrainSettings", "ChipView", "ChipModel", "MISMATCH_FAMILIES", "CHIP_NAMES", "LOGITS", "DEFAULT_TEMPERATURE",
           "logit_scale", "readout_step", "readout_counts"]

_STEP_TOLERANCE = 1e-9
"""Rounding of ``readout_start * T`` that does not move the readout window by a step."""

_FLOAT32 = np.finfo(np.float32)
"""The training simulates in float32: a setting it cannot hold (dt = 1e-300 s is 0) is refused."""

LATCHED = ("Idc", "Iw_ahp")
"""Currents the chip switches off by a per-neuron latch (then exactly ``Io``)."""

MISMATCH_FAMILIES = ("currents", "layout", "weights")
"""What injected mismatch perturbs: every current and layout constant of every neuron,
and every synapse's weight (Rockpool's families)."""

LOGITS = ("log", "counts")
"""What the loss's softmax sees of each class's score ``s`` (the mean spike count of its
output group), times the temperature: ``"log"``, ``log(1 + s)`` (the groups' ratio: scaling
every group's ``1 + s`` alike, as a chip whose output neurons all fire more does, shifts
the logits by one constant and leaves the softmax as it was, so the loss asks for a
relative margin); ``"counts"``, ``s`` itself (an absolute margin of a few spikes satisfies
it, whatever the common rate: the default). The readout, the class of the largest ``s``, is
the same for both. Measured in ``docs/results.md`` ("The log of the counts"): neither is
better on every task."""

MARGIN_MASK = 1e6
"""Subtracted from the right class's log-score before the runner-up is picked (far above
any ``log(1 + s)`` float32 spike counts reach: ``log(1 + 2**31)`` is 21.5)."""

DEFAULT_TEMPERATURE = {"log": 4.0, "counts": 1.0}
"""The temperature of each kind of :data:`LOGITS` when ``TrainSettings.temperature`` is not
given. ``"log"``'s 4: a ratio of 1.3 between the right group and the next (``log 1.3 = 0.26``)
is a logit margin of 1, about the counts' 1 spike; a ratio of 2 is 2.8."""


def logit_scale(logits: str, temperature: Optional[float]) -> float:
    """The temperature a loss on ``logits`` (:data:`LOGITS`) uses: ``temperature`` if given,
    else :data:`DEFAULT_TEMPERATURE` of ``logits`` (``TrainSettings.logit_scale``, and the
    ``train`` job's before it builds its settings).

    Raises:
        UnknownParameterError: ``logits`` not one of :data:`LOGITS`.
        ParameterValueError: ``temperature`` not a positive number that float32 holds.
    """
    logits = choice("logit_scale.logits", logits, LOGITS)
    if temperature is None:
        return DEFAULT_TEMPERATURE[logits]
    return real_number("logit_scale.temperature", temperature, low=float(_FLOAT32.tiny), high=float(_FLOAT32.max))


def margin_ratio(name: str, value: Any) -> float:
    """``value`` as a relative margin (``TrainSettings.margin_ratio``, and the ``train``
    job's before it builds its settings, under the option's ``name``): 0 (off) or a ratio
    above 1 that float32 holds.

    Raises:
        ParameterValueError: anything else (at 1 or below every sample meets the ratio).
    """
    value = real_number(name, value, low=0.0, high=float(_FLOAT32.max))
    if 0 < value <= 1:
        raise ParameterValueError(name, "0 (no margin) or a ratio above 1 (of the right class's 1 + score to the best "
                                  "other's: at 1 or below every sample meets it)", value)
    return value


CHIP_NAMES = tuple(CURRENT_NAMES) + tuple(LAYOUT_NAMES) + ("w_in", "w_rec")
"""The keys of one chip's factors (``chip=`` of the trainers and the count functions): a
factor per neuron on every current and layout constant, a factor per synapse on ``w_in``
and ``w_rec`` (the structure of the injected chips, :func:`.jax_trainer._chip_noise`)."""


@dataclass(frozen=True)
class TrainSettings:
    """How a :class:`ChipModel` is trained. Every switch is documented in ``docs/training.md``.

    Attributes:
        epochs: passes over the training set.
        batch_size: samples per step.
        learning_rate: Adam's peak learning rate (warm-up over ``warmup`` epochs, then
            cosine decay to 5 % of it).
        warmup: epochs of linear learning-rate warm-up.
        clip_norm: the gradient's global norm is clipped to this.
        logits: what the loss's softmax sees of each output group's mean spike count ``s``
            (:data:`LOGITS`): ``"counts"`` (the default), ``temperature * s``, an absolute
            margin between the groups; ``"log"``, ``temperature * log(1 + s)``, a margin
            relative to their common rate, which a chip's mismatch scales.
        temperature: scale of the logits (default :data:`DEFAULT_TEMPERATURE` of ``logits``:
            4 for ``"log"``, 1 for ``"counts"``; :attr:`logit_scale` resolves it).
        margin_ratio: a relative margin the loss asks of every sample, whatever its
            ``logits``: where the right class's score ``s`` is less than ``margin_ratio``
            times the best other class's (on ``1 + s``), each sample's loss gains
            ``margin_weight * (log margin_ratio - log((1 + s_right) / (1 + s_other)))``
            (a hinge: 0 once the ratio is reached, so a network whose groups already answer
            in proportion is left to the cross-entropy; :meth:`ChipModel.sample_losses`).
            A chip's mismatch scales its output neurons' rates, which an absolute margin of a
            few spikes between two groups firing tens does not survive. 0: off (the default);
            otherwise above 1. Measured (``docs/results.md``, sessions 27-28): 2 made learnt
            networks robust where the counts and the log were not; from the first epoch it
            cost tasks the network had not yet learnt their float accuracy, which waiting
            for the injection ramp's end (:attr:`margin_during_ramp`) gave back.
        margin_weight: the hinge's slope per unit of log-ratio (4: :data:`DEFAULT_TEMPERATURE`
            of ``"log"``, so a sample below the ratio is pushed as the log's logits push it).
        margin_during_ramp: with injection and an ``inject_ramp``, whether the margin's hinge
            is trained during the ramp too. False (the default): the training steps ask for
            the margin from the ramp's last epoch on (:attr:`margin_from`), once the network
            has learnt the task on chips of less than the whole deviation; a margin asked
            from the first step held networks still learning away from the task. The
            validation loss, which picks the kept epoch, has the hinge at every epoch, so
            that epochs compare.
        margin_accuracy: how far the network must have learnt its task before the training
            steps ask for the margin, as a share of the way from chance to every sample
            right: the margin waits, past :attr:`margin_from`, for the epoch after the first
            whose validation accuracy (training accuracy without a validation set) reached
            :meth:`margin_bar` (0: it does not wait, the default). A task still at chance at
            the ramp's end is left to the cross-entropy, since the hinge pushes its samples'
            groups apart before the network tells them apart.
        min_rate: mean spike count per sample below which an output neuron is penalised.
        max_rate: mean spike count per sample and neuron above which any neuron is
            penalised (keeps the network out of runaway excitation).
        rate_weight: weight of the two rate penalties in the loss.
        readout_start: the readout counts only the spikes at or after step
            ``readout_start * T`` of a ``T``-step sample (a fraction in ``[0, 1)``; 0: the
            whole sample; 0.5: its last half, so that a network can answer after the
            sample's second half, as temporal XOR needs). The loss, the rate penalties,
            ``predict`` and every board's readout use the same window (:func:`readout_counts`).
        inject: train with mismatch injection: every step draws ``chips_per_step``
            mismatched chips; each simulates a slice of the batch.
        deviation: injected deviation, reached at ``sigma_rule`` standard deviations.
        inject_ramp: with injection, the epochs over which the injected deviation grows
            linearly to ``deviation`` (epoch ``e`` of a ramp of ``R`` injects
            ``deviation * min(1, (e + 1) / R)``, :meth:`injected_sigma`); 0: all of it from
            the first step. The validation chips always carry the whole deviation.
        sigma_rule: Rockpool's convention: sigma = ``deviation / sigma_rule``.
        chips_per_step: mismatched chips per step (the batch is split between them, so
            injection costs about what training without it costs).
        quantize: quantization-aware training: weights on each core's 16 levels.
        level_pull: with ``quantize``, after every step each weight's unrounded value moves
            this fraction of the way to the level the chip holds for it
            (:meth:`ChipModel.pull_to_levels`; 0: not at all). The forward pass rounds every
            weight, so a weight that no gradient moves (e.g. one below half a core's
            smallest level, which the chip holds as 0) may otherwise sit anywhere its
            rounding allows, and the unrounded network drifts from the one trained.
        snap_codes: the trained core parameters snapped to bias codes in the forward pass.
        trainable: the core quantities trained (names of ``CoreHighLevel`` fields).
        fixed: values of core quantities that are not trained and not the default.
        input_scale: standard deviation of the initial input weights.
        recurrent_scale: standard deviation of the initial recurrent weights.
        excitatory_fraction: fraction of initial weights that are positive (AMPA).
        validation_fraction: fraction of the training set held out to pick the best epoch.
        chip_tilt: with injection, how much a step's worse chips weigh: the cross-entropy
            over the step's chips is ``log(mean(exp(t L_k))) / t`` of each chip's mean
            cross-entropy ``L_k`` (0: their mean; large: the worst chip's).
        validation_chips: with injection, the validation loss that picks the best epoch is
            the mean over this many mismatched chips, drawn once (0: the nominal chip).
        keep_during_ramp: with injection and an ``inject_ramp``, whether an epoch of the
            ramp, trained on chips of less than the whole deviation, may be kept as the
            best. False (the default): the best epoch is picked among the epochs from the
            ramp's last on, and early stopping waits for it too (:attr:`keep_from`); a
            network kept from the ramp was not trained for the chips it is measured on.
        keep_tolerance: a validation loss at most this much (nats) above the lowest so far
            counts as a tie, and the later epoch is kept (0: strictly the lowest). Where the
            validation loss has fallen to about 0, the lowest of a run's near-zero losses is
            a matter of noise, while later epochs have trained longer on the injected chips
            (robustness keeps improving after the nominal loss stops: ``docs/results.md``).
        patience: stop when the validation loss has not improved for this many epochs
            (0: never stop early; an epoch kept as a tie counts as an improvement).
        average: the decay of an exponential moving average of the trained quantities,
            updated after every step (``a <- average a + (1 - average) p``); the average is
            what is validated, kept and returned (0: no average, the last step's quantities).
            0.99 averages over about the last 100 steps: the noise of small batches and of
            the injected chips, which the last steps' quantities carry, averages out.
        seed: seeds the weights, the connectivity, the batches and the injected chips.
        dt: time step (s).
        Iscale: current (A) of a weight of 1.0.
        max_spikes: the most spikes a neuron emits in one step.
        feedback_gradient: the share of the membrane's positive feedback factor's
            derivative the backward pass keeps (1: the exact derivative; see
            :mod:`rockpool_dynapse2.simulation.membrane` and ``docs/training.md``). The
            forward pass, and so what is simulated and measured, is the same at every value.
        chip_clip: with injection, each of a step's chips' gradient is clipped, before the
            chips' gradients are summed, to this multiple of the median chip's gradient norm
            per unit of loss, times its own loss (:meth:`ChipModel.chip_gradient_scales`),
            so that one chip whose gradient explodes does not steer the step alone while a
            chip that is merely worse keeps its say (0: no per-chip clipping, the plain
            sum). The global clip (``clip_norm``) applies to the sum after it.
    """

    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 0.01
    warmup: int = 3
    clip_norm: float = 1.0
    logits: str = "counts"
    temperature: Optional[float] = None
    margin_ratio: float = 0.0
    margin_weight: float = 4.0
    margin_during_ramp: bool = False
    margin_accuracy: float = 0.0
    min_rate: float = 1.0
    max_rate: float = 40.0
    rate_weight: float = 0.01
    readout_start: float = 0.0
    inject: bool = True
    deviation: float = 0.3
    inject_ramp: int = 0
    sigma_rule: float = 3.0
    chips_per_step: int = 8
    quantize: bool = True
    level_pull: float = 0.0
    snap_codes: bool = True
    trainable: Tuple[str, ...] = DEFAULT_TRAINABLE
    fixed: Mapping[str, float] = field(default_factory=dict)
    input_scale: float = 0.5
    recurrent_scale: float = 0.1
    excitatory_fraction: float = 0.8
    validation_fraction: float = 0.1
    chip_tilt: float = 0.0
    validation_chips: int = 0
    keep_during_ramp: bool = False
    keep_tolerance: float = 0.0
    patience: int = 0
    average: float = 0.0
    seed: int = 0
    dt: float = 1e-3
    Iscale: float = 1e-8
    max_spikes: float = 31.0
    feedback_gradient: float = 1.0
    chip_clip: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "chips_per_step"):
            _check_int(name, getattr(self, name), 1)
        for name in ("warmup", "patience", "validation_chips", "inject_ramp"):
            _check_int(name, getattr(self, name), 0)
        object.__setattr__(self, "seed", check_seed("TrainSettings.seed", self.seed))
        for name in ("inject", "quantize", "snap_codes", "keep_during_ramp", "margin_during_ramp"):
            object.__setattr__(self, name, flag(f"TrainSettings.{name}", getattr(self, name)))
        object.__setattr__(self, "logits", choice("TrainSettings.logits", self.logits, LOGITS))
        positive = ("learning_rate", "clip_norm", "dt", "Iscale", "max_spikes", "input_scale", "max_rate")
        for name in positive + (("temperature",) if self.temperature is not None else ()):
            _check_float(self, name, low=_FLOAT32.tiny, high=_FLOAT32.max)  # positive, and float32 can hold it
        for name in ("min_rate", "rate_weight", "recurrent_scale", "chip_tilt", "margin_weight"):
            _check_float(self, name)
        object.__setattr__(self, "margin_ratio", margin_ratio("TrainSettings.margin_ratio", self.margin_ratio))
        _check_float(self, "deviation", high=MAX_DEVIATION)
        _check_float(self, "sigma_rule", low=1.0)
        _check_float(self, "excitatory_fraction", high=1.0)
        _check_float(self, "validation_fraction", high=0.5, high_open=True)
        _check_float(self, "readout_start", high=1.0, high_open=True)
        _check_float(self, "average", high=1.0, high_open=True)
        _check_float(self, "level_pull", high=1.0, high_open=True)
        _check_float(self, "keep_tolerance", high=_FLOAT32.max)
        _check_float(self, "margin_accuracy", high=1.0)
        _check_float(self, "feedback_gradient", high=1.0)
        _check_float(self, "chip_clip", high=_FLOAT32.max)  # a bound float32 can hold
        trainable = names("TrainSettings.trainable", self.trainable, HIGH_LEVEL_NAMES, "core quantity (TrainSettings.trainable)")
        object.__setattr__(self, "trainable", trainable)
        fixed = dict(mapping("TrainSettings.fixed", self.fixed, "a mapping {core quantity: value}"))
        names("TrainSettings.fixed", list(fixed), HIGH_LEVEL_NAMES, "core quantity (TrainSettings.fixed)")
        bounds = dict(low=_FLOAT32.tiny, high=_FLOAT32.max)
        object.__setattr__(self, "fixed", {k: real_number(f"TrainSettings.fixed[{k!r}]", v, **bounds) for k, v in fixed.items()})

    @property
    def per_chip_gradients(self) -> bool:
        """Whether a step keeps each injected chip's gradient apart, to clip it
        (``inject`` and ``chip_clip`` above 0)."""
        return self.inject and self.chip_clip > 0

    @property
    def logit_scale(self) -> float:
        """The temperature the loss uses (:func:`logit_scale`)."""
        return logit_scale(self.logits, self.temperature)

    def _ramp_end(self, during_ramp: bool) -> int:
        """The ramp's last epoch (from 0, ``inject_ramp - 1``), where the injected deviation
        is whole; 0 without injection or a ramp, or where ``during_ramp``."""
        if not self.inject or self.inject_ramp == 0 or during_ramp:
            return 0
        return self.inject_ramp - 1

    @property
    def keep_from(self) -> int:
        """The first epoch (from 0) that may be kept as the best: the ramp's last, where
        the injected deviation is whole (``inject_ramp - 1``); 0 without injection or a
        ramp, or with :attr:`keep_during_ramp`."""
        return self._ramp_end(self.keep_during_ramp)

    @property
    def margin_from(self) -> int:
        """The first epoch (from 0) whose steps train the margin's hinge (``margin_ratio``):
        the ramp's last (``inject_ramp - 1``), where the injected deviation is whole; 0
        without injection or a ramp, or with :attr:`margin_during_ramp`."""
        return self._ramp_end(self.margin_during_ramp)

    def margin_scale(self, epoch: int, learnt: bool = True) -> float:
        """What the margin's hinge is multiplied by in the training steps of epoch
        ``epoch`` (from 0): 1 from :attr:`margin_from` on once ``learnt`` (an earlier
        epoch's accuracy reached :meth:`margin_bar`; the training loops'
        :attr:`~.result.EpochTracker.learnt`), else 0 (1 or 0 whether or not a
        ``margin_ratio`` is set; without one there is no hinge to scale)."""
        epoch = integer("epoch", epoch, low=0)
        return 1.0 if flag("learnt", learnt) and epoch >= self.margin_from else 0.0

    def margin_bar(self, n_classes: int) -> float:
        """The accuracy the margin waits for on a task of ``n_classes`` classes:
        ``1 / n_classes + margin_accuracy * (1 - 1 / n_classes)`` (0 when
        :attr:`margin_accuracy` is 0: no wait)."""
        chance = 1.0 / integer("n_classes", n_classes, low=1)
        return chance + self.margin_accuracy * (1.0 - chance) if self.margin_accuracy > 0 else 0.0

    def injected_sigma(self, epoch: Optional[int] = None) -> float:
        """The relative standard deviation of the chips injected in epoch ``epoch`` (from 0):
        ``deviation / sigma_rule``, times ``min(1, (epoch + 1) / inject_ramp)`` during the
        ramp; ``epoch=None``: the whole of it (the validation chips); 0 without injection."""
        if not self.inject:
            return 0.0
        sigma = sigma_from_deviation(self.deviation, self.sigma_rule)
        if epoch is None or self.inject_ramp == 0:
            return sigma
        return sigma * min(1.0, (integer("epoch", epoch, low=0) + 1) / self.inject_ramp)


@dataclass
class ChipView:
    """What the chip holds for a set of trained quantities (arrays of one backend).

    Attributes:
        currents: ``{current name: (N,)}`` every neuron's currents (A).
        w_in: ``(C, N)`` signed input weights as the chip holds them.
        w_rec: ``(N, N)`` signed recurrent weights.
        bases: ``(n_cores, 4)`` each core's base weights in units of ``Iscale`` (``None``
            without quantization).
    """

    currents: Dict[str, Any]
    w_in: Any
    w_rec: Any
    bases: Optional[Any]


class ChipModel:
    """A network of DYNAP-SE2 neurons in populations, to train with the chip's constraints.

    Args:
        layout: the populations and projections.
        settings: the :class:`TrainSettings` (default: ``TrainSettings()``).
        connections: the drawn synapses (default: :func:`~.layout.connectivity` with the
            settings' seed).
    """

    def __init__(self, layout: NetworkLayout, settings: Optional[TrainSettings] = None, connections: Optional[Connectivity] = None):
        settings = TrainSettings() if settings is None else settings
        if not isinstance(layout, NetworkLayout):
            raise ParameterValueError("layout", "a NetworkLayout", type(layout).__name__)
        if not isinstance(settings, TrainSettings):
            raise ParameterValueError("settings", "a TrainSettings", type(settings).__name__)
        self.layout = layout
        self.settings = settings
        self.connections = connectivity(layout, settings.seed) if connections is None else _check_connections(connections, layout)
        self.core_of_neuron = layout.core_of_neuron
        self.n_cores = layout.n_cores
        self.fixed = {**{f.name: getattr(CoreHighLevel(), f.name) for f in fields(CoreHighLevel)}, **settings.fixed}
        self.core_start = _core_start(layout, self.fixed)
        """``{core quantity: (n_cores,)}`` each core's start value (a trained quantity) or
        held value (an untrained one): its population's ``start``, else the settings'."""
        self.layout_constants = {name: float(getattr(CONSTANTS, name)) for name in LAYOUT_NAMES}
        # The currents set by trained quantities are snapped; the fixed ones are snapped once, here.
        self.snapped = tuple(p.current for p in BIAS_PARAMETERS) if settings.snap_codes else ()

    # --- parameters ----------------------------------------------------------------------

    def initial_parameters(self, seed: Optional[int] = None) -> Dict[str, Any]:
        """The trained quantities at the start: ``{"w_in", "w_rec", "core"}`` (numpy float32).

        Weights are drawn on the drawn synapses only, with magnitudes ``|N(0, scale)|``
        and a positive sign with probability ``excitatory_fraction``; each core starts
        at its population's start values (:attr:`~.layout.Population.start`), else at the
        (fixed or default) values of its quantities (:attr:`core_start`).
        """
        s = self.settings
        rng = np.random.default_rng(s.seed if seed is None else check_seed("seed", seed))

        def draw(mask: np.ndarray, scale: float) -> np.ndarray:
            magnitude = np.abs(rng.normal(0.0, scale, mask.shape))
            sign = np.where(rng.random(mask.shape) < s.excitatory_fraction, 1.0, -1.0)
            return (magnitude * sign * mask).astype(np.float32)

        core = {name: np.log(self.core_start[name]).astype(np.float32) for name in s.trainable}
        return {
            "w_in": draw(self.connections.input, s.input_scale),
            "w_rec": draw(self.connections.recurrent, s.recurrent_scale),
            "core": core,
        }

    def chip_view(self, ops: Ops, params: Mapping[str, Any], quantize: Optional[bool] = None, snap: Optional[bool] = None) -> ChipView:
        """What the chip holds for ``params`` (differentiable, straight-through where the
        chip rounds).

        Args:
            ops: the backend.
            params: the trained quantities.
            quantize: weights on each core's 16 levels (default: the settings').
            snap: currents on bias codes (default: the settings').
        """
        s = self.settings
        quantize = s.quantize if quantize is None else quantize
        snap = s.snap_codes if snap is None else snap
        fixed = {k: v for k, v in self.core_start.items() if k not in s.trainable}
        currents = core_currents(ops, params["core"], fixed, self.core_of_neuron)
        if snap:
            currents = self._latched(ops, currents, snap_to_codes(ops, currents, self.snapped))
        w_in, w_rec, bases = self._chip_weights(ops, params["w_in"], params["w_rec"], quantize, snap)
        return ChipView(currents, w_in, w_rec, bases)

    def _chip_weights(self, ops: Ops, w_in: Any, w_rec: Any, quantize: bool, snap: bool) -> Tuple[Any, Any, Optional[Any]]:
        """``(w_in, w_rec, bases)`` as the chip holds them: on the drawn synapses only and,
        with ``quantize``, on each core's 16 levels (bases snapped to bias codes with
        ``snap``; straight-through); ``bases`` None without ``quantize``."""
        w_in = w_in * ops.asarray(self.connections.input)
        w_rec = w_rec * ops.asarray(self.connections.recurrent)
        if not quantize:
            return w_in, w_rec, None
        (w_in, w_rec), bases = quantize_per_core(ops, (w_in, w_rec), self.core_of_neuron, self.settings.Iscale if snap else None)
        return w_in, w_rec, bases

    def pull_to_levels(self, ops: Ops, w_in: Any, w_rec: Any) -> Tuple[Any, Any]:
        """``(w_in, w_rec)`` each moved ``level_pull`` of the way to the level the chip holds
        for it (the quantization of :meth:`chip_view`), for a trainer to apply after a step.
        Unchanged without ``quantize`` or with ``level_pull = 0``; synapses that are not
        drawn are held at 0."""
        s = self.settings
        if not s.quantize or s.level_pull == 0:
            return w_in, w_rec
        levels = self._chip_weights(ops, w_in, w_rec, True, s.snap_codes)[:2]
        return tuple(w + s.level_pull * (ops.stop_gradient(q) - w) for w, q in zip((w_in, w_rec), levels))

    def _latched(self, ops: Ops, raw: Dict[str, Any], snapped: Dict[str, Any]) -> Dict[str, Any]:
        """A DC input or adaptation weight that is off stays exactly ``Io``: the chip switches
        it off by a latch rather than by a bias code (as ``CoreParameters.quantized``)."""
        io = self.layout_constants["Io"]
        out = dict(snapped)
        for name in LATCHED:
            off = raw[name] <= io * (1 + OFF_TOLERANCE)
            out[name] = off * io + (1 - off * 1.0) * snapped[name]
        return out

    # --- readout and loss ------------------------------------------------------------------

    def readout_counts(self, raster: Any) -> Any:
        """``(B, N)``: each neuron's spikes at or after the settings' ``readout_start``, from a
        raster ``(B, T, N)`` of any backend (a simulation's, or a board's output channels);
        see :func:`readout_counts`."""
        return readout_counts(raster, self.settings.readout_start)

    def class_scores(self, counts: Any) -> Any:
        """``(B, K)``: the mean spike count of each class's group of output neurons, from
        spike counts ``(B, N)`` in the readout window (:meth:`readout_counts`)."""
        return self._group_means(counts[:, self.layout.slice_of(self.layout.output)])

    def _group_means(self, out: Any) -> Any:
        """``(B, K)`` from the output population's counts ``(B, n_outputs)``."""
        return out.reshape(out.shape[0], self.layout.n_classes, self.layout.per_class).mean(-1)

    def class_logits(self, scores: Any, ops: Ops) -> Any:
        """``(B, K)``: what the loss's softmax sees of the class scores (:meth:`class_scores`):
        ``logit_scale * log(1 + scores)`` with ``logits="log"``, ``logit_scale * scores``
        with ``"counts"`` (:data:`LOGITS`). Increasing in the score, so the class of the
        largest logit is the readout's."""
        s = self.settings
        return s.logit_scale * (ops.log1p(scores) if s.logits == "log" else scores)

    def loss_terms(self, counts: Any, labels_onehot: Any, ops: Ops, margin: Any = 1.0) -> Tuple[Any, Any]:
        """``(classification loss, rate penalty)`` of spike counts ``(B, N)`` in the readout
        window (:meth:`readout_counts`), with the backend's array operations ``ops``.

        The classification loss is the mean of :meth:`sample_losses` (the cross-entropy of
        the softmax of the class logits, plus the relative margin's hinge where
        ``margin_ratio`` is set); the rate penalty keeps every output neuron above
        ``min_rate`` spikes per sample on average, and every neuron below ``max_rate``. Both
        see the same counts: with a ``readout_start``, the rates are those of the window (an
        output neuron must fire where it is read; a neuron's spikes before the window are
        not penalised). ``margin`` scales the margin's hinge (:meth:`sample_losses`).
        """
        return self.sample_losses(counts, labels_onehot, ops, margin).mean(), self._rate_penalty(counts, ops.relu)

    def sample_losses(self, counts: Any, labels_onehot: Any, ops: Ops, margin: Any = 1.0) -> Any:
        """``(B,)``: each sample's classification loss from spike counts ``(B, N)`` in the
        readout window and labels ``(B, n_classes)``: the cross-entropy of the softmax of
        the class logits (:meth:`class_logits`), plus, with a ``margin_ratio`` ``r``,
        ``margin_weight * relu(log r - (log(1 + s_right) - log(1 + s_other)))`` where
        ``s_other`` is the largest score of another class (the relative margin), times
        ``margin`` (a training step's :meth:`TrainSettings.margin_scale`; 1: the whole
        hinge)."""
        s = self.settings
        scores = self.class_scores(counts)
        loss = -(ops.log_softmax(self.class_logits(scores, ops)) * labels_onehot).sum(1)
        if s.margin_ratio > 0:
            logs = ops.log1p(scores)
            right = (logs * labels_onehot).sum(1)
            other = ops.sort(logs - MARGIN_MASK * labels_onehot)[..., -1]
            loss = loss + margin * s.margin_weight * ops.relu(math.log(s.margin_ratio) - (right - other))
        return loss

    def _rate_penalty(self, counts: Any, relu: Any) -> Any:
        """``rate_weight`` x (output neurons below ``min_rate`` + any neuron above ``max_rate``), squared."""
        s = self.settings
        rates = counts.mean(0)
        out_rates = rates[self.layout.slice_of(self.layout.output)]
        quiet = relu(s.min_rate - out_rates) ** 2
        loud = relu(rates - s.max_rate) ** 2
        return s.rate_weight * (quiet.mean() + loud.mean())

    def chip_loss_terms(self, counts: Any, labels_onehot: Any, ops: Ops, margin: Any = 1.0) -> Tuple[Any, Any]:
        """``(classification loss, rate penalty)`` of spike counts ``(K, S, N)`` of ``K`` chips
        with ``S`` samples each: each chip's mean classification loss (:meth:`sample_losses`), combined as
        ``log(mean(exp(t L_k))) / t`` with ``t = chip_tilt`` (their mean when ``t = 0``);
        the rate penalty of all ``K S`` samples.

        Args:
            counts: spike counts per chip and sample.
            labels_onehot: ``(K, S, n_classes)``.
            ops: the backend's array operations (``log_softmax``, ``relu``, ``logsumexp``).
            margin: what the margin's hinge is multiplied by (:meth:`sample_losses`).
        """
        s = self.settings
        K, S = counts.shape[0], counts.shape[1]
        flat = counts.reshape((K * S,) + tuple(counts.shape[2:]))
        per_sample = self.sample_losses(flat, labels_onehot.reshape((K * S,) + tuple(labels_onehot.shape[2:])), ops, margin)
        per_chip = per_sample.reshape((K, S)).mean(1)
        if s.chip_tilt > 0:
            ce = (ops.logsumexp(s.chip_tilt * per_chip) - np.log(K)) / s.chip_tilt
        else:
            ce = per_chip.mean()
        return ce, self._rate_penalty(flat, ops.relu)

    def chip_gradient_scales(self, norms: Any, losses: Any, ops: Ops) -> Any:
        """The factor ``(K,)`` each of a step's ``K`` injected chips' gradient is scaled by
        before the sum (``chip_clip``), from the chips' gradient norms and losses ``(K,)``:
        a chip's gradient may be ``chip_clip`` times as large, per unit of its own loss, as
        the median chip's (the median of an even ``K``: the mean of the middle two), and is
        scaled down to that bound where it is larger. A chip that is merely worse than the
        others has a larger loss and so a larger bound; a chip whose gradient explodes at an
        ordinary loss is clipped. Where the bound is 0 nothing is clipped."""
        K = norms.shape[0]
        tiny = _FLOAT32.tiny
        ranked = ops.sort(norms / ops.clip(losses, tiny, _FLOAT32.max))
        bound = self.settings.chip_clip * (ranked[(K - 1) // 2] + ranked[K // 2]) / 2 * losses
        return ops.where((bound > 0) & (norms > bound), bound / ops.clip(norms, tiny, _FLOAT32.max), ops.asarray(1.0))

    def clip_chip_gradients(self, grads: Sequence[Any], losses: Any, ops: Ops) -> Tuple[List[Any], Any, Any]:
        """``(the step's gradient, the norm of the plain sum, the fraction of chips clipped)``
        from each chip's gradient of every trained array (``grads``: one ``(K, ...)`` array
        per trained array) and the chips' losses ``(K,)``: each chip's scaled by
        :meth:`chip_gradient_scales`, then summed over the chips. Both trainers call it."""
        K = grads[0].shape[0]
        norms = sum((g.reshape(K, -1) ** 2).sum(1) for g in grads) ** 0.5
        scales = self.chip_gradient_scales(norms, losses, ops)
        merged = [(scales.reshape((K,) + (1,) * (g.ndim - 1)) * g).sum(0) for g in grads]
        plain = sum((g.sum(0) ** 2).sum() for g in grads) ** 0.5
        return merged, plain, ops.where(scales < 1, ops.asarray(1.0), ops.asarray(0.0)).mean()

    def chip_losses(self, counts: Any, labels_onehot: Any, ops: Ops, margin: Any = 1.0) -> Any:
        """Each chip's loss ``(K,)`` (its cross-entropy and rate penalty, :meth:`loss_terms`
        with the step's ``margin``) from spike counts ``(K, S, N)`` and labels
        ``(K, S, n_classes)`` of ``K`` chips with ``S`` samples each: what
        :meth:`chip_gradient_scales` measures a chip's gradient by."""
        return ops.stack([sum(self.loss_terms(c, o, ops, margin)) for c, o in zip(counts, labels_onehot)], 0)

    def predict(self, counts: np.ndarray) -> np.ndarray:
        """Predicted classes ``(B,)`` from spike counts ``(B, N)``; -1 where the top score is tied."""
        counts = real_array("counts", counts, shape=(None, self.layout.n_neurons), expected=f"(B, N) = (B, {self.layout.n_neurons})")
        return _winners(np.asarray(self.class_scores(counts)))

    def accuracy(self, counts: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of samples whose class's group fires strictly most, from every neuron's
        spike counts ``(B, N)``."""
        winners = self.predict(counts)
        return float((winners == self.check_labels("labels", labels, len(winners))).mean())

    def output_predict(self, output_counts: np.ndarray, calibration: Optional[ReadoutCalibration] = None) -> np.ndarray:
        """:meth:`predict` from the output population's counts ``(B, n_outputs)`` only (what a
        board returns, in output-channel order): ``(B,)`` classes, -1 where the top score is tied.

        Args:
            calibration: the chip's :class:`ReadoutCalibration`: compare calibrated counts
                (default: the raw counts).

        Raises:
            ShapeError: counts not ``(B, n_outputs)``; a calibration of another number of
                output channels (:meth:`ReadoutCalibration.checked`).
            ParameterValueError: a ``calibration`` that is not a :class:`ReadoutCalibration`.
        """
        counts = self._output_counts("output_counts", output_counts)
        if calibration is not None:
            counts = ReadoutCalibration.checked("calibration", calibration, counts.shape[1],
                                                "the network's output population").apply(counts)
        return _winners(np.asarray(self._group_means(counts)))

    def output_accuracy(self, output_counts: np.ndarray, labels: np.ndarray,
                        calibration: Optional[ReadoutCalibration] = None) -> float:
        """:meth:`accuracy` from the output population's counts ``(B, n_outputs)`` only
        (:meth:`output_predict`'s classes against ``labels``)."""
        winners = self.output_predict(output_counts, calibration)
        return float((winners == self.check_labels("labels", labels, len(winners))).mean())

    def calibrate_readout(self, output_counts: np.ndarray) -> ReadoutCalibration:
        """A chip's :class:`ReadoutCalibration` from its output neurons' spike counts
        ``(B, n_outputs)`` on ``B >= 2`` unlabelled recordings (output-channel order):
        :meth:`ReadoutCalibration.measure` on this network's output population."""
        return ReadoutCalibration.measure(self._output_counts("output_counts", output_counts))

    def _output_counts(self, name: str, output_counts: Any) -> np.ndarray:
        n_out = len(self.layout.output_neurons)
        return real_array(name, output_counts, shape=(None, n_out), expected=f"(B, n_outputs) = (B, {n_out})")

    # --- data ------------------------------------------------------------------------------

    def check_labels(self, name: str, labels: Any, n: int) -> np.ndarray:
        """``labels`` as ``(n,)`` int64 class indices ``0..n_classes - 1``, else a named error."""
        K = self.layout.n_classes
        y = real_array(name, labels, shape=(n,), expected=f"({n},), one label per sample", low=0.0, high=K - 1)
        bad = y != np.round(y)
        if bad.any():
            raise ParameterValueError(name, f"class indices, integers in 0..{K - 1}", y, bad)
        return y.astype(np.int64)

    def check_inputs(self, x: Any) -> np.ndarray:
        """Inputs ``x`` ``(n, T, C)`` (spike counts per step, >= 0) as float32; named errors
        for anything else."""
        C = self.layout.n_inputs
        expected = f"(n, T, C) = (n, T, {C}) with n, T >= 1"
        arr = check_real("x", as_array(x), low=0.0, what="an array of spike counts")  # no float64 copy of a large data set
        if arr is None or arr.ndim != 3 or arr.shape[2] != C or 0 in arr.shape:
            raise ShapeError("x", expected, np.shape(x) if arr is None else arr.shape)
        return np.asarray(arr, dtype=np.float32)

    def check_chip(self, chip: Any) -> Dict[str, np.ndarray]:
        """One chip's factors (``chip=`` of the trainers and count functions) as float32 arrays.

        ``chip`` maps every name of :data:`CHIP_NAMES` to its factors: ``(N,)`` finite and
        > 0 for a current or layout constant, ``(C, N)`` for ``w_in`` and ``(N, N)`` for
        ``w_rec``, finite and >= 0 (0: the synapse is lost; a sign flip is no chip's doing).

        Raises:
            ParameterValueError: not a mapping, a key missing, a factor out of its range.
            UnknownParameterError: a key that is not in :data:`CHIP_NAMES`.
            ShapeError: factors of another shape.
        """
        chip = mapping("chip", chip, "a mapping {quantity: factors} with the keys of CHIP_NAMES")
        names("chip", [k for k in chip], CHIP_NAMES, "chip key")
        missing = [k for k in CHIP_NAMES if k not in chip]
        if missing:
            raise ParameterValueError(f"chip[{missing[0]!r}]", "present (a chip has factors on every quantity of CHIP_NAMES)", Shown("missing"))
        n, c = self.layout.n_neurons, self.layout.n_inputs
        shapes = {"w_in": (c, n), "w_rec": (n, n)}
        out = {}
        for key in CHIP_NAMES:
            shape = shapes.get(key, (n,))
            weight = key in shapes
            arr = real_array(f"chip[{key!r}]", chip[key], shape=shape, low=0.0, low_open=not weight, high=_FLOAT32.max,
                             what="factors" if weight else "positive factors")
            out[key] = arr.astype(np.float32)
        return out

    def check_data(self, x: Any, y: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Training data: inputs ``x`` (:meth:`check_inputs`) and labels ``y`` ``(n,)``
        (:meth:`check_labels`), as float32 and int64 arrays (the trainers call it first)."""
        x = self.check_inputs(x)
        return x, self.check_labels("y", y, x.shape[0])


def _core_start(layout: NetworkLayout, fixed: Mapping[str, float]) -> Dict[str, np.ndarray]:
    """``{core quantity: (n_cores,) float64}``: each core's value to start from (a trained
    quantity) or to hold (an untrained one): its population's start value, else ``fixed``'s."""
    per_core = {name: [] for name in fixed}
    for pop in layout.populations:
        start = pop.start_values
        for name, values in per_core.items():
            values.extend([start.get(name, fixed[name])] * layout.cores_of(pop.name))
    return {name: np.asarray(values, np.float64) for name, values in per_core.items()}


def _check_connections(connections: Any, layout: NetworkLayout) -> Connectivity:
    """``connections`` if it is a :class:`Connectivity` whose masks fit ``layout``."""
    instance("connections", connections, Connectivity, "a Connectivity (or None: drawn from the seed)")
    n, c = layout.n_neurons, layout.n_inputs
    for name, arr, shape in (("input", connections.input, (c, n)), ("recurrent", connections.recurrent, (n, n))):
        real_array(f"connections.{name}", arr, shape=shape, low=0.0, high=1.0)
    return connections


def around_chip(chip: Optional[Mapping[str, Any]], noise: Dict[str, Any]) -> Dict[str, Any]:
    """A random chip ``noise`` around a fixed ``chip``: the product of their factors, key by
    key (``noise`` itself without a fixed chip); arrays of either backend, written once."""
    return noise if chip is None else {k: chip[k] * v for k, v in noise.items()}


def readout_step(readout_start: float, n_steps: int) -> int:
    """The first step the readout counts in a sample of ``n_steps`` steps: the smallest
    ``t >= readout_start * n_steps`` (``0.5`` of 100 steps: step 50, the last half).

    Raises:
        ParameterValueError: ``readout_start`` not in ``[0, 1)``, or a window that keeps no
            step of the sample; ``n_steps`` not an integer >= 1.
    """
    start = real_number("readout_start", readout_start, low=0.0, high=1.0, high_open=True)
    n_steps = integer("n_steps", n_steps, low=1)
    first = int(math.ceil(start * n_steps - _STEP_TOLERANCE))  # 0.3 * 10 is 3.0000000000000004 in floats: step 3
    if first >= n_steps:
        raise ParameterValueError("readout_start", f"<= {(n_steps - 1) / n_steps:g}, so that the readout window keeps at least one "
                                  f"of the sample's {n_steps} steps", start)
    return first


def readout_counts(raster: Any, readout_start: float = 0.0) -> Any:
    """``(B, N)``: each channel's spikes at or after step :func:`readout_step` of a raster
    ``(B, T, N)`` (spikes per step; numpy, JAX or torch, differentiable); ``readout_start = 0``
    is the whole sample, ``raster.sum(1)`` exactly.

    Every count the package turns into classes goes through it: the trainers' losses and
    count functions, the boards' and simulations' output rasters, the deployed configuration.

    Raises:
        ShapeError: ``raster`` is not ``(B, T, N)``.
        ParameterValueError: ``raster`` is not an array and no numbers (e.g. a string);
            ``readout_start``: see :func:`readout_step`.
    """
    if not hasattr(raster, "shape"):  # a nested list: counted as numpy
        try:
            raster = np.asarray(raster, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterValueError("raster", "an array (B, T, N) of spikes per sample, step and channel", raster) from None
    shape = tuple(raster.shape)
    if len(shape) != 3:
        raise ShapeError("raster", "(B, T, N): spikes per sample, step and channel", shape)
    first = readout_step(readout_start, shape[1])
    return raster.sum(1) if first == 0 else raster[:, first:].sum(1)


def _winners(scores: np.ndarray) -> np.ndarray:
    """The class of highest score per row; -1 where the top score is tied."""
    tied = (scores == scores.max(1, keepdims=True)).sum(1) > 1
    return np.where(tied, -1, scores.argmax(1))


def _check_int(name: str, value: Any, low: int) -> None:
    integer(f"TrainSettings.{name}", value, low=low)


def _check_float(settings: "TrainSettings", name: str, low: float = 0.0, high: Optional[float] = None,
                 low_open: bool = False, high_open: bool = False) -> None:
    """Check a numeric setting (finite, in the bounds) and store it as a float."""
    value = real_number(f"TrainSettings.{name}", getattr(settings, name), low=low, high=high, low_open=low_open,
                        high_open=high_open)
    object.__setattr__(settings, name, value)
