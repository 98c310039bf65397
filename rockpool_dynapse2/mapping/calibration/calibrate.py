"""Calibrating a converted network against the network it came from, layer by layer.

The analytic LIF conversion (:mod:`.lif`) matches every neuron's rheobase, so DPI neurons
fire for the same inputs as the LIF neurons, but not as often: a Rockpool LIF neuron's
rate grows linearly with its input (``floor(v / threshold)`` spikes per step, subtractive
reset), while a DPI neuron fires at most every other step (any refractory period blocks
the next step) and a firing step holds ``ceil(log(I_mem / Ispkthr))`` spikes, a logarithm
of its drive. High LIF rates need a *low* spiking threshold (several spikes per firing
step) and a *strong* drive, and the best combination is an empirical question (the
simulated rate is not even monotone in the drive everywhere: the forward-Euler membrane
locks to firing periods).

:func:`calibrate_to_reference` answers it by simulation, one layer (neuron module of the
original graph, ``spec.layer_of_neuron``) at a time, in the mapper's order (earlier layers
drive later ones), with two knobs per layer:

* a **drive scale** ``s`` on every synapse onto the layer (input and recurrent tables):
  a log-space multi-section search (``points`` scales per round, ``rounds`` rounds, each
  narrowing to the bracket around the target). The scale goes onto the weights up to the
  largest weight current the chip's base weights give (:data:`MAX_WEIGHT_CURRENT`), the
  rest onto the synaptic gains ``Igain_*`` of the layer's cores;
* the layer's **spiking threshold** ``Ispkthr``, one of ``thresholds``: every calibrated
  layer gets cores of its own.

All evaluated (threshold, scale) pairs are candidates; the chosen one matches the layer's
total reference spike count within ``tolerance`` and has the best per-neuron count
correlation among those (correlations within 0.01 count as equal, then the weaker drive
wins); if none is within tolerance, the one with the smallest count error.
``per_neuron=True`` then refines one scale per neuron (within ``neuron_spread`` of the
layer's) to match every neuron's count.

Candidates run in parallel: the layer becomes a stand-alone network whose input is the
calibration input plus the spikes of the other neurons projecting onto it (simulated
once per layer with the layers fitted so far, delivered one step late like recurrent
input), built by :func:`~.simulate.dynapsim_net_from_spec`; its DynapSim core runs
``jax.vmap``-ed over the candidates.
"""

from __future__ import annotations

import copy
import functools
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ...chip import BIAS_PARAMETER_BY_CURRENT, GEOMETRY, SynapseType
from ...errors import CalibrationError, CoreCapacityError, ParameterValueError, ShapeError, Violation
from ...parameters.biasgen import current_range
from ...parameters.validate import flag, indices, instance, integer, mapping, real_array, real_number
from ...simulation.records import STATE_NAMES, DynapState
from ..graph_map import layer_names, map_graph, neuron_modules as _graph_neuron_modules
from ..simulate import dynapsim_net_from_spec
from ..network_spec import BASE_WEIGHT_BIASES, NetworkSpec, Synapses
from .report import CalibrationReport, LayerCalibration, relative_error

__all__ = [
    "CalibrationError",
    "LayerCalibration",
    "CalibrationReport",
    "DEFAULT_THRESHOLDS",
    "MAX_WEIGHT_CURRENT",
    "reference_spike_counts",
    "spec_spike_counts",
    "calibrate_to_reference",
    "calibrate_graph",
    "map_and_calibrate",
]

DEFAULT_THRESHOLDS: Tuple[float, ...] = tuple(float(v) for v in np.geomspace(1e-12, 1e-7, 11))
"""Candidate spiking thresholds (A), half a decade apart: from 1 pA (twice the resting
``I_mem = Io``; bias code (0, 9), 3 % off) to 100 nA (the chip's default)."""

MAX_WEIGHT_CURRENT: float = float(sum(current_range(p)[1] for p in BASE_WEIGHT_BIASES))
"""The largest synaptic weight current (A): every base weight ``Iw_0..Iw_3`` at the top of
its bias generator's range, all selected by the 4-bit mask (about 2 uA)."""

_GAINS = tuple(f"Igain_{s.label}" for s in SynapseType)
_MAX_GAIN = {g: float(current_range(BIAS_PARAMETER_BY_CURRENT[g])[1]) for g in _GAINS}
_CORRELATION_TIE = 0.01  # agreements this close count as equal; the weaker drive wins
_KEEP_TOLERANCE = 0.5  # after the coarse first round, thresholds this close compete on correlation
_CALL_ELEMENTS = 1 << 24  # spike-train entries per vmapped call (64 MB of float32)


# --- inputs and spike counts -----------------------------------------------------------------


