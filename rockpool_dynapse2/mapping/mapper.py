"""Rockpool graph -> :class:`~.network_spec.NetworkSpec`, calibrated if asked: :func:`mapper`.

The mapping itself is :func:`~.graph_map.map_graph` (see :mod:`.graph_map` for how a graph
becomes a population of DYNAP-SE2 neurons); :func:`mapper` adds the calibration of the
graph's LIF layers against the network the graph was made from
(:func:`~.calibration.calibrate.calibrate_graph`) when given a calibration input.

Neuron modules it accepts: our :class:`~rockpool_dynapse2.simulation.graph.Dynapse2Neurons` (from
``DynapSimJax``/``DynapSimTorch``) and Rockpool's ``LIFNeuronWithSynsRealValue``
(``LIFJax``, ``LIFTorch``, NIR imports), converted by :mod:`.lif`.
"""

from __future__ import annotations

from typing import Any, Optional

from rockpool.graph import GraphModuleBase

from ..chip import GEOMETRY
from ..errors import MappingError
from .calibration.calibrate import calibrate_graph
from .graph_map import layer_names, map_graph
from .network_spec import NetworkSpec
from .neuron_group import NeuronGroup

__all__ = ["MappingError", "NeuronGroup", "layer_names", "mapper"]


def mapper(graph: GraphModuleBase, *, calibration_input: Optional[Any] = None, **options: Any) -> NetworkSpec:
    """Map a Rockpool graph onto one population of DYNAP-SE2 neurons, calibrated if asked.

    Args:
        graph: ``net.as_graph()`` of a network of linear layers and neuron modules.
        calibration_input: ``(B, T, n_inputs)`` input on which to calibrate the LIF layers
            against the network the graph was made from (drive scale and threshold per
            layer, :func:`~.calibration.calibrate.calibrate_graph`); default: no calibration.
            :func:`~.calibration.calibrate.map_and_calibrate` also returns the calibration report.
        **options: the mapping's keyword arguments ``Iscale``, ``max_cores`` (also the
            calibration's), ``neurons_per_core`` and ``tolerance``; see
            :func:`~.graph_map.map_graph`.

    Returns:
        The :class:`~.network_spec.NetworkSpec`.

    Raises:
        MappingError: see :func:`~.graph_map.map_graph`.
        CalibrationError: (a ``MappingError``) ``calibration_input`` with a graph that has no
            LIF neurons or no ``computational_module``.
        ShapeError: ``calibration_input`` of the wrong width.
    """
    spec = map_graph(graph, **options)
    if calibration_input is None:
        return spec
    return calibrate_graph(spec, graph, calibration_input, max_cores=options.get("max_cores", GEOMETRY.n_cores))[0]
