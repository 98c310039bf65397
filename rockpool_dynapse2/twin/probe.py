"""Probing a board: :func:`probe` runs the protocol's stimuli and records every neuron's spikes.

For each probed chip the probe builds, through the package's own placement
(:class:`~rockpool_dynapse2.mapping.NetworkSpec` ->
:func:`~rockpool_dynapse2.placement.config_from_specification`), one configuration per run
kind of :mod:`.stimuli` (isolated neurons of the probed cores, each listening to the 64
input channels on its 64 CAM entries, each monitored), applies it to the board and sends
the run's raster through the driver (:class:`~rockpool_dynapse2.hardware.DynapseSamna`):
only the board protocol is used, so a samna board is probed as a virtual one.

The result, :class:`ProbeRecordings`, keeps the protocol, every neuron's spike counts in
bins of ``bin_steps`` and every spike's time step (the
configurations and rasters follow from the protocol); it is saved as JSON
(:meth:`ProbeRecordings.save`) and read back identically.

Cost (the default protocol): 31 runs per chip, 9.8 s (entries) + 5 x 0.5 s (DC) + 25.0 s
(the timing runs: 16 x 0.6 s sweep, 1 s refractory, 3 x 2.4 s pulses, 2 x 3.6 s weak
trains) + 3.5 s (synapses) + 2.8 s (a mixture) + 2.8 s (held out) = 46.4 s of chip time
(21.4 s without the timing runs); the wall time on the virtual board is what
``benchmarks/twin_fit.py`` prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from .._json import loads, read_json_file, write_json_file
from ..chip import BASE_WEIGHT_BIASES, GEOMETRY, SynapseType
from ..errors import ParameterValueError, ProbeError, Shown, json_shown
from ..hardware.board import Board
from ..hardware.driver import DynapseSamna
from ..mapping.network_spec import NetworkSpec, Synapses
from ..parameters.validate import instance
from ..placement.from_network_spec import config_from_specification
from ..placement.mapped import MappedConfiguration
from .stimuli import ENTRIES, ENTRIES_PER_TYPE, ProbeProtocol, ProbeRun, probe_runs

__all__ = ["ChipRecording", "ProbeRecordings", "probe", "probe_configuration", "FORMAT"]

ISCALE = 1e-8
"""The probe's weight unit (A): a weight of 1.0 is 10 nA."""

FORMAT = "rockpool-dynapse2/probe-recordings/1"
"""The ``format`` tag of the recordings' JSON."""


def _entry_table(kind: str, bases: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(types, masks, weights)`` of one neuron's 64 entries: all AMPA of mask 15 (the four
    base weights, ``entries``), or 16 entries per synapse type, AMPA and NMDA of mask 1
    (base weight 0), GABA and SHUNT of mask 2 (base weight 1)."""
    if kind == "entries":
        types = np.zeros(ENTRIES, np.int64)
        masks = np.full(ENTRIES, GEOMETRY.weight_levels - 1)
    else:
        types = np.arange(ENTRIES) // ENTRIES_PER_TYPE
        masks = np.where(types < SynapseType.GABA, 1, 2)
    weights = np.array([bases[(m >> np.arange(GEOMETRY.base_weights)) & 1 == 1].sum() for m in masks])
    return types, masks, weights


def _bases(protocol: ProbeProtocol, kind: str) -> np.ndarray:
    """The four base weights (units of ``Iscale``) of a run kind's cores."""
    if kind == "entries":
        return np.full(GEOMETRY.base_weights, protocol.entry_weight / GEOMETRY.base_weights)
    return np.array([protocol.pulse_weight, protocol.inhibitory_weight, protocol.pulse_weight, protocol.pulse_weight]) / ENTRIES_PER_TYPE


def _synapses(n_neurons: int, kind: str, bases: np.ndarray) -> Synapses:
    """Every neuron listening to channel ``e`` on entry ``e`` (see :func:`_entry_table`)."""
    types, masks, weights = _entry_table(kind, bases)
    source = np.tile(np.arange(ENTRIES), n_neurons)
    target = np.repeat(np.arange(n_neurons), ENTRIES)
    return Synapses(source, target, np.tile(types, n_neurons), np.tile(weights, n_neurons), np.tile(masks, n_neurons))


def probe_spec(protocol: ProbeProtocol, chip: int, cores: Sequence[int], run: ProbeRun) -> NetworkSpec:
    """The network of one run on one chip: ``neurons_per_core`` isolated neurons in each of
    ``cores``, logical core ``4 chip + core`` (so placement puts it there)."""
    n = protocol.neurons_per_core
    n_neurons = n * len(cores)
    bases = _bases(protocol, run.kind)
    first = chip * GEOMETRY.cores_per_chip
    core_of_neuron = np.repeat([first + k for k in cores], n)
    n_logical = first + GEOMETRY.cores_per_chip
    core = protocol.core(run.dc, run.kind).replace(**{p.current: b * ISCALE for p, b in zip(BASE_WEIGHT_BIASES, bases)})
    return NetworkSpec(
        n_inputs=ENTRIES,
        n_neurons=n_neurons,
        input_synapses=_synapses(n_neurons, run.kind, bases),
        recurrent_synapses=Synapses.empty(masked=True),
        core_of_neuron=core_of_neuron,
        cores=(core,) * n_logical,
        output_neurons=np.arange(n_neurons),
        Iscale=ISCALE,
        dt=protocol.dt,
        bases=np.tile(bases, (n_logical, 1)),
    )


