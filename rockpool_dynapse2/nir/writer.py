"""A DYNAP-SE2 network spec -> a NIR graph of the nearest NIR primitives: :func:`nir_from_spec`.

A DYNAP-SE2 neuron is a DPI circuit: exponential synaptic currents per synapse type, an
exponential integrate-and-fire membrane with positive feedback, a refractory period and
``ceil(log(I_mem / Ispkthr))`` spikes in a firing step. Its nearest NIR primitive is the
``CubaLIF`` (one exponential synaptic current, a leaky membrane, a threshold and a reset).
The writer inverts the reader's analytic conversion (:mod:`.reader`): per core it measures
the DPI neuron's rheobase ``I_rh`` (the smallest DC current that makes it fire, by
simulation with all the core's currents, :func:`core_rheobase`) and takes one unit of LIF
current to be ``I_rh / (1 - exp(-dt / tau_mem))`` amperes (threshold 1). Then

* ``tau_mem``, ``tau_syn`` (of ``Itau_mem``, ``Itau_ampa``) -> NIR time constants whose
  forward-Euler decay is the DPI's exponential one, ``tau' = dt / (1 - exp(-dt / tau))``,
  with ``r = tau_mem' / dt`` and ``w_in = tau_syn' / dt`` (snnTorch's convention: the
  NIR graph then holds ``dt``, which the reader recovers);
* a weight ``w`` (units of ``Iscale``) of type AMPA (+) or GABA (-) -> ``+-w Iscale g
  (1 - exp(-t_pulse / tau)) / unit``, the charge one spike puts on the synapse in LIF
  units (``g`` the gain ratio and ``tau`` the time constant of that synapse type);
* ``Idc`` above the dark current -> ``v_leak = (Idc / unit) tau_mem' / dt`` (a constant drive);
* ``v_threshold = 1``, ``v_reset = 0``.

The graph has one ``CubaLIF`` node per layer of the spec (``spec.names``), one ``Linear``
node per (source, target) pair of layers or input with synapses, and an ``Output`` fed by
the output neurons (through a 0/1 selection ``Linear`` unless they are one whole layer in
order). Its metadata holds ``dt``. What NIR cannot hold is approximated (see
``docs/nir.md``): the GABA synapse's time constant (NIR has one per neuron: AMPA's is
written), the refractory period, the DPI's multi-spike steps, weight quantization (the
quantized weights are written as real numbers). NMDA and SHUNT synapses are refused.
"""

from __future__ import annotations

import functools
import pathlib
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY, SynapseType
from ..errors import NIRError
from ..mapping.network_spec import NetworkSpec
from ..parameters.convert import tau_from_itau
from ..parameters.core import CoreParameters
from .network import NirNetwork, network_from_graph
from .reader import _nir_module
from .reference import simulate_nir

__all__ = ["core_rheobase", "fit_drive", "nir_from_spec", "write_nir"]

_LEVELS = 96
_STEPS = 5000


@functools.lru_cache(maxsize=256)
def core_rheobase(core: CoreParameters, dt: float) -> float:
    """Smallest DC current (A) that makes a neuron of ``core`` fire, by simulation.

    As :func:`rockpool_dynapse2.mapping.lif.rheobase`, but with every current of the core
    (threshold, gains, refractory period), not only its time constants: ``_LEVELS``
    log-spaced ``Idc`` from 0.1 pA to 1 uA for at least 5000 steps (and 250 membrane time
    constants), then a finer grid between the last silent and the first firing level.
    """
    from ..simulation.jax_module import DynapSimJax

    steps = max(_STEPS, int(np.ceil(250 * tau_from_itau(core.Itau_mem, "mem", core.constants) / dt)))

    def fires(levels: np.ndarray) -> np.ndarray:
        mod = DynapSimJax((levels.size,), core=core, dt=dt, Idc=levels)
        out, _, _ = mod(np.zeros((1, steps, levels.size), dtype=np.float32))
        return np.asarray(out).sum(axis=(0, 1)) > 0

    levels = np.geomspace(1e-13, 1e-6, _LEVELS)
    fired = fires(levels)
    if not fired.any():
        return float(levels[-1])
    k = int(np.argmax(fired))
    if k == 0:
        return float(levels[0])
    fine = np.geomspace(levels[k - 1], levels[k], _LEVELS)
    return float(fine[int(np.argmax(fires(fine)))])


def _euler_tau(tau: np.ndarray, dt: float) -> np.ndarray:
    """The NIR time constant whose forward-Euler decay per step is ``exp(-dt / tau)``."""
    return dt / -np.expm1(-dt / np.asarray(tau, dtype=np.float64))


