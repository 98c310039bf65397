"""A configuration on a chip with flaws: how a :class:`~.chip_profile.ChipProfile` changes a simulation.

:class:`~.virtual.VirtualBoard` with a profile reads the configuration as usual, but

1. :func:`without_defective_entries` blanks the profile's defective CAM entries before the
   configuration is read (an event no other entry hears is then unrouted, as on the chip);
2. :func:`profiled_network` builds the simulation of the spec (``mapping.simulate``) with
   * every neuron's currents times its factor and its core's bias-generator gain, its
     layout constants times its factor (:data:`~.chip_profile.NEURON_FACTOR_NAMES`);
   * every synapse weight (the mask-selected sum of the core's base weights) with each
     base weight times its core's gain on ``SYAM_Wk_P``, then times the target neuron's
     factor for the synapse type;
   * dead neurons sending nothing (their recurrent rows zeroed) and always-on neurons
     sending a spike every step: their recurrent rows move to extra input channels that
     carry one spike per step. (A recurrent spike arrives a step after it was fired, an
     input in its own step: an always-on neuron's first spike is early by one step.)
3. :meth:`ProfiledNetwork.outputs` sets the spike counts: 0 for dead neurons, 1 for
   always-on ones.

Neurons are matched to the profile by their place on the board (chip, core, neuron).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..chip import BASE_WEIGHT_BIASES, BIAS_PARAMETERS, GEOMETRY
from ..config.tree import Configuration
from ..config.records import BLANK_SYNAPSE
from ..mapping.network_spec import NetworkSpec, Synapses
from ..mapping.simulate import dynapsim_net, neuron_values
from ..placement.mapped import NeuronAddress
from ..simulation.records import CURRENT_NAMES
from .chip_profile import BIAS_NAMES, NEURON_FACTOR_NAMES, ChipProfile

__all__ = ["ProfiledNetwork", "without_defective_entries", "profiled_network", "neuron_factors_at", "profiled_weights"]

_BIAS_OF_CURRENT = {p.current: p.name for p in BIAS_PARAMETERS}


def without_defective_entries(tree: Configuration, profile: ChipProfile) -> Configuration:
    """``tree`` with the profile's defective CAM entries of placed neurons blanked."""
    by_neuron: dict = {}
    for chip, core, neuron, entry in profile.defective_cam_entries:
        if chip < len(tree.chips):
            by_neuron.setdefault((chip, core, neuron), []).append(entry)
    placed = {(c, k, n): neuron for c, k, n, neuron in tree.placed_neurons()}
    for key, entries in by_neuron.items():
        neuron = placed.get(key)
        if neuron is None or not any(neuron.synapses[e].is_used for e in entries):
            continue
        synapses = tuple(BLANK_SYNAPSE if e in entries else s for e, s in enumerate(neuron.synapses))
        tree = tree.with_neuron(*key, dataclasses.replace(neuron, synapses=synapses))
    return tree


@dataclass(frozen=True)
class ProfiledNetwork:
    """The simulation of a spec on a profiled chip.

    Attributes:
        net: the network (as :func:`~rockpool_dynapse2.mapping.dynapsim_net_from_spec`'s),
            with one extra input channel per always-on neuron, after the spec's inputs.
        dead: indices (in the spec) of dead neurons.
        always_on: indices (in the spec) of always-on neurons.
    """

    net: Any
    dead: np.ndarray
    always_on: np.ndarray

    def inputs(self, raster: np.ndarray) -> np.ndarray:
        """``raster (B, T, n_inputs)`` with a column of ones per always-on neuron."""
        ones = np.ones(raster.shape[:2] + (len(self.always_on),), dtype=raster.dtype)
        return np.concatenate([raster, ones], axis=2)

    def outputs(self, spikes: np.ndarray) -> np.ndarray:
        """``spikes (..., N)`` with dead neurons at 0 and always-on neurons at 1."""
        spikes = np.array(spikes)
        spikes[..., self.dead] = 0
        spikes[..., self.always_on] = 1
        return spikes


def _places(addresses: Sequence[NeuronAddress]) -> tuple:
    """``(chips, cores, neurons)`` index arrays of the spec's neurons."""
    a = np.array([(x.chip, x.core, x.neuron) for x in addresses], dtype=np.int64).reshape(-1, 3)
    return a[:, 0], a[:, 1], a[:, 2]


