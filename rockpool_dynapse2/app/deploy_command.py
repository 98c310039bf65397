"""The steps of ``rockpool-dynapse2 deploy`` (the command itself is :mod:`.cli`'s): rasters
and labels read and checked, input events that would be lost refused, each sample's class
printed, and the per-chip readout calibration.

**Readout calibration on a board.** Device mismatch makes some output neurons of a chip
more excitable than their neighbours, and the raw readout then favours their class on that
chip. ``deploy CONFIG --input X.npy --calibration-input U.npy`` runs an unlabelled raster
``U`` (``B >= 2`` samples of the configuration's input channels, ordinary input of the
network) through the same board first, counts each output channel's spikes in the
configuration's readout window exactly as the classes of ``X`` are counted
(:meth:`~rockpool_dynapse2.placement.MappedConfiguration.readout_counts`), measures the
:class:`~rockpool_dynapse2.training.ReadoutCalibration` (each channel's mean and spread,
:meth:`~rockpool_dynapse2.training.ReadoutCalibration.measure`) and reads the classes of
``X`` both ways, raw and calibrated
(:meth:`~rockpool_dynapse2.placement.MappedConfiguration.predict`). ``--save-calibration
CAL.json`` writes the calibration; ``--readout-calibration CAL.json`` reads one instead of
measuring it (its output channels must be the configuration's). A calibration needs a
class map (the configuration's or ``--classes``). It costs ``B`` extra samples on the chip
and changes nothing on it: the calibration is applied on the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from ..errors import CliError

__all__ = ["CalibrationRequest", "PreparedCalibration", "InputRaster", "load_raster", "check_lost_inputs", "with_classes", "load_labels", "print_classes",
           "prepare_calibration", "measure_calibration"]

_SHOWN = 32
"""Samples (or output channels) a printed line shows before ``...``."""


@dataclass(frozen=True)
class CalibrationRequest:
    """What the command line asks of the readout calibration (paths, or ``None``).

    Attributes:
        calibration_input: ``--calibration-input``: the unlabelled raster to measure it on.
        load: ``--readout-calibration``: a saved calibration to use instead.
        save: ``--save-calibration``: where to write the measured calibration.
    """

    calibration_input: Optional[str] = None
    load: Optional[str] = None
    save: Optional[str] = None

    @property
    def wanted(self) -> bool:
        """Whether a calibrated readout is asked for."""
        return self.calibration_input is not None or self.load is not None


@dataclass(frozen=True)
class PreparedCalibration:
    """A calibration ready before any board is opened: a loaded one, or the checked raster
    to measure one on (``(B, T, n_inputs)`` float32)."""

    loaded: Any = None
    raster: Optional[np.ndarray] = None


@dataclass(frozen=True)
class InputRaster:
    """An input raster read by :func:`load_raster`.

    Attributes:
        x: ``(B, T, C)`` float32 spike counts per sample, step and input channel (a
            ``(T, C)`` file is one sample).
        shape: the file's shape, ``(T, C)`` or ``(B, T, C)``.
    """

    x: np.ndarray
    shape: Tuple[int, ...]

    @property
    def single(self) -> bool:
        """Whether the file held one sample ``(T, C)`` (its outputs are written in that layout)."""
        return len(self.shape) == 2


def load_raster(path: str, n_inputs: int, what: str = "--input") -> InputRaster:
    """The input raster of a ``.npy`` file, ``(T, C)`` or ``(B, T, C)`` with ``C = n_inputs``,
    batched as ``(B, T, C)`` float32.

    Raises:
        CliError: no such file, another shape, values that are not numbers.
    """
    from .data import read_npy

    raster = read_npy(path, what)
    if raster.ndim not in (2, 3) or raster.shape[-1] != n_inputs or raster.shape[-2] == 0:
        raise CliError(
            f"`{what}` must have shape (T, {n_inputs}) or (B, T, {n_inputs}) (the configuration has "
            f"{n_inputs} input channels); got {raster.shape}"
        )
    if not np.issubdtype(raster.dtype, np.number):
        raise CliError(f"`{what}` must hold numbers (spike counts); got dtype {raster.dtype}")
    return InputRaster(raster.reshape((-1,) + raster.shape[-2:]).astype(np.float32), raster.shape)


def check_lost_inputs(mapped: Any, raster: np.ndarray, allow: bool, what: str = "--input") -> Any:
    """The raster's input events that no neuron would receive; refused unless ``allow``.

    Raises:
        LostInputsError: events would be lost and ``allow`` is false.
    """
    from ..errors import LostInputsError
    from ..hardware import lost_inputs

    lost = lost_inputs(raster, mapped)
    if lost.lost and not allow:
        raise LostInputsError(lost.lost, lost.sent, lost.where, hint=f"in `{what}`; --allow-lost-inputs runs it anyway")
    return lost


def with_classes(mapped: Any, classes: Optional[Sequence[str]], labels: Optional[str], config: str) -> Any:
    """The configuration with the class map of ``--classes``, if given; refused without a
    class map when ``--labels`` asks for the accuracy.

    Raises:
        CliError: ``--labels`` and no class map.
        ParameterValueError: a class map that does not fit the configuration.
    """
    from dataclasses import replace

    from .map_command import parse_classes, resolve_classes

    if classes is not None:
        return replace(mapped, classes=resolve_classes(parse_classes(classes), mapped.n_outputs))
    if labels is not None and mapped.classes is None:
        raise _no_class_map("--labels", mapped, config)
    return mapped


def _no_class_map(option: str, mapped: Any, config: str) -> CliError:
    return CliError(
        f"`{option}` must come with a class map (which output channels are which class); {config!r} has none: "
        f"give --classes M ({mapped.n_outputs} output channels, M consecutive ones per class) or --classes 0,1 2,3 "
        "(the channels of each class), or record it with `rockpool-dynapse2 map CONFIG --classes M --out DIR`"
    )


def load_labels(path: str, n_samples: int, n_classes: int) -> np.ndarray:
    """``(n_samples,)`` integer labels in ``0..n_classes - 1`` from a ``.npy`` file.

    Raises:
        CliError: no such file, another shape, values that are not classes of the map.
    """
    from .data import read_npy

    y = read_npy(path, "--labels")
    if y.size != n_samples or y.ndim > 1:
        raise CliError(f"`--labels` must have shape ({n_samples},), one label per sample of the input; got {y.shape}")
    y = y.reshape(n_samples)
    if not np.issubdtype(y.dtype, np.integer) or y.min(initial=0) < 0 or y.max(initial=0) >= n_classes:
        raise CliError(f"`--labels` must be integer classes in 0..{n_classes - 1} (the class map's); got dtype {y.dtype}, "
                       f"values {y.min(initial=0)}..{y.max(initial=0)}")
    return y


def print_classes(mapped: Any, counts: np.ndarray, labels: Optional[np.ndarray], calibration: Any = None) -> None:
    """Each sample's class and, with labels, the accuracy; with a calibration, both again
    from the calibrated readout.

    Args:
        counts: ``(B, n_outputs)`` output spike counts in the readout window.
        labels: ``(B,)`` classes, or ``None``.
        calibration: a :class:`~rockpool_dynapse2.training.ReadoutCalibration`, or ``None``.
    """
    _print_readout(mapped.predict(counts), labels, "class per sample (-: a tie, no class)", "accuracy")
    if calibration is not None:
        _print_readout(mapped.predict(counts, calibration), labels, "calibrated class per sample",
                       "accuracy, calibrated readout")


def _print_readout(predicted: np.ndarray, labels: Optional[np.ndarray], title: str, score: str) -> None:
    shown = " ".join("-" if c < 0 else str(c) for c in predicted[:_SHOWN])
    print(f"{title}: {shown}" + (" ..." if len(predicted) > _SHOWN else ""))
    if labels is not None:
        correct = int((predicted == labels).sum())
        print(f"{score}: {correct / len(labels):.1%} ({correct} of {len(labels)} samples)")


def prepare_calibration(request: CalibrationRequest, mapped: Any, config: str, allow_lost: bool) -> Optional[PreparedCalibration]:
    """The checks made before any board is opened: the options fit together, a class map,
    the calibration file read and matched to the configuration's output channels, or the
    calibration raster read (``B >= 2`` samples of the configuration's input channels, no
    lost input events unless ``allow_lost``). ``None`` if no calibration is asked for.

    Raises:
        CliError: ``--save-calibration`` without ``--calibration-input``; no class map; a
            raster of another shape or fewer than 2 samples.
        ParameterValueError: a bad calibration file (its JSON path named).
        ShapeError: a calibration of another number of output channels.
        LostInputsError: see :func:`check_lost_inputs`.
    """
    if request.save is not None and request.calibration_input is None:
        raise CliError("`--save-calibration` must come with --calibration-input U.npy (the raster to measure it on; a "
                       f"calibration read with --readout-calibration is saved already); got --save-calibration {request.save!r} "
                       "without it")
    if not request.wanted:
        return None
    option = "--readout-calibration" if request.load is not None else "--calibration-input"
    if mapped.classes is None:
        raise _no_class_map(option, mapped, config)
    if request.load is not None:
        return PreparedCalibration(loaded=_load_calibration(request.load, mapped))
    raster = load_raster(request.calibration_input, mapped.n_inputs, "--calibration-input")
    if len(raster.x) < 2:
        raise CliError(f"`--calibration-input` must hold B >= 2 samples (B, T, {mapped.n_inputs}) to measure each output "
                       f"channel's spread; got {raster.shape}")
    check_lost_inputs(mapped, raster.x, allow_lost, "--calibration-input")
    return PreparedCalibration(raster=raster.x)


def _load_calibration(path: str, mapped: Any) -> Any:
    """A saved calibration whose output channels are the configuration's.

    Raises:
        ParameterValueError: a bad file; ShapeError: another number of output channels.
    """
    from ..training import ReadoutCalibration

    calibration = ReadoutCalibration.load(path)
    ReadoutCalibration.checked("--readout-calibration", calibration, mapped.n_outputs,
                               f"the configuration ({path!r} calibrates {calibration.n_outputs})")
    print(f"readout calibration: read {path} (measured on {calibration.samples} samples)")
    return calibration


def measure_calibration(prepared: PreparedCalibration, request: CalibrationRequest, mapped: Any,
                        run: Callable[[np.ndarray], np.ndarray]) -> Any:
    """The calibration: the loaded one, or measured on the board (``run``: a raster
    ``(B, T, n_inputs)`` -> the board's outputs ``(B, T, n_outputs)``) from the output
    counts in the readout window, and written to ``--save-calibration`` if given.

    Raises:
        ParameterValueError: the calibration file cannot be written.
    """
    from ..training import ReadoutCalibration

    if prepared.loaded is not None:
        return prepared.loaded
    x = prepared.raster
    calibration = ReadoutCalibration.measure(mapped.readout_counts(run(x)))
    means = ", ".join(f"{j}: {m:.3g}/{s:.3g}" for j, (m, s) in enumerate(zip(calibration.mean[:_SHOWN], calibration.std)))
    print(f"readout calibration: measured on {len(x)} unlabelled samples of {x.shape[1]} steps "
          f"({request.calibration_input}, {int(x.sum())} input spikes)")
    print(f"spikes per sample, mean/spread per output channel: {means}" + (" ..." if calibration.n_outputs > _SHOWN else ""))
    if request.save is not None:
        print(f"wrote {calibration.save(request.save)}")
    return calibration
