"""Rockpool graph -> network spec: the mapper, the spec, core clustering and LIF conversion."""

from .cores import CoreCapacityError, cluster_cores
from .mapper import MappingError, NeuronGroup, mapper
from .spec import NetworkSpec, Synapses, level_table