def _as_input(x: Any, n_inputs: int) -> np.ndarray:
    """``x`` (numpy, jax or torch) as a float32 ``(B, T, n_inputs)`` numpy array."""
    given = real_array("calibration input", x, what="an array of spikes per step", low=0.0, high=float(np.finfo(np.float32).max))
    arr = given.astype(np.float32)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] != n_inputs or arr.shape[1] == 0 or arr.shape[0] == 0:
        raise ShapeError("calibration input", f"(T, {n_inputs}) or (B, T, {n_inputs}) with B, T > 0", given.shape)
    return arr


def _spikes(spec: NetworkSpec, x: np.ndarray) -> np.ndarray:
    """``(B, T, N)`` spike counts of every neuron of ``spec`` on ``x`` (JAX backend)."""
    out, _, _ = dynapsim_net_from_spec(spec, "jax")(x)
    return np.asarray(out)


def spec_spike_counts(spec: NetworkSpec, x: Any) -> np.ndarray:
    """``(N,)``: every neuron's spikes on ``x`` ``(B, T, n_inputs)``, summed over batch and time."""
    return _spikes(spec, _as_input(x, spec.n_inputs)).sum(axis=(0, 1))


def _module_path(root: Any, target: Any) -> Optional[Tuple[str, ...]]:
    """Submodule names leading from ``root`` to ``target`` (``()`` if it is ``root``)."""
    if root is target:
        return ()
    modules = getattr(root, "modules", None)
    for name, sub in (modules() if callable(modules) else {}).items():
        path = _module_path(sub, target)
        if path is not None:
            return (name,) + path
    return None


def reference_spike_counts(
    spec: NetworkSpec, reference: Any, x: Any, neuron_modules: Optional[Sequence[Any]] = None
) -> np.ndarray:
    """Spike counts of the reference network's neurons on ``x``, in the spec's neuron order.

    Runs ``reference`` from rest with ``record=True`` and reads each neuron module's
    ``'spikes'`` from the record (for a ``Sequential``, ``record[module name]['spikes']``).

    Args:
        spec: the spec mapped from ``reference``.
        reference: the Rockpool network (JAX or torch); left unchanged (a torch network
            runs on a copy).
        x: ``(B, T, n_inputs)`` input (numpy, jax or torch).
        neuron_modules: the graph's neuron modules in the spec's layer order (default:
            from ``reference.as_graph()``).

    Returns:
        ``(N,)`` spike counts, summed over batch and time.

    Raises:
        CalibrationError: the reference's neuron modules are not the spec's layers, or
            its record holds no spikes for one of them.
        ShapeError: ``x`` is not ``(B, T, spec.n_inputs)``.
    """
    x = _as_input(x, spec.n_inputs)
    if neuron_modules is None:
        graph = reference.as_graph()
        neuron_modules = _graph_neuron_modules(graph)
        _check_reference(spec, graph, neuron_modules)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(reference, torch.nn.Module):
        with torch.no_grad():
            _, _, rec = copy.deepcopy(reference).reset_state()(torch.as_tensor(x), record=True)
    else:
        _, _, rec = reference.reset_state()(x, record=True)
    layer_of = _layers_of(spec)
    counts = np.zeros(spec.n_neurons)
    for k, mod in enumerate(neuron_modules):
        path = _module_path(reference, getattr(mod, "computational_module", None))
        entry: Any = rec
        try:
            for name in path if path is not None else (None,):
                entry = entry[name]
            spikes = entry["spikes"]
        except (KeyError, TypeError, IndexError):
            raise CalibrationError(
                f"the record of `reference` must hold the spikes of neuron module `{mod.name}`; "
                "it does not (pass `targets=` instead)"
            ) from None
        spikes = spikes.detach().cpu().numpy() if hasattr(spikes, "detach") else np.asarray(spikes)
        members = np.flatnonzero(layer_of == k)
        if spikes.shape[-1] != members.size:
            raise CalibrationError(
                f"neuron module `{mod.name}` must have {members.size} neurons as in `spec`; "
                f"its record has {spikes.shape[-1]}"
            )
        counts[members] = spikes.reshape(-1, members.size).sum(axis=0)
    return counts


