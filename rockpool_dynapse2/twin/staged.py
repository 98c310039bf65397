"""The staged fit on spike times: :func:`fit_staged`, each family of factors from the runs that isolate it.

The count fit (:func:`~.fit.fit_twin` without the timing runs) compares spike counts in
bins of 50 ms, to which most factors are nearly blind. With the protocol's timing runs
(:meth:`~.stimuli.ProbeProtocol.timing_runs`) and the recorded spike times, the fit
compares *spike trains* and proceeds in stages, each over a family of log-factors
(:data:`~.quantities.PARAMETER_NAMES`) and the runs that isolate it
(:data:`STAGES`), every other factor held:

1. ``refractory``: the refractory current alone, from the refractory run (whose intervals
   are the refractory period and a charge of a few steps);
2. ``membrane``: the membrane's capacitance, leak, gain, DC, threshold, ``kappa`` and
   refractory current, from the rheobase sweep (first-spike latencies and intervals of
   0.1-0.4 s, which scale with ``tau_mem`` and diverge at the threshold), the refractory
   run (intervals of the refractory period plus a short charge) and the DC steps;
3. ``synapses``: each type's leak and weight factor, from the single pulses (latency of
   the spikes a pulse causes, or the pause it imposes on a firing neuron: the time
   constant), the weak trains (intervals near the rheobase: the charge) and the synapse
   trains;
4. ``joint``: every factor, from every fitted run (a polish).

The loss of a neuron compares spike *times*: each run is cut into its segments (a whole DC
or refractory run; each pulse's window; each train or mixture segment), and in each the
``k``-th observed spike is matched with the ``k``-th predicted one, a spike without a match
with the segment's end. The sum of the time differences is the area between the two
cumulative spike counts, ``sum_t |N_obs(t) - N_pred(t)|`` (:func:`spike_time_losses`),
divided by the segment's length (an average count error, in spikes); summed over the
stage's runs, plus the prior ``(theta / prior_sigma)^2``. Unlike a count in a bin, it
changes with every spike's time; unlike a distance of filtered trains, it keeps growing as
a too-long interval shifts every later spike, so a step toward the observed interval always
lowers it. The search is derivative-free (the spike times of
the simulation are piecewise constant in the factors, and the surrogate gradient is
biased): a coordinate search, all neurons at once, each neuron keeping a step of one
factor (or of a synapse's leak and weight together, :func:`directions`) by ``+-delta``
only where it lowers its own loss, up to :data:`PASSES` passes
over the factors at each ``delta``, then :data:`ROTATIONS` passes along random orthonormal
bases of the same factors (:func:`rotated`), ``delta`` halved from :data:`DELTAS` ``[0]``
to ``[-1]``. The rotated passes matter: the spikes pin combinations of factors (the
membrane's leak, gain, threshold and ``kappa`` together; a synapse's leak and weight), so
the loss has narrow oblique valleys along which no single factor's step goes downhill;
without them the search stopped far from the truth (on 16 neurons with the truth
representable by the factors, a data loss of 1.0-7.9 per neuron against 0 at the truth).
A step changes the spikes only of the runs that read its factors: a batch of runs that
reads none of them (NMDA's and SHUNT's leaks in the DC and refractory runs, which skip
both types; the weight of a type none of its runs drives) keeps its distances and is not
simulated again, the same search bit for bit.
"""

from __future__ import annotations

import functools
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..chip import SynapseType
from ..simulation.step import IDLE_SIGNED

from .defects import FoundDefects
from .replay import LOG_BOUND, ReplayRun, replay_runs, rest_state, spikes_per_step
from .probe import ChipRecording
from .quantities import PARAMETER_NAMES, SYNAPSES
from .stimuli import ProbeProtocol, probe_runs

__all__ = ["STAGES", "DELTAS", "PASSES", "ROTATIONS", "ROTATION_SEED", "fit_staged", "spike_time_losses", "directions", "rotated"]

_MEMBRANE = ("C_mem", "Itau_mem", "Igain_mem", "Idc", "Ispkthr", "kappa", "Iref")

STAGES: Tuple[Tuple[str, Tuple[str, ...], str], ...] = (
    ("refractory", ("Iref",), "refractory"),
    ("membrane", _MEMBRANE, "membrane"),
    ("synapses", tuple(f"Itau_{s}" for s in SYNAPSES) + tuple(f"w_{s}" for s in SYNAPSES), "synapses"),
    ("joint", PARAMETER_NAMES, "all"),
)
"""``(stage, fitted factors, runs)`` in order; the runs: ``refractory`` (the refractory
run alone), ``membrane`` (the sweep, the refractory run, the DC steps), ``synapses`` (the
pulses, the weak trains, the trains) or ``all`` (every fitted run)."""

