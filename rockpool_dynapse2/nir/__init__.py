"""NIR graphs <-> DYNAP-SE2 networks: our own reader, writer and reference simulator.

* :mod:`.nodes`: the NIR node types the package reads, declared once (a registry), and
  their parameters as one record, :class:`~.nodes.NeuronParams`;
* :mod:`.network`: a NIR graph read into numpy, :class:`~.network.NirNetwork`
  (subgraphs inlined, weights composed, one time step);
* :mod:`.reference`: NIR's own semantics, step by step (forward Euler):
  :func:`~.reference.simulate_nir`, the reference an imported network is compared with;
* :mod:`.reader`: a NIR graph -> a DYNAP-SE2 :class:`~rockpool_dynapse2.mapping.NetworkSpec`
  through the calibrated LIF conversion: :func:`~.reader.spec_from_nir`;
* :mod:`.writer`: a DYNAP-SE2 network spec -> a NIR graph of the nearest NIR primitives:
  :func:`~.writer.nir_from_spec`, :func:`~.writer.write_nir`.

Reading a graph object needs no import of ``nir``; reading and writing files does
(``pip install "rockpool-dynapse2[nir]"``).
"""

from ..errors import NIRError, NIRGraphError, TimeStepError, UnsupportedNodeError
from .network import INPUT, RESETS, Layer, NirNetwork, Projection, network_from_graph
from .nodes import NEURON_KINDS, NeuronParams
from .reader import NirImport, read_nir, spec_from_nir
from .reference import NirRecord, simulate_nir
from .writer import nir_from_spec, write_nir

__all__ = [
    "read_nir",
    "network_from_graph",
    "simulate_nir",
    "spec_from_nir",
    "nir_from_spec",
    "write_nir",
    "NirNetwork",
    "NirImport",
    "NirRecord",
    "Layer",
    "Projection",
    "NeuronParams",
    "NEURON_KINDS",
    "INPUT",
    "RESETS",
    "NIRError",
    "UnsupportedNodeError",
    "NIRGraphError",
    "TimeStepError",
]
