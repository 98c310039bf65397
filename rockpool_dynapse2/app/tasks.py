"""Built-in classification tasks for the demo, the training study and quick experiments.

Every task is generated locally from a seed (no download) and returns a :class:`Task`:
a training and a held-out test split of spike-count rasters ``x`` ``(B, T, C)``
(float32, spikes per time step) with integer labels ``y`` ``(B,)``. Classes are
balanced and interleaved (sample ``b`` has class ``b % n_classes`` before shuffling).

* :func:`frozen_noise`: Rockpool's tutorial task (60 Poisson channels at 50 Hz, 500 ms,
  ``dt`` = 1 ms, 2 classes, each class one frozen noise pattern). Here every sample is a
  noisy copy of its class pattern (spikes jittered in time, some dropped, as many added
  at random), so a held-out test set measures generalisation rather than memory.
* the temporal tasks of :mod:`.temporal_tasks` (:func:`temporal_xor`, :func:`beat_anomaly`,
  :func:`burst_detection`, :func:`emg_gesture`), whose per-channel spike totals carry no
  class information;
* :func:`rate_frequency`: a temporal task. Every channel fires as an inhomogeneous
  Poisson process whose rate is modulated sinusoidally at one of ``K`` frequencies (the
  class), the modulation reaching the channels one after the other; the mean rate is the
  same for every class, so only the temporal structure — filtered by the synaptic and
  membrane dynamics — tells the classes apart.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ParameterValueError
from .task_base import Task, _check_common, _check_delay, _check_fraction, _check_int, _labels, _split
from .temporal_tasks import TEMPORAL_TASKS, beat_anomaly, burst_detection, emg_gesture, temporal_xor

__all__ = [
    "Task",
    "TASKS",
    "frozen_noise",
    "rate_frequency",
    "temporal_xor",
    "beat_anomaly",
    "burst_detection",
    "emg_gesture",
    "make_task",
]


def frozen_noise(
    n_samples: int = 200,
    seed: int = 0,
    *,
    n_channels: int = 60,
    rate: float = 50.0,
    duration: float = 0.5,
    dt: float = 1e-3,
    n_classes: int = 2,
    jitter: float = 5e-3,
    p_drop: float = 0.3,
    test_fraction: float = 0.5,
) -> Task:
    """Frozen-noise classification: each class is one frozen Poisson pattern.

    Every class has one pattern: ``n_channels`` independent Poisson spike trains at
    ``rate``. A sample of a class is its pattern with every spike moved by a uniform
    random time in ``[-jitter, jitter]`` (wrapping around the end), each spike dropped
    with probability ``p_drop``, and as many spikes added at random (a Poisson process at
    ``p_drop * rate``), so the expected rate of every channel stays ``rate``.

    Args:
        n_samples: samples in both splits together (>= 2 ``n_classes``), balanced classes.
        seed: seed of the patterns and the noise; the same seed gives the same task.
        n_channels: input channels (Rockpool's tutorial: 60).
        rate: mean firing rate of every channel (Hz).
        duration: length of a sample (s).
        dt: time step (s).
        n_classes: number of classes (patterns).
        jitter: largest time shift of a spike (s).
        p_drop: fraction of the pattern's spikes replaced by random spikes, in [0, 1].
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task`; ``x`` ``(B, round(duration / dt), n_channels)`` float32.

    Raises:
        ParameterValueError: for a value outside its range.
    """
    n_classes = _check_int("n_classes", n_classes, 2)
    n_samples = _check_int("n_samples", n_samples, 2 * n_classes)
    n_channels, rate, dt, T, test_fraction = _check_common(n_channels, rate, duration, dt, test_fraction)
    jitter = _check_delay("jitter", jitter)
    p_drop = _check_fraction("p_drop", p_drop)

    rng = np.random.default_rng(seed)
    patterns = rng.poisson(rate * dt, size=(n_classes, T, n_channels))
    y = _labels(n_samples, n_classes, rng)
    shift_max = int(round(jitter / dt))
    x = np.zeros((n_samples, T, n_channels), dtype=np.float32)
    for b, c in enumerate(y):
        t, ch = np.nonzero(patterns[c])
        counts = patterns[c][t, ch]
        t, ch = np.repeat(t, counts), np.repeat(ch, counts)  # one entry per spike
        keep = rng.random(t.size) >= p_drop
        t, ch = t[keep], ch[keep]
        t = (t + rng.integers(-shift_max, shift_max + 1, size=t.size)) % T
        np.add.at(x[b], (t, ch), 1.0)
        x[b] += rng.poisson(p_drop * rate * dt, size=(T, n_channels)).astype(np.float32)
    names = tuple(f"pattern {k}" for k in range(n_classes))
    return Task(*_split(x, y, test_fraction), n_classes=n_classes, dt=dt, name="frozen-noise", class_names=names)


def rate_frequency(
    n_samples: int = 240,
    seed: int = 0,
    *,
    frequencies: Sequence[float] = (5.0, 10.0, 20.0, 40.0),
    n_channels: int = 32,
    rate: float = 50.0,
    depth: float = 1.0,
    channel_delay: float = 1e-3,
    rate_jitter: float = 0.1,
    duration: float = 0.5,
    dt: float = 1e-3,
    test_fraction: float = 0.5,
) -> Task:
    """Rate-modulation frequency classification: which frequency modulates the inputs?

    Channel ``c`` of a sample of class ``k`` is an inhomogeneous Poisson process with rate
    ``r (1 + depth sin(2 pi f_k (t - c channel_delay) + phi))``: a wave of rate
    modulation that reaches the channels one after the other (as a travelling wave
    passes a row of sensors), with one random phase ``phi`` and one mean rate ``r``
    (uniform within ``rate (1 +- rate_jitter)``) per sample. The expected spike count of
    every channel is the same for every class, so no classifier of spike counts can tell
    the classes apart: a network must use the temporal structure — which channels are
    modulated together depends on the frequency, and how much of the modulation passes
    the synaptic (low-pass) and membrane dynamics, too. ``channel_delay = 0`` modulates
    all channels in phase (then only the modulation's frequency content remains, a much
    harder task for spike-count readouts).

    Args:
        n_samples: samples in both splits together (>= 2 K), balanced classes.
        seed: seed; the same seed gives the same task.
        frequencies: the K modulation frequencies (Hz), one per class, >= 2 of them.
        n_channels: input channels.
        rate: mean firing rate of every channel (Hz).
        depth: modulation depth in [0, 1].
        channel_delay: delay of the modulation from one channel to the next (s), >= 0.
        rate_jitter: relative spread of the per-sample mean rate, in [0, 1].
        duration: length of a sample (s).
        dt: time step (s).
        test_fraction: share of the samples held out for testing, in [0, 1).

    Returns:
        A :class:`Task`.

    Raises:
        ParameterValueError: for a value outside its range.
    """
    freqs = np.asarray(frequencies, dtype=np.float64).ravel()
    if freqs.size < 2 or not np.all(np.isfinite(freqs) & (freqs > 0)) or np.unique(freqs).size != freqs.size:
        raise ParameterValueError("frequencies", "at least 2 distinct positive frequencies (Hz)", freqs)
    K = freqs.size
    n_samples = _check_int("n_samples", n_samples, 2 * K)
    n_channels, rate, dt, T, test_fraction = _check_common(n_channels, rate, duration, dt, test_fraction)
    depth = _check_fraction("depth", depth)
    channel_delay = _check_delay("channel_delay", channel_delay)
    rate_jitter = _check_fraction("rate_jitter", rate_jitter)

    rng = np.random.default_rng(seed)
    y = _labels(n_samples, K, rng)
    t = np.arange(T) * dt
    phase = rng.uniform(0, 2 * np.pi, size=n_samples)
    mean = rate * (1 + rate_jitter * rng.uniform(-1, 1, size=n_samples))
    lag = t[None, :, None] - channel_delay * np.arange(n_channels)[None, None, :]  # (1, T, C)
    arg = 2 * np.pi * freqs[y][:, None, None] * lag + phase[:, None, None]
    r = mean[:, None, None] * (1 + depth * np.sin(arg))  # (B, T, C)
    x = rng.poisson(r * dt).astype(np.float32)
    names = tuple(f"{f:g} Hz" for f in freqs)
    return Task(*_split(x, y, test_fraction), n_classes=K, dt=dt, name="rate-frequency", class_names=names)


TASKS = {"frozen-noise": frozen_noise, "rate-frequency": rate_frequency, **TEMPORAL_TASKS}
"""Built-in tasks by command-line name (the temporal ones from :mod:`.temporal_tasks`)."""


def make_task(name: str, n_samples: int, seed: int, **kwargs) -> Task:
    """A built-in task by name (a key of :data:`TASKS`).

    Raises:
        UnknownParameterError: for an unknown name.
    """
    from ..errors import UnknownParameterError

    if name not in TASKS:
        raise UnknownParameterError("task", name, tuple(TASKS))
    return TASKS[name](n_samples, seed, **kwargs)
