"""Probing only the slots a network can be placed on (twin.probe_plan).

The plan probes each used core's network neurons plus spares; the placement it gives
(the twin's defects and every unprobed slot unusable) puts the network on probed good
slots only, and refuses a network that needs more; a probe that finds more defective
slots than spares probes again with more. The probe and the fit are replaced (they have
their own tests and take minutes).
"""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from rockpool_dynapse2.errors import Dynapse2DRCError, ParameterValueError
from rockpool_dynapse2.hardware import ChipProfile
from rockpool_dynapse2.placement import config_from_specification
from rockpool_dynapse2.twin import probe_plan
from rockpool_dynapse2.twin.probe_plan import PROBE_MARGIN, ProbePlan, placement_defects, plan_probe, probe_and_fit, slots_needed


def _at(*slots):
    return [SimpleNamespace(chip=c, core=k, neuron=n) for c, k, n in slots]


def _profile(dead=(), on=()):
    return replace(ChipProfile.ideal(), dead_neurons=tuple(dead), always_on_neurons=tuple(on))


def test_the_plan_probes_the_most_neurons_of_a_used_core_plus_spares():
    plan = plan_probe(_at(*[(0, 0, n) for n in range(5)], (0, 2, 0), (0, 2, 1)), margin=3)
    assert plan.chips == (0,) and plan.cores == (0, 2) and plan.neurons_per_core == 8
    assert plan.need == {(0, 0): 5, (0, 2): 2}
    assert plan.probed() == {(0, k, n) for k in (0, 2) for n in range(8)}
    assert plan.protocol().neurons_per_core == 8
    assert plan_probe(_at(*[(0, 1, n) for n in range(250)])).neurons_per_core == 256  # at most the core
    assert plan_probe(_at((0, 0, 0))).neurons_per_core == 1 + PROBE_MARGIN


def test_a_plan_needs_a_network_and_a_margin_of_at_least_zero():
    with pytest.raises(ParameterValueError, match="`addresses`"):
        plan_probe([])
    with pytest.raises(ParameterValueError, match="`margin`"):
        plan_probe(_at((0, 0, 0)), margin=-1)


def test_slots_needed_counts_the_bad_probed_slots_of_each_used_core():
    plan = ProbePlan((0,), (0, 1), 6, {(0, 0): 4, (0, 1): 2})
    assert slots_needed(plan, frozenset()) == 4
    assert slots_needed(plan, frozenset({(0, 0, 1), (0, 0, 5), (0, 1, 0)})) == 6  # core 0: 4 + 2
    assert slots_needed(plan, frozenset({(0, 0, 200), (1, 0, 0), (0, 3, 0)})) == 4  # not probed: not counted


def _cores(spec):
    return sorted(set(int(c) for c in spec.core_of_neuron))


def test_the_network_is_placed_on_probed_good_slots_only(chain_spec):
    spec, _ = chain_spec
    sizes = np.bincount(spec.core_of_neuron)
    n = int(sizes.max()) + 2
    probed = frozenset((0, k, s) for k in _cores(spec) for s in range(n))
    dead = (0, _cores(spec)[0], 0)
    mapped = config_from_specification(spec, defects=placement_defects(_profile(dead=[dead]), probed))
    placed = {(a.chip, a.core, a.neuron) for a in mapped.neurons}
    assert placed <= probed and dead not in placed


def test_a_network_that_needs_an_unprobed_slot_is_refused_by_placement(chain_spec):
    spec, _ = chain_spec
    k = int(np.argmax(np.bincount(spec.core_of_neuron)))
    n = int(np.bincount(spec.core_of_neuron)[k])
    probed = frozenset((0, c, s) for c in _cores(spec) for s in range(n))
    with pytest.raises(Dynapse2DRCError, match="neurons_per_core"):  # one of the probed slots is dead: one short
        config_from_specification(spec, defects=placement_defects(_profile(on=[(0, k, 1)]), probed))


def test_a_probe_that_finds_more_bad_slots_than_spares_probes_again_with_more(monkeypatch):
    plan = ProbePlan((0,), (1,), 5, {(0, 1): 4})
    seen = []
    boards = []

    class Board:
        def __init__(self):
            self.open = True
            boards.append(self)

        def close(self):
            self.open = False

    def fake_probe(board, chips, cores, protocol):
        seen.append((chips, cores, protocol.neurons_per_core))
        return protocol.neurons_per_core

    bad = [(0, 1, 0), (0, 1, 2)]  # two bad slots among the first five: 4 + 2 = 6 needed
    monkeypatch.setattr(probe_plan, "_probe", fake_probe)
    monkeypatch.setattr(probe_plan, "_fit", lambda n: SimpleNamespace(profile=_profile(dead=bad)))
    stages = []
    twin, last, probes = probe_and_fit(Board, plan, lambda name, fn: (stages.append(name), fn())[1])
    assert seen == [((0,), (1,), 5), ((0,), (1,), 6 + PROBE_MARGIN)] and probes == 2
    assert last.neurons_per_core == 6 + PROBE_MARGIN and stages == ["probe", "fit", "probe", "fit"]
    assert not any(b.open for b in boards) and len(boards) == 2


def test_the_plan_s_probe_and_fit_are_the_package_s(monkeypatch):
    """The real probe of a plan on a virtual board (a short protocol: 2 slots of one core),
    and the fit it calls (replaced here: the fit has its own tests)."""
    import importlib

    from rockpool_dynapse2.hardware import VirtualBoard
    from rockpool_dynapse2.twin import ProbeProtocol

    short = ProbeProtocol(dc_levels=(1e-8,), dc_steps=100, train_rates=(100.0,), inhibitory_rates=(100.0,), train_steps=100,
                          mixture_seeds=(), held_out=False, burst_steps=50, quiet_steps=50, rest_steps=50)
    plan = plan_probe(_at((0, 2, 0)), margin=1)
    recordings = probe_plan._probe(VirtualBoard(), plan.chips, plan.cores, plan.protocol(short))
    assert recordings.protocol.neurons_per_core == 2 and recordings.chips[0].cores == (2,)
    assert all(c.shape[1] == 2 for c in recordings.chips[0].counts.values())
    fit = importlib.import_module("rockpool_dynapse2.twin.fit")
    monkeypatch.setattr(fit, "fit_twin", lambda r: ("fitted", r))
    assert probe_plan._fit(recordings) == ("fitted", recordings)
