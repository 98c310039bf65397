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


def mapper(
    graph: GraphModuleBase,
    *,
    Iscale: Optional[float] = None,
    max_cores: int = GEOMETRY.n_cores,
    neurons_per_core: int = GEOMETRY.neurons_per_core,
    tolerance: float = 0.05,
    calibration_input: Optional[Any] = None,
) -> NetworkSpec:
    """Map a Rockpool graph onto one population of DYNAP-SE2 neurons.

    Args:
        graph: ``net.as_graph()`` of a network of linear layers and neuron modules.
        Iscale: weight unit (A) of the spec; default: the first DYNAP-SE2 neuron module's,
            else 10 nA.
        max_cores: cores available (16 on a 4-chip board).
        neurons_per_core: neurons per core (256).
        tolerance: neurons whose currents differ by at most this relative amount share a
            core without counting as different (see :func:`~.cores.cluster_cores`).
        calibration_input: ``(B, T, n_inputs)`` input on which to calibrate the LIF layers
            against the network the graph was made from (drive scale and threshold per
            layer, :func:`~.calibration.calibrate.calibrate_graph`); default: no calibration.
            :func:`~.calibration.calibrate.map_and_calibrate` also returns the calibration report.

    Returns:
        The :class:`~.network_spec.NetworkSpec`.

    Raises:
        MappingError: an unsupported module, a graph output that is not a neuron, a
            weight onto something that is not a neuron input, or neurons with different
            time steps.
        CalibrationError: (a ``MappingError``) ``calibration_input`` with a graph that has no
            LIF neurons or no ``computational_module``.
        ShapeError: ``calibration_input`` of the wrong width.
    """
    spec = map_graph(graph, Iscale=Iscale, max_cores=max_cores, neurons_per_core=neurons_per_core, tolerance=tolerance)
    if calibration_input is None:
        return spec
    return calibrate_graph(spec, graph, calibration_input, max_cores=max_cores)[0]
