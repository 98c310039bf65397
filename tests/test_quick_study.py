"""``benchmarks/quick_study.py``'s ten-class members of the built-in task families are what
its docs say (``docs/results.md``, "Ten classes"): ten balanced classes, written as
``train --data`` reads a user's data, the same data for the same seed."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import quick_study  # noqa: E402

from rockpool_dynapse2.app.data import load_dataset  # noqa: E402


@pytest.mark.parametrize("name", sorted(quick_study.MANY_CLASSES))
def test_ten_class_tasks_are_train_data(name, tmp_path):
    path = quick_study.write_data(name, 100, 0, tmp_path / "a.npz")
    task = load_dataset(path)
    assert task.n_classes == 10
    assert np.array_equal(np.bincount(task.y_train, minlength=10) > 0, np.ones(10, bool))
    again = np.load(quick_study.write_data(name, 100, 0, tmp_path / "b.npz"))
    first = np.load(path)
    assert all(np.array_equal(first[k], again[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
    other = np.load(quick_study.write_data(name, 100, 1, tmp_path / "c.npz"))
    assert not np.array_equal(first["x_train"], other["x_train"])


def test_a_built_in_task_name_is_its_family():
    assert "rate-frequency-10" not in quick_study.TASKS
    assert quick_study.MANY_CLASSES["rate-frequency-10"][0] in quick_study.TASKS
    assert len(quick_study.MANY_CLASSES["rate-frequency-10"][1]["frequencies"]) == 10
