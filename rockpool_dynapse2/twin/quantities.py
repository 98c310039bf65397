"""What a twin can know of a neuron: the fitted factors and the identifiable quantities.

**The fitted factors** (:data:`FIT_NAMES`, per neuron, on a log scale) are factors of a
:class:`~rockpool_dynapse2.hardware.ChipProfile`, chosen so that the twin *is* a profile:
the membrane's capacitance, leak, gain, DC, threshold and refractory currents, the slope
factor ``kappa`` (``kappa_n`` and ``kappa_p`` together), the leak of each synapse type and
each type's weight factor. Every other factor of the twin is 1: the dark current ``Io``
(spikes are unchanged when every current of a neuron is scaled together, so one current
must be fixed), ``Ut``, ``Vth``, the synapses' capacitances, gains and pulse widths, the
NMDA gate and the adaptation (off in the probe) are not fitted; their mismatch is absorbed
by the fitted factors where it matters for spikes.

**The identifiable quantities** (:func:`effective_quantities`), each a factor relative to
the ideal chip, defined once for a true profile and for a twin alike:

* time constants: ``tau_mem = Ut C_mem / (kappa Itau_mem)``, ``tau_<syn> = Ut C_<syn> /
  (kappa Itau_<syn>)`` for AMPA, NMDA, GABA, SHUNT, and the refractory period
  ``t_ref = C_ref Vth / Iref``;
* ``threshold``: the neuron's rheobase (the DC current at which it starts firing,
  :func:`rheobase_current`) in units of its own DC input ``Idc``;
* ``gain_<syn>``: the jump of a synaptic current per unit weight,
  ``(Igain / Itau) (t_pulse / tau) Iw = Igain kappa t_pulse Iw / (Ut C)``, in units of
  the rheobase.

Currents include their core's bias-generator gain (the weights the gain of the base weight
the probe's synapses use: ``SYAM_W0_P`` for AMPA and NMDA, ``SYAM_W1_P`` for GABA and SHUNT). Spikes cannot tell a threshold from an input
scale: only drives relative to the rheobase are identifiable, hence the units above.
"""

from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from ..chip import BIAS_PARAMETERS, SynapseType
from ..hardware.chip_profile import BIAS_NAMES, NEURON_FACTOR_NAMES, ChipProfile
from ..parameters.core import CoreParameters
from ..simulation.records import CURRENT_NAMES

__all__ = ["FIT_NAMES", "WEIGHT_NAMES", "PARAMETER_NAMES", "QUANTITY_NAMES", "effective_quantities", "rheobase_current"]

SYNAPSES: Tuple[str, ...] = tuple(s.label for s in SynapseType)

FIT_NAMES: Tuple[str, ...] = ("C_mem", "Itau_mem", "Igain_mem", "Idc", "Ispkthr", "kappa", "Iref") + tuple(f"Itau_{s}" for s in SYNAPSES)
"""The fitted neuron factors (``kappa``: ``kappa_n`` and ``kappa_p`` together)."""

WEIGHT_NAMES: Tuple[str, ...] = tuple(f"w_{s}" for s in SYNAPSES)
"""The fitted weight factors, one per synapse type."""

PARAMETER_NAMES: Tuple[str, ...] = FIT_NAMES + WEIGHT_NAMES
"""Every fitted log-factor, in the order of the fit's parameter arrays."""

QUANTITY_NAMES: Tuple[str, ...] = (
    ("tau_mem", "t_ref") + tuple(f"tau_{s}" for s in SYNAPSES) + ("threshold",) + tuple(f"gain_{s}" for s in SYNAPSES)
)
"""The identifiable quantities of :func:`effective_quantities`."""

_BIAS_OF_CURRENT = {p.current: p.name for p in BIAS_PARAMETERS}
_GRID = 400