def _check_reference(spec: NetworkSpec, graph: Any, neuron_modules: Sequence[Any]) -> None:
    """Raise :class:`CalibrationError` unless ``graph`` is the network ``spec`` was mapped
    from: the same layers (names and sizes), inputs and synapses, and weights equal up to a
    positive factor per target neuron (what calibration changes). Compared by content, so
    a spec saved to JSON and loaded in another session still matches its network."""
    names = layer_names(neuron_modules)
    sizes = tuple(len(m.output_nodes) for m in neuron_modules)
    expected = f"the network `spec` was mapped from (neuron modules {spec.names} of {_layer_sizes(spec)} neurons)"
    if spec.names and (names != spec.names or sizes != _layer_sizes(spec)):
        raise CalibrationError(f"`reference` must be {expected}; got neuron modules {names} of {sizes} neurons")
    # Only the synapses are compared: enough cores that the clustering never refuses.
    mapped = map_graph(graph, Iscale=spec.Iscale, max_cores=max(1, spec.n_neurons))
    if mapped.n_inputs != spec.n_inputs or mapped.n_neurons != spec.n_neurons:
        raise CalibrationError(
            f"`reference` must be {expected}; got {mapped.n_inputs} inputs and {mapped.n_neurons} neurons"
            f" (the spec has {spec.n_inputs} and {spec.n_neurons})"
        )
    for table in ("input_synapses", "recurrent_synapses"):
        if not _same_up_to_target_scale(getattr(spec, table), getattr(mapped, table), spec.n_neurons):
            raise CalibrationError(f"`reference` must be {expected}; its {table.replace('_', ' ')} differ from the spec's")


def _same_up_to_target_scale(a: Synapses, b: Synapses, n_neurons: int, rtol: float = 1e-5) -> bool:
    """The same synapses, with weights equal up to one positive factor per target neuron."""
    if len(a) != len(b):
        return False
    if len(a) == 0:
        return True
    ia = np.lexsort((a.kind, a.source, a.target))
    ib = np.lexsort((b.kind, b.source, b.target))
    if not all(np.array_equal(getattr(a, f)[ia], getattr(b, f)[ib]) for f in ("source", "target", "kind")):
        return False
    target, ratio = a.target[ia], a.weight[ia] / b.weight[ib]
    mean = np.bincount(target, weights=ratio, minlength=n_neurons) / np.maximum(np.bincount(target, minlength=n_neurons), 1)
    return bool(np.all(np.abs(ratio - mean[target]) <= rtol * mean[target]))


def _layer_sizes(spec: NetworkSpec) -> Tuple[int, ...]:
    """Neurons per layer of ``spec``."""
    return tuple(int(n) for n in np.bincount(_layers_of(spec), minlength=max(len(spec.names), 1)))


def _layers_of(spec: NetworkSpec) -> np.ndarray:
    return spec.layer_of_neuron if spec.layer_of_neuron is not None else np.zeros(spec.n_neurons, dtype=np.int64)


# --- agreement measures ------------------------------------------------------------------------


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _neuron_error(target: np.ndarray, counts: np.ndarray) -> float:
    return float(np.abs(counts - target).sum() / max(target.sum(), 1.0))


def _similarity(target: np.ndarray, counts: np.ndarray) -> float:
    """Per-neuron agreement: the correlation, or ``1 - neuron error`` where it is undefined
    (layers of one or two neurons, constant counts)."""
    corr = _correlation(target, counts)
    return corr if np.isfinite(corr) else 1.0 - _neuron_error(target, counts)


# --- evaluating candidates --------------------------------------------------------------------


def _candidate_counts(
    scales: Any, thresholds: Any, params: Any, state: Any, drive: Any, dt: Any, max_spikes: Any
) -> Any:
    """``(C, n)`` spike counts of C candidates for a layer of n neurons (vmapped).

    Args:
        scales: ``(C, n)`` drive scale of every neuron: it multiplies the neuron's input
            drive (``x @ w_in``, linear in the weights) and the recurrent weights onto it.
        thresholds: ``(C,)`` ``Ispkthr`` (A) of the layer.
        params, state: the layer's DynapSim parameters and initial state (batch B).
        drive: ``(B, T, 4 n)`` input drive at scale 1 (channel ``4 j + k``: synapse type k of neuron j,
            a :class:`~rockpool_dynapse2.chip.SynapseType`).
        dt, max_spikes: as for :func:`~rockpool_dynapse2.simulation.jax_module.evolve_arrays`.
    """
    import jax
    import jax.numpy as jnp

    from ...simulation.jax_module import evolve_arrays

    def one(s: Any, thr: Any) -> Any:
        s = jnp.repeat(s, len(SynapseType))
        w_rec = None if params.w_rec is None else params.w_rec * s[None, :]
        p = params._replace(Ispkthr=jnp.full_like(params.Ispkthr, thr), w_rec=w_rec)
        spikes, _, _ = evolve_arrays(p, state, drive * s, dt, max_spikes, signed=False, record=False)
        return spikes.sum(axis=(0, 1))

    return jax.vmap(one)(scales, thresholds)


_JITTED: Dict[str, Callable] = {}


