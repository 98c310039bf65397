"""Input checks shared by the parameter-mapping functions.

The checks look at concrete values only: numpy arrays, Python numbers, concrete jax
arrays and torch tensors. Values being traced by ``jax.jit``/``jax.grad`` cannot be
inspected and pass through unchecked, so the conversions stay usable inside compiled
and differentiated code.
"""

from __future__ import annotations

import sys
from typing import Any, Optional

import numpy as np

from ..errors import ParameterValueError

__all__ = ["concrete", "check_positive_finite", "as_array"]


_HALF = ("float16", "bfloat16", "torch.float16", "torch.bfloat16")
"""Half-precision dtypes: too coarse for currents of 1e-13 A (they flush to 0), so upcast."""


def as_array(x: Any) -> Any:
    """Lists and tuples of numbers as float64 numpy arrays, half-precision arrays upcast
    (numpy to float64, jax and torch to float32), other arrays of any backend unchanged;
    anything that is not numbers is left for :func:`check_positive_finite` to name."""
    if isinstance(x, (list, tuple)):
        try:
            return np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            return np.asarray(x, dtype=object)
    dtype = str(getattr(x, "dtype", ""))
    if dtype in _HALF:
        if isinstance(x, (np.ndarray, np.generic)):
            return np.asarray(x, dtype=np.float64)
        return x.float() if hasattr(x, "float") else x.astype("float32")
    return x


def concrete(x: Any) -> Optional[np.ndarray]:
    """``x`` as a numpy array, or ``None`` where it is a traced (abstract) value."""
    if isinstance(x, (np.ndarray, np.generic, int, float)):
        return np.asarray(x)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        try:
            return x.detach().cpu().numpy()
        except RuntimeError:  # a tensor being transformed by torch.func (grad, vmap) has no data
            return None
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def check_positive_finite(name: str, x: Any, unit: str) -> None:
    """Raise :class:`ParameterValueError` unless every entry of ``x`` is a real number,
    > 0 and finite (``None``, strings, booleans, complex and object arrays are refused)."""
    if x is None or isinstance(x, (str, bytes, bool, np.bool_)):
        raise ParameterValueError(name, f"a positive real number or array of them ({unit})", repr(x))
    arr = concrete(x)
    if arr is None:
        return
    if arr.dtype.kind not in "iuf":
        raise ParameterValueError(name, f"a positive real number or array of them ({unit})", f"an array of dtype {arr.dtype}")
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        raise ParameterValueError(name, f"positive and finite ({unit})", arr, bad)
