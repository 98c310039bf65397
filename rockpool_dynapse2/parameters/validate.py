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


def as_array(x: Any) -> Any:
    """Lists and tuples as float64 numpy arrays; arrays of any backend unchanged."""
    if isinstance(x, (list, tuple)):
        return np.asarray(x, dtype=np.float64)
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
    """Raise :class:`ParameterValueError` unless every entry of ``x`` is > 0 and finite."""
    arr = concrete(x)
    if arr is None:
        return
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        raise ParameterValueError(name, f"positive and finite ({unit})", arr, bad)
