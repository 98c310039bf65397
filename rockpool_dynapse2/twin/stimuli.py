"""The probe's protocol and its stimuli: what :func:`~.probe.probe` sends and the fit replays.

A :class:`ProbeProtocol` fixes everything about a probe: the operating point of the probed
cores, the DC levels, the pulse-train rates, the durations. From it :func:`probe_runs`
derives the runs of one chip, each a configuration kind and an input raster; the same
function gives the fit the very rasters the board was sent (recordings keep the protocol,
not the rasters).

Every probed neuron listens on all 64 of its CAM entries, entry ``e`` to input channel
``e`` (the same channel for every neuron of the chip):

* ``entries``: every entry excitatory (AMPA). The run starts with a quiet window (no input,
  no DC: only an always-on neuron fires), then sends a burst to each channel in turn:
  entry ``e`` of every neuron is heard in window ``e`` alone.
* ``dc_<i>``: DC level ``i`` on every probed core, no input: the f-I curve.
* ``sweep_<i>`` (timing runs, if ``timing``): DC level ``sweep_levels[i]``, levels 12 %
  apart from just above the ideal neuron's rheobase (12 pA) to 6 times it, where the
  first-spike latency and the inter-spike intervals (0.1-0.4 s) are most sensitive to
  the threshold and to ``tau_mem``;
* ``refractory`` (timing): the strongest DC level with a refractory period of
  ``refractory_t_ref`` (50 ms): the intervals are the refractory period and a short charge;
* ``pulses`` (timing): single AMPA, then NMDA pulses of ``pulse_spikes`` input spikes on
  the type's 16 channels in one step (four amplitudes, 1 to 64 events per channel), each in
  its own window of ``pulse_steps``: the spikes after each pulse (1 to 5) and their timing
  give the synapse's gain and decay;
* ``pulses_inhibitory`` (timing): the same with GABA and SHUNT pulses, over a DC of
  ``pulse_dc`` that keeps the neuron firing: the pause after each pulse.
* ``weak_trains`` (timing): regular AMPA, then NMDA trains on one channel (``weak_channels``)
  at each rate of ``weak_rates``, whose mean current is a few times the rheobase: the
  intervals there are long and sensitive to the synapse's charge (gain times time constant);
* ``weak_trains_inhibitory`` (timing): GABA, then SHUNT trains on four channels over
  ``pulse_dc``, which slow the neuron toward its rheobase: the same for the inhibitory types.
* ``pulses_bias_<i>`` (timing): the inhibitory pulses of ``pulses_inhibitory`` over DC level
  ``pulse_bias_levels[i]`` instead of ``pulse_dc``: a strong pulse silences the neuron until
  its current has decayed to about the DC's excess over the leak, ``tau ln(J / excess)``
  later, so the pause's change between two DC levels is ``tau`` times the logarithm of
  their excesses' ratio whatever the gain ``J``: the time constant apart from the gain.
* ``synapses``: entries ``16 k .. 16 k + 15`` of synapse type ``k`` (AMPA, NMDA, GABA,
  SHUNT); a pulse of type ``k`` fires its 16 channels at once. Regular trains at each
  rate of ``train_rates`` on AMPA and on NMDA, then GABA and SHUNT trains at each rate of
  ``inhibitory_rates`` over an AMPA background, each segment after ``rest_steps`` of rest.
* ``mixture_<i>``: the synapse configuration driven by Poisson trains of all four types at
  random rates (8 segments), drawn from ``mixture_seeds[i]``: fitted, as the trains are;
* ``held_out`` (if asked): the same kind of stimulus drawn from ``held_out_seed``, a
  stimulus the fit never sees; the twin's prediction of it is its test.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, NamedTuple, Tuple

import numpy as np

from ..chip import GEOMETRY, SynapseType
from ..errors import ParameterValueError, Shown
from ..parameters.core import CoreParameters
from ..parameters.validate import integer, real_number

__all__ = ["ProbeProtocol", "ProbeRun", "probe_runs", "ENTRIES", "ENTRIES_PER_TYPE", "RUN_KINDS", "PULSE_ONSET"]

ENTRIES = GEOMETRY.cam_entries
"""CAM entries per neuron, all probed (64)."""

ENTRIES_PER_TYPE = ENTRIES // len(SynapseType)
"""Entries of each synapse type in the ``synapses`` configuration (16)."""

PULSE_ONSET = 50
"""The step of each pulse in its window of the ``pulses`` runs (the steps before it: the baseline)."""

RUN_KINDS = ("entries", "dc", "refractory", "synapses")
"""The configuration kinds of the runs."""


@dataclass(frozen=True)
class ProbeProtocol:
    """What a probe sends (see the module docs); every field is checked on construction.

    Attributes:
        neurons_per_core: neurons probed in each core (slots ``0 .. n - 1``).
        operating_point: high-level values of the probed cores
            (:meth:`~rockpool_dynapse2.parameters.CoreParameters.from_high_level`);
            the default lengthens the refractory period to 5 ms, so that it shapes the
            highest DC rates, and switches adaptation off.
        dc_levels: the DC currents (A) of the ``dc_<i>`` runs.
        dc_steps: steps of each DC run.
        train_rates: rates (Hz) of the AMPA and NMDA trains.
        inhibitory_rates: rates (Hz) of the GABA and SHUNT trains.
        background_rate: rate (Hz) of the AMPA background under the inhibitory trains.
        train_steps: steps of each train segment.
        rest_steps: steps of rest before each segment.
        pulse_weight: the weight (units of ``Iscale``) of an AMPA or NMDA pulse in the
            ``synapses`` configuration (16 entries of ``pulse_weight / 16`` each, base weight 0).
        inhibitory_weight: the weight of a GABA or SHUNT pulse (base weight 1).
        entry_weight: the weight of one entry in the ``entries`` configuration (its four
            base weights of ``entry_weight / 4`` each).
        quiet_steps: steps of the quiet window (always-on neurons).
        burst_spikes: spikes of each entry's burst (in one step).
        burst_steps: steps of each entry's window.
        bin_steps: steps per recorded bin.
        mixture_seeds: seeds of the fitted Poisson mixtures (one run each).
        held_out: also record the held-out run.
        held_out_seed: seed of the held-out stimulus (not one of ``mixture_seeds``).
        dt: time step (s).
        timing: also send the timing runs (``sweep_<i>``, ``refractory``, ``pulses``,
            ``pulses_inhibitory``, ``weak_trains``, ``weak_trains_inhibitory``, ``pulses_bias_<i>``).
        sweep_levels: DC currents (A) of the ``sweep_<i>`` runs.
        sweep_steps: steps of each sweep run.
        refractory_t_ref: the refractory period (s) of the ``refractory`` run.
        refractory_steps: steps of the ``refractory`` run.
        pulse_spikes: the input spikes of each pulse (its amplitudes), spread over the
            type's 16 channels in one step (16: one on each, the weight ``pulse_weight``).
        pulse_steps: steps of each pulse's window (the pulse at :data:`PULSE_ONSET`).
        pulse_dc: DC current (A) under the inhibitory pulses and weak trains.
        weak_rates: rates (Hz) of the weak trains.
        weak_channels: channels of each synapse type (AMPA, NMDA, GABA, SHUNT) a weak
            train drives.
        weak_steps: steps of each weak train.
        pulse_bias_levels: DC currents (A) of the ``pulses_bias_<i>`` runs (none: no such
            run; a protocol read without the key, written before they existed, has none).
    """

    neurons_per_core: int = GEOMETRY.neurons_per_core
    operating_point: Dict[str, float] = field(default_factory=lambda: {"t_ref": 5e-3, "Iw_ahp": 5e-13})
    dc_levels: Tuple[float, ...] = (3e-11, 1e-10, 1e-9, 1e-8, 1e-7)
    dc_steps: int = 500
    train_rates: Tuple[float, ...] = (10.0, 50.0, 250.0)
    inhibitory_rates: Tuple[float, ...] = (20.0, 100.0)
    background_rate: float = 250.0
    train_steps: int = 300
    rest_steps: int = 50
    pulse_weight: float = 2.0
    inhibitory_weight: float = 0.3
    entry_weight: float = 2.0
    quiet_steps: int = 200
    burst_spikes: int = 10
    burst_steps: int = 150
    bin_steps: int = 50
    mixture_seeds: Tuple[int, ...] = (2,)
    held_out: bool = True
    held_out_seed: int = 1
    dt: float = 1e-3
    timing: bool = True
    sweep_levels: Tuple[float, ...] = tuple(float(f"{14e-12 * 1.12**k:.4g}") for k in range(16))
    sweep_steps: int = 600
    refractory_t_ref: float = 0.05
    refractory_steps: int = 1000
    pulse_spikes: Tuple[int, ...] = (16, 64, 256, 1024)
    pulse_steps: int = 300
    pulse_dc: float = 1e-10
    weak_rates: Tuple[float, ...] = (20.0, 40.0, 80.0)
    weak_channels: Tuple[int, ...] = (1, 1, 4, 4)
    weak_steps: int = 600
    pulse_bias_levels: Tuple[float, ...] = (3e-11,)

    def __post_init__(self) -> None:
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        put("neurons_per_core", integer("neurons_per_core", self.neurons_per_core, low=1, high=GEOMETRY.neurons_per_core))
        for name in ("dc_steps", "train_steps", "rest_steps", "quiet_steps", "burst_spikes", "burst_steps", "bin_steps",
                     "sweep_steps", "refractory_steps", "weak_steps"):
            put(name, integer(name, getattr(self, name), low=1))
        for name in ("dc_levels", "train_rates", "inhibitory_rates", "sweep_levels", "weak_rates"):
            put(name, _positive_tuple(name, getattr(self, name)))
        for name in ("background_rate", "pulse_weight", "inhibitory_weight", "entry_weight", "dt", "refractory_t_ref", "pulse_dc"):
            put(name, real_number(name, getattr(self, name), low=0.0, low_open=True))
        put("held_out", bool(self.held_out))
        put("timing", bool(self.timing))
        put("weak_channels", tuple(integer(f"weak_channels[{i}]", v, low=1, high=ENTRIES_PER_TYPE) for i, v in enumerate(self.weak_channels)))
        if len(self.weak_channels) != len(SynapseType):
            raise ParameterValueError("weak_channels", "one count per synapse type (4)", Shown(f"{len(self.weak_channels)}"))
        put("pulse_bias_levels", _positive_tuple("pulse_bias_levels", self.pulse_bias_levels, at_least=0))
        put("pulse_spikes", tuple(integer(f"pulse_spikes[{i}]", v, low=1) for i, v in enumerate(self.pulse_spikes)))
        put("pulse_steps", integer("pulse_steps", self.pulse_steps, low=PULSE_ONSET + 1))
        put("held_out_seed", integer("held_out_seed", self.held_out_seed, low=0))
        put("mixture_seeds", tuple(integer(f"mixture_seeds[{i}]", v, low=0) for i, v in enumerate(self.mixture_seeds)))
        if self.held_out and self.held_out_seed in self.mixture_seeds:
            raise ParameterValueError("held_out_seed", "a seed no fitted mixture uses (not in `mixture_seeds`)", self.held_out_seed)
        put("operating_point", dict(self.operating_point))
        for name in ("dc_steps", "train_steps", "rest_steps", "quiet_steps", "burst_steps", "sweep_steps", "refractory_steps", "pulse_steps"):
            if getattr(self, name) % self.bin_steps:
                raise ParameterValueError(name, f"a multiple of `bin_steps` = {self.bin_steps}", getattr(self, name))
        self.core()  # the operating point must be a valid parameter set

    def core(self, dc: float = 0.0, kind: str = "dc") -> CoreParameters:
        """The probed cores' parameters, with DC current ``dc`` (A; 0: the DC input off),
        for a run of ``kind`` (the ``refractory`` kind has its own refractory period)."""
        high = {k: v for k, v in self.operating_point.items() if k != "Iw_ahp"}
        if kind == "refractory":
            high["t_ref"] = self.refractory_t_ref
        currents = CoreParameters.from_high_level(**high)
        io = currents.constants.Io
        return currents.replace(Idc=dc if dc > 0 else io, Iw_ahp=self.operating_point.get("Iw_ahp", io))

    def to_dict(self) -> Dict[str, Any]:
        """The protocol as JSON values."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Any) -> "ProbeProtocol":
        """The protocol of :meth:`to_dict` (without a ``timing`` key, as written before
        the timing runs existed: ``timing=False``).

        Raises:
            ParameterValueError: not a JSON object, an unknown key, or a bad value (by name).
        """
        if type(d) is not dict:
            raise ParameterValueError("protocol", "a JSON object", Shown(type(d).__name__))
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ParameterValueError(f"protocol.{unknown[0]}", f"absent: the keys are {', '.join(sorted(known))}", Shown("present"))
        d = {"timing": False, **d}  # a document without the key predates the timing runs
        d = {"pulse_bias_levels": [], **d}  # nor had the pulses over a DC bias
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def timing_runs(self) -> Tuple[str, ...]:
        """The names of the timing runs (none unless :attr:`timing`)."""
        if not self.timing:
            return ()
        return tuple(f"sweep_{i}" for i in range(len(self.sweep_levels))) + (
            "refractory", "pulses", "pulses_inhibitory", "weak_trains", "weak_trains_inhibitory") + tuple(
            f"pulses_bias_{i}" for i in range(len(self.pulse_bias_levels)))


