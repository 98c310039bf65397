"""The held-out tasks of ``benchmarks/fresh_tasks.py`` are what its docs say: timing-only tasks.

``docs/results.md`` ("Tasks the defaults were not tuned on") reads ``train --quick`` on them
as a reviewer's unseen data set; that reading is only fair if every class has the same
expected spike count on every channel (the count regression must be near chance because
only timing differs; whether the timing can be learnt is what the benchmark measures),
the data are what ``train --data`` accepts, and a seed gives the same task twice.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fresh_tasks  # noqa: E402

from rockpool_dynapse2.app.data import load_dataset  # noqa: E402

N = 300


@pytest.fixture(scope="module", params=sorted(fresh_tasks.TASKS))
def task(request):
    return fresh_tasks.TASKS[request.param](0, N)


def test_shapes_counts_and_balanced_labels(task):
    x = np.concatenate([task.x_train, task.x_test])
    y = np.concatenate([task.y_train, task.y_test])
    assert x.shape[0] == N and np.all(x >= 0) and np.all(x == np.round(x))
    assert len(task.class_names) == task.n_classes
    if task.name == "imbalanced":  # shares 40 / 30 / 20 / 10 %, half of every class in each split
        share = np.bincount(y, minlength=4) / N
        assert np.all(np.abs(share - [0.4, 0.3, 0.2, 0.1]) < 0.12), share  # 4 standard errors of 300 draws
        train, test = np.bincount(task.y_train, minlength=4), np.bincount(task.y_test, minlength=4)
        assert np.all(np.abs(train - test) <= 1) and np.all(train > 0)
        return
    assert task.x_train.shape[0] == task.x_test.shape[0] == N // 2
    assert np.all(np.bincount(y, minlength=task.n_classes) == N // task.n_classes)


def test_every_class_has_the_same_expected_totals(task):
    """Per channel, each class's mean spike total is within 4.5 standard errors of the
    others' (a class told apart by its counts would sit tens of errors away)."""
    x = np.concatenate([task.x_train, task.x_test]).sum(axis=1)
    y = np.concatenate([task.y_train, task.y_test])
    for c in range(task.n_classes):
        a, b = x[y == c], x[y != c]
        se = np.sqrt(a.var(axis=0) / len(a) + b.var(axis=0) / len(b)) + 1e-9
        z = np.abs(a.mean(axis=0) - b.mean(axis=0)) / se
        assert z.max() < 4.5, (task.name, c, int(z.argmax()), float(z.max()))


def test_a_seed_gives_the_same_task_and_another_seed_another():
    for make in fresh_tasks.TASKS.values():
        a, b, c = make(3, 60), make(3, 60), make(4, 60)
        assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
        assert not np.array_equal(a.x_train, c.x_train)


def test_written_file_is_train_data(task, tmp_path):
    path = fresh_tasks.write_data(task, tmp_path / "task.npz")
    data = load_dataset(path)
    assert data.x_train.shape == task.x_train.shape and data.dt == pytest.approx(task.dt)
    assert np.array_equal(data.y_test, task.y_test)
