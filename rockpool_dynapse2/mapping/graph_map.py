"""Rockpool graph -> :class:`~.network_spec.NetworkSpec`: the mapping itself, without calibration.

:func:`map_graph` reads a Rockpool computational graph (``net.as_graph()``) made of linear
weights (``LinearWeights``) and neuron modules, and flattens it into one recurrent
population of DYNAP-SE2 neurons, in four steps:

1. **groups**: every neuron module becomes a :class:`~.neuron_group.NeuronGroup`, numbered
   module by module in breadth-first order from the graph's inputs
   (:func:`breadth_first_modules`); its neurons are the next neurons of the population;
2. **wiring**: weights from the graph's input nodes become input synapses (``w_in``);
   weights from neurons to neurons, between layers or recurrent, become recurrent
   synapses (``w_rec``); a neuron module wired straight to the graph's inputs gets
   identity input weights;
3. **outputs**: the graph's output nodes must be neuron outputs: they become the output
   channel map;
4. **cores**: neurons are grouped into logical cores of at most 256, one parameter set
   per core (:func:`~.cores.cluster_cores`).

Neuron modules it accepts: our :class:`~rockpool_dynapse2.simulation.graph.Dynapse2Neurons`
(from ``DynapSimJax``/``DynapSimTorch``) and Rockpool's ``LIFNeuronWithSynsRealValue``
(``LIFJax``, ``LIFTorch``, NIR imports), converted by :mod:`.lif`.

:func:`~.mapper.mapper` is this mapping plus the optional calibration of LIF layers; the
calibration (:mod:`.calibration`) uses this module, never the mapper.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from rockpool.graph import GenericNeurons, GraphModuleBase, LinearWeights
from rockpool.graph.graph_base import GraphHolder
from rockpool.graph.utils import bag_graph

from ..chip import GEOMETRY, SIGNED_EXCITATORY, SIGNED_INHIBITORY
from ..errors import MappingError
from ..parameters.validate import integer, real_number
from ..simulation.graph import Dynapse2Neurons
from ..simulation.records import CURRENT_NAMES
from .cores import cluster_cores
from .network_spec import NetworkSpec, Synapses
from .neuron_group import SIGNED_INPUT, NeuronGroup, dynapse2_group

__all__ = ["DEFAULT_ISCALE", "DEFAULT_DT", "breadth_first_modules", "neuron_modules", "layer_names", "map_graph"]

DEFAULT_ISCALE = 1e-8
"""Weight unit (A) of a spec mapped from a graph without DYNAP-SE2 neuron modules."""

DEFAULT_DT = 1e-3
"""Time step (s) of a spec mapped from a graph whose neuron modules have none."""


# --- the graph's modules ------------------------------------------------------------------


def breadth_first_modules(graph: GraphModuleBase) -> List[Any]:
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


def neuron_modules(graph: GraphModuleBase) -> List[Any]:
    """The graph's neuron modules in the mapper's order: the spec's layers."""
    return [m for m in breadth_first_modules(graph) if isinstance(m, GenericNeurons)]


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


# --- step 1: neuron groups ------------------------------------------------------------------


def _default_converters() -> Dict[type, Callable]:
    from rockpool.graph import LIFNeuronWithSynsRealValue

    from .lif import lif_group

    return {LIFNeuronWithSynsRealValue: lif_group}


def _group_of(mod: GenericNeurons, Iscale: float, converters: Dict[type, Callable]) -> NeuronGroup:
    if isinstance(mod, Dynapse2Neurons):
        return dynapse2_group(mod, Iscale)
    for cls, convert in converters.items():
        if isinstance(mod, cls):
            return convert(mod, Iscale)
    supported = ["Dynapse2Neurons"] + [c.__name__ for c in converters]
    raise MappingError(
        f"neuron module `{mod.name}` must be one of {', '.join(supported)}; got {type(mod).__name__}"
    )


def _default_iscale(neuron_mods: Sequence[Any]) -> float:
    """The first DYNAP-SE2 neuron module's ``Iscale``, else :data:`DEFAULT_ISCALE`."""
    d2 = [m for m in neuron_mods if isinstance(m, Dynapse2Neurons)]
    return float(d2[0].Iscale) if d2 else DEFAULT_ISCALE


def _neuron_groups(neuron_mods: Sequence[Any], Iscale: float) -> List[NeuronGroup]:
    """One group per neuron module, each with the index of its first neuron."""
    converters = _default_converters()
    groups: List[NeuronGroup] = []
    offset = 0
    for mod in neuron_mods:
        g = _group_of(mod, Iscale, converters)
        g.offset = offset
        offset += g.size
        groups.append(g)
    return groups


def _common_dt(groups: Sequence[NeuronGroup]) -> float:
    """The one time step of every group that has one (:data:`DEFAULT_DT` if none has)."""
    dts = {g.dt for g in groups if g.dt is not None}
    if len(dts) > 1:
        raise MappingError(f"every neuron module must have the same `dt`; got {sorted(dts)}")
    return dts.pop() if dts else DEFAULT_DT


