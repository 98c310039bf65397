"""Rockpool LIF neurons -> DYNAP-SE2 neurons.

A Rockpool LIF neuron (``LIFJax``, ``LIFTorch``, NIR's CubaLIF) integrates a synaptic
current ``i_syn`` (jumps by the weight ``w`` at each input spike, decays with
``tau_syn``) plus a bias on a membrane with ``tau_mem``, and fires when the membrane
reaches ``threshold``; all in dimensionless units. A DYNAP-SE2 neuron does the same with
currents, but its membrane is an exponential integrate-and-fire DPI, so "threshold" is
not a single current: we measure the neuron's **rheobase** ``I_rh`` — the smallest
constant input current that makes it fire — by simulation, and map one LIF unit of
current to ``I_rh / threshold`` amperes:

* ``tau_mem`` and ``tau_syn`` -> ``Itau_mem`` and ``Itau_ampa = Itau_gaba`` (the mean of a
  neuron's synaptic time constants when it has several);
* ``bias`` -> ``Idc = bias * I_rh / threshold`` (at least ``Io``);
* a weight ``w`` -> a DPI weight ``w * I_rh / threshold / (g (1 - exp(-t_pulse / tau_syn)) Iscale)``,
  so one input spike raises the synaptic current by ``w`` LIF units, as in the LIF model
  (``g`` is the synaptic gain ratio);
* positive weights drive AMPA, negative GABA.

Everything else takes the chip's default operating point. :func:`calibrate_lif_spec`
(in :mod:`.calibrate`) then fits one weight scale per layer to the LIF network's spike
counts on a calibration input.
"""

from __future__ import annotations

import functools
from typing import Tuple

import numpy as np

from ..parameters.convert import itau_from_tau
from ..parameters.core import CoreParameters
from ..simulation.records import CURRENT_NAMES
from .mapper import NeuronGroup

__all__ = ["lif_group", "rheobase"]

_RHEOBASE_STEPS = 400
_RHEOBASE_LEVELS = 96


@functools.lru_cache(maxsize=64)
def rheobase(tau_mem: float, tau_syn: float, dt: float) -> float:
    """Smallest constant input current (A) that makes a DYNAP-SE2 neuron fire.

    Simulates ``_RHEOBASE_LEVELS`` neurons with log-spaced ``Idc`` between 0.1 pA and
    1 uA for ``_RHEOBASE_STEPS`` steps, then bisects between the last silent and the first
    firing level.

    Args:
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant (s) (it does not affect the rheobase, but keeps
            the neuron's other parameters those of the mapped neuron).
        dt: time step (s).
    """
    from ..simulation.jax_module import DynapSimJax

    core = CoreParameters.from_high_level(tau_mem=tau_mem, tau_ampa=tau_syn, tau_gaba=tau_syn)
    steps = max(_RHEOBASE_STEPS, int(np.ceil(20 * tau_mem / dt)))

    def fires(levels: np.ndarray) -> np.ndarray:
        mod = DynapSimJax((levels.size,), core=core, dt=dt, Idc=levels)
        out, _, _ = mod(np.zeros((1, steps, levels.size), dtype=np.float32))
        return np.asarray(out).sum(axis=(0, 1)) > 0

    levels = np.geomspace(1e-13, 1e-6, _RHEOBASE_LEVELS)
    fired = fires(levels)
    if not fired.any():
        return float(levels[-1])
    k = int(np.argmax(fired))
    if k == 0:
        return float(levels[0])
    lo, hi = levels[k - 1], levels[k]
    fine = np.geomspace(lo, hi, _RHEOBASE_LEVELS)
    return float(fine[int(np.argmax(fires(fine)))])


def _per_neuron(x: object, n: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 1:
        return np.full(n, float(arr.ravel()[0]))
    return arr.reshape(n, -1).mean(axis=1) if arr.size != n else arr.reshape(n)


def lif_group(mod: object, Iscale: float) -> NeuronGroup:
    """The :class:`~.mapper.NeuronGroup` of a Rockpool ``LIFNeuronWithSynsRealValue`` graph module."""
    n_in, n = len(mod.input_nodes), len(mod.output_nodes)
    dt = float(mod.dt) if mod.dt is not None else 1e-3
    tau_mem = _per_neuron(mod.tau_mem, n)
    tau_syn = _per_neuron(mod.tau_syn, n)
    threshold = _per_neuron(mod.threshold if np.size(mod.threshold) else 1.0, n)
    bias = _per_neuron(mod.bias if np.size(mod.bias) else 0.0, n)

    default = CoreParameters()
    currents = {k: np.full(n, getattr(default, k)) for k in CURRENT_NAMES}
    unit = np.empty(n)  # amperes per LIF unit of current, per neuron
    pairs: Tuple = tuple(zip(tau_mem.round(12), tau_syn.round(12)))
    for tm, ts in set(pairs):
        sel = np.array([p == (tm, ts) for p in pairs])
        unit[sel] = rheobase(float(tm), float(ts), dt) / threshold[sel]
    currents["Itau_mem"] = itau_from_tau(tau_mem, "mem")
    for syn in ("ampa", "gaba"):
        currents[f"Itau_{syn}"] = itau_from_tau(tau_syn, syn)
        currents[f"Igain_{syn}"] = currents[f"Itau_{syn}"] * (default.Igain_ampa / default.Itau_ampa)
    currents["Igain_mem"] = currents["Itau_mem"] * (default.Igain_mem / default.Itau_mem)
    currents["Idc"] = np.maximum(bias * unit, default.constants.Io)

    # One input spike of weight w must raise the synaptic current by w * unit amperes.
    gain = default.Igain_ampa / default.Itau_ampa
    t_pulse = default.constants.Vth * default.constants.C_pulse / default.Ipulse
    charge = 1.0 - np.exp(-t_pulse / tau_syn)
    per_neuron_scale = unit / (gain * charge * Iscale)
    n_syn = max(1, n_in // n)
    return NeuronGroup(
        module=mod,
        currents=currents,
        weight_scale=per_neuron_scale,
        synapse_of_input=np.full(n_in, -1),
        neuron_of_input=np.arange(n_in) // n_syn,
        dt=dt,
    )
