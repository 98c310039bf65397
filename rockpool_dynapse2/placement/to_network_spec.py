"""Chip configuration -> network spec -> simulation.

:func:`spec_from_config` reads what a configuration makes the chip compute:

* neurons: those of the map (in spec order), or every neuron with a used CAM or SRAM
  entry or a latch on, ordered by (chip, core, neuron);
* logical cores: one per used physical core (split where neurons of a core have different
  DC or adaptation latches), with currents from the bias codes; a latch that is off sets
  ``Idc`` / ``Iw_ahp`` to the dark current;
* synapses: each used CAM entry of a neuron on chip ``c`` listens to a tag; the sources
  that send that tag to chip ``c`` with the neuron's core in their core mask are a
  neuron's SRAM entries and the input channels' routes. The weight is the mask-selected
  sum of the core's base weights ``SYAM_W0_P..SYAM_W3_P``;
* outputs: neurons with a monitoring SRAM entry (hops -7, -7); output channel ``j`` is the
  neuron whose monitoring tag is the map's ``outputs[j]``.

Without channel maps (a bare :class:`~.tree.Configuration`), every (chip, tag) that CAMs
listen to but no neuron sends becomes an input channel, in (chip, tag) order, and outputs
are ordered by monitoring tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..chip import BIAS_PARAMETERS, GEOMETRY, MONITOR_HOP, SynapseType
from ..config.tree import Configuration, Neuron
from ..errors import ParameterValueError
from ..mapping.network_spec import BASE_WEIGHT_BIASES, NetworkSpec, Synapses, level_table
from ..mapping.simulate import dynapsim_net_from_spec
from ..parameters.core import CoreParameters
from .allocate import chip_position
from .mapped import InputRoute, MappedConfiguration, NeuronAddress

__all__ = ["spec_from_config", "dynapsim_net_from_config"]

_BIAS_NAMES = tuple(p.name for p in BIAS_PARAMETERS)
_ALL_CORES = (True,) * GEOMETRY.cores_per_chip
_TYPE_OF_DENDRITE = {t.dendrite: t for t in SynapseType}  # SynapseType.of_dendrite, as a fast lookup per CAM entry

Sender = Tuple[str, int, Tuple[bool, ...]]
"""``(source kind "input" or "neuron", its index, the core mask it sends to)``."""

Entries = Dict[Tuple[int, int, int], int]
"""``{(source, target neuron, synapse type): weight mask}`` of one source kind."""


@dataclass(frozen=True)
class _Reading:
    """What :func:`spec_from_config` reads: the tree, its neurons in spec order, the channel
    maps (None for a bare configuration), the weight unit and the time step."""

    tree: Configuration
    addresses: List[NeuronAddress]
    neurons: List[Neuron]
    input_routes: Optional[Sequence[Tuple[InputRoute, ...]]]
    output_tags: Optional[List[int]]
    Iscale: float
    dt: float


def _chip_of_position(x: int) -> int:
    return x - chip_position(0)[0]


def _used_neurons(config: Configuration) -> List[NeuronAddress]:
    return [NeuronAddress(c, k, n) for c, k, n, neuron in config.placed_neurons() if neuron.is_used]


def _reading(config: Union[MappedConfiguration, Configuration], Iscale: Optional[float], dt: Optional[float]) -> _Reading:
    """The neurons and maps of ``config``, and the weight unit and time step (the map's by default)."""
    if isinstance(config, MappedConfiguration):
        tree, addresses, input_routes, output_tags = config.configuration, list(config.neurons), config.inputs, list(config.outputs)
        Iscale = config.Iscale if Iscale is None else Iscale
        dt = config.dt if dt is None else dt
    else:
        tree, addresses, input_routes, output_tags = config, _used_neurons(config), None, None
    neurons = [tree.neuron(a.chip, a.core, a.neuron) for a in addresses]
    Iscale = 1e-8 if Iscale is None else Iscale
    dt = 1e-3 if dt is None else dt
    return _Reading(tree, addresses, neurons, input_routes, output_tags, Iscale, dt)


# --- cores ------------------------------------------------------------------------------------


def _logical_cores(r: _Reading) -> Tuple[Dict[Tuple[int, int, bool, bool], int], np.ndarray]:
    """Logical cores: ``{(chip, core, dc latch, adaptation latch): index}`` in order of first
    neuron, and ``(N,)`` the logical core of every neuron."""
    logical: Dict[Tuple[int, int, bool, bool], int] = {}
    core_of_neuron = np.empty(len(r.addresses), dtype=np.int64)
    for j, (a, neuron) in enumerate(zip(r.addresses, r.neurons)):
        key = (a.chip, a.core, bool(neuron.latch_so_dc), bool(neuron.latch_so_adaptation))
        core_of_neuron[j] = logical.setdefault(key, len(logical))
    return logical, core_of_neuron


def _core_parameters(tree: Configuration, chip: int, k: int, dc: bool, adapt: bool) -> CoreParameters:
    """The currents of core ``k`` of chip ``chip`` from its bias codes; a latch that is off
    sets ``Idc`` / ``Iw_ahp`` to the dark current."""
    codes = tree.core(chip, k).codes()
    missing = [name for name in _BIAS_NAMES if name not in codes]
    if missing:
        raise ParameterValueError(f"chip {chip} core {k} parameters", f"a code for every bias parameter (missing {', '.join(missing)})", len(codes))
    core = CoreParameters.from_codes({name: codes[name] for name in _BIAS_NAMES})
    off = {}
    if not dc:
        off["Idc"] = core.constants.Io
    if not adapt:
        off["Iw_ahp"] = core.constants.Io
    return core.replace(**off) if off else core


def _cores_and_bases(r: _Reading, logical: Dict[Tuple[int, int, bool, bool], int]) -> Tuple[List[CoreParameters], np.ndarray]:
    """Every logical core's parameters and ``(n_cores, 4)`` base weights (units of ``Iscale``)."""
    cores, bases = [], np.zeros((len(logical), len(BASE_WEIGHT_BIASES)))
    for (chip, k, dc, adapt), c in logical.items():
        core = _core_parameters(r.tree, chip, k, dc, adapt)
        cores.append(core)
        bases[c] = [getattr(core, p.current) / r.Iscale for p in BASE_WEIGHT_BIASES]
    return cores, bases


def _used_bases_only(bases: np.ndarray, found: Dict[str, Entries], core_of_neuron: np.ndarray) -> np.ndarray:
    """The bases with those no mask of their core selects set to 0, as the quantizer writes them."""
    bases = bases.copy()
    for c in range(len(bases)):
        used = 0
        for entries in found.values():
            for (_, j, _), mask in entries.items():
                if core_of_neuron[j] == c:
                    used |= mask
        bases[c] = np.where([(used >> b) & 1 for b in range(len(BASE_WEIGHT_BIASES))], bases[c], 0.0)
    return bases


# --- who sends what where ---------------------------------------------------------------------


def _neuron_senders(r: _Reading) -> Tuple[Dict[Tuple[int, int], List[Sender]], Dict[int, int]]:
    """``({(chip, tag): senders}, {monitoring tag: neuron})`` from the neurons' SRAM entries."""
    senders: Dict[Tuple[int, int], List[Sender]] = {}
    monitor_tag: Dict[int, int] = {}
    for j, (a, neuron) in enumerate(zip(r.addresses, r.neurons)):
        for d in neuron.destinations:
            if not d.is_used:
                continue
            if d.x_hop == MONITOR_HOP and d.y_hop == MONITOR_HOP:
                monitor_tag.setdefault(d.tag, j)
                continue
            target = _chip_of_position(chip_position(a.chip)[0] + d.x_hop)
            senders.setdefault((target, d.tag), []).append(("neuron", j, d.core))
    return senders, monitor_tag


def _orphan_routes(r: _Reading, senders: Dict[Tuple[int, int], List[Sender]]) -> Tuple[Tuple[InputRoute, ...], ...]:
    """Input channels of a bare configuration: every (chip, tag) that CAMs listen to but no
    neuron sends, in (chip, tag) order."""
    heard = sorted({(a.chip, s.tag) for a, neuron in zip(r.addresses, r.neurons) for s in neuron.synapses if s.is_used})
    orphans = [key for key in heard if key not in senders]
    return tuple((InputRoute(c, _ALL_CORES, t),) for c, t in orphans)


def _add_input_senders(senders: Dict[Tuple[int, int], List[Sender]], input_routes: Sequence[Tuple[InputRoute, ...]]) -> None:
    for i, routes in enumerate(input_routes):
        for route in routes:
            senders.setdefault((route.chip, route.tag), []).append(("input", i, route.core_mask))


def _cam_entries(r: _Reading, senders: Dict[Tuple[int, int], List[Sender]]) -> Dict[str, Entries]:
    """``{"input": entries, "neuron": entries}``: the synapse every used CAM entry makes
    with every source that sends its tag to the neuron's core.

    Raises:
        ParameterValueError: two CAM entries of one neuron for one source and dendrite.
    """
    found: Dict[str, Entries] = {"input": {}, "neuron": {}}
    for j, (a, neuron) in enumerate(zip(r.addresses, r.neurons)):
        for s in neuron.synapses:
            if not s.is_used:
                continue
            kind = _TYPE_OF_DENDRITE[s.dendrite]
            for source_kind, src, core_mask in senders.get((a.chip, s.tag), ()):
                if not core_mask[a.core]:
                    continue
                key = (src, j, kind)
                if key in found[source_kind]:
                    raise ParameterValueError(
                        f"neuron (chip {a.chip}, core {a.core}, neuron {a.neuron})",
                        "one CAM entry per source and dendrite",
                        f"two entries for {source_kind} {src}",
                    )
                found[source_kind][key] = s.weight_mask
    return found


# --- the spec ---------------------------------------------------------------------------------


def _synapses(entries: Entries, table: np.ndarray, core_of_neuron: np.ndarray) -> Synapses:
    """The synapse table of CAM entries; weights are the mask-selected levels of the target's core."""
    if not entries:
        return Synapses.empty(masked=True)
    keys = np.array(list(entries.keys()), dtype=np.int64)
    masks = np.array(list(entries.values()), dtype=np.int64)
    weights = table[core_of_neuron[keys[:, 1]], masks]
    keep = (masks > 0) & (weights > 0)
    return Synapses(keys[keep, 0], keys[keep, 1], keys[keep, 2], weights[keep], masks[keep])


def _output_neurons(output_tags: Optional[List[int]], monitor_tag: Dict[int, int]) -> np.ndarray:
    """The neuron of every output channel (by monitoring tag; all tags in order if no map)."""
    if output_tags is None:
        output_tags = sorted(monitor_tag)
    missing = [t for t in output_tags if t not in monitor_tag]
    if missing:
        raise ParameterValueError("outputs", "tags of neurons' monitoring entries", missing)
    return np.array([monitor_tag[t] for t in output_tags], dtype=np.int64)


def spec_from_config(
    config: Union[MappedConfiguration, Configuration], Iscale: Optional[float] = None, dt: Optional[float] = None
) -> NetworkSpec:
    """The network spec (quantized) a configuration implements.

    Args:
        config: a :class:`~.mapped.MappedConfiguration` (with channel maps) or a bare
            :class:`~.tree.Configuration`.
        Iscale: weight unit (A); default the map's, else 10 nA.
        dt: time step (s); default the map's, else 1 ms.

    Returns:
        A quantized :class:`~rockpool_dynapse2.mapping.NetworkSpec`.

    Raises:
        ParameterValueError: a core without a code for a bias parameter, or two CAM entries
            of one neuron listening to the same source with the same dendrite.
    """
    r = _reading(config, Iscale, dt)
    logical, core_of_neuron = _logical_cores(r)
    cores, bases = _cores_and_bases(r, logical)
    senders, monitor_tag = _neuron_senders(r)
    input_routes = _orphan_routes(r, senders) if r.input_routes is None else r.input_routes
    _add_input_senders(senders, input_routes)
    found = _cam_entries(r, senders)
    bases = _used_bases_only(bases, found, core_of_neuron)
    output_neurons = _output_neurons(r.output_tags, monitor_tag)
    table = level_table(bases)
    input_synapses = _synapses(found["input"], table, core_of_neuron)
    recurrent_synapses = _synapses(found["neuron"], table, core_of_neuron)
    return NetworkSpec(
        n_inputs=len(input_routes),
        n_neurons=len(r.addresses),
        input_synapses=input_synapses,
        recurrent_synapses=recurrent_synapses,
        core_of_neuron=core_of_neuron,
        cores=tuple(cores),
        output_neurons=output_neurons,
        Iscale=r.Iscale,
        dt=r.dt,
        bases=bases,
    )


def dynapsim_net_from_config(config: Union[MappedConfiguration, Configuration], backend: str = "jax", **kwargs: Any) -> Any:
    """Rebuild the network a configuration implements, as a simulation.

    Args:
        config: a :class:`~.mapped.MappedConfiguration` or bare :class:`~.tree.Configuration`.
        backend: ``"jax"`` or ``"torch"``.
        **kwargs: passed to :func:`~rockpool_dynapse2.mapping.dynapsim_net_from_spec`.

    Returns:
        The Rockpool network, ``Sequential(Linear, DynapSim)``: its input is the
        configuration's input channels, its output ``(B, T, N)`` the spikes of every neuron
        in the order of ``config.neurons``; output channel ``j`` is neuron
        ``spec_from_config(config).output_neurons[j]``.
    """
    return dynapsim_net_from_spec(spec_from_config(config), backend, **kwargs)
