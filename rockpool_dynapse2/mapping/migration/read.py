"""A network of Rockpool's own ``DynapSim`` (``rockpool.devices.dynapse``) read into arrays.

:func:`read_rockpool` reads a Rockpool network of linear layers (``LinearJax``) and
Rockpool's ``DynapSim`` layers, from the network or its graph (``net.as_graph()``), into a
:class:`RockpoolNetwork`: every layer's neurons with their currents and layout constants,
and the weights as one input matrix ``(C, N)`` and one matrix between neurons ``(N, N)``
(within a layer: its recurrent weights; between layers: the linear layers), in units of
the first layer's ``Iscale``. :meth:`RockpoolNetwork.run` simulates it with Rockpool's own
modules, layer by layer, for a reference.

Rockpool's module is recognised by its graph, without importing ``rockpool.devices``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from rockpool.graph import GenericNeurons, GraphModuleBase, LinearWeights

from ...errors import MappingError
from ..graph_map import breadth_first_modules

__all__ = ["ROCKPOOL_CURRENTS", "ROCKPOOL_LAYOUT", "ROCKPOOL_DEFAULT_LAYOUT", "RockpoolLayer", "RockpoolNetwork", "read_rockpool"]

ROCKPOOL_CURRENTS: Tuple[str, ...] = (
    "Idc", "If_nmda", "Igain_ahp", "Igain_mem", "Igain_syn", "Ipulse_ahp", "Ipulse",
    "Iref", "Ispkthr", "Itau_ahp", "Itau_mem", "Itau_syn", "Iw_ahp",
)  # fmt: skip
"""The currents of one neuron of Rockpool 3.1's ``DynapSim`` (and of its graph,
``DynapseNeurons``): ``Itau_syn``, ``Igain_syn`` belong to its one merged synapse."""

ROCKPOOL_DEFAULT_LAYOUT: Dict[str, float] = {
    "C_ahp": 40e-12, "C_syn": 24.5e-12, "C_pulse_ahp": 0.5e-12, "C_pulse": 0.5e-12, "C_ref": 1.5e-12,
    "C_mem": 3e-12, "Io": 5e-13, "kappa_n": 0.75, "kappa_p": 0.66, "Ut": 25e-3, "Vth": 0.7,
}  # fmt: skip
"""The layout constants of Rockpool 3.1's ``DynapSim`` by default (its ``C_syn`` defaults
to its ``C_ampa``, 24.5 pF), used for a graph without its module."""

ROCKPOOL_LAYOUT: Tuple[str, ...] = tuple(ROCKPOOL_DEFAULT_LAYOUT)
"""The layout constants of one neuron of Rockpool's ``DynapSim``."""


@dataclass
class RockpoolLayer:
    """One ``DynapSim`` layer of a Rockpool network.

    Attributes:
        name: the layer's name (its module's name in the network, else its class name).
        module: Rockpool's ``DynapSim`` module (None when read from a bare graph).
        first: index of its first neuron in the network.
        currents: ``{Rockpool current name: (n,) A}``.
        layout: ``{Rockpool layout constant: (n,)}``.
        Iscale: current (A) of a weight of 1.0 onto this layer.
        dt: time step (s).
    """

    name: str
    module: Any
    first: int
    currents: Dict[str, np.ndarray] = field(repr=False)
    layout: Dict[str, np.ndarray] = field(repr=False)
    Iscale: float
    dt: float

    @property
    def size(self) -> int:
        return len(self.currents["Itau_mem"])

    @property
    def neurons(self) -> slice:
        """The layer's neurons in the network."""
        return slice(self.first, self.first + self.size)


