"""One neuron's memories and latches: 64 CAM entries, 4 SRAM entries, 14 switches."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Tuple

from ..chip import GEOMETRY
from ._checks import check_bool_fields, check_int, check_records
from .records import BLANK_DESTINATION, BLANK_SYNAPSE, Destination, Synapse

__all__ = ["LATCHES", "Neuron", "BLANK_NEURON"]

LATCHES: Tuple[str, ...] = (
    "latch_so_dc",
    "latch_so_adaptation",
    "latch_soif_kill",
    "latch_coho_ca_mem",
    "latch_ho_enable",
    "latch_ho_so_de",
    "latch_deam_ampa",
    "latch_denm_nmda",
    "latch_de_conductance",
    "latch_deam_alpha",
    "latch_denm_alpha",
    "latch_de_mux",
    "latch_soif_type",
    "latch_ho_active",
)
"""The per-neuron latches, in the order Rockpool's samna alias writes them
(``latch_so_dc`` turns on the DC input, ``latch_so_adaptation`` the adaptation)."""


def check_index(name: str, value: Any, n: int) -> int:
    """``value`` as an index in ``0..n-1``.

    Raises:
        ParameterValueError: if it is not an integer in that range.
    """
    return check_int(name, value, 0, n - 1)


@dataclass(frozen=True, repr=False)
class Neuron:
    """One neuron's memories and latches (samna's ``Dynapse2Neuron``).

    Attributes:
        synapses: exactly 64 :class:`Synapse` (CAM entries).
        destinations: exactly 4 :class:`Destination` (SRAM entries).
        latch_*: 14 switches, all off by default (see :data:`LATCHES`).

    Raises:
        ShapeError: if there are not 64 synapses or 4 destinations.
        ParameterValueError: if an entry has the wrong type or a latch is not a bool.
    """

    synapses: Tuple[Synapse, ...] = (BLANK_SYNAPSE,) * GEOMETRY.cam_entries
    destinations: Tuple[Destination, ...] = (BLANK_DESTINATION,) * GEOMETRY.destinations
    latch_so_dc: bool = False
    latch_so_adaptation: bool = False
    latch_soif_kill: bool = False
    latch_coho_ca_mem: bool = False
    latch_ho_enable: bool = False
    latch_ho_so_de: bool = False
    latch_deam_ampa: bool = False
    latch_denm_nmda: bool = False
    latch_de_conductance: bool = False
    latch_deam_alpha: bool = False
    latch_denm_alpha: bool = False
    latch_de_mux: bool = False
    latch_soif_type: bool = False
    latch_ho_active: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "synapses", check_records("synapses", self.synapses, Synapse, GEOMETRY.cam_entries))
        set_(self, "destinations", check_records("destinations", self.destinations, Destination, GEOMETRY.destinations))
        check_bool_fields(self, LATCHES)

    @classmethod
    def from_entries(cls, synapses=(), destinations=(), **latches: bool) -> "Neuron":
        """A neuron with the given CAM and SRAM entries first, blank entries after them.

        Args:
            synapses: up to 64 :class:`Synapse`.
            destinations: up to 4 :class:`Destination`.
            **latches: latch values by name, e.g. ``latch_so_dc=True``.

        Raises:
            ShapeError: for more than 64 synapses or 4 destinations.
        """
        synapses, destinations = tuple(synapses), tuple(destinations)
        n_syn, n_dest = GEOMETRY.cam_entries, GEOMETRY.destinations
        if len(synapses) < n_syn:
            synapses += (BLANK_SYNAPSE,) * (n_syn - len(synapses))
        if len(destinations) < n_dest:
            destinations += (BLANK_DESTINATION,) * (n_dest - len(destinations))
        return cls(synapses, destinations, **latches)

    @property
    def is_used(self) -> bool:
        """True if any CAM or SRAM entry is used or any latch is on."""
        return self is not BLANK_NEURON and (
            any(s.is_used for s in self.synapses)
            or any(d.is_used for d in self.destinations)
            or any(getattr(self, name) for name in LATCHES)
        )

    def with_synapse(self, index: int, synapse: Synapse) -> "Neuron":
        """This neuron with CAM entry ``index`` (0..63) replaced."""
        index = check_index("synapse index", index, GEOMETRY.cam_entries)
        synapses = self.synapses[:index] + (synapse,) + self.synapses[index + 1 :]
        return dataclasses.replace(self, synapses=synapses)

    def with_destination(self, index: int, destination: Destination) -> "Neuron":
        """This neuron with SRAM entry ``index`` (0..3) replaced."""
        index = check_index("destination index", index, GEOMETRY.destinations)
        destinations = self.destinations[:index] + (destination,) + self.destinations[index + 1 :]
        return dataclasses.replace(self, destinations=destinations)

    def __repr__(self) -> str:
        n_syn = sum(s.is_used for s in self.synapses)
        n_dest = sum(d.is_used for d in self.destinations)
        latches = [name for name in LATCHES if getattr(self, name)]
        return f"Neuron(synapses used={n_syn}/64, destinations used={n_dest}/4, latches on={latches})"


BLANK_NEURON = Neuron()
"""The blank neuron, shared by every empty configuration."""
