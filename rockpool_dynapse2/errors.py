"""Named errors of rockpool-dynapse2.

Every error says what was wrong, what was expected and where, in one grammar:
`` "`name` must be <rule>; got <value>" ``. Catch them by type, never by message text.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

__all__ = [
    "Dynapse2Error",
    "ParameterValueError",
    "CurrentRangeError",
    "BiasCodeError",
    "UnknownParameterError",
    "ShapeError",
    "SamnaNotAvailableError",
]


class Dynapse2Error(Exception):
    """Base class of every error this package raises on purpose."""


def _describe(value: Any, bad: Optional[np.ndarray] = None) -> str:
    """A short description of a (possibly array) value, pointing at the first bad entry."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item()!r}"
    if bad is not None and bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = index[0] if len(index) == 1 else index
        return f"{arr[index].item()!r} at index {where} (of an array of shape {arr.shape})"
    return f"an array of shape {arr.shape}"


class ParameterValueError(Dynapse2Error, ValueError):
    """A parameter has a value outside its allowed domain (NaN, inf, non-positive, ...)."""

    def __init__(self, name: str, rule: str, value: Any, bad: Optional[np.ndarray] = None):
        self.name = name
        self.rule = rule
        self.value = value
        super().__init__(f"`{name}` must be {rule}; got {_describe(value, bad)}")


class CurrentRangeError(ParameterValueError):
    """A current cannot be produced by the bias generator branch of a chip parameter."""

    def __init__(
        self,
        name: str,
        value: Any,
        low: float,
        high: float,
        bad: Optional[np.ndarray] = None,
    ):
        self.low = low
        self.high = high
        super().__init__(
            name,
            f"a current the bias generator can produce, in [{low:.4g}, {high:.4g}] A",
            value,
            bad,
        )


class BiasCodeError(Dynapse2Error, ValueError):
    """A coarse or fine code is out of the bias generator's range."""

    def __init__(self, field: str, value: Any, low: int, high: int, where: str = ""):
        self.field = field
        self.value = value
        self.low = low
        self.high = high
        loc = f" ({where})" if where else ""
        super().__init__(
            f"`{field}`{loc} must be an integer in {low}..{high}; got {value!r}"
        )


class UnknownParameterError(Dynapse2Error, KeyError):
    """A parameter name is not one the chip (or the simulator) knows."""

    def __init__(self, kind: str, name: Any, valid: Iterable[str]):
        self.kind = kind
        self.name = name
        self.valid = tuple(valid)
        self.message = (
            f"`{kind}` must be one of {', '.join(self.valid)}; got {name!r}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return self.message


class ShapeError(Dynapse2Error, ValueError):
    """An array has the wrong shape."""

    def __init__(self, name: str, expected: str, shape: Any):
        self.name = name
        self.expected = expected
        self.shape = tuple(shape)
        super().__init__(f"`{name}` must have shape {expected}; got {self.shape}")


class SamnaNotAvailableError(Dynapse2Error, ImportError):
    """Deployment needs the real samna, which is not installed (or only its stub is)."""
