"""The DYNAP-SE2 chip configuration as pure Python: a typed, validated tree mirroring samna's
``Dynapse2Configuration``, with JSON in samna's format.

* :mod:`.records`: the leaves (``Parameter``, ``Synapse``, ``Destination``, chip peripherals)
* :mod:`.neuron`: ``Neuron`` (64 CAM entries, 4 SRAM entries, 14 latches)
* :mod:`.tree`: ``Core``, ``Chip``, ``Configuration`` (and every record, re-exported)
* :mod:`.json_io`: ``to_json`` / ``from_json``, samna's JSON format
* :mod:`.schema`: samna's JSON schema, one codec per record class (the tree's classes
  passed in, so that the schema never imports the tree)
* :mod:`.summary`: neurons, CAM entries and tags used per core and chip
* :mod:`._cereal`: the cereal (samna's serialiser) encoding of records; :mod:`._checks`:
  the field checks every record runs

This package knows nothing of networks: placing a network spec on the board (allocation,
design rules, the mapped configuration with its channel maps) is
:mod:`rockpool_dynapse2.placement`, one layer above.

Nothing here imports samna; :meth:`Configuration.to_samna` loads the samna adapter
(:mod:`rockpool_dynapse2._samna.adapter`) on use.
"""

from .json_io import JSON_KEYS, from_json, to_json
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
