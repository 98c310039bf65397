"""A :class:`~.read.RockpoolNetwork` -> the training library's :class:`~rockpool_dynapse2.training.ChipModel`.

* every ``DynapSim`` layer becomes a :class:`~rockpool_dynapse2.training.Population` on its
  own core(s); the input weights, each layer's recurrent weights and the linear layers
  between layers become projections, their non-zero weights the drawn synapses;
* each core's parameters are the median of its neurons' high-level values
  (:data:`HIGH_LEVEL_SOURCES`: time constants, pulse widths and gains computed with
  Rockpool's own capacitances, so they are kept as Rockpool simulated them), trained as
  the training library trains them;
* Rockpool's one merged synapse (``Itau_syn``, ``Igain_syn``, ``C_syn``) gives the AMPA
  and the GABA synapse its time constant and gain: a positive weight drives AMPA, a
  negative one GABA, as a CAM entry does.

:func:`inhibition_scale` measures how much of the inhibitory drive acted in Rockpool's
simulation (which sums a step's excitatory and inhibitory input before its one synapse,
so inhibition only cancels excitation of the same step), and :func:`scale_inhibition`
scales the negative weights by it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from ...errors import ParameterValueError
from ...parameters.core import CoreHighLevel
from ...training.constraints import DEFAULT_TRAINABLE
from ...training.layout import INPUT, Connectivity, NetworkLayout, Population, Projection
from ...training.model import ChipModel, TrainSettings
from .read import RockpoolNetwork

__all__ = [
    "HIGH_LEVEL_SOURCES",
    "FROM_NETWORK",
    "CoreValues",
    "core_values",
    "layout_of",
    "connections_of",
    "settings_of",
    "model_of",
    "params_of",
    "inhibition_scale",
    "scale_inhibition",
]

HIGH_LEVEL_SOURCES: Mapping[str, Tuple[str, str, Optional[str]]] = {
    "tau_mem": ("tau", "Itau_mem", "C_mem"),
    "tau_ampa": ("tau", "Itau_syn", "C_syn"),
    "tau_gaba": ("tau", "Itau_syn", "C_syn"),
    "tau_ahp": ("tau", "Itau_ahp", "C_ahp"),
    "t_pulse": ("pulse", "Ipulse", "C_pulse"),
    "t_pulse_ahp": ("pulse", "Ipulse_ahp", "C_pulse_ahp"),
    "t_ref": ("pulse", "Iref", "C_ref"),
    "gain_mem": ("gain", "Igain_mem", "Itau_mem"),
    "gain_ampa": ("gain", "Igain_syn", "Itau_syn"),
    "gain_gaba": ("gain", "Igain_syn", "Itau_syn"),
    "gain_ahp": ("gain", "Igain_ahp", "Itau_ahp"),
    "Idc": ("current", "Idc", None),
    "Ispkthr": ("current", "Ispkthr", None),
    "Iw_ahp": ("current", "Iw_ahp", None),
    "If_nmda": ("current", "If_nmda", None),
}
"""Each high-level quantity of a core (:class:`~rockpool_dynapse2.parameters.CoreHighLevel`)
that Rockpool's ``DynapSim`` sets: ``(kind, Rockpool current, capacitance or the leak
current of a gain)``. Time constants are ``Ut C / (kappa I)``, pulse widths ``Vth C / I``,
gains ``I / I_tau``, with the Rockpool module's own constants. The other quantities
(NMDA and SHUNT, which no signed weight drives, and the base weights, which quantization
sets) keep their defaults."""

FROM_NETWORK: Tuple[str, ...] = ("Iscale", "dt", "fixed")
"""Training settings the migration takes from the network (a caller cannot set them)."""

_RELATIVE_SAME = 1e-6


@dataclass
class CoreValues:
    """The high-level values of every core of a migrated network.

    Attributes:
        per_core: ``{quantity: (n_cores,)}`` each core's value (the median of its neurons').
        spread: ``{quantity: largest |value / core's value - 1| of a neuron}``.
        floored: ``{Rockpool current: neurons whose current was below Io}`` (raised to
            ``Io``, as Rockpool's simulation floors its leak and gain currents).
    """

    per_core: Dict[str, np.ndarray]
    spread: Dict[str, float]
    floored: Dict[str, int]

    def varying(self) -> Tuple[str, ...]:
        """Quantities whose value differs between cores."""
        return tuple(k for k, v in self.per_core.items() if np.ptp(v) > _RELATIVE_SAME * np.abs(v).max())


def neuron_values(net: RockpoolNetwork) -> Tuple[Dict[str, np.ndarray], Dict[str, int]]:
    """``({quantity: (N,)}, floored)``: every neuron's high-level values and, per Rockpool
    current, how many neurons had it below ``Io``."""
    cat = lambda key, table: np.concatenate([getattr(layer, table)[key] for layer in net.layers])
    io = cat("Io", "layout")
    currents = {k: np.maximum(cat(k, "currents"), io) for k in net.layers[0].currents}
    floored = {k: int((cat(k, "currents") < io).sum()) for k in currents}
    kappa = (cat("kappa_n", "layout") + cat("kappa_p", "layout")) / 2
    Ut, Vth = cat("Ut", "layout"), cat("Vth", "layout")
    values = {}
    for name, (kind, current, other) in HIGH_LEVEL_SOURCES.items():
        i = currents[current]
        if kind == "tau":
            values[name] = Ut / kappa * cat(other, "layout") / i
        elif kind == "pulse":
            values[name] = Vth * cat(other, "layout") / i
        elif kind == "gain":
            values[name] = i / currents[other]
        else:
            values[name] = i
    return values, {k: v for k, v in floored.items() if v}


def core_values(net: RockpoolNetwork, layout: NetworkLayout) -> CoreValues:
    """Each core's high-level values: the median of its neurons' (a core shares one set)."""
    values, floored = neuron_values(net)
    core = layout.core_of_neuron
    per_core, spread = {}, {}
    for name, v in values.items():
        medians = np.array([np.median(v[core == c]) for c in range(layout.n_cores)])
        per_core[name] = medians
        spread[name] = float(np.max(np.abs(v / medians[core] - 1.0)))
    return CoreValues(per_core, spread, floored)


def layout_of(net: RockpoolNetwork) -> NetworkLayout:
    """One population per layer; a projection wherever the network has a weight; the last
    layer is the output, one class per neuron."""
    names: List[str] = []
    for k, layer in enumerate(net.layers):
        name = layer.name if layer.name not in names and layer.name != INPUT else f"{layer.name}_{k}"
        names.append(name)
    pops = tuple(Population(name, layer.size) for name, layer in zip(names, net.layers))
    projs = [Projection(INPUT, name) for name, layer in zip(names, net.layers) if np.any(net.w_in[:, layer.neurons])]
    for a, src in zip(names, net.layers):
        projs += [Projection(a, b) for b, tgt in zip(names, net.layers) if np.any(net.w_rec[src.neurons, tgt.neurons])]
    return NetworkLayout(net.n_inputs, pops, tuple(projs), names[-1], net.layers[-1].size)


def connections_of(net: RockpoolNetwork, fan_in: int) -> Tuple[Connectivity, np.ndarray]:
    """The synapses: every non-zero weight, at most ``fan_in`` onto a neuron (the largest
    magnitudes kept).

    Returns:
        ``(connectivity, dropped)``: ``dropped`` ``(N,)`` synapses each neuron lost.
    """
    weights = np.concatenate([net.w_in, net.w_rec], axis=0)  # (C + N, N)
    keep = weights != 0
    dropped = np.maximum(keep.sum(0) - fan_in, 0)
    for j in np.flatnonzero(dropped):
        order = np.argsort(-np.abs(weights[:, j]), kind="stable")
        keep[order[fan_in:], j] = False
    keep = keep.astype(np.float32)
    return Connectivity(keep[: net.n_inputs], keep[net.n_inputs :]), dropped


def settings_of(net: RockpoolNetwork, values: CoreValues, overrides: Mapping[str, Any]) -> TrainSettings:
    """The training settings of a migrated network: its ``Iscale`` and ``dt``, its core
    quantities fixed where every core has the same value, trained where they differ."""
    for key in overrides:
        if key in FROM_NETWORK:
            raise ParameterValueError(f"settings[{key!r}]", "a TrainSettings field other than " + ", ".join(FROM_NETWORK)
                                      + " (the migration takes them from the network)", overrides[key])
    trainable = tuple(overrides.get("trainable", DEFAULT_TRAINABLE))
    trainable += tuple(k for k in values.varying() if k not in trainable)
    fixed = {k: float(v[0]) for k, v in values.per_core.items() if k not in trainable}
    return TrainSettings(**{**dict(overrides), "trainable": trainable, "fixed": fixed, "Iscale": net.Iscale, "dt": net.dt})


def model_of(net: RockpoolNetwork, overrides: Mapping[str, Any]) -> Tuple[ChipModel, CoreValues, np.ndarray]:
    """``(model, core values, synapses dropped per neuron)`` of a Rockpool network."""
    layout = layout_of(net)
    values = core_values(net, layout)
    connections, dropped = connections_of(net, layout.fan_in)
    return ChipModel(layout, settings_of(net, values, overrides), connections), values, dropped


def params_of(net: RockpoolNetwork, model: ChipModel, values: CoreValues) -> Dict[str, Any]:
    """The trained quantities that stand for the Rockpool network: its weights on the
    model's synapses, the log of each core's trained quantities."""
    defaults = {f.name: getattr(CoreHighLevel(), f.name) for f in fields(CoreHighLevel)}
    core = {k: np.log(values.per_core.get(k, np.full(model.n_cores, defaults[k]))).astype(np.float32)
            for k in model.settings.trainable}
    return {
        "w_in": (net.w_in * model.connections.input).astype(np.float32),
        "w_rec": (net.w_rec * model.connections.recurrent).astype(np.float32),
        "core": core,
    }


def inhibition_scale(net: RockpoolNetwork, x: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """``(N,)`` the fraction of each neuron's inhibitory drive that acted in Rockpool's
    simulation of inputs ``x`` ``(B, T, C)`` (its spikes ``(B, T, N)``).

    Rockpool sums a step's weighted input before its one synapse and floors the sum: a
    negative weight only cancels excitatory drive of the same step. Of the negative drive
    ``n`` and the positive drive ``p`` that reach a neuron in a step, ``min(p, n)`` acted;
    the fraction is ``sum min(p, n) / sum n`` (1 for a neuron without negative drive).
    Between layers, a step's spikes drive the next layer in the same step; within a layer,
    the recurrent weights act one step later (as in Rockpool).
    """
    x = np.asarray(x, dtype=np.float64)
    spikes = np.asarray(spikes, dtype=np.float64)
    previous = np.concatenate([np.zeros_like(spikes[:, :1]), spikes[:, :-1]], axis=1)
    same_layer = net.layer_of_neuron()[:, None] == net.layer_of_neuron()[None, :]
    source = lambda w: x @ w[0] + previous @ (w[1] * same_layer) + spikes @ (w[1] * ~same_layer)
    positive = source((np.maximum(net.w_in, 0), np.maximum(net.w_rec, 0)))
    negative = source((np.maximum(-net.w_in, 0), np.maximum(-net.w_rec, 0)))
    total = negative.sum((0, 1))
    acted = np.minimum(positive, negative).sum((0, 1))
    return np.where(total > 0, acted / np.where(total > 0, total, 1.0), 1.0)


def scale_inhibition(params: Mapping[str, Any], scale: np.ndarray) -> Dict[str, Any]:
    """The trained quantities with every negative weight onto neuron ``j`` times ``scale[j]``."""
    out = dict(params)
    for key in ("w_in", "w_rec"):
        w = np.asarray(params[key])
        out[key] = np.where(w < 0, w * scale[None, :], w).astype(np.float32)
    return out