def _per_core(spec: NetworkSpec) -> Dict[str, np.ndarray]:
    """Per core: NIR time constants, the LIF unit (A) and each synapse type's charge factor."""
    out: Dict[str, List[float]] = {k: [] for k in ("tau_mem", "tau_syn", "unit", "idc", "exc", "inh")}
    for core in spec.cores:
        c = core.constants
        tau_mem = float(tau_from_itau(core.Itau_mem, "mem", c))
        t_pulse = c.Vth * c.C_pulse / core.Ipulse
        charge = {}
        for kind in (SIGNED_EXCITATORY, SIGNED_INHIBITORY):
            itau = getattr(core, f"Itau_{kind.label}")
            tau = float(tau_from_itau(itau, kind.circuit.name.lower(), c))
            charge[kind] = getattr(core, f"Igain_{kind.label}") / itau * -np.expm1(-t_pulse / tau)
        unit = core_rheobase(core, spec.dt) / -np.expm1(-spec.dt / tau_mem)
        out["tau_mem"].append(tau_mem)
        out["tau_syn"].append(float(tau_from_itau(core.Itau_ampa, "ampa", c)))
        out["unit"].append(unit)
        out["idc"].append(core.Idc - c.Io if core.dc_on else 0.0)
        out["exc"].append(charge[SIGNED_EXCITATORY])
        out["inh"].append(charge[SIGNED_INHIBITORY])
    return {k: np.asarray(v) for k, v in out.items()}


def _signed_weights(spec: NetworkSpec, table_name: str, n_sources: int, core: Dict[str, np.ndarray]) -> np.ndarray:
    """``(n_sources, N)`` signed weights in LIF units of one synapse table.

    Raises:
        NIRError: an NMDA or SHUNT synapse (NIR's CubaLIF has one signed current).
    """
    table = getattr(spec, table_name)
    other = ~np.isin(table.kind, [int(SIGNED_EXCITATORY), int(SIGNED_INHIBITORY)])
    if other.any():
        kind = SynapseType(int(table.kind[other][0])).name
        raise NIRError(
            f"{table_name} must use AMPA and GABA synapses only to be written as NIR (one signed current per neuron); "
            f"got {int(other.sum())} of type {kind}"
        )
    c = spec.core_of_neuron[table.target]
    exc = table.kind == int(SIGNED_EXCITATORY)
    factor = np.where(exc, core["exc"][c], -core["inh"][c]) * spec.Iscale / core["unit"][c]
    w = np.zeros((n_sources, spec.n_neurons))
    np.add.at(w, (table.source, table.target), spec.weights(table) * factor)
    return w


def _layers(spec: NetworkSpec) -> Tuple[List[str], np.ndarray]:
    """Node names of the spec's layers (unique, not ``input``/``output``) and each neuron's layer."""
    layer_of = spec.layer_of_neuron if spec.layer_of_neuron is not None else np.zeros(spec.n_neurons, dtype=np.int64)
    names: List[str] = []
    for k in range(int(layer_of.max()) + 1 if spec.n_neurons else 0):
        base = spec.names[k] if k < len(spec.names) else f"layer_{k}"
        name = base if base not in ("input", "output") and base not in names else f"{base}_{k}"
        names.append(name)
    return names, layer_of


def _cubalif(nir: Any, spec: NetworkSpec, members: np.ndarray, core: Dict[str, np.ndarray]) -> Any:
    c = spec.core_of_neuron[members]
    dt = spec.dt
    tau_mem, tau_syn = _euler_tau(core["tau_mem"][c], dt), _euler_tau(core["tau_syn"][c], dt)
    bias = core["idc"][c] / core["unit"][c]
    return nir.CubaLIF(
        tau_mem=tau_mem, tau_syn=tau_syn, r=tau_mem / dt, v_leak=bias * tau_mem / dt,
        v_threshold=np.ones(members.size), v_reset=np.zeros(members.size), w_in=tau_syn / dt,
    )


def _outputs(nir: Any, spec: NetworkSpec, names: List[str], layer_of: np.ndarray, nodes: Dict[str, Any], edges: List) -> None:
    """The Output node, fed by a whole layer or by 0/1 selections of the output neurons."""
    out = spec.output_neurons
    nodes["output"] = nir.Output(output_type=np.array([out.size]))
    for k, name in enumerate(names):
        members = np.flatnonzero(layer_of == k)
        if np.array_equal(out, members):
            edges.append((name, "output"))
            return
    for k, name in enumerate(names):
        members = np.flatnonzero(layer_of == k)
        rows = np.flatnonzero(np.isin(out, members))
        if rows.size:
            select = np.zeros((out.size, members.size))
            select[rows, np.searchsorted(members, out[rows])] = 1.0
            nodes[f"select_{name}"] = nir.Linear(weight=select)
            edges += [(name, f"select_{name}"), (f"select_{name}", "output")]


def _scaled(network: NirNetwork, name: str, scale: float) -> NirNetwork:
    """``network`` with every input current of layer ``name`` (weights onto it, its constant
    input and ``v_leak``) multiplied by ``scale``."""
    layers = tuple(
        replace(l, bias=l.bias * scale, params=replace(l.params, v_leak=l.params.v_leak * scale)) if l.name == name else l
        for l in network.layers
    )
    projections = tuple(replace(p, weight=p.weight * scale) if p.target == name else p for p in network.projections)
    return replace(network, layers=layers, projections=projections)


