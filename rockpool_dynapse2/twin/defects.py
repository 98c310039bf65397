"""Finding dead and always-on neurons and defective CAM entries in a probe's recordings.

The rules are conservative: a defect is reported only where the recordings leave no other
explanation; where they cannot tell, the neuron or entry is reported *untested* instead.

* **always on**: the neuron spiked in every step of the quiet window (no input, no DC: a
  working neuron at rest does not fire at all).
* **dead**: not always on, and no spike in any run of the probe, while the chip's other
  neurons fired in the strongest DC run (a core whose DC input is broken is not "dead").
* **defective CAM entry** ``e`` of a neuron: no spike in entry ``e``'s burst window while
  the neuron's median over the 64 windows is at least :data:`MIN_RESPONSE` spikes (every
  entry of a neuron has the same weight and type in the ``entries`` run, so a working
  entry answers as its siblings do). Entries of neurons with a weaker median, dead or
  always on, are untested. A defective entry is missed when a late spike of the previous
  burst falls in its window (a miss, never a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .probe import ChipRecording
from .stimuli import ENTRIES, ProbeProtocol

__all__ = ["FoundDefects", "find_defects", "MIN_RESPONSE"]

MIN_RESPONSE = 2
"""The median spikes per burst window a neuron needs for its entries to be tested."""

_NEURON = Tuple[int, int, int]


@dataclass(frozen=True)
class FoundDefects:
    """What :func:`find_defects` found on one chip (addresses as in a
    :class:`~rockpool_dynapse2.hardware.ChipProfile`).

    Not to be confused with :class:`~rockpool_dynapse2.placement.Defects`, what placement
    avoids: a twin's profile gives placement its defects through
    :meth:`~rockpool_dynapse2.hardware.ChipProfile.defects`.

    Attributes:
        dead: ``(chip, core, neuron)`` of dead neurons.
        always_on: ``(chip, core, neuron)`` of always-on neurons.
        cam_entries: ``(chip, core, neuron, entry)`` of defective CAM entries.
        untested_entries: ``(chip, core, neuron)`` of neurons whose entries could not be tested.
    """

    dead: Tuple[_NEURON, ...] = ()
    always_on: Tuple[_NEURON, ...] = ()
    cam_entries: Tuple[Tuple[int, int, int, int], ...] = ()
    untested_entries: Tuple[_NEURON, ...] = ()


def _windows(counts: np.ndarray, protocol: ProbeProtocol) -> Tuple[np.ndarray, np.ndarray]:
    """``(quiet (N,), per entry (64, N))`` spike counts of the ``entries`` run."""
    quiet_bins = protocol.quiet_steps // protocol.bin_steps
    per_window = protocol.burst_steps // protocol.bin_steps
    quiet = counts[:quiet_bins].sum(axis=0)
    bursts = counts[quiet_bins : quiet_bins + ENTRIES * per_window]
    return quiet, bursts.reshape(ENTRIES, per_window, -1).sum(axis=1)


def find_defects(recording: ChipRecording, protocol: ProbeProtocol) -> FoundDefects:
    """The defects of one chip's recordings, by the rules of the module docs."""
    addresses = recording.addresses(protocol)
    quiet, bursts = _windows(recording.counts["entries"], protocol)
    on = quiet >= protocol.quiet_steps
    total = sum(c.sum(axis=0) for c in recording.counts.values())
    strongest = recording.counts[f"dc_{int(np.argmax(protocol.dc_levels))}"].sum(axis=0)
    dead = (total == 0) & ~on & (np.median(strongest) > 0)
    tested = ~on & ~dead & (np.median(bursts, axis=0) >= MIN_RESPONSE)
    silent = (bursts == 0) & tested[None, :]
    return FoundDefects(
        dead=tuple(addresses[j] for j in np.flatnonzero(dead)),
        always_on=tuple(addresses[j] for j in np.flatnonzero(on)),
        cam_entries=tuple(sorted(addresses[j] + (int(e),) for e, j in zip(*np.nonzero(silent)))),
        untested_entries=tuple(addresses[j] for j in np.flatnonzero(~tested & ~on & ~dead)),
    )
