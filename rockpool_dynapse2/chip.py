"""Facts about the DYNAP-SE2 chip, defined once.

Everything else in the package derives from the frozen records in this module: the
geometry of a board (chips, cores, neurons, CAM and SRAM entries, tags, hops), the
physical constants of the analog circuits, the chip's named bias parameters with the
simulator current each one sets, and the default operating point.

Sources: the DYNAP-SE2 chip paper (Richter et al., arXiv 2310.00564), Çakal et al.
(arXiv 2303.12167) and Rockpool 3.1's ``rockpool.devices.dynapse``. Values marked
uncertain there are uncertain here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping, Tuple

__all__ = [
    "Transistor",
    "Dendrite",
    "Circuit",
    "PulseCircuit",
    "ChipGeometry",
    "CircuitConstants",
    "BiasParameter",
    "DefaultOperatingPoint",
    "GEOMETRY",
    "CONSTANTS",
    "DEFAULTS",
    "BIAS_PARAMETERS",
    "BIAS_PARAMETER_BY_NAME",
    "BIAS_PARAMETER_BY_CURRENT",
    "SynapseType",
    "SIGNED_EXCITATORY",
    "SIGNED_INHIBITORY",
    "SYNAPSE_TYPES",
    "CONTROL_TAG",
    "MONITOR_HOP",
]


class Transistor(enum.Enum):
    """Type of the output transistor of a bias-generator branch."""

    N = "N"
    P = "P"


class Dendrite(enum.IntEnum):
    """Dendrite (synapse) types of a CAM entry, with samna's enum values."""

    NONE = 0
    AMPA = 1024
    GABA = 512
    NMDA = 256
    SHUNT = 128

    @property
    def is_excitatory(self) -> bool:
        return self in (Dendrite.AMPA, Dendrite.NMDA)


class SynapseType(enum.IntEnum):
    """The four synapse types (dendrites) of a neuron; the value is the index of the type
    in every synaptic array of the simulators and the network spec (last axis of ``isyn``,
    channel ``4 i + k`` of the typed input layout, ``Synapses.kind``).

    Use these names, never the literal indices: ``SynapseType.GABA``, ``for k in SynapseType``.
    """

    AMPA = 0
    NMDA = 1
    GABA = 2
    SHUNT = 3

    @property
    def dendrite(self) -> "Dendrite":
        """samna's dendrite of this type (the value a CAM entry holds)."""
        return Dendrite[self.name]

    @property
    def circuit(self) -> "Circuit":
        """The DPI circuit of this type (its time constant and gain)."""
        return Circuit[self.name]

    @property
    def label(self) -> str:
        """The lower-case name used in parameter names: ``"ampa"`` in ``Itau_ampa``."""
        return self.name.lower()

    @property
    def is_excitatory(self) -> bool:
        """AMPA and NMDA excite; GABA and SHUNT inhibit."""
        return self in (SynapseType.AMPA, SynapseType.NMDA)

    @classmethod
    def of_dendrite(cls, dendrite: "Dendrite") -> "SynapseType":
        """The synapse type of one of samna's dendrites (not ``Dendrite.NONE``)."""
        return cls[Dendrite(dendrite).name]


SIGNED_EXCITATORY = SynapseType.AMPA
"""The synapse a positive weight drives in the signed input layout (Rockpool's)."""

SIGNED_INHIBITORY = SynapseType.GABA
"""The synapse the magnitude of a negative weight drives in the signed input layout."""

SYNAPSE_TYPES: Tuple[Dendrite, ...] = tuple(s.dendrite for s in SynapseType)
"""samna's dendrites of the four synapse types, in :class:`SynapseType` order."""


class Circuit(enum.Enum):
    """DPI circuits whose time constant is set by a leak current ``Itau``."""

    MEM = "mem"
    AMPA = "ampa"
    NMDA = "nmda"
    GABA = "gaba"
    SHUNT = "shunt"
    AHP = "ahp"


class PulseCircuit(enum.Enum):
    """Circuits whose duration is set by charging a capacitor to ``Vth``."""

    PULSE = "pulse"
    """Synaptic pulse extender: the width of the pulse a spike sends to a DPI synapse."""
    PULSE_AHP = "pulse_ahp"
    """Pulse extender of the spike-frequency-adaptation (AHP) circuit."""
    REF = "ref"
    """Refractory period of the neuron."""


