"""The training library: layouts within the chip's limits, the constraints in the loop, both
backends alike, and a network that learns and leaves as what the chip holds."""

import numpy as np
import pytest

from rockpool_dynapse2.chip import GEOMETRY
from rockpool_dynapse2.errors import ParameterValueError, UnknownParameterError
from rockpool_dynapse2.parameters.biasgen import code_from_current, current_from_code
from rockpool_dynapse2.training import (
    INPUT,
    ChipModel,
    NetworkLayout,
    Population,
    Projection,
    TrainSettings,
    connectivity,
    load_parameters,
    save_parameters,
)
from rockpool_dynapse2.training.constraints import (
    jax_ops,
    quantize_per_core,
    snap_to_codes,
    torch_ops,
)


BURSTS = dict(T=60, starts=(5, 35), width=15, p=0.6, noise=0.05)  # the burst task of these tests (conftest's burst_task)


# --- layout --------------------------------------------------------------------------------


def test_layered_layout_puts_each_population_on_its_own_cores():
    layout = NetworkLayout.layered(10, hidden=(300, 20), n_classes=3, per_class=2)
    assert [p.size for p in layout.populations] == [300, 20, 6]
    assert layout.n_cores == 2 + 1 + 1
    core = layout.core_of_neuron
    assert core.shape == (326,)
    assert set(core[:300]) == {0, 1} and set(core[300:320]) == {2} and set(core[320:]) == {3}
    assert list(layout.output_neurons) == list(range(320, 326))


@pytest.mark.parametrize("fan_in", [64, 10])
def test_connectivity_never_exceeds_the_fan_in(fan_in):
    layout = NetworkLayout(
        n_inputs=100,
        populations=(Population("a", 50), Population("out", 4)),
        projections=(Projection(INPUT, "a"), Projection("a", "a", 0.9), Projection("a", "out"), Projection(INPUT, "out")),
        output="out",
        n_classes=2,
        fan_in=fan_in,
    )
    c = connectivity(layout, seed=3)
    assert c.fan_in.max() <= fan_in
    assert c.fan_in.min() >= 1
    # Every projection keeps some synapses onto every neuron it reaches.
    assert c.input[:, :50].sum(0).min() >= 1 and c.recurrent[:50, :50].sum(0).min() >= 1


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(output="nope"), UnknownParameterError),
        (dict(n_classes=3), ParameterValueError),  # 4 output neurons are not 3 groups
        (dict(projections=(Projection("a", "out"),)), ParameterValueError),  # no input
        (dict(projections=(Projection(INPUT, "b"),)), UnknownParameterError),
        (dict(fan_in=65), ParameterValueError),
        (dict(n_inputs=0), ParameterValueError),
    ],
)
def test_bad_layouts_get_named_errors(kwargs, error):
    base = dict(
        n_inputs=4,
        populations=(Population("a", 8), Population("out", 4)),
        projections=(Projection(INPUT, "a"), Projection("a", "out")),
        output="out",
        n_classes=2,
    )
    with pytest.raises(error):
        NetworkLayout(**{**base, **kwargs})


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(trainable=("tau_nope",)), dict(deviation=-0.1),
                                 dict(validation_fraction=0.6), dict(learning_rate=float("nan")), dict(batch_size=True)])
def test_bad_settings_get_named_errors(bad):
    with pytest.raises((ParameterValueError, UnknownParameterError)):
        TrainSettings(**bad)


# --- constraints -----------------------------------------------------------------------------


@pytest.mark.parametrize("ops", [jax_ops, torch_ops])
def test_snapped_currents_are_bias_generator_currents(ops):
    o = ops()
    currents = {"Itau_mem": o.asarray(np.array([3e-12, 5.3e-12, 1e-9])), "Ispkthr": o.asarray(np.array([1e-7, 2.2e-8, 7e-10]))}
    snapped = snap_to_codes(o, currents, ("Itau_mem", "Ispkthr"))
    for name, values in snapped.items():
        for v in np.asarray(values, dtype=np.float64):
            exact = current_from_code(name, code_from_current(name, v))
            assert v == pytest.approx(exact, rel=1e-5)


