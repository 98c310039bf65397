"""Quantizing a network spec to what the chip can express.

:func:`quantize_spec` makes a spec *chip-exact*:

1. per logical core, the magnitudes of every synapse onto the core's neurons (input and
   recurrent together) are quantized to 4 base weights and 4-bit masks
   (:func:`~rockpool_dynapse2.transform.quantize_magnitudes`);
2. each base weight is snapped to a current the bias generator can produce
   (``SYAM_W0_P`` ... ``SYAM_W3_P``) and the masks are reassigned to the nearest level of
   the snapped bases; synapses whose mask is 0 are dropped (they would waste CAM entries);
3. every core current is snapped to its nearest bias code (:meth:`CoreParameters.quantized`).

The result simulates exactly as the configuration built from it (weights from masks
and bases, currents from codes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from ..parameters.biasgen import code_from_current, current_from_code, current_range
from ..transform.quantization import quantize_magnitudes
from ..parameters.validate import instance, seed as check_seed
from .network_spec import BASE_WEIGHT_BIASES, NetworkSpec, Synapses, level_table

__all__ = ["QuantizationReport", "quantize_spec"]


@dataclass(frozen=True)
class QuantizationReport:
    """How far the quantized weights are from the float ones.

    Attributes:
        core_error: ``(n_cores,)`` relative Frobenius error of each core's synapse weights
            (after snapping the bases to bias codes).
        core_lower_bound: ``(n_cores,)`` error of the best 16-level quantizer (a bound no
            choice of bases can beat).
        error: relative Frobenius error over all synapses.
        dropped_synapses: the synapses quantized to 0 and removed (``dropped`` counts them),
            each as ``(table, source, target, weight)``: ``table`` ``"input"`` or
            ``"recurrent"``, ``source`` the input channel or neuron, ``target`` the neuron,
            ``weight`` its float weight (units of ``Iscale``). Nothing is removed without
            being listed here.
    """

    core_error: np.ndarray
    core_lower_bound: np.ndarray
    error: float
    dropped_synapses: Tuple[Tuple[str, int, int, float], ...] = ()

    @property
    def dropped(self) -> int:
        """How many synapses were quantized to 0 and removed."""
        return len(self.dropped_synapses)

    def __str__(self) -> str:
        rows = [f"core {c}: error {e:.2%} (16-level bound {b:.2%})" for c, (e, b) in enumerate(zip(self.core_error, self.core_lower_bound))]
        listed = [f"  dropped {t} synapse {src} -> {dst} (weight {w:.3g})" for t, src, dst, w in self.dropped_synapses[:20]]
        if self.dropped > len(listed):
            listed.append(f"  ... and {self.dropped - len(listed)} more (QuantizationReport.dropped_synapses lists them all)")
        return "\n".join(rows + [f"overall: {self.error:.2%}; synapses dropped (quantized to 0): {self.dropped}"] + listed)


def _snap_bases(bases: np.ndarray, Iscale: float) -> np.ndarray:
    """Bases (units of ``Iscale``) moved to currents the bias generator produces; 0 stays 0 (unused)."""
    out = np.zeros_like(bases)
    for k, b in enumerate(bases):
        if b > 0:
            p = BASE_WEIGHT_BIASES[k]
            out[k] = current_from_code(p, code_from_current(p, b * Iscale, clip=True)) / Iscale
    return out


def _with_bases(core, bases: np.ndarray, Iscale: float):
    """A core whose ``Iw_0..Iw_3`` are the base weights as currents (an unused base: the
    branch's smallest current, which no mask selects)."""
    return core.replace(
        **{p.current: b * Iscale if b > 0 else current_range(p)[0] for p, b in zip(BASE_WEIGHT_BIASES, bases)}
    )


def _nearest_masks(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    return np.abs(values[:, None] - levels[None, :]).argmin(axis=1).astype(np.int8)


def quantize_spec(spec: NetworkSpec, seed: int = 0) -> Tuple[NetworkSpec, QuantizationReport]:
    """A chip-exact copy of a spec: 4-bit masks, 4 snapped bases per core, snapped currents.

    Args:
        spec: a network spec (float weights).
        seed: seed of the quantizer's random starts.

    Returns:
        ``(quantized spec, report)``.
    """
    instance("spec", spec, NetworkSpec, "a NetworkSpec (from mapping.mapper)")
    seed = check_seed("seed", seed)
    ins, rec = spec.input_synapses, spec.recurrent_synapses
    core_in = spec.core_of_neuron[ins.target]
    core_rec = spec.core_of_neuron[rec.target]
    masks_in = np.zeros(len(ins), dtype=np.int8)
    masks_rec = np.zeros(len(rec), dtype=np.int8)
    bases = np.zeros((spec.n_cores, len(BASE_WEIGHT_BIASES)))
    core_error = np.zeros(spec.n_cores)
    bound = np.zeros(spec.n_cores)
    for c in range(spec.n_cores):
        sel_in, sel_rec = core_in == c, core_rec == c
        w = np.concatenate([ins.weight[sel_in], rec.weight[sel_rec]])
        if w.size == 0:
            continue
        q = quantize_magnitudes(w, seed=seed)
        bases[c] = _snap_bases(np.asarray(q.bases, dtype=np.float64), spec.Iscale)
        masks = _nearest_masks(w, level_table(bases[c][None])[0])
        masks_in[sel_in] = masks[: sel_in.sum()]
        masks_rec[sel_rec] = masks[sel_in.sum() :]
        levels = level_table(bases[c][None])[0][masks]
        core_error[c] = np.linalg.norm(levels - w) / np.linalg.norm(w)
        bound[c] = q.lower_bound if q.lower_bound is not None else np.nan

    def keep(table: Synapses, masks: np.ndarray) -> Synapses:
        sel = masks > 0
        return Synapses(table.source[sel], table.target[sel], table.kind[sel], table.weight[sel], masks[sel])

    quantized = spec.replace(
        input_synapses=keep(ins, masks_in),
        recurrent_synapses=keep(rec, masks_rec),
        bases=bases,
        cores=tuple(_with_bases(core, b, spec.Iscale).quantized(clip=True) for core, b in zip(spec.cores, bases)),
    )
    all_w = np.concatenate([ins.weight, rec.weight])
    table = level_table(bases)
    all_q = np.concatenate([table[core_in, masks_in], table[core_rec, masks_rec]])
    error = float(np.linalg.norm(all_q - all_w) / np.linalg.norm(all_w)) if all_w.size else 0.0
    listed = tuple(
        (name, int(table.source[i]), int(table.target[i]), float(table.weight[i]))
        for name, table, masks in (("input", ins, masks_in), ("recurrent", rec, masks_rec))
        for i in np.flatnonzero(masks == 0)
    )
    return quantized, QuantizationReport(core_error, bound, error, listed)