def probe_configuration(protocol: ProbeProtocol, chip: int, cores: Sequence[int], run: ProbeRun) -> MappedConfiguration:
    """The configuration of one run on one chip (see :func:`probe_spec`)."""
    return config_from_specification(probe_spec(protocol, chip, cores, run))


@dataclass(frozen=True, eq=False)
class ChipRecording:
    """What one chip answered.

    Attributes:
        chip: the chip.
        cores: the probed cores.
        counts: ``{run name: (bins, n_neurons) spike counts}``; neuron ``j`` is
            :attr:`addresses` ``[j]`` (the same for every run).
        spikes: ``{run name: (n_spikes, 2) (step, neuron)}``, every spike of every run (the
            event times the board reports, in steps), a neuron firing ``k`` spikes in a
            step listed ``k`` times. Recordings of an earlier format have none.

    The configurations are not stored: :meth:`configuration` rebuilds each from the protocol.
    """

    chip: int
    cores: Tuple[int, ...]
    counts: Dict[str, np.ndarray]
    spikes: Dict[str, np.ndarray] = field(default_factory=dict)

    def raster(self, run: ProbeRun) -> np.ndarray:
        """``(T, n_neurons)`` spikes per step of ``run``, from :attr:`spikes`."""
        n = self.counts[run.name].shape[1]
        out = np.zeros((run.raster.shape[0], n), dtype=np.float32)
        events = self.spikes[run.name]
        np.add.at(out, (events[:, 0], events[:, 1]), 1.0)
        return out

    def configuration(self, protocol: ProbeProtocol, run: ProbeRun) -> MappedConfiguration:
        """The configuration ``run`` was recorded with."""
        return probe_configuration(protocol, self.chip, self.cores, run)

    def addresses(self, protocol: ProbeProtocol) -> Tuple[Tuple[int, int, int], ...]:
        """``(chip, core, neuron)`` of every recorded neuron, in order."""
        return tuple((self.chip, k, n) for k in self.cores for n in range(protocol.neurons_per_core))


@dataclass(frozen=True, eq=False)
class ProbeRecordings:
    """A probe's record: the protocol and every chip's answers (JSON-saveable)."""

    protocol: ProbeProtocol
    chips: Tuple[ChipRecording, ...]

    def to_dict(self) -> Dict[str, Any]:
        """The JSON document."""
        chips = [{"chip": c.chip, "cores": list(c.cores), "counts": {k: v.astype(int).tolist() for k, v in c.counts.items()},
                  "spikes": {k: v.astype(int).tolist() for k, v in c.spikes.items()}}
                 for c in self.chips]
        return {"format": FORMAT, "protocol": self.protocol.to_dict(), "chips": chips}

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text; :meth:`from_json` reads it back identically."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ProbeRecordings":
        """Recordings from :meth:`to_json`'s text.

        Raises:
            ParameterValueError: text that is not JSON or not a recordings document (by path).
        """
        d = loads(text, "probe recordings JSON")
        if type(d) is not dict or d.get("format") != FORMAT:
            shown = Shown(repr(d.get("format")) if type(d) is dict else type(d).__name__)
            raise ParameterValueError("format", repr(FORMAT), shown)
        protocol = ProbeProtocol.from_dict(d.get("protocol"))
        chips = d.get("chips")
        if type(chips) is not list:
            raise ParameterValueError("chips", "a JSON list", Shown(type(chips).__name__))
        return cls(protocol, tuple(_chip_from_dict(f"chips[{i}]", c) for i, c in enumerate(chips)))

    def save(self, path: Union[str, Path], compress: Optional[bool] = None) -> Path:
        """Write the JSON to ``path`` (gzip-compressed if the name ends in ``.gz``)."""
        return write_json_file(path, self.to_json(), compress)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "ProbeRecordings":
        """Read recordings that :meth:`save` wrote."""
        return cls.from_json(read_json_file(path, "probe recordings file"))


def _chip_from_dict(where: str, d: Any) -> ChipRecording:
    if type(d) is not dict or not {"chip", "cores", "counts"} <= set(d) <= {"chip", "cores", "counts", "spikes"}:
        raise ParameterValueError(where, "an object with the keys chip, cores, counts (and spikes)", Shown(json_shown(d)))
    if type(d["counts"]) is not dict:
        raise ParameterValueError(f"{where}.counts", "a JSON object {run name: counts}", Shown(json_shown(d["counts"])))
    counts = {}
    for k, v in d["counts"].items():
        a = np.asarray(v)
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer) or (a < 0).any():
            shown = Shown(f"an array of shape {a.shape}, dtype {a.dtype}")
            raise ParameterValueError(f"{where}.counts.{k}", "a list of bins, each a list of spike counts >= 0", shown)
        counts[k] = a.astype(np.int64)
    return ChipRecording(int(d["chip"]), tuple(int(c) for c in d["cores"]), counts, _spikes_from_dict(where, d.get("spikes", {})))


