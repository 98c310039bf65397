"""The temporal tasks: reproducible, well-formed, spike totals uninformative, timing informative.

Small instances (a few hundred samples, short durations where the task allows) keep every
test under a few seconds; every statistical check uses fixed seeds and a tolerance many
standard errors wide, so it cannot flake.
"""

import numpy as np
import pytest

from rockpool_dynapse2.app.tasks import Task
from rockpool_dynapse2.app.temporal_tasks import (
    TEMPORAL_TASKS,
    beat_anomaly,
    burst_detection,
    count_baseline,
    emg_gesture,
    logistic_accuracy,
    temporal_xor,
    timing_baseline,
)
from rockpool_dynapse2.errors import ParameterValueError

SMALL = {
    "temporal-xor": dict(n_channels=16, signal_channels=8, window=0.1, jitter=0.01, burst_width=0.01),
    "beat-anomaly": dict(n_channels=12),
    "burst-detection": dict(n_channels=16, burst_channels=6, duration=0.2),
    "emg-gesture": dict(n_channels=16, duration=0.25),
}
"""Options of a small, fast instance of every task."""

NAMES = sorted(TEMPORAL_TASKS)


def small(name: str, n_samples: int = 240, seed: int = 0) -> Task:
    return TEMPORAL_TASKS[name](n_samples, seed, **SMALL[name])


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_task_other_seed_other_task(name):
    a, b, c = small(name, 40, 3), small(name, 40, 3), small(name, 40, 4)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_balanced_labels(name):
    task = small(name, 120)
    K = task.n_classes
    assert 2 <= K <= 4 and len(task.class_names) == K
    assert task.name == name and task.dt == 1e-3
    assert task.x_train.dtype == np.float32 and task.y_train.dtype == np.int64
    assert task.x_train.ndim == 3 and task.x_train.shape[1:] == task.x_test.shape[1:]
    assert len(task.x_train) + len(task.x_test) == 120 and len(task.x_test) == 60
    assert np.all(task.x_train >= 0) and np.all(task.x_train == np.round(task.x_train))
    for y in (task.y_train, task.y_test):
        assert np.ptp(np.bincount(y, minlength=K)) <= 1


@pytest.mark.parametrize("name", NAMES)
def test_default_sizes(name):
    """Defaults: >= 600 training samples, 300-500 steps, 16-64 channels (checked on 8 samples)."""
    import inspect

    fn = TEMPORAL_TASKS[name]
    defaults = inspect.signature(fn).parameters
    n, frac = defaults["n_samples"].default, defaults["test_fraction"].default
    assert n - round(n * frac) >= 600
    task = fn(24, 0)  # 24 samples at the default options
    assert 300 <= task.x_train.shape[1] <= 500 and 16 <= task.x_train.shape[2] <= 64


@pytest.mark.parametrize("name", NAMES)
def test_per_channel_totals_are_equal_across_classes(name):
    """Per class, the mean spike total of every channel group agrees within 6 standard errors."""
    task = small(name, 400, seed=1)
    x = np.concatenate([task.x_train, task.x_test])
    y = np.concatenate([task.y_train, task.y_test])
    totals = x.sum(axis=1)  # (B, C)
    for c in range(1, task.n_classes):
        a, b = totals[y == 0], totals[y == c]
        se = np.sqrt(a.var(axis=0) / len(a) + b.var(axis=0) / len(b))
        z = np.abs(a.mean(axis=0) - b.mean(axis=0)) / np.maximum(se, 1e-9)
        assert z.max() < 6, (c, z.max())


@pytest.mark.parametrize("name", NAMES)
def test_count_baseline_near_chance_timing_baseline_above(name):
    task = small(name, 400, seed=2)
    chance = 1 / task.n_classes
    assert abs(count_baseline(task, n_steps=200) - chance) < 0.15
    assert timing_baseline(task, n_steps=200) > chance + 0.15


def test_xor_needs_the_interactions():
    """No weighted sum of bin counts solves XOR; the products of bins do."""
    task = small("temporal-xor", 400, seed=2)
    assert timing_baseline(task, interactions=False, n_steps=200) < 0.65
    assert timing_baseline(task, n_steps=200) > 0.8


def test_logistic_regression_separates_separable_data():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(200, 3))
    y = (f[:, 0] > 0).astype(np.int64)
    assert logistic_accuracy(f[:100], y[:100], f[100:], y[100:], 2) > 0.95


BAD = [
    (temporal_xor, "n_samples", dict(n_samples=3)),
    (temporal_xor, "signal_channels", dict(n_channels=4, signal_channels=5)),
    (temporal_xor, "burst_width", dict(window=0.1, burst_width=0.06)),
    (temporal_xor, "jitter", dict(jitter=0.1)),
    (temporal_xor, "noise_rate", dict(noise_rate=-1.0)),
    (temporal_xor, "burst_spikes", dict(burst_spikes=0.0)),
    (temporal_xor, "test_fraction", dict(test_fraction=1.0)),
    (beat_anomaly, "n_beats", dict(n_beats=1)),
    (beat_anomaly, "prematurity", dict(prematurity=0.0)),
    (beat_anomaly, "period_jitter", dict(period_jitter=1.0)),
    (beat_anomaly, "duration", dict(n_beats=8)),
    (beat_anomaly, "n_channels", dict(n_channels=2)),
    (burst_detection, "burst_channels", dict(burst_channels=40)),
    (burst_detection, "burst_frequency", dict(burst_frequency=600.0)),
    (burst_detection, "p_spike", dict(p_spike=0.0)),
    (burst_detection, "duration", dict(duration=0.02)),
    (burst_detection, "dt", dict(dt=float("nan"))),
    (emg_gesture, "n_muscles", dict(n_muscles=1)),
    (emg_gesture, "gain_jitter", dict(gain_jitter=1.0)),
    (emg_gesture, "duration", dict(duration=0.1)),
    (emg_gesture, "stagger", dict(stagger=0.0)),
    (emg_gesture, "n_samples", dict(n_samples=2.5)),
]


@pytest.mark.parametrize("fn, name, kwargs", BAD, ids=[f"{f.__name__}-{n}" for f, n, _ in BAD])
def test_bad_arguments_raise_naming_the_argument(fn, name, kwargs):
    kwargs = {"n_samples": 8, **kwargs}
    with pytest.raises(ParameterValueError) as info:
        fn(**kwargs)
    assert info.value.name == name


def test_bad_baseline_arguments():
    task = small("burst-detection", 16)
    with pytest.raises(ParameterValueError) as info:
        timing_baseline(task, n_bins=0)
    assert info.value.name == "n_bins"
    with pytest.raises(ParameterValueError) as info:
        count_baseline(task, l2=-1.0)
    assert info.value.name == "l2"