def _positive_tuple(name: str, values: Any, at_least: int = 1) -> Tuple[float, ...]:
    """``values`` as positive floats, at least ``at_least`` of them."""
    out = tuple(real_number(f"{name}[{i}]", v, low=0.0, low_open=True) for i, v in enumerate(values))
    if len(out) < at_least:
        raise ParameterValueError(name, "at least one value", Shown("none"))
    return out


class ProbeRun(NamedTuple):
    """One run of a probe: its name, configuration kind, DC level and input raster."""

    name: str
    kind: str
    """One of :data:`RUN_KINDS`."""
    dc: float
    """The DC current (A) of the probed cores; 0: off."""
    raster: np.ndarray
    """``(T, 64)`` input spike counts, channel ``e`` to CAM entry ``e``."""


def _train(steps: int, rate: float, dt: float, phase: int = 0) -> np.ndarray:
    """``(steps,)`` a regular train of ``rate`` Hz (at least one step apart)."""
    x = np.zeros(steps, dtype=np.float32)
    x[phase :: max(1, int(round(1.0 / (rate * dt))))] = 1.0
    return x


def _segment(p: ProbeProtocol, drives: Dict[int, np.ndarray]) -> np.ndarray:
    """``(rest + train steps, 64)``: rest, then each type's train on its 16 channels."""
    x = np.zeros((p.rest_steps + p.train_steps, ENTRIES), dtype=np.float32)
    for k, train in drives.items():
        x[p.rest_steps :, k * ENTRIES_PER_TYPE : (k + 1) * ENTRIES_PER_TYPE] = train[:, None]
    return x


