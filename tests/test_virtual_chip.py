"""Virtual chips with their own flaws: :class:`ChipProfile` and ``VirtualBoard(profile=...)``.

1. a profile is drawn from its seed (the same seed, the same chip; the spread as asked);
2. it is saved and loaded as JSON, identically;
3. without a profile the board is the ideal chip (the spec's simulation, spike for spike),
   and so is the ideal profile; a drawn chip runs alike on jax and torch;
4. flaws act: a dead neuron never fires, an always-on one fires every step (and its
   targets hear it), a defective CAM entry's input never arrives, mismatch spreads the
   spike counts of identical neurons as the factors' spread predicts;
5. bad profiles are refused by name (field or JSON path).
"""

import dataclasses
import json

import numpy as np
import pytest
from rockpool.nn.combinators import Sequential
from rockpool.nn.modules import LinearJax

from rockpool_dynapse2 import DynapSimJax
from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.hardware import DynapseSamna, VirtualBoard, open_board
from rockpool_dynapse2.hardware.chip_profile import BOARD_SHAPE, NEURON_FACTOR_NAMES, SYNAPSE_LABELS, ChipProfile
from rockpool_dynapse2.mapping import dynapsim_net_from_spec, mapper, quantize_spec
from rockpool_dynapse2.placement import config_from_specification
from rockpool_dynapse2.transform.deviation import POSITIVE_FLOOR

T = 200


def _mapped(net):
    qspec, _ = quantize_spec(mapper(net.as_graph()))
    return qspec, config_from_specification(qspec)


@pytest.fixture(scope="module")
def chain(chain_spec):
    """The shared chain network (conftest), placed: ``(qspec, mapped, x)``."""
    qspec, x = chain_spec
    return qspec, config_from_specification(qspec), x


def _run(mapped, x, profile=None):
    with DynapseSamna(VirtualBoard(profile=profile), mapped) as dyn:
        return dyn(x)[0][0]


def _with(profile=None, **changes):
    """The ideal profile (or ``profile``) with some fields replaced (checked again, as a new profile)."""
    return dataclasses.replace(profile or ChipProfile.ideal(), **changes)


def _address(mapped, j):
    a = mapped.neurons[j]
    return (a.chip, a.core, a.neuron)


# --- 1. drawing ---------------------------------------------------------------------------------


def test_the_same_seed_draws_the_same_chip_and_another_seed_another():
    a, b, c = ChipProfile.draw(7), ChipProfile.draw(7), ChipProfile.draw(8)
    assert a.to_json() == b.to_json()
    assert not np.array_equal(a.neuron_factors, c.neuron_factors)
    assert a.dead_neurons != c.dead_neurons


def test_a_draw_has_the_asked_spread_and_defect_counts():
    p = ChipProfile.draw(1, mismatch=0.3, sigma_rule=3.0, gain_mismatch=0.06, dead_fraction=0.01,
                         always_on_fraction=0.005, cam_defect_fraction=0.002)
    assert p.neuron_factors.std() == pytest.approx(0.1, rel=0.02)
    assert p.weight_factors.mean() == pytest.approx(1.0, abs=0.005)
    assert p.bias_gains.std() == pytest.approx(0.02, rel=0.2)
    assert p.neuron_factors.min() >= POSITIVE_FLOOR
    assert (len(p.dead_neurons), len(p.always_on_neurons), len(p.defective_cam_entries)) == (41, 20, 524)
    assert not set(p.dead_neurons) & set(p.always_on_neurons)


def test_fractions_of_zero_draw_no_defects_and_no_mismatch_is_ideal():
    p = ChipProfile.draw(3, mismatch=0.0, gain_mismatch=0.0, dead_fraction=0, always_on_fraction=0, cam_defect_fraction=0)
    assert p.dead_neurons == p.always_on_neurons == p.defective_cam_entries == ()
    assert np.all(p.neuron_factors == 1.0) and np.all(p.bias_gains == 1.0)


# --- 2. JSON ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["chip.json", "chip.json.gz"])
def test_save_and_load_round_trip_identically(tmp_path, name):
    p = ChipProfile.draw(5)
    q = ChipProfile.load(p.save(tmp_path / name))
    assert q.to_json() == p.to_json()
    for field in ("neuron_factors", "weight_factors", "bias_gains"):
        np.testing.assert_array_equal(getattr(q, field), getattr(p, field))
    assert (q.dead_neurons, q.always_on_neurons, q.defective_cam_entries, q.seed) == (
        p.dead_neurons, p.always_on_neurons, p.defective_cam_entries, 5)


