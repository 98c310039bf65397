"""Field checks shared by the configuration records: each raises a named error.

Every check returns the value in its canonical type (``bool``, ``int``, ``tuple``, a
read-only map) or raises :class:`~rockpool_dynapse2.errors.ParameterValueError` /
:class:`~rockpool_dynapse2.errors.ShapeError` in the grammar
"`name` must be <rule>; got <value>".
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Tuple

import numpy as np

from ..chip import Transistor
from ..errors import ParameterValueError, ShapeError, Shown

__all__ = [
    "ParameterMap",
    "UINT64_MAX",
    "UINT32_MAX",
    "INT32_MIN",
    "INT32_MAX",
    "check_enum",
    "verbatim",
    "shown",
    "check_bool",
    "check_int",
    "check_length",
    "check_bools",
    "check_records",
    "check_bool_fields",
    "transistor",
]

ParameterMap = Mapping[str, Any]
"""A read-only ``{chip parameter name: Parameter}`` map (samna's ``ParamMap``)."""

# Bit widths of samna's integer fields that the chip's geometry does not fix (tags, hops,
# codes and indices take theirs from :data:`~rockpool_dynapse2.chip.GEOMETRY`). samna's C++
# headers are not public; the widths are those Rockpool's samna alias declares, or, where it
# says only ``int``, the widest unsigned integer cereal writes (no value samna writes can
# exceed it, and 2**80 is refused); ``docs/configuration.md`` lists them field by field.
UINT64_MAX = 2**64 - 1
"""Largest ``uint64``: samna's private ``_address``, ``_cookie`` and ``_id`` (Rockpool's alias:
``np.uint64``), and the fields whose width is not public (DVS delay, bio-amplifier gain)."""
UINT32_MAX = 2**32 - 1
"""Largest C++ ``unsigned int`` (32 bits): ``Vec2_unsigned_int`` (DVS pooling shift, origin, max)."""
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""Range of a C++ ``int`` (32 bits): ``Vec2_int`` (the DVS copy hop)."""


def verbatim(text: str) -> Any:
    """``text`` as an error message's value, printed without quotes."""
    return Shown(text)


def shown(value: Any, limit: int = 60) -> Any:
    """``value`` ready for an error message: scalars as they are, anything else as a short text."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return Shown(f"{text} ({type(value).__name__})")


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a bool; accepts ``bool`` and ``numpy.bool_``.

    Raises:
        ParameterValueError: for anything else (0 and 1 included: flags are booleans).
    """
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise ParameterValueError(name, "a bool", shown(value))


def check_int(name: str, value: Any, low: Optional[int], high: Optional[int]) -> int:
    """``value`` as an int in ``low..high`` (``None``: no bound on that side).

    Raises:
        ParameterValueError: if ``value`` is not an integer (bools are not) or out of range.
    """
    if low is not None and high is not None:
        rule = f"an integer in {low}..{high}"
    elif low is not None:
        rule = f"an integer >= {low}"
    elif high is not None:
        rule = f"an integer <= {high}"
    else:
        rule = "an integer"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ParameterValueError(name, rule, shown(value))
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterValueError(name, rule, value)
    return value


def check_enum(name: str, value: Any, enum: Any) -> Any:
    """``value`` as a member of the ``IntEnum`` ``enum``; accepts members and their integer values.

    Raises:
        ParameterValueError: for anything else (a bool or a float is not an enum value),
            listing the valid choices.
    """
    if type(value) is enum:
        return value
    known = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not known or int(value) not in enum._value2member_map_:
        valid = ", ".join(f"{m.name}={m.value}" for m in enum)
        raise ParameterValueError(name, f"one of {valid}", shown(value))
    return enum(int(value))


def check_length(name: str, value: Any, n: Optional[int], what: str) -> tuple:
    """``value`` (a list, tuple or 1-D array) as a tuple, checking its length.

    Args:
        name: field name for the error message.
        value: the sequence.
        n: required length, or ``None`` for any length.
        what: what the entries are, for the error message.

    Raises:
        ParameterValueError: if ``value`` is not a sequence.
        ShapeError: if it has the wrong length.
    """
    if isinstance(value, tuple):
        items = value
    elif isinstance(value, (list, np.ndarray, range)):
        if isinstance(value, np.ndarray) and value.ndim != 1:
            raise ShapeError(name, f"({n},)" if n is not None else "(n,)", value.shape)
        items = tuple(value)
    else:
        raise ParameterValueError(name, f"a sequence of {what}", shown(value))
    if n is not None and len(items) != n:
        raise ShapeError(name, f"({n},)", (len(items),))
    return items


def check_bools(name: str, value: Any, n: int) -> Tuple[bool, ...]:
    """A mask of ``n`` booleans; entries may be bools, ``numpy.bool_`` or the integers 0/1.

    Raises:
        ShapeError: if the mask does not have ``n`` entries.
        ParameterValueError: if an entry is not a bool, 0 or 1.
    """
    items = check_length(name, value, n, f"{n} booleans")
    out = []
    for i, v in enumerate(items):
        if v is True or v is False:
            out.append(v)
        elif isinstance(v, np.bool_) or (isinstance(v, (int, np.integer)) and v in (0, 1)):
            out.append(bool(v))
        else:
            raise ParameterValueError(f"{name}[{i}]", "a bool (or 0/1)", shown(v))
    return tuple(out)


def check_records(name: str, value: Any, cls: type, n: Optional[int]) -> tuple:
    """A tuple of ``n`` instances of ``cls``.

    Raises:
        ShapeError: if there are not ``n`` entries.
        ParameterValueError: if an entry is not a ``cls``.
    """
    items = check_length(name, value, n, f"{cls.__name__} records")
    for i, item in enumerate(items):
        if type(item) is not cls and not isinstance(item, cls):
            raise ParameterValueError(f"{name}[{i}]", f"a {cls.__name__}", shown(item))
    return items


def check_bool_fields(record: Any, names: Tuple[str, ...]) -> None:
    """Check (and normalise to ``bool``) the named boolean fields of a frozen record."""
    for name in names:
        value = getattr(record, name)
        if value is not True and value is not False:
            object.__setattr__(record, name, check_bool(name, value))


def transistor(name: str, value: Any) -> Transistor:
    """``value`` as a :class:`~rockpool_dynapse2.chip.Transistor`; accepts ``"N"`` and ``"P"``."""
    if isinstance(value, Transistor):
        return value
    if isinstance(value, str) and value in ("N", "P"):
        return Transistor(value)
    raise ParameterValueError(name, "'N' or 'P' (a Transistor)", shown(value))