@pytest.mark.parametrize("ops", [jax_ops, torch_ops])
@pytest.mark.parametrize("Iscale", [None, 1e-8])
def test_weights_take_their_cores_16_levels(ops, Iscale):
    o = ops()
    rng = np.random.default_rng(0)
    core = np.repeat(np.arange(3), 5)
    w_in, w_rec = rng.normal(0, 1, (7, 15)).astype(np.float32), rng.normal(0, 0.3, (15, 15)).astype(np.float32)
    (q_in, q_rec), bases = quantize_per_core(o, (o.asarray(w_in), o.asarray(w_rec)), core, Iscale)
    q_in, q_rec, bases = np.asarray(q_in), np.asarray(q_rec), np.asarray(bases, dtype=np.float64)
    bits = (np.arange(16)[:, None] >> np.arange(4)) & 1
    for c in range(3):
        levels = bits @ bases[c]
        both = np.abs(np.concatenate([q_in[:, core == c].ravel(), q_rec[:, core == c].ravel()]))
        assert np.abs(both[:, None] - levels[None]).min(1).max() <= 1e-5 * levels.max()
        if Iscale is not None:  # each base weight is a bias generator current
            for k, base in enumerate(bases[c]):
                name = f"Iw_{k}"
                exact = current_from_code(name, code_from_current(name, base * Iscale))
                assert base * Iscale == pytest.approx(exact, rel=1e-5)
    kept = np.abs(q_in) > 0
    assert np.all(np.sign(q_in[kept]) == np.sign(w_in[kept]))
    # Each weight takes its core's nearest level.
    w = np.abs(w_in[:, core == 0])
    levels = bits @ bases[0]
    assert np.allclose(np.abs(q_in[:, core == 0]), levels[np.abs(w[..., None] - levels).argmin(-1)], rtol=1e-5)


