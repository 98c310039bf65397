"""A network trained by :mod:`rockpool_dynapse2.training` -> its chip-exact network spec.

The training library already trained what the chip holds: each core's currents on bias
codes, each core's 4 base weights on bias codes, every weight on one of its core's 16
levels, at most 64 synapses per neuron, and its own core assignment (a population per
core). :func:`spec_from_training` writes that down as a quantized
:class:`~.network_spec.NetworkSpec` (masks and bases set), without the mapper's
clustering and without a second quantization, so the configuration holds exactly the
trained network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..chip import SIGNED_EXCITATORY, SIGNED_INHIBITORY
from ..errors import ParameterValueError
from ..parameters.core import CoreParameters
from ..parameters.validate import instance
from ..training.result import TrainResult
from .network_spec import NetworkSpec, Synapses, level_table

__all__ = ["spec_from_training"]


def spec_from_training(result: Any) -> NetworkSpec:
    """The quantized network spec of a :class:`~rockpool_dynapse2.training.TrainResult`.

    Args:
        result: a training result whose settings quantized the weights
            (``TrainSettings.quantize``); its trained quantities of the best epoch are used.

    Returns:
        A :class:`~.network_spec.NetworkSpec` with ``bases`` and masks: simulating it
        (:func:`~.simulate.dynapsim_net_from_spec`) gives the spikes the training
        simulated on the nominal chip.

    Raises:
        ParameterValueError: the result was trained without weight quantization.
    """
    instance("result", result, TrainResult, "a TrainResult (from train_jax, train_torch or load_parameters)")
    model = result.model
    if not model.settings.quantize:
        raise ParameterValueError(
            "result", "a network trained with TrainSettings(quantize=True) (its weights are on the chip's levels)",
            "quantize=False")
    arrays = result.chip_arrays()
    bases = np.asarray(arrays["bases"], dtype=np.float64)
    levels = level_table(bases)
    core = np.asarray(arrays["core_of_neuron"], dtype=np.int64)
    inputs = _synapses(arrays["w_in"], core, levels)
    recurrent = _synapses(arrays["w_rec"], core, levels)
    currents = arrays["currents"]
    first = [int(np.flatnonzero(core == c)[0]) for c in range(len(bases))]
    cores = tuple(
        CoreParameters(**{**{k: float(v[i]) for k, v in currents.items()}, **_base_currents(bases[c], model.settings.Iscale)})
        for c, i in enumerate(first)
    )
    layout = model.layout
    names = tuple(p.name for p in layout.populations)
    layer = np.concatenate([np.full(p.size, i) for i, p in enumerate(layout.populations)])
    s = model.settings
    return NetworkSpec(
        n_inputs=layout.n_inputs,
        n_neurons=layout.n_neurons,
        input_synapses=inputs,
        recurrent_synapses=recurrent,
        core_of_neuron=core,
        cores=cores,
        output_neurons=np.asarray(layout.output_neurons),
        Iscale=float(s.Iscale),
        dt=float(s.dt),
        bases=bases,
        neuron_deviation=np.zeros(layout.n_neurons),
        names=names,
        layer_of_neuron=layer,
    )


def _base_currents(bases: np.ndarray, Iscale: float) -> dict:
    """A core's ``Iw_0..Iw_3``: its base weights as currents (the chip sets them, the masks sum them)."""
    return {f"Iw_{k}": float(b * Iscale) for k, b in enumerate(bases)}


def _synapses(w: np.ndarray, core: np.ndarray, levels: np.ndarray) -> Synapses:
    """The non-zero signed weights ``(S, N)`` as synapses with their masks."""
    source, target = np.nonzero(w)
    value = w[source, target].astype(np.float64)
    table = levels[core[target]]  # (n, 16): each synapse's core's levels
    mask = np.abs(table - np.abs(value)[:, None]).argmin(1)
    kind = np.where(value > 0, int(SIGNED_EXCITATORY), int(SIGNED_INHIBITORY))
    weight = table[np.arange(len(mask)), mask]
    keep = mask > 0  # a weight that is level 0 is no synapse
    return Synapses(source[keep], target[keep], kind[keep], weight[keep], mask[keep].astype(np.int8))
