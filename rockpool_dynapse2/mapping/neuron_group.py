"""The DYNAP-SE2 view of one neuron module of a Rockpool graph: :class:`NeuronGroup`.

The mapper (:mod:`.graph_map`) turns every neuron module of a graph into a group: the
currents of its neurons, how its weights convert into the spec's weight unit, and which
synapse type and neuron each of its input nodes drives. :func:`dynapse2_group` makes the
group of our own ``Dynapse2Neurons``; :func:`~.lif.lif_group` that of a Rockpool LIF module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional

import numpy as np

from ..chip import SynapseType
from ..simulation.graph import Dynapse2Neurons
from ..simulation.records import CURRENT_NAMES

__all__ = ["NeuronGroup", "SIGNED_INPUT", "dynapse2_group"]

SIGNED_INPUT = -1
"""``NeuronGroup.synapse_of_input`` of a signed input: the weight's sign picks the synapse
type (:data:`~rockpool_dynapse2.chip.SIGNED_EXCITATORY` or
:data:`~rockpool_dynapse2.chip.SIGNED_INHIBITORY`)."""


@dataclass
class NeuronGroup:
    """The DYNAP-SE2 view of one neuron module of the graph.

    Attributes:
        module: the graph module.
        currents: ``{current name: (n,) float64}`` for the ``n`` neurons.
        weight_scale: ``(n,)`` factor per neuron that converts the weights onto it into
            units of the spec's ``Iscale``.
        synapse_of_input: ``(n_inputs,)`` synapse type (a :class:`~rockpool_dynapse2.chip.SynapseType`
            value) of each input node, or :data:`SIGNED_INPUT` (-1) for a signed input
            (positive -> AMPA, negative -> GABA).
        neuron_of_input: ``(n_inputs,)`` the neuron each input node belongs to.
        dt: the module's time step (s), if it has one.
        offset: index of the group's first neuron in the population.
    """

    module: Any
    currents: Dict[str, np.ndarray]
    weight_scale: np.ndarray
    synapse_of_input: np.ndarray
    neuron_of_input: np.ndarray
    dt: Optional[float]
    offset: int = 0

    @property
    def size(self) -> int:
        return len(self.module.output_nodes)


def dynapse2_group(mod: Dynapse2Neurons, Iscale: float) -> NeuronGroup:
    """The group of a ``Dynapse2Neurons`` graph module (from ``DynapSimJax``/``DynapSimTorch``).

    Its inputs are signed (one per neuron) or typed (channel ``4 i + k``: synapse type
    ``k`` of neuron ``i``); its weights are in units of its own ``Iscale``.
    """
    n_in, n = len(mod.input_nodes), len(mod.output_nodes)
    if mod.signed:
        syn = np.full(n_in, SIGNED_INPUT)
        neuron = np.arange(n_in)
    else:
        syn = np.arange(n_in) % len(SynapseType)
        neuron = np.arange(n_in) // len(SynapseType)
    return NeuronGroup(
        module=mod,
        currents={k: np.asarray(mod.values[k], dtype=np.float64) for k in CURRENT_NAMES},
        weight_scale=np.full(n, float(mod.Iscale) / Iscale),
        synapse_of_input=syn,
        neuron_of_input=neuron,
        dt=mod.dt,
    )
