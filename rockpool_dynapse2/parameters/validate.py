"""The one validation layer: the input checks of every public entry point, from the
parameter mapping up to the mapper.

Each check names the argument, what was expected and what was given, in the package's
grammar (`` "`name` must be <rule>; got <value>" ``), and raises a named error:
:class:`~rockpool_dynapse2.errors.ParameterValueError` for a wrong type, value or range,
:class:`~rockpool_dynapse2.errors.ShapeError` for a wrong shape,
:class:`~rockpool_dynapse2.errors.UnknownParameterError` for a name that is not a choice.
The rules they share:

* **numbers**: ``None``, strings, booleans, complex numbers and arrays of objects or
  strings are refused; integers and floats of any width are numbers; half precision
  (``float16``, ``bfloat16``) is upcast (numpy to float64, jax and torch to float32),
  never silently rounded; lists and tuples of numbers are arrays;
* **arrays** (:func:`check_real`, :func:`real_array`): finite unless said otherwise,
  within the bounds given, of the shape given;
* **scalars** (:func:`real_number`): a 0-d number, finite unless said otherwise, within
  the bounds given; **integers** (:func:`integer`, :func:`seed`): a Python or numpy
  integer (not a float, not a boolean) within the bounds given;
* **switches, choices, records** (:func:`flag`, :func:`choice`, :func:`names`,
  :func:`instance`, :func:`mapping`, :func:`function`): exactly ``True``/``False``, one of
  the listed names, an instance of the named class, a mapping, a callable.

The array checks look at concrete values only: numpy arrays, Python numbers, concrete jax
arrays and torch tensors. Values being traced by ``jax.jit``/``jax.grad`` cannot be
inspected and pass through unchecked, so the conversions stay usable inside compiled
and differentiated code.
"""

from __future__ import annotations

import sys
from collections.abc import Hashable, Mapping
from typing import Any, Iterable, Optional, Sequence, Tuple, Type, Union

import numpy as np

from ..errors import ParameterValueError, ShapeError, Shown, UnknownParameterError

__all__ = [
    "SEED_MAX",
    "as_array",
    "concrete",
    "check_real",
    "check_positive_finite",
    "real_array",
    "real_number",
    "integer",
    "indices",
    "seed",
    "flag",
    "choice",
    "names",
    "instance",
    "mapping",
    "function",
]

SEED_MAX = 2**32 - 1
"""Largest seed: every random generator of the package (numpy, jax, torch) takes it."""

_HALF = ("float16", "bfloat16", "torch.float16", "torch.bfloat16")
"""Half-precision dtypes: too coarse for currents of 1e-13 A (they flush to 0), so upcast."""

_NOT_A_NUMBER = (str, bytes, bool, np.bool_)

Bound = Optional[float]

_INDEX_LIMIT = 2**53
"""Indices from 2**53 on are not exact in float64 (and no array has that many entries)."""


def as_array(x: Any) -> Any:
    """Lists and tuples of numbers as float64 numpy arrays, half-precision arrays upcast
    (numpy to float64, jax and torch to float32), other arrays of any backend unchanged;
    anything that is not numbers is left for the checks to name."""
    if isinstance(x, (list, tuple)):
        return _list_array(x)
    dtype = str(getattr(x, "dtype", ""))
    if dtype in _HALF:
        if isinstance(x, (np.ndarray, np.generic)):
            return np.asarray(x, dtype=np.float64)
        return x.float() if hasattr(x, "float") else x.astype("float32")
    return x