def test_a_board_opens_with_a_profile_file(tmp_path, chain):
    qspec, mapped, x = chain
    path = ChipProfile.draw(2).save(tmp_path / "board.json")
    board = open_board("virtual", profile=str(path))
    assert board.profile.to_json() == ChipProfile.draw(2).to_json()


# --- 3. the ideal chip --------------------------------------------------------------------------


def test_without_a_profile_the_board_is_the_ideal_chip(chain):
    qspec, mapped, x = chain
    reference = np.asarray(dynapsim_net_from_spec(qspec)(x[None])[0])[0][:, qspec.output_neurons]
    out = _run(mapped, x)
    assert out.sum() > 0
    np.testing.assert_array_equal(out, reference)
    np.testing.assert_array_equal(_run(mapped, x, ChipProfile.ideal()), reference)


# --- 4. flaws ----------------------------------------------------------------------------------------


def test_a_dead_neuron_never_fires(chain):
    qspec, mapped, x = chain
    j = int(qspec.output_neurons[0])
    ideal = _run(mapped, x)
    out = _run(mapped, x, _with(dead_neurons=(_address(mapped, j),)))
    assert ideal[:, 0].sum() > 0 and out[:, 0].sum() == 0
    np.testing.assert_array_equal(out[:, 1], ideal[:, 1])


def test_an_always_on_neuron_fires_every_step_and_its_targets_hear_it(chain):
    qspec, mapped, x = chain
    hidden = [j for j in range(qspec.n_neurons) if j not in set(qspec.output_neurons.tolist())]
    silent = np.zeros_like(x)
    assert _run(mapped, silent).sum() == 0
    on = _with(always_on_neurons=tuple(_address(mapped, j) for j in hidden))
    assert _run(mapped, silent, on).sum() > 0  # the outputs hear the hidden layer, never silent now
    out = _run(mapped, silent, _with(always_on_neurons=(_address(mapped, int(qspec.output_neurons[1])),)))
    np.testing.assert_array_equal(out[:, 1], 1)


def test_a_defective_cam_entry_s_input_does_not_arrive(chain):
    qspec, mapped, x = chain
    tree = mapped.configuration
    hidden = [j for j in range(qspec.n_neurons) if j not in set(qspec.output_neurons.tolist())]
    entries = []
    for j in hidden:  # every CAM entry of the hidden layer: the inputs reach nobody
        c, k, n = _address(mapped, j)
        entries += [(c, k, n, e) for e, s in enumerate(tree.neuron(c, k, n).synapses) if s.is_used]
    board = VirtualBoard(profile=_with(defective_cam_entries=tuple(entries)))
    with DynapseSamna(board, mapped) as dyn:
        out = dyn(x)[0][0]
    assert _run(mapped, x).sum() > 0 and out.sum() == 0
    assert board.unrouted_events == int(x.sum())  # no CAM listens to the inputs any more
    one = _with(defective_cam_entries=tuple(entries[:1]))
    assert 0 < _run(mapped, x, one).sum() <= _run(mapped, x).sum()


@pytest.fixture(scope="module")
def population():
    """64 identical neurons driven by their DC current alone (all monitored)."""
    net = Sequential(LinearJax((1, 64), weight=np.ones((1, 64)), has_bias=False), DynapSimJax((64,), Idc=1e-9))
    return _mapped(net)


def _idc_profile(factors, mapped):
    nf = np.ones(BOARD_SHAPE + (len(NEURON_FACTOR_NAMES),))
    i = NEURON_FACTOR_NAMES.index("Idc")
    for f, a in zip(factors, mapped.neurons):
        nf[a.chip, a.core, a.neuron, i] = f
    return _with(neuron_factors=nf)


def test_mismatch_spreads_spike_counts_as_the_factors_predict(population):
    """Idc factors of spread 10 %: the counts' spread is 10 % times d log(count) / d log(Idc),
    the sensitivity measured on the same neurons with every factor 0.9, then 1.1."""
    qspec, mapped = population
    n, steps, sigma = qspec.n_neurons, 3000, 0.1
    silent = np.zeros((steps, qspec.n_inputs), np.float32)
    base = _run(mapped, silent).sum(axis=0)
    low, high = (_run(mapped, silent, _idc_profile(np.full(n, f), mapped)).sum(axis=0)[0] for f in (0.9, 1.1))
    assert base.min() == base.max() and base[0] >= 80  # identical neurons, enough spikes
    sensitivity = np.log(high / low) / np.log(1.1 / 0.9)
    factors = 1 + sigma * np.random.default_rng(0).standard_normal(n)
    counts = _run(mapped, silent, _idc_profile(factors, mapped)).sum(axis=0)
    expected = sensitivity * np.std(np.log(factors)) * base[0]
    assert 0.7 * expected < counts.std() < 1.4 * expected
    assert np.corrcoef(counts, factors)[0, 1] > 0.9  # the neurons with more current fire more


