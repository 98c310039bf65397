"""Placing a network around a chip's defects (issue #18, item 3): :class:`placement.Defects`,
``config_from_specification(spec, defects=...)``, ``ChipProfile.defects()`` and ``map --profile``.

1. without defects the configuration is the one placement always wrote (slots and CAM
   entries in order), whether ``defects`` is omitted, ``None`` or empty;
2. with defects no neuron sits on a bad slot and no synapse on a bad CAM entry, and the
   configuration reads back as the same network (up to neuron places);
3. on ``VirtualBoard(profile=p)`` a network placed with ``p.defects()`` loses no neuron and
   no synapse (it runs spike for spike as on the ideal chip), the same network placed
   without them does;
4. what does not fit is a design-rule violation that names the defects, never a drop;
5. bad defect descriptions are refused by name;
6. ``rockpool-dynapse2 map --profile`` places around a profile's defects and reports them.
"""

import json

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.app.map_command import MapOptions, run_map
from rockpool_dynapse2.errors import CliError, Dynapse2DRCError, ParameterValueError
from rockpool_dynapse2.hardware import DynapseSamna, VirtualBoard
from rockpool_dynapse2.hardware.chip_profile import ChipProfile
from rockpool_dynapse2.mapping import mapper, quantize_spec
from rockpool_dynapse2.placement import Defects, MappedConfiguration, avoided, config_from_specification, spec_from_config

T = 200


@pytest.fixture(scope="module")
def wide():
    """6 inputs -> 300 recurrent neurons -> 3 outputs, sparse weights, at most 200 neurons
    per core (2 cores, each with free slots)."""
    rng = np.random.default_rng(1)
    sparse = lambda shape, p: rng.normal(0, 1, shape) * (rng.random(shape) < p)  # noqa: E731
    net = Sequential(
        LinearJax((6, 300), weight=sparse((6, 300), 0.5), has_bias=False),
        DynapSimJax((300,), w_rec=sparse((300, 300), 0.03)),
        LinearJax((300, 3), weight=sparse((300, 3), 0.1), has_bias=False),
        DynapSimJax((3,)),
    )
    qspec, _ = quantize_spec(mapper(net.as_graph(), neurons_per_core=200))
    assert qspec.n_cores == 2
    return qspec


def _address(mapped, j):
    a = mapped.neurons[j]
    return (a.chip, a.core, a.neuron)


def _used_entries(mapped, j):
    return [e for e, s in enumerate(mapped.configuration.neuron(*_address(mapped, j)).synapses) if s.is_used]


def _with_defects(dead=(), always_on=(), cam=()):
    """The ideal chip with only these defects."""
    p = ChipProfile.ideal()
    return ChipProfile(p.neuron_factors, p.weight_factors, p.bias_gains, tuple(dead), tuple(always_on), tuple(cam))


