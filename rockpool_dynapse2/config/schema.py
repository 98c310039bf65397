"""samna's JSON schema of the configuration tree: one cereal codec per record class.

The codecs (:mod:`._cereal`) say, for every record class, which attribute is written under
which JSON key, in which order and how (see :mod:`.json_io` for the layout). The leaf
records' codecs are built here; those of :class:`~.tree.Core`, :class:`~.tree.Chip` and
:class:`~.tree.Configuration` by :func:`schema`, from the classes passed in, because
:mod:`.tree` defines those classes and imports this module (their ``to_json`` and
``from_json`` methods use it): this module never imports the tree.

:func:`write_document` and :func:`read_document` write and read one record with a codec;
:func:`parse_document` parses JSON text.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Union

from ..chip import Dendrite, Transistor
from .._json import loads
from ._cereal import ArrayCodec, BoolCodec, EmptyListCodec, EnumCodec, IntCodec, ListCodec, Located, ObjectCodec
from ._cereal import ParameterMapCodec, TransistorCodec, finish
from ._checks import shown
from .neuron import LATCHES, Neuron
from .records import Bioamps, ChipSadcEnables, CoreSadcEnables, Destination, DvsInterface, DvsMode
from .records import Parameter, Synapse, Vec2

__all__ = ["schema", "write_document", "read_document", "parse_document"]

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

def schema(configuration: type, chip: type, core: type) -> Dict[type, ObjectCodec]:
    """The codec of every record class, in the order of ``JSON_KEYS``.

    Args:
        configuration: the class :class:`~.tree.Configuration` (the tree's classes are
            passed in: :mod:`.tree` imports this module).
        chip: the class :class:`~.tree.Chip`.
        core: the class :class:`~.tree.Core`.
    """
    core_codec = ObjectCodec(
        core,
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
    chip_codec = ObjectCodec(
        chip,
        (
            ("cores", "cores", ArrayCodec(core_codec)),
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
    configuration_codec = ObjectCodec(configuration, (("chips", "chips", ListCodec(chip_codec)),))
    return {
        configuration: configuration_codec,
        chip: chip_codec,
        ChipSadcEnables: _CHIP_SADC,
        DvsInterface: _DVS,
        Vec2: _VEC2,
        Bioamps: _BIOAMPS,
        core: core_codec,
        CoreSadcEnables: _CORE_SADC,
        Neuron: _NEURON,
        Synapse: _SYNAPSE,
        Destination: _DESTINATION,
        Parameter: _PARAMETER,
    }


# --- one document --------------------------------------------------------------------------


def write_document(codec: ObjectCodec, node: Any) -> str:
    """``node`` as JSON text in samna's format (``{"value0": ...}``, 4-space indent)."""
    out = ['{\n    "value0": ']
    codec.write(node, 1, out, {})
    out.append("\n}")
    return "".join(out)


def parse_document(text: Union[str, bytes]) -> Any:
    """The parsed JSON document of ``text``.

    Raises:
        ParameterValueError: for text that is not JSON.
    """
    return loads(text, "JSON text")


def read_document(codec: ObjectCodec, document: Any) -> Any:
    """The record ``codec`` reads from a parsed document ``{"value0": {...}}``.

    Raises:
        ParameterValueError, ShapeError, BiasCodeError: the first bad field, with its path.
    """
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
