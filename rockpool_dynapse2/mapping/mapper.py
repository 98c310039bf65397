"""Rockpool graph -> :class:`~.spec.NetworkSpec`.

The mapper reads a Rockpool computational graph (``net.as_graph()``) made of linear
weights (``LinearWeights``) and neuron modules, and flattens it into one recurrent
population of DYNAP-SE2 neurons:

* every neuron of every neuron module becomes one neuron of the population, numbered
  module by module in breadth-first order from the graph's inputs;
* weights from the graph's input nodes become input synapses (``w_in``); weights from
  neurons to neurons, between layers or recurrent, become recurrent synapses (``w_rec``);
  a neuron module wired straight to the graph's inputs gets identity input weights;
* the graph's output nodes must be neuron outputs: they become the output channel map;
* neurons are grouped into logical cores of at most 256, one parameter set per core
  (:func:`~.cores.cluster_cores`).

Neuron modules it accepts: our :class:`~rockpool_dynapse2.simulation.graph.Dynapse2Neurons` (from
``DynapSimJax``/``DynapSimTorch``) and Rockpool's ``LIFNeuronWithSynsRealValue``
(``LIFJax``, ``LIFTorch``, NIR imports), converted by :mod:`.lif`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from rockpool.graph import GenericNeurons, GraphModuleBase, LinearWeights
from rockpool.graph.graph_base import GraphHolder
from rockpool.graph.utils import bag_graph

from ..chip import GEOMETRY
from ..errors import Dynapse2Error, MappingError
from ..simulation.graph import Dynapse2Neurons
from ..simulation.records import CURRENT_NAMES
from .cores import cluster_cores
from .network_spec import NetworkSpec, Synapses

__all__ = ["MappingError", "NeuronGroup", "layer_names", "mapper"]

_AMPA, _NMDA, _GABA, _SHUNT = range(4)


@dataclass
class NeuronGroup:
    """The DYNAP-SE2 view of one neuron module of the graph.

    Attributes:
        module: the graph module.
        currents: ``{current name: (n,) float64}`` for the ``n`` neurons.
        weight_scale: ``(n,)`` factor per neuron that converts the weights onto it into
            units of the spec's ``Iscale``.
        synapse_of_input: ``(n_inputs,)`` synapse type of each input node, or -1 for a
            signed input (positive -> AMPA, negative -> GABA).
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


def _dynapse2_group(mod: Dynapse2Neurons, Iscale: float) -> NeuronGroup:
    n_in, n = len(mod.input_nodes), len(mod.output_nodes)
    if mod.signed:
        syn = np.full(n_in, -1)
        neuron = np.arange(n_in)
    else:
        syn = np.arange(n_in) % 4
        neuron = np.arange(n_in) // 4
    return NeuronGroup(
        module=mod,
        currents={k: np.asarray(mod.values[k], dtype=np.float64) for k in CURRENT_NAMES},
        weight_scale=np.full(n, float(mod.Iscale) / Iscale),
        synapse_of_input=syn,
        neuron_of_input=neuron,
        dt=mod.dt,
    )


def _group_of(mod: GenericNeurons, Iscale: float, converters: Dict[type, Callable]) -> NeuronGroup:
    if isinstance(mod, Dynapse2Neurons):
        return _dynapse2_group(mod, Iscale)
    for cls, convert in converters.items():
        if isinstance(mod, cls):
            return convert(mod, Iscale)
    supported = ["Dynapse2Neurons"] + [c.__name__ for c in converters]
    raise MappingError(
        f"neuron module `{mod.name}` must be one of {', '.join(supported)}; got {type(mod).__name__}"
    )


def layer_names(modules: Sequence[Any]) -> Tuple[str, ...]:
    """Names of the graph's neuron modules (the spec's layers), the same in every run.

    Each is the Rockpool module's own name (``"1_DynapSimJax"`` for the second module of a
    ``Sequential``), or its class name for an unnamed top-level module; a name that
    repeats (nested networks) gets ``"_<layer index>"`` appended. Rockpool's graph names
    end in the module's ``id()``, which changes from run to run, so they are not used.
    """
    names = []
    for k, mod in enumerate(modules):
        comp = getattr(mod, "computational_module", None)
        name = str(getattr(comp, "name", "") or "").strip("'\"") or type(comp if comp is not None else mod).__name__
        names.append(f"{name}_{k}" if name in names else name)
    return tuple(names)


def _breadth_first_modules(graph: GraphModuleBase) -> List[Any]:
    """Modules in breadth-first order from the graph's inputs, then any unreached ones."""
    seen, order = set(), []
    queue = deque(m for node in graph.input_nodes for m in node.sink_modules)
    while queue:
        mod = queue.popleft()
        if id(mod) in seen or isinstance(mod, GraphHolder):
            continue
        seen.add(id(mod))
        order.append(mod)
        queue.extend(m for node in mod.output_nodes for m in node.sink_modules)
    _, everything = bag_graph(graph)
    order.extend(m for m in everything if id(m) not in seen)
    return order


def _merge(parts: List[Tuple[np.ndarray, ...]]) -> Synapses:
    """One synapse table from pieces, summing the weights of repeated (source, target, type)."""
    if not parts:
        return Synapses.empty()
    src, tgt, kind, w = (np.concatenate(x) for x in zip(*parts))
    keys = np.stack([src, tgt, kind], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=w, minlength=len(unique))
    keep = total > 0
    return Synapses(unique[keep, 0], unique[keep, 1], unique[keep, 2], total[keep])


