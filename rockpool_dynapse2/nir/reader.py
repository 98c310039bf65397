"""A NIR graph -> a DYNAP-SE2 network spec, through the calibrated LIF conversion: :func:`spec_from_nir`.

The graph is read into numpy (:mod:`.network`), never through a framework: no tensors are
copied, and the reference the calibration fits to is NIR's own semantics
(:mod:`.reference`), run on the calibration input.

Each spiking layer is first written as the discrete LIF neuron that the analytic
conversion (:mod:`rockpool_dynapse2.mapping.lif`) takes (``i_syn <- beta i_syn + w x``,
``v <- alpha v + i_syn + bias``, threshold ``theta``, rest and reset at 0). Forward Euler
of NIR's equations is that model with (:func:`lif_view`)::

    alpha     = 1 - dt / tau_mem     -> tau_mem' = -dt / log(alpha)       (IF: tau_mem' = if_tau)
    beta      = 1 - dt / tau_syn     -> tau_syn' = -dt / log(beta)        (LIF, IF: dt / 2, see below)
    w'        = w * r * w_in * (dt / tau_syn) * (dt / tau_mem)            (per target neuron;
                                                                           LIF: w r dt / tau_mem, IF: w r dt)
    bias'     = dt / tau_mem * (v_leak - v_reset + r w_in b)              (b: the Affine biases on the way)
    theta     = v_threshold - v_reset

(the membrane measured from ``v_reset``). A decay ``alpha`` or ``beta`` at or below 0
(``tau = dt``, snnTorch's ``beta = 0``) becomes :data:`MIN_DECAY`. LIF and IF neurons take
their input current unfiltered; a DPI synapse always filters, so it gets a time constant of
half a step (it passes 86 % of a spike's charge within the step). The mapper then converts
these neurons (equal rheobases) and, given a calibration input, the calibration fits each
layer's drive and threshold to the NIR reference's spike counts.

What the chip cannot hold is refused or reported, never dropped: a non-spiking LI/CubaLI
layer can only be a readout (feeding Output nodes only), run on the host with
``readout="host"`` (:attr:`NirImport.readout`); negative constant input (the chip's DC
current is positive) is clipped to 0 and listed in :attr:`NirImport.notes`.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, replace
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..chip import GEOMETRY
from ..errors import NIRGraphError, ParameterValueError, UnknownParameterError, UnsupportedNodeError
from ..mapping.calibration.calibrate import calibrate_to_reference
from ..mapping.calibration.report import CalibrationReport
from ..mapping.graph_map import map_graph, neuron_modules
from ..mapping.network_spec import NetworkSpec
from .network import INPUT, Layer, NirNetwork, Projection, network_from_graph
from .reference import NirRecord, simulate_nir

__all__ = ["MIN_DECAY", "IF_LEAK_STEPS", "READOUTS", "LifView", "NirImport", "read_nir", "lif_view", "spec_from_nir"]

MIN_DECAY = 1e-3
"""The smallest per-step decay a chip time constant is given (for ``tau = dt``)."""

IF_LEAK_STEPS = 100
"""Default membrane time constant of an IF neuron on the chip, in steps (the DPI always leaks)."""

UNFILTERED_SYNAPSE = 0.5
"""Synaptic time constant, in steps, of a neuron whose NIR input is unfiltered (LIF, IF)."""

READOUTS = ("error", "host")
"""What to do with a non-spiking LI/CubaLI readout: refuse it, or run it on the host."""


def _nir_module() -> Any:
    try:
        import nir
    except ImportError as err:
        raise ImportError(
            f"reading and writing NIR files needs the `nir` package ({err}); install it with "
            '`pip install "rockpool-dynapse2[nir]"`'
        ) from None
    return nir


def read_nir(
    source: Any,
    *,
    dt: Optional[float] = None,
    time_scale: float = 1.0,
    reset: str = "zero",
    discrete: str = "none",
    rtol: float = 1e-3,
) -> NirNetwork:
    """Read a NIR file or graph into a :class:`~.network.NirNetwork`.

    Args:
        source: a path to a ``.nir`` file (read with ``nir.read`` without NIR's type check,
            which refuses scalar neuron parameters; this reader checks and broadcasts them),
            or a ``nir.NIRGraph``.
        dt: time step (s); default: the one the graph implies.
        time_scale: factor on every time constant of the graph.
        reset: the spiking layers' reset rule (``"zero"``, NIR's, or ``"subtract"``).
        discrete: which couplings to read as the discrete model an exporter simulated.
        rtol: relative tolerance within which implied time steps agree.

    See :func:`~.network.network_from_graph` for each.

    Raises:
        ImportError: a path, and ``nir`` is not installed.
        UnsupportedNodeError, NIRGraphError, TimeStepError, ParameterValueError: see
            :func:`~.network.network_from_graph`.
    """
    if isinstance(source, (str, pathlib.Path)):
        source = _nir_module().read(str(source), type_check=False)
    return network_from_graph(source, dt=dt, time_scale=time_scale, reset=reset, discrete=discrete, rtol=rtol)


# --- the LIF view ------------------------------------------------------------------------------------


class LifView(NamedTuple):
    """A layer as the discrete LIF neurons :mod:`rockpool_dynapse2.mapping.lif` converts, ``(n,)`` each.

    Attributes:
        tau_mem, tau_syn: time constants (s) of the exponential decays.
        threshold: firing threshold above rest.
        bias: constant input per step.
        gain: factor on every weight onto the neuron (NIR input current -> LIF current).
    """

    tau_mem: np.ndarray
    tau_syn: np.ndarray
    threshold: np.ndarray
    bias: np.ndarray
    gain: np.ndarray


def _exp_tau(tau: np.ndarray, dt: float) -> np.ndarray:
    """The exponential time constant with the per-step decay of forward Euler, ``1 - dt / tau``."""
    decay = np.maximum(1.0 - dt / tau, MIN_DECAY)
    return -dt / np.log(decay)


def lif_view(layer: Layer, dt: float, if_tau: Optional[float] = None) -> LifView:
    """A spiking layer as discrete LIF neurons (see the module docs for the equations).

    Args:
        layer: a LIF, CubaLIF or IF layer.
        dt: the network's time step (s).
        if_tau: membrane time constant (s) of IF neurons on the chip; default
            :data:`IF_LEAK_STEPS` steps.
    """
    p = layer.params
    leaky = np.isfinite(p.tau_mem)
    safe_tau = np.where(leaky, p.tau_mem, 1.0)
    mem_rate = np.where(leaky, dt / safe_tau, dt)  # v gains mem_rate * r * I per step
    tau_mem = np.where(leaky, _exp_tau(safe_tau, dt), IF_LEAK_STEPS * dt if if_tau is None else if_tau)
    filtered = p.tau_syn > 0
    safe_syn = np.where(filtered, p.tau_syn, 1.0)
    tau_syn = np.where(filtered, _exp_tau(safe_syn, dt), UNFILTERED_SYNAPSE * dt)
    syn_rate = np.where(filtered, dt / safe_syn, 1.0)  # I gains syn_rate * w_in * u per step
    gain = p.r * p.w_in * mem_rate * syn_rate
    bias = np.where(leaky, dt / safe_tau, 0.0) * (p.v_leak - p.v_reset) + mem_rate * p.r * p.w_in * layer.bias
    return LifView(tau_mem, tau_syn, p.v_threshold - p.v_reset, bias, gain)


# --- what goes on the chip ----------------------------------------------------------------------------


def _split_readout(network: NirNetwork, readout: str) -> Tuple[List[Layer], Optional[NirNetwork], List[Tuple[str, int]]]:
    """``(chip layers, host readout network or None, chip output channels)``.

    Raises:
        UnsupportedNodeError: a non-spiking layer that feeds another layer, or any
            non-spiking layer when ``readout="error"``.
    """
    if readout not in READOUTS:
        raise UnknownParameterError("readout", readout, READOUTS)
    silent = [l for l in network.layers if not l.spiking]
    for l in silent:
        if any(p.source == l.name for p in network.projections):
            raise UnsupportedNodeError(
                l.name, l.kind, "It emits its membrane voltage, not spikes; the chip can run it only as a readout "
                "feeding Output nodes (readout='host'). Use a spiking neuron (LIF, CubaLIF, IF) here",
                rule="a readout (feeding only Output nodes) when it does not spike",
            )
        if readout == "error":
            raise UnsupportedNodeError(
                l.name, l.kind, "The chip outputs spikes, so an LI/CubaLI readout cannot run on it: pass "
                "readout='host' to run it on the host from the chip's output spikes (NirImport.readout)",
                rule="a spiking neuron on the chip",
            )
    chip = [l for l in network.layers if l.spiking]
    spike_outputs = [(name, j) for name, j in network.outputs if network.layer(name).spiking]
    if not silent:
        return chip, None, spike_outputs
    feeders = [l for l in chip if any(p.source == l.name and not network.layer(p.target).spiking for p in network.projections)]
    channels = [(l.name, j) for l in feeders for j in range(l.size)]
    return chip, _readout_network(network, silent, feeders), spike_outputs + channels


def _readout_network(network: NirNetwork, silent: Sequence[Layer], feeders: Sequence[Layer]) -> NirNetwork:
    """The readout layers as a network whose inputs are the feeders' spikes (in ``feeders`` order)."""
    n = sum(l.size for l in feeders)
    projections = []
    for layer in silent:
        w = np.zeros((n, layer.size))
        offset = 0
        for f in feeders:
            for p in network.projections:
                if p.source == f.name and p.target == layer.name:
                    w[offset : offset + f.size] += p.weight
            offset += f.size
        if np.any(w):
            projections.append(Projection(INPUT, layer.name, w))
        if any(p.source == INPUT and p.target == layer.name for p in network.projections):
            raise UnsupportedNodeError(
                layer.name, layer.kind, "A host readout reads the chip's output spikes only: remove the weights from "
                "the graph's input to it", rule="a readout of neurons only"
            )
    names = {l.name for l in silent}
    return replace(
        network,
        n_inputs=n,
        input_names=tuple(f"{l.name} (chip output)" for l in feeders),
        layers=tuple(silent),
        projections=tuple(projections),
        outputs=tuple((name, j) for name, j in network.outputs if name in names),
    )


