"""Results of the LIF calibration: per-layer and overall agreement, as frozen records."""

from __future__ import annotations

import re
from ...errors import CalibrationError
from dataclasses import dataclass
from typing import Tuple


__all__ = ["CalibrationError", "LayerCalibration", "CalibrationReport", "relative_error", "short_name"]


def short_name(name: str) -> str:
    """``"1_LIFJax"`` from a graph module name ``"LIFJax_'1_LIFJax'_140..."``."""
    m = re.search(r"'(.+)'", name)
    return (m.group(1) if m else name)[:16]


def relative_error(achieved: float, target: float) -> float:
    """``(achieved - target) / target`` (a target below 1 counts as 1)."""
    return (achieved - target) / max(target, 1.0)


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerCalibration:
    """How one layer was calibrated and how well it agrees with the reference.

    Attributes:
        layer: index into ``spec.names``.
        name: the layer's name.
        n_neurons: neurons in the layer.
        target: the reference's spike count of the layer on the calibration input.
        achieved: the calibrated spec's count (the whole network simulated).
        correlation: Pearson correlation of the per-neuron counts (NaN for fewer than 3
            neurons or constant counts).
        neuron_error: ``sum |achieved_i - target_i| / sum target_i`` over the neurons.
        Ispkthr: the layer's spiking threshold (A).
        drive_scale: the fitted factor on the layer's synaptic drive (weights x gains),
            relative to the analytic conversion.
        gain_scale: the part of it on the synaptic gains ``Igain_*`` of the layer's cores
            (the rest is on the weights).
        neuron_scale_range: ``(min, max)`` of the per-neuron factors on top of
            ``drive_scale``; ``(1, 1)`` without per-neuron refinement.
    """

    layer: int
    name: str
    n_neurons: int
    target: float
    achieved: float
    correlation: float
    neuron_error: float
    Ispkthr: float
    drive_scale: float
    gain_scale: float
    neuron_scale_range: Tuple[float, float] = (1.0, 1.0)

    @property
    def relative_error(self) -> float:
        """``(achieved - target) / target`` (the target floored at one spike)."""
        return relative_error(self.achieved, self.target)


PER_NEURON_MIN_STEPS = 1600
"""Calibration input (samples x steps) below which per-neuron scales are warned about: on
400 steps they fitted one batch's noise (a held-out correlation of 0.87 where 1600 steps
gave 0.97-0.99; ``docs/lif_conversion.md``)."""


@dataclass(frozen=True)
class CalibrationReport:
    """Agreement of a calibrated spec with its reference, per layer and overall.

    Attributes:
        layers: one :class:`LayerCalibration` per calibrated layer.
        correlation: per-neuron count correlation over all calibrated neurons.
        uncalibrated_total: the calibrated layers' spike count before calibration.
        input_shape: ``(B, T, n_inputs)`` of the calibration input.
        per_neuron: whether per-neuron scales were fitted.
        n_cores: cores of the calibrated spec.
        seconds: wall-clock time of the calibration.
    """

    layers: Tuple[LayerCalibration, ...]
    correlation: float
    uncalibrated_total: float
    input_shape: Tuple[int, int, int]
    per_neuron: bool
    n_cores: int
    seconds: float

    @property
    def target(self) -> float:
        """Total reference spike count of the calibrated layers."""
        return float(sum(l.target for l in self.layers))

    @property
    def achieved(self) -> float:
        """Total spike count of the calibrated layers after calibration."""
        return float(sum(l.achieved for l in self.layers))

    @property
    def relative_error(self) -> float:
        return relative_error(self.achieved, self.target)

    @property
    def warnings(self) -> Tuple[str, ...]:
        """What the figures above do not show: per-neuron scales fitted on short input."""
        B, T, _ = self.input_shape
        if self.per_neuron and B * T < PER_NEURON_MIN_STEPS:
            return (f"per-neuron scales were fitted on {B * T} steps of input (fewer than {PER_NEURON_MIN_STEPS}): "
                    "they may fit this input's noise and agree less on other input; give a longer calibration input",)
        return ()

    def __str__(self) -> str:
        head = (
            f"{'layer':<16} {'neurons':>7} {'target':>9} {'achieved':>9} {'error':>7} {'corr':>6} "
            f"{'nrn err':>7} {'Ispkthr':>8} {'drive':>8} {'gain':>6}"
        )
        rows = [head, "-" * len(head)]
        for l in self.layers:
            lo, hi = l.neuron_scale_range
            rows.append(
                f"{short_name(l.name):<16} {l.n_neurons:>7d} {l.target:>9.0f} {l.achieved:>9.0f} "
                f"{l.relative_error:>+7.1%} {l.correlation:>6.3f} {l.neuron_error:>7.1%} {l.Ispkthr:>8.1e} "
                f"{l.drive_scale:>8.3g} {l.gain_scale:>6.3g}"
                + (f"  per neuron x{lo:.2g}..{hi:.2g}" if self.per_neuron else "")
            )
        rows.append("-" * len(head))
        n = sum(l.n_neurons for l in self.layers)
        rows.append(
            f"{'total':<16} {n:>7d} {self.target:>9.0f} {self.achieved:>9.0f} "
            f"{self.relative_error:>+7.1%} {self.correlation:>6.3f}"
        )
        B, T, _ = self.input_shape
        rows.append(
            f"before calibration: {self.uncalibrated_total:.0f} spikes; input {B} x {T} steps; "
            f"{self.n_cores} cores; {self.seconds:.1f} s"
        )
        rows += [f"warning: {w}" for w in self.warnings]
        return "\n".join(rows)