def _default_converters() -> Dict[type, Callable]:
    from rockpool.graph import LIFNeuronWithSynsRealValue

    from .lif import lif_group

    return {LIFNeuronWithSynsRealValue: lif_group}


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
            layer, :func:`~.calibrate.calibrate_graph`); default: no calibration.
            :func:`~.calibrate.map_and_calibrate` also returns the calibration report.

    Returns:
        The :class:`~.spec.NetworkSpec`.

    Raises:
        MappingError: an unsupported module, a graph output that is not a neuron, a
            weight onto something that is not a neuron input, or neurons with different
            time steps.
        CalibrationError: (a ``MappingError``) ``calibration_input`` with a graph that has no
            LIF neurons or no ``computational_module``.
        ShapeError: ``calibration_input`` of the wrong width.
    """
    modules = _breadth_first_modules(graph)
    neuron_mods = [m for m in modules if isinstance(m, GenericNeurons)]
    if not neuron_mods:
        raise MappingError("`graph` must contain neuron modules; got none")
    if Iscale is None:
        d2 = [m for m in neuron_mods if isinstance(m, Dynapse2Neurons)]
        Iscale = float(d2[0].Iscale) if d2 else 1e-8

    converters = _default_converters()
    groups: List[NeuronGroup] = []
    offset = 0
    for mod in neuron_mods:
        g = _group_of(mod, Iscale, converters)
        g.offset = offset
        offset += g.size
        groups.append(g)
    n = offset
    dts = {g.dt for g in groups if g.dt is not None}
    if len(dts) > 1:
        raise MappingError(f"every neuron module must have the same `dt`; got {sorted(dts)}")
    dt = dts.pop() if dts else 1e-3

    # Where each graph node leads: neuron output nodes -> neuron index; graph inputs -> channel.
    source_neuron = {id(node): g.offset + i for g in groups for i, node in enumerate(g.module.output_nodes)}
    input_channel = {id(node): i for i, node in enumerate(graph.input_nodes)}
    target = {
        id(node): (
            g.offset + int(g.neuron_of_input[j]),
            int(g.synapse_of_input[j]),
            float(g.weight_scale[g.neuron_of_input[j]]),
        )
        for g in groups
        for j, node in enumerate(g.module.input_nodes)
    }
    collected: Dict[bool, List[Tuple[np.ndarray, ...]]] = {False: [], True: []}

    def connect(src_nodes: Sequence[Any], tgt_nodes: Sequence[Any], W: np.ndarray, where: str) -> None:
        try:
            tgt = np.array([target[id(t)] for t in tgt_nodes], dtype=np.float64).reshape(-1, 3)
        except KeyError:
            raise MappingError(f"{where}: weights must end on neuron inputs; some end elsewhere") from None
        from_neuron = np.array([id(s) in source_neuron for s in src_nodes], dtype=bool)
        from_input = np.array([id(s) in input_channel for s in src_nodes], dtype=bool)
        if not (from_neuron | from_input).all():
            raise MappingError(f"{where}: weights must start at graph inputs or neuron outputs; some start elsewhere")
        src = np.array([source_neuron.get(id(s), input_channel.get(id(s), -1)) for s in src_nodes], dtype=np.int64)
        i, j = np.nonzero(W)
        w = W[i, j] * tgt[j, 2]
        kind = tgt[j, 1].astype(np.int64)
        signed = kind < 0
        kind = np.where(signed, np.where(w >= 0, _AMPA, _GABA), kind)
        # Signed inputs: the sign picks AMPA or GABA. Typed inputs: a DPI cannot be
        # driven negative, so negative weights drive nothing (as in the simulation).
        w = np.where(signed, np.abs(w), np.maximum(w, 0.0))
        keep = w > 0
        for rec in (False, True):
            sel = keep & (from_neuron[i] == rec)
            collected[rec].append((src[i[sel]], tgt[j[sel], 0].astype(np.int64), kind[sel], w[sel]))

    for mod in modules:
        if isinstance(mod, LinearWeights):
            if mod.biases is not None and np.any(np.asarray(mod.biases) != 0):
                raise MappingError(f"linear weights `{mod.name}` must have no bias (the chip has none); got nonzero biases")
            connect(mod.input_nodes, mod.output_nodes, np.asarray(mod.weights, dtype=np.float64), f"linear weights `{mod.name}`")
        elif not isinstance(mod, GenericNeurons):
            raise MappingError(
                f"graph module `{mod.name}` must be LinearWeights or a neuron module; got {type(mod).__name__}"
            )
    # Neuron inputs that are graph inputs themselves: identity weights.
    direct = [node for node in graph.input_nodes if id(node) in target]
    if direct:
        connect(direct, direct, np.eye(len(direct)), "graph input")

    outputs = []
    for j, node in enumerate(graph.output_nodes):
        if id(node) not in source_neuron:
            raise MappingError(
                f"graph output {j} must be a neuron output (the chip outputs spikes); it is not"
            )
        outputs.append(source_neuron[id(node)])

    currents = {k: np.concatenate([g.currents[k] for g in groups]) for k in CURRENT_NAMES}
    core_of_neuron, cores, deviation = cluster_cores(currents, max_cores, neurons_per_core, tolerance)
    spec = NetworkSpec(
        n_inputs=len(graph.input_nodes),
        n_neurons=n,
        input_synapses=_merge(collected[False]),
        recurrent_synapses=_merge(collected[True]),
        core_of_neuron=core_of_neuron,
        cores=cores,
        output_neurons=np.asarray(outputs, dtype=np.int64),
        Iscale=Iscale,
        dt=dt,
        neuron_deviation=deviation,
        names=layer_names([g.module for g in groups]),
        layer_of_neuron=np.concatenate([np.full(g.size, k) for k, g in enumerate(groups)]),
    )
    if calibration_input is None:
        return spec
    from .calibration.calibrate import calibrate_graph

    return calibrate_graph(spec, graph, calibration_input, max_cores=max_cores)[0]