def _rockpool_graph(network: NirNetwork, layers: Sequence[Layer], outputs: Sequence[Tuple[str, int]], if_tau: Optional[float]) -> Tuple[Any, Dict[int, str], List[str]]:
    """The chip layers as a Rockpool graph of ``LinearWeights`` and ``LIFNeuronWithSynsRealValue``.

    Returns:
        ``(graph, {id(neuron module): layer name}, notes)``.
    """
    from rockpool.graph import GraphHolder, LIFNeuronWithSynsRealValue, LinearWeights
    from rockpool.graph.graph_base import GraphNode, SetList

    notes: List[str] = []
    inputs = SetList([GraphNode() for _ in range(network.n_inputs)])
    mods, gains = {}, {}
    for layer in layers:
        view = lif_view(layer, network.dt, if_tau)
        if np.any(view.bias < 0):
            notes.append(
                f"layer `{layer.name}`: negative constant input on {int(np.sum(view.bias < 0))} neuron(s) set to 0 "
                "(the chip's DC current is positive)"
            )
        mods[layer.name] = LIFNeuronWithSynsRealValue._factory(
            layer.size, layer.size, layer.name, None,
            tau_mem=view.tau_mem, tau_syn=view.tau_syn, threshold=view.threshold, bias=np.maximum(view.bias, 0.0), dt=network.dt,
        )
        gains[layer.name] = view.gain
    for p in network.projections:
        if p.target in mods:
            src = inputs if p.source == INPUT else mods[p.source].output_nodes
            LinearWeights(SetList(list(src)), SetList(list(mods[p.target].input_nodes)), f"{p.source}->{p.target}", None,
                          p.weight * gains[p.target][None, :])
    if len(set(outputs)) != len(outputs):
        raise NIRGraphError("every neuron must be at most one output channel of the NIR graph; one is several")
    outs = SetList([mods[name].output_nodes[j] for name, j in outputs])
    graph = GraphHolder(input_nodes=inputs, output_nodes=outs, name="nir", computational_module=None)
    return graph, {id(m): name for name, m in mods.items()}, notes


