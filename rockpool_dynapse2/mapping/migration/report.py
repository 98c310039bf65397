"""Where Rockpool's ``DynapSim`` and this package's simulation differ for one network.

:class:`MigrationReport` is what :func:`~.migrate.migrate` found: the signs of the weights
(:class:`WeightSigns`), what each difference means for this network (:class:`Finding`),
and, given inputs, the behaviour of both simulations on them (:class:`Behaviour`).
``print(report)`` shows it as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ...chip import CONSTANTS
from ...parameters.biasgen import current_range
from .convert import CoreValues
from .read import RockpoolNetwork

__all__ = ["Finding", "WeightSigns", "Behaviour", "MigrationReport", "weight_signs", "static_findings", "chip_findings"]

_MATTERS = 1e-3
_CLIPPED = 0.1
"""A current this far outside its branch's range is reported as clipped (the default
``If_nmda`` of ``Io``, 0.5 pA, is 4 % below the smallest current its branch makes)."""


@dataclass(frozen=True)
class Finding:
    """One difference between the two simulations, for this network.

    Attributes:
        topic: what differs (``"negative weights"``, ``"merged synapse"``, ...).
        text: what it is and what the migration did about it.
    """

    topic: str
    text: str


@dataclass(frozen=True)
class WeightSigns:
    """The signs of one block of weights.

    Attributes:
        block: ``"input -> <layer>"`` or ``"<layer> -> <layer>"``.
        negative: negative weights.
        nonzero: non-zero weights.
        negative_share: the negative weights' share of the block's summed magnitude.
    """

    block: str
    negative: int
    nonzero: int
    negative_share: float


@dataclass
class Behaviour:
    """Spike counts ``(B, n_outputs)`` of the output layer on the inputs given, and the
    predicted classes (the neuron that fires most; -1 for a tie).

    Attributes:
        rockpool: Rockpool's simulation of the network.
        ours: this package's simulation of the same currents and weights (no bias codes,
            no weight quantization): the simulators' difference alone.
        chip: the same on the chip (the settings' bias codes and weight levels).
        migrated: the migrated network on the chip (negative weights scaled, if asked).
        rockpool_without_inhibition: Rockpool's, with every negative weight removed.
        ours_without_inhibition: ours (as :attr:`ours`), with every negative weight removed.
        most_spikes_per_step: the most spikes a neuron emitted in one step in Rockpool's
            simulation (it has no limit; the chip's model has ``max_spikes``).
    """

    rockpool: np.ndarray
    ours: np.ndarray
    chip: np.ndarray
    migrated: np.ndarray
    rockpool_without_inhibition: np.ndarray
    ours_without_inhibition: np.ndarray
    most_spikes_per_step: float

    @staticmethod
    def classes(counts: np.ndarray) -> np.ndarray:
        """``(B,)`` the neuron of most spikes per sample, -1 where tied."""
        counts = np.asarray(counts)
        tied = (counts == counts.max(1, keepdims=True)).sum(1) > 1
        return np.where(tied, -1, counts.argmax(1))

    def agreement(self, name: str) -> float:
        """Fraction of samples where simulation ``name`` predicts Rockpool's class."""
        return float((self.classes(getattr(self, name)) == self.classes(self.rockpool)).mean())


@dataclass
class MigrationReport:
    """What the migration of a Rockpool ``DynapSim`` network found.

    Attributes:
        findings: every difference that applies to this network, with what was done.
        weight_signs: the signs of every block of weights.
        inhibition_acted: ``(N,)`` the fraction of each neuron's inhibitory drive that acted
            in Rockpool's simulation of the inputs (see
            :func:`~.convert.inhibition_scale`); None without inputs.
        behaviour: both simulations on the inputs; None without inputs.
    """

    findings: List[Finding] = field(default_factory=list)
    weight_signs: List[WeightSigns] = field(default_factory=list)
    inhibition_acted: Optional[np.ndarray] = None
    behaviour: Optional[Behaviour] = None

    def topics(self) -> Tuple[str, ...]:
        return tuple(f.topic for f in self.findings)

    def text(self) -> str:
        """The report as text."""
        lines = ["Migration of a Rockpool DynapSim network", "", "Weights:"]
        for s in self.weight_signs:
            lines.append(f"  {s.block}: {s.negative} of {s.nonzero} negative ({s.negative_share:.0%} of the magnitude)")
        lines += ["", "Differences:"] + [f"  [{f.topic}] {f.text}" for f in self.findings]
        if self.behaviour is None:
            lines += ["", "No inputs given: pass inputs= to measure what the differences do on them."]
            return "\n".join(lines)
        b = self.behaviour
        lines += ["", "Output spike counts on the inputs (per sample) and agreement of the classes with Rockpool's:"]
        for name in ("rockpool", "ours", "chip", "migrated", "rockpool_without_inhibition", "ours_without_inhibition"):
            counts = np.asarray(getattr(b, name)).astype(int).tolist()
            lines.append(f"  {name:28s} {counts}  classes {b.classes(getattr(b, name)).tolist()} ({b.agreement(name):.0%})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def weight_signs(net: RockpoolNetwork) -> List[WeightSigns]:
    """The signs of the input weights onto each layer and of every block between layers."""
    blocks = [(f"input -> {layer.name}", net.w_in[:, layer.neurons]) for layer in net.layers]
    blocks += [(f"{a.name} -> {b.name}", net.w_rec[a.neurons, b.neurons]) for a in net.layers for b in net.layers]
    out = []
    for name, w in blocks:
        if not np.any(w):
            continue
        share = float(np.abs(np.minimum(w, 0)).sum() / np.abs(w).sum())
        out.append(WeightSigns(name, int((w < 0).sum()), int((w != 0).sum()), share))
    return out


def static_findings(net: RockpoolNetwork, model: Any, values: CoreValues, dropped: np.ndarray) -> List[Finding]:
    """The differences that follow from the network alone, before any input."""
    out = ([_inhibition_finding(net)] if (net.w_in < 0).any() or (net.w_rec < 0).any() else [])
    out.append(_merged_synapse_finding(net, values))
    out += _spread_findings(values) + _layout_findings(net)
    if len(net.layers) > 1:
        out.append(Finding("timing between layers", (
            "Rockpool's Sequential passes a layer's spikes to the next layer in the same time step; on the chip "
            "every synapse between neurons takes one step, as here: each layer adds one step of latency.")))
    if dropped.any():
        out.append(Finding("fan-in", (
            f"{int((dropped > 0).sum())} neuron(s) receive more than {model.layout.fan_in} synapses (a neuron has "
            f"{model.layout.fan_in} CAM entries); the largest magnitudes are kept, {int(dropped.sum())} synapses dropped.")))
    if values.floored:
        out.append(Finding("currents below Io", (
            "raised to Io (as Rockpool's simulation floors leak and gain currents): "
            + ", ".join(f"{k} of {n} neuron(s)" for k, n in values.floored.items()))))
    if any(abs(layer.Iscale / net.Iscale - 1) > _MATTERS for layer in net.layers):
        out.append(Finding("Iscale", f"the layers have different Iscale; every weight is in units of the first layer's, {net.Iscale:.3g} A."))
    return out


def _inhibition_finding(net: RockpoolNetwork) -> Finding:
    negative = int((net.w_in < 0).sum() + (net.w_rec < 0).sum())
    total = int((net.w_in != 0).sum() + (net.w_rec != 0).sum())
    return Finding("negative weights", (
        f"{negative} of {total} weights are negative. Rockpool sums a step's signed input before its one synapse and "
        "floors the sum, so a negative weight only cancels excitation of the same step and never charges a synapse. "
        "On the chip (and here) it is a GABA synapse: it inhibits for its time constant and adds up over steps, "
        "whatever excites the neuron."))


def _merged_synapse_finding(net: RockpoolNetwork, values: CoreValues) -> Finding:
    tau = values.per_core["tau_ampa"]
    gain = values.per_core["gain_ampa"]
    return Finding("merged synapse", (
        f"Rockpool's one synapse (tau_syn {_span(tau * 1e3)} ms, gain {_span(gain)}) becomes the AMPA synapse for "
        "positive weights and the GABA synapse for negative ones, both with its time constant and gain. NMDA and "
        "SHUNT receive nothing and keep their defaults."))


def _spread_findings(values: CoreValues) -> List[Finding]:
    spread = {k: v for k, v in values.spread.items() if v > _MATTERS}
    if not spread:
        return []
    worst = ", ".join(f"{k} {v:.1%}" for k, v in sorted(spread.items(), key=lambda kv: -kv[1]))
    return [Finding("per-neuron currents", (
        "Rockpool gave neurons of one core different currents (e.g. frozen mismatch); a core shares one parameter "
        f"set, so each core takes its neurons' median. Largest deviation from it: {worst}."))]


def _layout_findings(net: RockpoolNetwork) -> List[Finding]:
    ours = {"C_syn": CONSTANTS.C_ampa, **{k: getattr(CONSTANTS, k) for k in net.layers[0].layout if k != "C_syn"}}
    differ = []
    for key, value in ours.items():
        theirs = np.concatenate([layer.layout[key] for layer in net.layers])
        if np.max(np.abs(theirs / value - 1)) > _MATTERS:
            differ.append(f"{key} {_span(theirs)} (chip model {value:.4g})")
    if not differ:
        return []
    return [Finding("layout constants", (
        "time constants, pulse widths and gains are carried over as Rockpool's constants give them; the chip model's "
        "own constants differ: " + "; ".join(differ) + "."))]


def chip_findings(model: Any, params: Dict[str, Any]) -> List[Finding]:
    """What the chip's bias codes and 16 weight levels per core change (the settings' ``snap_codes``, ``quantize``)."""
    from ...training.constraints import jax_ops

    ops = jax_ops()
    exact = model.chip_view(ops, params, quantize=False, snap=False)
    chip = model.chip_view(ops, params)
    out = []
    if model.settings.snap_codes:
        change = {k: float(np.max(np.abs(np.asarray(chip.currents[k]) / np.asarray(exact.currents[k]) - 1)))
                  for k in exact.currents}
        name = max(change, key=change.get)
        out.append(Finding("bias codes", f"each current on its nearest bias code: largest change {change[name]:.1%} ({name})."))
        out += _range_findings(exact.currents)
    if model.settings.quantize:
        out += _base_weight_findings(model, exact)
        w = np.concatenate([np.asarray(exact.w_in), np.asarray(exact.w_rec)]).ravel()
        q = np.concatenate([np.asarray(chip.w_in), np.asarray(chip.w_rec)]).ravel()
        err = float(np.abs(q - w).sum() / max(np.abs(w).sum(), 1e-30))
        out.append(Finding("weight levels", (
            f"every weight on one of its core's 16 levels (4 base weights): summed error {err:.1%} of the summed "
            f"magnitude; {int(((q == 0) & (w != 0)).sum())} weight(s) rounded to 0.")))
    return out


def _base_weight_findings(model: Any, exact: Any) -> List[Finding]:
    """The base weights each core needs (its largest weight / 15 times 1, 2, 4, 8), against
    the range of their bias branch."""
    from ...training.constraints import BASE_CURRENTS, WEIGHT_LEVELS

    per_target = np.max(np.abs(np.concatenate([np.asarray(exact.w_in), np.asarray(exact.w_rec)])), axis=0)
    largest = np.array([per_target[model.core_of_neuron == c].max() for c in range(model.n_cores)])
    bases = largest[:, None] / WEIGHT_LEVELS * 2.0 ** np.arange(len(BASE_CURRENTS)) * model.settings.Iscale
    found = _range_findings({name: bases[:, k] for k, name in enumerate(BASE_CURRENTS) if largest.any()})
    return [Finding("base weights", f.text) for f in found]


def _range_findings(currents: Dict[str, Any]) -> List[Finding]:
    outside = []
    for name, value in currents.items():
        low, high = current_range(name)
        v = np.asarray(value)
        if np.any((v < low * (1 - _CLIPPED)) | (v > high * (1 + _CLIPPED))):
            outside.append(f"{name} {_span(v)} A (range {low:.3g}..{high:.3g} A)")
    if not outside:
        return []
    return [Finding("current range", "outside its bias generator's range, clipped to it: " + "; ".join(outside) + ".")]


def _span(values: Any) -> str:
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = float(v.min()), float(v.max())
    return f"{lo:.4g}" if abs(hi - lo) <= _MATTERS * max(abs(hi), 1e-300) else f"{lo:.4g}..{hi:.4g}"

