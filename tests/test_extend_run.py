"""``benchmarks/extend_run.py`` (session 29): a saved ``train`` run continued for more
epochs at the whole deviation with the margin, measured before and after on the same
fresh chips."""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import extend_run  # noqa: E402


def _run(tmp_path):
    """A train-like output folder and the data file it was trained on."""
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, save_parameters

    settings = TrainSettings(input_scale=3.0, seed=4, epochs=3, inject_ramp=2, batch_size=4, chips_per_step=2)
    model = ChipModel(NetworkLayout.layered(6, hidden=(8,), n_classes=2, per_class=2), settings)
    rng = np.random.default_rng(0)
    x, y = rng.poisson(0.4, (16, 40, 6)).astype(np.int64), np.arange(16) % 2
    save_parameters(tmp_path / "network.npz", TrainResult(model=model, params=model.initial_parameters(), backend="jax", best_epoch=0))
    np.save(tmp_path / "x_test.npy", x[:8].astype(np.float32))
    np.save(tmp_path / "y_test.npy", y[:8])
    np.savez(tmp_path / "data.npz", x_train=x, y_train=y, x_test=x[:8], y_test=y[:8])
    return tmp_path, tmp_path / "data.npz", model


def test_it_measures_the_run_then_the_continued_network_on_the_same_chips(tmp_path, monkeypatch):
    from rockpool_dynapse2.training.jax_trainer import counts_jax

    run, data, model = _run(tmp_path)
    import rockpool_dynapse2.training.jax_trainer as trainer

    seen = []

    original = trainer.train_jax

    def spy(m, *args, **kwargs):
        seen.append(m.settings)
        return original(m, *args, **kwargs)

    monkeypatch.setattr(trainer, "train_jax", spy)
    row = extend_run.continued(run, data, epochs=2, lr_share=0.5, n_chips=3, workers=1)
    x, y = np.load(run / "x_test.npy"), np.load(run / "y_test.npy")
    assert row["before"]["float"] == model.accuracy(counts_jax(model, model.initial_parameters(), x), y)
    assert row["before"]["n"] == row["after"]["n"] == 3
    (s,) = seen
    assert (s.epochs, s.inject_ramp, s.margin_ratio, s.margin_from) == (2, 0, 2.0, 0)  # the whole deviation, the margin at once
    assert s.learning_rate == model.settings.learning_rate * 0.5
    assert 0 <= row["best_epoch"] < 2
    (tmp_path / "e.jsonl").write_text(json.dumps(row) + "\n")
    assert extend_run.main(["--table", str(tmp_path / "e.jsonl")]) == 0
    assert "| 2 (lr x 0.5) |" in extend_run.table([row])
