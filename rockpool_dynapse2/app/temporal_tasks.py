"""Built-in temporal classification tasks: classes that only spike timing tells apart.

Every task is generated locally from a seed (no download) and returns a
:class:`~rockpool_dynapse2.app.tasks.Task` (``x`` ``(B, T, C)`` float32 spike counts per
1 ms step, ``y`` int64, balanced classes). In every task each channel's spike total has
the *same distribution* in every class (not only the same mean): the events that make a
class (bursts, waves, beats) are drawn with class-independent spike counts and channels,
and only *when* they happen depends on the class. Two baselines make this measurable:

* :func:`count_baseline`: a multinomial logistic regression on per-channel spike totals;
  it stays at chance (``1 / K``) on every task here.
* :func:`timing_baseline`: the same regression on spike counts in a few time bins per
  channel (plus, by default, products of channel-summed bins, for the tasks whose
  classes are not a linear function of the bins, such as XOR); well above chance.

The tasks:

* :func:`temporal_xor`: two bits, one after the other, each a burst on the same channel
  group, early or late in its window; the class is their XOR.
* :func:`beat_anomaly`: an ECG-like train of beats (P, QRS, T waves on three channel
  groups); normal rhythm, one premature beat, or one beat with its waves reversed.
* :func:`burst_detection`: a short high-frequency (HFO-like) burst on a few channels in
  Poisson noise, or the same extra spikes dispersed in time.
* :func:`emg_gesture`: gestures as temporal orders and overlaps of muscle (channel
  group) bursts, each muscle firing the same number of spikes in every gesture.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from ..errors import ParameterValueError
from .task_base import Task, _check_delay, _check_fraction, _check_int, _check_positive, _labels, _split

__all__ = [
    "TEMPORAL_TASKS",
    "temporal_xor",
    "beat_anomaly",
    "burst_detection",
    "emg_gesture",
    "count_baseline",
    "timing_baseline",
    "logistic_accuracy",
    "BEAT_WAVES",
    "GESTURES",
]


# --------------------------------------------------------------------------- helpers


def _check_rate(name: str, value: float) -> float:
    if not (np.isfinite(value) and value >= 0):
        raise ParameterValueError(name, "a rate >= 0 (Hz)", value)
    return float(value)


def _check_steps(duration: float, dt: float, test_fraction: float) -> Tuple[float, int, float]:
    """``(dt, T, test_fraction)`` after checking them."""
    duration, dt = _check_positive("duration", duration), _check_positive("dt", dt)
    test_fraction = _check_fraction("test_fraction", test_fraction, closed_high=False)
    T = int(round(duration / dt))
    if T < 1:
        raise ParameterValueError("duration", f"at least one time step (dt = {dt} s)", duration)
    return dt, T, test_fraction


def _check_fits(needed: float, duration: float, what: str) -> None:
    if needed > duration + 1e-12:
        raise ParameterValueError("duration", f"at least {needed:.4g} s ({what})", duration)


def _wave(
    rng: np.random.Generator, channels: np.ndarray, mean_spikes: float, start: float, width: float, dt: float
) -> Tuple[np.ndarray, np.ndarray]:
    """Spikes of a burst: ``Poisson(mean_spikes)`` per channel, uniform in ``[start, start + width)`` (s).

    Returns ``(steps, channels)``, one entry per spike.
    """
    n = rng.poisson(mean_spikes, size=channels.size)
    ch = np.repeat(channels, n)
    t = start + width * rng.random(ch.size)
    return np.floor(t / dt).astype(np.int64), ch


def _raster(
    rng: np.random.Generator, n_samples: int, T: int, n_channels: int, noise_rate: float, dt: float
) -> np.ndarray:
    """Background: independent Poisson noise at ``noise_rate`` on every channel."""
    return rng.poisson(noise_rate * dt, size=(n_samples, T, n_channels)).astype(np.float32)


def _add(x_b: np.ndarray, t: np.ndarray, ch: np.ndarray) -> None:
    """Add one spike per entry to the sample ``x_b`` ``(T, C)``; spikes outside ``[0, T)`` are dropped."""
    keep = (t >= 0) & (t < x_b.shape[0])
    np.add.at(x_b, (t[keep], ch[keep]), 1.0)


def _groups(n_channels: int, n_groups: int) -> Tuple[np.ndarray, ...]:
    """``n_groups`` contiguous channel groups of (nearly) equal size."""
    return tuple(np.array_split(np.arange(n_channels), n_groups))


def _task(x, y, test_fraction, n_classes, dt, name, class_names) -> Task:
    return Task(*_split(x, y, test_fraction), n_classes=n_classes, dt=dt, name=name, class_names=tuple(class_names))


# --------------------------------------------------------------------------- tasks


def temporal_xor(
    n_samples: int = 1200,
    seed: int = 0,
    *,
    n_channels: int = 32,
    signal_channels: int = 16,
    burst_spikes: float = 3.0,
    burst_width: float = 0.02,
    window: float = 0.2,
    jitter: float = 0.02,
    noise_rate: float = 10.0,
    dt: float = 1e-3,
    test_fraction: float = 0.5,
) -> Task:
    """Temporal XOR: two bits presented one after the other; the class is their XOR.

    A sample is two windows of length ``window``. Each window holds one bit: a burst on
    the *same* ``signal_channels`` channels (the first ones), ``burst_width`` long with
    ``Poisson(burst_spikes)`` spikes per channel, centred at a quarter of the window for
    bit 0 or at three quarters for bit 1, moved by a uniform random time in
    ``[-jitter, jitter]``. Every channel also fires Poisson noise at ``noise_rate``.
    The class is ``bit_1 XOR bit_2``: 0 when the two bursts are one window apart, 1 when
    they are half or one and a half windows apart.

    Every sample has exactly two bursts on the same channels, so the spike total of every
    channel has the same distribution in both classes; not even the spike counts within a
    time bin tell the class linearly (each bin is as often active in both classes), so a
    classifier must combine the two bursts' times: a memory of the first bit until the
    second, as in the original task.

    This is our spike encoding of the temporal XOR used in Rockpool's WaveSense tutorial
    (``docs/tutorials/wavesense_temporal_xor.ipynb``, https://rockpool.ai): there, the two
    stimuli A and B are frozen random patterns on the two halves of the channels, and
    the target is ``XOR(first, second)`` after a random delay. In that encoding the
    channel totals give the class away (``XOR = 1`` exactly when both halves are active);
    here the bits are coded by burst position on one channel group instead, so only the
    timing does.

    Args:
        n_samples: samples in both splits together (>= 4), balanced classes.
        seed: seed; the same seed gives the same task.
        n_channels: input channels.
        signal_channels: channels carrying the bursts (the first ones), in ``1 .. n_channels``.
        burst_spikes: mean spikes of a burst per signal channel (> 0).
        burst_width: length of a burst (s), at most ``window / 2``.
        window: length of a bit's window (s); a sample is ``2 window`` long.
        jitter: largest random shift of a burst (s), at most ``window / 4 - burst_width / 2``
            (a burst stays inside its half of the window).
        noise_rate: background Poisson rate of every channel (Hz), >= 0.
        dt: time step (s).
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task` named ``"temporal-xor"``; ``x`` ``(B, round(2 window / dt), n_channels)``.

    Raises:
        ParameterValueError: for a value outside its range.
    """
    n_samples = _check_int("n_samples", n_samples, 4)
    n_channels = _check_int("n_channels", n_channels, 1)
    signal_channels = _check_int("signal_channels", signal_channels, 1)
    if signal_channels > n_channels:
        raise ParameterValueError("signal_channels", f"at most n_channels = {n_channels}", signal_channels)
    burst_spikes = _check_positive("burst_spikes", burst_spikes)
    window = _check_positive("window", window)
    burst_width = _check_positive("burst_width", burst_width)
    if burst_width > window / 2:
        raise ParameterValueError("burst_width", f"at most window / 2 = {window / 2:.4g} s", burst_width)
    jitter = _check_delay("jitter", jitter)
    if jitter > window / 4 - burst_width / 2 + 1e-12:
        limit = window / 4 - burst_width / 2
        raise ParameterValueError("jitter", f"at most window / 4 - burst_width / 2 = {limit:.4g} s", jitter)
    noise_rate = _check_rate("noise_rate", noise_rate)
    dt, T, test_fraction = _check_steps(2 * window, dt, test_fraction)

    rng = np.random.default_rng(seed)
    y = _labels(n_samples, 2, rng)
    first = rng.integers(0, 2, size=n_samples)
    bits = np.stack([first, first ^ y], axis=1)  # (B, 2)
    x = _raster(rng, n_samples, T, n_channels, noise_rate, dt)
    signal = np.arange(signal_channels)
    for b in range(n_samples):
        for w in range(2):
            centre = window * (w + 0.25 + 0.5 * bits[b, w]) + rng.uniform(-jitter, jitter)
            _add(x[b], *_wave(rng, signal, burst_spikes, centre - burst_width / 2, burst_width, dt))
    return _task(x, y, test_fraction, 2, dt, "temporal-xor", ("same bits", "different bits"))


BEAT_WAVES = ("P", "QRS", "T")
"""The waves of a beat, one channel group each, in their normal order."""

_WAVE_ONSETS = np.array([0.0, 0.25, 0.5])
"""Onset of each wave after the beat's onset, in periods."""

_WAVE_WIDTHS = np.array([0.15, 0.1, 0.25])
"""Length of each wave, in periods."""

_WAVE_SPIKES = np.array([2.0, 4.0, 3.0])
"""Mean spikes of each wave per channel of its group (times ``spikes_scale``)."""


def beat_anomaly(
    n_samples: int = 1200,
    seed: int = 0,
    *,
    n_channels: int = 30,
    n_beats: int = 4,
    period: float = 0.1,
    period_jitter: float = 0.1,
    prematurity: float = 0.4,
    spikes_scale: float = 1.0,
    noise_rate: float = 10.0,
    duration: float = 0.45,
    dt: float = 1e-3,
    test_fraction: float = 0.5,
) -> Task:
    """ECG-like beat anomalies: normal rhythm, a premature beat, or a beat with reversed waves.

    The channels form three contiguous groups, one per wave of a beat: ``P``, ``QRS`` and
    ``T``. A beat is a stereotyped sequence: the P wave at its onset, QRS a quarter
    period later and T half a period later; each wave lasts 0.15, 0.1 and 0.25 periods and
    gives every channel of its group ``Poisson(m spikes_scale)`` spikes (``m`` = 2, 4, 3).
    A sample is ``n_beats`` beats; its period is drawn uniformly in
    ``period (1 +- period_jitter)`` (heart-rate variability) and its first onset
    uniformly in ``[0.05, 0.3]`` periods. Every channel also fires Poisson noise at
    ``noise_rate``. The classes:

    * ``normal``: a regular rhythm;
    * ``premature``: one beat (not the first, chosen at random) comes ``prematurity``
      periods early, followed by a compensatory pause (the next beat is on time);
    * ``reversed``: one beat (not the first) has its waves in reversed order (T-group
      first, P-group last), on time.

    Every class has the same beats with the same waves, so every channel's spike total
    has the same distribution in every class; only the intervals between beats and the
    order of the waves within a beat tell them apart.

    Args:
        n_samples: samples in both splits together (>= 6), balanced classes.
        seed: seed; the same seed gives the same task.
        n_channels: input channels (>= 3), split into the P, QRS and T groups.
        n_beats: beats per sample (>= 2).
        period: mean interval between beats (s).
        period_jitter: relative spread of a sample's period, in [0, 1).
        prematurity: how early a premature beat comes, in periods, in (0, 1).
        spikes_scale: factor on the mean spikes per channel of every wave (> 0).
        noise_rate: background Poisson rate of every channel (Hz), >= 0.
        duration: length of a sample (s); must hold ``n_beats`` beats at the longest period.
        dt: time step (s).
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task` named ``"beat-anomaly"``, classes ``("normal", "premature", "reversed")``.

    Raises:
        ParameterValueError: for a value outside its range (also when the beats do not fit
            in ``duration``).
    """
    n_samples = _check_int("n_samples", n_samples, 6)
    n_channels = _check_int("n_channels", n_channels, 3)
    n_beats = _check_int("n_beats", n_beats, 2)
    period = _check_positive("period", period)
    period_jitter = _check_fraction("period_jitter", period_jitter, closed_high=False)
    prematurity = _check_fraction("prematurity", prematurity, closed_high=False)
    if prematurity == 0:
        raise ParameterValueError("prematurity", "a fraction in (0, 1)", prematurity)
    spikes_scale = _check_positive("spikes_scale", spikes_scale)
    noise_rate = _check_rate("noise_rate", noise_rate)
    dt, T, test_fraction = _check_steps(duration, dt, test_fraction)
    longest = period * (1 + period_jitter)
    _check_fits(0.3 * period + (n_beats - 1) * longest + (_WAVE_ONSETS + _WAVE_WIDTHS).max() * longest, duration,
                f"{n_beats} beats at a period of up to {longest:.4g} s")

    rng = np.random.default_rng(seed)
    y = _labels(n_samples, 3, rng)
    x = _raster(rng, n_samples, T, n_channels, noise_rate, dt)
    groups = _groups(n_channels, 3)
    for b, c in enumerate(y):
        p = period * rng.uniform(1 - period_jitter, 1 + period_jitter)
        onsets = period * rng.uniform(0.05, 0.3) + p * np.arange(n_beats)
        odd = rng.integers(1, n_beats)  # the anomalous beat (drawn in every class)
        if c == 1:
            onsets[odd] -= prematurity * p
        for k, onset in enumerate(onsets):
            order = _WAVE_ONSETS[::-1] if (c == 2 and k == odd) else _WAVE_ONSETS
            for g in range(3):
                t, ch = _wave(rng, groups[g], _WAVE_SPIKES[g] * spikes_scale, onset + order[g] * p,
                              _WAVE_WIDTHS[g] * p, dt)
                _add(x[b], t, ch)
    return _task(x, y, test_fraction, 3, dt, "beat-anomaly", ("normal", "premature", "reversed"))


def burst_detection(
    n_samples: int = 1200,
    seed: int = 0,
    *,
    n_channels: int = 32,
    burst_channels: int = 12,
    burst_frequency: float = 200.0,
    burst_cycles: int = 6,
    p_spike: float = 0.7,
    noise_rate: float = 10.0,
    duration: float = 0.4,
    dt: float = 1e-3,
    test_fraction: float = 0.5,
) -> Task:
    """High-frequency-oscillation bursts in noise: a burst, or the same spikes dispersed?

    Every channel fires Poisson noise at ``noise_rate``. Every sample also has extra
    spikes on ``burst_channels`` adjacent channels (a random block, wrapping around):
    each of these channels gets ``Binomial(burst_cycles, p_spike)`` extra spikes. In the
    ``burst`` class they form a high-frequency oscillation: one chance of a spike per
    cycle of ``burst_frequency``, the cycles at a random time (all channels in phase,
    each spike moved by at most 1 ms); in the ``dispersed`` class the same numbers of
    extra spikes fall at uniform random times over the whole sample.

    The channels and the numbers of extra spikes are drawn the same way in both classes,
    so every channel's spike total has the same distribution; only their coincidence in
    a few milliseconds (which a neuron with a high threshold or short time constants
    detects) tells the classes apart.

    Args:
        n_samples: samples in both splits together (>= 4), balanced classes.
        seed: seed; the same seed gives the same task.
        n_channels: input channels.
        burst_channels: channels with extra spikes, in ``1 .. n_channels``.
        burst_frequency: frequency of the oscillation (Hz), at most ``1 / (2 dt)``.
        burst_cycles: cycles of a burst (>= 1): the most extra spikes per channel.
        p_spike: probability of a spike per channel and cycle, in (0, 1].
        noise_rate: background Poisson rate of every channel (Hz), >= 0.
        duration: length of a sample (s), longer than a burst.
        dt: time step (s).
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task` named ``"burst-detection"``, classes ``("dispersed", "burst")``.

    Raises:
        ParameterValueError: for a value outside its range.
    """
    n_samples = _check_int("n_samples", n_samples, 4)
    n_channels = _check_int("n_channels", n_channels, 1)
    burst_channels = _check_int("burst_channels", burst_channels, 1)
    if burst_channels > n_channels:
        raise ParameterValueError("burst_channels", f"at most n_channels = {n_channels}", burst_channels)
    dt, T, test_fraction = _check_steps(duration, dt, test_fraction)
    burst_frequency = _check_positive("burst_frequency", burst_frequency)
    if burst_frequency > 1 / (2 * dt):
        raise ParameterValueError("burst_frequency", f"at most 1 / (2 dt) = {1 / (2 * dt):.4g} Hz", burst_frequency)
    burst_cycles = _check_int("burst_cycles", burst_cycles, 1)
    p_spike = _check_fraction("p_spike", p_spike)
    if p_spike == 0:
        raise ParameterValueError("p_spike", "a probability in (0, 1]", p_spike)
    noise_rate = _check_rate("noise_rate", noise_rate)
    length = burst_cycles / burst_frequency
    _check_fits(length + 2 * dt, duration, f"a burst of {burst_cycles} cycles at {burst_frequency:g} Hz")

    rng = np.random.default_rng(seed)
    y = _labels(n_samples, 2, rng)
    x = _raster(rng, n_samples, T, n_channels, noise_rate, dt)
    cycle_times = np.arange(burst_cycles) / burst_frequency
    for b, c in enumerate(y):
        channels = (rng.integers(n_channels) + np.arange(burst_channels)) % n_channels
        spikes = rng.random((burst_channels, burst_cycles)) < p_spike  # which cycles fire, per channel
        ch = np.repeat(channels, spikes.sum(axis=1))
        if c == 1:
            start = rng.uniform(dt, duration - length - dt)
            times = start + np.broadcast_to(cycle_times, spikes.shape)[spikes] + rng.uniform(-dt, dt, size=ch.size)
        else:
            times = rng.uniform(0, duration, size=ch.size)
        _add(x[b], np.floor(times / dt).astype(np.int64), ch)
    return _task(x, y, test_fraction, 2, dt, "burst-detection", ("dispersed", "burst"))


def _gesture_onsets(n_muscles: int) -> Dict[str, np.ndarray]:
    """Each gesture's burst onset per muscle, in units of the stagger."""
    m = np.arange(n_muscles)
    return {
        "forward sweep": m.astype(float),
        "reverse sweep": (n_muscles - 1 - m).astype(float),
        "co-contraction": np.full(n_muscles, (n_muscles - 1) / 2),
        "alternating pairs": np.where(m % 2 == 0, 0.0, float(n_muscles - 1)),
    }


GESTURES = tuple(_gesture_onsets(2))
"""The gestures of :func:`emg_gesture`, in class order."""


def emg_gesture(
    n_samples: int = 1200,
    seed: int = 0,
    *,
    n_channels: int = 32,
    n_muscles: int = 4,
    burst_duration: float = 0.08,
    burst_rate: float = 100.0,
    stagger: float = 0.02,
    onset_jitter: float = 0.015,
    gain_jitter: float = 0.3,
    noise_rate: float = 5.0,
    duration: float = 0.4,
    dt: float = 1e-3,
    test_fraction: float = 0.5,
) -> Task:
    """EMG-like gestures: which order and overlap of muscle bursts?

    The channels form ``n_muscles`` contiguous groups, one per muscle. In every gesture
    every muscle fires one burst of ``burst_duration``: each of its channels gets
    ``Poisson(burst_rate burst_duration g)`` spikes at uniform times in the burst, with
    a gain ``g`` drawn per muscle uniformly in ``1 +- gain_jitter``. The gestures differ
    only in the muscles' onsets (multiples of ``stagger``, muscle ``m = 0 .. M-1``):

    * ``forward sweep``: muscle ``m`` at ``m``;
    * ``reverse sweep``: at ``M - 1 - m``;
    * ``co-contraction``: all together at ``(M - 1) / 2``;
    * ``alternating pairs``: even muscles at 0, odd ones at ``M - 1``.

    A gesture starts at a random time (uniform, the whole gesture inside the sample) and
    every burst moves by a uniform random time in ``[-onset_jitter, onset_jitter]``.
    Every channel also fires Poisson noise at ``noise_rate``. Every muscle fires the
    same number of spikes (in distribution) in every gesture, so spike totals carry no
    information; the order and overlap of the bursts do. By default the stagger (20 ms)
    is a quarter of a burst (80 ms) and about the onset jitter, so the bursts of a
    gesture overlap heavily and neighbouring muscles sometimes swap order: a larger
    ``stagger`` makes the task easy (60 ms: a time-bin regression scores 100 %).

    Args:
        n_samples: samples in both splits together (>= 8), balanced classes.
        seed: seed; the same seed gives the same task.
        n_channels: input channels (>= ``n_muscles``).
        n_muscles: muscles (channel groups), >= 2.
        burst_duration: length of a burst (s).
        burst_rate: rate of a channel during a burst (Hz), before the gain.
        stagger: onset step between muscles (s), > 0.
        onset_jitter: largest random shift of a burst (s), >= 0.
        gain_jitter: relative spread of a muscle's burst strength, in [0, 1).
        noise_rate: background Poisson rate of every channel (Hz), >= 0.
        duration: length of a sample (s), enough for the longest gesture.
        dt: time step (s).
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task` named ``"emg-gesture"``, classes :data:`GESTURES`.

    Raises:
        ParameterValueError: for a value outside its range.
    """
    n_samples = _check_int("n_samples", n_samples, 8)
    n_muscles = _check_int("n_muscles", n_muscles, 2)
    n_channels = _check_int("n_channels", n_channels, n_muscles)
    burst_duration = _check_positive("burst_duration", burst_duration)
    burst_rate = _check_positive("burst_rate", burst_rate)
    stagger = _check_positive("stagger", stagger)
    onset_jitter = _check_delay("onset_jitter", onset_jitter)
    gain_jitter = _check_fraction("gain_jitter", gain_jitter, closed_high=False)
    noise_rate = _check_rate("noise_rate", noise_rate)
    dt, T, test_fraction = _check_steps(duration, dt, test_fraction)
    span = (n_muscles - 1) * stagger + burst_duration + 2 * onset_jitter
    _check_fits(span, duration, f"{n_muscles} muscle bursts staggered by {stagger:g} s")

    gestures = _gesture_onsets(n_muscles)
    onsets = np.stack(list(gestures.values())) * stagger  # (K, M)
    rng = np.random.default_rng(seed)
    y = _labels(n_samples, len(gestures), rng)
    x = _raster(rng, n_samples, T, n_channels, noise_rate, dt)
    groups = _groups(n_channels, n_muscles)
    for b, c in enumerate(y):
        start = onset_jitter + rng.uniform(0, duration - span)
        gains = rng.uniform(1 - gain_jitter, 1 + gain_jitter, size=n_muscles)
        for m in range(n_muscles):
            onset = start + onsets[c, m] + rng.uniform(-onset_jitter, onset_jitter)
            _add(x[b], *_wave(rng, groups[m], burst_rate * burst_duration * gains[m], onset, burst_duration, dt))
    return _task(x, y, test_fraction, len(gestures), dt, "emg-gesture", tuple(gestures))


TEMPORAL_TASKS = {
    "temporal-xor": temporal_xor,
    "beat-anomaly": beat_anomaly,
    "burst-detection": burst_detection,
    "emg-gesture": emg_gesture,
}
"""The temporal tasks by command-line name."""


# --------------------------------------------------------------------------- baselines


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def logistic_accuracy(
    f_train: np.ndarray,
    y_train: np.ndarray,
    f_test: np.ndarray,
    y_test: np.ndarray,
    n_classes: int,
    *,
    l2: float = 1e-2,
    n_steps: int = 500,
) -> float:
    """Test accuracy of a multinomial logistic regression on standardised features.

    Full-batch Nesterov-accelerated gradient descent on the mean cross-entropy plus
    ``l2 / 2 ||W||^2``, with the step ``1 / L`` from the loss's Lipschitz bound
    ``L = ||F||_2^2 / (2 n) + l2``; the features are standardised with the training
    split's mean and standard deviation.

    Args:
        f_train: ``(B_train, D)`` training features.
        y_train: ``(B_train,)`` labels in ``0 .. n_classes - 1``.
        f_test: ``(B_test, D)`` test features.
        y_test: ``(B_test,)`` labels.
        n_classes: number of classes.
        l2: L2 penalty on the weights (>= 0).
        n_steps: gradient steps (>= 1).

    Returns:
        The fraction of test samples classified correctly.
    """
    if not (np.isfinite(l2) and l2 >= 0):
        raise ParameterValueError("l2", "a penalty >= 0", l2)
    n_steps = _check_int("n_steps", n_steps, 1)
    f_train, f_test = np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)
    mean, std = f_train.mean(axis=0), f_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    a = np.hstack([(f_train - mean) / std, np.ones((len(f_train), 1))])
    a_test = np.hstack([(f_test - mean) / std, np.ones((len(f_test), 1))])
    onehot = np.eye(n_classes)[y_train]
    n = len(a)
    step = 1.0 / (np.linalg.norm(a, 2) ** 2 / (2 * n) + l2)
    mask = np.ones((a.shape[1], 1))
    mask[-1] = 0.0  # no penalty on the bias
    w = v = np.zeros((a.shape[1], n_classes))
    for k in range(n_steps):
        grad = a.T @ (_softmax(a @ v) - onehot) / n + l2 * mask * v
        w_next = v - step * grad
        v = w_next + (k / (k + 3)) * (w_next - w)
        w = w_next
    return float(np.mean(np.argmax(a_test @ w, axis=1) == y_test))


def _totals(x: np.ndarray) -> np.ndarray:
    return x.sum(axis=1)


def _binned(x: np.ndarray, n_bins: int) -> np.ndarray:
    """``(B, n_bins, C)`` spike counts in ``n_bins`` (nearly) equal time bins."""
    edges = np.linspace(0, x.shape[1], n_bins + 1).round().astype(int)
    return np.add.reduceat(x, edges[:-1], axis=1)


def _timing_features(x: np.ndarray, n_bins: int, interactions: bool) -> np.ndarray:
    bins = _binned(x, n_bins)
    features = [bins.reshape(len(x), -1)]
    if interactions:
        pooled = bins.sum(axis=2)  # (B, n_bins)
        i, j = np.triu_indices(n_bins)
        features.append(pooled[:, i] * pooled[:, j])
    return np.hstack(features)


def count_baseline(task: Task, *, l2: float = 1e-2, n_steps: int = 500) -> float:
    """Test accuracy of a logistic regression on per-channel spike totals (no timing).

    The features of a sample are the ``C`` spike totals of its channels, ``x.sum(1)``.
    On the temporal tasks of this module it stays at chance (``1 / n_classes`` up to the
    test set's sampling error): the totals have the same distribution in every class.

    Args:
        task: the task (its training split fits, its test split scores).
        l2: L2 penalty of the regression.
        n_steps: gradient steps.

    Returns:
        The test accuracy in [0, 1].
    """
    return logistic_accuracy(
        _totals(task.x_train), task.y_train, _totals(task.x_test), task.y_test, task.n_classes, l2=l2, n_steps=n_steps
    )


def timing_baseline(
    task: Task, n_bins: int = 10, *, interactions: bool = True, l2: float = 1e-2, n_steps: int = 500
) -> float:
    """Test accuracy of a logistic regression on spike counts in time bins.

    The features of a sample are the spike counts of every channel in ``n_bins`` equal
    time bins (``n_bins C`` features) and, with ``interactions``, the products of every
    pair of channel-summed bin counts (``n_bins (n_bins + 1) / 2`` more, squares
    included). The products let a linear readout see conjunctions of events in time —
    a burst early *and* another late (XOR), or spikes crowded into one bin (a
    burst) — which no weighted sum of bin counts can express.

    Args:
        task: the task (its training split fits, its test split scores).
        n_bins: time bins per channel, in ``1 .. T``.
        interactions: add the products of channel-summed bins.
        l2: L2 penalty of the regression.
        n_steps: gradient steps.

    Returns:
        The test accuracy in [0, 1].
    """
    n_bins = _check_int("n_bins", n_bins, 1)
    if n_bins > task.x_train.shape[1]:
        raise ParameterValueError("n_bins", f"at most T = {task.x_train.shape[1]}", n_bins)
    f_train = _timing_features(task.x_train, n_bins, interactions)
    f_test = _timing_features(task.x_test, n_bins, interactions)
    return logistic_accuracy(f_train, task.y_train, f_test, task.y_test, task.n_classes, l2=l2, n_steps=n_steps)
