"""Grouping neurons into cores: all 256 neurons of a core share one parameter set.

:func:`cluster_cores` groups neurons whose currents agree within a tolerance, splits
groups larger than a core, and, while there are more groups than cores, merges the two
closest groups that fit into one core (distance: the largest log-ratio between their
currents). Each core takes the geometric mean of its neurons' currents; the relative
distance of every neuron from its core is reported, so merges that change a neuron's
behaviour are visible.

A network with more neurons than the cores hold is refused with
:class:`~rockpool_dynapse2.errors.CoreCapacityError`, a design-rule error (a Rockpool
``DRCError``) whose violation names the limit, the need and where.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import CoreCapacityError, Violation
from ..parameters.core import CoreParameters
from ..simulation.records import CURRENT_NAMES

__all__ = ["CoreCapacityError", "cluster_cores"]


def cluster_cores(
    currents: Dict[str, np.ndarray],
    max_cores: int,
    neurons_per_core: int,
    tolerance: float = 0.05,
    layers: Optional[Sequence[Tuple[str, int]]] = None,
) -> Tuple[np.ndarray, Tuple[CoreParameters, ...], np.ndarray]:
    """Assign N neurons to logical cores.

    Args:
        currents: ``{name: (N,)}`` for every simulator current (``CURRENT_NAMES``), in A.
        max_cores: how many cores may be used.
        neurons_per_core: capacity of a core.
        tolerance: neurons whose currents all agree within this relative amount form one
            group from the start.
        layers: ``(name, size)`` of the layers the neurons come from, in order, named in
            the capacity error (optional).

    Returns:
        ``(core_of_neuron (N,), cores, deviation (N,))``: logical core per neuron (cores
        numbered by their first neuron), the parameter set of each core, and each
        neuron's largest relative difference ``|I_neuron / I_core - 1|`` over its currents.

    Raises:
        CoreCapacityError: when ``N > max_cores * neurons_per_core``; its one violation,
            rule ``"neurons"``, has that limit and ``N``.
    """
    X = np.log(np.stack([np.asarray(currents[k], dtype=np.float64) for k in CURRENT_NAMES], axis=1))
    n = X.shape[0]
    if n > max_cores * neurons_per_core:
        raise CoreCapacityError(_capacity_violation(n, max_cores, neurons_per_core, layers))
    step = np.log1p(max(tolerance, 1e-12))
    _, first, label = np.unique(np.round(X / step), axis=0, return_index=True, return_inverse=True)
    label = label.ravel()
    # Groups in order of their first neuron, split into core-sized chunks.
    groups: List[np.ndarray] = []
    for g in np.argsort(first):
        members = np.flatnonzero(label == g)
        groups.extend(members[i : i + neurons_per_core] for i in range(0, members.size, neurons_per_core))

    while len(groups) > max_cores:
        centres = np.stack([X[g].mean(axis=0) for g in groups])
        sizes = np.array([g.size for g in groups])
        dist = np.abs(centres[:, None, :] - centres[None, :, :]).max(axis=2)
        fits = sizes[:, None] + sizes[None, :] <= neurons_per_core
        np.fill_diagonal(fits, False)
        if not fits.any():  # cannot happen when n <= max_cores * neurons_per_core, but be explicit
            raise CoreCapacityError(
                Violation("cores", max_cores, len(groups), f"network ({n} neurons in groups that fit no fewer cores)")
            )
        dist = np.where(fits, dist, np.inf)
        a, b = np.unravel_index(np.argmin(dist), dist.shape)
        a, b = min(a, b), max(a, b)
        groups[a] = np.sort(np.concatenate([groups[a], groups[b]]))
        del groups[b]

    groups.sort(key=lambda g: g[0])
    core_of_neuron = np.empty(n, dtype=np.int64)
    cores = []
    deviation = np.empty(n)
    for c, members in enumerate(groups):
        core_of_neuron[members] = c
        centre = X[members].mean(axis=0)
        cores.append(CoreParameters(**{k: float(np.exp(v)) for k, v in zip(CURRENT_NAMES, centre)}))
        deviation[members] = np.abs(np.expm1(X[members] - centre)).max(axis=1)
    return core_of_neuron, tuple(cores), deviation


def _capacity_violation(n: int, max_cores: int, neurons_per_core: int, layers: Optional[Sequence[Tuple[str, int]]]) -> Violation:
    """The violation of ``n`` neurons on ``max_cores`` cores of ``neurons_per_core``."""
    where = f"network ({max_cores} cores x {neurons_per_core} neurons)"
    if layers:
        where += "; layers " + ", ".join(f"{name!r} ({size} neurons)" for name, size in layers)
    return Violation("neurons", max_cores * neurons_per_core, n, where)
