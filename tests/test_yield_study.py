"""The yield study (twin.yield_study, twin.yield_runners) and ``rockpool-dynapse2 yield``.

A tiny untrained network (8 inputs, 2 classes, 50 ms samples) on 2-3 virtual chips: the
plumbing, not the accuracy. The same chips give the same outcomes here, in a process pool
and on a local Ray instance; a failing chip is reported, never dropped; a strategy that is
not in this version and a missing Ray are named errors before any work.
"""

import json
import sys
from dataclasses import replace

import numpy as np
import pytest

from rockpool_dynapse2.app.cli import main
from rockpool_dynapse2.errors import ParameterValueError, RayNotAvailableError, StrategyNotAvailableError, UnknownParameterError
from rockpool_dynapse2.hardware import ChipProfile
from rockpool_dynapse2.twin import yield_runners, yield_study
from rockpool_dynapse2.twin.yield_runners import run_study
from rockpool_dynapse2.twin.yield_study import (
    ChipJob,
    ChipOutcome,
    StudyInputs,
    board_accuracy,
    check_strategy,
    chip_jobs,
    distribution,
    run_chip,
    summarize,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A task, an untrained network on it, its configuration, the study's inputs, and a
    directory holding network.npz, config.json.gz and the data as train would read it."""
    from rockpool_dynapse2.app.demo import demo_layout
    from rockpool_dynapse2.app.tasks import frozen_noise
    from rockpool_dynapse2.app.yield_command import _mapped
    from rockpool_dynapse2.training import ChipModel, TrainResult, TrainSettings, save_parameters

    task = frozen_noise(12, seed=0, n_channels=8, duration=0.05)
    model = ChipModel(demo_layout(task, 2), TrainSettings(seed=0, dt=task.dt))
    result = TrainResult(model, model.initial_parameters(0), "jax")
    mapped = _mapped(result)
    inputs = StudyInputs.from_objects(result, mapped, task.x_test[:3], task.y_test[:3], task.x_train, task.y_train)
    d = tmp_path_factory.mktemp("tiny")
    save_parameters(d / "network.npz", result)
    mapped.save(d / "config.json.gz")
    np.savez(d / "data.npz", x_train=task.x_train, y_train=task.y_train, x_test=task.x_test[:3], y_test=task.y_test[:3], dt=task.dt)
    return task, result, mapped, inputs, d


def _accuracies(outcomes):
    return [(o.seed, o.untuned, o.tuned, o.error) for o in outcomes]


def test_a_chip_is_scored_on_its_own_virtual_board(tiny):
    from rockpool_dynapse2.hardware import ChipProfile, VirtualBoard

    task, result, mapped, inputs, _ = tiny
    outcome = run_chip(ChipJob(5, mismatch=0.3), inputs)
    board = lambda: VirtualBoard(profile=ChipProfile.draw(5, mismatch=0.3))  # noqa: E731
    assert outcome.ok and outcome.tuned is None and outcome.tune == "none"
    assert outcome.untuned == board_accuracy(result, mapped, task.x_test[:3], task.y_test[:3], board)
    assert set(outcome.seconds) == {"draw", "deploy"}
    assert ChipOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome


@pytest.mark.timeout(1200)
def test_sequential_and_process_pool_give_the_same_outcomes_in_job_order(tiny):
    inputs = tiny[3]
    jobs = chip_jobs(2, mismatch=0.3, first_seed=7)
    heard = []
    here = run_study(jobs, inputs, workers=1, on_result=lambda i, o: heard.append(i))
    pool = run_study(jobs, inputs, workers=2)
    assert [o.seed for o in here] == [7, 8] and heard == [0, 1]
    assert _accuracies(pool) == _accuracies(here)
    assert len({o.worker for o in pool} - {o.worker for o in here}) >= 1  # ran in other processes


# Ray starts its processes with fork + exec, which Python 3.12+ warns about once JAX runs threads.
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.timeout(1200)  # a hang fails the test instead of holding the suite (4.5 min measured on a loaded 2-core machine)
def test_on_a_local_ray_instance_the_same_chips_give_the_same_outcomes(tiny):
    import ray

    inputs = tiny[3]
    jobs = chip_jobs(2, mismatch=0.3, first_seed=7)
    heard = []
    on_ray = run_study(jobs, inputs, workers=1, ray_address="local", on_result=lambda i, o: heard.append(i))
    assert not ray.is_initialized()  # shut down at the end
    assert sorted(heard) == [0, 1]
    assert _accuracies(on_ray) == _accuracies(run_study(jobs, inputs))


def test_a_failing_chip_is_reported_not_dropped(tiny):
    inputs = tiny[3]
    wrong = StudyInputs(inputs.network, inputs.config, inputs.x_test[:, :, :3], inputs.y_test, inputs.x_tune, inputs.y_tune)
    outcomes = run_study(chip_jobs(2), wrong, workers=1)
    assert [o.seed for o in outcomes] == [1, 2]
    assert all(not o.ok and o.failed_stage == "deploy" and o.untuned is None for o in outcomes)
    summary = summarize(outcomes, 1.0)
    assert summary["untuned"]["yield"] == 0.0 and summary["untuned"]["mean"] is None
    assert [f["seed"] for f in summary["failed"]] == [1, 2]


def test_a_dead_worker_is_reported_as_a_failed_chip(tiny, monkeypatch):
    class Dead:
        def result(self):
            raise RuntimeError("worker died")

    outcomes = [None]
    yield_runners._collect({Dead(): 0}, chip_jobs(1), outcomes, lambda i, o: None, lambda f: f.result())
    assert outcomes[0].failed_stage == "worker" and outcomes[0].error == "RuntimeError: worker died"


def test_strategies_are_checked_by_name(tiny, monkeypatch):
    for name in ("none", "oracle", "fitted"):
        check_strategy(name)
    with pytest.raises(UnknownParameterError):
        check_strategy("magic")
    monkeypatch.setitem(yield_study._WAITING, "fitted", "`something`")  # a strategy not in a version
    with pytest.raises(StrategyNotAvailableError, match="something"):
        check_strategy("fitted")


def test_the_fitted_strategy_probes_the_network_s_slots_and_tunes_on_the_fit(tiny, monkeypatch):
    """The plumbing (the probe and the fit have their own tests, and take minutes): the
    probe gets the chip's board, the cores the network uses and as many slots per core as
    it has neurons on one plus spares; fine-tuning gets the fit's profile and places the
    network on probed slots only; the parts are timed and reported."""
    from collections import Counter
    from types import SimpleNamespace

    from rockpool_dynapse2.twin import probe_plan

    seen = {}

    def fake_probe(board, chips, cores, protocol):
        seen.update(board=board, chips=chips, cores=cores, n=protocol.neurons_per_core)
        return "recordings"

    monkeypatch.setattr(probe_plan, "_probe", fake_probe)
    monkeypatch.setattr(probe_plan, "_fit", lambda recordings: SimpleNamespace(profile=seen["board"].profile))
    outcome = run_chip(ChipJob(2, tune="fitted", epochs=1), tiny[3])
    assert outcome.ok, outcome.error
    used = tiny[2].neurons
    assert seen["chips"] == (0,) and seen["cores"] == tuple(sorted({a.core for a in used}))
    assert seen["n"] == max(Counter(a.core for a in used).values()) + probe_plan.PROBE_MARGIN
    assert not seen["board"].is_open and outcome.tuned is not None
    assert set(outcome.seconds) == {"draw", "deploy", "tune", "deploy_tuned"}
    parts = outcome.details["seconds"]
    assert set(parts) == {"probe", "fit", "fine_tune", "check"} and sum(parts.values()) <= outcome.seconds["tune"]
    cpu = outcome.details["cpu_seconds"]  # the process's CPU time of every stage and part
    assert set(cpu) == set(outcome.seconds) | set(parts) and all(v >= 0 for v in cpu.values())
    assert cpu["fine_tune"] > 0 and sum(cpu[p] for p in parts) <= cpu["tune"] + 1e-6
    check = outcome.details["board_check"]
    assert check["samples"] == min(64, len(tiny[3].y_tune)) and 0 <= check["untuned"] <= 1 and 0 <= check["tuned"] <= 1
    assert outcome.checked in (outcome.tuned, outcome.untuned)
    assert outcome.details["probed_neurons_per_core"] == seen["n"] and outcome.details["probes"] == 1
    assert ChipOutcome.from_dict(json.loads(json.dumps(outcome.to_dict()))) == outcome


def test_the_fitted_strategy_never_places_on_an_unprobed_slot(tiny, monkeypatch):
    """A probe that cannot grow (a whole core is probed) and finds too many bad slots: the
    chip fails in fine-tuning's placement, loudly, with the rule it broke."""
    from types import SimpleNamespace

    from rockpool_dynapse2.twin import probe_plan

    used = tiny[2].neurons
    chip, core = used[0].chip, used[0].core
    bad = tuple((chip, core, n) for n in range(1, 256))  # one good slot left on a used core
    monkeypatch.setattr(probe_plan, "PROBE_MARGIN", 256)
    monkeypatch.setattr(probe_plan, "_probe", lambda board, chips, cores, protocol: protocol.neurons_per_core)
    monkeypatch.setattr(probe_plan, "_fit", lambda n: SimpleNamespace(profile=replace(ChipProfile.ideal(), dead_neurons=bad)))
    outcome = run_chip(ChipJob(2, tune="fitted", epochs=1), tiny[3])
    assert not outcome.ok and outcome.failed_stage == "fine_tune" and "neurons_per_core" in outcome.error
    assert outcome.tuned is None and outcome.details["probed_neurons_per_core"] == 256


def test_the_oracle_tunes_each_chip_and_deploys_again(tiny, monkeypatch):
    """(Fine-tuning's own accuracies are not measured: the study measures on the chip's board.)"""
    from rockpool_dynapse2.twin import finetune

    def unmeasured(*args, **kwargs):
        raise AssertionError("fine_tune measured its accuracies")

    monkeypatch.setattr(finetune, "board_accuracy", unmeasured)
    monkeypatch.setattr(finetune, "_twin_accuracy", unmeasured)
    inputs = tiny[3]
    outcome = run_chip(ChipJob(2, tune="oracle", epochs=1), inputs)
    assert outcome.ok, outcome.error
    assert outcome.untuned is not None and outcome.tuned is not None
    assert set(outcome.seconds) == {"draw", "deploy", "tune", "deploy_tuned"}
    assert summarize([outcome], 1.0)["tuned"]["measured"] == 1


def test_the_board_check_keeps_the_configuration_that_did_better_on_the_chip():
    check = lambda untuned, tuned: {"board_check": {"samples": 8, "untuned": untuned, "tuned": tuned}}  # noqa: E731
    worse = ChipOutcome(1, 0.3, "fitted", untuned=1.0, tuned=0.76, details=check(1.0, 0.8))
    better = ChipOutcome(2, 0.3, "fitted", untuned=0.5, tuned=0.9, details=check(0.5, 0.9))
    unchecked = ChipOutcome(3, 0.3, "oracle", untuned=0.5, tuned=0.9)
    assert worse.checked == 1.0 and better.checked == 0.9 and unchecked.checked is None
    summary = summarize([worse, better, unchecked], 1.0)
    assert summary["tuned"]["worst"] == 0.76 and summary["checked"]["worst"] == 0.9 and summary["checked"]["measured"] == 2
    assert summarize([unchecked], 1.0)["checked"] is None


def test_the_gate_measures_the_trained_configuration_on_tuning_samples(tiny):
    from rockpool_dynapse2.hardware import ChipProfile, VirtualBoard
    from rockpool_dynapse2.twin.yield_study import GATE_SAMPLES, float_accuracy, gate_check

    task, result, mapped, inputs, _ = tiny
    board = lambda: VirtualBoard(profile=ChipProfile.draw(2, mismatch=0.3))  # noqa: E731
    gate = gate_check(result, mapped, inputs.x_tune, inputs.y_tune, board)
    n = min(GATE_SAMPLES, len(inputs.y_tune))
    x, y = inputs.x_tune[-n:], inputs.y_tune[-n:]
    assert gate["samples"] == n
    assert gate["untuned"] == board_accuracy(result, mapped, x, y, board)
    assert gate["float"] == float_accuracy(result, x, y)
    assert gate["tune"] == (gate["untuned"] < gate["float"] - 0.05)


@pytest.mark.parametrize("needed", [False, True])
def test_the_gate_tunes_only_a_chip_below_the_margin(tiny, monkeypatch, needed):
    """Forced either way (the float reference out of reach, or below any accuracy): a chip
    within the margin keeps the trained configuration and skips the tuning; one below it is
    tuned as without the gate."""
    inputs = tiny[3]
    monkeypatch.setattr(yield_study, "float_accuracy", lambda result, x, y: 2.0 if needed else 0.0)
    outcome = run_chip(ChipJob(2, tune="oracle", epochs=1, gate=True), inputs)
    assert outcome.ok, outcome.error
    assert outcome.details["gate"]["tune"] is needed and outcome.details["gate"]["float"] == (2.0 if needed else 0.0)
    if needed:
        assert set(outcome.seconds) == {"draw", "deploy", "gate", "tune", "deploy_tuned"}
    else:
        assert set(outcome.seconds) == {"draw", "deploy", "gate"}
        assert outcome.tuned == outcome.untuned == outcome.checked
    assert summarize([outcome], 1.0)["gate"] == {"checked": 1, "tuned": int(needed)}
    assert summarize([replace(outcome, details={})], 1.0)["gate"] is None


def test_distribution_counts_yield_against_the_float_accuracy():
    d = distribution([0.9, 0.85, 0.84, None], reference=0.9)
    assert d["yield"] == 0.5 and d["worst"] == 0.84 and d["measured"] == 3 and d["chips"] == 4
    assert d["mean"] == pytest.approx((0.9 + 0.85 + 0.84) / 3)


def test_the_yield_report_gives_each_yield_with_its_interval():
    from rockpool_dynapse2.app.yield_command import summary_table

    untuned = distribution([0.9] * 14 + [0.5, None], reference=0.9)  # 14 of 16 chips; one not measured
    report = {"summary": {"float": 0.9, "margin": 0.05, "untuned": untuned, "tuned": None, "failed": []},
              "chips": [None] * 16, "wall_seconds": 1.0, "workers": 1, "ray_address": None, "options": {"tune": "none"}}
    table = summary_table(report)
    (row,) = [line for line in table.splitlines() if line.startswith("untuned")]
    assert "95 % int." in table and row.split()[-2:] == ["88%", "64%-97%"]  # 14 of 16: 88 %, known to 64-97 %
    report["summary"]["untuned"] = distribution([None] * 4, reference=0.9)  # no chip measured: no figures
    assert "64%" not in summary_table(report)


@pytest.mark.parametrize("field, value, error", [
    ("seed", -1, ParameterValueError), ("mismatch", 1.5, ParameterValueError),
    ("tune", "best", UnknownParameterError), ("epochs", 0, ParameterValueError), ("gate", "yes", ParameterValueError),
])
def test_bad_jobs_are_named_errors(field, value, error):
    with pytest.raises(error, match=f"`{field}`"):
        replace(ChipJob(1), **{field: value})


def test_without_ray_a_ray_study_is_a_named_error_with_the_install_command(tiny, monkeypatch):
    monkeypatch.setattr(yield_runners.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RayNotAvailableError, match=r"pip install \"rockpool-dynapse2\[ray\]\""):
        run_study(chip_jobs(1), tiny[3], ray_address="local")


def test_importing_the_study_imports_no_ray():
    import subprocess

    code = "import rockpool_dynapse2.twin.yield_runners, rockpool_dynapse2.app.yield_command, sys; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "False", out.stderr


# --- the command ----------------------------------------------------------------------------


def test_the_command_reuses_a_network_and_writes_the_report(tiny, tmp_path, capsys):
    d = tiny[4]
    out = tmp_path / "study"
    code = main(["yield", "--data", str(d / "data.npz"), "--network", str(d), "--chips", "2", "--out", str(out), "--quiet"])
    assert code == 0
    report = json.loads((out / "yield.json").read_text())
    assert [c["seed"] for c in report["chips"]] == [1, 2] and report["workers"] == 1
    assert report["summary"]["untuned"]["chips"] == 2 and report["summary"]["tuned"] is None
    assert (out / "yield.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "untuned" in printed and "2 chips, 0 failed" in printed


def test_the_command_records_each_chip_as_it_finishes_and_resumes_from_them(tiny, tmp_path):
    d = tiny[4]
    out = tmp_path / "study"
    argv = ["yield", "--data", str(d / "data.npz"), "--network", str(d), "--out", str(out), "--quiet"]
    assert main(argv + ["--chips", "2"]) == 0
    lines = (out / "chips.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["seed"] for line in lines) == [1, 2]
    first = json.loads(next(line for line in lines if json.loads(line)["seed"] == 1))
    (out / "chips.jsonl").write_text(json.dumps({**first, "untuned": 0.125}) + "\n")  # chip 1 kept, as if interrupted
    assert main(argv + ["--chips", "3", "--resume"]) == 0
    report = json.loads((out / "yield.json").read_text())
    assert [c["seed"] for c in report["chips"]] == [1, 2, 3] and report["resumed_chips"] == 1
    assert report["chips"][0]["untuned"] == 0.125  # not run again
    assert len((out / "chips.jsonl").read_text().splitlines()) == 3
    assert main(argv + ["--chips", "3"]) == 0  # without --resume: every chip runs again
    assert json.loads((out / "yield.json").read_text())["chips"][0]["untuned"] != 0.125


def test_resuming_another_study_is_refused(tiny, tmp_path, capsys):
    d = tiny[4]
    out = tmp_path / "study"
    argv = ["yield", "--data", str(d / "data.npz"), "--network", str(d), "--out", str(out), "--quiet", "--chips", "1"]
    assert main(argv) == 0
    assert main(argv + ["--mismatch", "0.2", "--resume"]) == 2
    assert "`--resume` must continue the same study; got chip 1" in capsys.readouterr().err


def test_the_command_gates_the_tuning_and_resumes_only_a_gated_study(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(yield_study, "float_accuracy", lambda result, x, y: 0.0)  # every chip within the margin
    d = tiny[4]
    out = tmp_path / "study"
    argv = ["yield", "--data", str(d / "data.npz"), "--network", str(d), "--out", str(out), "--quiet", "--tune", "oracle"]
    assert main(argv + ["--chips", "2", "--gate"]) == 0
    report = json.loads((out / "yield.json").read_text())
    assert report["summary"]["gate"] == {"checked": 2, "tuned": 0} and report["options"]["gate"] is True
    assert [c["tuned"] for c in report["chips"]] == [c["untuned"] for c in report["chips"]]
    assert main(argv + ["--chips", "3", "--resume"]) == 2  # the same study without the gate: refused
    assert "tuned with the gate (--gate), this study without it" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--task", "frozen-noise", "--tune", "best"], "`tune` must be one of"),
    (["--task", "frozen-noise", "--chips", "0"], "`--chips` must be an integer >= 1"),
    (["--task", "frozen-noise", "--mismatch", "2"], "`mismatch` must be in [0, 1]"),
    (["--task", "frozen-noise", "--network", "/nonexistent"], "`--network` must be a directory"),
    (["--task", "frozen-noise", "--first-chip", "-1"], "`--first-chip` must be an integer in 0.."),
])
def test_bad_values_are_one_line_errors_with_status_2(tmp_path, capsys, argv, message):
    assert main(["yield", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "o").exists()  # refused before any work


def test_a_network_that_does_not_fit_the_data_is_refused(tiny, tmp_path, capsys):
    from rockpool_dynapse2.app.tasks import frozen_noise

    task = frozen_noise(12, seed=0, n_channels=5, duration=0.05)
    data = tmp_path / "other.npz"
    np.savez(data, x_train=task.x_train, y_train=task.y_train, x_test=task.x_test, y_test=task.y_test, dt=task.dt)
    assert main(["yield", "--data", str(data), "--network", str(tiny[4]), "--chips", "1", "--out", str(tmp_path / "o")]) == 2
    assert "`--network` must fit the data" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["--task", "frozen-noise", "--data", "x.npz"], ["--task", "nope"],
                                  ["--task", "frozen-noise", "--bogus"]])
def test_usage_errors_exit_2_with_the_yield_usage(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(["yield", *argv])
    assert exit_.value.code == 2
    assert "rockpool-dynapse2 yield" in capsys.readouterr().err



def test_a_reset_virtual_board_runs_a_sample_as_a_fresh_one(tiny):
    """The board keeps its network at rest (a JAX module is immutable) instead of resetting
    the module each time: runs in between, with and without resets, leave it at rest."""
    from rockpool_dynapse2.hardware import ChipProfile, DynapseSamna, VirtualBoard

    task, _, mapped, _, _ = tiny
    profile = ChipProfile.draw(3, mismatch=0.3)
    x = task.x_test[0] * 3  # a strong input: the network leaves rest
    with DynapseSamna(VirtualBoard(profile=profile), mapped) as fresh:
        first = fresh(x)[0]
    with DynapseSamna(VirtualBoard(profile=profile), mapped) as mod:
        mod.reset_state()
        runs = [mod(x)[0]]
        runs.append(mod(x)[0])  # no reset: starts where the last run ended
        mod.reset_state()
        runs.append(mod(x)[0])
    np.testing.assert_array_equal(runs[0], first)
    np.testing.assert_array_equal(runs[2], first)
    assert first.sum() > 0
