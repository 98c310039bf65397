"""Fine-tuning a trained network on one chip's twin, then writing that chip's configuration.

A network trained with mismatch injection works on most chips; on one given chip it can
do better once it is tuned to that chip's flaws. Given the chip's twin (a
:class:`~rockpool_dynapse2.hardware.ChipProfile`: fitted from recordings, or the true
profile of a virtual chip), :func:`fine_tune` places the network, translates the
profile at those places into the training model's factors (:func:`chip_factors`), trains
a few epochs on that one chip with the chip's constraints in the loop (bias codes, 16
weight levels per core, per-core parameters: what the chip holds), and places the tuned
network again: its configuration is what that chip runs.

**The translation** (:func:`chip_factors`) makes the training model simulate what
``VirtualBoard(profile=...)`` does with a configuration (:mod:`~rockpool_dynapse2.hardware.on_chip`):

* network neuron ``j`` is the board neuron at ``mapped.neurons[j]``;
* its factor on a current is the profile's factor times its core's bias-generator gain,
  on a layout constant the profile's factor (exact);
* a synapse's factor is its weight on the chip (each base weight of its mask times its
  core's gain, summed, times the target's AMPA or GABA factor) over its nominal weight, at
  the configuration's masks; a synapse the profile's defective CAM entries remove gets 0;
* a dead neuron loses every synapse in and out (the board: it never fires).

On the configuration they were made from, the model's spike counts are the board's up to
float32 rounding (the board multiplies values and factors in float64, the model in
float32): spike for spike on the tests' network, 0.8 % of the output spikes moved by 1-3
on a 60-input frozen-noise network. What is approximate: the weight factors hold at the masks and CAM entries the
configuration has; when fine-tuning moves a weight to another level, its factor is the
old mask's (the gains differ by a few percent between base weights), and a synapse that
appears during fine-tuning gets factor 1. A dead neuron whose core has its DC input on
still fires in the model. An **always-on neuron** (fires every step) cannot be written as
factors: :func:`always_on_in` lists the network's neurons that sit on one, and
:class:`FineTuneResult` reports them; the defect-aware placement (``place=``) avoids them.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY
from ..errors import ParameterValueError, Shown
from ..hardware.chip_profile import ChipProfile
from ..hardware.on_chip import neuron_factors_at, profiled_weights, without_defective_entries
from ..mapping.trained import spec_from_training
from ..parameters.validate import choice, function, instance, integer, real_number
from ..placement import config_from_specification
from ..placement.mapped import MappedConfiguration, trained_readout
from ..placement.to_network_spec import spec_from_config
from ..training import ChipModel, TrainResult
from ..transform.deviation import MAX_DEVIATION

__all__ = ["FineTuneResult", "chip_factors", "always_on_in", "board_accuracy", "fine_tune"]

Placer = Callable[[Any], MappedConfiguration]
"""``place(spec) -> MappedConfiguration``: puts a network spec on the board."""


@dataclass(frozen=True)
class FineTuneResult:
    """What :func:`fine_tune` gives back.

    Attributes:
        result: the tuned :class:`~rockpool_dynapse2.training.TrainResult` (its model's
            settings are the fine-tuning's).
        mapped: the tuned network's configuration for this chip, with its class map.
        before: accuracy of the original network on the chip (the virtual board with the
            profile), on the evaluation data (``None`` if not measured: ``measure=False``).
        after: accuracy of the tuned network on the chip, on the same data (or ``None``).
        chip: the factors it was tuned on (:func:`chip_factors`, at the original places).
        twin_before: accuracy of the original network in the training model on ``chip``
            (``before`` up to float32 rounding, unless a neuron sits on an always-on neuron;
            or ``None``).
        twin_after: accuracy of the tuned network in the training model on ``chip``: what
            fine-tuning believes; its gap to ``after`` is the translation's drift as the
            weights leave their masks (see the module docs; or ``None``).
        seconds: wall time of the fine-tuning's training.
        always_on: indices of the network's neurons placed on always-on neurons (the
            factors cannot model them; see the module docs).
        same_places: whether the tuned network sits where the original did (the factors
            are those places'; ``False`` means the placement moved neurons).
    """

    result: TrainResult
    mapped: MappedConfiguration
    before: Optional[float]
    after: Optional[float]
    chip: Dict[str, np.ndarray]
    twin_before: Optional[float]
    twin_after: Optional[float]
    seconds: float
    always_on: Tuple[int, ...]
    same_places: bool


def _model_of(result_or_model: Any) -> ChipModel:
    instance("result_or_model", result_or_model, (TrainResult, ChipModel), "a TrainResult or a ChipModel")
    return result_or_model.model if isinstance(result_or_model, TrainResult) else result_or_model


def _check_fits(model: ChipModel, mapped: MappedConfiguration) -> None:
    """The configuration holds the model's network: as many neurons and input channels."""
    n, c = model.layout.n_neurons, model.layout.n_inputs
    if len(mapped.neurons) != n or mapped.n_inputs != c:
        got = Shown(f"{len(mapped.neurons)} neurons and {mapped.n_inputs} input channels")
        raise ParameterValueError("mapped_configuration", f"the configuration of the model's network ({n} neurons, {c} input channels)", got)


def _ratio(chip: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """``(S, N)`` factors of typed weights ``(S, N, 4)``: the chip's weight over the nominal
    one on the synapse type the nominal weight uses (AMPA, else GABA); 1 where there is none."""
    out = np.ones(nominal.shape[:2])
    for kind in (SIGNED_INHIBITORY, SIGNED_EXCITATORY):  # a weight is one type; AMPA wins a tie
        k = int(kind)
        used = nominal[..., k] > 0
        out[used] = chip[..., k][used] / nominal[..., k][used]
    return out


def chip_factors(result_or_model: Any, mapped_configuration: Any, profile: Any) -> Dict[str, np.ndarray]:
    """The factors (``chip=`` of the trainers) that make the training model simulate what
    ``VirtualBoard(profile=profile)`` does with ``mapped_configuration`` (see the module
    docs for what is exact and what is approximate).

    Args:
        result_or_model: the trained network (a ``TrainResult``) or its ``ChipModel``.
        mapped_configuration: the network's configuration (a ``MappedConfiguration``
            whose neurons are the model's, in order, as ``config_from_specification`` writes).
        profile: the chip (a :class:`~rockpool_dynapse2.hardware.ChipProfile`).

    Returns:
        ``{name: factors}`` with the keys of :data:`~rockpool_dynapse2.training.model.CHIP_NAMES`,
        float32 numpy arrays of the model's shapes.

    Raises:
        ParameterValueError: an argument of the wrong type, or a configuration of another network.
    """
    model = _model_of(result_or_model)
    mapped = instance("mapped_configuration", mapped_configuration, MappedConfiguration)
    profile = instance("profile", profile, ChipProfile, "a ChipProfile")
    _check_fits(model, mapped)
    addresses = mapped.neurons
    nominal = profiled_weights(spec_from_config(mapped), addresses, ChipProfile.ideal())
    blanked = replace(mapped, configuration=without_defective_entries(mapped.configuration, profile))
    on_chip = profiled_weights(spec_from_config(blanked), addresses, profile)
    w_in, w_rec = (_ratio(c, n) for c, n in zip(on_chip, nominal))
    dead = _indices(addresses, profile.dead_neurons)
    w_rec[dead, :] = 0.0
    w_rec[:, dead] = 0.0
    w_in[:, dead] = 0.0
    factors = {k: np.asarray(v, np.float64) for k, v in neuron_factors_at(profile, addresses).items()}
    return model.check_chip({**factors, "w_in": w_in, "w_rec": w_rec})


def _indices(addresses: Tuple[Any, ...], which: Tuple[Tuple[int, int, int], ...]) -> np.ndarray:
    flawed = set(which)
    return np.array([j for j, a in enumerate(addresses) if (a.chip, a.core, a.neuron) in flawed], dtype=np.int64)


def always_on_in(mapped_configuration: Any, profile: Any) -> Tuple[int, ...]:
    """Indices of the configuration's neurons (in its ``neurons`` order) that sit on the
    profile's always-on neurons: what :func:`chip_factors` cannot model."""
    mapped = instance("mapped_configuration", mapped_configuration, MappedConfiguration)
    profile = instance("profile", profile, ChipProfile, "a ChipProfile")
    return tuple(int(j) for j in _indices(mapped.neurons, profile.always_on_neurons))


def board_accuracy(model: ChipModel, mapped: MappedConfiguration, profile: Optional[ChipProfile], x: np.ndarray,
                   y: np.ndarray, backend: str = "jax") -> float:
    """The accuracy of a configuration run on ``VirtualBoard(profile=profile)`` through
    ``DynapseSamna``, each sample from rest, scored by the model's readout.

    Args:
        model: the network's model (its readout: output groups).
        mapped: the configuration.
        profile: the chip (``None``: the ideal chip).
        x: inputs ``(B, T, C)``.
        y: labels ``(B,)``.
        backend: the board's simulation backend.
    """
    from ..hardware import DynapseSamna, VirtualBoard

    instance("model", model, ChipModel)
    instance("mapped", mapped, MappedConfiguration)
    x, y = model.check_data(x, y)
    counts = np.zeros((len(x), mapped.n_outputs), np.float32)
    with DynapseSamna(VirtualBoard(backend=choice("backend", backend, ("jax", "torch")), profile=profile), mapped) as mod:
        for b in range(len(x)):
            mod.reset_state()
            counts[b] = model.readout_counts(np.asarray(mod(x[b])[0][0])[None])[0]
    return model.output_accuracy(counts, y)


def _twin_accuracy(result: TrainResult, chip: Dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, backend: str) -> float:
    """The accuracy of ``result`` simulated by the training model on the chip ``chip``."""
    if backend == "jax":
        from ..training.jax_trainer import counts_jax

        counts = counts_jax(result.model, result.params, x, chip=chip)
    else:
        from ..training.torch_trainer import counts_torch

        counts = counts_torch(result.model, result.params, x, chip=chip)
    return result.model.accuracy(counts, y)


def _place(result: TrainResult, place: Placer) -> MappedConfiguration:
    """The network's configuration by ``place``, with the class map of its output groups and
    its readout window."""
    mapped = instance("place(spec)", place(spec_from_training(result)), MappedConfiguration, "a MappedConfiguration")
    return trained_readout(mapped, result.model)


@functools.lru_cache(maxsize=4)
def _tuned_model(model: ChipModel, epochs: int, learning_rate: float, deviation: float) -> ChipModel:
    """The model with the fine-tuning's settings: few epochs, no warm-up, no early stop,
    injection only around the chip (``deviation`` > 0), whole from the first step (no
    ramp from the training's settings: the network is trained already, and every epoch
    may be kept). One object per trained model and
    settings in a process: fine-tuning on chip after chip (a yield study) reuses the count
    functions of the twin accuracies, compiled once per model with the chip an argument.
    (The trainer's step holds the chip as a constant and compiles per chip: with the chip
    an argument instead, XLA rounds differently and the tuned networks change.)"""
    settings = replace(model.settings, epochs=epochs, learning_rate=learning_rate, warmup=0, patience=0,
                       inject=deviation > 0, deviation=deviation, inject_ramp=0)
    return ChipModel(model.layout, settings, model.connections)


def _train(model: ChipModel, x: np.ndarray, y: np.ndarray, params: Dict[str, Any], chip: Dict[str, np.ndarray],
           backend: str, progress: Optional[Callable]) -> TrainResult:
    if backend == "jax":
        from ..training.jax_trainer import train_jax

        return train_jax(model, x, y, progress=progress, params=params, chip=chip)
    from ..training.torch_trainer import train_torch

    return train_torch(model, x, y, progress=progress, params=params, chip=chip)


def fine_tune(result: Any, profile: Any, x: np.ndarray, y: np.ndarray, *, epochs: int = 5, learning_rate: float = 0.003,
              deviation: float = 0.0, place: Optional[Placer] = None, backend: Optional[str] = None,
              x_eval: Optional[np.ndarray] = None, y_eval: Optional[np.ndarray] = None,
              progress: Optional[Callable] = None, measure: bool = True) -> FineTuneResult:
    """Fine-tune a trained network on one chip's twin and write that chip's configuration.

    Places the network (``place``), translates the twin at those places into factors
    (:func:`chip_factors`), trains ``epochs`` epochs from the trained quantities on that
    chip alone (``deviation`` 0) or on that chip times random chips of ``deviation``
    (a margin for a twin's fitting error), with quantization, bias codes and per-core
    parameters in the loop as in training, keeps the epoch of lowest validation loss on
    the chip, and places the tuned network.

    Args:
        result: the trained network (a ``TrainResult`` trained with ``quantize``).
        profile: the chip's twin (a ``ChipProfile``); the accuracies are measured on it too.
        x: training inputs ``(n, T, C)`` (the settings' validation fraction is held out
            and measured on the chip).
        y: their labels ``(n,)``.
        epochs: fine-tuning epochs.
        learning_rate: Adam's learning rate (cosine decay, no warm-up).
        deviation: random mismatch around the twin, 0 (default: the twin alone) to
            :data:`~rockpool_dynapse2.transform.deviation.MAX_DEVIATION`.
        place: ``place(spec) -> MappedConfiguration`` (default:
            :func:`~rockpool_dynapse2.placement.config_from_specification`).
        backend: ``"jax"`` or ``"torch"`` (default: the one the result was trained with).
        x_eval: inputs for the before/after accuracies on the chip (default: ``x``).
        y_eval: their labels (default: ``y``).
        progress: called with every epoch's record.
        measure: measure the accuracies before and after, on the chip's board and in the
            model (``False``: they are ``None``; a caller that measures on its own board,
            as the yield study does, saves their runs; the tuned network is the same).

    Returns:
        A :class:`FineTuneResult`.
    """
    instance("result", result, TrainResult, "a TrainResult (from train_jax, train_torch or load_parameters)")
    profile = instance("profile", profile, ChipProfile, "a ChipProfile")
    epochs = integer("epochs", epochs, low=1)
    learning_rate = real_number("learning_rate", learning_rate, low=0.0, low_open=True, high=1.0)
    deviation = real_number("deviation", deviation, low=0.0, high=MAX_DEVIATION)
    place = config_from_specification if place is None else function("place", place, "a function place(spec) -> MappedConfiguration")
    backend = result.backend if backend is None else choice("backend", backend, ("jax", "torch"))
    model = result.model
    x, y = model.check_data(x, y)
    x_eval, y_eval = (x, y) if x_eval is None and y_eval is None else model.check_data(x_eval, y_eval)
    measure = instance("measure", measure, bool)
    mapped = _place(result, place)
    chip = chip_factors(result, mapped, profile)
    before = board_accuracy(model, mapped, profile, x_eval, y_eval, backend) if measure else None
    start = time.perf_counter()
    tuned = _train(_tuned_model(model, epochs, learning_rate, deviation), x, y, result.params, chip, backend, progress)
    seconds = time.perf_counter() - start
    tuned_mapped = _place(tuned, place)
    after = board_accuracy(tuned.model, tuned_mapped, profile, x_eval, y_eval, backend) if measure else None
    twin = [_twin_accuracy(r, chip, x_eval, y_eval, backend) if measure else None for r in (result, tuned)]
    return FineTuneResult(tuned, tuned_mapped, before, after, chip, *twin, seconds, always_on_in(tuned_mapped, profile),
                          tuned_mapped.neurons == mapped.neurons)
