"""A board's defects as placement reads them: which neuron slots and CAM entries not to use.

:class:`Defects` holds the unusable neuron slots ``(chip, core, neuron)`` and the unusable
CAM entries ``(chip, core, neuron, entry)`` of a board. It is defined here, at the
placement level, so that :func:`~.from_network_spec.config_from_specification` can place
around them without reading the board's own records;
:meth:`rockpool_dynapse2.hardware.ChipProfile.defects` writes one from a virtual (or
measured) chip's profile (dead and always-on neurons are both unusable slots).

With defects, placement (:func:`~.allocate.allocate`)

* puts each neuron on the next good slot of its core (slots in order, bad ones skipped);
  a core with fewer good slots than neurons is a ``neurons_per_core`` violation whose
  place says how many slots are defective;
* puts each synapse of a neuron on the next good CAM entry of its slot; a neuron with
  more synapses than good entries (64 minus its defective ones) is a ``cam_entries``
  violation naming the neuron and its defective entries. Nothing is dropped silently.

:func:`avoided` counts, for a placed configuration, the defects the placement stepped
over (a bad slot below a used slot of its core, a bad entry below a used entry of its
neuron): what ``rockpool-dynapse2 map --profile`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Iterable, Tuple

import numpy as np

from ..chip import GEOMETRY
from ..errors import ParameterValueError, Shown

__all__ = ["Defects", "AvoidedDefects", "avoided"]

NeuronSlot = Tuple[int, int, int]
"""``(chip, core, neuron)``."""

CamEntry = Tuple[int, int, int, int]
"""``(chip, core, neuron, entry)``."""

_FIELDS = ("chip", "core", "neuron", "entry")
_LIMITS = (GEOMETRY.n_chips, GEOMETRY.cores_per_chip, GEOMETRY.neurons_per_core, GEOMETRY.cam_entries)


def _address(where: str, item: Any, width: int) -> Tuple[int, ...]:
    """One address of ``width`` integers, each within the board (Python or numpy integers, not booleans)."""
    if isinstance(item, np.ndarray) and item.ndim == 1 and np.issubdtype(item.dtype, np.integer):
        item = item.tolist()  # a row of an (n, width) integer array
    if not isinstance(item, (tuple, list)) or len(item) != width:
        raise ParameterValueError(where, f"a tuple of {width} integers ({', '.join(_FIELDS[:width])})", Shown(repr(item)))
    out = []
    for name, value, limit in zip(_FIELDS, item, _LIMITS):
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if not ok or not 0 <= value < limit:
            raise ParameterValueError(f"{where}.{name}", f"an integer in 0..{limit - 1}", Shown(repr(value)))
        out.append(int(value))
    return tuple(out)


def _addresses(name: str, items: Any, width: int) -> FrozenSet[Tuple[int, ...]]:
    """A frozenset of addresses from any iterable of them (a set, list or tuple)."""
    if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
        raise ParameterValueError(name, f"a set of ({', '.join(_FIELDS[:width])}) tuples", Shown(repr(items)))
    return frozenset(_address(f"{name}[{i}]", item, width) for i, item in enumerate(items))


@dataclass(frozen=True)
class Defects:
    """The unusable places of a board (see the module docs); checked on construction.

    Attributes:
        bad_neurons: ``(chip, core, neuron)`` slots no neuron may take (chip 0..3, core
            0..3, neuron 0..255).
        bad_cam_entries: ``(chip, core, neuron, entry)`` CAM entries no synapse may take
            (entry 0..63).

    Raises:
        ParameterValueError: a field that is not a collection of addresses (a set, list,
            tuple or ``(n, width)`` integer array), an address of the wrong length or type,
            or outside the board (named by field, index in iteration order and coordinate,
            e.g. ``bad_cam_entries[3].entry``).
    """

    bad_neurons: FrozenSet[NeuronSlot] = frozenset()
    bad_cam_entries: FrozenSet[CamEntry] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bad_neurons", _addresses("bad_neurons", self.bad_neurons, 3))
        object.__setattr__(self, "bad_cam_entries", _addresses("bad_cam_entries", self.bad_cam_entries, 4))
        by_neuron: Dict[NeuronSlot, Tuple[int, ...]] = {}
        for chip, core, neuron, entry in sorted(self.bad_cam_entries):
            by_neuron[(chip, core, neuron)] = by_neuron.get((chip, core, neuron), ()) + (entry,)
        object.__setattr__(self, "_entries_of", by_neuron)

    def __bool__(self) -> bool:
        """True if there is any defect."""
        return bool(self.bad_neurons or self.bad_cam_entries)

    def good_slots(self, chip: int, core: int) -> Tuple[int, ...]:
        """The usable neuron slots of a core, in order."""
        return tuple(n for n in range(GEOMETRY.neurons_per_core) if (chip, core, n) not in self.bad_neurons)

    def bad_entries(self, chip: int, core: int, neuron: int) -> Tuple[int, ...]:
        """The defective CAM entries of one neuron slot, in order."""
        return self._entries_of.get((chip, core, neuron), ())

    def good_entries(self, chip: int, core: int, neuron: int) -> Tuple[int, ...]:
        """The usable CAM entries of one neuron slot, in order."""
        bad = set(self.bad_entries(chip, core, neuron))
        return tuple(e for e in range(GEOMETRY.cam_entries) if e not in bad)


@dataclass(frozen=True)
class AvoidedDefects:
    """The defects a placement stepped over (see :func:`avoided`).

    Attributes:
        neuron_slots: bad slots below a used slot of their core.
        cam_entries: bad CAM entries below a used entry of their (placed) neuron.
    """

    neuron_slots: int
    cam_entries: int


def avoided(configuration: Any, defects: Defects) -> AvoidedDefects:
    """The defects a placed configuration steps over: those a placement unaware of them
    (slots and entries taken in order) would have used.

    Args:
        configuration: a :class:`~rockpool_dynapse2.config.tree.Configuration` (a mapped
            configuration's ``configuration``).
        defects: the board's defects.
    """
    used: Dict[NeuronSlot, int] = {}  # slot -> one more than its last used CAM entry
    last_slot: Dict[Tuple[int, int], int] = {}
    for chip, core, neuron, record in configuration.placed_neurons():
        if not record.is_used:
            continue
        used[(chip, core, neuron)] = max((e + 1 for e, s in enumerate(record.synapses) if s.is_used), default=0)
        last_slot[(chip, core)] = max(last_slot.get((chip, core), -1), neuron)
    slots = sum(1 for chip, core, n in defects.bad_neurons if n < last_slot.get((chip, core), -1))
    entries = sum(1 for chip, core, n, e in defects.bad_cam_entries if e < used.get((chip, core, n), 0))
    return AvoidedDefects(neuron_slots=slots, cam_entries=entries)
