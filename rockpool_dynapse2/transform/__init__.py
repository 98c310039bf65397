"""Transforms for the DYNAP-SE2: the chip's weight quantization and its device mismatch.

* :mod:`.quantization`: per-core weight quantization to 4 base currents and 4-bit masks
  (numpy only).
* :mod:`.qat`: the same as a straight-through transform for quantization-aware training.
* :mod:`.deviation`: how a deviation becomes a relative noise (``sigma_from_deviation``,
  its bound ``MAX_DEVIATION``), without jax.
* :mod:`.mismatch`: relative Gaussian parameter noise, frozen or dynamic, and Monte-Carlo
  evaluation over mismatched chips (loaded on first use: it needs jax; the function is
  ``rockpool_dynapse2.transform.mismatch.mismatch``).
* :mod:`._subset_sum`: the exact subset-sum search behind the quantizer (private).
"""

from importlib import import_module
from typing import Any

from .deviation import MAX_DEVIATION, sigma_from_deviation
from .qat import QuantizeT, quantize_ste
from .quantization import (
    BASE_WEIGHT_PARAMETERS,
    MagnitudeQuantization,
    WeightQuantization,
    quantize_magnitudes,
    quantize_weights,
)

__all__ = [
    "BASE_WEIGHT_PARAMETERS",
    "MagnitudeQuantization",
    "WeightQuantization",
    "quantize_magnitudes",
    "quantize_weights",
    "QuantizeT",
    "quantize_ste",
    "MAX_DEVIATION",
    "sigma_from_deviation",
    # from .mismatch, on first use (written out: the API reference reads __all__ statically)
    "MismatchJax",
    "mismatch_T_config",
    "mismatch_prototype",
    "monte_carlo",
]


def __getattr__(name: str) -> Any:
    # Called only for a name not defined above: the exports of .mismatch.
    if name in __all__:
        return getattr(import_module(".mismatch", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
