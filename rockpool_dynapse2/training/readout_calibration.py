"""A chip's readout calibration: measured on its own output spikes, without labels.

Device mismatch makes some output neurons of a chip more excitable than their neighbours
on every input, and the raw readout (the class whose output neurons fire most) then
favours their class on that chip. A :class:`ReadoutCalibration` holds every output
neuron's mean and spread of spike counts per sample, measured on that chip with ordinary,
unlabelled input (:meth:`ReadoutCalibration.measure`, the one rule: the mean and the
standard deviation over ``B >= 2`` recordings, the deviation floored at
:data:`CALIBRATION_STD_FLOOR`); the calibrated readout compares
``(count - mean) / spread`` (:meth:`ReadoutCalibration.apply`) instead of the raw counts.

It needs only output counts, not the network that made them: a
:class:`~rockpool_dynapse2.training.ChipModel` (``calibrate_readout``), a mapped
configuration (``MappedConfiguration.predict(counts, calibration)``) and the
``rockpool-dynapse2 deploy`` command all use it. It is saved as JSON
(:meth:`~ReadoutCalibration.to_json`, :meth:`~ReadoutCalibration.save`) with the format
tag :data:`FORMAT`; reading one checks every key, length and value (the JSON path of a bad
one in the error), as constructing one does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import numpy as np

from .._json import format_tag, json_int, json_numbers, json_object, loads, read_json_file, write_json_file
from ..errors import ShapeError
from ..parameters.validate import instance, integer, real_array

__all__ = ["ReadoutCalibration", "CALIBRATION_STD_FLOOR", "MIN_RECORDINGS", "FORMAT"]

CALIBRATION_STD_FLOOR = 0.5
"""The smallest spread (spikes per sample) a calibration divides by: an output neuron that
fires the same count on every calibration sample would otherwise divide by zero."""

MIN_RECORDINGS = 2
"""The fewest recordings a calibration is measured on (one has no spread)."""

FORMAT = "rockpool-dynapse2/readout-calibration/1"
"""The format tag of a saved calibration (its ``"format"`` key)."""

_KEYS = ("format", "samples", "mean", "std")
"""The keys of a saved calibration, in the order :meth:`ReadoutCalibration.to_json` writes them."""


@dataclass(frozen=True)
class ReadoutCalibration:
    """One chip's readout calibration: every output neuron's mean and spread of spike
    counts per sample, measured on that chip with unlabelled inputs (:meth:`measure`).

    The calibrated readout compares ``(count - mean) / spread`` instead of the raw counts,
    so an output neuron that device mismatch made more (or less) excitable than its
    neighbours no longer wins (or loses) every sample. It needs no labels: a few tens of
    recordings of the chip's ordinary input are enough (``docs/training.md``).

    Attributes:
        mean: ``(n_outputs,)`` mean spike count of each output neuron, in output-channel
            order (``>= 0``).
        std: ``(n_outputs,)`` its standard deviation (``> 0``; :meth:`measure` floors it at
            :data:`CALIBRATION_STD_FLOOR`).
        samples: the number of recordings it was measured on (``>= 2``).

    Raises:
        ParameterValueError: a negative or non-finite mean, a spread that is not positive
            and finite, fewer than :data:`MIN_RECORDINGS` samples.
        ShapeError: ``mean`` not ``(n_outputs,)`` with ``n_outputs >= 1``, ``std`` of
            another shape.
    """

    mean: np.ndarray
    std: np.ndarray
    samples: int

    def __post_init__(self) -> None:
        mean, std, samples = _checked(self.mean, self.std, self.samples, "ReadoutCalibration.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "samples", samples)

    @property
    def n_outputs(self) -> int:
        """The output channels (neurons) it calibrates."""
        return len(self.mean)

    @classmethod
    def checked(cls, name: str, calibration: Any, n_outputs: int, where: str) -> "ReadoutCalibration":
        """``calibration`` if it is a :class:`ReadoutCalibration` of ``n_outputs`` output
        channels (the one check of a calibration against the readout it is applied to).

        Args:
            name: what to name in an error (the argument, or the command-line option).
            calibration: the value given.
            n_outputs: the output channels of the readout it must calibrate.
            where: whose output channels these are, for the message (e.g. ``"the configuration"``).

        Raises:
            ParameterValueError: not a :class:`ReadoutCalibration`.
            ShapeError: a calibration of another number of output channels.
        """
        instance(name, calibration, cls, "a ReadoutCalibration (ReadoutCalibration.measure)")
        if calibration.n_outputs != n_outputs:
            raise ShapeError(name, f"({n_outputs},): one mean and spread per output channel of {where}",
                             (calibration.n_outputs,))
        return calibration

    @classmethod
    def measure(cls, output_counts: Any) -> "ReadoutCalibration":
        """A chip's calibration from its output neurons' spike counts on ``B >= 2``
        unlabelled recordings: each channel's mean and standard deviation over the
        recordings, the deviation floored at :data:`CALIBRATION_STD_FLOOR`.

        Args:
            output_counts: ``(B, n_outputs)`` spike counts per recording and output
                channel (in the readout window, as the readout counts them).

        Raises:
            ParameterValueError: counts that are not finite non-negative real numbers.
            ShapeError: not ``(B, n_outputs)`` with ``B >= 2`` and ``n_outputs >= 1``.
        """
        expected = f"(B, n_outputs) with B >= {MIN_RECORDINGS} recordings and n_outputs >= 1"
        counts = real_array("output_counts", output_counts, shape=(None, None), expected=expected, low=0.0,
                            what="spike counts (real numbers)")
        if counts.shape[0] < MIN_RECORDINGS or counts.shape[1] < 1:
            raise ShapeError("output_counts", expected, counts.shape)
        return cls(counts.mean(0), np.maximum(counts.std(0), CALIBRATION_STD_FLOOR), counts.shape[0])

    def apply(self, output_counts: Any) -> np.ndarray:
        """``(output_counts - mean) / std``, shape ``(B, n_outputs)``.

        Raises:
            ParameterValueError: counts that are not finite non-negative real numbers.
            ShapeError: counts of another number of output channels than the calibration's.
        """
        counts = real_array("output_counts", output_counts, shape=(None, self.n_outputs), low=0.0,
                            expected=f"(B, {self.n_outputs}) (the calibration's output channels)",
                            what="spike counts (real numbers)")
        return (counts - self.mean) / self.std

    def to_json(self) -> str:
        """JSON text: the format tag, ``samples``, ``mean`` and ``std`` (floats written
        exactly: ``from_json(to_json())`` equals the calibration)."""
        return json.dumps({"format": FORMAT, "samples": self.samples, "mean": self.mean.tolist(), "std": self.std.tolist()})

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "ReadoutCalibration":
        """Read :meth:`to_json`'s output.

        Raises:
            ParameterValueError: not text, not JSON, another format tag, a missing or unknown key, a
                value of the wrong JSON type, ``std`` of another length than ``mean``, a
                negative mean, a spread that is not positive, fewer than 2 samples (each
                named by its JSON path, e.g. ``std[3]``).
        """
        instance("text", text, (str, bytes, bytearray), "JSON text (a str, or its bytes)")
        document = format_tag(loads(text, "readout calibration file"), FORMAT, "readout calibration")
        d = json_object("", document, _KEYS, what="the readout calibration")
        samples = json_int("samples", d["samples"])
        mean = json_numbers("mean", d["mean"])
        std = json_numbers("std", d["std"], length=len(mean))
        return cls(*_checked(mean, std, samples, ""))

    def save(self, path: Union[str, os.PathLike], compress: Optional[bool] = None) -> Path:
        """Write :meth:`to_json` to ``path`` (gzip-compressed if ``compress``; default: if the
        name ends in ``.gz``). Returns the path.

        Raises:
            ParameterValueError: the file cannot be written.
        """
        return write_json_file(path, self.to_json(), compress)

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "ReadoutCalibration":
        """Read a file :meth:`save` wrote (gzip-compressed or not).

        Raises:
            ParameterValueError: no such file, and see :meth:`from_json`.
        """
        return cls.from_json(read_json_file(path, "readout calibration file"))


def _checked(mean: Any, std: Any, samples: Any, prefix: str) -> Tuple[np.ndarray, np.ndarray, int]:
    """The fields, checked (named ``prefix + field``): ``mean`` ``(n_outputs,)`` finite and
    ``>= 0``, ``std`` of the same shape finite and ``> 0``, ``samples >= 2``."""
    mean = real_array(f"{prefix}mean", mean, shape=(None,), expected="(n_outputs,) with n_outputs >= 1", low=0.0,
                      what="mean spike counts (real numbers)")
    if len(mean) == 0:
        raise ShapeError(f"{prefix}mean", "(n_outputs,) with n_outputs >= 1", mean.shape)
    std = real_array(f"{prefix}std", std, shape=(len(mean),), expected=f"({len(mean)},), one per entry of `mean`",
                     low=0.0, low_open=True, what="spreads of spike counts (real numbers)")
    return mean, std, integer(f"{prefix}samples", samples, low=MIN_RECORDINGS)