def test_the_quantizer_passes_the_gradient_straight_through():
    import jax
    import jax.numpy as jnp

    core = np.zeros(4, np.int64)
    w = jnp.asarray(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
    g = jax.grad(lambda w: (quantize_per_core(jax_ops(), (w,), core)[0][0] * jnp.arange(12.0).reshape(3, 4)).sum())(w)
    assert np.allclose(np.asarray(g), np.arange(12.0).reshape(3, 4))


# --- the model in both backends ----------------------------------------------------------------


def _small_model(**settings):
    layout = NetworkLayout.layered(8, hidden=(12,), n_classes=2, per_class=2)
    return ChipModel(layout, TrainSettings(**{"epochs": 2, "batch_size": 8, "chips_per_step": 2, **settings}))


def test_jax_and_torch_simulate_the_same_chip(burst_task):
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.training.torch_trainer import counts_torch

    x, _ = burst_task(**BURSTS, n=6)
    model = _small_model()
    params = model.initial_parameters()
    cj, ct = counts_jax(model, params, x), counts_torch(model, params, x)
    assert cj.sum() > 0
    assert np.abs(cj - ct).sum() <= 0.001 * cj.sum()


@pytest.mark.parametrize("n, batch, size", [(600, 256, 200), (700, 256, 234), (100, 256, 100), (256, 256, 256), (7, 1, 1)])
def test_even_batch_splits_into_the_fewest_calls_of_one_size(n, batch, size):
    from rockpool_dynapse2.training.jax_trainer import even_batch

    assert even_batch(n, batch) == size
    assert -(-n // size) == -(-n // batch)  # as few calls as batch allows


def test_in_batches_calls_with_one_shape_and_drops_the_padding():
    from rockpool_dynapse2.training.jax_trainer import in_batches

    x = np.arange(7 * 3 * 2, dtype=np.float32).reshape(7, 3, 2) + 1
    shapes = []

    def run(xb):
        shapes.append(xb.shape)
        return np.stack([xb.sum(1), 2 * xb.sum(1)])  # (2, B, 2): the sample axis second to last

    out = in_batches(run, x, batch=3)
    assert shapes == [(3, 3, 2)] * 3  # 7 samples: 3 + 3 + 1 and two rows of padding
    assert np.array_equal(out, np.stack([x.sum(1), 2 * x.sum(1)]))


def test_counts_do_not_depend_on_the_batching(burst_task):
    """A sample's counts are the same bit for bit whatever else its call holds, padding
    included (so the count functions may batch as they like). Every call here has 3
    samples: one compilation per function."""
    from rockpool_dynapse2.training.jax_trainer import counts_jax, mismatch_counts_jax

    x, _ = burst_task(**BURSTS, n=7)
    model = _small_model()
    params = model.initial_parameters()
    nominal = counts_jax(model, params, x, batch=3)  # samples 0-2, 3-5, 6 and two rows of padding
    assert nominal.shape == (7, model.layout.n_neurons) and nominal[4:].sum() > 0
    assert np.array_equal(nominal[4:], counts_jax(model, params, x[4:]))  # samples 4-6 in one call
    chips = mismatch_counts_jax(model, params, x, 0.3, 2, seed=1, batch=3)
    assert chips.shape == (2, 7, model.layout.n_neurons) and chips[:, 4:].sum() > 0
    assert np.array_equal(chips[:, 4:], mismatch_counts_jax(model, params, x[4:], 0.3, 2, seed=1))


def test_the_exported_network_is_what_training_simulated(burst_task):
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.training.result import TrainResult

    x, _ = burst_task(**BURSTS, n=4)
    model = _small_model()
    result = TrainResult(model=model, params=model.initial_parameters(), backend="jax")
    net = result.to_rockpool("jax")
    out = np.asarray(net(x)[0]).sum(1)
    assert np.array_equal(out, counts_jax(model, result.params, x))
    neurons = net[1]
    # A core's neurons share every current, as on the chip.
    core = model.core_of_neuron
    for name in ("Itau_mem", "Ispkthr", "Igain_ampa"):
        values = np.asarray(getattr(neurons, name))
        for c in np.unique(core):
            assert np.ptp(values[core == c]) == 0


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_training_lowers_the_loss_and_keeps_the_best_epoch(burst_task, backend):
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    x, y = burst_task(**BURSTS, n=48)
    model = _small_model(epochs=8, learning_rate=0.02, inject=True, validation_fraction=0.25)
    train = train_jax if backend == "jax" else train_torch
    seen = []
    result = train(model, x, y, progress=seen.append)
    assert len(result.history) == 8 and seen == result.history
    losses = result.curve("val_loss")
    assert np.isfinite(losses).all()
    assert result.best_epoch == int(np.argmin(losses))
    assert losses.min() < losses[0]
    assert np.isfinite(result.curve("grad_norm")).all()
    assert set(result.params["core"]) == set(model.settings.trainable)


def test_saved_parameters_reload_to_the_same_network(burst_task, tmp_path):
    from rockpool_dynapse2.training.jax_trainer import counts_jax
    from rockpool_dynapse2.training.result import TrainResult

    x, _ = burst_task(**BURSTS, n=4)
    model = _small_model()
    params = model.initial_parameters(seed=5)
    params["core"]["tau_mem"] = params["core"]["tau_mem"] + 0.3
    path = save_parameters(tmp_path / "net.npz", TrainResult(model=model, params=params, backend="jax"))
    back = load_parameters(path)
    assert back.model.layout == model.layout
    assert np.array_equal(counts_jax(back.model, back.params, x), counts_jax(model, params, x))


def test_load_parameters_names_a_bad_file(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_text("not a file of ours")
    with pytest.raises(ParameterValueError, match="save_parameters"):
        load_parameters(bad)


def test_fan_in_of_every_neuron_fits_the_cam():
    layout = NetworkLayout.layered(200, hidden=(100,), n_classes=2, per_class=4, recurrent_probability=1.0)
    model = ChipModel(layout, TrainSettings())
    assert model.connections.fan_in.max() <= GEOMETRY.cam_entries


def test_a_chip_readout_calibration_undoes_an_over_excitable_output_neuron():
    """Mismatch that makes one class's output neurons fire more on every sample makes the raw
    readout pick that class; calibrated on unlabelled recordings of the same chip, the
    readout compares each neuron with its own mean and spread and is right again."""
    from rockpool_dynapse2.errors import ParameterValueError, ShapeError
    from rockpool_dynapse2.training import ChipModel, NetworkLayout, ReadoutCalibration

    layout = NetworkLayout.layered(4, hidden=(4,), n_classes=2, per_class=2)
    model = ChipModel(layout)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    signal = np.where(labels[:, None] == np.repeat([0, 1], 2)[None, :], 6.0, 2.0)  # the right group fires 4 more
    counts = signal + rng.normal(0, 0.5, signal.shape)
    counts[:, 2:] *= 5.0  # class 1's neurons made 5x more excitable by this chip
    assert model.output_accuracy(counts, labels) < 0.7  # mostly class 1, whatever the input
    calibration = model.calibrate_readout(counts[:50])  # no labels used
    assert isinstance(calibration, ReadoutCalibration) and calibration.samples == 50
    assert model.output_accuracy(counts[50:], labels[50:], calibration) > 0.95
    assert np.all(calibration.std >= 0.5)
    with pytest.raises(ShapeError):
        model.calibrate_readout(counts[:1])
    with pytest.raises(ParameterValueError):
        model.output_accuracy(counts, labels, calibration="yes")


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fewer_training_samples_than_chips_per_step_train_one_chip_each(backend):
    """Three training samples and 8 chips per step: each sample runs on a chip of its own
    (the batch used to be split into more slices than it had samples)."""
    from rockpool_dynapse2.training.result import batch_plan

    settings = TrainSettings(epochs=1, chips_per_step=8, batch_size=64, validation_fraction=0.0, quantize=False, snap_codes=False)
    assert batch_plan(settings, 3) == (3, 1, 3, 1)
    assert batch_plan(TrainSettings(inject=False), 3)[0] == 1
    layout = NetworkLayout.layered(2, hidden=(2,), n_classes=2, per_class=1)
    x = np.ones((3, 5, 2), np.float32)
    y = np.array([0, 1, 0])
    model = ChipModel(layout, settings)
    if backend == "jax":
        from rockpool_dynapse2.training.jax_trainer import train_jax as train
    else:
        from rockpool_dynapse2.training.torch_trainer import train_torch as train
    result = train(model, x, y)
    assert len(result.history) == 1 and np.isfinite(result.history[0].loss)


# --- the worse chips of a step, and validation on mismatched chips ---------------------------


@pytest.mark.parametrize("ops", [jax_ops, torch_ops])
def test_chip_tilt_weighs_the_worse_chips_more(ops):
    """``chip_tilt`` 0 is the chips' mean cross-entropy; a large tilt approaches the worst chip's;
    in between it lies between the two."""
    o = ops()
    layout = NetworkLayout.layered(2, hidden=(2,), n_classes=2, per_class=1)
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 6, (3, 4, layout.n_neurons)).astype(np.float32)
    onehot = np.eye(2, dtype=np.float32)[rng.integers(0, 2, (3, 4))]
    per_chip = []
    for k in range(3):
        ce, _ = ChipModel(layout, TrainSettings()).loss_terms(o.asarray(counts[k]), o.asarray(onehot[k]), o)
        per_chip.append(float(ce))
    value = lambda t: float(ChipModel(layout, TrainSettings(chip_tilt=t)).chip_loss_terms(o.asarray(counts), o.asarray(onehot), o)[0])
    assert value(0.0) == pytest.approx(np.mean(per_chip), rel=1e-5)
    assert np.mean(per_chip) < value(1.0) < max(per_chip)
    assert value(200.0) == pytest.approx(max(per_chip), abs=0.01)
    assert max(per_chip) - min(per_chip) > 0.05  # the chips differ, so the three checks mean something


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_validation_on_mismatched_chips_picks_the_epoch_by_their_mean_loss(burst_task, backend):
    """With ``validation_chips`` the validation loss is the mean over fixed mismatched chips:
    it differs from the nominal chip's, is the same for the same parameters, and picks the best epoch."""
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    train = train_jax if backend == "jax" else train_torch
    x, y = burst_task(**BURSTS, n=32)
    common = dict(epochs=3, learning_rate=0.02, inject=True, validation_fraction=0.25, chip_tilt=0.5)
    nominal = train(_small_model(**common), x, y)
    chips = train(_small_model(**common, validation_chips=3), x, y)
    # The same training steps (validation does not draw from the training's random streams) ...
    assert nominal.curve("loss") == pytest.approx(chips.curve("loss"), rel=1e-5)
    # ... but another validation loss, and the best epoch is its minimum.
    assert not np.allclose(nominal.curve("val_loss"), chips.curve("val_loss"))
    assert chips.best_epoch == int(np.argmin(chips.curve("val_loss")))


@pytest.mark.parametrize("bad", [dict(chip_tilt=-1.0), dict(validation_chips=-1), dict(validation_chips=1.5)])
def test_bad_chip_weighting_settings_get_named_errors(bad):
    with pytest.raises(ParameterValueError, match=list(bad)[0]):
        TrainSettings(**bad)


# --- the injection ramp ----------------------------------------------------------------------


def test_injected_sigma_grows_over_the_ramp_then_stays():
    ramp = TrainSettings(deviation=0.3, sigma_rule=3.0, inject_ramp=4)
    assert [ramp.injected_sigma(e) for e in range(6)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    assert ramp.injected_sigma() == pytest.approx(0.1)  # the validation chips: the whole deviation
    assert TrainSettings(deviation=0.3, inject_ramp=0).injected_sigma(0) == pytest.approx(0.1)
    assert TrainSettings(inject=False, inject_ramp=4).injected_sigma(2) == 0.0


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_ramp_reaches_each_training_step(burst_task, backend):
    """A ramp of one epoch is no ramp (the same steps, exactly); a ramp so long that its first
    epoch injects a millionth of the deviation trains as without injection (so the steps
    draw their chips at the ramp's deviation, not the whole one)."""
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    train = train_jax if backend == "jax" else train_torch
    x, y = burst_task(**BURSTS, n=32)
    common = dict(epochs=1, learning_rate=0.02, validation_fraction=0.25)
    whole = train(_small_model(**common, inject=True), x, y).curve("loss")
    assert train(_small_model(**common, inject=True, inject_ramp=1), x, y).curve("loss") == whole
    tiny = train(_small_model(**common, inject=True, inject_ramp=10**6), x, y).curve("loss")
    none = train(_small_model(**common, inject=False), x, y).curve("loss")
    assert tiny == pytest.approx(none, rel=1e-3)
    assert abs(whole[0] - none[0]) > 10 * abs(tiny[0] - none[0])  # the whole deviation does change the loss


def test_the_kept_epoch_is_picked_after_the_ramp():
    """``keep_from``: the ramp's last epoch (where the deviation is whole) with injection and a
    ramp; 0 without either, or with ``keep_during_ramp``."""
    assert TrainSettings(inject_ramp=13).keep_from == 12
    assert TrainSettings(inject_ramp=0).keep_from == 0
    assert TrainSettings(inject=False, inject_ramp=13).keep_from == 0
    assert TrainSettings(inject_ramp=13, keep_during_ramp=True).keep_from == 0


def _track(val_losses, patience=0, **tracker):
    """An :class:`EpochTracker` fed one epoch per validation loss: ``(best epoch, epoch of
    the kept parameters, epoch it stopped at or None)``."""
    from rockpool_dynapse2.training.result import EpochTracker, TrainResult

    result = TrainResult(model=None, params=None, backend="jax")
    tracker = EpochTracker(result, patience, **tracker)
    stopped = None
    for epoch, v in enumerate(val_losses):
        tracker.step(1.0, 1.0)
        if tracker.end_epoch(epoch, 0.01, (v, 0.5), lambda e=epoch: {"epoch": e}):
            stopped = epoch
            break
    return result.best_epoch, result.params["epoch"], stopped


def test_the_tracker_forgets_the_ramps_best_and_waits_for_its_end():
    """An epoch before ``keep_from`` is kept only until one from ``keep_from`` on ends (then
    the best of those is kept, even with a higher validation loss than the ramp's), and early
    stopping does not stop during the ramp."""

    def run(val_losses, keep_from, patience=0):
        return _track(val_losses, patience, keep_from=keep_from)

    losses = [0.9, 0.2, 0.5, 0.4, 0.6]
    assert run(losses, keep_from=0) == (1, 1, None)
    assert run(losses, keep_from=2) == (3, 3, None)  # 0.2 came during the ramp
    assert run(losses[:2], keep_from=2) == (1, 1, None)  # a run shorter than its ramp keeps its best
    assert run([0.1, 0.5, 0.6, 0.7, 0.8, 0.9], keep_from=0, patience=2) == (0, 0, 2)
    assert run([0.1, 0.5, 0.6, 0.7, 0.8, 0.9], keep_from=3, patience=2) == (3, 3, 5)  # no stop at 2: the ramp


def test_the_tracker_keeps_the_later_of_epochs_within_the_tolerance():
    """``keep_tolerance``: a validation loss within the tolerance of the lowest so far is a
    tie and the later epoch is kept; the bar stays the lowest (ties do not creep upwards);
    a tie resets early stopping's count; 0 keeps strictly the lowest (an equal loss too)."""
    from rockpool_dynapse2.training.model import TrainSettings

    def run(val_losses, tolerance, patience=0):
        best, kept, stopped = _track(val_losses, patience, tolerance=tolerance)
        assert kept == best  # the parameters are the kept epoch's
        return best, stopped

    losses = [0.5, 0.010, 0.015, 0.030, 0.012, 0.2]  # session 22: a loss near 0 from epoch 2 on
    assert run(losses, 0.0) == (1, None)
    assert run(losses, 0.01) == (4, None)  # 0.030 is no tie of 0.010 (0.020 is the bar), 0.012 is
    assert run([0.1, 0.105, 0.108, 0.112], 0.01) == (2, None)  # the bar is 0.1 + 0.01, not the last tie's
    assert run([0.1, 0.1], 0.0) == (0, None)  # equal is not lower
    assert run([0.1, 0.105, 0.105, 0.3, 0.3], 0.01, patience=2) == (2, 4)  # each tie restarts the wait
    assert TrainSettings().keep_tolerance == 0.0


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_both_loops_keep_an_epoch_at_the_whole_deviation(burst_task, backend, monkeypatch):
    """Both loops give their tracker the settings' ``keep_from``; with a ramp of 2 of 3 epochs
    the kept epoch is one of the last two, the validation loss's minimum among them."""
    from rockpool_dynapse2.training import jax_trainer, result, torch_trainer

    module = jax_trainer if backend == "jax" else torch_trainer
    given, tolerances = [], []

    class Recording(result.EpochTracker):
        def __init__(self, *args, keep_from=0, tolerance=0.0, **kwargs):
            given.append(keep_from)
            tolerances.append(tolerance)
            super().__init__(*args, keep_from=keep_from, tolerance=tolerance, **kwargs)

    monkeypatch.setattr(module, "EpochTracker", Recording)
    train = jax_trainer.train_jax if backend == "jax" else torch_trainer.train_torch
    x, y = burst_task(**BURSTS, n=32)
    common = dict(epochs=3, learning_rate=0.02, inject=True, inject_ramp=2, validation_fraction=0.25)
    kept = train(_small_model(**common), x, y)
    train(_small_model(**common, keep_during_ramp=True, keep_tolerance=0.25), x, y)
    assert given == [1, 0] and tolerances == [0.0, 0.25]
    val = kept.curve("val_loss")
    assert kept.best_epoch == 1 + int(np.argmin(val[1:]))


# --- the moving average of the trained quantities --------------------------------------------------


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_moving_average_is_validated_and_kept_without_changing_the_steps(burst_task, backend):
    """``average``: the training steps are the same (the average does not feed back), the
    validation loss is the average's, the best epoch its minimum; a decay near 1 keeps the
    start, a decay of 0 is no average."""
    from rockpool_dynapse2.training.jax_trainer import train_jax
    from rockpool_dynapse2.training.torch_trainer import train_torch

    train = train_jax if backend == "jax" else train_torch
    x, y = burst_task(**BURSTS, n=32)
    common = dict(epochs=3, learning_rate=0.02, inject=True, validation_fraction=0.25)
    last = train(_small_model(**common), x, y)
    averaged = train(_small_model(**common, average=0.5), x, y)
    assert averaged.curve("loss") == pytest.approx(last.curve("loss"), rel=1e-5)
    assert not np.allclose(averaged.curve("val_loss"), last.curve("val_loss"))
    assert averaged.best_epoch == int(np.argmin(averaged.curve("val_loss")))
    assert not np.allclose(averaged.params["w_in"], last.params["w_in"])
    assert np.array_equal(train(_small_model(**common, average=0.0), x, y).curve("val_loss"), last.curve("val_loss"))

    model = _small_model(**common, average=0.999999)
    start = model.initial_parameters()
    kept = train(model, x, y).params
    moved = np.abs(last.params["w_in"] - start["w_in"]).max()
    assert moved > 0.01
    assert np.abs(kept["w_in"] - start["w_in"]).max() < 1e-3 * moved


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), "0.9"])
def test_bad_averages_get_named_errors(bad):
    with pytest.raises(ParameterValueError, match="average"):
        TrainSettings(average=bad)