def _spikes_from_dict(where: str, d: Any) -> Dict[str, np.ndarray]:
    if type(d) is not dict:
        raise ParameterValueError(f"{where}.spikes", "a JSON object {run name: [[step, neuron], ...]}", Shown(json_shown(d)))
    spikes = {}
    for k, v in d.items():
        a = np.asarray(v, dtype=np.int64) if v else np.zeros((0, 2), np.int64)
        if a.ndim != 2 or a.shape[1] != 2 or (a < 0).any():
            raise ParameterValueError(f"{where}.spikes.{k}", "a list of [step, neuron] pairs of integers >= 0", Shown(f"an array of shape {a.shape}"))
        spikes[k] = a
    return spikes


# --- running a probe ------------------------------------------------------------------------


def _selection(board: Board, chips: Optional[Sequence[int]], cores: Optional[Sequence[int]]) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """The chips and cores to probe, each checked against the board."""
    n_chips = board.capabilities.n_chips
    chips = tuple(range(n_chips)) if chips is None else tuple(chips)
    cores = tuple(range(GEOMETRY.cores_per_chip)) if cores is None else tuple(cores)
    for name, values, limit in (("chips", chips, n_chips), ("cores", cores, GEOMETRY.cores_per_chip)):
        bad = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < limit]
        if not values or bad or len(set(values)) != len(values):
            shown = Shown(repr(bad[0]) if bad else ("none" if not values else "one given twice"))
            raise ParameterValueError(name, f"distinct integers in 0..{limit - 1} (the board's {name})", shown)
    return tuple(int(c) for c in chips), tuple(int(k) for k in sorted(cores))


def _record(board: Board, config: MappedConfiguration, run: ProbeRun, protocol: ProbeProtocol, where: str) -> np.ndarray:
    """Run one raster; ``(T, n_neurons)`` spikes per step. Refuses output from unknown neurons."""
    with_state = board.capabilities.can_reset
    driver = DynapseSamna(board, config)
    if with_state:
        driver.reset_state()
    out, _, rec = driver(run.raster[None], record=True)
    if rec["counts"]["unknown_tag"]:
        raise ProbeError(f"{where} output events", "from the probed neurons only (monitoring tags of the configuration)",
                         Shown(f"{rec['counts']['unknown_tag']} events with other tags"))
    return np.asarray(out[0], dtype=np.int64)


def _events(raster: np.ndarray) -> np.ndarray:
    """``(n_spikes, 2)`` ``(step, neuron)`` of a ``(T, N)`` raster, ``k`` spikes listed ``k`` times."""
    steps, neurons = np.nonzero(raster)
    return np.repeat(np.stack([steps, neurons], axis=1), raster[steps, neurons], axis=0).astype(np.int64)


def probe_chip(board: Board, chip: int, cores: Sequence[int], protocol: ProbeProtocol) -> ChipRecording:
    """Every run of the protocol on one chip."""
    counts, spikes = {}, {}
    for run in probe_runs(protocol):
        config = probe_configuration(protocol, chip, cores, run)
        raster = _record(board, config, run, protocol, f"chip {chip}, run {run.name!r}:")
        steps = raster.shape[0] - raster.shape[0] % protocol.bin_steps
        counts[run.name] = raster[:steps].reshape(-1, protocol.bin_steps, raster.shape[1]).sum(axis=1)
        spikes[run.name] = _events(raster)
    total = sum(int(c.sum()) for c in counts.values())
    if total == 0:
        raise ProbeError(f"chip {chip} spikes", "at least one over the whole probe (a board that sends no events cannot be probed)", 0)
    return ChipRecording(chip, tuple(cores), counts, spikes)


def probe(
    board: Board,
    *,
    chips: Optional[Sequence[int]] = None,
    cores: Optional[Sequence[int]] = None,
    protocol: Optional[ProbeProtocol] = None,
) -> ProbeRecordings:
    """Probe ``board``: every run of ``protocol`` on every chip of ``chips`` (see the module docs).

    Args:
        board: an open board (virtual or samna).
        chips: chips to probe (default: every chip of the board), one after the other.
        cores: cores of each chip to probe (default: all four).
        protocol: the stimuli (default :class:`~.stimuli.ProbeProtocol`).

    Returns:
        The :class:`ProbeRecordings`.

    Raises:
        ParameterValueError: a chip the board does not have, a core outside 0..3, a
            protocol that is not a :class:`~.stimuli.ProbeProtocol`.
        ProbeError: a chip that sent no spike at all over the probe, or spikes of neurons
            the probe did not place.
        BoardError: the board failed (see :class:`~rockpool_dynapse2.hardware.DynapseSamna`).
    """
    instance("board", board, Board, "a board (VirtualBoard, SamnaBoard, ...)")
    protocol = ProbeProtocol() if protocol is None else instance("protocol", protocol, ProbeProtocol)
    chips, cores = _selection(board, chips, cores)
    return ProbeRecordings(protocol, tuple(probe_chip(board, c, cores, protocol) for c in chips))
