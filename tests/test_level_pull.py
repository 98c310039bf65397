"""The level pull (``TrainSettings.level_pull``): unrounded weights kept near what the chip holds.

Quantization-aware training rounds every weight in the forward pass, so a weight that no
gradient moves can sit anywhere its rounding allows: session 18 found beat-anomaly networks
whose weights below half a core's smallest level (held as 0 by the chip) summed to enough
drive that the unrounded network ("float") lost 12 points the trained one did not have.
The pull moves every weight a fraction of the way to its level after each step. These tests
check what the option promises (the move, both backends alike, the default unchanged, bad
values refused, the CLI reaching the model), not how well a network trains with it.
"""

import json

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainResult, TrainSettings, load_parameters, save_parameters
from rockpool_dynapse2.training.constraints import jax_ops, quantize_per_core, torch_ops

LAYOUT = NetworkLayout.layered(6, hidden=(8,), n_classes=2, per_class=2)


def _model(**settings):
    return ChipModel(LAYOUT, TrainSettings(**settings))


def _levels(model, w_in, w_rec):
    """The weights the chip holds (numpy), as ``chip_view`` rounds them."""
    ops = jax_ops()
    masked = (ops.asarray(w_in * model.connections.input), ops.asarray(w_rec * model.connections.recurrent))
    (q_in, q_rec), _ = quantize_per_core(ops, masked, model.core_of_neuron, model.settings.Iscale)
    return np.asarray(q_in), np.asarray(q_rec)


def _weights(model, seed=0):
    """Initial weights moved off their levels, each by a different amount."""
    rng = np.random.default_rng(seed)
    p = model.initial_parameters()
    return [(p[k] * (1 + 0.3 * rng.standard_normal(p[k].shape))).astype(np.float32) for k in ("w_in", "w_rec")]


@pytest.mark.parametrize("ops", [jax_ops, torch_ops], ids=["jax", "torch"])
@pytest.mark.parametrize("pull", [0.25, 0.5, 0.9])
def test_the_pull_moves_each_drawn_weight_that_fraction_of_the_way_to_its_level(ops, pull):
    model = _model(level_pull=pull)
    w_in, w_rec = _weights(model)
    q_in, q_rec = _levels(model, w_in, w_rec)
    o = ops()
    got = [np.asarray(w) for w in model.pull_to_levels(o, o.asarray(w_in), o.asarray(w_rec))]
    for w, q, g, mask in ((w_in, q_in, got[0], model.connections.input), (w_rec, q_rec, got[1], model.connections.recurrent)):
        drawn = mask > 0
        np.testing.assert_allclose(g[drawn], (w + pull * (q - w))[drawn], rtol=1e-5, atol=1e-7)
        assert np.abs(g - q)[drawn].sum() < np.abs(w - q)[drawn].sum()  # nearer the chip's levels
    sub = (q_in == 0) & (model.connections.input > 0) & (w_in != 0)
    assert sub.any() and np.all(np.abs(got[0][sub]) < np.abs(w_in[sub]))  # weights the chip holds as 0 shrink


@pytest.mark.parametrize("settings", [dict(), dict(level_pull=0.0), dict(level_pull=0.5, quantize=False)])
def test_without_a_pull_or_without_quantization_the_weights_are_returned_as_they_are(settings):
    model = _model(**settings)
    w_in, w_rec = _weights(model)
    for ops in (jax_ops(), torch_ops()):
        got = model.pull_to_levels(ops, ops.asarray(w_in), ops.asarray(w_rec))
        assert np.array_equal(np.asarray(got[0]), w_in) and np.array_equal(np.asarray(got[1]), w_rec)


def _data(rng):
    x = rng.poisson(0.2, (48, 30, 6)).astype(np.float32)
    y = np.arange(48) % 2
    x[y == 1, :, :3] += rng.poisson(0.4, (24, 30, 3))
    return x, y


def _gap(model, params):
    """How far the unrounded weights are from the chip's, relative to the chip's."""
    q_in, q_rec = _levels(model, params["w_in"], params["w_rec"])
    w = np.concatenate([(params["w_in"] * model.connections.input).ravel(), (params["w_rec"] * model.connections.recurrent).ravel()])
    q = np.concatenate([q_in.ravel(), q_rec.ravel()])
    return np.abs(w - q).sum() / np.abs(q).sum()


def test_training_with_a_pull_ends_nearer_the_levels_and_both_backends_agree():
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    x, y = _data(np.random.default_rng(0))
    gaps = {}
    for pull in (0.0, 0.2):
        for name, train in (("jax", train_jax), ("torch", train_torch)):
            model = _model(epochs=2, batch_size=16, chips_per_step=2, level_pull=pull, validation_fraction=0.0)
            gaps[name, pull] = _gap(model, train(model, x, y).params)
    for name in ("jax", "torch"):
        assert gaps[name, 0.2] < 0.8 * gaps[name, 0.0], gaps
    np.testing.assert_allclose(gaps["jax", 0.2], gaps["torch", 0.2], rtol=0.05)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, float("nan"), float("inf"), "0.1", None])
def test_a_pull_outside_zero_to_one_is_refused_by_name(bad):
    with pytest.raises(ParameterValueError, match="level_pull"):
        TrainSettings(level_pull=bad)


def test_a_saved_network_keeps_its_pull_and_one_saved_before_the_option_reloads_without(tmp_path):
    model = _model(level_pull=0.01)
    path = save_parameters(tmp_path / "n.npz", TrainResult(model=model, params=model.initial_parameters(), backend="jax"))
    assert load_parameters(path).model.settings.level_pull == pytest.approx(0.01)
    data = dict(np.load(path))  # a file written before session 18: no "level_pull"
    meta = json.loads(str(data.pop("meta")))
    del meta["settings"]["level_pull"]
    np.savez(tmp_path / "old.npz", meta=np.array(json.dumps(meta)), **data)
    assert load_parameters(tmp_path / "old.npz").model.settings.level_pull == 0.0


def test_train_takes_a_level_pull_that_reaches_the_model_and_results(tmp_path, train_jobs):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model

    x, y = _data(np.random.default_rng(1))
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    jobs = train_jobs
    argv = ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "out"), "--quiet", "--quick"]
    for extra in ([], ["--level-pull", "0.05"]):
        assert main(argv + extra) == 0
    assert [build_model(task, job).settings.level_pull for task, job in jobs] == [0.0, 0.05]
    assert [j.resolved()["level_pull"] for _, j in jobs] == [0.0, 0.05]  # results.json's "job"
    for bad in (1.0, -0.5, float("nan"), "0.1", True):
        with pytest.raises(ParameterValueError, match="--level-pull"):
            TrainJob(level_pull=bad)


def test_no_hint_points_at_the_pull_since_float_is_the_trained_network():
    """Until session 21 ``float`` was the unrounded latent values and a hint pointed at the
    pull where they fell below the trained network; the trained network is ``float`` now
    (``unrounded`` the latent values), which the pull does not change, so no hint names it."""
    from rockpool_dynapse2.app.train_pipeline import hints

    drifted = {"float": 0.995, "unrounded": 0.887, "mismatch": {}}  # session 18's beat-anomaly run with --logits log
    assert hints(0, 40, drifted, n_classes=2, n_test=600) == []
