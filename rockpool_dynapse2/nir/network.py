"""A NIR graph read into numpy: :class:`NirNetwork`, made by :func:`network_from_graph`.

The reader flattens the graph and composes its weights, so that what is left is what a
chip (or the reference simulator, :mod:`.reference`) runs:

1. **flatten**: a ``NIRGraph`` node (a subgraph, e.g. a recurrent layer) is inlined, its
   nodes named ``<subgraph>.<node>`` (a name that already starts with ``<subgraph>.`` is
   kept), its ``Input`` and ``Output`` nodes passed through;
2. **sizes**: every node's size, from its parameters or along its edges (scalar neuron
   parameters are broadcast to the size of the weights that feed them), checked edge by
   edge;
3. **compose**: the linear nodes (``Affine``, ``Linear``, ``Scale``, and ``Identity``,
   ``Flatten``, which pass their input on) between spike sources (the graph's inputs and
   its neuron nodes) and neuron inputs are multiplied out into one weight matrix per
   (source, neuron node) and one constant input (from the ``Affine`` biases) per neuron
   node: the :class:`Projection` s;
4. **outputs**: every ``Output`` node must take neurons' outputs (directly, or through a
   selection: one weight of 1 per output channel);
5. **time step**: one ``dt`` for the network (:func:`reconcile_dt`).

Layers are ordered breadth-first from the inputs; a projection from a layer to itself or
to an earlier one is a *recurrent* one and delivers the previous step's spikes
(:meth:`NirNetwork.delayed`), every other one the spikes of the same step.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import NIRGraphError, ParameterValueError, TimeStepError, UnknownParameterError
from .nodes import LINEAR_KINDS, NEURON_KINDS, PASS_KINDS, NeuronParams, linear_parts, neuron_params, node_type, unsupported

__all__ = ["INPUT", "RESETS", "DISCRETE", "Layer", "Projection", "NirNetwork", "network_from_graph", "implied_dt", "reconcile_dt"]

INPUT = "input"
"""The source name of the graph's input channels in :class:`Projection` (every ``Input``
node, concatenated in the graph's order)."""

RESETS = ("zero", "subtract")
"""Reset rules: ``"zero"``, NIR's (the membrane is set to ``v_reset`` in the step it
crosses the threshold); ``"subtract"``, snnTorch's and spyx's (``v_threshold - v_reset`` is
subtracted in the step after the spike, after the leak)."""


DISCRETE = ("none", "synapse", "membrane", "both")
"""Which of a neuron's input couplings to read as the discrete model an exporter simulated
rather than as written: ``"synapse"`` sets ``w_in = tau_syn / dt`` (each input spike adds
its weight to the synaptic current, as norse's LIFCell does), ``"membrane"`` sets ``r =
tau_mem / dt`` (``1 / dt`` for IF: each step's current adds to the membrane, as spyx's LIF
does), ``"both"`` both (snnTorch's convention, which its files already hold)."""


@dataclass(frozen=True)
class Layer:
    """One NIR neuron node.

    Attributes:
        name: its name in the (flattened) graph.
        kind: its NIR type (``"LIF"``, ``"CubaLIF"``, ``"IF"``, ``"LI"``, ``"CubaLI"``).
        params: its per-neuron parameters.
        bias: ``(n,)`` constant input (from ``Affine`` biases on the way to it).
    """

    name: str
    kind: str
    params: NeuronParams
    bias: np.ndarray

    @property
    def size(self) -> int:
        return self.params.size

    @property
    def spiking(self) -> bool:
        return NEURON_KINDS[self.kind].spiking


@dataclass(frozen=True)
class Projection:
    """The composed weights from one spike source to one layer's input.

    Attributes:
        source: :data:`INPUT` or a layer name.
        target: a layer name.
        weight: ``(n_source, n_target)``: the layer's input current gets ``spikes @ weight``.
    """

    source: str
    target: str
    weight: np.ndarray