DELTAS: Tuple[float, ...] = (0.16, 0.08, 0.04, 0.02, 0.01)
"""The coordinate search's step sizes (log-factor), largest first."""

PASSES = 3
"""The most passes over the factors at one step size (fewer once a pass improves no neuron)."""

ROTATIONS = 2
"""Passes along random rotated bases (:func:`rotated`) after the axis passes at each step size."""

ROTATION_SEED = 0
"""Seed of the rotated bases (the fit is deterministic)."""


def _run_names(protocol: ProbeProtocol, which: str) -> Tuple[str, ...]:
    """The runs of a stage (see :data:`STAGES`)."""
    names = [r.name for r in probe_runs(protocol)]
    membrane = tuple(n for n in names if n.startswith(("sweep_", "dc_")) or n == "refractory")
    synapses = tuple(n for n in names if n.startswith(("pulses", "weak_trains")) or n == "synapses")
    if which == "refractory":
        return ("refractory",)
    if which == "membrane":
        return membrane
    if which == "synapses":
        return synapses
    return membrane + synapses + tuple(n for n in names if n.startswith("mixture_"))


class _Batch(NamedTuple):
    """Runs of one length and segment stacked along the neurons: ``copies`` runs of ``N`` neurons."""

    run: ReplayRun
    copies: int
    segment: int
    """Steps of each segment of the runs."""
    idle: Tuple[int, ...]
    """The synapse types none of the runs drives (the time loop skips them, :func:`_idle`)."""
    unused: np.ndarray
    """``(P,)`` bool: the factors the batch's simulation never reads (:func:`_unused`)."""


def _segment_steps(protocol: ProbeProtocol, name: str, steps: int) -> int:
    """The segment length (steps) of a run: a pulse's window, a train's segment, or the whole run."""
    if name.startswith("pulses"):
        return protocol.pulse_steps
    if name.startswith("weak_trains"):
        return protocol.weak_steps
    if name == "synapses" or name.startswith(("mixture_", "held_out")):
        return protocol.rest_steps + protocol.train_steps
    return steps


def _idle(inputs: np.ndarray) -> Tuple[int, ...]:
    """The synapse types the time loop can skip (NMDA and SHUNT, :data:`~rockpool_dynapse2.simulation.step.IDLE_SIGNED`)
    that get no input in ``inputs`` ``(T, N, 4)``: at 0 from rest, they stay at 0 (the DC and refractory runs)."""
    return tuple(int(k) for k in IDLE_SIGNED if not inputs[:, :, int(k)].any())


def _unused(inputs: np.ndarray, idle: Tuple[int, ...]) -> np.ndarray:
    """``(P,)`` bool: the factors a batch of runs with ``inputs`` ``(T, N, 4)`` never reads:
    the leak and weight of an ``idle`` type (the time loop skips it) and the weight of a
    type no run drives (it scales inputs that are all 0)."""
    names = [f"Itau_{SynapseType(k).label}" for k in idle]
    names += [f"w_{SynapseType(k).label}" for k in SynapseType if not inputs[:, :, int(k)].any()]
    return np.isin(PARAMETER_NAMES, names)


def _batches(runs: Sequence[ReplayRun], rasters: Dict[str, np.ndarray], protocol: ProbeProtocol) -> List[_Batch]:
    """The runs grouped by length and segment, each group one stacked run."""
    groups: Dict[Tuple[int, int], List[ReplayRun]] = {}
    for run in runs:
        steps = run.inputs.shape[0]
        groups.setdefault((steps, _segment_steps(protocol, run.name, steps)), []).append(run)
    out = []
    for (_, segment), group in groups.items():
        values = {k: np.concatenate([r.values[k] for r in group]) for k in group[0].values}
        inputs = np.concatenate([r.inputs for r in group], axis=1)
        observed = np.stack([rasters[r.name] for r in group], axis=1)
        stacked = ReplayRun("+".join(r.name for r in group), values, inputs, observed)
        idle = _idle(inputs)
        out.append(_Batch(stacked, len(group), segment, idle, _unused(inputs, idle)))
    return out