def test_a_drawn_chip_differs_from_the_ideal_one(population):
    qspec, mapped = population
    silent = np.zeros((300, qspec.n_inputs), np.float32)
    counts = _run(mapped, silent, ChipProfile.draw(0, dead_fraction=0, always_on_fraction=0)).sum(axis=0)
    assert counts.std() > 0


# --- 5. bad profiles ------------------------------------------------------------------------------


def _bad_cases():
    p = ChipProfile.ideal()
    negative = p.neuron_factors.copy()
    negative[0, 1, 2, 3] = -1.0
    return {
        "neuron_factors": dict(neuron_factors=np.ones((4, 4, 256))),
        "neuron_factors[(0, 1, 2, 3)]": dict(neuron_factors=negative),
        "weight_factors": dict(weight_factors=np.ones((2, 4, 256, 4))),
        "dead_neurons[0][2]": dict(dead_neurons=((0, 0, 256),)),
        "dead_neurons[1]": dict(dead_neurons=((0, 0, 1), (0, 0))),
        "dead_neurons": dict(dead_neurons=((0, 0, 1), (0, 0, 1))),
        "always_on_neurons": dict(dead_neurons=((1, 2, 3),), always_on_neurons=((1, 2, 3),)),
        "defective_cam_entries[0][3]": dict(defective_cam_entries=((0, 0, 0, 64),)),
    }


@pytest.mark.parametrize("name", list(_bad_cases()))
def test_a_bad_profile_is_refused_by_name(name):
    with pytest.raises(ParameterValueError) as err:
        _with(**_bad_cases()[name])
    assert err.value.name == name


@pytest.fixture(scope="module")
def document():
    return ChipProfile.draw(0, dead_fraction=0.001).to_json()


def _set(key, value):
    return lambda d: d.__setitem__(key, value)


BAD_DOCUMENTS = {
    "bias_gains": lambda d: d.pop("bias_gains"),
    "extra": _set("extra", 1),
    "format": _set("format", "other"),
    "neuron_factors.Idc[17]": lambda d: d["neuron_factors"]["Idc"].__setitem__(17, 0),
    "neuron_factors.Ut[3]": lambda d: d["neuron_factors"]["Ut"].__setitem__(3, "1"),
    "bias_gains.SOIF_DC_P": lambda d: d["bias_gains"].__setitem__("SOIF_DC_P", [1.0] * 15),
    f"weight_factors.{SYNAPSE_LABELS[2]}": lambda d: d["weight_factors"].pop(SYNAPSE_LABELS[2]),
    "dead_neurons[0][0]": lambda d: d["dead_neurons"][0].__setitem__(0, 4),
    "dead_neurons": _set("dead_neurons", {}),
    "seed": _set("seed", -1),
}


@pytest.mark.parametrize("path", list(BAD_DOCUMENTS))
def test_a_bad_profile_file_is_refused_by_its_json_path(document, path):
    d = json.loads(document)
    BAD_DOCUMENTS[path](d)
    with pytest.raises(ParameterValueError) as err:
        ChipProfile.from_json(json.dumps(d))
    assert err.value.name == path


def test_a_board_refuses_what_is_no_profile(tmp_path):
    with pytest.raises(ParameterValueError) as err:
        VirtualBoard(profile=3)
    assert err.value.name == "profile"
    with pytest.raises(ParameterValueError) as err:
        VirtualBoard(profile=tmp_path / "missing.json")
    assert err.value.name == "chip profile file"
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ParameterValueError) as err:
        VirtualBoard(profile=tmp_path / "bad.json")
    assert err.value.name == "chip profile JSON"


def test_a_drawn_chip_runs_alike_on_both_backends(chain):
    qspec, mapped, x = chain
    chip = ChipProfile.draw(0)
    outs = []
    for backend in ("jax", "torch"):
        with DynapseSamna(VirtualBoard(backend=backend, profile=chip), mapped) as dyn:
            outs.append(dyn(x)[0][0])
    assert not np.array_equal(outs[0], _run(mapped, x))  # the chip's flaws show
    np.testing.assert_array_equal(outs[0], outs[1])