def _list_array(x: Union[list, tuple]) -> np.ndarray:
    """A list or tuple as a float64 array; an object array where it holds anything else
    (strings, booleans, None, ragged rows), for the checks to refuse by name."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):  # ragged
        return _object_array(x)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    return arr if arr.dtype.kind != "O" else _object_array(x)


def _object_array(x: Any) -> np.ndarray:
    out = np.empty(len(x), dtype=object)
    out[:] = list(x)
    return out


def concrete(x: Any) -> Optional[np.ndarray]:
    """``x`` as a numpy array, or ``None`` where it is a traced (abstract) value."""
    if isinstance(x, (np.ndarray, np.generic, int, float)):
        return np.asarray(x)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        try:
            return x.detach().cpu().float().numpy() if str(x.dtype) in _HALF else x.detach().cpu().numpy()
        except RuntimeError:  # a tensor being transformed by torch.func (grad, vmap) has no data
            return None
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return None
    if isinstance(x, (list, tuple)):
        return _list_array(x)
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        return np.asarray(x, dtype=object) if not hasattr(x, "__len__") else _object_array(x)


def _given(value: Any) -> Any:
    """What was given, for a value of the wrong kind: a scalar as itself (shown by its
    repr), an array by its dtype, anything else by its type."""
    if value is None or isinstance(value, (str, bytes, bool, np.bool_, int, float, complex, np.generic)):
        return value
    dtype = getattr(value, "dtype", None)
    return Shown(f"an array of dtype {dtype}" if dtype is not None else f"a {type(value).__name__}")


def _range_rule(low: Bound, high: Bound, low_open: bool, high_open: bool) -> str:
    """``"> 0"``, ``">= 1"``, ``"in [0, 1]"``, ... for the bounds (empty without any)."""
    if low == 0 and high is None:
        return "positive" if low_open else "non-negative"
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def _bad_entries(
    arr: np.ndarray, low: Bound, high: Bound, low_open: bool, high_open: bool, finite: bool
) -> Tuple[str, np.ndarray]:
    """``(rule, where)``: the entries that are NaN or infinite (if ``finite``) and the rule
    they break, else the entries outside the bounds and the range rule."""
    with np.errstate(invalid="ignore"):
        bad = np.asarray(np.isnan(arr) | (~np.isfinite(arr) if finite else False))
        if bad.any():
            return ("finite" if finite else "not NaN"), bad
        out = np.zeros(arr.shape, dtype=bool)
        if low is not None:  # bounds as float64: against float16 a Python float would be cast to float16
            out |= (arr <= np.float64(low)) if low_open else (arr < np.float64(low))
        if high is not None:
            out |= (arr >= np.float64(high)) if high_open else (arr > np.float64(high))
    return _range_rule(low, high, low_open, high_open), out


def check_real(
    name: str,
    x: Any,
    *,
    low: Bound = None,
    high: Bound = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    unit: str = "",
    what: str = "a real number or array of them",
) -> Optional[np.ndarray]:
    """Check a number or an array of numbers of any backend (traced values pass).

    Raises:
        ParameterValueError: ``None``, a string, a boolean, complex numbers, objects;
            NaN, an infinite entry (if ``finite``) or an entry outside the bounds (the
            first bad entry and its index in the message).

    Returns:
        ``x`` as a numpy array where concrete, None where traced.
    """
    kind = what + (f" ({unit})" if unit else "")
    if x is None or isinstance(x, _NOT_A_NUMBER):
        raise ParameterValueError(name, kind, _given(x))
    arr = concrete(x)
    if arr is None:
        return None
    if arr.dtype.kind not in "iuf":
        raise ParameterValueError(name, kind, _given(arr))
    rule, bad = _bad_entries(arr, low, high, low_open, high_open, finite)
    if bad.any():
        raise ParameterValueError(name, rule + (f" ({unit})" if unit else ""), arr, bad)
    return arr


def check_positive_finite(name: str, x: Any, unit: str) -> None:
    """Raise :class:`ParameterValueError` unless every entry of ``x`` is a real number,
    > 0 and finite (``None``, strings, booleans, complex and object arrays are refused)."""
    check_real(name, x, low=0.0, low_open=True, unit=unit, what="a positive real number or array of them")


def _shape_text(shape: Sequence[Optional[int]]) -> str:
    dims = ["any" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def real_array(
    name: str,
    x: Any,
    *,
    shape: Optional[Sequence[Optional[int]]] = None,
    expected: Optional[str] = None,
    low: Bound = None,
    high: Bound = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    unit: str = "",
    what: str = "a real number or array of them",
) -> np.ndarray:
    """A concrete array of real numbers as float64 numpy, checked as :func:`check_real`.

    Args:
        shape: the expected shape; ``None`` entries match any length.
        expected: how the shape is described in the error (default: from ``shape``).

    Raises:
        ParameterValueError: see :func:`check_real`; a traced value.
        ShapeError: another shape.
    """
    arr = check_real(name, as_array(x), low=low, high=high, low_open=low_open, high_open=high_open, finite=finite, unit=unit,
                     what=what)
    if arr is None:
        raise ParameterValueError(name, "a concrete array", Shown("a traced value"))
    if shape is not None:
        ok = arr.ndim == len(shape) and all(d is None or d == s for d, s in zip(shape, arr.shape))
        if not ok:
            raise ShapeError(name, expected or _shape_text(shape), arr.shape)
    return np.asarray(arr, dtype=np.float64)


def real_number(
    name: str,
    value: Any,
    *,
    low: Bound = None,
    high: Bound = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
    unit: str = "",
    what: str = "a real number",
) -> float:
    """A real scalar (Python, numpy, or a concrete 0-d jax/torch array) as a float.

    Raises:
        ParameterValueError: see :func:`check_real`; a traced value; an array with dimensions.
    """
    arr = real_array(name, value, low=low, high=high, low_open=low_open, high_open=high_open, finite=finite, unit=unit,
                     what=what)
    if arr.ndim != 0:
        raise ParameterValueError(name, what + (f" ({unit})" if unit else ""), Shown(f"an array of shape {arr.shape}"))
    return float(arr)


def integer(name: str, value: Any, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """A Python or numpy integer (not a float, not a boolean) in ``low..high``, as an int.

    Raises:
        ParameterValueError: anything else.
    """
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            rule = f"an integer in {low}..{high}"
        else:
            rule = "an integer" + (f" >= {low}" if low is not None else "") + (f" <= {high}" if high is not None else "")
        raise ParameterValueError(name, rule, value if ok else _given(value))
    return int(value)


def indices(
    name: str,
    x: Any,
    *,
    high: Optional[int] = None,
    shape: Optional[Sequence[Optional[int]]] = None,
    expected: Optional[str] = None,
    rule: Optional[str] = None,
) -> np.ndarray:
    """An array of indices (integers, or floats with integral values) in ``0..high - 1``,
    as int64.

    Args:
        high: one more than the largest index (None: no upper bound).
        shape: the expected shape, as for :func:`real_array`.
        expected: how the shape is described in an error.
        rule: how the indices are described in an error (default ``"an index in 0..high - 1"``).

    Raises:
        ParameterValueError: not integers, negative, too large, NaN or infinite.
        ShapeError: another shape.
    """
    rule = rule or (f"an index in 0..{high - 1}" if high is not None else "a non-negative integer index")
    arr = real_array(name, x, shape=shape, expected=expected, what="an array of integers")
    with np.errstate(invalid="ignore"):
        bad = (arr < 0) | (arr != np.round(arr)) | (arr >= (high if high is not None else _INDEX_LIMIT))
    if np.any(bad):
        raise ParameterValueError(name, rule, arr, np.asarray(bad))
    return arr.astype(np.int64)


def seed(name: str, value: Any) -> int:
    """A random seed: an integer in ``0..SEED_MAX``."""
    return integer(name, value, low=0, high=SEED_MAX)


def flag(name: str, value: Any) -> bool:
    """``True`` or ``False`` (Python or numpy); anything else, ``None``, 0 and 1 included, is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterValueError(name, "True or False", _given(value))
    return bool(value)


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices``.

    Raises:
        UnknownParameterError: anything else (the message lists the choices).
    """
    choices = tuple(choices)
    if not isinstance(value, Hashable) or isinstance(value, (bool, np.bool_)) or value not in choices:
        raise UnknownParameterError(name, value if isinstance(value, Hashable) else _given(value), [str(c) for c in choices])
    return value


def names(name: str, value: Any, valid: Iterable[str], kind: Optional[str] = None) -> Tuple[str, ...]:
    """A name or a sequence of names, each one of ``valid``, as a tuple.

    Raises:
        ParameterValueError: not a string or a sequence of strings.
        UnknownParameterError: a name that is not in ``valid`` (reported as ``kind``).
    """
    valid = tuple(valid)
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise ParameterValueError(name, "a name or a list of names", _given(value))
    for item in items:
        if item not in valid:
            raise UnknownParameterError(kind or name, item, valid)
    return tuple(items)


def instance(name: str, value: Any, cls: Union[Type, Tuple[Type, ...]], what: Optional[str] = None) -> Any:
    """``value`` if it is an instance of ``cls``; else :class:`ParameterValueError` naming ``what``
    (default: the class name)."""
    if not isinstance(value, cls):
        if what is None:
            classes = cls if isinstance(cls, tuple) else (cls,)
            what = " or ".join(f"a {c.__name__}" for c in classes)
        raise ParameterValueError(name, what, _given(value))
    return value


def mapping(name: str, value: Any, what: str = "a mapping (a dict)") -> Mapping:
    """``value`` if it is a mapping; else :class:`ParameterValueError`."""
    if not isinstance(value, Mapping):
        raise ParameterValueError(name, what, _given(value))
    return value


def function(name: str, value: Any, what: str = "a function") -> Any:
    """``value`` if it is callable; else :class:`ParameterValueError`."""
    if not callable(value):
        raise ParameterValueError(name, what, _given(value))
    return value