def _synapse_raster(p: ProbeProtocol) -> np.ndarray:
    """The ``synapses`` run: AMPA and NMDA trains, then GABA and SHUNT over AMPA."""
    n, dt = p.train_steps, p.dt
    parts = [_segment(p, {k: _train(n, r, dt)}) for k in (SynapseType.AMPA, SynapseType.NMDA) for r in p.train_rates]
    background = _train(n, p.background_rate, dt)
    parts += [
        _segment(p, {SynapseType.AMPA: background, k: _train(n, r, dt, phase=1)})
        for k in (SynapseType.GABA, SynapseType.SHUNT)
        for r in p.inhibitory_rates
    ]
    return np.concatenate(parts)


def _entry_raster(p: ProbeProtocol) -> np.ndarray:
    """The ``entries`` run: a quiet window, then a burst per channel in its own window."""
    x = np.zeros((p.quiet_steps + ENTRIES * p.burst_steps, ENTRIES), dtype=np.float32)
    for e in range(ENTRIES):
        x[p.quiet_steps + e * p.burst_steps, e] = p.burst_spikes
    return x


MIXTURE_SEGMENTS = 8
"""Segments of a mixture run (fitted or held out), each of ``rest_steps + train_steps``."""


def _mixture_raster(p: ProbeProtocol, seed: int) -> np.ndarray:
    """Poisson trains of all four types at random rates, in :data:`MIXTURE_SEGMENTS` segments."""
    rng = np.random.default_rng(seed)
    highest = (250.0, 150.0, 50.0, 20.0)
    parts = []
    for _ in range(MIXTURE_SEGMENTS):
        drives = {k: (rng.random(p.train_steps) < rng.uniform(0.1, 1.0) * highest[k] * p.dt).astype(np.float32) for k in range(4)}
        parts.append(_segment(p, drives))
    return np.concatenate(parts)