@dataclass(frozen=True)
class NirNetwork:
    """A NIR graph as numpy arrays: layers, composed projections, outputs and one time step.

    Attributes:
        n_inputs: input channels (every ``Input`` node, concatenated).
        input_names: the ``Input`` nodes, in channel order.
        layers: the neuron nodes, in update order (breadth-first from the inputs).
        projections: one per (source, target layer) pair with a non-zero weight.
        outputs: ``(layer name, neuron index)`` of every output channel, in the order of
            the ``Output`` nodes.
        output_names: the ``Output`` nodes.
        dt: the time step (s).
        reset: the reset rule of the spiking layers (:data:`RESETS`).
        implied_dt: ``{node: dt}`` the time step each node's parameters imply (see
            :func:`implied_dt`), for the record.
        time_scale: the factor the graph's time constants were multiplied by.
        discrete: which couplings were read as a discrete model (:data:`DISCRETE`).
    """

    n_inputs: int
    input_names: Tuple[str, ...]
    layers: Tuple[Layer, ...]
    projections: Tuple[Projection, ...]
    outputs: Tuple[Tuple[str, int], ...]
    output_names: Tuple[str, ...]
    dt: float
    reset: str = "zero"
    implied_dt: Mapping[str, float] = field(default_factory=dict)
    time_scale: float = 1.0
    discrete: str = "none"

    def layer(self, name: str) -> Layer:
        """The layer called ``name``."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise UnknownParameterError("layer", name, [l.name for l in self.layers])

    def index(self, name: str) -> int:
        """Position of layer ``name`` in the update order."""
        return [l.name for l in self.layers].index(name)

    def delayed(self, projection: Projection) -> bool:
        """Whether ``projection`` delivers the previous step's spikes (a recurrent one: from
        the layer itself or a later one) rather than this step's."""
        return projection.source != INPUT and self.index(projection.source) >= self.index(projection.target)

    def into(self, name: str) -> List[Projection]:
        """The projections onto layer ``name``."""
        return [p for p in self.projections if p.target == name]


# --- 1. flatten ---------------------------------------------------------------------------------


@dataclass
class _Node:
    """A node of the flattened graph: its role, sizes (None until known) and payload."""

    role: str  # "input", "output", "pass", "linear", "scale", "neuron"
    kind: str  # the NIR type
    nir: Any  # the NIR node; (weight, bias) of a linear node, the scale vector of a Scale
    size_in: Optional[int] = None
    size_out: Optional[int] = None


def _shape_size(types: Any, key: str) -> Optional[int]:
    shape = (types or {}).get(key) if isinstance(types, dict) else None
    if shape is None:
        return None
    shape = np.asarray(shape).ravel()
    return int(np.prod(shape)) if shape.size else None


def _node(name: str, nir_node: Any) -> _Node:
    kind = node_type(nir_node)
    if kind == "Input":
        n = _shape_size(nir_node.input_type, "input")
        return _Node("input", kind, nir_node, n, n)
    if kind == "Output":
        n = _shape_size(nir_node.output_type, "output")
        return _Node("output", kind, nir_node, n, n)
    if kind in PASS_KINDS:
        return _Node("pass", kind, nir_node)
    if kind in LINEAR_KINDS:
        weight, vec, is_scale = linear_parts(name, nir_node)
        if is_scale:
            n = vec.size if vec.size > 1 else None
            return _Node("scale", kind, vec, n, n)
        return _Node("linear", kind, (weight, vec), weight.shape[1], weight.shape[0])
    if kind in NEURON_KINDS:
        sizes = {np.size(getattr(nir_node, a, 1)) for a in NEURON_KINDS[kind].fields.values()} - {1}
        n = sizes.pop() if len(sizes) == 1 else None
        return _Node("neuron", kind, nir_node, n, n)
    raise unsupported(name, nir_node)


def _inner_name(outer: str, inner: str) -> str:
    return inner if inner.startswith(outer + ".") else f"{outer}.{inner}"


