"""Placing a network spec on the board, and reading one back.

* :mod:`.allocate`: neurons to chips and cores, tags, core parameters as bias codes
  (:func:`allocate`), with the design rules checked;
* :mod:`.defects`: :class:`Defects`, a board's unusable neuron slots and CAM entries,
  which placement avoids, and :func:`avoided` (the defects a placement stepped over);
* :mod:`.drc`: the design rules' :class:`Violation` records and their one error;
* :mod:`.from_network_spec`: :func:`config_from_specification`, a mapping
  :class:`~rockpool_dynapse2.mapping.NetworkSpec` -> :class:`MappedConfiguration`;
* :mod:`.mapped`: :class:`MappedConfiguration`, a chip configuration with the channel maps
  (input channel -> route, output channel <- neuron) that the driver needs;
* :mod:`.to_network_spec`: the way back, configuration -> network spec -> simulation
  (:func:`spec_from_config`, :func:`dynapsim_net_from_config`).

The layer sits between the mapper (:mod:`rockpool_dynapse2.mapping`, whose network spec it
reads) and the configuration tree (:mod:`rockpool_dynapse2.config`, which it writes).
"""

from .allocate import Allocation, allocate, chip_position
from .defects import AvoidedDefects, Defects, avoided
from .drc import Violation
from .from_network_spec import config_from_specification
from .mapped import InputRoute, MappedConfiguration, NeuronAddress
from .to_network_spec import dynapsim_net_from_config, spec_from_config
from ..errors import Dynapse2DRCError

__all__ = [
    "config_from_specification",
    "spec_from_config",
    "dynapsim_net_from_config",
    "MappedConfiguration",
    "InputRoute",
    "NeuronAddress",
    "Allocation",
    "allocate",
    "chip_position",
    "Defects",
    "AvoidedDefects",
    "avoided",
    "Dynapse2DRCError",
    "Violation",
]
