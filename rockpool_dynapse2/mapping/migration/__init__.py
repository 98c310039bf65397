"""Migrating a network of Rockpool's own ``DynapSim`` (``rockpool.devices.dynapse``).

* :mod:`.read`: :func:`read_rockpool`, a Rockpool network of ``LinearJax`` and ``DynapSim``
  layers (or its graph) -> :class:`RockpoolNetwork` (currents, constants, weights), which
  can run Rockpool's own simulation of it for a reference;
* :mod:`.convert`: a :class:`RockpoolNetwork` -> the training library's ``ChipModel`` and
  the trained quantities that stand for it; the inhibition that acted in Rockpool;
* :mod:`.report`: :class:`MigrationReport`, where the two simulators differ for the network;
* :mod:`.migrate`: :func:`migrate` and :class:`Migration` (with ``fine_tune``).

See ``docs/migration.md``.
"""

from .migrate import Migration, migrate
from .read import RockpoolNetwork, read_rockpool
from .report import Behaviour, Finding, MigrationReport, WeightSigns

__all__ = [
    "migrate",
    "Migration",
    "read_rockpool",
    "RockpoolNetwork",
    "MigrationReport",
    "Finding",
    "WeightSigns",
    "Behaviour",
]
