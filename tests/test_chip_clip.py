"""``chip_clip`` (issue #15, session 25): with injection, each of a step's chips' gradient is
clipped to a multiple of the median chip's before their sum, so that one chip whose gradient
explodes does not steer the step alone. The rule, both trainers (the same step), the
threaded step, and the option's path through ``train``."""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.training import ChipModel, NetworkLayout, TrainSettings

BURSTS = dict(T=60, C=8, starts=(5, 35), width=15, p=0.6, noise=0.05)


def _model(**settings):
    layout = NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2)
    base = dict(epochs=1, batch_size=8, chips_per_step=4, learning_rate=0.02, validation_fraction=0.25)
    return ChipModel(layout, TrainSettings(**{**base, **settings}))


def _trainer(backend):
    if backend == "jax":
        from rockpool_dynapse2.training.jax_trainer import train_jax

        return train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    return train_torch


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_each_chip_is_bounded_by_its_own_loss(backend):
    from rockpool_dynapse2.training.constraints import ops_for

    ops = ops_for(backend)
    model = _model(chip_clip=2.0)
    scales = lambda norms, losses: np.asarray(model.chip_gradient_scales(ops.asarray(norms), ops.asarray(losses), ops))  # noqa: E731
    # Equal losses: the bound is 2x the median norm (sorted 0.5 1 2 2 | 3 7 100 1e9: 2.5, so 5).
    np.testing.assert_allclose(scales([1.0, 3.0, 100.0, 2.0, 0.5, 7.0, 2.0, 1e9], [1.0] * 8), [1, 1, 0.05, 1, 1, 5 / 7, 1, 5e-9], rtol=1e-6)
    # A chip that is merely worse keeps its gradient: ten times the norm at ten times the
    # loss is the median's gradient per unit of loss; one that explodes at an ordinary loss
    # is clipped to twice the median's per unit of loss (per unit: 1, 1, 1, 100; median 1).
    np.testing.assert_allclose(scales([1.0, 1.0, 10.0, 100.0], [1.0, 1.0, 10.0, 1.0]), [1, 1, 1, 0.02], rtol=1e-6)
    odd = scales([4.0, 1.0, 50.0], [2.0, 0.5, 1.0])  # per unit 2, 2, 50: the median 2; bounds 8, 2, 4
    np.testing.assert_allclose(odd, [1, 1, 4 / 50], rtol=1e-6)
    # Most chips pass no gradient: the bound is 0 and nothing is clipped (nor zeroed).
    np.testing.assert_array_equal(scales([0.0, 0.0, 3.0], [1.0, 1.0, 1.0]), [1, 1, 1])


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_chip_that_answers_wrong_has_the_larger_loss(backend):
    """Each chip's loss is that of its own samples (cross-entropy and rate penalty): a chip
    whose output groups fire for the wrong class has a larger one than a chip that answers
    right, and two chips with the same counts have the same loss."""
    from rockpool_dynapse2.training.constraints import ops_for

    ops = ops_for(backend)
    model = _model()
    out = model.layout.output_neurons
    onehot = np.tile(np.eye(2, dtype=np.float32), (3, 1, 1))  # 3 chips, samples of class 0 and 1
    counts = np.full((3, 2, model.layout.n_neurons), 2.0, np.float32)
    for k, wrong in enumerate((False, True, False)):
        for sample in range(2):
            group = out[2 * (sample ^ wrong) : 2 * (sample ^ wrong) + 2]  # per_class = 2
            counts[k, sample, group] = 8.0
    losses = np.asarray(model.chip_losses(ops.asarray(counts), ops.asarray(onehot), ops))
    assert losses[1] > losses[0] + 1.0 and losses[0] == pytest.approx(losses[2])
    each = [float(sum(model.loss_terms(ops.asarray(c), ops.asarray(o), ops))) for c, o in zip(counts, onehot)]
    np.testing.assert_allclose(losses, each, rtol=1e-6)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_bound_no_chip_reaches_trains_as_the_plain_sum(burst_task, backend):
    """The chips' gradients apart, summed unclipped, are the step's gradient: the same run."""
    x, y = burst_task(n=32, **BURSTS)
    train = _trainer(backend)
    plain, apart = train(_model(), x, y), train(_model(chip_clip=1e30), x, y)  # float32 holds 1e30
    assert apart.curve("loss") == pytest.approx(plain.curve("loss"), rel=1e-6)
    assert apart.curve("grad_norm") == pytest.approx(plain.curve("grad_norm"), rel=1e-5)
    for name in ("w_in", "w_rec"):
        np.testing.assert_allclose(apart.params[name], plain.params[name], rtol=1e-5, atol=1e-6)
    assert np.all(np.isnan(plain.curve("chips_clipped"))) and np.all(apart.curve("chips_clipped") == 0)


