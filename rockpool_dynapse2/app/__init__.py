"""The application: what the ``rockpool-dynapse2`` command runs, on top of the library.

* :mod:`.cli`: the command line (``demo``, ``train``, ``map``, ``inspect``, ``deploy``,
  ``yield``);
* :mod:`.deploy_command`: ``deploy``'s steps: rasters and labels checked, lost inputs,
  the classes printed, the chip's readout calibrated on unlabelled input;
* :mod:`.map_command`: ``map``: a NIR file or a saved network -> configuration and report;
* :mod:`.train_pipeline`: ``train``: a data set -> trained, quantized, mapped, configured,
  run on a board, each stage measured; :mod:`.data`: the data file it reads, checked;
* :mod:`.demo`: ``demo``: the same stages on a built-in task, with and without mismatch
  injection, with its report;
* :mod:`.demo_plots`: the demo's figures;
* :mod:`.yield_command`: ``yield``: one trained network on many virtual chips, before and
  after per-chip tuning (the study itself is :mod:`rockpool_dynapse2.twin.yield_study`);
* :mod:`.tasks`: the built-in tasks (frozen noise, rate-frequency, and the temporal ones),
  generated from a seed; :mod:`.task_base`: what they share (the ``Task`` record, checks);
* :mod:`.temporal_tasks`: temporal tasks whose classes only timing tells apart, with the
  spike-count baseline that shows it.

Nothing in the library imports this package.
"""

__all__ = ["cli", "data", "demo", "deploy_command", "demo_plots", "map_command", "task_base", "tasks", "temporal_tasks", "train_pipeline", "yield_command"]