class _LayerProblem:
    """One layer as a stand-alone network that evaluates (threshold, scale) candidates.

    Its inputs are the spec's inputs and the spikes of the other neurons projecting onto
    it, one step late (as recurrent input arrives), so it behaves exactly as in the whole
    network. ``spikes()`` is called for those only if there are any.
    """

    def __init__(self, spec: NetworkSpec, members: np.ndarray, x: np.ndarray, spikes: Callable[[], np.ndarray]):
        import jax
        import jax.numpy as jnp

        if "counts" not in _JITTED:
            _JITTED["counts"] = jax.jit(_candidate_counts)
        n = self.n = members.size
        local = np.full(spec.n_neurons, -1)
        local[members] = np.arange(n)
        ins, rec = spec.input_synapses, spec.recurrent_synapses
        from_in = local[ins.target] >= 0
        onto = local[rec.target] >= 0
        inner = onto & (local[rec.source] >= 0)
        outer = onto & ~inner
        feeders, feeder_index = np.unique(rec.source[outer], return_inverse=True)
        join = lambda *parts: Synapses(*(np.concatenate(a) for a in zip(*parts)))
        layer = NetworkSpec(
            n_inputs=spec.n_inputs + feeders.size,
            n_neurons=n,
            input_synapses=join(
                (ins.source[from_in], local[ins.target[from_in]], ins.kind[from_in], ins.weight[from_in]),
                (spec.n_inputs + feeder_index.ravel(), local[rec.target[outer]], rec.kind[outer], rec.weight[outer]),
            ),
            recurrent_synapses=join(
                (local[rec.source[inner]], local[rec.target[inner]], rec.kind[inner], rec.weight[inner])
            ),
            core_of_neuron=spec.core_of_neuron[members],
            cores=spec.cores,
            output_neurons=np.arange(n),
            Iscale=spec.Iscale,
            dt=spec.dt,
        )
        if feeders.size:
            delayed = np.zeros(x.shape[:2] + (feeders.size,), dtype=np.float32)
            delayed[:, 1:] = spikes()[:, :-1, feeders]
            x = np.concatenate([x, delayed], axis=2)
        linear, neurons = dynapsim_net_from_spec(layer, "jax")
        self.drive = jnp.asarray(x) @ jnp.asarray(linear.weight, dtype=jnp.float32)
        self.params = neurons.parameters_record()
        B = x.shape[0]
        rest = {name: jnp.asarray(getattr(neurons, name)) for name in STATE_NAMES}
        self.state = DynapState(**{k: jnp.broadcast_to(v, (B,) + v.shape) for k, v in rest.items()})
        self.dt = jnp.asarray(neurons.dt, jnp.float32)
        self.max_spikes = jnp.asarray(np.inf, jnp.float32)
        self.max_per_call = max(1, _CALL_ELEMENTS // (B * x.shape[1] * n))

    def counts(self, candidates: Sequence[Tuple[float, Any]], per_call: int) -> np.ndarray:
        """``(len(candidates), n)`` per-neuron counts of ``(threshold, scale)`` candidates
        (a scale is a number or ``(n,)``), ``per_call`` at a time (the last call padded, so
        that each layer compiles once)."""
        per_call = max(1, min(per_call, self.max_per_call))
        out = []
        for i in range(0, len(candidates), per_call):
            run = list(candidates[i : i + per_call])
            used = len(run)
            run += [run[-1]] * (per_call - used)
            thr = np.array([t for t, _ in run], dtype=np.float32)
            scale = np.array([np.broadcast_to(s, (self.n,)) for _, s in run], dtype=np.float32)
            c = _JITTED["counts"](scale, thr, self.params, self.state, self.drive, self.dt, self.max_spikes)
            out.append(np.asarray(c)[:used])
        return np.concatenate(out)


# --- the search ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    Ispkthr: float
    scale: float
    counts: np.ndarray

    def error(self, target: np.ndarray) -> float:
        return abs(relative_error(float(self.counts.sum()), float(target.sum())))


def _preference(candidates: Sequence[_Candidate], target: np.ndarray, tolerance: float) -> List[_Candidate]:
    """Candidates best first: those within ``tolerance`` of the target count before the
    rest (by count error); among them, those within ``_CORRELATION_TIE`` of the best
    per-neuron agreement first, weakest drive first (weights and gains furthest from the
    chip's limits), then the others by agreement."""
    within = [c for c in candidates if c.error(target) <= tolerance]
    outside = sorted((c for c in candidates if c.error(target) > tolerance), key=lambda c: c.error(target))
    if not within:
        return outside
    sim = [_similarity(target, c.counts) for c in within]
    floor = max(sim) - _CORRELATION_TIE
    ties = sorted((c for c, v in zip(within, sim) if v >= floor), key=lambda c: c.scale)
    others = [c for _, c in sorted(((v, i), c) for i, (c, v) in enumerate(zip(within, sim)) if v < floor)][::-1]
    return ties + others + outside


def _next_bracket(scales: np.ndarray, totals: np.ndarray, total: float, top: float) -> Tuple[float, float]:
    """The log-scale bracket around the first scale whose total reaches ``total``; beyond
    the grid (up to ``log(top)``) if none or the first already does."""
    log = np.log(scales)
    width = log[-1] - log[0]
    above = np.flatnonzero(totals >= total)
    if above.size == 0:  # out of reach: look above, up to the largest drive
        hi = min(top, log[-1] + width)
        return (log[-1], hi) if hi > log[-1] else (hi - width / (log.size - 1), hi)
    if above[0] == 0:  # even the weakest overshoots: look below
        return log[0] - width, log[0]
    return log[above[0] - 1], log[above[0]]


def _fit_layer(problem: _LayerProblem, target: np.ndarray, search: "_Search", cap: float) -> _Candidate:
    """Search thresholds x drive scales (up to ``cap``) for the layer; the chosen candidate."""
    thresholds, scale_range, points, keep = search.thresholds, search.scale_range, search.points, search.keep
    top = np.log(cap)
    hi = min(np.log(scale_range[1]), top)
    lo = min(np.log(scale_range[0]), hi - np.log(1e3))
    brackets = {thr: (lo, hi) for thr in thresholds}
    found: Dict[float, List[_Candidate]] = {thr: [] for thr in thresholds}
    per_call = min(len(thresholds), keep) * points
    for r in range(search.rounds):
        grid = {thr: np.exp(np.linspace(a, b, points)) for thr, (a, b) in brackets.items()}
        cands = [(thr, float(s)) for thr, scales in grid.items() for s in scales]
        for (thr, s), c in zip(cands, problem.counts(cands, per_call)):
            found[thr].append(_Candidate(thr, s, c))
        for thr, scales in grid.items():
            totals = np.array([c.counts.sum() for c in found[thr][-points:]])
            brackets[thr] = _next_bracket(scales, totals, float(target.sum()), top)
        if r == 0 and keep < len(thresholds):  # refine the most promising thresholds only
            nearest = [min(cs, key=lambda c: c.error(target)) for cs in found.values()]
            promising = [c.Ispkthr for c in _preference(nearest, target, _KEEP_TOLERANCE)[:keep]]
            brackets = {thr: brackets[thr] for thr in promising}
    return _preference([c for cs in found.values() for c in cs], target, search.tolerance)[0]


def _fit_neurons(
    problem: _LayerProblem, target: np.ndarray, chosen: _Candidate, spread: float, cap: float, points: int, rounds: int
) -> np.ndarray:
    """``(n,)`` per-neuron drive scales within ``spread`` of the layer's (and below ``cap``)
    that match every neuron's count: a multi-section search per neuron, all neurons at
    once (exact for neurons that do not drive each other, a heuristic for those that do)."""
    lo = np.full(problem.n, np.log(chosen.scale / spread))
    hi = np.full(problem.n, np.log(min(chosen.scale * spread, cap)))
    best, best_err = np.full(problem.n, chosen.scale), np.abs(chosen.counts - target)
    cols = np.arange(problem.n)
    for _ in range(rounds):
        grid = np.exp(lo[None] + (hi - lo)[None] * np.linspace(0.0, 1.0, points)[:, None])  # (points, n)
        counts = problem.counts([(chosen.Ispkthr, g) for g in grid], points)
        err = np.abs(counts - target[None])
        j = err.argmin(axis=0)
        better = err[j, cols] < best_err
        best[better], best_err[better] = grid[j, cols][better], err[j, cols][better]
        reached = counts >= target[None]
        first = np.where(reached.any(axis=0), reached.argmax(axis=0), points)
        lower = np.clip(first - 1, 0, points - 1)
        upper = np.clip(first, 0, points - 1)
        lo, hi = np.log(grid[lower, cols]), np.log(grid[upper, cols])
    return best


# --- changing the spec ------------------------------------------------------------------------


def _own_cores(spec: NetworkSpec, layers: Sequence[int], max_cores: int) -> NetworkSpec:
    """Give every calibrated layer cores of its own: one core per (old core, layer) pair.

    Raises:
        CoreCapacityError: more pairs than ``max_cores``.
    """
    layer_of = _layers_of(spec)
    key = np.where(np.isin(layer_of, layers), layer_of, -1)
    pairs = np.stack([spec.core_of_neuron, key], axis=1)
    _, first, label = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    if first.size > max_cores:
        names = ", ".join(repr(spec.names[k]) if k < len(spec.names) else str(k) for k in layers)
        where = f"calibrated network (one core per core and calibrated layer; layers {names})"
        raise CoreCapacityError(Violation("cores", max_cores, int(first.size), where))
    order = np.argsort(first)  # cores numbered by their first neuron
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    cores = tuple(spec.cores[spec.core_of_neuron[first[i]]] for i in order)
    return spec.replace(core_of_neuron=rank[label.ravel()], cores=cores)


def _headroom(spec: NetworkSpec, members: np.ndarray, max_weight_current: float) -> Tuple[np.ndarray, float]:
    """``(weight (n,), gain)``: how far the weights onto each neuron of the layer, and the
    synaptic gains of the layer's cores, can grow within the chip's range (at least 1)."""
    largest = np.zeros(spec.n_neurons)
    for t in (spec.input_synapses, spec.recurrent_synapses):
        np.maximum.at(largest, t.target, t.weight)
    largest = largest[members]
    weight = np.where(largest > 0, max_weight_current / (spec.Iscale * np.where(largest > 0, largest, 1.0)), np.inf)
    cores = [spec.cores[c] for c in np.unique(spec.core_of_neuron[members])]
    gain = min(_MAX_GAIN[g] / getattr(c, g) for c in cores for g in _GAINS)
    return np.maximum(weight, 1.0), max(gain, 1.0)


def _apply(
    spec: NetworkSpec, members: np.ndarray, Ispkthr: float, scales: np.ndarray, weight_room: np.ndarray
) -> Tuple[NetworkSpec, float]:
    """The spec with the layer's threshold and per-neuron drive scales: weights scaled as far
    as they can go, the common rest on the synaptic gains of the layer's cores.

    Returns:
        ``(spec, gain_scale)``.
    """
    gain = float(max(1.0, np.max(scales / weight_room)))
    factor = np.ones(spec.n_neurons)
    factor[members] = scales / gain
    used = set(np.unique(spec.core_of_neuron[members]).tolist())
    cores = tuple(
        c.replace(Ispkthr=Ispkthr, **{g: getattr(c, g) * gain for g in _GAINS}) if i in used else c
        for i, c in enumerate(spec.cores)
    )
    scaled = lambda t: t.replace(weight=t.weight * factor[t.target])
    spec = spec.replace(
        input_synapses=scaled(spec.input_synapses), recurrent_synapses=scaled(spec.recurrent_synapses), cores=cores
    )
    return spec, gain


# --- the steps of calibrate_to_reference ------------------------------------------------------


@dataclass(frozen=True)
class _Search:
    """The validated search settings of :func:`calibrate_to_reference` (see its arguments)."""

    thresholds: Tuple[float, ...]
    scale_range: Tuple[float, float]
    points: int
    rounds: int
    keep: int
    tolerance: float
    per_neuron: bool
    neuron_spread: float


@dataclass(frozen=True)
class _LayerFit:
    """What the search chose for one layer: the candidate, per-neuron scales and gain scale."""

    best: _Candidate
    scales: np.ndarray
    gain: float


def _search_settings(
    thresholds: Sequence[float],
    scale_range: Tuple[float, float],
    points: int,
    rounds: int,
    keep: int,
    tolerance: float,
    per_neuron: bool,
    neuron_spread: float,
) -> _Search:
    """The search settings, checked.

    Raises:
        ParameterValueError: empty or non-positive thresholds, a bad scale range, too few
            points, rounds or kept thresholds, or a neuron spread below 1.
    """
    currents = real_array("thresholds", thresholds, shape=(None,), expected="(n,), a sequence of currents", low=0.0,
                          low_open=True, unit="amperes")
    if currents.size == 0:
        raise ParameterValueError("thresholds", "a non-empty sequence of positive currents (A)", currents)
    bracket = real_array("scale_range", scale_range, shape=(2,), expected="(low, high)", low=0.0, low_open=True)
    if not bracket[0] < bracket[1]:
        raise ParameterValueError("scale_range", "(low, high) with 0 < low < high < inf", bracket)
    points, rounds, keep = integer("points", points, low=3), integer("rounds", rounds, low=1), integer("keep", keep, low=1)
    tolerance = real_number("tolerance", tolerance, low=0.0, what="a relative count error")
    neuron_spread = real_number("neuron_spread", neuron_spread, low=1.0, what="a factor")
    lo, hi = (float(v) for v in bracket)
    return _Search(tuple(float(t) for t in currents), (lo, hi), points, rounds, keep, tolerance, flag("per_neuron", per_neuron),
                   neuron_spread)


def _layer_names(spec: NetworkSpec) -> Tuple[str, ...]:
    """The spec's layer names; ``("network",)`` for a spec without any."""
    return spec.names or ("network",)


def _layers_to_fit(spec: NetworkSpec, layers: Optional[Sequence[int]]) -> List[int]:
    """The sorted layer indices to fit (default: all).

    Raises:
        ParameterValueError: an index that is not one of the spec's layers.
    """
    n_layers = len(_layer_names(spec))
    if layers is None:
        return list(range(n_layers))
    chosen = indices("layers", layers, high=n_layers, shape=(None,), expected="(n,), a sequence of layer indices",
                     rule=f"indices into spec.names, in 0..{n_layers - 1}")
    return sorted({int(k) for k in chosen})


def _target_counts(spec: NetworkSpec, reference_net: Any, x: np.ndarray, targets: Optional[np.ndarray]) -> np.ndarray:
    """``(N,)`` target spike counts: ``targets``, else the reference network's on ``x``.

    Raises:
        CalibrationError: neither a reference nor targets.
        ShapeError: targets of the wrong shape.
    """
    if targets is None:
        if reference_net is None:
            raise CalibrationError("`reference_net` or `targets` must be given; got neither")
        targets = reference_spike_counts(spec, reference_net, x)
    return real_array("targets", targets, shape=(spec.n_neurons,), expected=f"({spec.n_neurons},), one count per neuron", low=0.0)


def _fit_layers(
    spec: NetworkSpec,
    x: np.ndarray,
    targets: np.ndarray,
    layers: Sequence[int],
    search: _Search,
    max_weight_current: float,
) -> Tuple[NetworkSpec, Dict[int, _LayerFit]]:
    """Fit the layers in order, each on the spec with the layers before it fitted.

    Returns:
        ``(spec, {layer: fit})`` (layers without neurons are skipped).
    """
    layer_of = _layers_of(spec)
    fitted: Dict[int, _LayerFit] = {}
    for k in layers:
        members = np.flatnonzero(layer_of == k)
        if members.size == 0:
            continue
        problem = _LayerProblem(spec, members, x, functools.partial(_spikes, spec, x))
        weight_room, gain_room = _headroom(spec, members, max_weight_current)
        cap = float(weight_room.min()) * gain_room
        target = targets[members]
        best = _fit_layer(problem, target, search, cap)
        scales = np.full(members.size, best.scale)
        if search.per_neuron:
            scales = _fit_neurons(problem, target, best, search.neuron_spread, cap, search.points, search.rounds)
        spec, gain = _apply(spec, members, best.Ispkthr, scales, weight_room)
        fitted[k] = _LayerFit(best, scales, gain)
    return spec, fitted


def _layer_row(spec: NetworkSpec, k: int, fit: _LayerFit, targets: np.ndarray, final: np.ndarray) -> LayerCalibration:
    """The report's row of layer ``k``: its fit and how the final counts agree with the targets."""
    members = np.flatnonzero(_layers_of(spec) == k)
    a, b = targets[members], final[members]
    best, scales = fit.best, fit.scales
    return LayerCalibration(
        layer=k,
        name=_layer_names(spec)[k],
        n_neurons=int(members.size),
        target=float(a.sum()),
        achieved=float(b.sum()),
        correlation=_correlation(a, b),
        neuron_error=_neuron_error(a, b),
        Ispkthr=best.Ispkthr,
        drive_scale=best.scale,
        gain_scale=fit.gain,
        neuron_scale_range=(float(scales.min() / best.scale), float(scales.max() / best.scale)),
    )


# --- entry points ------------------------------------------------------------------------------


def calibrate_to_reference(
    spec: NetworkSpec,
    reference_net: Any,
    x: Any,
    *,
    targets: Optional[np.ndarray] = None,
    layers: Optional[Sequence[int]] = None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    scale_range: Tuple[float, float] = (1e-3, 1e4),
    points: int = 12,
    rounds: int = 3,
    keep: int = 3,
    tolerance: float = 0.02,
    per_neuron: bool = False,
    neuron_spread: float = 10.0,
    max_cores: int = GEOMETRY.n_cores,
    max_weight_current: float = MAX_WEIGHT_CURRENT,
) -> Tuple[NetworkSpec, CalibrationReport]:
    """Fit each layer's drive scale and spiking threshold to a reference network's spike counts.

    Args:
        spec: an unquantized spec (calibrate before quantizing).
        reference_net: the Rockpool network ``spec`` was mapped from (JAX or torch); not
            needed when ``targets`` is given.
        x: calibration input ``(B, T, spec.n_inputs)`` or ``(T, n_inputs)``, spikes per step
            (numpy, jax or torch).
        targets: ``(N,)`` reference spike counts of every neuron on ``x`` (default:
            :func:`reference_spike_counts` of ``reference_net``).
        layers: indices into ``spec.names`` of the layers to fit (default: all); fitted
            in increasing order.
        thresholds: candidate ``Ispkthr`` (A).
        scale_range: initial bracket of the drive scale (the search leaves it when the
            target lies outside, up to the chip's largest weight x gain).
        points: scales evaluated per threshold and round.
        rounds: rounds of the multi-section search (each narrows ``points - 1``-fold).
        keep: thresholds refined after the first round.
        tolerance: relative count error within which candidates compete on correlation.
        per_neuron: also fit one drive scale per neuron, within ``neuron_spread`` of the
            layer's, to every neuron's count.
        neuron_spread: the largest factor between a neuron's scale and its layer's.
        max_cores: cores available; each calibrated layer needs cores of its own.
        max_weight_current: the largest synaptic weight current (A); larger drives go onto
            the synaptic gains ``Igain_*``, up to the top of their bias generator range.

    Returns:
        ``(calibrated spec, report)``.

    Raises:
        CalibrationError: a quantized spec, neither a reference nor targets, or a
            reference that is not the spec's network.
        CoreCapacityError: the layers need more cores of their own than ``max_cores``.
        ShapeError, ParameterValueError: a calibration input or targets of the wrong
            shape, or bad search settings.
    """
    start = time.perf_counter()
    instance("spec", spec, NetworkSpec, "a NetworkSpec (from mapping.mapper)")
    max_cores = integer("max_cores", max_cores, low=1)
    max_weight_current = real_number("max_weight_current", max_weight_current, low=0.0, low_open=True, unit="amperes")
    if spec.quantized:
        raise CalibrationError("`spec` must be unquantized (calibrate before quantizing); got a quantized spec")
    x = _as_input(x, spec.n_inputs)
    search = _search_settings(thresholds, scale_range, points, rounds, keep, tolerance, per_neuron, neuron_spread)
    layers = _layers_to_fit(spec, layers)
    targets = _target_counts(spec, reference_net, x, targets)

    calibrated = np.isin(_layers_of(spec), layers)
    uncalibrated_total = float(_spikes(spec, x).sum(axis=(0, 1))[calibrated].sum())
    spec = _own_cores(spec, layers, max_cores)
    spec, fitted = _fit_layers(spec, x, targets, layers, search, max_weight_current)
    final = _spikes(spec, x).sum(axis=(0, 1))
    report = CalibrationReport(
        layers=tuple(_layer_row(spec, k, fit, targets, final) for k, fit in fitted.items()),
        correlation=_correlation(targets[calibrated], final[calibrated]),
        uncalibrated_total=uncalibrated_total,
        input_shape=tuple(int(v) for v in x.shape),
        per_neuron=bool(per_neuron),
        n_cores=spec.n_cores,
        seconds=time.perf_counter() - start,
    )
    return spec, report


def calibrate_graph(spec: NetworkSpec, graph: Any, x: Any, **kwargs: Any) -> Tuple[NetworkSpec, CalibrationReport]:
    """Calibrate the LIF layers of ``spec = mapper(graph)`` against the network the graph
    was made from (``graph.computational_module``, set by ``net.as_graph()``).

    Args:
        spec: the mapped spec.
        graph: the graph it was mapped from.
        x: calibration input ``(B, T, n_inputs)``.
        **kwargs: keyword arguments of :func:`calibrate_to_reference`.

    Raises:
        CalibrationError: a graph without ``computational_module`` or without LIF neurons.
    """
    from rockpool.graph import LIFNeuronWithSynsRealValue

    instance("spec", spec, NetworkSpec, "a NetworkSpec (from mapping.mapper)")
    reference = getattr(graph, "computational_module", None)
    if reference is None:
        raise CalibrationError(
            "`graph` must come from `net.as_graph()` (calibration runs `graph.computational_module`); it has none"
        )
    modules = _graph_neuron_modules(graph)
    lif = [k for k, m in enumerate(modules) if isinstance(m, LIFNeuronWithSynsRealValue)]
    if not lif:
        raise CalibrationError("`graph` must contain LIF neurons to calibrate (DYNAP-SE2 neurons need none); got none")
    x = _as_input(x, spec.n_inputs)
    targets = reference_spike_counts(spec, reference, x, neuron_modules=modules)
    return calibrate_to_reference(spec, reference, x, targets=targets, layers=lif, **kwargs)


def map_and_calibrate(
    graph: Any, x: Any, *, calibration: Optional[Dict[str, Any]] = None, **mapper_kwargs: Any
) -> Tuple[NetworkSpec, CalibrationReport]:
    """``mapper(graph)``, then :func:`calibrate_graph` on ``x``: the spec and its report.

    Args:
        graph: ``net.as_graph()`` of a network with LIF neurons.
        x: calibration input ``(B, T, n_inputs)``.
        calibration: keyword arguments of :func:`calibrate_to_reference`.
        **mapper_kwargs: keyword arguments of :func:`~rockpool_dynapse2.mapping.graph_map.map_graph`
            (as of :func:`~rockpool_dynapse2.mapping.mapper.mapper`; its ``max_cores`` applies
            to the calibration too).
    """
    if calibration is not None:
        mapping("calibration", calibration, "a dict of calibrate_to_reference's keyword arguments (or None)")
    spec = map_graph(graph, **mapper_kwargs)
    options = dict(calibration or {})
    if "max_cores" in mapper_kwargs:
        options.setdefault("max_cores", mapper_kwargs["max_cores"])
    return calibrate_graph(spec, graph, x, **options)