# --- the import ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NirImport:
    """A NIR graph on the chip: what :func:`spec_from_nir` returns.

    Attributes:
        spec: the DYNAP-SE2 network spec (calibrated if a calibration input was given);
            its layers (``spec.names``) are the graph's spiking neuron nodes.
        network: the whole NIR network (the reference: :func:`~.reference.simulate_nir`).
        readout: the LI/CubaLI readout layers to run on the host (``readout="host"``), as a
            network whose inputs are the spec's last output channels (see :meth:`run_readout`);
            None if the graph has none.
        report: the calibration report, if calibrated.
        notes: every approximation made (e.g. negative constant input set to 0).
    """

    spec: NetworkSpec
    network: NirNetwork
    readout: Optional[NirNetwork]
    report: Optional[CalibrationReport]
    notes: Tuple[str, ...]

    def reference(self, x: Any) -> NirRecord:
        """The NIR reference simulation of the whole network on ``x`` ``(B, T, n_inputs)``."""
        return simulate_nir(self.network, x)

    def run_readout(self, chip_outputs: np.ndarray) -> np.ndarray:
        """The host readout's outputs ``(B, T, n)`` from the chip's output spikes ``(B, T, spec.n_outputs)``."""
        if self.readout is None:
            raise ParameterValueError("readout", "present (the graph has an LI/CubaLI readout)", None)
        chip_outputs = np.asarray(chip_outputs)
        return simulate_nir(self.readout, chip_outputs[..., chip_outputs.shape[-1] - self.readout.n_inputs :]).outputs

    def reference_counts(self, x: Any) -> np.ndarray:
        """``(N,)``: the reference's spike count of every chip neuron on ``x``, in the spec's order."""
        record = self.reference(x)
        return np.concatenate([record.counts(name) for name in self.spec.names])