@dataclass
class RockpoolNetwork:
    """A Rockpool ``DynapSim`` network as arrays.

    Attributes:
        n_inputs: input channels ``C``.
        layers: the ``DynapSim`` layers, inputs first; the last is the output.
        w_in: ``(C, N)`` signed input weights, in units of :attr:`Iscale`.
        w_rec: ``(N, N)`` signed weights between neurons (``[i, j]``: from ``i`` to ``j``),
            in units of :attr:`Iscale`.
        Iscale: the weight unit (A): the first layer's.
        dt: the time step (s) every layer shares.
    """

    n_inputs: int
    layers: Tuple[RockpoolLayer, ...]
    w_in: np.ndarray = field(repr=False)
    w_rec: np.ndarray = field(repr=False)
    Iscale: float
    dt: float

    @property
    def n_neurons(self) -> int:
        return sum(layer.size for layer in self.layers)

    @property
    def output(self) -> slice:
        """The output layer's neurons."""
        return self.layers[-1].neurons

    def layer_of_neuron(self) -> np.ndarray:
        """``(N,)`` the index of every neuron's layer."""
        return np.concatenate([np.full(layer.size, k) for k, layer in enumerate(self.layers)])

    def run(self, x: np.ndarray, w_in: Optional[np.ndarray] = None, w_rec: Optional[np.ndarray] = None) -> np.ndarray:
        """Every neuron's spikes ``(B, T, N)`` in Rockpool's own simulation of the network.

        Layer by layer, as Rockpool's ``Sequential`` runs it: a layer's input is the
        signed sum of the network's input and the earlier layers' spikes of the same step
        through their weights; its recurrent weights are its module's.

        Args:
            x: input spike counts ``(B, T, C)``.
            w_in: other input weights ``(C, N)`` (default: the network's).
            w_rec: other weights between neurons ``(N, N)`` (default: the network's).

        Raises:
            MappingError: the network was read from a graph without its modules.
        """
        w_in = self.w_in if w_in is None else w_in
        w_rec = self.w_rec if w_rec is None else w_rec
        x = np.asarray(x, dtype=np.float32)
        spikes = np.zeros(x.shape[:2] + (self.n_neurons,), np.float32)
        for layer in self.layers:
            if layer.module is None:
                raise MappingError(f"layer `{layer.name}` must have its Rockpool module to run; got a graph without it")
            own = layer.neurons
            drive = x @ w_in[:, own] + spikes[..., : own.start] @ w_rec[: own.start, own]
            own_rec = (w_rec[own, own] * self.Iscale / layer.Iscale).astype(np.float32)
            module = layer.module.reset_state().set_attributes({"w_rec": own_rec})
            out, _, _ = module(drive * (self.Iscale / layer.Iscale))
            spikes[..., own] = np.asarray(out)
        return spikes


def read_rockpool(net: Any) -> RockpoolNetwork:
    """Read a Rockpool network of ``LinearJax`` and Rockpool ``DynapSim`` layers.

    Args:
        net: the network (a module with ``as_graph()``, e.g. ``Sequential(LinearJax((C, N)),
            DynapSim((N, N), has_rec=True))``) or its graph.

    Returns:
        The :class:`RockpoolNetwork`.

    Raises:
        MappingError: a neuron module that is not Rockpool's ``DynapSim``, weights that do
            not start at the inputs or a layer and end on a layer, weights from a layer back
            to an earlier one, non-zero biases, layers with different time steps, or graph
            outputs that are not the last layer's neurons in order.
    """
    graph = net if isinstance(net, GraphModuleBase) else _graph_of(net)
    modules = breadth_first_modules(graph)
    layers = _layers([m for m in modules if isinstance(m, GenericNeurons)])
    Iscale = layers[0].Iscale
    dts = sorted({layer.dt for layer in layers})
    if len(dts) > 1:
        raise MappingError(f"every DynapSim layer must have the same `dt`; got {dts}")
    n = sum(layer.size for layer in layers)
    wiring = _Wiring(graph, layers, modules)
    w_in, w_rec = wiring.weights(len(graph.input_nodes), n, Iscale)
    _check_forward(layers, w_rec)
    _check_outputs(graph, wiring, layers[-1])
    return RockpoolNetwork(len(graph.input_nodes), tuple(layers), w_in, w_rec, Iscale, dts[0])


def _graph_of(net: Any) -> GraphModuleBase:
    if not hasattr(net, "as_graph"):
        raise MappingError(f"`net` must be a Rockpool network or its graph (net.as_graph()); got {type(net).__name__}")
    return net.as_graph()


def is_rockpool_dynapsim(mod: Any) -> bool:
    """Whether a graph module is Rockpool's ``DynapseNeurons`` (the graph of its ``DynapSim``)."""
    return isinstance(mod, GenericNeurons) and all(hasattr(mod, name) for name in ROCKPOOL_CURRENTS + ("Iscale", "dt"))


def _layers(neuron_modules: Sequence[Any]) -> List[RockpoolLayer]:
    """One :class:`RockpoolLayer` per ``DynapseNeurons`` module, in the graph's order."""
    if not neuron_modules:
        raise MappingError("`net` must contain DynapSim layers; got none")
    layers: List[RockpoolLayer] = []
    first = 0
    for mod in neuron_modules:
        if not is_rockpool_dynapsim(mod):
            raise MappingError(
                f"neuron module `{_module_name(mod)}` must be Rockpool's DynapSim (rockpool.devices.dynapse); got "
                f"{type(mod).__name__} (map LIF networks with rockpool_dynapse2.mapping.mapper)"
            )
        n_in, n = len(mod.input_nodes), len(mod.output_nodes)
        if n_in != n:
            raise MappingError(f"DynapSim layer `{_module_name(mod)}` must have one input per neuron; got {n_in} inputs for {n} neurons")
        comp = getattr(mod, "computational_module", None)
        comp = comp if comp is not None and hasattr(comp, "C_syn") else None
        currents = {k: _per_neuron(getattr(mod, k), n) for k in ROCKPOOL_CURRENTS}
        layout = {k: _per_neuron(getattr(comp, k) if comp is not None else v, n) for k, v in ROCKPOOL_DEFAULT_LAYOUT.items()}
        name = _module_name(mod) if comp is not None else f"layer{len(layers)}"
        layers.append(RockpoolLayer(name, comp, first, currents, layout, float(np.mean(mod.Iscale)), float(np.mean(mod.dt))))
        first += n
    return layers


