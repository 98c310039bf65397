"""Probing only what a network needs: the slots placement will use, and nothing else.

A network of a few tens of neurons uses a few tens of slots per core; probing and fitting
all 256 neurons of each core it uses costs minutes per chip for nothing. A
:class:`ProbePlan` probes, on every core the network uses, the first ``neurons_per_core``
slots (what :class:`~.stimuli.ProbeProtocol` probes): the most the network puts on one
core plus :data:`PROBE_MARGIN` spares for the defective slots the probe finds.

:func:`probe_and_fit` probes the plan's slots, fits a twin to them and checks that each
used core still has as many good probed slots as the network needs there; if the probe
found more defective slots than the spares, it probes again with more slots (up to the
whole core). :func:`placement_defects` then gives placement the twin's defects *and every
slot the probe did not see*, so the network is placed on probed, good slots only: a
network that needs more than that is a placement error (``neurons_per_core``), never a
neuron placed on a slot nobody measured.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Optional, Sequence, Tuple

from ..chip import GEOMETRY
from ..errors import ParameterValueError, Shown
from ..parameters.validate import integer
from ..placement.defects import Defects

__all__ = ["PROBE_MARGIN", "ProbePlan", "plan_probe", "slots_needed", "placement_defects", "probe_and_fit"]

PROBE_MARGIN = 8
"""Spare slots probed on each used core beyond the network's own there (a drawn chip has
0.3 % dead or always-on neurons: 8 spares on a core of 40 probed slots are short with a
probability below 1e-12)."""

Slot = Tuple[int, int, int]
"""``(chip, core, neuron)``."""


@dataclass(frozen=True)
class ProbePlan:
    """What to probe for one network.

    Attributes:
        chips: the chips the network uses.
        cores: the cores it uses on them (each is probed on every chip of ``chips``).
        neurons_per_core: slots ``0 .. neurons_per_core - 1`` of each are probed.
        need: ``{(chip, core): the network's neurons there}``.
    """

    chips: Tuple[int, ...]
    cores: Tuple[int, ...]
    neurons_per_core: int
    need: Dict[Tuple[int, int], int]

    def probed(self) -> FrozenSet[Slot]:
        """Every probed slot."""
        return frozenset((c, k, n) for c in self.chips for k in self.cores for n in range(self.neurons_per_core))

    def protocol(self, base: Any = None) -> Any:
        """The probe's protocol: ``base`` (default :class:`~.stimuli.ProbeProtocol`) with
        this plan's ``neurons_per_core``."""
        from dataclasses import replace

        from .stimuli import ProbeProtocol

        return replace(ProbeProtocol() if base is None else base, neurons_per_core=self.neurons_per_core)


def plan_probe(addresses: Sequence[Any], margin: int = PROBE_MARGIN) -> ProbePlan:
    """The plan for a network placed at ``addresses`` (a configuration's ``neurons``: each
    with ``chip``, ``core``, ``neuron``): the most neurons on one core plus ``margin``
    slots, at most the whole core.

    Raises:
        ParameterValueError: no address, or ``margin`` not an integer >= 0.
    """
    margin = integer("margin", margin, low=0)
    if not len(addresses):
        raise ParameterValueError("addresses", "the places of at least one neuron", Shown("none"))
    need = dict(Counter((int(a.chip), int(a.core)) for a in addresses))
    n = min(GEOMETRY.neurons_per_core, max(need.values()) + margin)
    return ProbePlan(tuple(sorted({c for c, _ in need})), tuple(sorted({k for _, k in need})), n, need)


def slots_needed(plan: ProbePlan, bad: FrozenSet[Slot]) -> int:
    """The slots per core to probe so that every used core has its network's neurons on good
    probed slots, given the ``bad`` slots found among the probed ones."""
    probed = plan.probed()
    found = Counter((c, k) for c, k, _ in bad & probed)
    return max(need + found[place] for place, need in plan.need.items())


def placement_defects(profile: Any, probed: FrozenSet[Slot]) -> Defects:
    """What placement must avoid: the twin's defects (``profile.defects()``, a
    :class:`~rockpool_dynapse2.hardware.ChipProfile`'s) and every slot not ``probed``."""
    shape = (GEOMETRY.n_chips, GEOMETRY.cores_per_chip, GEOMETRY.neurons_per_core)
    unprobed = {(c, k, n) for c in range(shape[0]) for k in range(shape[1]) for n in range(shape[2])} - set(probed)
    found = profile.defects()
    return Defects(bad_neurons=found.bad_neurons | unprobed, bad_cam_entries=found.bad_cam_entries)


def _probe(board: Any, chips: Sequence[int], cores: Sequence[int], protocol: Any) -> Any:
    from .probe import probe  # the package's `probe` is this function, not its module

    return probe(board, chips=list(chips), cores=list(cores), protocol=protocol)


def _fit(recordings: Any) -> Any:
    from .fit import fit_twin

    return fit_twin(recordings)


def probe_and_fit(board_factory: Callable[[], Any], plan: ProbePlan, stage: Optional[Callable[[str, Callable[[], Any]], Any]] = None,
                  base_protocol: Any = None) -> Tuple[Any, ProbePlan, int]:
    """Probe ``plan``'s slots on a board from ``board_factory`` (closed after each probe),
    fit a twin; probe more slots while a used core has fewer good probed slots than its
    network needs (see the module docs).

    Args:
        board_factory: opens the chip's board.
        plan: what to probe first (:func:`plan_probe`).
        stage: ``stage(name, fn)`` runs ``fn`` as a timed stage (``"probe"``, ``"fit"``);
            default: just calls it.
        base_protocol: the protocol whose ``neurons_per_core`` the plan sets (default:
            :class:`~.stimuli.ProbeProtocol`).

    Returns:
        ``(twin, the plan last probed, probes run)``: the twin fitted to that plan's slots.
    """
    stage = stage or (lambda name, fn: fn())
    probes = 0
    while True:
        protocol = plan.protocol(base_protocol)
        recordings = stage("probe", lambda: _probe_once(board_factory, plan, protocol))
        twin = stage("fit", lambda: _fit(recordings))
        probes += 1
        wanted = slots_needed(plan, twin.profile.defects().bad_neurons)
        if wanted <= plan.neurons_per_core or plan.neurons_per_core == GEOMETRY.neurons_per_core:
            return twin, plan, probes
        n = min(GEOMETRY.neurons_per_core, wanted + PROBE_MARGIN)
        plan = ProbePlan(plan.chips, plan.cores, n, plan.need)


def _probe_once(board_factory: Callable[[], Any], plan: ProbePlan, protocol: Any) -> Any:
    board = board_factory()
    try:
        return _probe(board, plan.chips, plan.cores, protocol)
    finally:
        board.close()