def rheobase_current(Itau: np.ndarray, Igain: np.ndarray, Io: np.ndarray, kappa: np.ndarray, Ispkthr: np.ndarray) -> np.ndarray:
    """The DC current (A) above which a neuron without input fires, from the membrane's
    steady state (:mod:`~rockpool_dynapse2.simulation.membrane`, no AHP, no synaptic input).

    At rest the drive is ``Igain/Itau (Idc - 2 Itau) + Ifb(I) (I + Igain) / Itau - I`` with
    the positive feedback ``Ifb(I) = Io (I / Io)^(kappa / (kappa + 1))``; a fixed point below
    the threshold ``Ispkthr`` exists while ``Idc < 2 Itau + Itau/Igain max_I (I - Ifb(I)
    (I + Igain) / Itau)``, the maximum over ``Io <= I <= Ispkthr`` (a grid of 400 points
    per decade range). Arguments are ``(N,)`` arrays (A; ``kappa`` dimensionless), the
    leak and gain floored at ``Io`` as the simulator floors them.
    """
    Itau, Igain = np.maximum(Itau, Io), np.maximum(Igain, Io)
    u = np.linspace(0.0, 1.0, _GRID)[:, None]
    current = Io * (Ispkthr / Io) ** u
    feedback = Io * (current / Io) ** (kappa / (kappa + 1.0))
    return 2.0 * Itau + Itau / Igain * np.max(current - feedback * (current + Igain) / Itau, axis=0)


def _factors(profile: ChipProfile, places: Tuple[np.ndarray, ...]) -> Dict[str, np.ndarray]:
    """``{name: (N,)}``: every neuron factor, currents times their core's gain."""
    chips, cores, neurons = places
    f = {}
    for i, name in enumerate(NEURON_FACTOR_NAMES):
        f[name] = profile.neuron_factors[chips, cores, neurons, i]
        if name in CURRENT_NAMES:
            f[name] = f[name] * profile.bias_gain(_BIAS_OF_CURRENT[name])[chips, cores]
    for s, label in enumerate(SYNAPSES):
        base = "SYAM_W1_P" if s >= SynapseType.GABA else "SYAM_W0_P"
        f[f"w_{label}"] = profile.weight_factors[chips, cores, neurons, s] * profile.bias_gains[chips, cores, BIAS_NAMES.index(base)]
    return f


def _raw(profile: ChipProfile, places: Tuple[np.ndarray, ...], core: CoreParameters) -> Dict[str, np.ndarray]:
    """The identifiable quantities in their units (s, A, A/weight), before the ideal's division."""
    f = _factors(profile, places)
    c = core.constants
    kappa = (c.kappa_n * f["kappa_n"] + c.kappa_p * f["kappa_p"]) / 2.0
    ut, vth = c.Ut * f["Ut"], c.Vth * f["Vth"]
    cur = lambda name: getattr(core, name) * f[name]  # noqa: E731
    q = {
        "tau_mem": ut * c.C_mem * f["C_mem"] / (kappa * cur("Itau_mem")),
        "t_ref": c.C_ref * f["C_ref"] * vth / cur("Iref"),
    }
    for s in SYNAPSES:
        q[f"tau_{s}"] = ut * getattr(c, f"C_{s}") * f[f"C_{s}"] / (kappa * cur(f"Itau_{s}"))
    theta = rheobase_current(cur("Itau_mem"), cur("Igain_mem"), c.Io * f["Io"], kappa, cur("Ispkthr"))
    q["threshold"] = theta / cur("Idc")
    t_pulse = c.C_pulse * f["C_pulse"] * vth / cur("Ipulse")
    for s in SYNAPSES:
        jump = cur(f"Igain_{s}") * kappa * t_pulse / (ut * getattr(c, f"C_{s}") * f[f"C_{s}"])
        q[f"gain_{s}"] = jump * f[f"w_{s}"] / theta
    return q


def effective_quantities(profile: ChipProfile, addresses: Sequence[Tuple[int, int, int]], core: CoreParameters) -> Dict[str, np.ndarray]:
    """The identifiable quantities (:data:`QUANTITY_NAMES`, see the module docs) of the
    neurons at ``addresses`` (``(chip, core, neuron)``), each ``(N,)``, as factors of the
    ideal chip's at the operating point ``core`` (the probe's, with its DC input on).

    The same function gives the truth (a drawn profile) and the estimate (a twin's
    profile), so the twin's error on each is ``estimate / truth - 1``.
    """
    places = tuple(np.asarray(a, dtype=np.int64) for a in zip(*addresses))
    ideal = _raw(ChipProfile.ideal(), places, core)
    return {k: v / ideal[k] for k, v in _raw(profile, places, core).items()}
