"""Rockpool LIF neurons -> DYNAP-SE2 neurons: the analytic conversion.

A Rockpool LIF neuron (``LIFJax``, ``LIFTorch``, NIR's CubaLIF) is a discrete-time model
in dimensionless units. Per step of ``dt``::

    i_syn <- beta  i_syn + sum of the weights of this step's input spikes
    v     <- alpha v + i_syn + bias                 (alpha = exp(-dt/tau_mem), beta = exp(-dt/tau_syn))
    n     =  floor(v / threshold)  spikes;  v <- v - n threshold

so a constant current ``I`` settles ``v`` at ``I / (1 - alpha)``, and the neuron fires iff
``I >= threshold (1 - alpha)``: its **rheobase** in LIF units. A DYNAP-SE2 neuron does the
same with currents, but its membrane is an exponential integrate-and-fire DPI, so its
threshold is not one current either: we measure its rheobase ``I_rh`` (amperes) — the
smallest constant input current that makes it fire — by simulation (:func:`rheobase`),
and equate the two rheobases. One LIF unit of current is then

    unit = I_rh / (threshold (1 - exp(-dt / tau_mem)))   amperes,

and the parameters map as

* ``tau_mem`` and ``tau_syn`` -> ``Itau_mem`` and ``Itau_ampa = Itau_gaba`` (the mean of a
  neuron's synaptic time constants when it has several); gains keep the default ratios;
* ``bias`` -> ``Idc = bias * unit`` (at least ``Io``);
* a weight ``w`` -> a DPI weight ``w * unit / (g (1 - exp(-t_pulse / tau_syn)) Iscale)``,
  so one input spike raises the synaptic current by ``w`` LIF units of current, as in the
  LIF model (``g`` is the synaptic gain ratio); positive weights drive AMPA, negative GABA;
* the LIF neuron has no refractory period; the DPI's shortest is one step (any
  ``t_ref > 0`` blocks the next step), so ``t_ref = dt / 2``: exactly one step, robust
  to rounding.

Equal rheobases make the two neurons agree on *which* inputs make them fire, not on *how
often*: above rheobase the LIF's rate grows linearly with its input (several spikes per
step when ``v`` exceeds several thresholds), the DPI's at most logarithmically (see
:mod:`.calibrate`). :func:`~.calibrate.calibrate_to_reference` then fits a weight scale
and a spiking threshold per layer to the LIF network's spike counts.
"""

from __future__ import annotations

import functools
from typing import Tuple

import numpy as np

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY, PulseCircuit
from ..parameters.convert import ipulse_from_pulse_width, itau_from_tau, tau_from_itau
from ..parameters.core import CoreParameters
from ..simulation.records import CURRENT_NAMES
from .neuron_group import SIGNED_INPUT, NeuronGroup

__all__ = ["lif_group", "rheobase", "core_rheobase", "lif_rheobase"]

_RHEOBASE_STEPS = 5000  # near rheobase the first spike comes late: 400 steps overestimate it by 20 %, 5000 by 0.2 %
_RHEOBASE_LEVELS = 96


@functools.lru_cache(maxsize=1 << 16)
def rheobase(tau_mem: float, tau_syn: float, dt: float) -> float:
    """Smallest constant input current (A) that makes a DYNAP-SE2 neuron fire.

    Cached per ``(tau_mem, tau_syn, dt)`` (about half a second of simulation each), with room for
    every distinct pair of a large network: mapping it again (as the calibration's check
    of its reference network does) then costs no simulation.

    Simulates ``_RHEOBASE_LEVELS`` neurons with log-spaced ``Idc`` between 0.1 pA and
    1 uA for ``_RHEOBASE_STEPS`` steps (at least ``250 tau_mem``: close to rheobase the
    first spike comes late), then refines between the last silent and the first firing
    level on a grid of the same size.

    Args:
        tau_mem: membrane time constant (s).
        tau_syn: synaptic time constant (s) (it does not affect the rheobase, but keeps
            the neuron's other parameters those of the mapped neuron).
        dt: time step (s).
    """
    core = CoreParameters.from_high_level(tau_mem=tau_mem, tau_ampa=tau_syn, tau_gaba=tau_syn)
    return _fires_from(core, dt, max(_RHEOBASE_STEPS, int(np.ceil(250 * tau_mem / dt))))


