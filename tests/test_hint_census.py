"""``benchmarks/hint_census.py`` reads finished runs with today's hints: the figures of
``docs/results.md`` ("Longer training for robustness") come from it, so its reading of a
``results.json`` (the yields recomputed from the chips, the kinds of advice, which runs need
it) is checked on runs written by hand."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import hint_census  # noqa: E402


def _results(chips, calibrated, float_=1.0, classes=3, hints=()):
    """A results.json of a 40-epoch --quick run written before the yields were kept."""
    history = [{"train_accuracy": 0.99, "val_accuracy": 0.99}] * 40
    return {"accuracy": {"float": float_, "as_trained": float_, "quantized": float_, "board": float_,
                         "mismatch": {"0.3": {"mean": sum(chips) / len(chips), "worst": min(chips), "chips": chips}},
                         "mismatch_calibrated": {"0.3": {"mean": sum(calibrated) / len(calibrated), "worst": min(calibrated),
                                                         "chips": calibrated}}},
            "task": {"classes": classes, "n_test": 600},
            "training": {"best_epoch": 20, "epochs_run": 40, "history": history, "settings": {"inject": True}},
            "job": {"quick": True, "epochs": None, "batch_size": 8}, "hints": list(hints)}


@pytest.mark.parametrize("chips, calibrated, kinds, need", [
    ([0.99] * 16, [0.99] * 16, [], False),  # every chip within 5 points: nothing to say
    ([0.99] * 8 + [0.9] * 8, [0.99] * 16, ["calibrate"], True),  # mean 94.5 %, yield 50 %: calibration brings both
    ([0.99] * 8 + [0.9] * 8, [0.99] * 8 + [0.93] * 8, ["longer"], True),  # calibrated mean 96 %, yield 50 %
    ([0.99] * 14 + [0.8] * 2, [0.99] * 16, ["calibrate"], True),  # mean 96.6 % met, yield 87.5 % not
])
def test_census_reads_each_run_with_todays_hints(chips, calibrated, kinds, need):
    got, needed, had = hint_census.census(_results(chips, calibrated))
    assert got == kinds and needed == need and had is False


def test_census_leaves_out_a_network_that_learnt_little_and_reads_the_old_hints():
    little = _results([0.3] * 16, [0.3] * 16, float_=0.45)  # 3 classes: below 66.7 %
    assert hint_census.census(little) == ([], False, False)
    old = _results([0.99] * 8 + [0.9] * 8, [0.99] * 16,
                   hints=["at 30% mismatch the mean (94.5%) is below 95% of float (100.0%) and each chip's readout "
                          "calibrated reaches 99.0%: calibrate a board's readout with deploy --calibration-input"])
    assert hint_census.census(old)[2] is True