def _same_network(a, b):
    """``a`` and ``b`` are the same quantized network (neurons in the same order, places aside)."""
    for wa, wb in zip(a.dense_weights(), b.dense_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.cores == b.cores
    np.testing.assert_array_equal(a.bases, b.bases)
    np.testing.assert_array_equal(a.output_neurons, b.output_neurons)
    np.testing.assert_array_equal(a.core_of_neuron, b.core_of_neuron)


# --- 1. without defects -----------------------------------------------------------------------------


def test_without_defects_the_configuration_is_unchanged(wide):
    plain = config_from_specification(wide)
    assert config_from_specification(wide, defects=None).to_json() == plain.to_json()
    assert config_from_specification(wide, defects=Defects()).to_json() == plain.to_json()
    for c in range(wide.n_cores):  # slots 0, 1, ... of each core, CAM entries 0, 1, ... of each neuron
        members = np.flatnonzero(wide.core_of_neuron == c)
        assert [plain.neurons[j].neuron for j in members] == list(range(members.size))
    counts = wide.synapse_counts()
    assert all(_used_entries(plain, j) == list(range(counts[j])) for j in range(wide.n_neurons))


# --- 2. around the defects ------------------------------------------------------------------------------


def _board_defects(wide, plain):
    """Every eighth slot of the first core and every other CAM entry of its slots' first
    40 entries, plus the first slot of the second core."""
    c0 = _address(plain, 0)[:2]
    c1 = _address(plain, int(np.flatnonzero(wide.core_of_neuron == 1)[0]))[:2]
    bad = {c0 + (n,) for n in range(0, 256, 8)} | {c1 + (0,)}
    cam = {c0 + (n, e) for n in range(256) for e in range(0, 40, 2)}
    return Defects(bad_neurons=frozenset(bad), bad_cam_entries=frozenset(cam))


def test_neurons_and_synapses_skip_the_bad_slots_and_entries(wide):
    plain = config_from_specification(wide)
    defects = _board_defects(wide, plain)
    mapped = config_from_specification(wide, defects=defects)
    places = [_address(mapped, j) for j in range(wide.n_neurons)]
    assert not set(places) & defects.bad_neurons
    counts = wide.synapse_counts()
    for j, place in enumerate(places):
        used = _used_entries(mapped, j)
        assert len(used) == counts[j]  # every synapse has its entry
        assert not {place + (e,) for e in used} & defects.bad_cam_entries
    for c in range(wide.n_cores):  # each neuron on the next good slot of its core, in order
        members = np.flatnonzero(wide.core_of_neuron == c)
        chip, core = places[members[0]][:2]
        assert [places[j][2] for j in members] == list(defects.good_slots(chip, core)[: members.size])


def test_a_network_placed_around_defects_reads_back_as_the_same_network(wide):
    defects = _board_defects(wide, config_from_specification(wide))
    mapped = config_from_specification(wide, defects=defects)
    _same_network(spec_from_config(MappedConfiguration.from_json(mapped.to_json())), wide)
    _same_network(spec_from_config(mapped), spec_from_config(config_from_specification(wide)))


def test_avoided_counts_the_defects_placement_stepped_over(chain_spec):
    qspec, _ = chain_spec
    plain = config_from_specification(qspec)
    chip, core, slot = _address(plain, 0)
    last = max(_address(plain, j)[2] for j in range(qspec.n_neurons) if _address(plain, j)[:2] == (chip, core))
    defects = Defects(
        bad_neurons=frozenset({(chip, core, 0), (chip, core, 255)}),  # the second lies beyond every used slot
        bad_cam_entries=frozenset({(chip, core, 1, 0), (chip, core, 1, 63)}),
    )
    mapped = config_from_specification(qspec, defects=defects)
    assert last < 254
    got = avoided(mapped.configuration, defects)
    assert (got.neuron_slots, got.cam_entries) == (1, 1)
    assert avoided(plain.configuration, Defects()).neuron_slots == 0


# --- 3. on a flawed chip -------------------------------------------------------------------------------------


def _run(mapped, x, profile=None):
    board = VirtualBoard(profile=profile)
    with DynapseSamna(board, mapped) as dyn:
        out = dyn(x)[0][0]
    return out, board


def test_on_a_flawed_chip_a_network_placed_around_its_defects_loses_nothing(chain_spec):
    qspec, x = chain_spec
    plain = config_from_specification(qspec)
    hidden = [j for j in range(qspec.n_neurons) if j not in set(qspec.output_neurons.tolist())]
    h0, h1 = _address(plain, hidden[0]), _address(plain, hidden[1])
    profile = _with_defects(
        dead=[h0], always_on=[_address(plain, int(qspec.output_neurons[0]))], cam=[h1 + (e,) for e in _used_entries(plain, hidden[1])]
    )
    placed = config_from_specification(qspec, defects=profile.defects())
    ideal, ideal_board = _run(plain, x)
    assert ideal.sum() > 0
    routed = lambda board: len(board.spec.input_synapses) + len(board.spec.recurrent_synapses)  # noqa: E731 (as the board reads them)

    out, board = _run(placed, x, profile)
    np.testing.assert_array_equal(out, ideal)  # every factor is 1: only the defects differ, and none is hit
    assert routed(board) == routed(ideal_board) and board.spec.n_neurons == qspec.n_neurons
    assert board.unrouted_events == ideal_board.unrouted_events == 0

    lost, board = _run(plain, x, profile)  # the same network placed without the defects
    assert not np.array_equal(lost, ideal)
    assert np.all(lost[:, 0] == 1)  # its first output sits on the always-on slot
    assert routed(board) < routed(ideal_board)


def test_a_chip_profile_s_defects_are_its_dead_and_always_on_neurons_and_bad_entries():
    profile = _with_defects(dead=[(0, 1, 2)], always_on=[(3, 3, 255)], cam=[(1, 2, 3, 63), (0, 0, 0, 0)])
    d = profile.defects()
    assert d == Defects(bad_neurons=frozenset({(0, 1, 2), (3, 3, 255)}), bad_cam_entries=frozenset({(1, 2, 3, 63), (0, 0, 0, 0)}))
    drawn = ChipProfile.draw(4, dead_fraction=0.01, always_on_fraction=0.01, cam_defect_fraction=0.01)
    assert len(drawn.defects().bad_neurons) == len(drawn.dead_neurons) + len(drawn.always_on_neurons) == 82
    assert len(drawn.defects().bad_cam_entries) == len(drawn.defective_cam_entries)


# --- 4. what does not fit ---------------------------------------------------------------------------------------


def test_a_core_with_too_few_good_slots_is_a_violation_that_counts_them(chain_spec):
    qspec, _ = chain_spec
    plain = config_from_specification(qspec)
    chip, core, _ = _address(plain, 0)
    size = int((qspec.core_of_neuron == qspec.core_of_neuron[0]).sum())
    defects = Defects(bad_neurons=frozenset((chip, core, n) for n in range(256 - size + 1)))
    with pytest.raises(Dynapse2DRCError) as err:
        config_from_specification(qspec, defects=defects)
    (v,) = err.value.violations
    assert (v.rule, v.limit, v.actual) == ("neurons_per_core", size - 1, size)
    assert f"{256 - size + 1} of its 256 neuron slots defective" in v.where


def test_a_neuron_with_too_few_good_cam_entries_is_a_violation_naming_them(chain_spec):
    qspec, _ = chain_spec
    plain = config_from_specification(qspec)
    j = int(np.argmax(qspec.synapse_counts()))
    n = int(qspec.synapse_counts()[j])
    bad = frozenset(_address(plain, j) + (e,) for e in range(64 - n + 1))
    with pytest.raises(Dynapse2DRCError) as err:
        config_from_specification(qspec, defects=Defects(bad_cam_entries=bad))
    (v,) = err.value.violations
    assert (v.rule, v.limit, v.actual) == ("cam_entries", n - 1, n)
    assert f"neuron {j} " in v.where and f"{64 - n + 1} defective CAM entries (0, 1, " in v.where
    exactly = frozenset(_address(plain, j) + (e,) for e in range(64 - n))  # n good entries left: it fits
    assert len(_used_entries(config_from_specification(qspec, defects=Defects(bad_cam_entries=exactly)), j)) == n


# --- 5. bad defect descriptions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"bad_neurons": {(4, 0, 0)}}, "bad_neurons[0].chip"),
        ({"bad_neurons": {(0, 4, 0)}}, "bad_neurons[0].core"),
        ({"bad_neurons": {(0, 0, 256)}}, "bad_neurons[0].neuron"),
        ({"bad_neurons": {(0, 0, -1)}}, "bad_neurons[0].neuron"),
        ({"bad_neurons": {(0, 0)}}, "bad_neurons[0]"),
        ({"bad_neurons": {(0, 0, 1.0)}}, "bad_neurons[0].neuron"),
        ({"bad_neurons": {(True, 0, 1)}}, "bad_neurons[0].chip"),
        ({"bad_neurons": {"abc"}}, "bad_neurons[0]"),
        ({"bad_neurons": None}, "bad_neurons"),
        ({"bad_neurons": 3}, "bad_neurons"),
        ({"bad_cam_entries": {(0, 0, 0, 64)}}, "bad_cam_entries[0].entry"),
        ({"bad_cam_entries": {(0, 0, 0)}}, "bad_cam_entries[0]"),
        ({"bad_cam_entries": "0000"}, "bad_cam_entries"),
    ],
)
def test_a_bad_defect_description_is_refused_by_name(kwargs, name):
    with pytest.raises(ParameterValueError) as err:
        Defects(**kwargs)
    assert err.value.name == name


