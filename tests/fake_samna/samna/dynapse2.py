"""Fake ``samna.dynapse2``: the configuration tree, grid events, the board and its model.

Objects behave like pybind11 bindings: only samna's attributes exist (setting another
raises ``AttributeError``), values are type-checked (``TypeError``), and array members are
bound by value (see the package docs). The board and model forward to the simulated
hardware in :mod:`samna._hardware`.
"""

from __future__ import annotations

import enum
import operator
from typing import Any, Callable, Dict, List, Tuple

__all__ = [
    "Dendrite",
    "ParameterType",
    "Dynapse2Parameter",
    "Dynapse2Synapse",
    "Dynapse2Destination",
    "NormalGridEvent",
    "Dynapse2Neuron",
    "Dynapse2Core",
    "Dynapse2Chip",
    "Dynapse2Configuration",
    "Dynapse2Model",
    "Dynapse2Stack",
    "OtherEvent",
    "ResetType",
]


class Dendrite(enum.IntEnum):
    """samna's dendrite enum (members are lower case, as in samna)."""

    none = 0
    ampa = 1024
    gaba = 512
    nmda = 256
    shunt = 128


class ParameterType(enum.IntEnum):
    """samna's transistor type enum of ``Dynapse2Parameter._initial_type``."""

    p = 0
    n = 1


class ResetType(enum.IntEnum):
    """samna's model reset kinds (as in public lab scripts; values are a guess)."""

    PowerCycle = 0
    LogicReset = 1
    ConfigReset = 2


# --- value checks, pybind11 style -------------------------------------------------------------


def _int(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(f"incompatible value {value!r}: an integer is required")
        value = operator.index(value)  # TypeError for non-integers
        if not low <= value <= high:
            raise ValueError(f"value {value} out of range {low}..{high}")
        return int(value)

    return check


def _bool(value: Any) -> bool:
    if value is True or value is False or type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"incompatible value {value!r}: a bool is required")


def _type_letter(value: Any) -> str:
    if value in ("N", "P"):
        return value
    raise TypeError(f"incompatible value {value!r}: 'N' or 'P' is required")


