"""The leaves of the chip configuration: bias parameters, CAM and SRAM entries, chip peripherals.

Each record is a frozen dataclass that checks its fields when it is built and raises a
named error (:mod:`rockpool_dynapse2.errors`) for a value the chip cannot hold. Every
record's defaults describe a blank entry (an empty CAM or SRAM entry, an interface that
is off), so ``Synapse()`` is the CAM entry of samna's default configuration.

Field names are samna's Python attribute names; the JSON keys (camelCase) are written by
:mod:`rockpool_dynapse2.config.json_io`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping, Optional, Tuple

import numpy as np

from ..chip import GEOMETRY, Dendrite, Transistor
from ..errors import BiasCodeError, ParameterValueError
from ..parameters.biasgen import BiasCode
from ._checks import (
    INT32_MAX,
    INT32_MIN,
    UINT32_MAX,
    UINT64_MAX,
    ParameterMap,
    check_bool,
    check_bool_fields,
    check_bools,
    check_enum,
    check_int,
    check_length,
    check_records,
    shown,
    transistor,
)

__all__ = [
    "DvsMode",
    "Parameter",
    "ParameterMap",
    "Synapse",
    "Destination",
    "Vec2",
    "CoreSadcEnables",
    "ChipSadcEnables",
    "DvsInterface",
    "Bioamps",
    "BLANK_SYNAPSE",
    "BLANK_DESTINATION",
    "EMPTY_PARAMETER_MAP",
    "TAG_MAX",
    "check_parameter_map",
]

TAG_MAX = GEOMETRY.tags_per_chip - 1
"""Largest tag (2047): tags are 11 bits."""

# --- records -----------------------------------------------------------------------------


class DvsMode(enum.IntEnum):
    """The DVS sensor model of a chip's DVS interface, with samna's enum values."""

    DVS128 = 0
    DAVIS240C = 2
    DAVIS346 = 4


@dataclass(frozen=True)
class Parameter:
    """One bias generator setting (samna's ``Dynapse2Parameter``).

    Attributes:
        type: transistor type of the output branch, :class:`~rockpool_dynapse2.chip.Transistor`
            (``"N"`` or ``"P"`` are accepted and converted).
        coarse_value: coarse code, 0..5 (roughly x8 per step).
        fine_value: fine code, 0..255.
        address: samna's private ``_address`` (parameter generator number and branch,
            shifted for the hardware), a ``uint64``. 0 unless read from a samna configuration.
        cookie: samna's private ``_cookie``, a ``uint64``.
        initial_type: samna's private ``_initialType``: the transistor type the branch
            starts with; ``None`` means ``type``.
        switchable_type: samna's private ``_switchableType``: True for the type-switchable
            ``..._V`` parameters.

    Raises:
        ParameterValueError: if ``type`` or ``initial_type`` is not N/P, or a private
            field has the wrong type.
        BiasCodeError: if ``coarse_value`` or ``fine_value`` is out of range.
    """

    type: Transistor
    coarse_value: int = 0
    fine_value: int = 0
    address: int = 0
    cookie: int = 0
    initial_type: Optional[Transistor] = None
    switchable_type: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "type", transistor("type", self.type))
        for name, high in (("coarse_value", GEOMETRY.coarse_values - 1), ("fine_value", GEOMETRY.fine_values - 1)):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not 0 <= value <= high:
                raise BiasCodeError(name, value, 0, high)
            set_(self, name, int(value))
        set_(self, "address", check_int("address", self.address, 0, UINT64_MAX))
        set_(self, "cookie", check_int("cookie", self.cookie, 0, UINT64_MAX))
        initial = self.type if self.initial_type is None else self.initial_type
        set_(self, "initial_type", transistor("initial_type", initial))
        set_(self, "switchable_type", check_bool("switchable_type", self.switchable_type))

    @property
    def code(self) -> BiasCode:
        """The ``(coarse, fine)`` code as a :class:`~rockpool_dynapse2.parameters.BiasCode`."""
        return BiasCode(self.coarse_value, self.fine_value)

    def with_code(self, code: BiasCode) -> "Parameter":
        """This parameter with another ``(coarse, fine)`` code (type and private fields kept)."""
        coarse, fine = code
        return Parameter(self.type, coarse, fine, self.address, self.cookie, self.initial_type, self.switchable_type)


EMPTY_PARAMETER_MAP: ParameterMap = MappingProxyType({})


def check_parameter_map(name: str, value: Any) -> ParameterMap:
    """A read-only copy of a ``{name: Parameter}`` map, in the order given.

    Raises:
        ParameterValueError: if ``value`` is not a mapping of non-empty strings to
            :class:`Parameter` records.
    """
    if not isinstance(value, Mapping):
        raise ParameterValueError(name, "a mapping {parameter name: Parameter}", shown(value))
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise ParameterValueError(f"{name} key", "a non-empty string", shown(key))
        if not isinstance(item, Parameter):
            raise ParameterValueError(f"{name}[{key!r}]", "a Parameter", shown(item))
    return MappingProxyType(dict(value))


@dataclass(frozen=True)
class Synapse:
    """One CAM entry of a neuron (samna's ``Dynapse2Synapse``).

    The default is a blank entry: dendrite ``NONE``, no weight bit, tag 0.

    Attributes:
        dendrite: the synapse type, :class:`~rockpool_dynapse2.chip.Dendrite`
            (``NONE`` = unused entry).
        stp: short-term plasticity on.
        weight: 4 booleans; bit ``i`` adds the core's base weight ``Iw_i`` (``SYAM_Wi_P``).
        precise_delay: route through the precise delay circuit.
        mismatched_delay: route through the mismatched delay circuit.
        tag: the tag (virtual source address) this entry listens to, 0..2047.

    Raises:
        ParameterValueError: for an unknown dendrite, a tag outside 0..2047, a non-bool flag.
        ShapeError: if ``weight`` does not have 4 entries.
    """

    dendrite: Dendrite = Dendrite.NONE
    stp: bool = False
    weight: Tuple[bool, bool, bool, bool] = (False, False, False, False)
    precise_delay: bool = False
    mismatched_delay: bool = False
    tag: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if type(self.dendrite) is not Dendrite:
            set_(self, "dendrite", check_enum("dendrite", self.dendrite, Dendrite))
        if type(self.weight) is not tuple or len(self.weight) != 4 or not all(w is True or w is False for w in self.weight):
            set_(self, "weight", check_bools("weight", self.weight, GEOMETRY.base_weights))
        if type(self.tag) is not int or not 0 <= self.tag <= TAG_MAX:
            set_(self, "tag", check_int("tag", self.tag, 0, TAG_MAX))
        check_bool_fields(self, ("stp", "precise_delay", "mismatched_delay"))

    @property
    def is_used(self) -> bool:
        """True if the entry has a dendrite (an entry with dendrite ``NONE`` has no effect)."""
        return self.dendrite is not Dendrite.NONE

    @property
    def weight_mask(self) -> int:
        """The weight bits as an integer 0..15 (bit ``i`` = ``weight[i]``)."""
        return sum(1 << i for i, bit in enumerate(self.weight) if bit)


BLANK_SYNAPSE = Synapse()
"""The blank CAM entry, shared by every empty configuration."""


@dataclass(frozen=True)
class Destination:
    """One SRAM (routing) entry of a neuron (samna's ``Dynapse2Destination``).

    The default is a blank entry: no target core, no hop, tag 0.

    Attributes:
        core: 4 booleans, the target cores on the destination chip.
        x_hop: chip hops along x, -7..7 (-7 sends events off the grid, to the FPGA).
        y_hop: chip hops along y, -7..7.
        tag: the tag the events carry, 0..2047.

    Raises:
        ParameterValueError: for a hop outside -7..7 or a tag outside 0..2047.
        ShapeError: if ``core`` does not have 4 entries.
    """

    core: Tuple[bool, bool, bool, bool] = (False, False, False, False)
    x_hop: int = 0
    y_hop: int = 0
    tag: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if type(self.core) is not tuple or len(self.core) != 4 or not all(c is True or c is False for c in self.core):
            set_(self, "core", check_bools("core", self.core, GEOMETRY.cores_per_chip))
        for name in ("x_hop", "y_hop"):
            value = getattr(self, name)
            if type(value) is not int or not GEOMETRY.hop_min <= value <= GEOMETRY.hop_max:
                set_(self, name, check_int(name, value, GEOMETRY.hop_min, GEOMETRY.hop_max))
        if type(self.tag) is not int or not 0 <= self.tag <= TAG_MAX:
            set_(self, "tag", check_int("tag", self.tag, 0, TAG_MAX))

    @property
    def is_used(self) -> bool:
        """True if the entry targets at least one core (samna's blank entry targets none)."""
        return any(self.core)


BLANK_DESTINATION = Destination()
"""The blank SRAM entry, shared by every empty configuration."""


@dataclass(frozen=True)
class Vec2:
    """An integer 2-vector (samna's ``Vec2_int`` / ``Vec2_unsigned_int``).

    Each coordinate fits one of them: -2**31 .. 2**32 - 1; the record holding the vector
    narrows it to its own type (:class:`DvsInterface`).
    """

    x: int = 0
    y: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", check_int("x", self.x, INT32_MIN, UINT32_MAX))
        object.__setattr__(self, "y", check_int("y", self.y, INT32_MIN, UINT32_MAX))


@dataclass(frozen=True)
class CoreSadcEnables:
    """Which signals of a core go to the spiking ADCs (samna's ``Dynapse2Core_CoreSadcEnables``).

    samna's default values are not public; here every channel defaults to off.
    """

    soif_mem: bool = False
    soif_refractory: bool = False
    soad_dpi: bool = False
    soca_dpi: bool = False
    deam_edpi: bool = False
    deam_idpi: bool = False
    denm_edpi: bool = False
    denm_idpi: bool = False
    dega_idpi: bool = False
    desc_idpi: bool = False
    sy_w42: bool = False
    sy_w21: bool = False
    soho_sogain: bool = False
    soho_degain: bool = False

    def __post_init__(self) -> None:
        check_bool_fields(self, _field_names(self))


@dataclass(frozen=True)
class ChipSadcEnables:
    """Chip-level spiking ADC switches (samna's ``Dynapse2Chip_ConfigSadcEnables``); default off."""

    nccf_extin_vi_group0_pg1: bool = False
    nccf_cal_refbias_v_group1_pg1: bool = False
    nccf_cal_refbias_v_group2_pg1: bool = False
    nccf_extin_vi_group2_pg1: bool = False
    nccf_extin_vi_group0_pg0: bool = False
    nccf_cal_refbias_v_group1_pg0: bool = False
    nccf_cal_refbias_v_group2_pg0: bool = False
    nccf_extin_vi_group2_pg0: bool = False

    def __post_init__(self) -> None:
        check_bool_fields(self, _field_names(self))


_DVS_VECTORS = (
    ("pooling_shift", 0, UINT32_MAX),
    ("copy_hop", INT32_MIN, INT32_MAX),
    ("origin", 0, UINT32_MAX),
    ("max", 0, UINT32_MAX),
)
"""The 2-vectors of the DVS interface with their coordinates' range: ``Vec2_unsigned_int``,
except the copy hop (``Vec2_int``), as in Rockpool's samna alias."""


@dataclass(frozen=True)
class DvsInterface:
    """A chip's DVS sensor interface (samna's ``Dynapse2DvsInterface``); default off.

    samna's DVS filter set is not modelled: Rockpool's alias always writes it as an empty
    list, and so does this package.

    Attributes:
        drop_events, off_events, on_events, copy_events: switches.
        dvs_mode: the sensor model, :class:`DvsMode`.
        pooling_shift, origin, max: unsigned 2-vectors (pixels; 32-bit ``unsigned int``).
        copy_hop: signed 2-vector (chip hops; 32-bit ``int``).
        davis_req_ack_bugfix_delay_ns: delay (ns), a ``uint64`` (samna's width is not public).
        pixel_destinations: SRAM entries of the interface (any number; samna's count is
            not public, the blank default has none).
    """

    drop_events: bool = False
    dvs_mode: DvsMode = DvsMode.DVS128
    off_events: bool = False
    on_events: bool = False
    pooling_shift: Vec2 = Vec2()
    copy_events: bool = False
    copy_hop: Vec2 = Vec2()
    davis_req_ack_bugfix_delay_ns: int = 0
    origin: Vec2 = Vec2()
    max: Vec2 = Vec2()
    pixel_destinations: Tuple[Destination, ...] = ()

    def __post_init__(self) -> None:
        check_bool_fields(self, ("drop_events", "off_events", "on_events", "copy_events"))
        object.__setattr__(self, "dvs_mode", check_enum("dvs_mode", self.dvs_mode, DvsMode))
        for name, low, high in _DVS_VECTORS:
            vec = getattr(self, name)
            if not isinstance(vec, Vec2):
                raise ParameterValueError(name, "a Vec2", shown(vec))
            check_int(f"{name}.x", vec.x, low, high)
            check_int(f"{name}.y", vec.y, low, high)
        object.__setattr__(
            self,
            "davis_req_ack_bugfix_delay_ns",
            check_int("davis_req_ack_bugfix_delay_ns", self.davis_req_ack_bugfix_delay_ns, 0, UINT64_MAX),
        )
        object.__setattr__(
            self, "pixel_destinations", check_records("pixel_destinations", self.pixel_destinations, Destination, None)
        )


@dataclass(frozen=True)
class Bioamps:
    """A chip's bio-signal amplifiers (samna's ``Dynapse2Bioamps``); default off.

    Attributes:
        common_parameters: ``{name: Parameter}`` shared by all channels.
        channel_parameters: one ``{name: Parameter}`` per channel (samna's count is not
            public; the blank default has none).
        param_gen2_powerdown, separate_parameters, monitor_channel_*: switches.
        gain: amplifier gain setting, a ``uint64`` (samna's width is not public).
        route: SRAM entries of the amplifier outputs (any number; default none).
    """

    common_parameters: ParameterMap = field(default_factory=lambda: EMPTY_PARAMETER_MAP)
    channel_parameters: Tuple[ParameterMap, ...] = ()
    param_gen2_powerdown: bool = False
    gain: int = 0
    separate_parameters: bool = False
    monitor_channel_thuc: bool = False
    monitor_channel_thdc: bool = False
    monitor_channel_qfruc: bool = False
    monitor_channel_oruc: bool = False
    monitor_channel_osuc: bool = False
    monitor_channel_oauc: bool = False
    route: Tuple[Destination, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "common_parameters", check_parameter_map("common_parameters", self.common_parameters))
        channels = check_length("channel_parameters", self.channel_parameters, None, "parameter maps")
        set_(
            self,
            "channel_parameters",
            tuple(check_parameter_map(f"channel_parameters[{i}]", m) for i, m in enumerate(channels)),
        )
        set_(self, "gain", check_int("gain", self.gain, 0, UINT64_MAX))
        check_bool_fields(
            self,
            ("param_gen2_powerdown", "separate_parameters")
            + tuple(f"monitor_channel_{c}" for c in ("thuc", "thdc", "qfruc", "oruc", "osuc", "oauc")),
        )
        set_(self, "route", check_records("route", self.route, Destination, None))


def _field_names(record: Any) -> Tuple[str, ...]:
    return tuple(record.__dataclass_fields__)