def neuron_factors_at(profile: ChipProfile, addresses: Sequence[NeuronAddress]) -> dict:
    """``{name: (N,)}`` for every name of :data:`~.chip_profile.NEURON_FACTOR_NAMES`: the
    factor the chip puts on that quantity of the neurons at ``addresses`` (a current's
    factor times its core's bias-generator gain; a layout constant's factor alone)."""
    chips, cores, neurons = _places(addresses)
    out = {}
    for i, name in enumerate(NEURON_FACTOR_NAMES):
        factor = profile.neuron_factors[chips, cores, neurons, i]
        if name in CURRENT_NAMES:
            factor = factor * profile.bias_gain(_BIAS_OF_CURRENT[name])[chips, cores]
        out[name] = factor
    return out


def _values(spec: NetworkSpec, profile: ChipProfile, addresses: Sequence[NeuronAddress]) -> dict:
    """Every neuron's currents and constants times its factors and its core's gains."""
    values = neuron_values(spec)
    return {**values, **{k: values[k] * f for k, f in neuron_factors_at(profile, addresses).items()}}


def _weights(spec: NetworkSpec, table: Synapses, gains: np.ndarray) -> np.ndarray:
    """The weights of ``table`` with each base weight times the target's gain ``gains (N, 4)``."""
    if not spec.quantized:
        return spec.weights(table)
    bits = (table.mask.astype(np.int64)[:, None] >> np.arange(GEOMETRY.base_weights)) & 1
    bases = spec.bases[spec.core_of_neuron[table.target]]
    return (bits * bases * gains[table.target]).sum(axis=1)


def _dense(spec: NetworkSpec, profile: ChipProfile, places: tuple) -> tuple:
    """``(w_in (n_in, N, 4), w_rec (N, N, 4))`` with the gains and weight factors."""
    chips, cores, neurons = places
    base_index = [BIAS_NAMES.index(p.name) for p in BASE_WEIGHT_BIASES]
    gains = profile.bias_gains[chips, cores][:, base_index]
    factors = profile.weight_factors[chips, cores, neurons]
    n, n_in = spec.n_neurons, spec.n_inputs
    w_in = spec.input_synapses.dense(n_in, n, _weights(spec, spec.input_synapses, gains)) * factors
    w_rec = spec.recurrent_synapses.dense(n, n, _weights(spec, spec.recurrent_synapses, gains)) * factors
    return w_in, w_rec


def profiled_weights(spec: NetworkSpec, addresses: Sequence[NeuronAddress], profile: ChipProfile) -> tuple:
    """``(w_in (n_in, N, 4), w_rec (N, N, 4))``: the typed weights of ``spec`` on the chip
    ``profile`` (base weights times their core's gains, then the target's synapse-type
    factor), before dead and always-on neurons are applied."""
    return _dense(spec, profile, _places(addresses))


def _flawed(profile: ChipProfile, which: Sequence[tuple], places: tuple) -> np.ndarray:
    """Indices of the spec's neurons that are among ``which``."""
    flawed = set(which)
    return np.array([j for j, key in enumerate(zip(*places)) if tuple(int(v) for v in key) in flawed], dtype=np.int64)


def profiled_network(
    spec: NetworkSpec, addresses: Sequence[NeuronAddress], profile: ChipProfile, backend: str = "jax"
) -> ProfiledNetwork:
    """The simulation of ``spec`` on the chip ``profile`` (see the module docs).

    Args:
        spec: the spec read from the configuration (defective entries already blanked).
        addresses: the board place of each of the spec's neurons, in order.
        profile: the chip.
        backend: ``"jax"`` or ``"torch"``.
    """
    places = _places(addresses)
    w_in, w_rec = _dense(spec, profile, places)
    dead = _flawed(profile, profile.dead_neurons, places)
    on = _flawed(profile, profile.always_on_neurons, places)
    w_in = np.concatenate([w_in, w_rec[on]], axis=0)
    w_rec[dead] = 0.0
    w_rec[on] = 0.0
    n = spec.n_neurons
    rec = w_rec.reshape(n, 4 * n) if len(spec.recurrent_synapses) else None
    net = dynapsim_net(w_in.reshape(-1, 4 * n), rec, _values(spec, profile, addresses), spec.dt, spec.Iscale, backend)
    return ProfiledNetwork(net, dead, on)