def _enum(cls: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not cls:
            raise TypeError(f"incompatible value {value!r}: a {cls.__name__} is required")
        return value

    return check


def _bools(n: int) -> Callable[[Any], Tuple[bool, ...]]:
    def check(value: Any) -> Tuple[bool, ...]:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise TypeError(f"incompatible value {value!r}: a list of {n} bools is required")
        items = tuple(_bool(v) for v in value)
        if len(items) != n:
            raise TypeError(f"incompatible value {value!r}: a list of {n} bools is required")
        return items

    return check


class _Record:
    """Attributes limited to ``_fields`` (name -> (check, default)) and ``_ByValue`` members."""

    _fields: Dict[str, Tuple[Callable[[Any], Any], Any]] = {}

    def __init__(self) -> None:
        for name, (_, default) in self._fields.items():
            object.__setattr__(self, name, default)

    def __setattr__(self, name: str, value: Any) -> None:
        field = self._fields.get(name)
        if field is not None:
            object.__setattr__(self, name, field[0](value))
        elif isinstance(getattr(type(self), name, None), _ByValue):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{type(self).__name__}({fields})"


class _ByValue:
    """An array member bound by value: stored as a tuple of immutable rows; reading builds a
    fresh list (of fresh objects), writing copies. ``to_row``/``from_row`` convert items."""

    def __init__(self, n: int, to_row: Callable[[Any], Any], from_row: Callable[[Any], Any]):
        self.n = n
        self.to_row = to_row
        self.from_row = from_row

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_rows_" + name
        self.name = name

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        return [self.from_row(r) for r in getattr(obj, self.slot)]

    def __set__(self, obj: Any, value: Any) -> None:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != self.n:
            raise TypeError(f"{type(obj).__name__}.{self.name} must be a list of {self.n} items; got {value!r}")
        object.__setattr__(obj, self.slot, tuple(self.to_row(v) for v in value))


# --- leaves -----------------------------------------------------------------------------------


class Dynapse2Parameter(_Record):
    """One bias generator setting: ``type`` ('N'/'P'), ``coarse_value`` 0..5, ``fine_value`` 0..255,
    and samna's private ``_address``, ``_cookie``, ``_initial_type``, ``_switchable_type``."""

    _fields = {
        "type": (_type_letter, "N"),
        "coarse_value": (_int(0, 5), 0),
        "fine_value": (_int(0, 255), 0),
        "_address": (_int(0, 2**64 - 1), 0),
        "_cookie": (_int(0, 2**64 - 1), 0),
        "_initial_type": (_enum(ParameterType), ParameterType.n),
        "_switchable_type": (_bool, False),
    }


_TAG = _int(0, 2047)
_HOP = _int(-7, 7)


class Dynapse2Synapse(_Record):
    """One CAM entry: ``dendrite`` (:class:`Dendrite`), ``stp``, ``weight`` (4 bools),
    ``precise_delay``, ``mismatched_delay``, ``tag``."""

    _fields = {
        "dendrite": (_enum(Dendrite), Dendrite.none),
        "stp": (_bool, False),
        "precise_delay": (_bool, False),
        "mismatched_delay": (_bool, False),
        "tag": (_TAG, 0),
    }
    weight = _ByValue(4, _bool, bool)

    def __init__(self) -> None:
        super().__init__()
        self.weight = [False] * 4

    def row(self) -> Tuple:
        """``(dendrite value, stp, weight, precise_delay, mismatched_delay, tag)``."""
        return (int(self.dendrite), self.stp, self._rows_weight, self.precise_delay, self.mismatched_delay, self.tag)

    @classmethod
    def from_row(cls, row: Tuple) -> "Dynapse2Synapse":
        s = cls()
        s.dendrite, s.stp, s.weight, s.precise_delay, s.mismatched_delay, s.tag = (Dendrite(row[0]),) + tuple(row[1:])
        return s


class Dynapse2Destination(_Record):
    """One SRAM entry / event address: ``core`` (4 bools), ``x_hop``, ``y_hop`` (-7..7), ``tag``."""

    _fields = {"x_hop": (_HOP, 0), "y_hop": (_HOP, 0), "tag": (_TAG, 0)}
    core = _ByValue(4, _bool, bool)

    def __init__(self) -> None:
        super().__init__()
        self.core = [False] * 4

    def row(self) -> Tuple:
        """``(core, x_hop, y_hop, tag)``."""
        return (self._rows_core, self.x_hop, self.y_hop, self.tag)

    @classmethod
    def from_row(cls, row: Tuple) -> "Dynapse2Destination":
        d = cls()
        d.core, d.x_hop, d.y_hop, d.tag = row
        return d


def _synapse_row(value: Any) -> Tuple:
    if not isinstance(value, Dynapse2Synapse):
        raise TypeError(f"incompatible value {value!r}: a Dynapse2Synapse is required")
    return value.row()


def _destination_row(value: Any) -> Tuple:
    if not isinstance(value, Dynapse2Destination):
        raise TypeError(f"incompatible value {value!r}: a Dynapse2Destination is required")
    return value.row()


class NormalGridEvent(_Record):
    """A grid event: ``event`` (a :class:`Dynapse2Destination`, held by value) and ``timestamp`` (µs, uint32)."""

    _fields = {"timestamp": (_int(0, 2**32 - 1), 0)}

    def __init__(self) -> None:
        super().__init__()
        self.event = Dynapse2Destination()

    @property
    def event(self) -> Dynapse2Destination:
        """A copy of the event's address (set it whole)."""
        return Dynapse2Destination.from_row(self._event)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "event":
            object.__setattr__(self, "_event", _destination_row(value))
        else:
            super().__setattr__(name, value)

    def __repr__(self) -> str:
        return f"NormalGridEvent(event={self.event!r}, timestamp={self.timestamp})"


class OtherEvent:
    """Stands in for the event types other than ``NormalGridEvent`` a board can deliver."""


# --- the tree ---------------------------------------------------------------------------------

LATCHES = (
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

BLANK_SYNAPSE_ROW = Dynapse2Synapse().row()
BLANK_DESTINATION_ROW = Dynapse2Destination().row()


class Dynapse2Neuron(_Record):
    """One neuron: ``synapses`` (64), ``destinations`` (4), both by value, and 14 latches."""

    _fields = {name: (_bool, False) for name in LATCHES}
    synapses = _ByValue(64, _synapse_row, Dynapse2Synapse.from_row)
    destinations = _ByValue(4, _destination_row, Dynapse2Destination.from_row)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_rows_synapses", (BLANK_SYNAPSE_ROW,) * 64)
        object.__setattr__(self, "_rows_destinations", (BLANK_DESTINATION_ROW,) * 4)

    def __repr__(self) -> str:
        used = sum(r[0] != 0 for r in self._rows_synapses)
        return f"Dynapse2Neuron(synapses used={used})"


def _parameter_map(entries: Dict[str, Tuple[str, int, int, int]]) -> Dict[str, Dynapse2Parameter]:
    out = {}
    for name, (letter, coarse, fine, address) in entries.items():
        p = Dynapse2Parameter()
        p.type, p.coarse_value, p.fine_value, p._address, p._cookie = letter, coarse, fine, address, address ^ 0x5A5A
        p._initial_type = ParameterType.n if letter == "N" else ParameterType.p
        out[name] = p
    return out


# The 23 parameters the simulator models, and some samna has besides (names from public
# lab scripts); codes and addresses are made up, nonzero, to show what a writer keeps.
_CORE_PARAMETERS = (
    "SOIF_DC_P SOIF_LEAK_N SOIF_GAIN_N SOIF_REFR_N SOIF_SPKTHR_P SYPD_EXT_N SOAD_TAU_P SOAD_GAIN_P "
    "SOAD_PWTAU_N SOAD_W_N DEAM_ETAU_P DEAM_EGAIN_P DENM_ETAU_P DENM_EGAIN_P DENM_NMREV_N DEGA_ITAU_P "
    "DEGA_IGAIN_P DESC_ITAU_P DESC_IGAIN_P SYAM_W0_P SYAM_W1_P SYAM_W2_P SYAM_W3_P "
    "SOIF_CC_N SYPD_DLY0_P SYPD_DLY1_P SYPD_DLY2_P SYSA_VRES_N SYSA_VB_P DEAM_ITAU_P DEAM_IGAIN_P "
    "DENM_ITAU_P DENM_IGAIN_P"
).split()
_CHIP_GLOBAL = ("R2R_BUFFER_AMPB", "R2R_BUFFER_CCB")
_CHIP_SHARED = ("LBWR_VB_P", "PG_BUF_N")


class Dynapse2Core(_Record):
    """One core: ``neurons`` (256, by reference), ``parameters`` (name -> Dynapse2Parameter, by reference)."""

    _fields = {
        "neuron_monitoring_on": (_bool, False),
        "monitored_neuron": (_int(0, 255), 0),
        "enable_syaw_stdbuf_an": (_bool, False),
        "enable_pulse_extender_monitor1": (_bool, False),
        "enable_pulse_extender_monitor2": (_bool, False),
        "_id": (_int(0, 2**32 - 1), 0),
        "_cookie": (_int(0, 2**32 - 1), 0),
    }

    def __init__(self, core_id: int = 0) -> None:
        super().__init__()
        object.__setattr__(self, "neurons", [Dynapse2Neuron() for _ in range(256)])
        entries = {
            name: (name[-1], 1 + i % 5, (37 * i + 11) % 256, (core_id << 12) | (i + 1)) for i, name in enumerate(_CORE_PARAMETERS)
        }
        object.__setattr__(self, "parameters", _parameter_map(entries))
        self._id = core_id


class Dynapse2Chip(_Record):
    """One chip: ``cores`` (4, by reference), ``global_parameters``, ``shared_parameters01/23``."""

    _fields = {
        "enable_pg0_reference_monitor": (_bool, False),
        "enable_pg1_reference_monitor": (_bool, False),
        "param_gen0_powerdown": (_bool, False),
        "param_gen1_powerdown": (_bool, False),
    }

    def __init__(self, chip_id: int = 0) -> None:
        super().__init__()
        object.__setattr__(self, "cores", [Dynapse2Core(4 * chip_id + k) for k in range(4)])
        glob = {name: ("N", 5, 255, 0x9000 + i) for i, name in enumerate(_CHIP_GLOBAL)}
        shared = {name: (name[-1], 5, 255, 0xA000 + i) for i, name in enumerate(_CHIP_SHARED)}
        object.__setattr__(self, "global_parameters", _parameter_map(glob))
        object.__setattr__(self, "shared_parameters01", _parameter_map(shared))
        object.__setattr__(self, "shared_parameters23", _parameter_map(shared))


class Dynapse2Configuration(_Record):
    """A board's configuration: ``chips`` (by reference). Built empty it has 4 chips (a guess)."""

    def __init__(self, n_chips: int = 4) -> None:
        super().__init__()
        object.__setattr__(self, "chips", [Dynapse2Chip(i) for i in range(n_chips)])

    def __repr__(self) -> str:
        return f"Dynapse2Configuration(chips={len(self.chips)})"


def _shallow(obj: Any) -> Any:
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    return new


def _copy_map(m: Dict[str, Dynapse2Parameter]) -> Dict[str, Dynapse2Parameter]:
    return {name: _shallow(p) for name, p in m.items()}


def copy_configuration(config: Dynapse2Configuration) -> Dynapse2Configuration:
    """A deep copy, as samna's C++ copy: every node new; rows (immutable tuples) shared."""
    new = _shallow(config)
    chips = []
    for chip in config.chips:
        c = _shallow(chip)
        for name in ("global_parameters", "shared_parameters01", "shared_parameters23"):
            c.__dict__[name] = _copy_map(chip.__dict__[name])
        cores = []
        for core in chip.cores:
            k = _shallow(core)
            k.__dict__["parameters"] = _copy_map(core.parameters)
            k.__dict__["neurons"] = [_shallow(n) for n in core.neurons]
            cores.append(k)
        c.__dict__["cores"] = cores
        chips.append(c)
    new.__dict__["chips"] = chips
    return new


# --- the board and its model --------------------------------------------------------------------


class Dynapse2Model:
    """The board model: the configuration the chips hold."""

    def __init__(self, hardware: Any, n_chips: int):
        self._hardware = hardware
        self._config = Dynapse2Configuration(n_chips)
        self.applied = 0
        """How many configurations were applied (test hook)."""
        self.error_queue_cleared = 0
        """How often ``clear_error_queue`` was called (test hook)."""
        self.resets: List[Tuple[Any, int]] = []

    def get_configuration(self) -> Dynapse2Configuration:
        """A copy of the configuration the chips hold."""
        self._hardware.check_connected()
        return copy_configuration(self._config)

    def apply_configuration(self, config: Dynapse2Configuration) -> bool:
        """Write a configuration to the chips (copied)."""
        self._hardware.check_connected()
        if not isinstance(config, Dynapse2Configuration):
            raise TypeError(f"incompatible value {config!r}: a Dynapse2Configuration is required")
        if len(config.chips) != len(self._config.chips):
            raise ValueError(f"the board has {len(self._config.chips)} chips; the configuration has {len(config.chips)}")
        self._config = copy_configuration(config)
        self._hardware.program(self._config)
        self.applied += 1
        return True

    def reset(self, reset_type: Any = ResetType.PowerCycle, chip_mask: int = 0b1) -> None:
        self._hardware.check_connected()
        self.resets.append((reset_type, chip_mask))

    def clear_error_queue(self) -> None:
        self._hardware.check_connected()
        self.error_queue_cleared += 1

    def get_error_events(self) -> list:
        self._hardware.check_connected()
        return []


class Dynapse2Stack:
    """The board object ``samna.device.open_device`` returns (the name is a guess).

    Fault injection (test hooks, not samna): :meth:`fake_unplug`, and the attributes of
    :class:`samna._hardware.FakeHardware` via :attr:`fake`.
    """

    def __init__(self, hardware: Any, device_type_name: str, n_chips: int):
        self.fake = hardware
        self._name = device_type_name
        self._n_chips = n_chips
        self._model = Dynapse2Model(hardware, n_chips)

    def configure_opal_kelly(self, path: str) -> bool:
        """Load the FPGA bitfile; False if it cannot (here: the file does not exist)."""
        self.fake.check_connected()
        return self.fake.configure(path)

    def reset_fpga(self) -> None:
        self.fake.check_connected()
        self.fake.reset()

    def get_model(self) -> Dynapse2Model:
        self.fake.check_connected()
        return self._model

    def get_device_type_name(self) -> str:
        return self._name

    def get_number_of_chips(self) -> int:
        return self._n_chips

    def grid_bus_write_events(self, events: List[NormalGridEvent]) -> bool:
        self.fake.check_connected()
        self.fake.write(_rows(events))
        return True

    def input_interface_write_events(self, interface: int, events: List[NormalGridEvent]) -> bool:
        self.fake.check_connected()
        _int(0, 255)(interface)
        self.fake.write(_rows(events))
        return True

    def read_events(self) -> list:
        self.fake.check_connected()
        out = []
        for ts, core, x_hop, y_hop, tag in self.fake.read():
            e = NormalGridEvent()
            e.event = Dynapse2Destination.from_row((core, x_hop, y_hop, tag))
            e.timestamp = ts
            out.append(e)
        if self.fake.foreign_events and out:
            out.insert(len(out) // 2, OtherEvent())
        return out

    def fake_unplug(self) -> None:
        """The cable is pulled: every later call raises ``RuntimeError``."""
        self.fake.connected = False


def _rows(events: Any) -> List[Tuple[int, Tuple[bool, ...], int, int, int]]:
    if isinstance(events, (str, bytes)) or not hasattr(events, "__iter__"):
        raise TypeError(f"incompatible value {events!r}: a list of NormalGridEvent is required")
    rows = []
    for e in events:
        if not isinstance(e, NormalGridEvent):
            raise TypeError(f"incompatible value {e!r}: a NormalGridEvent is required")
        core, x_hop, y_hop, tag = e._event
        rows.append((e.timestamp, core, x_hop, y_hop, tag))
    return rows