def _flatten(graph: Any, nodes: Dict[str, _Node], edges: List[Tuple[str, str]], prefix: str = "") -> Dict[str, Tuple[str, str]]:
    """Add the graph's nodes and edges to ``nodes`` and ``edges``, subgraphs inlined.

    Returns:
        ``{subgraph name: (its entry node, its exit node)}`` for the edges that name it.
    """
    ports: Dict[str, Tuple[str, str]] = {}
    full = lambda n: _inner_name(prefix, n) if prefix else n
    for name, nir_node in graph.nodes.items():
        if node_type(nir_node) == "NIRGraph":
            ports[full(name)] = _inline(full(name), nir_node, nodes, edges)
        else:
            nodes[full(name)] = _node(full(name), nir_node)
    for a, b in graph.edges:
        a, b = full(str(a)), full(str(b))
        edges.append((ports[a][1] if a in ports else a, ports[b][0] if b in ports else b))
    return ports


def _inline(name: str, sub: Any, nodes: Dict[str, _Node], edges: List[Tuple[str, str]]) -> Tuple[str, str]:
    """Inline subgraph ``name``; its Input and Output nodes become pass-through nodes."""
    first = len(nodes)
    _flatten(sub, nodes, edges, prefix=name)
    added = list(nodes)[first:]
    entries = [n for n in added if nodes[n].role == "input"]
    exits = [n for n in added if nodes[n].role == "output"]
    for n in entries + exits:
        nodes[n].role = "pass"
    if len(entries) != 1 or len(exits) != 1:
        raise NIRGraphError(
            f"NIR subgraph `{name}` must have one Input and one Output node; got {len(entries)} and {len(exits)}"
        )
    return entries[0], exits[0]


# --- 2. sizes -------------------------------------------------------------------------------------


def _check_edges(nodes: Dict[str, _Node], edges: Sequence[Tuple[str, str]]) -> None:
    """Every edge joins two nodes; no edge twice; every node but an Input has an incoming edge."""
    seen = set()
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRGraphError(f"edge ({a!r}, {b!r}) must join nodes of the graph; `{end}` is not one")
        if (a, b) in seen:
            raise NIRGraphError(f"edge ({a!r}, {b!r}) must appear once; got it twice")
        seen.add((a, b))
    fed = {b for _, b in edges}
    for name, node in nodes.items():
        if node.role != "input" and name not in fed:
            raise NIRGraphError(f"NIR node `{name}` ({node.kind}) must have an incoming edge; it has none")
    if not any(n.role == "input" for n in nodes.values()):
        raise NIRGraphError("the NIR graph must have an Input node; it has none")
    if not any(n.role == "output" for n in nodes.values()):
        raise NIRGraphError("the NIR graph must have an Output node; it has none")


def _resolve_sizes(nodes: Dict[str, _Node], edges: Sequence[Tuple[str, str]]) -> None:
    """Propagate sizes along edges into nodes that take them from their input, then check every edge."""
    same = ("pass", "scale", "neuron", "output")
    changed = True
    while changed:
        changed = False
        for a, b in edges:
            src, dst = nodes[a], nodes[b]
            if src.size_out is not None and dst.size_in is None:
                dst.size_in = src.size_out
                if dst.role in same:
                    dst.size_out = dst.size_in
                changed = True
            elif dst.size_in is not None and src.size_out is None and src.role in same:
                src.size_out = src.size_in = dst.size_in
                changed = True
    for a, b in edges:
        if nodes[a].size_out != nodes[b].size_in:
            raise NIRGraphError(
                f"edge ({a!r}, {b!r}) must join equal sizes; `{a}` gives {nodes[a].size_out}, `{b}` takes {nodes[b].size_in}"
            )
    unknown = [n for n, node in nodes.items() if node.size_out is None]
    if unknown:
        raise NIRGraphError(f"the size of NIR node `{unknown[0]}` must follow from its parameters or edges; it does not")


# --- 3. compose -----------------------------------------------------------------------------------

_Terms = Tuple[Dict[str, np.ndarray], np.ndarray]  # ({source: (n_source, n_out)}, bias (n_out,))