# --- step 2: wiring ------------------------------------------------------------------------


def _signed_to_typed(kind: np.ndarray, w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Synapse types and magnitudes of weights ``w`` onto inputs of types ``kind``.

    Signed inputs: the sign picks AMPA or GABA. Typed inputs: a DPI cannot be driven
    negative, so negative weights drive nothing (as in the simulation).
    """
    signed = kind == SIGNED_INPUT
    kind = np.where(signed, np.where(w >= 0, SIGNED_EXCITATORY, SIGNED_INHIBITORY), kind)
    w = np.where(signed, np.abs(w), np.maximum(w, 0.0))
    return kind, w


def _check_weights(W: np.ndarray, kind: np.ndarray, where: str) -> None:
    """Refuse weights the chip cannot hold, rather than drop them: NaN or infinite weights,
    and negative weights onto typed inputs (each typed input is one synapse of a fixed
    dendrite, which a DPI cannot drive negative; the simulation would ignore them)."""
    bad = ~np.isfinite(W)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise MappingError(f"{where}: weights must be finite; got {W[i, j]} at [{i}, {j}] ({int(bad.sum())} such)")
    negative = (W < 0) & (kind[None, :] != SIGNED_INPUT)
    if negative.any():
        i, j = (int(v) for v in np.argwhere(negative)[0])
        raise MappingError(
            f"{where}: weights onto typed inputs (one synapse type each) must be >= 0, as the simulation "
            f"drives nothing with a negative one; got {W[i, j]:.4g} at [{i}, {j}] ({int(negative.sum())} such). "
            "Use the signed layout, or put the magnitude on the inhibitory (GABA) input"
        )


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


class _Wiring:
    """Where each graph node leads, and the synapses collected from the graph's weights.

    Neuron output nodes lead to a neuron index, graph input nodes to an input channel,
    neuron input nodes to ``(neuron, synapse type, weight scale)``.
    """

    def __init__(self, graph: GraphModuleBase, groups: Sequence[NeuronGroup]):
        self.source_neuron = {id(node): g.offset + i for g in groups for i, node in enumerate(g.module.output_nodes)}
        self.input_channel = {id(node): i for i, node in enumerate(graph.input_nodes)}
        self.target = {
            id(node): (
                g.offset + int(g.neuron_of_input[j]),
                int(g.synapse_of_input[j]),
                float(g.weight_scale[g.neuron_of_input[j]]),
            )
            for g in groups
            for j, node in enumerate(g.module.input_nodes)
        }
        self.target_nodes = [node for g in groups for node in g.module.input_nodes]
        self.collected: Dict[bool, List[Tuple[np.ndarray, ...]]] = {False: [], True: []}

    def _targets(self, tgt_nodes: Sequence[Any], where: str) -> np.ndarray:
        """``(n, 3)``: neuron, synapse type and weight scale of every target node."""
        try:
            return np.array([self.target[id(t)] for t in tgt_nodes], dtype=np.float64).reshape(-1, 3)
        except KeyError:
            raise MappingError(f"{where}: weights must end on neuron inputs; some end elsewhere") from None

    def _sources(self, src_nodes: Sequence[Any], where: str) -> Tuple[np.ndarray, np.ndarray]:
        """``(source index (n,), from a neuron (n,) bool)`` of every source node."""
        from_neuron = np.array([id(s) in self.source_neuron for s in src_nodes], dtype=bool)
        from_input = np.array([id(s) in self.input_channel for s in src_nodes], dtype=bool)
        if not (from_neuron | from_input).all():
            raise MappingError(f"{where}: weights must start at graph inputs or neuron outputs; some start elsewhere")
        src = np.array(
            [self.source_neuron.get(id(s), self.input_channel.get(id(s), -1)) for s in src_nodes], dtype=np.int64
        )
        return src, from_neuron

    def connect(self, src_nodes: Sequence[Any], tgt_nodes: Sequence[Any], W: np.ndarray, where: str) -> None:
        """Collect the synapses of weights ``W`` ``(n_src, n_tgt)`` from ``src_nodes`` to ``tgt_nodes``."""
        tgt = self._targets(tgt_nodes, where)
        src, from_neuron = self._sources(src_nodes, where)
        _check_weights(W, tgt[:, 1].astype(np.int64), where)
        i, j = np.nonzero(W)
        kind, w = _signed_to_typed(tgt[j, 1].astype(np.int64), W[i, j] * tgt[j, 2])
        keep = w > 0
        for rec in (False, True):
            sel = keep & (from_neuron[i] == rec)
            self.collected[rec].append((src[i[sel]], tgt[j[sel], 0].astype(np.int64), kind[sel], w[sel]))

    def tables(self) -> Tuple[Synapses, Synapses]:
        """``(input synapses, recurrent synapses)`` collected so far."""
        return _merge(self.collected[False]), _merge(self.collected[True])


def _wire(graph: GraphModuleBase, modules: Sequence[Any], wiring: _Wiring) -> None:
    """Collect the synapses of every linear-weights module, and identity weights for
    neuron inputs that are graph inputs themselves."""
    for mod in modules:
        if isinstance(mod, LinearWeights):
            if mod.biases is not None and np.any(np.asarray(mod.biases) != 0):
                raise MappingError(f"linear weights `{mod.name}` must have no bias (the chip has none); got nonzero biases")
            W = np.asarray(mod.weights, dtype=np.float64)
            wiring.connect(mod.input_nodes, mod.output_nodes, W, f"linear weights `{mod.name}`")
        elif not isinstance(mod, GenericNeurons):
            raise MappingError(
                f"graph module `{mod.name}` must be LinearWeights or a neuron module; got {type(mod).__name__}"
            )
    chained = [node for node in wiring.target_nodes if id(node) in wiring.source_neuron]
    if chained:
        raise MappingError(
            f"{len(chained)} neuron input(s) are the outputs of another neuron module: two neuron layers "
            "follow each other without a weight layer between them, which the chip cannot wire (every "
            "synapse is a weight); put a linear layer (e.g. identity weights) between them"
        )
    direct = [node for node in graph.input_nodes if id(node) in wiring.target]
    if direct:
        wiring.connect(direct, direct, np.eye(len(direct)), "graph input")


# --- step 3: outputs -------------------------------------------------------------------------


def _output_neurons(graph: GraphModuleBase, wiring: _Wiring) -> np.ndarray:
    """``(n_outputs,)``: the neuron of every graph output node."""
    outputs = []
    for j, node in enumerate(graph.output_nodes):
        if id(node) not in wiring.source_neuron:
            raise MappingError(
                f"graph output {j} must be a neuron output (the chip outputs spikes); it is not"
            )
        outputs.append(wiring.source_neuron[id(node)])
    return np.asarray(outputs, dtype=np.int64)


# --- the mapping ------------------------------------------------------------------------------


def map_graph(
    graph: GraphModuleBase,
    *,
    Iscale: Optional[float] = None,
    max_cores: int = GEOMETRY.n_cores,
    neurons_per_core: int = GEOMETRY.neurons_per_core,
    tolerance: float = 0.05,
) -> NetworkSpec:
    """Map a Rockpool graph onto one population of DYNAP-SE2 neurons (no calibration).

    Args:
        graph: ``net.as_graph()`` of a network of linear layers and neuron modules.
        Iscale: weight unit (A) of the spec; default: the first DYNAP-SE2 neuron module's,
            else 10 nA.
        max_cores: cores available (16 on a 4-chip board).
        neurons_per_core: neurons per core (256).
        tolerance: neurons whose currents differ by at most this relative amount share a
            core without counting as different (see :func:`~.cores.cluster_cores`).

    Returns:
        The :class:`~.network_spec.NetworkSpec`.

    Raises:
        MappingError: an unsupported module, a graph output that is not a neuron, a
            weight onto something that is not a neuron input, or neurons with different
            time steps.
        CoreCapacityError: more neurons than ``max_cores * neurons_per_core``.
    """
    if not isinstance(graph, GraphModuleBase):
        hint = " (call net.as_graph() on a Rockpool network)" if hasattr(graph, "as_graph") else ""
        raise MappingError(f"`graph` must be a Rockpool graph{hint}; got {type(graph).__name__}")
    if Iscale is not None:
        Iscale = real_number("Iscale", Iscale, low=0.0, low_open=True, unit="amperes")
    max_cores = integer("max_cores", max_cores, low=1)
    neurons_per_core = integer("neurons_per_core", neurons_per_core, low=1, high=GEOMETRY.neurons_per_core)
    tolerance = real_number("tolerance", tolerance, low=0.0, what="a relative difference")
    modules = breadth_first_modules(graph)
    neuron_mods = [m for m in modules if isinstance(m, GenericNeurons)]
    if not neuron_mods:
        raise MappingError("`graph` must contain neuron modules; got none")
    Iscale = _default_iscale(neuron_mods) if Iscale is None else Iscale
    groups = _neuron_groups(neuron_mods, Iscale)
    dt = _common_dt(groups)
    wiring = _Wiring(graph, groups)
    _wire(graph, modules, wiring)
    outputs = _output_neurons(graph, wiring)
    currents = {k: np.concatenate([g.currents[k] for g in groups]) for k in CURRENT_NAMES}
    core_of_neuron, cores, deviation = cluster_cores(currents, max_cores, neurons_per_core, tolerance)
    input_synapses, recurrent_synapses = wiring.tables()
    return NetworkSpec(
        n_inputs=len(graph.input_nodes),
        n_neurons=sum(g.size for g in groups),
        input_synapses=input_synapses,
        recurrent_synapses=recurrent_synapses,
        core_of_neuron=core_of_neuron,
        cores=cores,
        output_neurons=outputs,
        Iscale=Iscale,
        dt=dt,
        neuron_deviation=deviation,
        names=layer_names([g.module for g in groups]),
        layer_of_neuron=np.concatenate([np.full(g.size, k) for k, g in enumerate(groups)]),
    )
