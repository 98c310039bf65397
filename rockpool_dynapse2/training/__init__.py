"""Hardware-aware training of DYNAP-SE2 networks: the chip's constraints in the loop.

* :mod:`.layout`: :class:`NetworkLayout` (populations, each on its own cores; projections;
  the readout), :func:`connectivity` (the synapses, drawn once within the 64-CAM fan-in);
* :mod:`.constraints`: per-core parameters on a log scale, bias-code snapping and
  per-core 16-level weight quantization (straight-through), the typed dendrites; written
  once for JAX and torch;
* :mod:`.model`: :class:`ChipModel` and :class:`TrainSettings`: the trained quantities,
  what the chip makes of them, the readout (:func:`readout_counts`: the spikes at or after
  ``readout_start``, one function for training and every board) and the loss; :data:`~.model.CHIP_NAMES`,
  the keys of one chip's factors (``chip=``: training and counting on a given chip);
* :mod:`.readout_calibration`: :class:`ReadoutCalibration`, a chip's readout calibrated on
  its own unlabelled output counts (each output neuron's mean and spread), measured,
  applied and saved without the network (a board's counts, a deployed configuration);
* :mod:`.jax_trainer`: the training loop in JAX (optax), evaluation and Monte Carlo over
  mismatched chips; :mod:`.torch_trainer`: the same loop in torch (``torch.optim``);
* :mod:`.result`: :class:`TrainResult` (history, best epoch, plots, the Rockpool network).

See ``docs/training.md``.
"""

from .layout import INPUT, Connectivity, NetworkLayout, Population, Projection, connectivity
from .model import (CHIP_NAMES, DEFAULT_TEMPERATURE, LOGITS, ChipModel, TrainSettings, logit_scale, margin_ratio, readout_counts,
                    readout_step)
from .readout_calibration import ReadoutCalibration
from .result import EpochRecord, TrainResult, load_parameters, save_parameters

__all__ = [
    "INPUT",
    "Population",
    "Projection",
    "NetworkLayout",
    "Connectivity",
    "connectivity",
    "ChipModel",
    "CHIP_NAMES",
    "TrainSettings",
    "LOGITS",
    "DEFAULT_TEMPERATURE",
    "logit_scale",
    "margin_ratio",
    "ReadoutCalibration",
    "readout_counts",
    "readout_step",
    "TrainResult",
    "EpochRecord",
    "save_parameters",
    "load_parameters",
]