# --- a step's chips simulated in parallel threads ------------------------------------------------


@pytest.mark.parametrize("workers, rows, parts", [(1, 4, 1), (2, 4, 2), (3, 4, 2), (4, 4, 4), (8, 3, 3), (2, 1, 1), (2, 7, 1)])
def test_a_step_splits_into_the_most_even_parts_up_to_the_workers(workers, rows, parts):
    from rockpool_dynapse2.training.jax_trainer import step_parts

    assert step_parts(workers, rows) == parts


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_workers_get_named_errors(bad):
    from rockpool_dynapse2.training.jax_trainer import step_parts, train_jax

    with pytest.raises(ParameterValueError, match="workers"):
        step_parts(bad, 4)
    with pytest.raises(ParameterValueError, match="workers"):
        train_jax(_small_model(), np.ones((8, 5, 8), np.float32), np.arange(8) % 2, workers=bad)


@pytest.mark.parametrize("settings", [dict(inject=True), dict(inject=False), dict(inject=True, chip_tilt=2.0), dict(inject=True, average=0.5),
                                      dict(inject=True, chips_per_step=4, chip_clip=1.0)],
                         ids=["injected chips", "no injection", "chip tilt", "moving average", "chip clip"])
def test_threads_train_the_same_steps_as_one_call(burst_task, settings):
    """``workers=2``: each step's chips (or samples) in two threads, the loss (the rate
    penalty of the whole batch, the tilt over all chips) between the forward runs and the
    pullbacks: the same losses, gradient norms and trained quantities as one call, up to
    the rounding of a sum; the threads really ran (two parts)."""
    from rockpool_dynapse2.training.jax_trainer import train_jax

    x, y = burst_task(**BURSTS, n=32)
    common = dict(epochs=2, learning_rate=0.02, validation_fraction=0.25, **settings)
    one = train_jax(_small_model(**common), x, y)
    two = train_jax(_small_model(**common), x, y, workers=2)
    assert two.curve("loss") == pytest.approx(one.curve("loss"), rel=1e-5)
    assert two.curve("grad_norm") == pytest.approx(one.curve("grad_norm"), rel=1e-4)
    assert two.curve("val_loss") == pytest.approx(one.curve("val_loss"), rel=1e-4)
    for name in ("w_in", "w_rec"):
        np.testing.assert_allclose(two.params[name], one.params[name], rtol=1e-4, atol=1e-6)
    assert not np.allclose(one.params["w_in"], _small_model(**common).initial_parameters()["w_in"])  # it trained