@functools.lru_cache(maxsize=256)
def core_rheobase(core: CoreParameters, dt: float) -> float:
    """Smallest DC current (A) that makes a neuron of ``core`` fire, by simulation.

    As :func:`rheobase`, but with every current of the core (threshold, gains, refractory
    period), not only its time constants.
    """
    tau_mem = tau_from_itau(core.Itau_mem, "mem", core.constants)
    return _fires_from(core, dt, max(_RHEOBASE_STEPS, int(np.ceil(250 * tau_mem / dt))))


def _fires_from(core: CoreParameters, dt: float, steps: int) -> float:
    """The rheobase search: ``_RHEOBASE_LEVELS`` log-spaced ``Idc`` from 0.1 pA to 1 uA for
    ``steps`` steps, then a grid of the same size between the last silent and the first
    firing level."""
    from ..simulation.jax_module import DynapSimJax

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
    fine = np.geomspace(levels[k - 1], levels[k], _RHEOBASE_LEVELS)
    return float(fine[int(np.argmax(fires(fine)))])


def lif_rheobase(threshold: np.ndarray, tau_mem: np.ndarray, dt: float) -> np.ndarray:
    """Smallest constant current (LIF units) that makes a Rockpool LIF neuron fire:
    ``threshold * (1 - exp(-dt / tau_mem))`` (the membrane settles at ``I / (1 - alpha)``).

    Args:
        threshold: ``(n,)`` firing thresholds (LIF units).
        tau_mem: ``(n,)`` membrane time constants (s).
        dt: time step (s).
    """
    return np.asarray(threshold, dtype=np.float64) * -np.expm1(-dt / np.asarray(tau_mem, dtype=np.float64))


def _per_neuron(x: object, n: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 1:
        return np.full(n, float(arr.ravel()[0]))
    return arr.reshape(n, -1).mean(axis=1) if arr.size != n else arr.reshape(n)


def lif_group(mod: object, Iscale: float) -> NeuronGroup:
    """The :class:`~.neuron_group.NeuronGroup` of a Rockpool ``LIFNeuronWithSynsRealValue`` graph module."""
    n_in, n = len(mod.input_nodes), len(mod.output_nodes)
    dt = float(mod.dt) if mod.dt is not None else 1e-3
    tau_mem = _per_neuron(mod.tau_mem, n)
    tau_syn = _per_neuron(mod.tau_syn, n)
    threshold = _per_neuron(mod.threshold if np.size(mod.threshold) else 1.0, n)
    bias = _per_neuron(mod.bias if np.size(mod.bias) else 0.0, n)

    default = CoreParameters()
    currents = {k: np.full(n, getattr(default, k)) for k in CURRENT_NAMES}
    # Amperes per LIF unit of current, per neuron: the two rheobases agree.
    dpi_rheobase = np.empty(n)
    pairs: Tuple = tuple(zip(tau_mem.round(12), tau_syn.round(12)))
    for tm, ts in set(pairs):
        sel = np.array([p == (tm, ts) for p in pairs])
        dpi_rheobase[sel] = rheobase(float(tm), float(ts), dt)
    unit = dpi_rheobase / lif_rheobase(threshold, tau_mem, dt)
    gain = default.Igain_ampa / default.Itau_ampa
    currents["Itau_mem"] = itau_from_tau(tau_mem, "mem")
    for syn in (SIGNED_EXCITATORY.label, SIGNED_INHIBITORY.label):  # the synapses of signed inputs
        currents[f"Itau_{syn}"] = itau_from_tau(tau_syn, syn)
        currents[f"Igain_{syn}"] = currents[f"Itau_{syn}"] * gain
    currents["Igain_mem"] = currents["Itau_mem"] * (default.Igain_mem / default.Itau_mem)
    currents["Idc"] = np.maximum(bias * unit, default.constants.Io)
    currents["Iref"] = np.full(n, ipulse_from_pulse_width(dt / 2, PulseCircuit.REF, default.constants))

    # One input spike of weight w must raise the synaptic current by w * unit amperes.
    t_pulse = default.constants.Vth * default.constants.C_pulse / default.Ipulse
    charge = 1.0 - np.exp(-t_pulse / tau_syn)
    per_neuron_scale = unit / (gain * charge * Iscale)
    n_syn = max(1, n_in // n)
    return NeuronGroup(
        module=mod,
        currents=currents,
        weight_scale=per_neuron_scale,
        synapse_of_input=np.full(n_in, SIGNED_INPUT),
        neuron_of_input=np.arange(n_in) // n_syn,
        dt=dt,
    )
