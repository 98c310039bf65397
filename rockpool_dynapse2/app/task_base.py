"""What every built-in task shares: the :class:`Task` record, argument checks, balanced
labels and the train/test split (used by :mod:`.tasks` and :mod:`.temporal_tasks`)."""

from __future__ import annotations

from typing import NamedTuple, Tuple

import numpy as np

from ..errors import ParameterValueError

__all__ = ["Task"]


class Task(NamedTuple):
    """A classification task: train and test splits of spike-count rasters.

    Attributes:
        x_train: ``(B_train, T, C)`` float32 spike counts per time step.
        y_train: ``(B_train,)`` int64 class labels in ``0 .. n_classes - 1``.
        x_test: ``(B_test, T, C)`` float32.
        y_test: ``(B_test,)`` int64.
        n_classes: number of classes.
        dt: time step (s).
        name: the task's name.
        class_names: a label for every class (e.g. ``"8 Hz"``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    dt: float
    name: str
    class_names: Tuple[str, ...]


def _check_int(name: str, value: int, low: int) -> int:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low):
        raise ParameterValueError(name, f"an integer >= {low}", value)
    return int(value)


def _check_fraction(name: str, value: float, closed_high: bool = True) -> float:
    ok = np.isfinite(value) and 0 <= value and (value <= 1 if closed_high else value < 1)
    if not ok:
        raise ParameterValueError(name, "a fraction in [0, 1]" if closed_high else "a fraction in [0, 1)", value)
    return float(value)


def _check_positive(name: str, value: float) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ParameterValueError(name, "positive and finite", value)
    return float(value)


def _check_common(n_channels: int, rate: float, duration: float, dt: float, test_fraction: float) -> Tuple[int, float, float, int, float]:
    """Checks shared by the tasks: ``(n_channels, rate, dt, T, test_fraction)``."""
    n_channels = _check_int("n_channels", n_channels, 1)
    rate, duration, dt = (_check_positive(k, v) for k, v in (("rate", rate), ("duration", duration), ("dt", dt)))
    test_fraction = _check_fraction("test_fraction", test_fraction, closed_high=False)
    T = int(round(duration / dt))
    if T < 1:
        raise ParameterValueError("duration", f"at least one time step (dt = {dt} s)", duration)
    return n_channels, rate, dt, T, test_fraction


def _check_delay(name: str, value: float) -> float:
    if not (np.isfinite(value) and value >= 0):
        raise ParameterValueError(name, "a time >= 0 (s)", value)
    return float(value)


def _labels(n: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Balanced labels in a random order."""
    return rng.permutation(np.arange(n) % n_classes).astype(np.int64)


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float) -> Tuple[np.ndarray, ...]:
    """Train/test split keeping the classes balanced (the first samples of each class train)."""
    n_test = int(round(len(y) * test_fraction))
    test = np.zeros(len(y), dtype=bool)
    classes = np.unique(y)
    per_class = n_test // len(classes)
    extra = n_test - per_class * len(classes)
    for k, c in enumerate(classes):
        members = np.flatnonzero(y == c)
        test[members[: per_class + (k < extra)]] = True
    return x[~test], y[~test], x[test], y[test]
