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
from dataclasses import dataclass, field, make_dataclass
from types import MappingProxyType
from typing import Mapping, Optional, Tuple

from .errors import ParameterValueError

__all__ = [
    "Transistor",
    "Dendrite",
    "Circuit",
    "PulseCircuit",
    "ChipGeometry",
    "CircuitConstants",
    "Quantity",
    "BiasParameter",
    "DefaultOperatingPoint",
    "GEOMETRY",
    "CONSTANTS",
    "DEFAULTS",
    "BIAS_PARAMETERS",
    "BIAS_PARAMETER_BY_NAME",
    "BIAS_PARAMETER_BY_CURRENT",
    "BIAS_SETTING",
    "NEURON_BIASES",
    "BASE_WEIGHT_BIASES",
    "HIGH_LEVEL_BIASES",
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


class Quantity(enum.Enum):
    """The high-level quantity a bias parameter sets."""

    TAU = "tau"
    """The time constant (s) of a :class:`Circuit`, set by its leak current ``Itau``: ``tau_<circuit>``."""
    GAIN_RATIO = "gain"
    """The gain ratio ``Igain / Itau`` (dimensionless) of a :class:`Circuit`: ``gain_<circuit>``."""
    PULSE_WIDTH = "t"
    """The pulse width or refractory period (s) of a :class:`PulseCircuit`: ``t_<circuit>``."""
    CURRENT = "current"
    """A current (A) with no higher-level meaning (threshold, DC, gate, weights), named as itself."""

    @property
    def unit(self) -> str:
        """The unit in words: "seconds", "dimensionless" or "amperes"."""
        return {Quantity.GAIN_RATIO: "dimensionless", Quantity.CURRENT: "amperes"}.get(self, "seconds")

    @property
    def circuit_kind(self) -> "Optional[type]":
        """The enum of the circuit a bias of this quantity belongs to (None: any, or none)."""
        return {Quantity.TAU: Circuit, Quantity.GAIN_RATIO: Circuit, Quantity.PULSE_WIDTH: PulseCircuit}.get(self)


@dataclass(frozen=True)
class BiasParameter:
    """One named bias parameter of a core: the simulator current it sets, its branch of the
    bias generator, the high-level quantity it stands for and its default.

    This is the one declaration of a bias: the parameter sets of :mod:`.parameters`, the
    simulator's records (``CURRENT_NAMES``, ``DynapParams``), the default operating point,
    the weight quantizer and the configuration reader all derive from
    :data:`BIAS_PARAMETERS`.
    """

    name: str
    """The chip's name, e.g. ``"SOIF_LEAK_N"``."""
    current: str
    """The simulator current it sets, e.g. ``"Itau_mem"``."""
    transistor: Transistor
    scale_factor: float
    """Measured ratio of this branch's current to the bias generator's table value."""
    sets: Quantity
    """The high-level quantity the current stands for."""
    circuit: "Optional[Circuit | PulseCircuit]"
    """The circuit the bias belongs to: a :class:`Circuit` for a time constant or a gain
    ratio, a :class:`PulseCircuit` for a pulse width; for a plain current, the circuit it
    feeds, or None (the base weights feed every synapse)."""
    default: float
    """The default operating point, in the unit of :attr:`sets` (s, ratio or A)."""
    base_weight: Optional[int] = None
    """``k`` for the base weight current ``Iw_k`` (mask bit ``k``), which a core's synapses
    share; None for a per-neuron current of the simulator."""

    def __post_init__(self) -> None:
        kind = self.sets.circuit_kind
        if not isinstance(self.circuit, kind or (Circuit, PulseCircuit, type(None))):
            rule = f"a {kind.__name__} for a {self.sets}" if kind else "a Circuit, a PulseCircuit or None"
            raise ParameterValueError(f"{self.name}.circuit", rule, repr(self.circuit))

    @property
    def high_level_name(self) -> str:
        """The name of the high-level quantity: ``tau_mem``, ``gain_ampa``, ``t_ref``, or the
        current's own name for a plain current."""
        if self.sets is Quantity.CURRENT:
            return self.current
        return f"{self.sets.value}_{self.circuit.value}"

    @property
    def is_base_weight(self) -> bool:
        """Whether this is a base weight current ``Iw_k`` of the core's synapses."""
        return self.base_weight is not None


_TAU, _GAIN, _PULSE, _CURRENT = Quantity.TAU, Quantity.GAIN_RATIO, Quantity.PULSE_WIDTH, Quantity.CURRENT
_N, _P = Transistor.N, Transistor.P

# Scale factors as measured by the chip's makers and published with Rockpool 3.1
# (``rockpool.devices.dynapse.lookup.scaling.scale_factor_se2``); defaults are Rockpool
# 3.1's operating point. Tests check both against Rockpool.
#
# To add a bias: one line here. The parameter sets, the simulator's records, the
# configuration's parameter map and the default operating point follow; the equation
# that uses the new current reads it from ``StepConstants.currents`` (simulation/step.py).
BIAS_PARAMETERS: Tuple[BiasParameter, ...] = (
    # chip name, simulator current, transistor, scale factor, quantity it sets, circuit, default
    BiasParameter("SOIF_DC_P", "Idc", _P, 0.38, _CURRENT, Circuit.MEM, 5e-13),
    BiasParameter("SOIF_LEAK_N", "Itau_mem", _N, 0.61, _TAU, Circuit.MEM, 20e-3),
    BiasParameter("SOIF_GAIN_N", "Igain_mem", _N, 1.05, _GAIN, Circuit.MEM, 4.0),
    BiasParameter("SOIF_REFR_N", "Iref", _N, 1.05, _PULSE, PulseCircuit.REF, 1e-3),
    BiasParameter("SOIF_SPKTHR_P", "Ispkthr", _P, 0.38, _CURRENT, Circuit.MEM, 1e-7),
    BiasParameter("SYPD_EXT_N", "Ipulse", _N, 0.92, _PULSE, PulseCircuit.PULSE, 10e-6),
    BiasParameter("SOAD_TAU_P", "Itau_ahp", _P, 0.2, _TAU, Circuit.AHP, 50e-3),
    BiasParameter("SOAD_GAIN_P", "Igain_ahp", _P, 0.68, _GAIN, Circuit.AHP, 1.0),
    BiasParameter("SOAD_PWTAU_N", "Ipulse_ahp", _N, 0.92, _PULSE, PulseCircuit.PULSE_AHP, 1e-6),
    BiasParameter("SOAD_W_N", "Iw_ahp", _N, 0.92, _CURRENT, Circuit.AHP, 5e-13),
    BiasParameter("DEAM_ETAU_P", "Itau_ampa", _P, 0.2, _TAU, Circuit.AMPA, 10e-3),
    BiasParameter("DEAM_EGAIN_P", "Igain_ampa", _P, 0.68, _GAIN, Circuit.AMPA, 100.0),
    BiasParameter("DENM_ETAU_P", "Itau_nmda", _P, 0.2, _TAU, Circuit.NMDA, 10e-3),
    BiasParameter("DENM_EGAIN_P", "Igain_nmda", _P, 0.68, _GAIN, Circuit.NMDA, 100.0),
    BiasParameter("DENM_NMREV_N", "If_nmda", _N, 1.05, _CURRENT, Circuit.NMDA, 5e-13),
    BiasParameter("DEGA_ITAU_P", "Itau_gaba", _P, 0.2, _TAU, Circuit.GABA, 10e-3),
    BiasParameter("DEGA_IGAIN_P", "Igain_gaba", _P, 0.68, _GAIN, Circuit.GABA, 100.0),
    BiasParameter("DESC_ITAU_P", "Itau_shunt", _P, 0.2, _TAU, Circuit.SHUNT, 10e-3),
    BiasParameter("DESC_IGAIN_P", "Igain_shunt", _P, 0.68, _GAIN, Circuit.SHUNT, 100.0),
    BiasParameter("SYAM_W0_P", "Iw_0", _P, 0.22, _CURRENT, None, 1e-9, base_weight=0),
    BiasParameter("SYAM_W1_P", "Iw_1", _P, 0.22, _CURRENT, None, 2e-9, base_weight=1),
    BiasParameter("SYAM_W2_P", "Iw_2", _P, 0.22, _CURRENT, None, 4e-9, base_weight=2),
    BiasParameter("SYAM_W3_P", "Iw_3", _P, 0.22, _CURRENT, None, 8e-9, base_weight=3),
)
"""Every bias parameter the package models, one per simulator current: the one declaration
of the chip's biases (the default of a plain current of ``Io``, 0.5 pA, means off)."""

BIAS_PARAMETER_BY_NAME: Mapping[str, BiasParameter] = MappingProxyType(
    {p.name: p for p in BIAS_PARAMETERS}
)
BIAS_PARAMETER_BY_CURRENT: Mapping[str, BiasParameter] = MappingProxyType(
    {p.current: p for p in BIAS_PARAMETERS}
)

BIAS_SETTING: Mapping[Tuple[Quantity, "Circuit | PulseCircuit"], BiasParameter] = MappingProxyType(
    {(p.sets, p.circuit): p for p in BIAS_PARAMETERS if p.sets is not Quantity.CURRENT}
)
"""The bias that sets a high-level quantity of a circuit:
``BIAS_SETTING[Quantity.TAU, Circuit.MEM]`` is ``SOIF_LEAK_N`` (``Itau_mem``)."""

NEURON_BIASES: Tuple[BiasParameter, ...] = tuple(p for p in BIAS_PARAMETERS if not p.is_base_weight)
"""The biases that set a per-neuron current of the simulator (all but the base weights), in
declaration order: the simulator's ``CURRENT_NAMES``."""

BASE_WEIGHT_BIASES: Tuple[BiasParameter, ...] = tuple(
    sorted((p for p in BIAS_PARAMETERS if p.is_base_weight), key=lambda p: p.base_weight)
)
"""The base weight currents ``Iw_0..Iw_3`` of a core (``SYAM_W0_P``..``SYAM_W3_P``), in
mask-bit order: base ``k`` is bit ``k`` of a synapse's weight mask."""


def _ordered(quantity: Quantity, kinds: type) -> Tuple[BiasParameter, ...]:
    """The biases that set ``quantity``, in the order of their circuits' enum."""
    order = {c: i for i, c in enumerate(kinds)}
    return tuple(sorted((p for p in BIAS_PARAMETERS if p.sets is quantity), key=lambda p: order[p.circuit]))


HIGH_LEVEL_BIASES: Tuple[BiasParameter, ...] = (
    _ordered(Quantity.TAU, Circuit)
    + _ordered(Quantity.PULSE_WIDTH, PulseCircuit)
    + _ordered(Quantity.GAIN_RATIO, Circuit)
    + tuple(p for p in BIAS_PARAMETERS if p.sets is Quantity.CURRENT)
)
"""Every bias in the order of the high-level parameter set (``CoreHighLevel``): time
constants, pulse widths, gain ratios (each in the order of its circuits), plain currents."""


def _defaults(quantity: Quantity) -> Mapping["Circuit | PulseCircuit", float]:
    return MappingProxyType({p.circuit: p.default for p in HIGH_LEVEL_BIASES if p.sets is quantity})


DefaultOperatingPoint = make_dataclass(
    "DefaultOperatingPoint",
    [
        ("tau", Mapping[Circuit, float], field(default_factory=lambda: _defaults(Quantity.TAU))),
        ("pulse_width", Mapping[PulseCircuit, float], field(default_factory=lambda: _defaults(Quantity.PULSE_WIDTH))),
        ("gain_ratio", Mapping[Circuit, float], field(default_factory=lambda: _defaults(Quantity.GAIN_RATIO))),
    ]
    + [(p.current, float, field(default=p.default)) for p in NEURON_BIASES if p.sets is Quantity.CURRENT]
    + [
        ("Iw", Tuple[float, ...], field(default=tuple(p.default for p in BASE_WEIGHT_BIASES))),
        ("Iscale", float, field(default=1e-8)),
    ],
    frozen=True,
    namespace={
        "__module__": __name__,
        "__doc__": """The default high-level operating point of a core (Rockpool 3.1's defaults),
    derived from the defaults of :data:`BIAS_PARAMETERS`.

    Fields:
        tau: ``{Circuit: time constant (s)}``.
        pulse_width: ``{PulseCircuit: pulse width or refractory period (s)}``.
        gain_ratio: ``{Circuit: Igain / Itau}`` of every DPI circuit.
        Idc, Ispkthr, If_nmda, Iw_ahp, ...: one field per plain per-neuron current (A):
            the DC input, the spiking threshold, the NMDA gate and the AHP weight; a
            current at the dark current ``Io`` is off.
        Iw: the base weight currents ``Iw_0..Iw_3`` (A).
        Iscale: current (A) of a weight of 1.0 in the simulators' weight units (not a bias).
    """,
    },
)


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