@dataclass(frozen=True)
class ChipGeometry:
    """Sizes and address ranges of a DYNAP-SE2 board.

    All maps between neuron, core and chip indices derive from these numbers.
    """

    n_chips: int = 4
    """Chips on the largest board Rockpool supports."""
    cores_per_chip: int = 4
    neurons_per_core: int = 256
    cam_entries: int = 64
    """CAM (synapse) entries per neuron."""
    destinations: int = 4
    """SRAM (destination) entries per neuron."""
    tag_bits: int = 11
    hop_min: int = -7
    hop_max: int = 7
    base_weights: int = 4
    """Base weight currents ``Iw_0..Iw_3`` per core."""
    coarse_values: int = 6
    """Coarse codes 0..5 of the bias generator."""
    fine_values: int = 256
    """Fine codes 0..255 of the bias generator."""

    @property
    def tags_per_chip(self) -> int:
        return 2**self.tag_bits

    @property
    def neurons_per_chip(self) -> int:
        return self.cores_per_chip * self.neurons_per_core

    @property
    def n_cores(self) -> int:
        return self.n_chips * self.cores_per_chip

    @property
    def n_neurons(self) -> int:
        return self.n_chips * self.neurons_per_chip

    @property
    def weight_levels(self) -> int:
        """Distinct weight magnitudes one core can express (a 4-bit mask)."""
        return 2**self.base_weights

    def core_of(self, neuron: int) -> int:
        """Global core index of a global neuron index."""
        return neuron // self.neurons_per_core

    def chip_of_core(self, core: int) -> int:
        """Chip index of a global core index."""
        return core // self.cores_per_chip


@dataclass(frozen=True)
class CircuitConstants:
    """Physical constants of the chip's subthreshold circuits (SI units).

    Capacitances follow Rockpool 3.1 (``C_mem`` 3 pF; one secondary source says 7.7 pF).
    """

    Ut: float = 25e-3
    """Thermal voltage (V)."""
    kappa_n: float = 0.75
    """Subthreshold slope factor of n-type transistors."""
    kappa_p: float = 0.66
    """Subthreshold slope factor of p-type transistors."""
    Io: float = 5e-13
    """Dark current (A): the floor of every current in the circuits."""
    Vth: float = 0.7
    """Cut-off gate voltage (V) of the pulse extenders."""
    C_mem: float = 3e-12
    C_ampa: float = 24.5e-12
    C_nmda: float = 25e-12
    C_gaba: float = 25e-12
    C_shunt: float = 24.5e-12
    C_ahp: float = 40e-12
    C_ref: float = 1.5e-12
    C_pulse: float = 0.5e-12
    C_pulse_ahp: float = 0.5e-12

    @property
    def kappa(self) -> float:
        """Mean subthreshold slope factor, used by every DPI circuit."""
        return (self.kappa_n + self.kappa_p) / 2

    def capacitance(self, circuit: "Circuit | PulseCircuit") -> float:
        """Capacitance (F) of a named circuit."""
        return getattr(self, f"C_{circuit.value}")


@dataclass(frozen=True)
class BiasParameter:
    """One named bias parameter of a core, and the simulator current it sets."""

    name: str
    """The chip's name, e.g. ``"SOIF_LEAK_N"``."""
    current: str
    """The simulator current it sets, e.g. ``"Itau_mem"``."""
    transistor: Transistor
    scale_factor: float
    """Measured ratio of this branch's current to the bias generator's table value."""