def _pulse_raster(p: ProbeProtocol, types: Tuple[SynapseType, ...]) -> np.ndarray:
    """Single pulses of each of ``types`` at each amplitude of ``pulse_spikes``, one per window."""
    parts = []
    for k in types:
        for n in p.pulse_spikes:
            x = np.zeros((p.pulse_steps, ENTRIES), dtype=np.float32)
            x[PULSE_ONSET, k * ENTRIES_PER_TYPE : (k + 1) * ENTRIES_PER_TYPE] = np.bincount(np.arange(n) % ENTRIES_PER_TYPE, minlength=ENTRIES_PER_TYPE)
            parts.append(x)
    return np.concatenate(parts)


def _timing_runs(p: ProbeProtocol) -> List[ProbeRun]:
    """The timing runs (see the module docs)."""
    runs = [ProbeRun(f"sweep_{i}", "dc", level, np.zeros((p.sweep_steps, ENTRIES), np.float32)) for i, level in enumerate(p.sweep_levels)]
    runs.append(ProbeRun("refractory", "refractory", max(p.dc_levels), np.zeros((p.refractory_steps, ENTRIES), np.float32)))
    runs.append(ProbeRun("pulses", "synapses", 0.0, _pulse_raster(p, (SynapseType.AMPA, SynapseType.NMDA))))
    inhibitory = _pulse_raster(p, (SynapseType.GABA, SynapseType.SHUNT))  # also over each pulse_bias_levels below
    runs.append(ProbeRun("pulses_inhibitory", "synapses", p.pulse_dc, inhibitory))
    runs.append(ProbeRun("weak_trains", "synapses", 0.0, _weak_raster(p, (SynapseType.AMPA, SynapseType.NMDA))))
    runs.append(ProbeRun("weak_trains_inhibitory", "synapses", p.pulse_dc, _weak_raster(p, (SynapseType.GABA, SynapseType.SHUNT))))
    runs += [ProbeRun(f"pulses_bias_{i}", "synapses", level, inhibitory) for i, level in enumerate(p.pulse_bias_levels)]
    return runs