class _Composer:
    """The linear map from spike sources to every node's output, memoized."""

    def __init__(self, nodes: Dict[str, _Node], edges: Sequence[Tuple[str, str]]):
        self.nodes = nodes
        self.preds: Dict[str, List[str]] = {n: [] for n in nodes}
        for a, b in edges:
            self.preds[b].append(a)
        self.memo: Dict[str, _Terms] = {}
        self.active: set = set()

    def incoming(self, name: str) -> _Terms:
        """The sum of the outputs of ``name``'s predecessors: the node's input."""
        terms: Dict[str, np.ndarray] = {}
        bias = np.zeros(self.nodes[name].size_in)
        for pred in self.preds[name]:
            t, b = self.output(pred)
            for src, m in t.items():
                terms[src] = terms[src] + m if src in terms else m
            bias = bias + b
        return terms, bias

    def output(self, name: str) -> _Terms:
        node = self.nodes[name]
        if node.role in ("input", "neuron"):
            return {name: np.eye(node.size_out)}, np.zeros(node.size_out)
        if name in self.memo:
            return self.memo[name]
        if name in self.active:
            raise NIRGraphError(f"NIR node `{name}` is on a loop without a neuron node; every loop must pass a neuron")
        self.active.add(name)
        terms, bias = self.incoming(name)
        if node.role == "linear":
            weight, b = node.nir
            terms, bias = {k: m @ weight.T for k, m in terms.items()}, weight @ bias + b
        elif node.role == "scale":
            s = np.broadcast_to(node.nir, (node.size_out,))
            terms, bias = {k: m * s for k, m in terms.items()}, bias * s
        self.active.discard(name)
        self.memo[name] = (terms, bias)
        return terms, bias


def _input_weight(terms: Dict[str, np.ndarray], inputs: Sequence[Tuple[str, int]], n_out: int) -> Optional[np.ndarray]:
    """The weights from every Input node stacked into one ``(n_inputs, n_out)`` matrix (None if none)."""
    if not any(name in terms for name, _ in inputs):
        return None
    return np.concatenate([terms.get(name, np.zeros((size, n_out))) for name, size in inputs], axis=0)


def _layers_and_projections(nodes: Dict[str, _Node], composer: _Composer, inputs: Sequence[Tuple[str, int]]) -> Tuple[List[Layer], List[Projection]]:
    layers, projections = [], []
    for name, node in nodes.items():
        if node.role != "neuron":
            continue
        terms, bias = composer.incoming(name)
        layers.append(Layer(name, node.kind, neuron_params(name, node.nir, node.size_out), bias))
        w_in = _input_weight(terms, inputs, node.size_out)
        if w_in is not None and np.any(w_in):
            projections.append(Projection(INPUT, name, w_in))
        for src, w in terms.items():
            if nodes[src].role == "neuron" and np.any(w):
                projections.append(Projection(src, name, w))
    return layers, projections


def _update_order(layers: List[Layer], projections: List[Projection]) -> List[Layer]:
    """Layers breadth-first from the ones the inputs drive, then any others, in graph order."""
    by_name = {l.name: l for l in layers}
    order: List[str] = []
    queue = deque(p.target for p in projections if p.source == INPUT)
    while queue:
        name = queue.popleft()
        if name in order:
            continue
        order.append(name)
        queue.extend(p.target for p in projections if p.source == name)
    order += [l.name for l in layers if l.name not in order]
    return [by_name[n] for n in order]


# --- 4. outputs ------------------------------------------------------------------------------------


def _channel_fault(nodes: Dict[str, _Node], terms: Dict[str, np.ndarray], bias: float, j: int) -> Optional[str]:
    """What is wrong with output channel ``j`` (None if it is one neuron's output)."""
    hits = [(src, int(i)) for src, m in terms.items() for i in np.flatnonzero(m[:, j])]
    if not hits:
        return "nothing"
    if any(nodes[src].role == "input" for src, _ in hits):
        return "the graph's input"
    if len(hits) > 1:
        return f"a sum of {len(hits)} neuron outputs"
    if terms[hits[0][0]][hits[0][1], j] != 1:
        return "a weighted neuron output"
    return "a neuron output plus a bias" if bias != 0 else None


