"""Transforms of trained networks for the DYNAP-SE2.

* :mod:`.quantization`: per-core weight quantization to 4 base currents and 4-bit masks
  (numpy only).
"""

from .quantization import (
    BASE_WEIGHT_PARAMETERS,
    MagnitudeQuantization,
    WeightQuantization,
    quantize_magnitudes,
    quantize_weights,
)