def spike_time_losses(observed: np.ndarray, predicted: np.ndarray, segment: int) -> np.ndarray:
    """``(N,)`` the spike-time distance (see the module docs) of ``predicted`` from
    ``observed`` spikes per step, both ``(T, ..., N)`` with ``T`` a multiple of ``segment``:
    ``sum |N_obs(t) - N_pred(t)| / segment`` over the segments, the counts ``N`` cumulative
    from each segment's start, summed over every axis but the neurons'."""
    shape = (observed.shape[0] // segment, segment) + observed.shape[1:]
    difference = np.cumsum(observed.reshape(shape), axis=1) - np.cumsum(predicted.reshape(shape), axis=1)
    return np.abs(difference).reshape(-1, observed.shape[-1]).sum(axis=0) / segment


def _batch_distances(theta, values, rest, inputs, observed, dt: float, copies: int, segment: int, idle: Tuple[int, ...]):
    """``(N,)`` int32: :func:`spike_time_losses` of one batch, times ``segment`` (the sum of
    ``|N_obs(t) - N_pred(t)|``, an integer), for log-factors ``theta`` ``(N, P)`` (jax)."""
    import jax.numpy as jnp

    spikes = spikes_per_step(jnp.tile(theta, (copies, 1)), values, rest, inputs, dt, 1e-8, idle)
    n = theta.shape[0]
    shape = (spikes.shape[0] // segment, segment, copies, n)
    step_difference = observed.reshape(shape) - spikes.reshape(shape).astype(jnp.int32)
    return jnp.abs(jnp.cumsum(step_difference, axis=1)).sum(axis=(0, 1, 2))  # N_obs(t) - N_pred(t), summed


@functools.lru_cache(maxsize=1)
def _compiled_distances():
    """:func:`_batch_distances` jitted once per process: the runs' arrays are its arguments,
    so every stage and every chip probed with the same protocol reuse its compilations."""
    import jax

    return jax.jit(_batch_distances, static_argnames=("dt", "copies", "segment", "idle"))


class _StageLosses:
    """A stage's losses ``theta (N, P) -> (N,)`` (call it), in two parts: each batch's
    spike-time distances (:meth:`distances`, simulated and summed in
    :func:`_compiled_distances`) and the total (:meth:`total`: the prior plus each batch's
    distance over its segment length)."""

    def __init__(self, batches: Sequence[_Batch], protocol: ProbeProtocol, prior_sigma: float):
        import jax.numpy as jnp

        self.batches = tuple(batches)
        self.dt = protocol.dt
        self.prior_sigma = prior_sigma
        self._compiled = _compiled_distances()
        self._arrays = [
            ({k: jnp.asarray(v, dtype=jnp.float32) for k, v in b.run.values.items()},
             {k: jnp.asarray(v) for k, v in rest_state(b.run.values).items()},
             jnp.asarray(b.run.inputs), jnp.asarray(b.run.observed, dtype=jnp.int32))
            for b in self.batches
        ]

    def distances(self, theta: np.ndarray, known: Optional[np.ndarray] = None, move: Optional[np.ndarray] = None) -> np.ndarray:
        """``(N, B)`` int: each batch's summed ``|N_obs(t) - N_pred(t)|`` for ``theta`` ``(N, P)``.
        ``known``: the distances ``(N, B)`` of a ``theta`` that differs by a step along
        ``move`` ``(P,)``; a batch that reads none of the factors the move changes keeps them
        (the same simulation, not run again)."""
        import jax.numpy as jnp

        th = jnp.asarray(theta, dtype=jnp.float32)
        out = []
        for j, (b, (values, rest, inputs, observed)) in enumerate(zip(self.batches, self._arrays)):
            if known is not None and not (move[~b.unused] != 0).any():
                out.append(known[:, j])
            else:
                out.append(self._compiled(th, values, rest, inputs, observed, dt=self.dt, copies=b.copies, segment=b.segment, idle=b.idle))
        return np.stack([np.asarray(o) for o in out], axis=1)

    def total(self, theta: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """``(N,)`` the losses of ``theta`` ``(N, P)`` whose :meth:`distances` are ``distances``."""
        total = np.sum((theta / self.prior_sigma) ** 2, axis=1)
        for j, b in enumerate(self.batches):
            total = total + np.asarray(distances[:, j], dtype=np.float64) / b.segment  # an integer: as spike_time_losses sums it
        return total

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        return self.total(theta, self.distances(theta))


def directions(names: Sequence[str]) -> np.ndarray:
    """``(D, P)`` the search's directions over the factors ``names``: each factor alone,
    and for each synapse type whose leak and weight are both in ``names``, the two together
    (the direction along which the charge of a pulse, gain times time constant, stays: the
    jump of a DPI's current does not depend on its leak, its time constant does)."""
    out = []
    for name in names:
        out.append(np.eye(len(PARAMETER_NAMES))[PARAMETER_NAMES.index(name)])
    for s in SYNAPSES:
        if f"Itau_{s}" in names and f"w_{s}" in names:
            out.append(out[list(names).index(f"Itau_{s}")] + out[list(names).index(f"w_{s}")])
    return np.array(out)


class _Point(NamedTuple):
    """Where the search is: log-factors ``(N, P)``, their losses ``(N,)`` and distances ``(N, B)``."""

    theta: np.ndarray
    loss: np.ndarray
    distances: np.ndarray


def _search(losses: _StageLosses, theta: np.ndarray, moves: np.ndarray, fitted: np.ndarray, deltas: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """The coordinate search (see the module docs) along the rows of ``moves``, then along
    rotated bases of their span; ``(theta, losses)``."""
    distances = losses.distances(theta)
    point = _Point(theta, losses.total(theta, distances), distances)
    if not (point.loss[fitted] > 0).any():  # every spike predicted already (the ideal chip)
        return point.theta, point.loss
    rng = np.random.default_rng(ROTATION_SEED)
    for delta in deltas:
        for _ in range(PASSES):
            before = point.loss.copy()
            point = _pass(losses, point, moves, fitted, delta)
            if not (point.loss < before).any():
                break
        for _ in range(ROTATIONS):
            point = _pass(losses, point, rotated(moves, rng), fitted, delta)
    return point.theta, point.loss


def rotated(moves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(D', P)`` a random orthonormal basis of the ``D'`` factors ``moves`` touch:
    steps along it change several factors at once, which an axis-wise search cannot when
    the spikes pin only a combination of them (a narrow, oblique valley of the loss)."""
    axes = np.flatnonzero(np.abs(moves).sum(axis=0))
    q, _ = np.linalg.qr(rng.standard_normal((axes.size, axes.size)))
    out = np.zeros((axes.size, moves.shape[1]))
    out[:, axes] = q.T
    return out


def _pass(losses: _StageLosses, point: _Point, moves: np.ndarray, fitted: np.ndarray, delta: float) -> _Point:
    """One pass over ``moves``: each neuron keeps a step of ``+-delta`` along one that lowers
    its loss. A batch of runs that reads none of a move's factors keeps its distances (a
    move along NMDA's leak leaves the DC runs, which skip NMDA, as they were)."""
    for move in moves:
        for sign in (1.0, -1.0):
            proposal = np.clip(point.theta + sign * delta * move[None, :], -LOG_BOUND, LOG_BOUND)
            distances = losses.distances(proposal, point.distances, move)
            new = losses.total(proposal, distances)
            better = (new < point.loss) & fitted
            point = _Point(np.where(better[:, None], proposal, point.theta), np.where(better, new, point.loss),
                           np.where(better[:, None], distances, point.distances))
    return point


def fit_staged(
    chip: ChipRecording,
    protocol: ProbeProtocol,
    defects: FoundDefects,
    fitted: np.ndarray,
    prior_sigma: float,
    deltas: Sequence[float] = DELTAS,
    runs: Optional[Dict[str, ReplayRun]] = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one chip's log-factors by the stages of :data:`STAGES` (see the module docs).

    Args:
        chip: the chip's recordings, with the spike times of the timing runs.
        protocol: the probe's protocol (with its timing runs).
        defects: the chip's found defects (their entries blanked in the model).
        fitted: ``(N,)`` which neurons to fit (the others keep the ideal factors).
        prior_sigma: the prior's spread on each log-factor.
        deltas: the search's step sizes, largest first.
        runs: ``{run name: its ReplayRun}`` with every run the stages use
            (:func:`~.replay.replay_runs`), when the caller has built them; default: built here.

    Returns:
        ``(theta (N, P), initial losses (N,), final losses (N,))``, the losses those of the
        last stage (all fitted runs).
    """
    theta = np.zeros((fitted.size, len(PARAMETER_NAMES)))
    first = last = None
    if runs is None:
        runs = {r.name: r for r in replay_runs(chip, protocol, defects, (), _run_names(protocol, "all"))}
    rasters = {r.name: chip.raster(r) for r in probe_runs(protocol) if r.name in runs}
    for _, names, which in STAGES:
        run_names = _run_names(protocol, which)
        stage_runs = [runs[name] for name in run_names]
        losses = _StageLosses(_batches(stage_runs, rasters, protocol), protocol, prior_sigma)
        if which == "all":
            first = losses(np.zeros_like(theta))
        theta, last = _search(losses, theta, directions(names), fitted, deltas)
    return theta, first, last
