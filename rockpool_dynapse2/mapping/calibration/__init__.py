"""Calibration of a mapped LIF network against its reference network.

* :mod:`.calibrate`: :func:`calibrate_to_reference` scales each neuron's input weights so
  the mapped DYNAP-SE2 network fires like the reference; :func:`map_and_calibrate` maps and
  calibrates in one call;
* :mod:`.report`: :class:`CalibrationReport`, per layer and neuron.
"""

from .calibrate import calibrate_to_reference, map_and_calibrate
from .report import CalibrationReport, LayerCalibration

__all__ = ["calibrate_to_reference", "map_and_calibrate", "CalibrationReport", "LayerCalibration"]
