"""Digital twins of individual chips: probe a board, fit its flaws, deploy around them.

Every DYNAP-SE2 differs from the next (see :class:`~rockpool_dynapse2.hardware.ChipProfile`).
This package works through the board protocol (:class:`~rockpool_dynapse2.hardware.Board`),
so the same code runs on a virtual chip with flaws and on a samna board.

Its modules are added as they are built; ``docs/twin.md`` describes the workflow.

* :mod:`.finetune`: :func:`~.finetune.fine_tune` tunes a trained network on one chip's
  twin and writes that chip's configuration; :func:`~.finetune.chip_factors` translates a
  profile into the training model's factors;
* :mod:`.yield_study`: the yield study, one network on many virtual chips: a chip's job
  and outcome (:func:`~.yield_study.run_chip`), the tuning strategies, the distribution;
* :mod:`.yield_runners`: where the chips run: here, in a process pool, or on Ray.
"""

from .finetune import FineTuneResult, chip_factors, fine_tune

__all__ = ["FineTuneResult", "chip_factors", "fine_tune"]
