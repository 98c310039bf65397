"""``benchmarks/more_chips.py`` (session 26): it re-measures a saved ``train`` run on more
chips, and first checks that it measures what ``train`` measured (the run's own chips give
``results.json``'s figures), refusing loudly when they do not."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import more_chips  # noqa: E402


@pytest.fixture
def run_dir(tmp_path):
    """A train-like output folder: a small network, its test set, and a results.json whose
    30 % figures are those of train's own chips (seed + 1)."""
    from rockpool_dynapse2.app.train_pipeline import chip_figures
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, save_parameters
    from rockpool_dynapse2.training.jax_trainer import counts_jax, mismatch_counts_jax

    model = ChipModel(NetworkLayout.layered(6, hidden=(8,), n_classes=2, per_class=2), TrainSettings(input_scale=3.0, seed=4))
    params = model.initial_parameters()
    rng = np.random.default_rng(0)
    x, y = rng.poisson(0.4, (12, 40, 6)).astype(np.float32), np.arange(12) % 2
    save_parameters(tmp_path / "network.npz", TrainResult(model=model, params=params, backend="jax", best_epoch=0))
    np.save(tmp_path / "x_test.npy", x)
    np.save(tmp_path / "y_test.npy", y)
    fl = model.accuracy(counts_jax(model, params, x), y)
    chips = [model.accuracy(c, y) for c in mismatch_counts_jax(model, params, x, 0.3, 4, seed=7 + 1)]
    results = {"accuracy": {"float": fl, "mismatch": {"0.3": chip_figures(chips, fl)}}, "job": {"seed": 7},
               "task": {"name": "small_12_s7"}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    return tmp_path


def test_it_checks_the_runs_own_chips_and_measures_fresh_ones(run_dir, tmp_path):
    row = more_chips.measure(run_dir, 0.3, 6, chip_seed=11, check=True, workers=1)
    assert row["checked"] and row["fresh"]["n"] == 6 and len(row["chips"]) == 6 and row["own"]["n"] == 4
    low, high = row["fresh"]["yield_low"], row["fresh"]["yield_high"]
    assert 0.0 <= low <= row["fresh"]["yield"] <= high <= 1.0
    again = more_chips.measure(run_dir, 0.3, 6, chip_seed=11, check=False, workers=1)
    assert again["chips"] == row["chips"]  # the same fresh chips for every network measured with one seed
    assert more_chips.main([str(run_dir), "--chips", "3", "--jsonl", str(tmp_path / "m.jsonl")]) == 0
    assert more_chips.main([str(run_dir), "--chips", "3", "--jsonl", str(tmp_path / "m.jsonl")]) == 0  # done: skipped
    assert len((tmp_path / "m.jsonl").read_text().splitlines()) == 1


def test_it_refuses_a_run_it_does_not_measure_as_train_did(run_dir):
    results = json.loads((run_dir / "results.json").read_text())
    results["accuracy"]["mismatch"]["0.3"]["chips"][0] += 0.25  # not what these chips give
    (run_dir / "results.json").write_text(json.dumps(results))
    with pytest.raises(SystemExit, match="does not measure what train measured"):
        more_chips.measure(run_dir, 0.3, 4, chip_seed=11, check=True, workers=1)
    results["accuracy"]["float"] += 0.5  # another network than the one saved
    (run_dir / "results.json").write_text(json.dumps(results))
    with pytest.raises(SystemExit, match="tests at"):
        more_chips.measure(run_dir, 0.3, 4, chip_seed=11, check=False, workers=1)
    with pytest.raises(SystemExit, match="not a train output folder"):
        more_chips.main([str(run_dir / "nowhere")])