# Scale factors as measured by the chip's makers and published with Rockpool 3.1
# (``rockpool.devices.dynapse.lookup.scaling.scale_factor_se2``); a test checks them.
BIAS_PARAMETERS: Tuple[BiasParameter, ...] = (
    BiasParameter("SOIF_DC_P", "Idc", Transistor.P, 0.38),
    BiasParameter("SOIF_LEAK_N", "Itau_mem", Transistor.N, 0.61),
    BiasParameter("SOIF_GAIN_N", "Igain_mem", Transistor.N, 1.05),
    BiasParameter("SOIF_REFR_N", "Iref", Transistor.N, 1.05),
    BiasParameter("SOIF_SPKTHR_P", "Ispkthr", Transistor.P, 0.38),
    BiasParameter("SYPD_EXT_N", "Ipulse", Transistor.N, 0.92),
    BiasParameter("SOAD_TAU_P", "Itau_ahp", Transistor.P, 0.2),
    BiasParameter("SOAD_GAIN_P", "Igain_ahp", Transistor.P, 0.68),
    BiasParameter("SOAD_PWTAU_N", "Ipulse_ahp", Transistor.N, 0.92),
    BiasParameter("SOAD_W_N", "Iw_ahp", Transistor.N, 0.92),
    BiasParameter("DEAM_ETAU_P", "Itau_ampa", Transistor.P, 0.2),
    BiasParameter("DEAM_EGAIN_P", "Igain_ampa", Transistor.P, 0.68),
    BiasParameter("DENM_ETAU_P", "Itau_nmda", Transistor.P, 0.2),
    BiasParameter("DENM_EGAIN_P", "Igain_nmda", Transistor.P, 0.68),
    BiasParameter("DENM_NMREV_N", "If_nmda", Transistor.N, 1.05),
    BiasParameter("DEGA_ITAU_P", "Itau_gaba", Transistor.P, 0.2),
    BiasParameter("DEGA_IGAIN_P", "Igain_gaba", Transistor.P, 0.68),
    BiasParameter("DESC_ITAU_P", "Itau_shunt", Transistor.P, 0.2),
    BiasParameter("DESC_IGAIN_P", "Igain_shunt", Transistor.P, 0.68),
    BiasParameter("SYAM_W0_P", "Iw_0", Transistor.P, 0.22),
    BiasParameter("SYAM_W1_P", "Iw_1", Transistor.P, 0.22),
    BiasParameter("SYAM_W2_P", "Iw_2", Transistor.P, 0.22),
    BiasParameter("SYAM_W3_P", "Iw_3", Transistor.P, 0.22),
)
"""Every bias parameter the simulator models, one per simulator current."""

BIAS_PARAMETER_BY_NAME: Mapping[str, BiasParameter] = MappingProxyType(
    {p.name: p for p in BIAS_PARAMETERS}
)
BIAS_PARAMETER_BY_CURRENT: Mapping[str, BiasParameter] = MappingProxyType(
    {p.current: p for p in BIAS_PARAMETERS}
)


def _default_tau() -> Mapping[Circuit, float]:
    return MappingProxyType(
        {
            Circuit.MEM: 20e-3,
            Circuit.AMPA: 10e-3,
            Circuit.NMDA: 10e-3,
            Circuit.GABA: 10e-3,
            Circuit.SHUNT: 10e-3,
            Circuit.AHP: 50e-3,
        }
    )


def _default_pulse() -> Mapping[PulseCircuit, float]:
    return MappingProxyType(
        {PulseCircuit.PULSE: 10e-6, PulseCircuit.PULSE_AHP: 1e-6, PulseCircuit.REF: 1e-3}
    )


def _default_gain() -> Mapping[Circuit, float]:
    return MappingProxyType(
        {
            Circuit.MEM: 4.0,
            Circuit.AMPA: 100.0,
            Circuit.NMDA: 100.0,
            Circuit.GABA: 100.0,
            Circuit.SHUNT: 100.0,
            Circuit.AHP: 1.0,
        }
    )


@dataclass(frozen=True)
class DefaultOperatingPoint:
    """The default high-level operating point of a core (Rockpool 3.1's defaults)."""

    tau: Mapping[Circuit, float] = field(default_factory=_default_tau)
    """Time constants (s)."""
    pulse_width: Mapping[PulseCircuit, float] = field(default_factory=_default_pulse)
    """Pulse widths and refractory period (s)."""
    gain_ratio: Mapping[Circuit, float] = field(default_factory=_default_gain)
    """``Igain / Itau`` of every DPI circuit."""
    Ispkthr: float = 1e-7
    """Spiking threshold current (A)."""
    Iw: Tuple[float, float, float, float] = (1e-9, 2e-9, 4e-9, 8e-9)
    """Base weight currents ``Iw_0..Iw_3`` (A)."""
    Iscale: float = 1e-8
    """Current (A) of a weight of 1.0 in the simulators' weight units."""
    Idc: float = 5e-13
    """DC input current (A); the dark current, i.e. off."""
    If_nmda: float = 5e-13
    """NMDA gate current (A); the dark current, i.e. the gate is always open."""
    Iw_ahp: float = 5e-13
    """AHP weight current (A); the dark current, i.e. no adaptation."""


CONTROL_TAG = 2047
"""Tag reserved for the driver's control events (reading the FPGA clock): the last tag of
a chip, never given to a neuron."""

MONITOR_HOP = -7
"""``x_hop`` and ``y_hop`` of a destination that sends events off the grid to the FPGA."""

GEOMETRY = ChipGeometry()
"""The geometry of a DYNAP-SE2 board (4 chips)."""

CONSTANTS = CircuitConstants()
"""The default circuit constants."""

DEFAULTS = DefaultOperatingPoint()
"""The default operating point."""
