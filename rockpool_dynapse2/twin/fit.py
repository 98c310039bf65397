"""Fitting a chip's digital twin from a probe's recordings: :func:`fit_twin`.

1. **Defects** (:func:`~.defects.find_defects`): dead and always-on neurons, defective CAM
   entries, by conservative rules.
2. **Model** (:mod:`.replay`): every run the fit uses is replayed in
   the differentiable simulation (:func:`~rockpool_dynapse2.simulation.jax_module.evolve_arrays`)
   exactly as the virtual board runs it: the configuration the probe applied, read back by
   :func:`~rockpool_dynapse2.placement.spec_from_config` (codes -> currents), the found
   defective entries blanked, each neuron's currents and weights times its factors.
3. **Fit**: each neuron's log-factors (:data:`~.quantities.PARAMETER_NAMES`) start at 0 (the
   ideal chip). With the protocol's timing runs and the spike times recorded (the default),
   the **staged fit on spike times** (:func:`~.staged.fit_staged`) fits them family by
   family from the runs that isolate each. Without them (recordings of a protocol with
   ``timing=False``, or of an earlier format), the **count fit** descends the loss ``sum (predicted - observed)^2 / (observed + 1)`` over
   every bin of every fitted run, plus a Gaussian prior ``(theta / prior_sigma)^2`` (the
   chip's mismatch at one standard deviation). The gradient is the simulation's own
   (surrogate gradient of the spike count); its steps are Adam's, with a step size of its
   own per neuron: a step is kept for a neuron only if it lowers that neuron's loss
   (checked with a forward run), else the neuron's step size halves. All neurons of a chip
   are fitted at once (vectorised), the neurons independent of each other.
4. **Twin**: a :class:`~rockpool_dynapse2.hardware.ChipProfile` with the fitted factors of
   the probed neurons (all other factors 1), the dead and always-on neurons and the
   defective entries; with its :class:`FitQuality`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..errors import TwinFitError
from ..hardware.chip_profile import ChipProfile
from ..parameters.validate import instance, integer, real_number
from .defects import FoundDefects, find_defects
from .probe import ChipRecording, ProbeRecordings
from .quantities import PARAMETER_NAMES, QUANTITY_NAMES, effective_quantities
from .replay import LOG_BOUND, ReplayRun, binned, replay_runs, replayed_names, rest_state, simulate, spikes_per_step, twin_profile
from .stimuli import ProbeProtocol, probe_runs

__all__ = ["Twin", "FitQuality", "fit_twin", "predict_counts", "quantity_errors", "FITTED_RUNS"]

FITTED_RUNS = ("dc", "synapses")
"""The run kinds the count fit uses (the ``entries`` run finds defects; ``held_out`` tests)."""

def _losses(theta, runs: Sequence[ReplayRun], dt: float, Iscale: float, bin_steps: int, prior_sigma: float):
    """``(N,)`` each neuron's loss (see the module docs)."""
    import jax.numpy as jnp

    total = 0.0
    for run in runs:
        total = total + _count_loss(simulate(theta, run, dt, Iscale, bin_steps), run.observed)
    return total + jnp.sum((theta / prior_sigma) ** 2, axis=1)


def _count_loss(predicted, observed):
    """``(N,)`` one run's count loss ``sum (predicted - observed)^2 / (observed + 1)`` over its bins (jax)."""
    import jax.numpy as jnp

    return jnp.sum((predicted - observed) ** 2 / (observed + 1.0), axis=0)


class _Adam(NamedTuple):
    m: np.ndarray
    v: np.ndarray
    t: int


