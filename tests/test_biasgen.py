"""The bias generator: current <-> (coarse, fine) code.

Oracles: Rockpool 3.1's table (``paramgen_se2``) and its ``digital_to_analog``, and a
brute-force nearest-code search over all 6 x 256 codes of a transistor type, written here.
"""

import dataclasses

import numpy as np
import pytest

from rockpool_dynapse2.chip import BIAS_PARAMETERS, Transistor
from rockpool_dynapse2.errors import BiasCodeError, CurrentRangeError
from rockpool_dynapse2.parameters.biasgen import (
    RANGE_TOLERANCE,
    BiasCode,
    BiasCodes,
    bias_table,
    code_from_current,
    code_relative_error,
    codes_from_currents,
    current_from_code,
    current_range,
    currents_from_codes,
)

PARAMS = pytest.mark.parametrize("param", BIAS_PARAMETERS, ids=lambda p: p.name)
COARSE, FINE = np.meshgrid(np.arange(6), np.arange(256), indexing="ij")


def _all_currents(param):
    """Every current of the parameter's branch, flat, indexed by ``coarse * 256 + fine``."""
    return bias_table().currents[param.transistor].ravel() * param.scale_factor


def _random_in_range(param, n, seed):
    low, high = current_range(param)
    rng = np.random.default_rng(seed)
    return np.exp(rng.uniform(np.log(low), np.log(high), n))


# --- the table --------------------------------------------------------------------------


def test_table_equals_rockpool_exactly():
    from rockpool.devices.dynapse.lookup import paramgen_se2

    table = bias_table()
    assert set(table.currents) == set(Transistor)
    for t in Transistor:
        expected = np.array([paramgen_se2[t.value][c] for c in range(6)], dtype=np.float64)
        assert table.currents[t].shape == (6, 256)
        np.testing.assert_array_equal(table.currents[t], expected)


def test_table_is_read_only():
    with pytest.raises(ValueError):
        bias_table().currents[Transistor.N][0, 0] = 1.0


def test_fine_sweeps_are_not_monotone_yet_every_code_is_distinct():
    """The measured table is not a monotone function of the fine code.

    In every coarse range of both transistor types the current *drops* between 7 pairs of
    consecutive fine codes, and neighbouring coarse ranges overlap. The inverse
    (current -> code) therefore cannot be a search along the fine axis. It still
    inverts every code exactly, because the 1536 currents of a branch are all distinct
    (also after multiplying by each parameter's scale factor): the nearest code to a
    code's own current is that code. ``test_exhaustive_round_trip`` checks this for
    every code of every parameter.
    """
    for t in Transistor:
        table = bias_table().currents[t]
        drops = (np.diff(table, axis=1) < 0).sum(axis=1)
        assert drops.tolist() == [7] * 6, t
        assert (table[1:, 0] < table[:-1, -1]).all(), "coarse ranges overlap"
        assert np.unique(table).size == table.size
    for p in BIAS_PARAMETERS:
        assert np.unique(_all_currents(p)).size == 6 * 256, p.name


# --- code -> current --------------------------------------------------------------------


@PARAMS
def test_current_from_code_agrees_with_rockpool(param):
    from rockpool.devices.dynapse.parameters import digital_to_analog

    rng = np.random.default_rng(11)
    codes = [(0, 0), (5, 255), (0, 255), (5, 0)] + [
        (int(c), int(f)) for c, f in zip(rng.integers(0, 6, 60), rng.integers(0, 256, 60))
    ]
    for coarse, fine in codes:
        expected = digital_to_analog(coarse, fine, param.scale_factor, param.transistor.value)
        assert current_from_code(param.name, BiasCode(coarse, fine)) == expected
        assert current_from_code(param.current, (coarse, fine)) == expected


@PARAMS
def test_currents_from_codes_is_table_times_scale(param):
    from rockpool.devices.dynapse.lookup import paramgen_se2

    currents = currents_from_codes(param.name, COARSE, FINE)
    expected = np.array(
        [[paramgen_se2[param.name[-1]][c][f] * param.scale_factor for f in range(256)] for c in range(6)]
    )
    np.testing.assert_array_equal(currents, expected)


def test_current_range_is_the_branch_extremes():
    for p in BIAS_PARAMETERS:
        all_currents = _all_currents(p)
        assert current_range(p.name) == (all_currents.min(), all_currents.max())


# --- round trip and nearest code --------------------------------------------------------


@PARAMS
def test_exhaustive_round_trip(param):
    """code -> current -> code is the identity for all 6 x 256 codes."""
    currents = currents_from_codes(param.name, COARSE, FINE)
    codes = codes_from_currents(param.name, currents)
    np.testing.assert_array_equal(codes.coarse, COARSE)
    np.testing.assert_array_equal(codes.fine, FINE)
    # and current -> code -> current is exact on the table's own currents
    np.testing.assert_array_equal(currents_from_codes(param.name, *codes), currents)


@pytest.mark.parametrize("name", ["SOIF_LEAK_N", "DEAM_ETAU_P"])
def test_exhaustive_round_trip_scalar_api(name):
    for coarse in range(6):
        for fine in range(256):
            code = BiasCode(coarse, fine)
            assert code_from_current(name, current_from_code(name, code)) == code


@PARAMS
def test_nearest_code_by_brute_force(param):
    currents = _random_in_range(param, 300, seed=12)
    codes = codes_from_currents(param.name, currents)
    chosen = currents_from_codes(param.name, codes.coarse, codes.fine)
    distance = np.abs(_all_currents(param)[None, :] - currents[:, None])
    np.testing.assert_array_equal(np.abs(chosen - currents), distance.min(axis=1))
    # no exact ties among random currents: the brute-force argmin is the code itself
    np.testing.assert_array_equal(codes.coarse * 256 + codes.fine, distance.argmin(axis=1))