def test_defects_take_lists_and_numpy_integers_and_placement_refuses_what_is_not_defects(chain_spec):
    d = Defects(bad_neurons=[[np.int64(0), 1, 2]], bad_cam_entries=[(0, 1, 2, np.int32(3))])
    assert d.bad_neurons == frozenset({(0, 1, 2)}) and d.bad_cam_entries == frozenset({(0, 1, 2, 3)})
    assert Defects(bad_neurons=np.array([[0, 1, 2], [3, 3, 255]])).bad_neurons == frozenset({(0, 1, 2), (3, 3, 255)})
    assert d.bad_entries(0, 1, 2) == (3,) and 3 not in d.good_entries(0, 1, 2) and len(d.good_entries(0, 1, 2)) == 63
    with pytest.raises(ParameterValueError) as err:
        config_from_specification(chain_spec[0], defects={(0, 0, 0)})
    assert err.value.name == "defects"
    with pytest.raises(ParameterValueError):
        MapOptions(defects=[(0, 0, 0)])


# --- 6. the command line ---------------------------------------------------------------------------------------


def test_map_with_a_profile_places_around_its_defects_and_reports_them(chain_spec, tmp_path, capsys):
    qspec, _ = chain_spec
    (tmp_path / "spec.json").write_text(qspec.to_json())
    plain = config_from_specification(qspec)
    profile = _with_defects(dead=[_address(plain, 0)], cam=[_address(plain, 1) + (0,)])
    profile.save(tmp_path / "chip.json.gz")
    code = main(["map", str(tmp_path / "spec.json"), "--out", str(tmp_path / "out"), "--profile", str(tmp_path / "chip.json.gz"), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["defects"] == {"neuron_slots": 1, "cam_entries": 1, "neuron_slots_avoided": 1, "cam_entries_avoided": 1}
    assert "stepped over 1 of the board's 1 defective neuron slots and 1 of its 1 defective CAM entries" in out
    mapped = MappedConfiguration.load(tmp_path / "out" / "config.json.gz")
    assert _address(plain, 0) not in {_address(mapped, j) for j in range(qspec.n_neurons)}
    assert report["synapses"]["spec"] == report["synapses"]["placed"]
    assert run_map(tmp_path / "spec.json", tmp_path / "again").defects is None  # without a profile: nothing to report
    with pytest.raises(CliError, match="--profile"):
        run_map(tmp_path / "out" / "config.json.gz", tmp_path / "kept", MapOptions(defects=profile.defects()))
    code = main(["map", str(tmp_path / "spec.json"), "--out", str(tmp_path / "none"), "--profile", str(tmp_path / "missing.json")])
    assert code == 2 and "chip profile file" in capsys.readouterr().err


def test_on_a_drawn_chip_the_network_placed_around_its_defects_runs_as_on_the_ideal_chip(wide):
    profile = ChipProfile.draw(11, mismatch=0.0, gain_mismatch=0.0, dead_fraction=0.05, always_on_fraction=0.02,
                               cam_defect_fraction=0.05)  # no mismatch: only the defects differ from the ideal chip
    x = (np.random.default_rng(2).random((T, wide.n_inputs)) < 0.2).astype(np.float32)
    plain = config_from_specification(wide)
    placed = config_from_specification(wide, defects=profile.defects())
    got = avoided(placed.configuration, profile.defects())
    assert got.neuron_slots > 0 and got.cam_entries > 0  # the board's defects were in the way
    ideal, _ = _run(plain, x)
    assert ideal.sum() > 0
    np.testing.assert_array_equal(_run(placed, x, profile)[0], ideal)
    assert not np.array_equal(_run(plain, x, profile)[0], ideal)
