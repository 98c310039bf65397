"""Digital twins of individual chips: probe a board, fit its flaws, deploy around them.

Every DYNAP-SE2 differs from the next (see :class:`~rockpool_dynapse2.hardware.ChipProfile`).
This package works through the board protocol (:class:`~rockpool_dynapse2.hardware.Board`),
so the same code runs on a virtual chip with flaws and on a samna board.

* :mod:`.stimuli`: :class:`ProbeProtocol`, the probe's operating point and stimuli, and the
  runs it sends (:func:`probe_runs`);
* :mod:`.probe`: :func:`probe`, which runs them through a board and records every neuron's
  spikes as :class:`ProbeRecordings`;
* :mod:`.fit`: :func:`fit_twin`, which finds dead, always-on neurons and defective CAM
  entries and fits each neuron's effective parameters, returning a :class:`Twin` (a
  :class:`~rockpool_dynapse2.hardware.ChipProfile` and its fit quality);
  :func:`effective_quantities`, the identifiable quantities of a profile.

``docs/twin.md`` describes the workflow.
"""

from .probe import ChipRecording, ProbeRecordings, probe, probe_configuration
from .stimuli import ProbeProtocol, ProbeRun, probe_runs

__all__ = [
    "ProbeProtocol",
    "ProbeRun",
    "probe_runs",
    "probe",
    "probe_configuration",
    "ProbeRecordings",
    "ChipRecording",
]