def _outputs(nodes: Dict[str, _Node], composer: _Composer) -> Tuple[List[Tuple[str, int]], List[str]]:
    """``(layer, neuron)`` of every output channel; an Output must select neuron outputs."""
    channels, names = [], []
    for name, node in nodes.items():
        if node.role != "output":
            continue
        names.append(name)
        terms, bias = composer.incoming(name)
        for j in range(node.size_in):
            fault = _channel_fault(nodes, terms, bias[j], j)
            if fault is not None:
                raise NIRGraphError(
                    f"channel {j} of NIR Output `{name}` must be one neuron's output (the chip outputs spikes); got {fault}"
                )
            channels.append(next((src, int(i)) for src, m in terms.items() for i in np.flatnonzero(m[:, j])))
    return channels, names


# --- 5. time step -----------------------------------------------------------------------------------


def implied_dt(layer: Layer, discrete: str = "none") -> Optional[np.ndarray]:
    """The time step a layer's parameters imply, if they imply one: ``tau_mem / r`` where
    ``r != 1`` and ``tau_syn / w_in`` where ``w_in != 1`` (the convention of exporters
    that write a discrete model, ``v <- beta v + I``, as NIR's equations: snnTorch writes
    ``r = tau_mem / dt`` and ``w_in = tau_syn / dt``). A coupling read as discrete
    (``discrete``, :data:`DISCRETE`) implies nothing."""
    p = layer.params
    parts = []
    if discrete not in ("membrane", "both"):
        sel = np.isfinite(p.tau_mem) & ~np.isclose(p.r, 1.0, rtol=1e-6, atol=0) & (p.r > 0)
        parts.append(p.tau_mem[sel] / p.r[sel])
    if discrete not in ("synapse", "both"):
        sel = (p.tau_syn > 0) & ~np.isclose(p.w_in, 1.0, rtol=1e-6, atol=0) & (p.w_in > 0)
        parts.append(p.tau_syn[sel] / p.w_in[sel])
    if not parts:
        return None
    values = np.concatenate(parts)
    return values if values.size else None


def reconcile_dt(
    layers: Sequence[Layer], dt: Optional[float], rtol: float, metadata_dt: Optional[float] = None, discrete: str = "none"
) -> Tuple[float, Dict[str, float]]:
    """One time step for the network: ``dt`` if given, else the one the graph implies.

    The graph implies a step through its metadata (``metadata["dt"]``) or its
    parameters (:func:`implied_dt`); all must agree within ``rtol``.

    Returns:
        ``(dt, {node: implied dt})``.

    Raises:
        TimeStepError: no ``dt`` and the graph implies none, or implied steps that
            disagree, or a step longer than a time constant (Euler would overshoot).
        ParameterValueError: a ``dt`` that is not positive and finite.
    """
    implied = {l.name: v for l in layers if (v := implied_dt(l, discrete)) is not None}
    if metadata_dt is not None:
        implied["metadata"] = np.array([float(metadata_dt)])
    summary = {k: float(np.median(v)) for k, v in implied.items()}
    if dt is None:
        if not implied:
            raise TimeStepError(
                "`dt` must be given: the graph's parameters do not fix a time step (no node has r != 1 or "
                "w_in != 1, and its metadata has no dt); pass the step the network was trained with"
            )
        values = np.concatenate(list(implied.values()))
        if values.max() > values.min() * (1 + rtol):
            spread = ", ".join(f"`{k}`: {float(np.min(v)):.4g}..{float(np.max(v)):.4g}" for k, v in implied.items())
            raise TimeStepError(
                f"the time steps the nodes imply (tau / r, tau_syn / w_in) must agree within rtol={rtol}; got {spread}. "
                "Pass `dt=` (and `time_scale=` if the exporter wrote time constants in other units)"
            )
        dt = float(np.median(values))
    if not (np.isfinite(dt) and dt > 0):
        raise ParameterValueError("dt", "positive and finite (s)", dt)
    _check_step(layers, float(dt), rtol)
    return float(dt), summary


def _check_step(layers: Sequence[Layer], dt: float, rtol: float) -> None:
    for layer in layers:
        for key in ("tau_mem", "tau_syn"):
            tau = getattr(layer.params, key)
            tau = tau[tau > 0]
            if tau.size and dt > tau.min() * (1 + rtol):
                raise TimeStepError(
                    f"`dt` must be at most every time constant (forward Euler); got dt = {dt:.4g} s and "
                    f"`{layer.name}`.{key} = {tau.min():.4g} s. If the exporter wrote time constants in other units "
                    "(norse 1.1 writes them dt times too small), pass `time_scale=`"
                )