def spec_from_nir(
    source: Any,
    *,
    calibration_input: Optional[Any] = None,
    calibration: Optional[Dict[str, Any]] = None,
    readout: str = "error",
    if_tau: Optional[float] = None,
    Iscale: Optional[float] = None,
    max_cores: int = GEOMETRY.n_cores,
    **read_options: Any,
) -> NirImport:
    """Map a NIR graph onto DYNAP-SE2 neurons, calibrated against NIR's semantics if asked.

    Args:
        source: a ``.nir`` path, a ``nir.NIRGraph`` or a :class:`~.network.NirNetwork`.
        calibration_input: ``(B, T, n_inputs)`` input on which to fit every layer's drive
            and threshold to the NIR reference's spike counts (strongly advised: the
            analytic conversion alone fires a few % of the spikes); default: none.
        calibration: keyword arguments of
            :func:`~rockpool_dynapse2.mapping.calibration.calibrate.calibrate_to_reference`
            (e.g. ``{"per_neuron": True}``).
        readout: ``"error"`` (default) refuses an LI/CubaLI readout, ``"host"`` runs it on
            the host (:attr:`NirImport.readout`).
        if_tau: membrane time constant (s) of IF neurons on the chip (default 100 steps).
        Iscale: weight unit (A) of the spec (default 10 nA).
        max_cores: cores available (16 on a 4-chip board).
        **read_options: ``dt``, ``time_scale``, ``reset``, ``discrete``, ``rtol`` of :func:`read_nir`
            (for a path or graph).

    Returns:
        The :class:`NirImport`.

    Raises:
        UnsupportedNodeError: an unsupported node, or a readout the options refuse.
        NIRGraphError, TimeStepError, ParameterValueError: see :func:`read_nir`.
        MappingError, CoreCapacityError: see :func:`~rockpool_dynapse2.mapping.graph_map.map_graph`.
    """
    network = source if isinstance(source, NirNetwork) else read_nir(source, **read_options)
    if isinstance(source, NirNetwork) and read_options:
        raise ParameterValueError("read options", "given only with a path or a graph (a NirNetwork is read already)", sorted(read_options))
    chip, host, outputs = _split_readout(network, readout)
    graph, layer_of_module, notes = _rockpool_graph(network, chip, outputs, if_tau)
    options = {} if Iscale is None else {"Iscale": Iscale}
    spec = map_graph(graph, max_cores=max_cores, **options)
    spec = spec.replace(names=tuple(layer_of_module[id(m)] for m in neuron_modules(graph)))
    if host is not None:
        notes.append(f"readout layer(s) {[l.name for l in host.layers]} run on the host (NirImport.run_readout)")
    result = NirImport(spec=spec, network=network, readout=host, report=None, notes=tuple(notes))
    if calibration_input is None:
        return result
    targets = result.reference_counts(calibration_input)
    options = {"max_cores": max_cores, **dict(calibration or {})}
    spec, report = calibrate_to_reference(spec, None, calibration_input, targets=targets, **options)
    return replace(result, spec=spec, report=report)
