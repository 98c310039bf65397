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

__all__ = ["concrete", "check_positive_finite"]


def concrete(x: Any) -> Optional[np.ndarray]:
    """``x`` as a numpy array, or ``None`` where it is a traced (abstract) value."""
    if isinstance(x, (np.ndarray, np.generic, int, float)):
        return np.asarray(x)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
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
