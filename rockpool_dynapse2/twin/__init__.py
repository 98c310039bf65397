"""Digital twins of individual chips: probe a board, fit its flaws, deploy around them.

Every DYNAP-SE2 differs from the next (see :class:`~rockpool_dynapse2.hardware.ChipProfile`).
This package works through the board protocol (:class:`~rockpool_dynapse2.hardware.Board`),
so the same code runs on a virtual chip with flaws and on a samna board.

* :mod:`.stimuli`: :class:`ProbeProtocol`, the probe's operating point and stimuli, and the
  runs it sends (:func:`probe_runs`);
* :mod:`.probe`: :func:`probe`, which runs them through a board and records every neuron's
  spikes as :class:`ProbeRecordings`;
* :mod:`.defects`: :func:`find_defects`, dead and always-on neurons and defective CAM
  entries in the recordings, by conservative rules (:class:`FoundDefects`);
* :mod:`.quantities`: what is fitted (:data:`~.quantities.PARAMETER_NAMES`) and what is
  identifiable: :func:`effective_quantities` of a profile, true or fitted;
* :mod:`.replay`: the model both fits use, a probe's runs replayed in the simulation with
  each neuron's log-factors, and the twin's profile (:func:`~.replay.twin_profile`);
* :mod:`.staged`: the staged fit on spike times (:func:`~.staged.fit_staged`), each
  family of factors from the timing runs that isolate it;
* :mod:`.fit`: :func:`fit_twin`, which fits each neuron's factors through the
  differentiable simulation (staged on spike times, or on binned counts) and returns a :class:`Twin` (a
  :class:`~rockpool_dynapse2.hardware.ChipProfile`, the defects, the :class:`FitQuality`);
  :func:`predict_counts`, :func:`quantity_errors`;
* :mod:`.finetune`: :func:`~.finetune.fine_tune` tunes a trained network on one chip's
  twin and writes that chip's configuration; :func:`~.finetune.chip_factors` translates a
  profile into the training model's factors;
* :mod:`.probe_plan`: probing only the slots a network can be placed on (its neurons per
  core plus spares), fitting them (:func:`~.probe_plan.probe_and_fit`) and placing the
  network on probed good slots only (:func:`~.probe_plan.placement_defects`);
* :mod:`.yield_study`: the yield study, one network on many virtual chips: a chip's job
  and outcome (:func:`~.yield_study.run_chip`), the tuning strategies, the distribution;
* :mod:`.yield_runners`: where the chips run: here, in a process pool, or on Ray.

``docs/twin.md`` describes the workflow.
"""

from .defects import FoundDefects, find_defects
from .finetune import FineTuneResult, chip_factors, fine_tune
from .fit import FitQuality, Twin, fit_twin, predict_counts, quantity_errors
from .probe import ChipRecording, ProbeRecordings, probe, probe_configuration
from .quantities import effective_quantities
from .stimuli import ProbeProtocol, ProbeRun, probe_runs

__all__ = [
    "ProbeProtocol",
    "ProbeRun",
    "probe_runs",
    "probe",
    "probe_configuration",
    "ProbeRecordings",
    "ChipRecording",
    "FoundDefects",
    "find_defects",
    "effective_quantities",
    "fit_twin",
    "Twin",
    "FitQuality",
    "predict_counts",
    "quantity_errors",
    "FineTuneResult",
    "chip_factors",
    "fine_tune",
]
