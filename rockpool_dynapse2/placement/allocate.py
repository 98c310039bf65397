"""Placing a network spec on chips: neurons, tags, CAM and SRAM (destination) entries.

:func:`allocate` decides, for a quantized :class:`~rockpool_dynapse2.mapping.NetworkSpec`:

* **placement**: logical core ``c`` goes to chip ``c // 4``, core ``c % 4``; its neurons
  take slots 0, 1, ... in order, skipping the bad slots of :class:`~.defects.Defects` if
  given (each synapse then also skips its neuron's defective CAM entries, in
  :func:`~.from_network_spec.config_from_specification`);
* **tags**: on every chip, each source that has synapses there (input channels first,
  then neurons, each in index order) gets the next free tag; tag 2047 is reserved for
  the driver's clock-reading control events;
* **destinations**: a neuron sends one SRAM entry per chip it reaches (core mask = the
  cores there holding its targets, hops = the chips' distance) and, if it is an output,
  one monitoring entry to the FPGA (``x_hop = y_hop = -7``, tag = output channel);
* **input routes**: input channel ``i`` is injected on every chip it reaches with its tag
  there and the core mask of its targets.

Every design rule is checked and all violations are raised together as one
:class:`~.drc.Dynapse2DRCError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ..chip import BIAS_PARAMETERS, CONTROL_TAG, GEOMETRY, MONITOR_HOP, ChipGeometry
from ..errors import CurrentRangeError, ParameterValueError
from ..parameters.biasgen import code_from_current
from ..parameters.validate import instance
from ..mapping.network_spec import BASE_WEIGHT_BIASES
from .defects import Defects
from .drc import Violation, raise_violations

__all__ = ["CONTROL_TAG", "MONITOR_HOP", "Allocation", "allocate", "chip_position"]



def chip_position(chip: int) -> Tuple[int, int]:
    """Grid position ``(x, y)`` of a chip: chips sit in a row east of the FPGA."""
    return chip + 1, 0


@dataclass(frozen=True)
class Allocation:
    """Where everything of a spec goes on the board.

    Attributes:
        n_chips: chips used.
        chip, core, slot: ``(N,)`` chip, core within the chip (0..3) and neuron within the
            core (0..255) of every neuron.
        input_tags: ``(n_inputs, n_chips)`` tag of every input channel on every chip, -1
            where the channel has no synapse on that chip.
        neuron_tags: ``(N, n_chips)`` likewise for neurons as sources.
        input_core_masks: ``(n_inputs, n_chips, 4)`` cores holding the channel's targets.
        neuron_core_masks: ``(N, n_chips, 4)`` likewise for neurons.
        output_tags: ``(n_outputs,)`` tag of each output channel's monitoring events.
        defects: the board's defects placement avoided (none by default): each neuron's
            synapses go to the good CAM entries of its slot (``defects.good_entries``).
    """

    n_chips: int
    chip: np.ndarray
    core: np.ndarray
    slot: np.ndarray
    input_tags: np.ndarray
    neuron_tags: np.ndarray
    input_core_masks: np.ndarray
    neuron_core_masks: np.ndarray
    output_tags: np.ndarray
    defects: Defects = Defects()

    def input_routes(self, channel: int) -> Iterator[Tuple[int, Tuple[bool, bool, bool, bool], int]]:
        """``(chip, core mask, tag)`` for every chip where input ``channel`` must be injected."""
        for c in np.flatnonzero(self.input_tags[channel] >= 0):
            yield int(c), tuple(bool(b) for b in self.input_core_masks[channel, c]), int(self.input_tags[channel, c])

    def where(self, neuron: int) -> str:
        """Human-readable location of a neuron."""
        return f"neuron {neuron} (chip {self.chip[neuron]}, core {self.core[neuron]}, neuron {self.slot[neuron]})"


def _sources_by_chip(source: np.ndarray, target_chip: np.ndarray, target_core: np.ndarray, n_sources: int, n_chips: int, cores: int):
    """``(present (n_sources, n_chips), core masks (n_sources, n_chips, cores))``."""
    present = np.zeros((n_sources, n_chips), dtype=bool)
    masks = np.zeros((n_sources, n_chips, cores), dtype=bool)
    present[source, target_chip] = True
    masks[source, target_chip, target_core] = True
    return present, masks


def _bias_range_violations(spec, cores_per_chip: int) -> List[Violation]:
    """Bias currents of the spec's cores that the chip cannot produce (the base weights
    come from the quantization and are not checked)."""
    cpc = cores_per_chip
    violations = []
    for c, params in enumerate(spec.cores):
        for p in BIAS_PARAMETERS:
            if p in BASE_WEIGHT_BIASES:
                continue
            try:
                code_from_current(p, getattr(params, p.current))
            except CurrentRangeError as err:
                violations.append(
                    Violation(
                        "bias_range",
                        f"[{err.low:.3g}, {err.high:.3g}] A",
                        f"{getattr(params, p.current):.3g} A",
                        f"logical core {c} (chip {c // cpc}, core {c % cpc}), {p.name}",
                    )
                )
    return violations


def _tags(
    in_present: np.ndarray, n_present: np.ndarray, tag_limit: int, violations: List[Violation]
) -> Tuple[np.ndarray, np.ndarray]:
    """``(input tags (n_inputs, n_chips), neuron tags (N, n_chips))``: on every chip, input
    channels first, then neurons, each in index order; -1 where a source has no synapse.
    A chip that needs more than ``tag_limit`` tags adds a violation and gets none."""
    n_chips = in_present.shape[1]
    input_tags = np.full(in_present.shape, -1, dtype=np.int64)
    neuron_tags = np.full(n_present.shape, -1, dtype=np.int64)
    for c in range(n_chips):
        n_in_c = int(in_present[:, c].sum())
        n_neu_c = int(n_present[:, c].sum())
        if n_in_c + n_neu_c > tag_limit:
            violations.append(Violation("tags_per_chip", tag_limit, n_in_c + n_neu_c, f"chip {c}"))
            continue
        input_tags[in_present[:, c], c] = np.arange(n_in_c)
        neuron_tags[n_present[:, c], c] = n_in_c + np.arange(n_neu_c)
    return input_tags, neuron_tags


class _NeuronPlaces:
    """The location of a neuron in a violation: index, layer (when the spec names its
    layers), chip, core and slot, e.g. ``neuron 17 (chip 0, core 2, neuron 17) of layer '1_DynapSimJax'``."""

    def __init__(self, spec, chip: np.ndarray, core: np.ndarray, slot: np.ndarray):
        self.spec, self.chip, self.core, self.slot = spec, chip, core, slot

    def __call__(self, j: int) -> str:
        return f"neuron {j} (chip {self.chip[j]}, core {self.core[j]}, neuron {self.slot[j]})" + _layer_of(self.spec, j)


def _layer_of(spec, j: int) -> str:
    """`` of layer 'name'`` for neuron ``j`` when the spec knows its layers, else ``""``."""
    layers = spec.layer_of_neuron
    if layers is None or not spec.names:
        return ""
    return f" of layer {spec.names[int(layers[j])]!r}"


def _layers_in(spec, members: np.ndarray) -> str:
    """`` (layers 'a', 'b')`` of the neurons ``members`` when the spec knows its layers, else ``""``."""
    if spec.layer_of_neuron is None or not spec.names:
        return ""
    layers = np.unique(spec.layer_of_neuron[members])
    return " (layers " + ", ".join(repr(spec.names[int(k)]) for k in layers) + ")"


def _good_slots(c: int, defects: Defects, geometry: ChipGeometry) -> Tuple[int, ...]:
    """The usable slots of logical core ``c`` (chip ``c // 4``, core ``c % 4``), in order
    (a core off the board has no defects: the ``cores`` rule reports it)."""
    cpc = geometry.cores_per_chip
    chip, core = c // cpc, c % cpc
    return tuple(n for n in range(geometry.neurons_per_core) if (chip, core, n) not in defects.bad_neurons)


def _capacity_violations(spec, n_chips: int, geometry: ChipGeometry, defects: Defects) -> List[Violation]:
    """Cores on the board and neurons per core (good slots, with defects): placement itself
    needs these to hold."""
    cpc, npc = geometry.cores_per_chip, geometry.neurons_per_core
    violations: List[Violation] = []
    if spec.n_cores > n_chips * cpc:
        violations.append(Violation("cores", n_chips * cpc, spec.n_cores, f"network ({n_chips} chip(s) on the board)"))
    sizes = np.bincount(spec.core_of_neuron, minlength=spec.n_cores)
    for c in range(spec.n_cores):
        good = len(_good_slots(c, defects, geometry))
        if sizes[c] <= good:
            continue
        members = np.flatnonzero(spec.core_of_neuron == c)
        bad = f" (chip {c // cpc}, core {c % cpc}: {npc - good} of its {npc} neuron slots defective)" if good < npc else ""
        violations.append(Violation("neurons_per_core", good, int(sizes[c]), f"logical core {c}" + bad + _layers_in(spec, members)))
    return violations


def _slots(spec, defects: Defects, geometry: ChipGeometry) -> np.ndarray:
    """``(N,)`` each neuron's slot: the good slots of its core, in neuron order."""
    slot = np.zeros(spec.n_neurons, dtype=np.int64)
    for c in range(spec.n_cores):
        members = np.flatnonzero(spec.core_of_neuron == c)
        slot[members] = np.asarray(_good_slots(c, defects, geometry)[: members.size], dtype=np.int64)
    return slot


def _cam_violations(spec, where: _NeuronPlaces, defects: Defects, geometry: ChipGeometry) -> List[Violation]:
    """Synapses per neuron: at most its slot's good CAM entries (64 minus the defective ones)."""
    bad: List[Tuple[int, ...]] = [()] * spec.n_neurons
    if defects:
        bad = [defects.bad_entries(int(where.chip[j]), int(where.core[j]), int(where.slot[j])) for j in range(spec.n_neurons)]
    limits = geometry.cam_entries - np.array([len(b) for b in bad], dtype=np.int64)
    counts = spec.synapse_counts()
    violations = []
    for j in np.flatnonzero(counts > limits):
        shown = f", with {len(bad[j])} defective CAM entries ({', '.join(map(str, bad[j]))})" if bad[j] else ""
        violations.append(Violation("cam_entries", int(limits[j]), int(counts[j]), where(j) + shown))
    return violations


def _routing_violations(spec, n_present: np.ndarray, chip: np.ndarray, where: _NeuronPlaces, geometry: ChipGeometry) -> List[Violation]:
    """Destinations (SRAM entries: one per chip a neuron reaches, one more for an output) and hops."""
    violations: List[Violation] = []
    is_output = np.zeros(spec.n_neurons, dtype=bool)
    is_output[spec.output_neurons] = True
    needed = n_present.sum(axis=1) + is_output
    for j in np.flatnonzero(needed > geometry.destinations):
        violations.append(Violation("destinations", geometry.destinations, int(needed[j]), where(j)))
    for j, c in zip(*np.nonzero(n_present)):
        dx = chip_position(int(c))[0] - chip_position(int(chip[j]))[0]
        if not geometry.hop_min <= dx <= geometry.hop_max:
            violations.append(Violation("hops", geometry.hop_max, abs(dx), f"{where(j)} -> chip {c}"))
    return violations


def allocate(spec, n_chips: int = None, geometry: ChipGeometry = GEOMETRY, defects: Optional[Defects] = None) -> Allocation:
    """Place a quantized spec on a board of ``n_chips`` chips (default: as many as needed, at most 4).

    Args:
        spec: a quantized :class:`~rockpool_dynapse2.mapping.NetworkSpec`.
        n_chips: chips on the board.
        geometry: the chip geometry.
        defects: the board's unusable neuron slots and CAM entries (:class:`~.defects.Defects`);
            ``None``: none (slots 0, 1, ... of every core, as without defects).

    Raises:
        ParameterValueError: the spec is not quantized (it has no weight masks),
            ``n_chips`` is not a positive integer, or ``defects`` is not a ``Defects``.
        Dynapse2DRCError: every design rule the network breaks, with limit, need and place
            (with defects, a core's limit is its good slots and a neuron's its good CAM entries).
    """
    if not spec.quantized:
        raise ParameterValueError("spec", "quantized (see rockpool_dynapse2.mapping.quantize_spec)", "a spec with float weights")
    cpc = geometry.cores_per_chip
    needed_chips = max(1, -(-spec.n_cores // cpc))
    if n_chips is None:
        n_chips = min(needed_chips, geometry.n_chips)
    if not (isinstance(n_chips, (int, np.integer)) and 1 <= n_chips):
        raise ParameterValueError("n_chips", "a positive integer", n_chips)
    defects = Defects() if defects is None else instance("defects", defects, Defects, "a placement.Defects or None")
    raise_violations(_capacity_violations(spec, n_chips, geometry, defects))  # placement needs these to hold

    logical = spec.core_of_neuron
    chip = logical // cpc
    core = logical % cpc
    slot = _slots(spec, defects, geometry)
    where = _NeuronPlaces(spec, chip, core, slot)

    violations = _bias_range_violations(spec, cpc)
    violations.extend(_cam_violations(spec, where, defects, geometry))

    # Tags per chip.
    ins, rec = spec.input_synapses, spec.recurrent_synapses
    in_present, in_masks = _sources_by_chip(ins.source, chip[ins.target], core[ins.target], spec.n_inputs, n_chips, cpc)
    n_present, n_masks = _sources_by_chip(rec.source, chip[rec.target], core[rec.target], spec.n_neurons, n_chips, cpc)
    tag_limit = geometry.tags_per_chip - 1  # CONTROL_TAG is reserved
    input_tags, neuron_tags = _tags(in_present, n_present, tag_limit, violations)

    violations.extend(_routing_violations(spec, n_present, chip, where, geometry))
    if spec.n_outputs > tag_limit:
        violations.append(Violation("output_channels", tag_limit, spec.n_outputs, "network outputs"))
    raise_violations(violations)

    return Allocation(
        n_chips=int(n_chips),
        chip=chip,
        core=core,
        slot=slot,
        input_tags=input_tags,
        neuron_tags=neuron_tags,
        input_core_masks=in_masks,
        neuron_core_masks=n_masks,
        output_tags=np.arange(spec.n_outputs, dtype=np.int64),
        defects=defects,
    )