def _weak_raster(p: ProbeProtocol, types: Tuple[SynapseType, ...]) -> np.ndarray:
    """Regular trains of each of ``types`` on ``weak_channels`` of its channels, at each rate
    of ``weak_rates``, one segment of ``weak_steps`` each."""
    parts = []
    for k in types:
        for rate in p.weak_rates:
            x = np.zeros((p.weak_steps, ENTRIES), dtype=np.float32)
            x[:, k * ENTRIES_PER_TYPE : k * ENTRIES_PER_TYPE + p.weak_channels[k]] = _train(p.weak_steps, rate, p.dt)[:, None]
            parts.append(x)
    return np.concatenate(parts)


def probe_runs(p: ProbeProtocol) -> List[ProbeRun]:
    """Every run of a probe of one chip, in the order the probe sends them."""
    runs = [ProbeRun("entries", "entries", 0.0, _entry_raster(p))]
    runs += [ProbeRun(f"dc_{i}", "dc", level, np.zeros((p.dc_steps, ENTRIES), np.float32)) for i, level in enumerate(p.dc_levels)]
    if p.timing:
        runs += _timing_runs(p)
    runs.append(ProbeRun("synapses", "synapses", 0.0, _synapse_raster(p)))
    runs += [ProbeRun(f"mixture_{i}", "synapses", 0.0, _mixture_raster(p, seed)) for i, seed in enumerate(p.mixture_seeds)]
    if p.held_out:
        runs.append(ProbeRun("held_out", "synapses", 0.0, _mixture_raster(p, p.held_out_seed)))
    return runs
