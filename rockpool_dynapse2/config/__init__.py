"""The DYNAP-SE2 chip configuration as pure Python: a typed, validated tree mirroring samna's
``Dynapse2Configuration``, with JSON in samna's format.

* :mod:`.records`: the leaves (``Parameter``, ``Synapse``, ``Destination``, chip peripherals)
* :mod:`.neuron`: ``Neuron`` (64 CAM entries, 4 SRAM entries, 14 latches)
* :mod:`.tree`: ``Core``, ``Chip``, ``Configuration`` (and every record, re-exported)
* :mod:`.json_io`: ``to_json`` / ``from_json``
* :mod:`.summary`: neurons, CAM entries and tags used per core and chip

Nothing here imports samna; :meth:`Configuration.to_samna` loads the samna adapter on use.
"""

from .allocate import Allocation, allocate
from .drc import Dynapse2DRCError, Violation
from .from_spec import config_from_specification
from .json_io import JSON_KEYS, from_json, to_json
from .mapped import InputRoute, MappedConfiguration, NeuronAddress
from .to_spec import dynapsim_net_from_config, spec_from_config
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
from .summary import ChipSummary, ConfigurationSummary, CoreSummary
from .tree import LATCHES, Chip, Configuration, Core, EntryLocation, Neuron, default_core_parameters

__all__ = [
    "config_from_specification",
    "spec_from_config",
    "dynapsim_net_from_config",
    "MappedConfiguration",
    "InputRoute",
    "NeuronAddress",
    "Allocation",
    "allocate",
    "Dynapse2DRCError",
    "Violation",
    "Configuration",
    "Chip",
    "Core",
    "Neuron",
    "Synapse",
    "Destination",
    "Parameter",
    "Vec2",
    "DvsMode",
    "DvsInterface",
    "Bioamps",
    "CoreSadcEnables",
    "ChipSadcEnables",
    "EntryLocation",
    "LATCHES",
    "default_core_parameters",
    "CoreSummary",
    "ChipSummary",
    "ConfigurationSummary",
    "to_json",
    "from_json",
    "JSON_KEYS",
]