def _bisect(count: Callable[[float], float], target: float, rtol: float, span: Tuple[float, float] = (1e-3, 1e3)) -> float:
    """The scale in ``span`` (log bisection) whose count is within ``rtol`` of ``target``, or the nearest end."""
    lo, hi = np.log(span[0]), np.log(span[1])
    if count(float(np.exp(hi))) <= target:
        return float(np.exp(hi))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        got = count(float(np.exp(mid)))
        if abs(got - target) <= rtol * max(target, 1.0):
            return float(np.exp(mid))
        lo, hi = (mid, hi) if got < target else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def fit_drive(graph: Any, spec: NetworkSpec, x: Any, rtol: float = 0.02) -> Dict[str, float]:
    """One drive scale per layer of ``graph`` (written from ``spec``) so that NIR's semantics
    fire as many spikes per layer as the chip's simulation of ``spec`` on ``x``.

    Layers are fitted in update order, each with the ones before it fitted, by a log
    bisection in ``[1e-3, 1e3]`` (a layer that cannot reach its count gets the nearer end).

    Args:
        graph: :func:`nir_from_spec` of ``spec`` (changed in place: the scales are applied).
        spec: the network spec.
        x: ``(B, T, spec.n_inputs)`` input.
        rtol: relative count error at which the search stops.

    Returns:
        ``{layer: scale}``.
    """
    from ..mapping.simulate import dynapsim_net_from_spec

    x = np.asarray(x, dtype=np.float32)
    chip = np.asarray(dynapsim_net_from_spec(spec)(x)[0]).sum(axis=(0, 1))
    names, layer_of = _layers(spec)
    network = network_from_graph(graph)
    scales: Dict[str, float] = {}
    for layer in network.layers:
        target = float(chip[layer_of == names.index(layer.name)].sum())
        count = lambda s, name=layer.name: float(simulate_nir(_scaled(network, name, s), x).counts(name).sum())
        scales[layer.name] = _bisect(count, target, rtol)
        network = _scaled(network, layer.name, scales[layer.name])
    for a, b in graph.edges:
        if b in scales and type(graph.nodes[a]).__name__ == "Linear":  # the weights onto a fitted layer
            graph.nodes[a].weight = graph.nodes[a].weight * scales[b]
    for name, scale in scales.items():
        graph.nodes[name].v_leak = graph.nodes[name].v_leak * scale
    return scales


def nir_from_spec(spec: NetworkSpec, calibration_input: Optional[Any] = None) -> Any:
    """A DYNAP-SE2 network spec as a ``nir.NIRGraph`` of ``CubaLIF`` and ``Linear`` nodes.

    Args:
        spec: any network spec (mapped, calibrated, quantized or from
            :func:`~rockpool_dynapse2.mapping.trained.spec_from_training`); quantized
            weights are written as the real values the chip's masks select.
        calibration_input: ``(B, T, spec.n_inputs)`` input on which each layer's drive is
            fitted to the chip's spike count (:func:`fit_drive`); default: the analytic
            conversion only.

    Returns:
        The graph (see the module docs for the approximation); ``nir.write`` stores it.

    Raises:
        ImportError: ``nir`` is not installed.
        NIRError: NMDA or SHUNT synapses.
    """
    nir = _nir_module()
    core = _per_core(spec)
    w_in = _signed_weights(spec, "input_synapses", spec.n_inputs, core)
    w_rec = _signed_weights(spec, "recurrent_synapses", spec.n_neurons, core)
    names, layer_of = _layers(spec)
    nodes: Dict[str, Any] = {"input": nir.Input(input_type=np.array([spec.n_inputs]))}
    edges: List[Tuple[str, str]] = []
    members = [np.flatnonzero(layer_of == k) for k in range(len(names))]
    for k, name in enumerate(names):
        nodes[name] = _cubalif(nir, spec, members[k], core)
        w = w_in[:, members[k]]
        if np.any(w):
            nodes[f"w_input_{name}"] = nir.Linear(weight=w.T.copy())
            edges += [("input", f"w_input_{name}"), (f"w_input_{name}", name)]
        for j, src in enumerate(names):
            w = w_rec[np.ix_(members[j], members[k])]
            if np.any(w):
                nodes[f"w_{src}_{name}"] = nir.Linear(weight=w.T.copy())
                edges += [(src, f"w_{src}_{name}"), (f"w_{src}_{name}", name)]
    _outputs(nir, spec, names, layer_of, nodes, edges)
    graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": spec.dt, "source": "rockpool-dynapse2"})
    if calibration_input is not None:
        fit_drive(graph, spec, calibration_input)
    return graph


def write_nir(spec: NetworkSpec, path: Any, calibration_input: Optional[Any] = None) -> None:
    """Write :func:`nir_from_spec` of ``spec`` to a ``.nir`` file (``nir.write``)."""
    _nir_module().write(str(pathlib.Path(path)), nir_from_spec(spec, calibration_input))
