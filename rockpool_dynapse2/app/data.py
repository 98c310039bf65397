"""A user's data set for ``rockpool-dynapse2 train``: one ``.npz`` file, checked array by array.

The file holds

* ``x_train`` ``(n, T, C)``: non-negative integer spike counts per time step (any integer
  or float dtype holding whole numbers);
* ``y_train`` ``(n,)``: integer labels ``0 .. K-1``, every class present;
* ``x_test`` ``(m, T, C)`` and ``y_test`` ``(m,)``: the same, for testing (same ``T`` and ``C``);
* optionally ``dt``: the time step in seconds (default 1 ms).

:func:`load_dataset` refuses anything else with a :class:`~rockpool_dynapse2.errors.ParameterValueError`
or :class:`~rockpool_dynapse2.errors.ShapeError` that names the array, what is wrong and
where (the first bad entry), never a traceback from numpy.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Dict, Sequence, Union

import numpy as np

from ..errors import CliError, ParameterValueError, ShapeError, Shown
from .tasks import Task

__all__ = ["REQUIRED", "load_dataset", "check_dataset", "read_npy", "read_file_bytes"]

REQUIRED = ("x_train", "y_train", "x_test", "y_test")
"""The arrays a data file must hold."""

MAX_COUNT = 2**15
"""Largest spike count of one channel in one step that is taken as a count (beyond it, a
value is far more likely an analog signal than spikes)."""


def load_dataset(path: Union[str, Path], name: str = "") -> Task:
    """Read and check a data file (see the module docs).

    Args:
        path: the ``.npz`` file.
        name: the task's name (default: the file's stem).

    Returns:
        A :class:`~.tasks.Task` (float32 rasters, int64 labels).

    Raises:
        ParameterValueError: the file is missing or not an ``.npz``, an array is missing,
            of the wrong kind, negative, not whole, not finite, or labels are not ``0..K-1``.
        ShapeError: an array has the wrong number of dimensions, or the splits disagree.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterValueError("--data", "an existing .npz file", str(path))
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ParameterValueError("--data", "a NumPy .npz file (numpy.savez) of plain arrays", f"{str(path)!r}: {error}") from None
    return check_dataset(arrays, name or path.stem)


def read_npy(path: Union[str, Path], what: str) -> np.ndarray:
    """The one array of a ``.npy`` file given on the command line as ``what`` (e.g.
    ``"--input"``); the caller checks its shape and values.

    Raises:
        CliError: no such file, not a file numpy can read, or an archive of several arrays.
    """
    p = Path(path)
    if not p.is_file():
        raise CliError(f"`{what}` must be an existing .npy file; got {str(p)!r}")
    try:
        x = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise CliError(f"`{what}` must be a .npy array file; got {str(p)!r} (numpy: {err})") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise CliError(f"`{what}` must hold one array (a .npy file); got an archive of several arrays")
    return x


def read_file_bytes(path: Union[str, Path], name: str) -> bytes:
    """The bytes of a file given on the command line as ``name`` (e.g. ``"MODEL"``), as
    stored (the caller decompresses them).

    Raises:
        CliError: no such file, a directory, a file that cannot be read.
    """
    p = Path(path)
    if not p.exists():
        raise CliError(f"`{name}` must be an existing file; got {str(p)!r} (no such file)")
    if p.is_dir():
        raise CliError(f"`{name}` must be a file, not a directory; got {str(p)!r}")
    try:
        return p.read_bytes()
    except OSError as err:
        raise CliError(f"`{name}` must be a readable file; got {str(p)!r} ({err.strerror or err})") from None


def _listed(values: Sequence[int], most: int = 20) -> str:
    """``values`` as a list, its middle elided past ``most`` entries."""
    if len(values) <= most:
        return str(list(values))
    return f"[{', '.join(map(str, values[: most // 2]))}, ..., {', '.join(map(str, values[-most // 2 :]))}] ({len(values)} classes)"


def check_dataset(arrays: Dict[str, Any], name: str = "data") -> Task:
    """Check a data set given as ``{array name: array}``; see :func:`load_dataset`."""
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ParameterValueError("data file", f"arrays {', '.join(REQUIRED)} (missing: {', '.join(missing)})", sorted(arrays))
    x_train = _raster("x_train", arrays["x_train"])
    x_test = _raster("x_test", arrays["x_test"])
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ShapeError("x_test", f"(m, T, C) = (m, {x_train.shape[1]}, {x_train.shape[2]}), as x_train's steps and channels", x_test.shape)
    y_train = _labels("y_train", arrays["y_train"], len(x_train))
    y_test = _labels("y_test", arrays["y_test"], len(x_test))
    K = int(y_train.max()) + 1
    present = np.unique(y_train).tolist()
    absent = sorted(set(range(K)) - set(present))
    if absent:
        raise ParameterValueError("y_train", f"labels 0..{K - 1} with every class present (classes {absent} have no sample)",
                                  Shown(f"the classes {_listed(present)}"))
    if K < 2:
        raise ParameterValueError("y_train", "at least 2 classes", Shown(f"the classes {_listed(present)}"))
    if y_test.max() >= K:
        bad = y_test >= K
        raise ParameterValueError("y_test", f"labels in 0..{K - 1} (the classes of y_train)", y_test, bad)
    dt = _dt(arrays.get("dt", 1e-3))
    names = tuple(f"class {k}" for k in range(K))
    return Task(x_train, y_train, x_test, y_test, n_classes=K, dt=dt, name=name, class_names=names)


def _raster(name: str, value: Any) -> np.ndarray:
    x = np.asarray(value)
    if x.dtype.kind not in "biuf":
        raise ParameterValueError(name, "an array of numbers (spike counts)", f"an array of dtype {x.dtype}")
    if x.ndim != 3 or min(x.shape) < 1:
        raise ShapeError(name, "(n, T, C): samples, time steps, channels, each >= 1", x.shape)
    x = x.astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        raise ParameterValueError(name, "finite spike counts (no NaN or inf)", x, bad)
    bad = x < 0
    if bad.any():
        raise ParameterValueError(name, "non-negative spike counts", x, bad)
    bad = x != np.round(x)
    if bad.any():
        raise ParameterValueError(name, "whole spike counts per time step (integers)", x, bad)
    bad = x > MAX_COUNT
    if bad.any():
        raise ParameterValueError(name, f"spike counts per step of at most {MAX_COUNT}", x, bad)
    return x.astype(np.float32)


def _labels(name: str, value: Any, n: int) -> np.ndarray:
    y = np.asarray(value)
    if y.ndim != 1 or len(y) != n:
        raise ShapeError(name, f"({n},): one label per sample of x_{name[2:]}", y.shape)
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ParameterValueError(name, "integer labels", y, bad)
    elif y.dtype.kind not in "iub":
        raise ParameterValueError(name, "integer labels", f"an array of dtype {y.dtype}")
    y = y.astype(np.int64)
    bad = y < 0
    if bad.any():
        raise ParameterValueError(name, "labels 0..K-1 (non-negative)", y, bad)
    return y


def _dt(value: Any) -> float:
    dt = np.asarray(value)
    if dt.dtype.kind not in "iuf" or dt.size != 1 or not np.isfinite(dt).all() or float(dt.ravel()[0]) <= 0:
        raise ParameterValueError("dt", "one positive time step in seconds (e.g. 0.001)", dt)
    dt = float(dt.ravel()[0])
    if dt > 1.0:
        raise ParameterValueError("dt", "a time step in seconds (at most 1 s; 1 ms is 0.001)", dt)
    return dt