@pytest.mark.parametrize("bound", [1.0, 0.5])
def test_both_trainers_clip_the_same_chips_the_same_way(burst_task, bound):
    """With nominal injected chips (deviation 0) both backends see the same chips and
    batches: the clipped runs agree to float rounding, and differ from the unclipped run by
    far more; the loss logged before the first update, and its gradient's norm (that of the
    plain sum), are those of the unclipped run."""
    x, y = burst_task(n=32, **BURSTS)
    runs = {(b, c): _trainer(b)(_model(deviation=0.0, chip_clip=c), x, y) for b in ("jax", "torch") for c in (0.0, bound)}
    jax_run, torch_run, plain = runs["jax", bound], runs["torch", bound], runs["jax", 0.0]
    assert torch_run.curve("loss") == pytest.approx(jax_run.curve("loss"), rel=1e-5)
    assert torch_run.curve("grad_norm") == pytest.approx(jax_run.curve("grad_norm"), rel=1e-4)
    gap = max(np.abs(torch_run.params[k] - jax_run.params[k]).max() for k in ("w_in", "w_rec"))
    moved = max(np.abs(plain.params[k] - jax_run.params[k]).max() for k in ("w_in", "w_rec"))
    assert gap < 1e-5 and moved > 1e-3, (gap, moved)
    assert jax_run.history[0].loss == pytest.approx(plain.history[0].loss, rel=1e-6)
    # The history says how many chips were clipped: the same in both, some but not all
    # (at a bound of one median, the chips above it).
    assert torch_run.curve("chips_clipped") == pytest.approx(jax_run.curve("chips_clipped"))
    assert 0 < jax_run.history[0].chips_clipped < 1 and "chips clipped" in jax_run.history[0].line()


def test_no_injection_ignores_the_chip_clip(burst_task):
    from rockpool_dynapse2.training.jax_trainer import train_jax

    x, y = burst_task(n=32, **BURSTS)
    plain, clipped = train_jax(_model(inject=False), x, y), train_jax(_model(inject=False, chip_clip=0.5), x, y)
    np.testing.assert_array_equal(clipped.params["w_in"], plain.params["w_in"])


def test_train_takes_a_chip_clip_that_reaches_the_model_and_results(train_argv, train_jobs):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model

    for extra in ([], ["--chip-clip", "3"], ["--chip-clip", "0"]):
        assert main(train_argv + extra) == 0
    default = TrainSettings.chip_clip
    assert [build_model(task, job).settings.chip_clip for task, job in train_jobs] == [default, 3.0, 0.0]
    assert [j.resolved()["chip_clip"] for _, j in train_jobs] == [default, 3.0, 0.0]  # results.json's "job"
    for bad in (-1.0, float("nan"), float("inf"), "3", True):
        with pytest.raises(ParameterValueError, match="--chip-clip"):
            TrainJob(chip_clip=bad)
    assert main(train_argv + ["--chip-clip", "-2"]) != 0
