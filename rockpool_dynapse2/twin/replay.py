"""Replaying a probe's runs in the simulation, with a neuron's fitted log-factors: the model both fits use.

Every run is replayed exactly as the virtual board runs it: the configuration the probe
applied, read back by :func:`~rockpool_dynapse2.placement.spec_from_config` (codes ->
currents), the found defective entries blanked (:func:`replay_runs`), each neuron's
currents and weights times its factors (:func:`simulate`). A twin's profile is the ideal
chip with the fitted factors and the found defects (:func:`twin_profile`).
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..hardware.chip_profile import NEURON_FACTOR_NAMES, ChipProfile
from ..hardware.on_chip import without_defective_entries
from ..mapping.simulate import neuron_values
from ..placement.mapped import MappedConfiguration
from ..placement.to_network_spec import spec_from_config
from .defects import FoundDefects
from .probe import ChipRecording
from .quantities import FIT_NAMES
from .stimuli import ProbeProtocol, ProbeRun, probe_runs

__all__ = ["LOG_BOUND", "ReplayRun", "replay_run", "replay_runs", "replayed_names", "simulate", "rest_state", "spikes_per_step",
           "binned", "twin_profile"]

LOG_BOUND = 1.5
"""Bound of every log-factor (a factor between 0.22 and 4.5)."""


class ReplayRun(NamedTuple):
    """One run as the model replays it, for the ``N`` neurons of a chip."""

    name: str
    values: Dict[str, np.ndarray]
    """``{current or constant: (N,)}`` as read from the configuration."""
    inputs: np.ndarray
    """``(T, N, 4)`` input weights per step and synapse type, units of ``Iscale``."""
    observed: np.ndarray
    """``(bins, N)`` recorded spike counts."""


def replay_run(recording: ChipRecording, protocol: ProbeProtocol, run: ProbeRun, blanked: ChipProfile) -> ReplayRun:
    """The model of ``run``: its configuration with the found defective entries blanked."""
    config = recording.configuration(protocol, run)
    tree = without_defective_entries(config.configuration, blanked)
    spec = spec_from_config(MappedConfiguration(tree, config.inputs, config.outputs, config.neurons, config.dt, config.Iscale))
    w_in, _ = spec.dense_weights()  # (64, N, 4)
    inputs = np.einsum("ti,ink->tnk", run.raster, w_in).astype(np.float32)
    return ReplayRun(run.name, neuron_values(spec), inputs, recording.counts[run.name])


def replayed_names(protocol: ProbeProtocol, kinds: Sequence[str], names: Sequence[str] = ()) -> List[str]:
    """The runs :func:`replay_runs` builds, in the protocol's order: those of ``kinds`` but
    the held-out one, and those named."""
    return [run.name for run in probe_runs(protocol) if (run.kind in kinds and run.name != "held_out") or run.name in names]


def replay_runs(recording: ChipRecording, protocol: ProbeProtocol, defects: FoundDefects, kinds: Sequence[str], names: Sequence[str] = ()) -> List[ReplayRun]:
    blanked = twin_profile(ChipProfile.ideal(), defects=defects)
    chosen = set(replayed_names(protocol, kinds, names))
    return [replay_run(recording, protocol, run, blanked) for run in probe_runs(protocol) if run.name in chosen]


# --- the model ----------------------------------------------------------------------------


def simulate(theta, run: ReplayRun, dt: float, Iscale: float, bin_steps: int):
    """``(bins, N)`` predicted counts of ``run`` for log-factors ``theta`` ``(N, P)`` (jax)."""
    return binned(spikes_per_step(theta, run.values, rest_state(run.values), run.inputs, dt, Iscale), bin_steps)


def binned(spikes, bin_steps: int):
    """``(bins, N)`` the spikes ``(T, N)`` per step summed over bins of ``bin_steps`` (a last,
    partial bin dropped, as the probe's counts are)."""
    T, n = spikes.shape
    bins = T // bin_steps
    return spikes[: bins * bin_steps].reshape(bins, bin_steps, n).sum(axis=1)


def rest_state(values: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """``{state field: (N, ...)}``: the neurons of a run's ``values`` at rest (numpy)."""
    from ..simulation.module_spec import initial_state_values

    return initial_state_values(np.asarray(values["Io"], dtype=np.float32))


def spikes_per_step(theta, values, rest, inputs, dt: float, Iscale: float, idle: Tuple[int, ...] = ()):
    """``(T, N)`` spikes per step of the neurons with the currents ``values`` (``{name: (N,)}``,
    a :class:`ReplayRun`'s), the initial state ``rest`` (:func:`rest_state`) and the input
    weights ``inputs`` ``(T, N, 4)`` (units of ``Iscale``), each neuron's currents and
    weights times its factors ``exp(theta)`` (``(N, P)``); the arrays may be traced (jax).
    ``idle``: synapse types that get no input in ``inputs`` and are at 0 in ``rest``
    (skipped by the time loop: the same spikes, see :func:`~rockpool_dynapse2.simulation.step.loop_state`)."""
    import jax.numpy as jnp

    from ..simulation.jax_module import evolve_arrays
    from ..simulation.records import DynapParams, DynapState

    f = jnp.exp(theta)
    values = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in values.items()}
    for i, name in enumerate(FIT_NAMES):
        for target in (("kappa_n", "kappa_p") if name == "kappa" else (name,)):
            values[target] = values[target] * f[:, i]
    params = DynapParams(**values, Iscale=Iscale, w_rec=None)
    T, n = inputs.shape[:2]
    u = (jnp.asarray(inputs) * f[None, :, len(FIT_NAMES) :]).reshape(1, T, 4 * n)
    state = DynapState(**{k: jnp.asarray(v)[None] for k, v in rest.items()})
    spikes, _, _ = evolve_arrays(params, state, u, dt, jnp.inf, False, False, idle=tuple(idle))
    return spikes[0]


def twin_profile(base: ChipProfile, defects: FoundDefects, addresses: Sequence[Tuple[int, int, int]] = (), theta: Optional[np.ndarray] = None) -> ChipProfile:
    """``base`` with the factors ``theta`` at ``addresses`` and the ``defects``."""
    neuron_factors = np.array(base.neuron_factors)
    weight_factors = np.array(base.weight_factors)
    if len(addresses):
        chips, cores, neurons = (np.asarray(a) for a in zip(*addresses))
        f = np.exp(np.asarray(theta, dtype=np.float64))
        for i, name in enumerate(FIT_NAMES):
            for target in (("kappa_n", "kappa_p") if name == "kappa" else (name,)):
                neuron_factors[chips, cores, neurons, NEURON_FACTOR_NAMES.index(target)] = f[:, i]
        weight_factors[chips, cores, neurons] = f[:, len(FIT_NAMES) :]
    return ChipProfile(neuron_factors, weight_factors, base.bias_gains, defects.dead, defects.always_on, defects.cam_entries)
