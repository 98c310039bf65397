"""Where the chips of a yield study run: here, in a process pool, or on Ray; one chip per task.

:func:`run_study` takes the jobs (:func:`~.yield_study.chip_jobs`) and what they share
(:class:`~.yield_study.StudyInputs`) and returns one
:class:`~.yield_study.ChipOutcome` per job, in the jobs' order, whatever happened: a chip
whose worker died is reported as failed (stage ``"worker"``), never dropped. Results are
collected as they finish; ``on_result`` hears each one then (the command prints a
progress line).

* ``workers=1`` without ``ray_address``: the chips one after the other, in this process;
* ``workers=W > 1`` without ``ray_address``: a :mod:`concurrent.futures` pool of ``W``
  processes (started with ``spawn``: JAX does not survive ``fork``), each given the
  inputs once;
* ``ray_address``: one Ray task per chip (1 CPU each), the inputs put in Ray's object
  store once. ``"local"`` starts a Ray instance on this machine with ``workers`` CPUs and
  stops it at the end; ``"auto"`` joins the cluster Ray finds (``RAY_ADDRESS``, or one
  started on this machine with ``ray start``), else starts a local one; any other value
  is a cluster's address (``"ray://head:10001"``, ``"10.0.0.5:6379"``). A Ray this process
  has already initialized is used as it is (``ray_address`` then only says "on Ray"). Its workers need
  this package installed (the package never imports samna at import time, so a worker
  without samna imports it).

Ray is optional (``pip install "rockpool-dynapse2[ray]"``) and imported only here, only
when asked for: without it, :class:`~rockpool_dynapse2.errors.RayNotAvailableError`.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import ParameterValueError, RayNotAvailableError, Shown
from ..parameters.validate import integer
from .yield_study import ChipJob, ChipOutcome, StudyInputs, run_chip

__all__ = ["LOCAL_RAY", "RAY_INSTALL", "check_ray", "run_study", "run_sequential", "run_pool", "run_ray"]

LOCAL_RAY = ("local", "auto")
"""``ray_address`` values that may start a Ray instance on this machine (see the module docs)."""

RAY_INSTALL = 'pip install "rockpool-dynapse2[ray]"'
"""The command that installs Ray for this package."""

OnResult = Callable[[int, ChipOutcome], None]


def check_ray() -> None:
    """Fail early, without importing Ray, if it is not installed.

    Raises:
        RayNotAvailableError: Ray is missing (the message gives the install command).
    """
    if importlib.util.find_spec("ray") is None:
        raise RayNotAvailableError(f"`--ray-address` must come with Ray installed; got no module `ray`: install it with {RAY_INSTALL}")


def _import_ray() -> Any:
    check_ray()
    import ray

    return ray


def run_study(jobs: Sequence[ChipJob], inputs: StudyInputs, workers: int = 1, ray_address: Optional[str] = None,
              on_result: Optional[OnResult] = None) -> List[ChipOutcome]:
    """Run every job (see the module docs); the outcomes in the jobs' order.

    Args:
        jobs: the chips.
        inputs: what they share.
        workers: processes here, or the CPUs of a Ray instance started here (an integer >= 1).
        ray_address: run on Ray (see the module docs); ``None``: here.
        on_result: called with ``(index of the job, outcome)`` as each chip finishes.

    Raises:
        RayNotAvailableError: ``ray_address`` given and Ray missing.
        ParameterValueError: ``workers`` not an integer >= 1; a ``ray_address`` where no
            Ray cluster answers.
    """
    workers = integer("workers", workers, low=1)
    on_result = on_result or (lambda i, o: None)
    if ray_address is not None:
        return run_ray(jobs, inputs, ray_address, workers, on_result)
    if workers == 1:
        return run_sequential(jobs, inputs, on_result)
    return run_pool(jobs, inputs, workers, on_result)


def run_sequential(jobs: Sequence[ChipJob], inputs: StudyInputs, on_result: OnResult) -> List[ChipOutcome]:
    """The chips one after the other in this process."""
    outcomes = []
    for i, job in enumerate(jobs):
        outcomes.append(run_chip(job, inputs))
        on_result(i, outcomes[-1])
    return outcomes


_INPUTS: Dict[str, StudyInputs] = {}


def _pool_init(inputs: StudyInputs) -> None:
    _INPUTS["study"] = inputs


def _pool_chip(job: ChipJob) -> ChipOutcome:
    return run_chip(job, _INPUTS["study"])


def _collect(pending: Dict[Any, int], jobs: Sequence[ChipJob], outcomes: List[Optional[ChipOutcome]],
             on_result: OnResult, result_of: Callable[[Any], ChipOutcome]) -> None:
    """Record one finished task's outcome (or its failure) and report it."""
    handle = next(iter(pending))
    i = pending.pop(handle)
    try:
        outcomes[i] = result_of(handle)
    except Exception as err:  # noqa: BLE001 (a worker that died: the chip is reported, not dropped)
        outcomes[i] = ChipOutcome.failed(jobs[i], "worker", err)
    on_result(i, outcomes[i])


def run_pool(jobs: Sequence[ChipJob], inputs: StudyInputs, workers: int, on_result: OnResult) -> List[ChipOutcome]:
    """The chips in a pool of ``workers`` processes (``spawn``), each given ``inputs`` once."""
    outcomes: List[Optional[ChipOutcome]] = [None] * len(jobs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_pool_init, initargs=(inputs,)) as pool:
        pending = {pool.submit(_pool_chip, job): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                _collect({future: pending.pop(future)}, jobs, outcomes, on_result, lambda f: f.result())
    return [o for o in outcomes if o is not None]


def _ray_init(ray: Any, address: str, workers: int) -> None:
    """Join or start Ray (see the module docs)."""
    options: Dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, ignore_reinit_error=False)
    if address == "local":
        ray.init(num_cpus=workers, **options)
    elif address == "auto":
        try:
            ray.init(address="auto", **options)
        except ConnectionError:
            ray.init(num_cpus=workers, **options)
    else:
        try:
            ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError) as err:
            rule = "'local', 'auto' or the address of a running Ray cluster"
            raise ParameterValueError("ray_address", rule, Shown(f"{address!r} ({' '.join(str(err).split())})")) from err


def run_ray(jobs: Sequence[ChipJob], inputs: StudyInputs, address: str, workers: int, on_result: OnResult) -> List[ChipOutcome]:
    """One Ray task per chip (1 CPU each) on the instance ``address`` names; this process's
    connection is shut down at the end, also after an error (a local instance with it). A
    Ray the caller has already initialized (``ray.init``) is used as it is, and left running."""
    ray = _import_ray()
    owned = not ray.is_initialized()
    if owned:
        _ray_init(ray, address, workers)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(run_chip)
        shared = ray.put(inputs)
        outcomes: List[Optional[ChipOutcome]] = [None] * len(jobs)
        pending = {task.remote(job, shared): i for i, job in enumerate(jobs)}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            _collect({done[0]: pending.pop(done[0])}, jobs, outcomes, on_result, ray.get)
        return [o for o in outcomes if o is not None]
    finally:
        if owned:
            ray.shutdown()
