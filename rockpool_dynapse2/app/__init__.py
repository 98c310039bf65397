"""The application: what the ``rockpool-dynapse2`` command runs, on top of the library.

* :mod:`.cli`: the command line (``demo``, ``train``, ``inspect``, ``deploy``);
* :mod:`.train_pipeline`: ``train``: a data set -> trained, quantized, mapped, configured,
  run on a board, each stage measured; :mod:`.data`: the data file it reads, checked;
* :mod:`.demo`: ``demo``: the same stages on a built-in task, with and without mismatch
  injection, with its report;
* :mod:`.demo_plots`: the demo's figures;
* :mod:`.tasks`: the built-in tasks (frozen noise, rate-frequency, and the temporal ones),
  generated from a seed; :mod:`.task_base`: what they share (the ``Task`` record, checks);
* :mod:`.temporal_tasks`: temporal tasks whose classes only timing tells apart, with the
  spike-count baseline that shows it.

Nothing in the library imports this package.
"""

__all__ = ["cli", "data", "demo", "demo_plots", "task_base", "tasks", "temporal_tasks", "train_pipeline"]
