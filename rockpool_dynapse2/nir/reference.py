"""NIR's own semantics, step by step in numpy: the reference an imported network is compared with.

NIR defines its neurons by differential equations; this simulator integrates them with
forward Euler at the network's time step ``dt``. A signal is a value per step: an input or
neuron spike is 1 in its step, and the input current of a layer in a step is
``sum(spikes @ weight) + bias`` over the projections onto it (:mod:`.network`). Per
step, for a layer with parameters ``tau_mem, tau_syn, r, v_leak, v_threshold, v_reset,
w_in`` (:class:`~.nodes.NeuronParams`) and input current ``u``::

    I <- I + dt / tau_syn (-I + w_in u)         (CubaLIF, CubaLI; I = u for the others)
    v <- v + dt / tau_mem (v_leak - v + r I)    (LIF, CubaLIF, LI, CubaLI)
    v <- v + dt r I                             (IF: no leak)
    z =  v > v_threshold                        (LIF, CubaLIF, IF)
    v <- v_reset where z                        (reset="zero", NIR's rule)

With ``reset="subtract"`` (snnTorch's and spyx's rule) the last line is instead
``v <- v - (v_threshold - v_reset) z_previous`` after the leak of the next step. ``v``
and ``I`` start at 0. Layers update in the network's order; a feed-forward projection
delivers the spikes of the same step, a recurrent one (onto the layer itself or an
earlier one) those of the previous step. A layer's output is its spikes, or for LI and
CubaLI its membrane ``v``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, NamedTuple

import numpy as np

from ..errors import ParameterValueError, ShapeError
from .network import INPUT, Layer, NirNetwork
from .nodes import NeuronParams

__all__ = ["NeuronState", "NirRecord", "neuron_step", "simulate_nir"]


class NeuronState(NamedTuple):
    """The state of a layer: membrane ``v``, synaptic current ``i`` and last spikes ``z``, ``(B, n)`` each."""

    v: np.ndarray
    i: np.ndarray
    z: np.ndarray


def neuron_step(p: NeuronParams, state: NeuronState, u: np.ndarray, dt: float, reset: str) -> NeuronState:
    """One forward-Euler step of NIR's neuron equations (see the module docs).

    Args:
        p: the layer's parameters, ``(n,)`` each.
        state: its state before the step, ``(B, n)`` each.
        u: ``(B, n)`` its input current in this step.
        dt: time step (s).
        reset: ``"zero"`` or ``"subtract"``.

    Returns:
        The state after the step; ``z`` holds this step's spikes (0/1).
    """
    filtered = p.tau_syn > 0
    i = np.where(filtered, state.i + dt / np.where(filtered, p.tau_syn, 1.0) * (p.w_in * u - state.i), p.w_in * u)
    leaky = np.isfinite(p.tau_mem)
    rate = np.where(leaky, dt / np.where(leaky, p.tau_mem, 1.0), 0.0)
    drive = np.where(leaky, rate, dt) * p.r * i
    v = state.v + rate * (p.v_leak - state.v) + drive
    if reset == "subtract":
        v = v - np.where(state.z > 0, p.v_threshold - p.v_reset, 0.0)
    z = (v > p.v_threshold).astype(np.float64)
    if reset == "zero":
        v = np.where(z > 0, p.v_reset, v)
    return NeuronState(v, i, z)


@dataclass(frozen=True)
class NirRecord:
    """What :func:`simulate_nir` records.

    Attributes:
        spikes: ``{layer: (B, T, n)}`` spikes of every spiking layer (0/1).
        v: ``{layer: (B, T, n)}`` membrane of every layer (after the reset).
        outputs: ``(B, T, n_outputs)`` the graph's output channels: spikes, or the
            membrane of an LI/CubaLI readout.
    """

    spikes: Dict[str, np.ndarray]
    v: Dict[str, np.ndarray]
    outputs: np.ndarray

    def counts(self, layer: str) -> np.ndarray:
        """``(n,)`` spikes of every neuron of ``layer``, summed over batch and time."""
        return self.spikes[layer].sum(axis=(0, 1))


def _as_input(x: Any, n_inputs: int) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] != n_inputs:
        raise ShapeError("x", f"(T, {n_inputs}) or (B, T, {n_inputs})", arr.shape)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ParameterValueError("x", "finite", arr, bad)
    return arr


def _current(network: NirNetwork, layer: Layer, x_t: np.ndarray, now: Dict[str, np.ndarray], last: Dict[str, np.ndarray]) -> np.ndarray:
    """``(B, n)`` input current of ``layer`` in this step."""
    u = np.broadcast_to(layer.bias, (x_t.shape[0], layer.size)).copy()
    for p in network.into(layer.name):
        if p.source == INPUT:
            u += x_t @ p.weight
        else:
            u += (last if network.delayed(p) else now)[p.source] @ p.weight
    return u


def simulate_nir(network: NirNetwork, x: Any) -> NirRecord:
    """Run a NIR network from rest on ``x`` with NIR's semantics (see the module docs).

    Args:
        network: the network (:func:`~.network.network_from_graph`).
        x: ``(B, T, n_inputs)`` or ``(T, n_inputs)`` input per step (spikes: 0/1), numpy
            or torch.

    Returns:
        The :class:`NirRecord`.

    Raises:
        ShapeError: ``x`` of the wrong shape.
        ParameterValueError: NaN or infinite input.
    """
    x = _as_input(x, network.n_inputs)
    B, T, _ = x.shape
    zeros = lambda l: np.zeros((B, l.size))
    states = {l.name: NeuronState(zeros(l), zeros(l), zeros(l)) for l in network.layers}
    v = {l.name: np.zeros((B, T, l.size)) for l in network.layers}
    spikes = {l.name: np.zeros((B, T, l.size)) for l in network.layers if l.spiking}
    out = lambda l, s: s.z if l.spiking else s.v  # what a layer passes on
    for t in range(T):
        last = {l.name: out(l, states[l.name]) for l in network.layers}
        now: Dict[str, np.ndarray] = {}
        for layer in network.layers:
            u = _current(network, layer, x[:, t], now, last)
            state = states[layer.name] = neuron_step(layer.params, states[layer.name], u, network.dt, network.reset)
            now[layer.name] = out(layer, state)
            v[layer.name][:, t] = state.v
            if layer.spiking:
                spikes[layer.name][:, t] = state.z
    channels = [(spikes[name] if name in spikes else v[name])[:, :, j] for name, j in network.outputs]
    outputs = np.stack(channels, axis=-1) if channels else np.zeros((B, T, 0))
    return NirRecord(spikes=spikes, v=v, outputs=outputs)
