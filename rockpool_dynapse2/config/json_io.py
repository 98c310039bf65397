"""JSON text of a chip configuration in samna's (cereal) format, written and read exactly.

samna serialises its objects with cereal's JSON archive, and Rockpool 3.1's
``rockpool.devices.dynapse.samna_alias`` writes the same layout from Python; this module
writes text identical to the alias' ``to_json()`` for the same content and reads it back:

* the document is ``{"value0": <object>}``, indented by 4 spaces (``json.dumps(...,
  indent="    ")``);
* keys are camelCase (``preciseDelay``, ``latchSoDc``); samna's private fields keep their
  underscore (``_address``, ``_cookie``, ``_initialType``, ``_switchableType``, ``_id``);
  the sADC enables are CapitalCase (``SoifMem``); the DVS delay is ``davisReqAckBugfixDelay_ns``;
* fixed-size arrays (C++ ``std::array``: synapses, destinations, neurons, cores, masks) are
  objects ``{"value0": ..., "value1": ...}``; the chips are a JSON list;
* parameter maps are lists ``[{"key": name, "value": {...}}]``;
* a parameter's ``type`` is its character code (``ord('N')`` = 78, ``ord('P')`` = 80) and
  ``_initialType`` samna's ``ParameterType`` (P = 0, N = 1); dendrites and the DVS mode are
  their enum values.

Writing is fast for large boards: equal CAM entries and shared neurons are rendered once
per call and the text is joined once. Reading checks every field and reports the path of
the first bad one, e.g. ``value0.chips[0].cores.value1.neurons.value7.synapses.value3.tag``.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Tuple, Type, Union

from ..chip import Dendrite, Transistor
from ..errors import ParameterValueError
from ._cereal import (
    ArrayCodec,
    BoolCodec,
    EmptyListCodec,
    EnumCodec,
    IntCodec,
    ListCodec,
    Located,
    ObjectCodec,
    ParameterMapCodec,
    TransistorCodec,
    finish,
)
from ._checks import shown, verbatim
from .records import (
    Bioamps,
    ChipSadcEnables,
    CoreSadcEnables,
    Destination,
    DvsInterface,
    DvsMode,
    Parameter,
    Synapse,
    Vec2,
)
from .tree import LATCHES, Chip, Configuration, Core, Neuron

__all__ = ["to_json", "from_json", "JSON_KEYS"]

Node = Union[Configuration, Chip, Core, Neuron, Synapse, Destination, Parameter]

# --- the schema: field order and key names, as Rockpool's samna alias writes them ------

_BOOL, _INT = BoolCodec(), IntCodec()


def _camel(name: str) -> str:
    """``latch_so_dc`` -> ``latchSoDc`` (Rockpool's ``SamnaAlias.snake_to_camel``)."""
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _capital(name: str) -> str:
    """``soif_mem`` -> ``SoifMem`` (the sADC enables; samna's struct members are capitals)."""
    return "".join(word.title() for word in name.split("_"))


def _flags(attrs: Iterable[str], key: Callable[[str], str] = _camel):
    """``(attribute, JSON key, bool codec)`` of boolean fields."""
    return tuple((attr, key(attr), _BOOL) for attr in attrs)


_PARAMETER = ObjectCodec(
    Parameter,
    (
        ("type", "type", TransistorCodec({Transistor.N: ord("N"), Transistor.P: ord("P")})),
        ("coarse_value", "coarseValue", _INT),
        ("fine_value", "fineValue", _INT),
        ("address", "_address", _INT),
        ("cookie", "_cookie", _INT),
        ("initial_type", "_initialType", TransistorCodec({Transistor.P: 0, Transistor.N: 1}, also=("N", "P"))),
        ("switchable_type", "_switchableType", _BOOL),
    ),
    share="value",
)
_PARAMETER_MAP = ParameterMapCodec(_PARAMETER)
_BOOLS = ArrayCodec(_BOOL)

_SYNAPSE = ObjectCodec(
    Synapse,
    (
        ("dendrite", "dendrite", EnumCodec(Dendrite)),
        ("stp", "stp", _BOOL),
        ("weight", "weight", _BOOLS),
        ("precise_delay", "preciseDelay", _BOOL),
        ("mismatched_delay", "mismatchedDelay", _BOOL),
        ("tag", "tag", _INT),
    ),
    share="value",
)
_DESTINATION = ObjectCodec(
    Destination,
    (("core", "core", _BOOLS), ("x_hop", "xHop", _INT), ("y_hop", "yHop", _INT), ("tag", "tag", _INT)),
    share="value",
)
_NEURON = ObjectCodec(
    Neuron,
    (("synapses", "synapses", ArrayCodec(_SYNAPSE)), ("destinations", "destinations", ArrayCodec(_DESTINATION)))
    + _flags(LATCHES),
    share="id",
)
_CORE_SADC = ObjectCodec(
    CoreSadcEnables,
    # Rockpool's alias spells the refractory channel "soif_refectory"; samna's Python
    # attribute is ``soif_refractory`` (public lab scripts), its JSON key is the alias'.
    _flags(CoreSadcEnables.__dataclass_fields__, key=lambda a: "SoifRefectory" if a == "soif_refractory" else _capital(a)),
)
_CORE = ObjectCodec(
    Core,
    (
        ("neurons", "neurons", ArrayCodec(_NEURON)),
        ("neuron_monitoring_on", "neuronMonitoringOn", _BOOL),
        ("monitored_neuron", "monitoredNeuron", _INT),
        ("parameters", "parameters", _PARAMETER_MAP),
        ("sadc_enables", "sadcEnables", _CORE_SADC),
        ("enable_syaw_stdbuf_an", "enableSyawStdbufAn", _BOOL),
        ("enable_pulse_extender_monitor1", "enablePulseExtenderMonitor1", _BOOL),
        ("enable_pulse_extender_monitor2", "enablePulseExtenderMonitor2", _BOOL),
        ("core_id", "_id", _INT),
        ("cookie", "_cookie", _INT),
    ),
)
_VEC2 = ObjectCodec(Vec2, (("x", "x", _INT), ("y", "y", _INT)))
_DVS = ObjectCodec(
    DvsInterface,
    (
        ("drop_events", "dropEvents", _BOOL),
        ("dvs_mode", "dvsMode", EnumCodec(DvsMode)),
        ("off_events", "offEvents", _BOOL),
        ("on_events", "onEvents", _BOOL),
        ("pooling_shift", "poolingShift", _VEC2),
        ("copy_events", "copyEvents", _BOOL),
        ("copy_hop", "copyHop", _VEC2),
        ("davis_req_ack_bugfix_delay_ns", "davisReqAckBugfixDelay_ns", _INT),
        ("origin", "origin", _VEC2),
        ("max", "max", _VEC2),
        ("pixel_destinations", "pixelDestinations", ArrayCodec(_DESTINATION)),
        (None, "filter", EmptyListCodec()),
    ),
)
_BIOAMPS = ObjectCodec(
    Bioamps,
    (
        ("common_parameters", "commonParameters", _PARAMETER_MAP),
        ("channel_parameters", "channelParameters", ArrayCodec(_PARAMETER_MAP)),
        ("param_gen2_powerdown", "paramGen2Powerdown", _BOOL),
        ("gain", "gain", _INT),
    )
    + _flags(("separate_parameters",) + tuple(f"monitor_channel_{c}" for c in ("thuc", "thdc", "qfruc", "oruc", "osuc", "oauc")))
    + (("route", "route", ArrayCodec(_DESTINATION)),),
)
_CHIP_SADC = ObjectCodec(ChipSadcEnables, _flags(ChipSadcEnables.__dataclass_fields__, key=_capital))
_CHIP = ObjectCodec(
    Chip,
    (
        ("cores", "cores", ArrayCodec(_CORE)),
        ("global_parameters", "globalParameters", _PARAMETER_MAP),
        ("shared_parameters01", "sharedParameters01", _PARAMETER_MAP),
        ("shared_parameters23", "sharedParameters23", _PARAMETER_MAP),
        ("sadc_group_parameters01", "sadcGroupParameters01", ArrayCodec(_PARAMETER_MAP)),
        ("sadc_group_parameters23", "sadcGroupParameters23", ArrayCodec(_PARAMETER_MAP)),
        ("sadc_enables", "sadcEnables", _CHIP_SADC),
        ("dvs_if", "dvsIf", _DVS),
        ("bioamps", "bioamps", _BIOAMPS),
    )
    + _flags(("enable_pg0_reference_monitor", "enable_pg1_reference_monitor", "param_gen0_powerdown", "param_gen1_powerdown")),
)
_CONFIGURATION = ObjectCodec(Configuration, (("chips", "chips", ListCodec(_CHIP)),))

_CODECS: Dict[type, ObjectCodec] = {
    Configuration: _CONFIGURATION,
    Chip: _CHIP,
    Core: _CORE,
    Neuron: _NEURON,
    Synapse: _SYNAPSE,
    Destination: _DESTINATION,
    Parameter: _PARAMETER,
}

JSON_KEYS: Mapping[type, Tuple[Tuple[Optional[str], str], ...]] = MappingProxyType(
    {
        obj.cls: tuple((attr, key) for attr, key, _ in obj.fields)
        for obj in (_CONFIGURATION, _CHIP, _CHIP_SADC, _DVS, _VEC2, _BIOAMPS, _CORE, _CORE_SADC, _NEURON, _SYNAPSE, _DESTINATION, _PARAMETER)
    }
)
"""For each record class, ``(attribute, JSON key)`` of its fields, in the order written
(Rockpool's samna alias' order; samna's own order is not public)."""


# --- entry points -------------------------------------------------------------------------


def to_json(node: Node) -> str:
    """``node`` as JSON text in samna's format (``{"value0": ...}``, 4-space indent).

    Args:
        node: a :class:`Configuration`, or one :class:`Chip`, :class:`Core`,
            :class:`Neuron`, :class:`Synapse`, :class:`Destination` or :class:`Parameter`.

    Raises:
        ParameterValueError: if ``node`` is none of these.
    """
    codec = _CODECS.get(type(node))
    if codec is None:
        raise ParameterValueError("node", "a Configuration, Chip, Core, Neuron, Synapse, Destination or Parameter", shown(node))
    out = ['{\n    "value0": ']
    codec.write(node, 1, out, {})
    out.append("\n}")
    return "".join(out)


def from_json(text: Union[str, bytes], kind: Type[Node] = Configuration) -> Node:
    """Read a record of class ``kind`` from JSON text in samna's format.

    Args:
        text: the JSON text, ``{"value0": {...}}``.
        kind: the record class the text holds: :class:`Configuration` (default),
            :class:`Chip`, :class:`Core`, :class:`Neuron`, :class:`Synapse`,
            :class:`Destination` or :class:`Parameter`.

    Returns:
        The record. ``to_json(from_json(text))`` is ``text`` for any text :func:`to_json`
        wrote. Equal CAM/SRAM entries and parameters are read into shared records.

    Raises:
        ParameterValueError: for text that is not JSON, a missing, extra or mistyped
            field; the message names the path, e.g. ``value0.chips[0].cores.value2.neurons.value9.xHop``.
        ShapeError, BiasCodeError: for a value the record rejects (wrong number of
            synapses, coarse code 7, ...), with the path in the message.
    """
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ParameterValueError("JSON text", "valid JSON", verbatim(str(error))) from error
    return from_document(document, kind)


def from_document(document: Any, kind: Type[Node] = Configuration) -> Node:
    """Like :func:`from_json`, from the already parsed JSON document (``{"value0": {...}}``)."""
    codec = _CODECS.get(kind)
    if codec is None:
        raise ParameterValueError("kind", "one of " + ", ".join(c.__name__ for c in _CODECS), shown(kind))
    try:
        if type(document) is not dict or document.keys() != {"value0"}:
            raise Located('an object {"value0": ...} (cereal\'s root)', shown(document))
        try:
            return codec.read(document["value0"], {})
        except Located as error:
            error.path.append("value0")
            raise
    except Located as error:
        raise finish(error) from error.error
