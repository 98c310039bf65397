"""Rockpool graph -> network spec: the mapper and what it works with.

* :mod:`.mapper`: :func:`mapper`, a Rockpool graph -> :class:`NetworkSpec` (layers of
  DYNAP-SE2 neurons, their synapses and core parameter sets), calibrated if asked;
* :mod:`.graph_map`: :func:`~.graph_map.map_graph`, the mapping itself (groups, wiring,
  outputs, cores) that the mapper and the calibration share;
* :mod:`.neuron_group`: :class:`NeuronGroup`, the DYNAP-SE2 view of one neuron module;
* :mod:`.network_spec`: :class:`NetworkSpec` and :class:`Synapses`, the hardware-level
  description of a network that placement (:mod:`rockpool_dynapse2.placement`) reads;
* :mod:`.cores`: :func:`cluster_cores`, neurons with equal parameters -> logical cores;
* :mod:`.lif`: LIF neurons (``LIFJax``, ``LIFTorch``, ...) -> DYNAP-SE2 currents;
* :mod:`.calibration`: the mapped LIF network calibrated against its reference;
* :mod:`.quantize`: :func:`quantize_spec`, the chip's weight quantization of a spec;
* :mod:`.simulate`: :func:`dynapsim_net_from_spec`, a spec -> a simulation network;
* :mod:`.trained`: :func:`spec_from_training`, a network trained by
  :mod:`rockpool_dynapse2.training` -> its chip-exact spec (its own cores, bases, masks);
* :mod:`.migration`: :func:`migrate`, a network of Rockpool's own ``DynapSim`` -> the
  training library's model, with a report of where the two simulators differ for it and
  fine-tuning towards what it did in Rockpool.
"""

from ..errors import CalibrationError, CoreCapacityError, MappingError
from .calibration import CalibrationReport, calibrate_to_reference, map_and_calibrate
from .cores import cluster_cores
from .graph_map import map_graph
from .mapper import mapper
from .migration import Migration, MigrationReport, migrate
from .neuron_group import NeuronGroup
from .network_spec import NetworkSpec, Synapses, level_table
from .quantize import QuantizationReport, quantize_spec
from .simulate import dynapsim_net_from_spec
from .trained import spec_from_training

__all__ = [
    "mapper",
    "map_graph",
    "NeuronGroup",
    "NetworkSpec",
    "Synapses",
    "level_table",
    "cluster_cores",
    "quantize_spec",
    "QuantizationReport",
    "dynapsim_net_from_spec",
    "spec_from_training",
    "migrate",
    "Migration",
    "MigrationReport",
    "calibrate_to_reference",
    "map_and_calibrate",
    "CalibrationReport",
    "MappingError",
    "CalibrationError",
    "CoreCapacityError",
]
