"""How much of each core and chip a configuration uses: neurons, CAM entries, tags.

A CAM entry is *used* if its dendrite is not ``NONE``; an SRAM entry if its core mask is
not empty (samna's blank entries are neither). ``print(config.summary())`` shows a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Tuple

from ..chip import GEOMETRY
from .neuron import LATCHES, Neuron

__all__ = ["CoreSummary", "ChipSummary", "ConfigurationSummary", "summarize"]


@dataclass(frozen=True)
class CoreSummary:
    """Use of one core.

    Attributes:
        chip, core: where the core is (core index 0..3 in its chip).
        neurons_used: neurons with a used CAM or SRAM entry or a latch on.
        neurons_with_synapses: neurons with at least one used CAM entry.
        neurons_with_destinations: neurons with at least one used SRAM entry.
        cam_entries_used: used CAM entries over all neurons (of 256 x 64).
        max_cam_entries_used: the most used CAM entries of one neuron (of 64).
        destinations_used: used SRAM entries over all neurons (of 256 x 4).
        latches_on: ``{latch name: number of neurons with it on}`` (only latches that are on).
        cam_tags: the tags the core's used CAM entries listen to.
        destination_tags: the tags the core's used SRAM entries send.
    """

    chip: int
    core: int
    neurons_used: int
    neurons_with_synapses: int
    neurons_with_destinations: int
    cam_entries_used: int
    max_cam_entries_used: int
    destinations_used: int
    latches_on: Dict[str, int]
    cam_tags: FrozenSet[int]
    destination_tags: FrozenSet[int]


@dataclass(frozen=True)
class ChipSummary:
    """Use of one chip: its cores' summaries and their totals."""

    chip: int
    cores: Tuple[CoreSummary, ...]

    @property
    def neurons_used(self) -> int:
        return sum(c.neurons_used for c in self.cores)

    @property
    def cam_entries_used(self) -> int:
        return sum(c.cam_entries_used for c in self.cores)

    @property
    def destinations_used(self) -> int:
        return sum(c.destinations_used for c in self.cores)

    @property
    def cam_tags(self) -> FrozenSet[int]:
        """Tags any core of the chip listens to."""
        return frozenset().union(*(c.cam_tags for c in self.cores))

    @property
    def destination_tags(self) -> FrozenSet[int]:
        """Tags any neuron of the chip sends."""
        return frozenset().union(*(c.destination_tags for c in self.cores))


@dataclass(frozen=True)
class ConfigurationSummary:
    """Use of a whole configuration; ``str()`` gives a table with one line per core."""

    chips: Tuple[ChipSummary, ...]

    @property
    def neurons_used(self) -> int:
        return sum(c.neurons_used for c in self.chips)

    @property
    def cam_entries_used(self) -> int:
        return sum(c.cam_entries_used for c in self.chips)

    @property
    def destinations_used(self) -> int:
        return sum(c.destinations_used for c in self.chips)

    def core(self, chip: int, core: int) -> CoreSummary:
        """The summary of core ``core`` of chip ``chip``."""
        return self.chips[chip].cores[core]

    def __str__(self) -> str:
        n_tags = GEOMETRY.tags_per_chip
        header = (
            f"{'chip':>4} {'core':>4} {'neurons':>8} {'w/ syn':>7} {'w/ dest':>7} "
            f"{'CAM used':>9} {'max/nrn':>7} {'dest':>5} {'CAM tags':>9} {'sent tags':>9}  latches on"
        )
        lines = [header]
        for chip in self.chips:
            for c in chip.cores:
                latches = ", ".join(f"{k}={v}" for k, v in c.latches_on.items()) or "-"
                lines.append(
                    f"{c.chip:>4} {c.core:>4} {c.neurons_used:>8} {c.neurons_with_synapses:>7} "
                    f"{c.neurons_with_destinations:>7} {c.cam_entries_used:>9} {c.max_cam_entries_used:>7} "
                    f"{c.destinations_used:>5} {len(c.cam_tags):>9} {len(c.destination_tags):>9}  {latches}"
                )
            lines.append(
                f"chip {chip.chip}: {chip.neurons_used} of {GEOMETRY.neurons_per_chip} neurons used, "
                f"{chip.cam_entries_used} CAM entries, {len(chip.cam_tags)} of {n_tags} tags listened to, "
                f"{len(chip.destination_tags)} sent"
            )
        lines.append(
            f"total: {self.neurons_used} neurons, {self.cam_entries_used} CAM entries, "
            f"{self.destinations_used} SRAM entries used"
        )
        return "\n".join(lines)


@dataclass(frozen=True)
class _NeuronUse:
    n_synapses: int
    n_destinations: int
    latches: Tuple[str, ...]
    cam_tags: FrozenSet[int]
    destination_tags: FrozenSet[int]


def _neuron_use(neuron: Neuron) -> _NeuronUse:
    synapses = [s for s in neuron.synapses if s.is_used]
    destinations = [d for d in neuron.destinations if d.is_used]
    return _NeuronUse(
        len(synapses),
        len(destinations),
        tuple(name for name in LATCHES if getattr(neuron, name)),
        frozenset(s.tag for s in synapses),
        frozenset(d.tag for d in destinations),
    )


def summarize(config: Any) -> ConfigurationSummary:
    """Count the neurons, CAM and SRAM entries and tags ``config`` uses, per core and chip.

    ``config`` is a :class:`~.tree.Configuration` (not imported here: the tree imports
    this module for :meth:`~.tree.Configuration.summary`).

    Neurons shared between places (as in an empty configuration) are counted once per
    place but inspected once.
    """
    cache: Dict[int, _NeuronUse] = {}
    chips = []
    for i_chip, chip in enumerate(config.chips):
        cores = []
        for i_core, core in enumerate(chip.cores):
            counts = dict(used=0, syn=0, dest=0, cam=0, max_cam=0, n_dest=0)
            latches: Dict[str, int] = {}
            cam_tags, dest_tags = set(), set()
            for neuron in core.neurons:
                use = cache.get(id(neuron))
                if use is None:
                    use = cache[id(neuron)] = _neuron_use(neuron)
                if use.n_synapses or use.n_destinations or use.latches:
                    counts["used"] += 1
                counts["syn"] += use.n_synapses > 0
                counts["dest"] += use.n_destinations > 0
                counts["cam"] += use.n_synapses
                counts["max_cam"] = max(counts["max_cam"], use.n_synapses)
                counts["n_dest"] += use.n_destinations
                for name in use.latches:
                    latches[name] = latches.get(name, 0) + 1
                cam_tags |= use.cam_tags
                dest_tags |= use.destination_tags
            cores.append(
                CoreSummary(
                    i_chip,
                    i_core,
                    counts["used"],
                    counts["syn"],
                    counts["dest"],
                    counts["cam"],
                    counts["max_cam"],
                    counts["n_dest"],
                    latches,
                    frozenset(cam_tags),
                    frozenset(dest_tags),
                )
            )
        chips.append(ChipSummary(i_chip, tuple(cores)))
    return ConfigurationSummary(tuple(chips))