@PARAMS
def test_code_relative_error_within_half_the_gap(param):
    currents = _random_in_range(param, 300, seed=13)
    err = code_relative_error(param.name, currents)
    assert err.shape == currents.shape
    codes = codes_from_currents(param.name, currents)
    np.testing.assert_allclose(
        err, (currents_from_codes(param.name, *codes) - currents) / currents, rtol=1e-15
    )
    # neighbouring codes (in current order) around every target
    ladder = np.sort(_all_currents(param))
    pos = np.searchsorted(ladder, currents)
    below = ladder[np.maximum(pos - 1, 0)]
    above = ladder[np.minimum(pos, ladder.size - 1)]
    assert (np.abs(err) * currents <= (above - below) / 2 * (1 + 1e-12)).all()


# --- BiasCode ---------------------------------------------------------------------------


def test_bias_code_accepts_integers_in_range():
    assert tuple(BiasCode(0, 0)) == (0, 0)
    assert tuple(BiasCode(5, 255)) == (5, 255)
    code = BiasCode(np.int64(3), np.uint8(17))
    assert type(code.coarse) is int and type(code.fine) is int
    assert code == BiasCode(3, 17)
    coarse, fine = code
    assert (coarse, fine) == (3, 17)
    assert BiasCode(1, 200) < BiasCode(2, 0)


@pytest.mark.parametrize(
    "coarse, fine",
    [(-1, 0), (6, 0), (0, -1), (0, 256), (1.0, 0), (0, 2.0), ("1", 0), (True, 0), (0, None)],
)
def test_bias_code_rejects_bad_values(coarse, fine):
    with pytest.raises(BiasCodeError):
        BiasCode(coarse, fine)


def test_bias_code_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BiasCode(1, 2).fine = 3


# --- shapes, clipping and the range tolerance -------------------------------------------


def test_vectorised_shapes_are_preserved():
    rng = np.random.default_rng(14)
    currents = np.exp(rng.uniform(np.log(1e-12), np.log(1e-7), (2, 3, 4)))
    codes = codes_from_currents("SOIF_LEAK_N", currents)
    assert isinstance(codes, BiasCodes)
    assert codes.coarse.shape == codes.fine.shape == (2, 3, 4)
    assert codes.coarse.dtype.kind == codes.fine.dtype.kind == "i"
    assert currents_from_codes("SOIF_LEAK_N", codes.coarse, codes.fine).shape == (2, 3, 4)
    assert code_relative_error("SOIF_LEAK_N", currents).shape == (2, 3, 4)
    # broadcasting codes
    assert currents_from_codes("SOIF_LEAK_N", np.arange(6)[:, None], np.arange(256)[None, :]).shape == (6, 256)
    # a 0-d input gives 0-d codes
    assert codes_from_currents("SOIF_LEAK_N", np.float64(1e-9)).coarse.shape == ()


@PARAMS
def test_clip_saturates_to_the_end_codes(param):
    all_currents = _all_currents(param)
    lowest = np.unravel_index(all_currents.argmin(), (6, 256))
    highest = np.unravel_index(all_currents.argmax(), (6, 256))
    low, high = current_range(param)
    assert tuple(code_from_current(param.name, low * 1e-3, clip=True)) == lowest
    assert tuple(code_from_current(param.name, high * 1e3, clip=True)) == highest
    codes = codes_from_currents(param.name, np.array([1e-30, low * 0.5, high * 2, 1.0]), clip=True)
    assert list(zip(codes.coarse.tolist(), codes.fine.tolist())) == [lowest, lowest, highest, highest]
    with pytest.raises(CurrentRangeError):
        code_from_current(param.name, high * 2)


@PARAMS
def test_range_tolerance_at_both_ends(param):
    all_currents = _all_currents(param)
    lowest = np.unravel_index(all_currents.argmin(), (6, 256))
    highest = np.unravel_index(all_currents.argmax(), (6, 256))
    low, high = current_range(param)
    eps = 1e-9
    # just inside the tolerance: the end code
    assert tuple(code_from_current(param.name, low / (1 + RANGE_TOLERANCE) * (1 + eps))) == lowest
    assert tuple(code_from_current(param.name, high * (1 + RANGE_TOLERANCE) * (1 - eps))) == highest
    # just outside: a named error carrying the range
    for outside in (low / (1 + RANGE_TOLERANCE) * (1 - eps), high * (1 + RANGE_TOLERANCE) * (1 + eps)):
        with pytest.raises(CurrentRangeError) as info:
            code_from_current(param.name, outside)
        assert (info.value.low, info.value.high) == (low, high)


def test_range_tolerance_is_ten_percent():
    """Documented rule: up to a factor 1.1 beyond either end takes the end code."""
    assert RANGE_TOLERANCE == pytest.approx(0.1)
    low, high = current_range("SOIF_LEAK_N")
    code_from_current("SOIF_LEAK_N", low / 1.09)
    code_from_current("SOIF_LEAK_N", high * 1.09)
    for outside in (low / 1.11, high * 1.11):
        with pytest.raises(CurrentRangeError):
            code_from_current("SOIF_LEAK_N", outside)


def test_range_tolerance_covers_the_dark_current():
    """The "off" value Io = 0.5 pA of Idc, If_nmda and Iw_ahp has a code.

    For DENM_NMREV_N (N-type, scale 1.05) Io lies below the branch's range, within the
    tolerance, and takes the lowest code.
    """
    for name in ("Idc", "If_nmda", "Iw_ahp"):
        low, _ = current_range(name)
        code = code_from_current(name, 5e-13)
        if 5e-13 < low:
            assert current_from_code(name, code) == low
    assert current_range("If_nmda")[0] > 5e-13