def test_the_threaded_step_runs_its_parts_on_separate_threads(burst_task, monkeypatch):
    """The parts of a step are simulated by the step's thread pool, not the caller."""
    import threading

    from rockpool_dynapse2.training import jax_trainer

    seen = set()
    original = jax_trainer.ThreadedStep._each

    def spy(self, work):
        return original(self, lambda j: (seen.add((j, threading.current_thread().name)), work(j))[1])

    monkeypatch.setattr(jax_trainer.ThreadedStep, "_each", spy)
    x, y = burst_task(**BURSTS, n=16)
    jax_trainer.train_jax(_small_model(epochs=1, validation_fraction=0.0), x, y, workers=2)
    assert {j for j, _ in seen} == {0, 1}
    assert all(name.startswith("train-step") for _, name in seen)


def test_mismatched_chips_in_threads_count_the_same_bit_for_bit(burst_task):
    """``mismatch_counts_jax(workers=2)``: the chips' groups in two threads, the same counts
    in the same order as one thread; ``in_threads`` keeps its items' order and checks ``workers``."""
    from rockpool_dynapse2.training.jax_trainer import in_threads, mismatch_counts_jax

    x, _ = burst_task(**BURSTS, n=5)
    model = _small_model()
    params = model.initial_parameters()
    one = mismatch_counts_jax(model, params, x, 0.3, 6, seed=2, chips_at_once=2)
    two = mismatch_counts_jax(model, params, x, 0.3, 6, seed=2, chips_at_once=2, workers=2)
    assert one.shape == (6, 5, model.layout.n_neurons) and one.sum() > 0
    assert not np.array_equal(one[0], one[1])  # other chips
    np.testing.assert_array_equal(two, one)
    assert in_threads(lambda i: i * i, list(range(9)), workers=3) == [i * i for i in range(9)]
    with pytest.raises(ParameterValueError, match="workers"):
        in_threads(abs, [1, 2], workers=0)


def test_the_step_threads_end_with_the_run_even_when_it_fails(burst_task):
    """A run with ``workers=2`` that ends in an exception (here the progress callback's)
    leaves no step thread behind."""
    import threading

    from rockpool_dynapse2.training.jax_trainer import train_jax

    def stop(record):
        raise KeyboardInterrupt("stopped by the user")

    x, y = burst_task(**BURSTS, n=16)
    with pytest.raises(KeyboardInterrupt):
        train_jax(_small_model(epochs=2, validation_fraction=0.0), x, y, progress=stop, workers=2)
    assert not [t for t in threading.enumerate() if t.name.startswith("train-step")]