def _descend(losses, grad, theta: np.ndarray, fitted: np.ndarray, steps: int, learning_rate: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam steps with a per-neuron step size and acceptance (see the module docs).

    Returns ``(theta, initial losses, final losses)``."""
    import jax.numpy as jnp

    loss = np.asarray(losses(jnp.asarray(theta)))
    first = loss.copy()
    rate = np.full(theta.shape[0], learning_rate)
    adam = _Adam(np.zeros_like(theta), np.zeros_like(theta), 0)
    for _ in range(steps):
        g = np.asarray(grad(jnp.asarray(theta))) * fitted[:, None]
        t = adam.t + 1
        m, v = 0.9 * adam.m + 0.1 * g, 0.999 * adam.v + 0.001 * g**2
        adam = _Adam(m, v, t)
        direction = (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        proposal = np.clip(theta - rate[:, None] * direction, -LOG_BOUND, LOG_BOUND)
        new = np.asarray(losses(jnp.asarray(proposal)))
        better = (new < loss) & fitted
        theta = np.where(better[:, None], proposal, theta)
        loss = np.where(better, new, loss)
        rate = np.where(better, np.minimum(rate * 1.2, 4 * learning_rate), rate * 0.5)
    return theta, first, loss


def _fit_chip(runs: Sequence[ReplayRun], protocol: ProbeProtocol, fitted: np.ndarray, steps: int, learning_rate: float, prior_sigma: float):
    import jax

    args = (protocol.dt, 1e-8, protocol.bin_steps, prior_sigma)
    losses = jax.jit(lambda th: _losses(th, runs, *args))
    grad = jax.jit(jax.grad(lambda th: _losses(th, runs, *args).sum()))
    theta = np.zeros((fitted.size, len(PARAMETER_NAMES)), dtype=np.float32)
    return _descend(losses, grad, theta, fitted, steps, learning_rate)


def predict_counts(theta: np.ndarray, recording: ChipRecording, protocol: ProbeProtocol, defects: FoundDefects, run_name: str) -> np.ndarray:
    """``(bins, N)``: the counts the model with log-factors ``theta`` ``(N, P)`` predicts for
    the run ``run_name`` of ``recording`` (dead neurons 0, always-on ones a spike per step)."""
    (run,) = replay_runs(recording, protocol, defects, (), (run_name,))
    predicted = np.array(simulate(np.asarray(theta, np.float32), run, protocol.dt, 1e-8, protocol.bin_steps))
    addresses = recording.addresses(protocol)
    for j, a in enumerate(addresses):
        if a in defects.dead:
            predicted[:, j] = 0
        elif a in defects.always_on:
            predicted[:, j] = protocol.bin_steps
    return predicted


# --- the twin -----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FitQuality:
    """How well a twin fits, per probed neuron (``(N,)`` arrays in the order of :attr:`Twin.addresses`).

    Attributes:
        initial_loss: each neuron's loss at the ideal chip's factors (the count fit's, or the
            staged fit's last stage's: a spike-time distance, see :mod:`.staged`).
        final_loss: its loss after the fit.
        loss_per_bin: the count loss without the prior, per recorded bin of the count runs
            (``sum (predicted - observed)^2 / (observed + 1)``, either fit; about 1 or
            less for a good fit: an error of the order of the count's square root).
        held_out_correlation: Pearson correlation, over the fitted neurons, of the held-out
            run's observed and predicted spike counts per neuron (``None`` without one).
        held_out: ``(observed, predicted)`` spike counts per neuron of the held-out run.
        fitted: which neurons were fitted (not dead, not always on).
    """

    initial_loss: np.ndarray
    final_loss: np.ndarray
    loss_per_bin: np.ndarray
    held_out_correlation: Optional[float]
    held_out: Optional[Tuple[np.ndarray, np.ndarray]]
    fitted: np.ndarray


@dataclass(frozen=True, eq=False)
class Twin:
    """A chip's digital twin.

    Attributes:
        profile: a :class:`~rockpool_dynapse2.hardware.ChipProfile` (usable by
            ``VirtualBoard(profile=...)`` and by placement): the fitted factors of the
            probed neurons, every other factor 1, the defects found.
        defects: the :class:`~.defects.FoundDefects` of every probed chip, merged.
        addresses: ``(chip, core, neuron)`` of every probed neuron.
        parameters: ``(N, P)`` fitted log-factors (:data:`~.quantities.PARAMETER_NAMES`).
        quality: the :class:`FitQuality`.
        protocol: the probe's protocol.
    """

    profile: ChipProfile
    defects: FoundDefects
    addresses: Tuple[Tuple[int, int, int], ...]
    parameters: np.ndarray
    quality: FitQuality
    protocol: ProbeProtocol

    def quantities(self) -> Dict[str, np.ndarray]:
        """The twin's :func:`~.quantities.effective_quantities` of every probed neuron."""
        return effective_quantities(self.profile, self.addresses, self.protocol.core(max(self.protocol.dc_levels)))


def _merge(found: Sequence[FoundDefects]) -> FoundDefects:
    return FoundDefects(*(tuple(sorted(sum((getattr(d, f) for d in found), ()))) for f in ("dead", "always_on", "cam_entries", "untested_entries")))


def _check_recordings(recordings: ProbeRecordings) -> None:
    instance("recordings", recordings, ProbeRecordings)
    if not recordings.chips:
        raise TwinFitError("recordings.chips", "at least one chip's recording", 0)
    runs = [r.name for r in probe_runs(recordings.protocol)]
    n = recordings.protocol.neurons_per_core
    for i, chip in enumerate(recordings.chips):
        for name in runs:
            counts = chip.counts.get(name)
            if counts is None:
                raise TwinFitError(f"recordings.chips[{i}].counts", f"a recording of every run of the protocol ({', '.join(runs)})", f"no {name!r}")
            run = next(r for r in probe_runs(recordings.protocol) if r.name == name)
            shape = (run.raster.shape[0] // recordings.protocol.bin_steps, n * len(chip.cores))
            if counts.shape != shape:
                raise TwinFitError(f"recordings.chips[{i}].counts.{name}", f"an array of shape {shape} (bins, neurons)", str(counts.shape))


def _held_out(theta: np.ndarray, chip: ChipRecording, protocol: ProbeProtocol, defects: FoundDefects) -> Tuple[np.ndarray, np.ndarray]:
    predicted = predict_counts(theta, chip, protocol, defects, "held_out").sum(axis=0)
    return chip.counts["held_out"].sum(axis=0).astype(np.float64), predicted.astype(np.float64)


def fit_twin(
    recordings: ProbeRecordings,
    *,
    steps: int = 150,
    learning_rate: float = 0.05,
    prior_sigma: float = 0.5,
    seed: int = 0,
) -> Twin:
    """Fit a chip's digital twin from ``recordings`` (see the module docs).

    Args:
        recordings: a probe's :class:`~.probe.ProbeRecordings` (one or more chips).
        steps: descent steps (the count fit only).
        learning_rate: the initial step size of each log-factor (Adam's; the count fit only).
        prior_sigma: the spread (one standard deviation, log scale) of the prior on each
            log-factor; it keeps the factors spikes do not constrain near the ideal chip.
            A chip's mismatch of 30 % at 3 sigma is 0.1; the default, 0.5, is weaker
            (measured with an earlier protocol on 32 neurons of a drawn chip: 0.1 held the
            fit near the ideal chip, its held-out correlation 0.81 against 0.94 with a
            prior of 1.0).
        seed: an integer >= 0, checked and recorded only: the fit starts at the ideal
            chip and is deterministic (no random start is drawn).

    Returns:
        The :class:`Twin`.

    Raises:
        ParameterValueError: a bad ``steps``, ``learning_rate``, ``prior_sigma`` or ``seed``.
        TwinFitError: recordings without a chip, without a run of their protocol, or with
            counts of the wrong shape (named by their path in the recordings).
    """
    _check_recordings(recordings)
    steps = integer("steps", steps, low=1)
    learning_rate = real_number("learning_rate", learning_rate, low=0.0, low_open=True)
    prior_sigma = real_number("prior_sigma", prior_sigma, low=0.0, low_open=True)
    integer("seed", seed, low=0)
    protocol = recordings.protocol
    parts = [_fit_one(chip, protocol, steps, learning_rate, prior_sigma) for chip in recordings.chips]
    defects = _merge([p.defects for p in parts])
    addresses = tuple(a for chip in recordings.chips for a in chip.addresses(protocol))
    theta = np.concatenate([p.theta for p in parts])
    quality = _quality(parts, recordings)
    return Twin(twin_profile(ChipProfile.ideal(), defects, addresses, theta), defects, addresses, theta, quality, protocol)


class _ChipFit(NamedTuple):
    """One chip's fit, per probed neuron."""

    defects: FoundDefects
    theta: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    loss_per_bin: np.ndarray
    fitted: np.ndarray
    held_out: Optional[Tuple[np.ndarray, np.ndarray]]


def _fit_one(chip: ChipRecording, protocol: ProbeProtocol, steps: int, learning_rate: float, prior_sigma: float) -> _ChipFit:
    defects = find_defects(chip, protocol)
    addresses = chip.addresses(protocol)
    fitted = np.array([a not in defects.dead and a not in defects.always_on for a in addresses])
    every = {r.name: r for r in replay_runs(chip, protocol, defects, FITTED_RUNS + ("refractory",))}  # each configuration built once
    runs = [every[name] for name in replayed_names(protocol, FITTED_RUNS)]
    if _timed(chip, protocol):
        from .staged import fit_staged

        theta, first, last = fit_staged(chip, protocol, defects, fitted, prior_sigma, runs=every)
    else:
        theta, first, last = _fit_chip(runs, protocol, fitted, steps, learning_rate, prior_sigma)
    bins = sum(r.observed.shape[0] for r in runs)
    data_loss = _count_losses(theta, runs, protocol)
    held = _held_out(theta, chip, protocol, defects) if protocol.held_out else None
    return _ChipFit(defects, theta, first, last, data_loss / bins, fitted, held)


def _run_count_loss(theta, values, rest, inputs, observed, dt: float, bin_steps: int):
    """``(N,)`` one run's :func:`_count_loss`, the run's arrays arguments (jax)."""
    return _count_loss(binned(spikes_per_step(theta, values, rest, inputs, dt, 1e-8), bin_steps), observed)


@functools.lru_cache(maxsize=1)
def _compiled_count_loss():
    """:func:`_run_count_loss` jitted once per process (the run's arrays are arguments)."""
    import jax

    return jax.jit(_run_count_loss, static_argnames=("dt", "bin_steps"))


def _count_losses(theta: np.ndarray, runs: Sequence[ReplayRun], protocol: ProbeProtocol) -> np.ndarray:
    """``(N,)`` the count loss of ``theta`` on ``runs`` (without the prior)."""
    import jax.numpy as jnp

    loss = _compiled_count_loss()
    th = jnp.asarray(theta, dtype=jnp.float32)
    total = np.zeros(theta.shape[0], dtype=np.float32)
    for run in runs:
        observed = jnp.asarray(run.observed, dtype=jnp.float32)
        total = total + np.asarray(loss(th, run.values, rest_state(run.values), run.inputs, observed, dt=protocol.dt, bin_steps=protocol.bin_steps))
    return total.astype(np.float64)


def _timed(chip: ChipRecording, protocol: ProbeProtocol) -> bool:
    """Whether the staged fit on spike times applies: timing runs, with their spikes recorded."""
    return bool(protocol.timing_runs()) and all(name in chip.spikes for name in protocol.timing_runs())


def _quality(parts: Sequence[_ChipFit], recordings: ProbeRecordings) -> FitQuality:
    cat = lambda field: np.concatenate([getattr(p, field) for p in parts])  # noqa: E731
    fitted = cat("fitted")
    held = None
    correlation = None
    if recordings.protocol.held_out:
        held = tuple(np.concatenate([p.held_out[i] for p in parts]) for i in (0, 1))
        observed, predicted = held[0][fitted], held[1][fitted]
        if observed.size > 1 and observed.std() > 0 and predicted.std() > 0:
            correlation = float(np.corrcoef(observed, predicted)[0, 1])
    return FitQuality(cat("initial_loss"), cat("final_loss"), cat("loss_per_bin"), correlation, held, fitted)


def quantity_errors(twin: Twin, truth: ChipProfile) -> Dict[str, np.ndarray]:
    """``{quantity: (N,) relative error}`` of the twin's identifiable quantities against a
    known profile's (a virtual chip's), for the fitted neurons."""
    instance("truth", truth, ChipProfile)
    core = twin.protocol.core(max(twin.protocol.dc_levels))
    true = effective_quantities(truth, twin.addresses, core)
    estimate = twin.quantities()
    fitted = twin.quality.fitted
    return {k: (estimate[k] / true[k] - 1.0)[fitted] for k in QUANTITY_NAMES}

