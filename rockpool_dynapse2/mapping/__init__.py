"""Rockpool graph -> network spec: the mapper, the spec, core clustering and LIF conversion."""

from .cores import CoreCapacityError, cluster_cores
from .mapper import MappingError, NeuronGroup, mapper
from .spec import NetworkSpec, Synapses, level_table
from .quantize import QuantizationReport, quantize_spec
from .simulate import dynapsim_net_from_spec
from .calibrate import CalibrationReport, calibrate_to_reference, map_and_calibrate
