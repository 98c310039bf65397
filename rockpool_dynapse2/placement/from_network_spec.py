"""Network spec -> chip configuration.

:func:`config_from_specification` places a quantized spec on the board
(:func:`~.allocate.allocate`, which checks every design rule) and writes:

* each used core's bias parameters: the codes of its (snapped) currents, the base
  weights ``SYAM_W0_P..SYAM_W3_P`` included;
* each neuron's CAM entries, one per synapse: the tag of its source on the neuron's
  chip, the dendrite of its synapse type, the 4-bit weight mask (entries 0, 1, ... in
  order, skipping the slot's defective entries when :class:`~.defects.Defects` are given);
* each neuron's SRAM entries: one per chip it reaches (target core mask, hops, its tag
  there) and, for output neurons, a monitoring entry to the FPGA;
* latches: ``latch_so_dc`` where the core's DC current is on, ``latch_so_adaptation``
  where its adaptation weight is (:attr:`CoreParameters.dc_on`, :attr:`~CoreParameters.adaptation_on`).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from ..chip import GEOMETRY, MONITOR_HOP, SYNAPSE_TYPES
from .allocate import Allocation, allocate, chip_position
from .mapped import InputRoute, MappedConfiguration, NeuronAddress
from .defects import Defects
from ..config.records import BLANK_SYNAPSE, Destination, Synapse
from ..config.tree import Configuration, Neuron

__all__ = ["config_from_specification"]


_ALL_CORES = (True,) * GEOMETRY.cores_per_chip


def _weight_bits(mask: int) -> Tuple[bool, ...]:
    """The 4 booleans of a 4-bit mask: bit ``k`` selects base weight ``k``."""
    return tuple(bool((int(mask) >> k) & 1) for k in range(GEOMETRY.base_weights))


def _synapses(j: int, chip: int, tables, bounds) -> List[Synapse]:
    """The CAM entries of neuron ``j`` on ``chip``: one per synapse onto it, in table order."""
    synapses: List[Synapse] = []
    for (table, tags), b in zip(tables, bounds):
        lo, hi = b[j], b[j + 1]
        for src, kind, mask in zip(table.source[lo:hi], table.kind[lo:hi], table.mask[lo:hi]):
            synapses.append(Synapse(dendrite=SYNAPSE_TYPES[kind], weight=_weight_bits(mask), tag=int(tags[src, chip])))
    return synapses


def _on_good_entries(synapses: List[Synapse], bad: Tuple[int, ...]) -> List[Synapse]:
    """``synapses`` laid on the CAM entries in order, a blank entry at each of ``bad``
    (the entries after the last synapse stay blank, as :meth:`Neuron.from_entries` pads them)."""
    if not bad:
        return synapses
    out: List[Synapse] = []
    pending = iter(synapses)
    remaining = len(synapses)
    for e in range(GEOMETRY.cam_entries):
        if not remaining:
            break
        if e in bad:
            out.append(BLANK_SYNAPSE)
            continue
        out.append(next(pending))
        remaining -= 1
    return out


def _destinations(j: int, chip: int, alloc: Allocation, output_tag: int) -> List[Destination]:
    """The SRAM entries of neuron ``j`` on ``chip``: one per chip it reaches, and a
    monitoring entry if it is an output (``output_tag >= 0``)."""
    destinations = [
        Destination(
            core=tuple(bool(b) for b in alloc.neuron_core_masks[j, c]),
            x_hop=chip_position(int(c))[0] - chip_position(chip)[0],
            y_hop=0,
            tag=int(alloc.neuron_tags[j, c]),
        )
        for c in np.flatnonzero(alloc.neuron_tags[j] >= 0)
    ]
    if output_tag >= 0:
        destinations.append(Destination(core=_ALL_CORES, x_hop=MONITOR_HOP, y_hop=MONITOR_HOP, tag=int(output_tag)))
    return destinations


def config_from_specification(spec, n_chips: Optional[int] = None, defects: Optional[Defects] = None) -> MappedConfiguration:
    """Build the chip configuration of a quantized network spec.

    Args:
        spec: a quantized :class:`~rockpool_dynapse2.mapping.NetworkSpec`
            (:func:`~rockpool_dynapse2.mapping.quantize_spec`).
        n_chips: chips on the board (default: as many as the spec needs).
        defects: the board's unusable neuron slots and CAM entries
            (:class:`~.defects.Defects`, e.g. ``ChipProfile.defects()``): neurons go to the
            good slots of their core, synapses to the good entries of their neuron.
            ``None`` (the default): the configuration without defects, as before.

    Returns:
        The :class:`~.mapped.MappedConfiguration`.

    Raises:
        ParameterValueError: the spec is not quantized, or ``defects`` is not a ``Defects``.
        Dynapse2DRCError: the network breaks design rules (all are listed), a core with
            too few good slots or a neuron with too few good CAM entries among them.
    """
    alloc = allocate(spec, n_chips, defects=defects)
    config = Configuration.empty(alloc.n_chips)

    for c, core in enumerate(spec.cores):
        members = np.flatnonzero(spec.core_of_neuron == c)
        if members.size == 0:
            continue
        chip, k = int(alloc.chip[members[0]]), int(alloc.core[members[0]])
        config = config.with_parameters(chip, k, core.to_codes(clip=True))

    is_output = np.full(spec.n_neurons, -1, dtype=np.int64)
    is_output[spec.output_neurons] = alloc.output_tags
    tables = (
        (spec.input_synapses, alloc.input_tags),
        (spec.recurrent_synapses, alloc.neuron_tags),
    )
    bounds = [np.searchsorted(t.target, np.arange(spec.n_neurons + 1)) for t, _ in tables]
    per_core: Dict[tuple, Dict[int, Neuron]] = {}
    for j in range(spec.n_neurons):
        chip, k, slot = int(alloc.chip[j]), int(alloc.core[j]), int(alloc.slot[j])
        core = spec.cores[spec.core_of_neuron[j]]
        neuron = Neuron.from_entries(
            _on_good_entries(_synapses(j, chip, tables, bounds), alloc.defects.bad_entries(chip, k, slot)),
            _destinations(j, chip, alloc, int(is_output[j])),
            latch_so_dc=core.dc_on,
            latch_so_adaptation=core.adaptation_on,
        )
        per_core.setdefault((chip, k), {})[slot] = neuron
    for (chip, k), neurons in per_core.items():
        config = config.with_core(chip, k, config.core(chip, k).with_neurons(neurons))

    inputs = tuple(
        tuple(InputRoute(c, mask, tag) for c, mask, tag in alloc.input_routes(i)) for i in range(spec.n_inputs)
    )
    neurons = tuple(NeuronAddress(int(a), int(b), int(s)) for a, b, s in zip(alloc.chip, alloc.core, alloc.slot))
    return MappedConfiguration(
        configuration=config,
        inputs=inputs,
        outputs=tuple(int(t) for t in alloc.output_tags),
        neurons=neurons,
        dt=spec.dt,
        Iscale=spec.Iscale,
    )