def _discretized(layer: Layer, dt: float, discrete: str) -> Layer:
    """``layer`` with its couplings read as a discrete model (see :data:`DISCRETE`)."""
    p = layer.params
    changes = {}
    if discrete in ("synapse", "both"):
        changes["w_in"] = np.where(p.tau_syn > 0, p.tau_syn / dt, p.w_in)
    if discrete in ("membrane", "both"):
        changes["r"] = np.where(np.isfinite(p.tau_mem), p.tau_mem / dt, 1.0 / dt)
    return replace(layer, params=replace(p, **changes)) if changes else layer


# --- the reader -------------------------------------------------------------------------------------


def network_from_graph(
    graph: Any,
    *,
    dt: Optional[float] = None,
    time_scale: float = 1.0,
    reset: str = "zero",
    discrete: str = "none",
    rtol: float = 1e-3,
) -> NirNetwork:
    """Read a ``nir.NIRGraph`` into a :class:`NirNetwork` (see the module docs for the steps).

    Args:
        graph: the NIR graph (nodes may hold numpy arrays, scalars or torch tensors).
        dt: time step (s); default: the one the graph implies (:func:`reconcile_dt`).
        time_scale: factor on every time constant of the graph, for an exporter that wrote
            them in other units (norse 1.1: ``1 / dt``); applied before ``dt`` is derived.
        reset: the spiking layers' reset rule, one of :data:`RESETS`.
        discrete: which couplings to read as the discrete model an exporter simulated,
            one of :data:`DISCRETE` (default ``"none"``: as written).
        rtol: relative tolerance within which implied time steps agree.

    Raises:
        UnsupportedNodeError: a node type the package does not read, named with what to
            do instead.
        NIRGraphError: an edge to a missing node, a node without incoming edge, sizes
            that do not match along an edge, a loop without a neuron, an output that is
            not a neuron's output.
        TimeStepError: see :func:`reconcile_dt`.
        ParameterValueError: NaN or infinite weights or parameters, a bad ``time_scale``.
        UnknownParameterError: a ``reset`` or ``discrete`` that is not one of its choices.
    """
    if reset not in RESETS:
        raise UnknownParameterError("reset", reset, RESETS)
    if discrete not in DISCRETE:
        raise UnknownParameterError("discrete", discrete, DISCRETE)
    if not (np.isfinite(time_scale) and time_scale > 0):
        raise ParameterValueError("time_scale", "positive and finite", time_scale)
    nodes: Dict[str, _Node] = {}
    edges: List[Tuple[str, str]] = []
    _flatten(graph, nodes, edges)
    _check_edges(nodes, edges)
    _resolve_sizes(nodes, edges)
    composer = _Composer(nodes, edges)
    inputs = [(n, node.size_out) for n, node in nodes.items() if node.role == "input"]
    layers, projections = _layers_and_projections(nodes, composer, inputs)
    if not layers:
        raise NIRGraphError("the NIR graph must have neuron nodes (LIF, CubaLIF, IF, LI, CubaLI); it has none")
    layers = [Layer(l.name, l.kind, l.params.scaled_time(time_scale), l.bias) for l in _update_order(layers, projections)]
    outputs, output_names = _outputs(nodes, composer)
    metadata = getattr(graph, "metadata", None)
    meta_dt = metadata.get("dt") if isinstance(metadata, dict) else None
    meta_dt = float(np.asarray(meta_dt)) * time_scale if meta_dt is not None else None
    dt, implied = reconcile_dt(layers, dt, rtol, meta_dt, discrete)
    layers = [_discretized(l, dt, discrete) for l in layers]
    return NirNetwork(
        n_inputs=int(sum(size for _, size in inputs)),
        input_names=tuple(n for n, _ in inputs),
        layers=tuple(layers),
        projections=tuple(projections),
        outputs=tuple(outputs),
        output_names=tuple(output_names),
        dt=dt,
        reset=reset,
        implied_dt=implied,
        time_scale=float(time_scale),
        discrete=discrete,
    )
