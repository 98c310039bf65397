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

from typing import Any, Dict, List, Tuple, Union

import numpy as np

from ..chip import BIAS_PARAMETERS, SYNAPSE_TYPES, Dendrite
from ..errors import ParameterValueError
from ..mapping.simulate import dynapsim_net_from_spec
from ..mapping.network_spec import NetworkSpec, Synapses, level_table
from ..parameters.core import CoreParameters
from .allocate import MONITOR_HOP, chip_position
from .mapped import InputRoute, MappedConfiguration, NeuronAddress
from ..config.tree import Configuration

__all__ = ["spec_from_config", "dynapsim_net_from_config"]

_KIND = {d: k for k, d in enumerate(SYNAPSE_TYPES)}
_BIAS_NAMES = tuple(p.name for p in BIAS_PARAMETERS)
_BASES = ("SYAM_W0_P", "SYAM_W1_P", "SYAM_W2_P", "SYAM_W3_P")


def _chip_of_position(x: int) -> int:
    return x - chip_position(0)[0]


def _used_neurons(config: Configuration) -> List[NeuronAddress]:
    return [NeuronAddress(c, k, n) for c, k, n, neuron in config._neurons() if neuron.is_used]


def spec_from_config(config: Union[MappedConfiguration, Configuration], Iscale: float = None, dt: float = None):
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
    if isinstance(config, MappedConfiguration):
        tree, addresses, input_routes, output_tags = config.configuration, list(config.neurons), config.inputs, list(config.outputs)
        Iscale = config.Iscale if Iscale is None else Iscale
        dt = config.dt if dt is None else dt
    else:
        tree, addresses, input_routes, output_tags = config, _used_neurons(config), None, None
    Iscale = 1e-8 if Iscale is None else Iscale
    dt = 1e-3 if dt is None else dt
    neurons = [tree.neuron(a.chip, a.core, a.neuron) for a in addresses]

    # Logical cores: (chip, core, dc latch, adaptation latch) in order of first neuron.
    logical: Dict[Tuple[int, int, bool, bool], int] = {}
    core_of_neuron = np.empty(len(addresses), dtype=np.int64)
    for j, (a, neuron) in enumerate(zip(addresses, neurons)):
        key = (a.chip, a.core, bool(neuron.latch_so_dc), bool(neuron.latch_so_adaptation))
        core_of_neuron[j] = logical.setdefault(key, len(logical))
    cores, bases = [], np.zeros((len(logical), 4))
    for (chip, k, dc, adapt), c in logical.items():
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
        core = core.replace(**off) if off else core
        cores.append(core)
        bases[c] = [getattr(core, f"Iw_{b}") / Iscale for b in range(4)]

    # Who sends which tag where: (chip, tag) -> [(kind, index, core mask)].
    senders: Dict[Tuple[int, int], List[Tuple[str, int, Tuple[bool, ...]]]] = {}
    monitor_tag: Dict[int, int] = {}
    for j, (a, neuron) in enumerate(zip(addresses, neurons)):
        for d in neuron.destinations:
            if not d.is_used:
                continue
            if d.x_hop == MONITOR_HOP and d.y_hop == MONITOR_HOP:
                monitor_tag.setdefault(d.tag, j)
                continue
            target = _chip_of_position(chip_position(a.chip)[0] + d.x_hop)
            senders.setdefault((target, d.tag), []).append(("neuron", j, d.core))
    if input_routes is None:
        heard = sorted({(a.chip, s.tag) for a, neuron in zip(addresses, neurons) for s in neuron.synapses if s.is_used})
        orphans = [key for key in heard if key not in senders]
        input_routes = tuple((InputRoute(c, (True,) * 4, t),) for c, t in orphans)
    for i, routes in enumerate(input_routes):
        for r in routes:
            senders.setdefault((r.chip, r.tag), []).append(("input", i, r.core_mask))

    found: Dict[str, Dict[Tuple[int, int, int], int]] = {"input": {}, "neuron": {}}
    for j, (a, neuron) in enumerate(zip(addresses, neurons)):
        for s in neuron.synapses:
            if not s.is_used:
                continue
            kind = _KIND[Dendrite(s.dendrite)]
            mask = s.weight_mask
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
                found[source_kind][key] = mask

    # A base no mask of its core selects is unused: 0, as the quantizer writes it.
    for c in range(len(cores)):
        used = 0
        for entries in found.values():
            for (_, j, _), mask in entries.items():
                if core_of_neuron[j] == c:
                    used |= mask
        bases[c] = np.where([(used >> b) & 1 for b in range(4)], bases[c], 0.0)
    table = level_table(bases)

    def synapses(entries: Dict[Tuple[int, int, int], int]) -> Synapses:
        if not entries:
            return Synapses.empty(masked=True)
        keys = np.array(list(entries.keys()), dtype=np.int64)
        masks = np.array(list(entries.values()), dtype=np.int64)
        weights = table[core_of_neuron[keys[:, 1]], masks]
        keep = (masks > 0) & (weights > 0)
        return Synapses(keys[keep, 0], keys[keep, 1], keys[keep, 2], weights[keep], masks[keep])

    if output_tags is None:
        output_tags = sorted(monitor_tag)
    missing = [t for t in output_tags if t not in monitor_tag]
    if missing:
        raise ParameterValueError("outputs", "tags of neurons' monitoring entries", missing)
    return NetworkSpec(
        n_inputs=len(input_routes),
        n_neurons=len(addresses),
        input_synapses=synapses(found["input"]),
        recurrent_synapses=synapses(found["neuron"]),
        core_of_neuron=core_of_neuron,
        cores=tuple(cores),
        output_neurons=np.array([monitor_tag[t] for t in output_tags], dtype=np.int64),
        Iscale=Iscale,
        dt=dt,
        bases=bases,
    )


def dynapsim_net_from_config(config: Union[MappedConfiguration, Configuration], backend: str = "jax", **kwargs: Any):
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
