"""``train --validation-chips N`` (issue #15, session 26): the kept epoch picked by the
validation loss averaged over ``N`` mismatched chips (``TrainSettings.validation_chips``,
whose rule both trainers test in ``test_training.py``); here the option's path through
``train`` and its checks."""

import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.training import TrainSettings


def test_train_takes_validation_chips_that_reach_the_model_and_results(train_argv, train_jobs):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob, build_model

    for extra in ([], ["--validation-chips", "8"], ["--validation-chips", "0"]):
        assert main(train_argv + extra) == 0
    default = TrainSettings.validation_chips
    assert default == 0
    assert [build_model(task, job).settings.validation_chips for task, job in train_jobs] == [default, 8, 0]
    assert [j.resolved()["validation_chips"] for _, j in train_jobs] == [default, 8, 0]  # results.json's "job"
    for bad in (-1, 1.5, "8", True):
        with pytest.raises(ParameterValueError, match="--validation-chips"):
            TrainJob(validation_chips=bad)
    assert main(train_argv + ["--validation-chips", "-2"]) != 0


@pytest.mark.parametrize("option", ["validation_chips", "chip_clip"])
def test_options_of_the_injected_chips_are_refused_without_injection(option, train_argv, train_jobs, capsys):
    from rockpool_dynapse2.app.cli import main
    from rockpool_dynapse2.app.train_pipeline import TrainJob

    with pytest.raises(ParameterValueError, match=f"--{option.replace('_', '-')}.*--no-injection"):
        TrainJob(inject=False, **{option: 4})
    TrainJob(inject=False, **{option: 0})  # 0 is off, and allowed
    flag = f"--{option.replace('_', '-')}"
    assert main(train_argv + ["--no-injection", flag, "4"]) != 0
    assert "--no-injection" in capsys.readouterr().err
    assert train_jobs == []  # refused before training