def _module_name(mod: Any) -> str:
    """A graph module's name in its network (``"1_DynapSim"``), else its class's: Rockpool's
    graph names end in the module's ``id()``, which changes from run to run."""
    comp = getattr(mod, "computational_module", None)
    name = str(getattr(comp, "name", "") or "").strip("'\"")
    return name or type(comp if comp is not None else mod).__name__


def _per_neuron(value: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1), (n,)).copy()


class _Wiring:
    """Where the graph's nodes are: input channels, neuron outputs and neuron inputs."""

    def __init__(self, graph: GraphModuleBase, layers: Sequence[RockpoolLayer], modules: Sequence[Any]):
        neuron_mods = [m for m in modules if isinstance(m, GenericNeurons)]
        self.channel = {id(node): c for c, node in enumerate(graph.input_nodes)}
        self.source = {id(node): layer.first + i for layer, m in zip(layers, neuron_mods) for i, node in enumerate(m.output_nodes)}
        self.target = {id(node): layer.first + i for layer, m in zip(layers, neuron_mods) for i, node in enumerate(m.input_nodes)}
        self.scale = np.concatenate([np.full(layer.size, layer.Iscale) for layer in layers])
        self.graph = graph
        self.linear = [m for m in modules if isinstance(m, LinearWeights)]

    def weights(self, n_inputs: int, n: int, Iscale: float) -> Tuple[np.ndarray, np.ndarray]:
        """``(w_in (C, N), w_rec (N, N))`` in units of ``Iscale``."""
        w_in, w_rec = np.zeros((n_inputs, n)), np.zeros((n, n))
        for mod in self.linear:
            where = f"linear weights `{_module_name(mod)}`"
            if mod.biases is not None and np.any(np.asarray(mod.biases) != 0):
                raise MappingError(f"{where} must have no bias (the chip has none); got non-zero biases")
            W = np.asarray(mod.weights, dtype=np.float64)
            src = [self._source(node, where) for node in mod.input_nodes]
            tgt = np.array([self._target(node, where) for node in mod.output_nodes])
            for i, (is_channel, k) in enumerate(src):
                (w_in if is_channel else w_rec)[k, tgt] += W[i] * self.scale[tgt] / Iscale
        direct = [(c, self.target[id(node)]) for c, node in enumerate(self.graph.input_nodes) if id(node) in self.target]
        for c, j in direct:
            w_in[c, j] += self.scale[j] / Iscale
        return w_in, w_rec

    def _source(self, node: Any, where: str) -> Tuple[bool, int]:
        if id(node) in self.channel:
            return True, self.channel[id(node)]
        if id(node) in self.source:
            return False, self.source[id(node)]
        raise MappingError(f"{where} must start at the network's inputs or a DynapSim layer; got a source elsewhere")

    def _target(self, node: Any, where: str) -> int:
        if id(node) not in self.target:
            raise MappingError(f"{where} must end on a DynapSim layer's inputs; got a target elsewhere")
        return self.target[id(node)]


def _check_forward(layers: Sequence[RockpoolLayer], w_rec: np.ndarray) -> None:
    """Refuse weights from a layer back to an earlier one (Rockpool's ``Sequential`` has none)."""
    for a in layers:
        for b in layers:
            if b.first < a.first and np.any(w_rec[a.neurons, b.neurons]):
                raise MappingError(f"weights from layer `{a.name}` back to the earlier layer `{b.name}` must not exist; got some")


def _check_outputs(graph: GraphModuleBase, wiring: _Wiring, last: RockpoolLayer) -> None:
    """The graph's outputs must be the last layer's neurons, in order."""
    outputs = [wiring.source.get(id(node), -1) for node in graph.output_nodes]
    if outputs != list(range(last.first, last.first + last.size)):
        raise MappingError(f"the network's outputs must be the last DynapSim layer `{last.name}`'s neurons, in order; got {outputs}")
