"""Post-training weight quantization for the DYNAP-SE2: 4 base currents per core, 4-bit masks.

A DYNAP-SE2 core has four base weight currents :math:`I_{w,0..3} \\ge 0`
(``SYAM_W0_P``..``SYAM_W3_P``); every synapse onto a neuron of the core holds a 4-bit mask
``m`` and contributes

:math:`|w| = \\sum_{k=0}^{3} \\mathrm{bit}_k(m)\\, I_{w,k} / I_{scale}`,

with the sign given by its dendrite (AMPA/NMDA excitatory, GABA/SHUNT inhibitory). Each
core can therefore express 16 magnitudes, always including 0, and all synapses onto one
core (input and recurrent) share them.

* :func:`quantize_magnitudes` fits bases and masks to any array of non-negative
  magnitudes, minimising the squared reconstruction error;
* :func:`quantize_weights` applies it per core to a network's signed input and recurrent
  weights and returns masks, dendrite types, bases in weight units, amperes and bias codes.

The algorithm and its guarantees are in ``docs/quantization.md``; the numerics in
:mod:`._subset_sum`. Pure numpy and scipy: no jax or torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping, Optional

import numpy as np

from ..chip import BASE_WEIGHT_BIASES, SIGNED_EXCITATORY, SIGNED_INHIBITORY, Dendrite, SynapseType
from ..errors import ParameterValueError, ShapeError, Shown
from ..parameters.validate import flag, integer, real_array, real_number, seed as check_seed
from ..parameters import BiasCode, code_from_current, current_from_code, current_range
from ._subset_sum import (
    SortedMagnitudes,
    assign_masks,
    best_binary_grid,
    bin_quantiles,
    exact_bases,
    fit_bases,
    optimal_levels,
    polish,
    start_from_levels,
    subset_masks,
)

__all__ = [
    "MagnitudeQuantization",
    "WeightQuantization",
    "quantize_magnitudes",
    "quantize_weights",
    "BASE_WEIGHT_PARAMETERS",
    "check_core_map",
]

BASE_WEIGHT_PARAMETERS = tuple(p.name for p in BASE_WEIGHT_BIASES)
"""Chip parameters of the base weight currents ``Iw_0..Iw_3``; base ``k`` is mask bit ``k``
(the names of :data:`~rockpool_dynapse2.chip.BASE_WEIGHT_BIASES`)."""

_EXCITATORY = tuple(s.dendrite for s in SynapseType if s.is_excitatory)
_INHIBITORY = tuple(s.dendrite for s in SynapseType if not s.is_excitatory)

_MAX_BASES = 7  # masks are int8
_DEFAULTS = {"lower_bound_max_unique": 65536, "n_random": 4096, "n_starts": 8}


@dataclass(frozen=True)
class MagnitudeQuantization:
    """Result of :func:`quantize_magnitudes` (arrays are read-only).

    Attributes:
        bases: shape (n_bases,), float64, >= 0, in the units of the magnitudes; the
            used bases ascending, then unused ones: a base of 0 is unused (no mask
            selects it).
        masks: int8, shape of the magnitudes, in ``0 .. 2**n_bases - 1``; bit ``k``
            selects ``bases[k]``. A magnitude of 0 always has mask 0.
        quantized: shape and floating dtype of the magnitudes (float64 for other
            dtypes): ``levels[masks]``.
        error: relative Frobenius error ``||q - x|| / ||x||`` (0 when ``x`` is all zero).
        lower_bound: relative error of the optimal ``2**n_bases``-level scalar quantizer
            with one level at 0 (no choice of bases can do better), or None if not
            computed.
        lower_bound_exact: False when the lower bound was computed on quantile bins
            (more distinct values than ``lower_bound_max_unique``): then it is an estimate.
        binary_grid_error: relative error of the best binary-weighted bases
            ``s * (1, 2, 4, 8, ...)`` (the uniform grid ``s * arange(2**n_bases)``);
            ``error`` never exceeds it.
    """

    bases: np.ndarray
    masks: np.ndarray
    quantized: np.ndarray
    error: float
    lower_bound: Optional[float]
    lower_bound_exact: bool
    binary_grid_error: float

    @property
    def levels(self) -> np.ndarray:
        """Shape (2**n_bases,): the magnitude of every mask, ``levels[m] = sum_k bit_k(m) bases[k]``."""
        return subset_masks(self.bases.size) @ self.bases


def _frozen(arr: Optional[np.ndarray]) -> Optional[np.ndarray]:
    if arr is not None:
        arr.setflags(write=False)
    return arr


def _as_float_array(name: str, x: Any, low: Optional[float] = None) -> np.ndarray:
    """``x`` as a finite float64 array of real numbers (``>= low`` if given), else a named error."""
    return real_array(name, x, low=low, what="an array of real numbers")


def _float_dtype(x: Any) -> np.dtype:
    """The caller's floating dtype (float32 stays float32), float64 for anything else."""
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None and np.dtype(dtype).kind == "f" else np.dtype(np.float64)


def _search_scale(x: np.ndarray) -> float:
    """What to divide magnitudes by before the search: the search is scale-invariant, but
    its sums of squares under- or overflow for magnitudes far from 1 (1e-300, 1e300), so
    those are divided by the largest one (magnitudes in the usual range take the search
    unchanged, bit for bit)."""
    largest = float(np.abs(x).max()) if x.size else 0.0
    return largest if largest > 0 and not 1e-100 < largest < 1e100 else 1.0


def quantize_magnitudes(
    magnitudes: Any,
    *,
    n_bases: int = 4,
    seed: int = 0,
    lower_bound: bool = True,
    lower_bound_max_unique: int = _DEFAULTS["lower_bound_max_unique"],
    n_random: int = _DEFAULTS["n_random"],
    n_starts: int = _DEFAULTS["n_starts"],
) -> MagnitudeQuantization:
    """Non-negative bases and masks minimising the squared error of non-negative magnitudes.

    Finds ``bases >= 0`` (shape (n_bases,)) and a mask per entry so that
    :math:`\\sum_i (x_i - \\sum_k \\mathrm{bit}_k(m_i) b_k)^2` is as small as the search
    finds. The search (see ``docs/quantization.md``) runs on the sorted distinct values
    with their counts: an exact-representation search, then local descent
    (nearest-level assignment alternating with an NNLS refit of the bases) from the best
    binary grid, from a fit to the optimal unconstrained levels and from the best of
    ``2 * n_random`` random starts, then perturbation rounds; finally a descent in the
    caller's units. Deterministic for a ``seed``.

    Guarantees:

    * ``error <= binary_grid_error``: the best binary grid ``s * (1, 2, 4, 8)`` (the
      uniform grid ``s * arange(16)``) is a start and no step increases the error;
    * ``error >= lower_bound`` (the optimal 16-level quantizer with a level at 0);
    * exactness: if every magnitude is a subset sum of some ``n_bases <= 4``
      non-negative bases (up to ``1e-10 * max``), such bases are found and the result
      is exact to rounding, also when no base occurs alone among the magnitudes. For
      ``n_bases > 4`` only a greedy construction is tried, which needs every base to
      occur as a magnitude.

    Args:
        magnitudes: non-negative finite values, any shape (e.g. ``|W|``), any unit.
        n_bases: number of bases (4 on the DYNAP-SE2), 1..7.
        seed: seed of the random starts.
        lower_bound: compute :attr:`MagnitudeQuantization.lower_bound` (an exact dynamic
            programme, O(2**n_bases * U log U) for U distinct values: about 0.3 s for
            65536 values) and use its levels as one more start.
        lower_bound_max_unique: above this many distinct values the lower bound runs on
            that many quantile bins and is only an estimate (flagged).
        n_random: random starts evaluated (twice this many: uniform and log-uniform).
        n_starts: best random starts that are refined by local descent.

    Returns:
        :class:`MagnitudeQuantization`.

    Raises:
        ParameterValueError: for negative, NaN or infinite magnitudes, or bad options.

    Examples:
        >>> q = quantize_magnitudes(np.array([[0.0, 1.0], [2.0, 3.0]]))
        >>> q.masks.tolist(), float(q.error) < 1e-12
        ([[0, 1], [2, 3]], True)
    """
    n_bases = integer("n_bases", n_bases, low=1, high=_MAX_BASES)
    seed = check_seed("seed", seed)
    lower_bound = flag("lower_bound", lower_bound)
    lower_bound_max_unique = integer("lower_bound_max_unique", lower_bound_max_unique, low=2**n_bases)
    n_random = integer("n_random", n_random, low=1)
    n_starts = integer("n_starts", n_starts, low=1)
    x = _as_float_array("magnitudes", magnitudes, low=0.0)
    scale = _search_scale(x)
    result = _quantize(x / scale, n_bases, seed, lower_bound, lower_bound_max_unique, n_random, n_starts)
    if scale != 1.0:
        bases, quantized = result.bases * scale, result.quantized * scale
        result = dataclasses.replace(result, bases=_frozen(bases), quantized=_frozen(quantized))
    dtype = _float_dtype(magnitudes)
    if dtype != result.quantized.dtype:
        result = dataclasses.replace(result, quantized=_frozen(result.quantized.astype(dtype)))
    return result


def _quantize(
    x: np.ndarray,
    n_bases: int,
    seed: int,
    want_bound: bool,
    max_unique: int,
    n_random: int,
    n_starts: int,
) -> MagnitudeQuantization:
    bits = subset_masks(n_bases)
    flat = x.ravel()
    v, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    c = counts.astype(np.float64)
    nonzero = v > 0
    vn, cn = v[nonzero], c[nonzero]
    total = float(np.sum(c * v * v))
    if vn.size == 0:  # all zero (or empty)
        zero = np.zeros(n_bases)
        return MagnitudeQuantization(
            _frozen(zero), _frozen(np.zeros(x.shape, np.int8)), _frozen(np.zeros(x.shape)), 0.0,
            0.0 if want_bound else None, True, 0.0,
        )
    rel = lambda sse: float(np.sqrt(max(sse, 0.0) / total))  # noqa: E731

    # Work scaled to max == 1 (search); the final polish runs in the caller's units.
    scale = float(vn[-1])
    data = SortedMagnitudes(vn / scale, cn)
    bound, bound_exact, starts = None, True, []
    if want_bound:
        binned = data.size > max_unique
        opt = optimal_levels(bin_quantiles(data, max_unique) if binned else data, 2**n_bases)
        bound, bound_exact = rel(opt.sse * scale**2), not binned
        start = start_from_levels(opt, bits, seed)
        starts = [] if start is None else [start]

    binary_b, _ = best_binary_grid(data, bits)
    binary = binary_b * scale
    binary_sse = float(cn @ (vn - (bits @ binary)[assign_masks(vn, binary, bits)]) ** 2)
    exact_b = exact_bases(vn, n_bases)
    exact = None if exact_b is None else polish(vn, cn, exact_b, bits)
    if exact is not None and exact[1] <= 1e-26 * total:
        bases = exact[0]  # exact to rounding: the fewest bases, no search needed
    else:
        rng = np.random.default_rng(seed)
        searched_b, _ = fit_bases(data, bits, rng, [binary_b] + starts, n_random=n_random, n_starts=n_starts)
        # Final candidates, compared by their error summed directly in the caller's units.
        candidates = [polish(vn, cn, searched_b * scale, bits), polish(vn, cn, binary, bits)]
        if exact is not None:
            candidates.append(exact)
        bases, _ = min(candidates, key=lambda r: r[1])

    bases = np.maximum(bases, 0.0)
    bases = bases[np.lexsort((bases, bases == 0))]  # ascending, unused (zero) bases last
    masks_v = assign_masks(v, bases, bits)
    levels = bits @ bases
    quantized = levels[masks_v][inverse].reshape(x.shape)
    error = rel(float(c @ (v - levels[masks_v]) ** 2))
    return MagnitudeQuantization(
        bases=_frozen(bases),
        masks=_frozen(masks_v[inverse].reshape(x.shape).astype(np.int8)),
        quantized=_frozen(quantized),
        error=error,
        lower_bound=bound,
        lower_bound_exact=bound_exact,
        binary_grid_error=rel(binary_sse),
    )



@dataclass(frozen=True)
class WeightQuantization:
    """Result of :func:`quantize_weights`: a network's weights as the chip stores them.

    ``N_in`` inputs, ``N`` neurons, ``n_cores = max(core_of_neuron) + 1`` cores (a core
    with no neuron has bases 0 and error 0). Arrays are read-only.

    Attributes:
        w_in: (N_in, N), the quantized signed input weights, in the input's units
            (multiples of ``Iscale``) and floating dtype (float64 for other dtypes):
            ``sign(w) * levels[core][mask]``.
        w_rec: (N, N) quantized recurrent weights, or None.
        masks_in: (N_in, N) int8 masks 0..15 (bit ``k`` selects base ``k``).
        masks_rec: (N, N) int8 masks, or None.
        dendrites_in: (N_in, N) int16 :class:`~rockpool_dynapse2.chip.Dendrite` values:
            the excitatory type where the quantized weight is > 0, the inhibitory type
            where it is < 0, ``Dendrite.NONE`` where it is 0 (no CAM entry needed).
        dendrites_rec: (N, N) int16 dendrite values, or None.
        core_of_neuron: (N,) int64, the core of every neuron (post-synaptic column).
        bases: (n_cores, 4) float64 >= 0, in weight units; per core ascending, unused
            (zero) bases last.
        bases_current: (n_cores, 4) float64, ``bases * Iscale`` (A).
        bias_codes: ``{core: {"SYAM_W0_P": BiasCode, ..., "SYAM_W3_P": BiasCode}}`` for
            every core 0..n_cores-1: the nearest bias-generator code of each base current
            (clipped to the branch's range). A base of 0 is unused (no mask selects it)
            and takes the lowest code.
        code_currents: (n_cores, 4) float64, the currents (A) those codes produce.
        error_per_core: (n_cores,) relative Frobenius error of each core's columns
            (input and recurrent together); 0 for an all-zero core.
        error: relative Frobenius error over both matrices.
        lower_bound_per_core: (n_cores,) relative error of the optimal 16-level quantizer
            (with a level at 0) of each core: no choice of bases does better.
        lower_bound: the same over both matrices.
        Iscale: the current (A) of a weight of 1.0.
    """

    w_in: np.ndarray
    w_rec: Optional[np.ndarray]
    masks_in: np.ndarray
    masks_rec: Optional[np.ndarray]
    dendrites_in: np.ndarray
    dendrites_rec: Optional[np.ndarray]
    core_of_neuron: np.ndarray
    bases: np.ndarray
    bases_current: np.ndarray
    bias_codes: Mapping[int, Mapping[str, BiasCode]]
    code_currents: np.ndarray
    error_per_core: np.ndarray
    error: float
    lower_bound_per_core: np.ndarray
    lower_bound: float
    Iscale: float


def check_core_map(core_of_neuron: Any, n: int) -> np.ndarray:
    """``core_of_neuron`` as ``(N,)`` int64: non-negative integers, one per neuron.

    Raises:
        ParameterValueError: not ``(N,)`` integers, negative, NaN or infinite.
    """
    arr = real_array("core_of_neuron", core_of_neuron, low=0.0, what="an array of integers")
    if arr.shape != (n,):
        raise ParameterValueError("core_of_neuron", f"an array of shape ({n},) (one core per neuron)", Shown(f"shape {arr.shape}"))
    bad = arr != np.round(arr)
    if bad.any():
        raise ParameterValueError("core_of_neuron", "integers", arr, bad)
    return arr.astype(np.int64)


def _check_dendrite(name: str, value: Optional[Dendrite], default: Dendrite, valid) -> Dendrite:
    if value is None:
        return default
    if not isinstance(value, Dendrite) or value not in valid:
        choices = ", ".join(f"Dendrite.{d.name}" for d in valid)
        raise ParameterValueError(name, f"one of {choices}", value)
    return value


def _dendrites(q: np.ndarray, excitatory: Dendrite, inhibitory: Dendrite) -> np.ndarray:
    out = np.full(q.shape, int(Dendrite.NONE), np.int16)
    out[q > 0] = int(excitatory)
    out[q < 0] = int(inhibitory)
    return out


def quantize_weights(
    w_in: Any,
    w_rec: Any,
    core_of_neuron: Any,
    *,
    Iscale: float,
    excitatory: Optional[Dendrite] = None,
    inhibitory: Optional[Dendrite] = None,
    seed: int = 0,
) -> WeightQuantization:
    """Quantize a network's signed weights per core to 4 shared bases and 4-bit masks.

    For each core, the magnitudes of every column (post-synaptic neuron) of the core in
    ``w_in`` and ``w_rec`` together are fitted by :func:`quantize_magnitudes`; the sign
    of each weight selects its dendrite. A weight whose magnitude is nearest to level 0
    is dropped (mask 0, ``Dendrite.NONE``). A core whose weights take more than 16
    distinct magnitudes is approximated in the least-squares sense.

    Args:
        w_in: (N_in, N) input weights (pre, post), signed, in units of ``Iscale``.
        w_rec: (N, N) recurrent weights (pre, post), or None.
        core_of_neuron: (N,) non-negative integers, the core of each neuron; cores need
            not be contiguous and there may be any number of them.
        Iscale: current (A) of a weight of 1.0 (``DEFAULTS.Iscale`` is 10 nA).
        excitatory: dendrite of positive weights: ``Dendrite.AMPA`` (default) or
            ``Dendrite.NMDA``.
        inhibitory: dendrite of negative weights: ``Dendrite.GABA`` (default) or
            ``Dendrite.SHUNT``.
        seed: seed of the search (deterministic for a seed).

    Returns:
        :class:`WeightQuantization`.

    Raises:
        ShapeError: if ``w_in`` is not 2-D or ``w_rec`` is not (N, N).
        ParameterValueError: for NaN or infinite weights (naming the array and the
            index), a ``core_of_neuron`` of the wrong length, non-integer or negative, a
            non-positive ``Iscale`` or a dendrite of the wrong kind.

    Examples:
        >>> w_in = np.array([[0.5, -1.0], [0.0, 1.5]])
        >>> q = quantize_weights(w_in, None, [0, 0], Iscale=1e-8)
        >>> q.w_in.tolist(), q.error < 1e-12
        ([[0.5, -1.0], [0.0, 1.5]], True)
    """
    excitatory = _check_dendrite("excitatory", excitatory, SIGNED_EXCITATORY.dendrite, _EXCITATORY)
    inhibitory = _check_dendrite("inhibitory", inhibitory, SIGNED_INHIBITORY.dendrite, _INHIBITORY)
    seed = check_seed("seed", seed)
    Iscale = real_number("Iscale", Iscale, low=0.0, low_open=True, unit="amperes")

    dtype_in, dtype_rec = _float_dtype(w_in), _float_dtype(w_rec)
    w_in = _as_float_array("w_in", w_in)
    if w_in.ndim != 2:
        raise ShapeError("w_in", "(N_in, N)", w_in.shape)
    n = w_in.shape[1]
    if w_rec is not None:
        w_rec = _as_float_array("w_rec", w_rec)
        if w_rec.shape != (n, n):
            raise ShapeError("w_rec", f"(N, N) = ({n}, {n}) to match w_in's N", w_rec.shape)
    cores = check_core_map(core_of_neuron, n)
    n_cores = int(cores.max()) + 1 if n else 0
    n_bases = len(BASE_WEIGHT_BIASES)

    n_in = w_in.shape[0]
    stacked = w_in if w_rec is None else np.concatenate([w_in, w_rec], axis=0)
    masks = np.zeros(stacked.shape, np.int8)
    quantized = np.zeros(stacked.shape)
    bases = np.zeros((n_cores, n_bases))
    sse = np.zeros(n_cores)
    norm2 = np.zeros(n_cores)
    bound_sse = np.zeros(n_cores)
    scale = _search_scale(stacked)  # the results are scaled back
    for core in range(n_cores):
        cols = np.flatnonzero(cores == core)
        if cols.size == 0:
            continue
        block = stacked[:, cols] / scale
        result = _quantize(
            np.abs(block), n_bases, seed, True,
            _DEFAULTS["lower_bound_max_unique"], _DEFAULTS["n_random"], _DEFAULTS["n_starts"],
        )
        masks[:, cols] = result.masks
        quantized[:, cols] = np.sign(block) * result.quantized * scale
        bases[core] = result.bases * scale
        norm2[core] = float(np.sum(block * block))
        sse[core] = result.error**2 * norm2[core]
        bound_sse[core] = result.lower_bound**2 * norm2[core]

    safe = np.where(norm2 > 0, norm2, 1.0)
    total = float(norm2.sum())
    bases_current = bases * Iscale
    codes, code_currents = {}, np.zeros_like(bases_current)
    for core in range(n_cores):
        per_core = {}
        for k, name in enumerate(BASE_WEIGHT_PARAMETERS):
            current = bases_current[core, k] if bases_current[core, k] > 0 else current_range(name)[0]
            per_core[name] = code_from_current(name, float(current), clip=True)
            code_currents[core, k] = current_from_code(name, per_core[name])
        codes[core] = MappingProxyType(per_core)

    dend = _dendrites(quantized, excitatory, inhibitory)
    split = lambda a: (a[:n_in], a[n_in:] if w_rec is not None else None)  # noqa: E731
    (q_in, q_rec), (m_in, m_rec), (d_in, d_rec) = split(quantized), split(masks), split(dend)
    q_in = q_in.astype(dtype_in, copy=False)
    q_rec = None if q_rec is None else q_rec.astype(dtype_rec, copy=False)
    return WeightQuantization(
        w_in=_frozen(q_in),
        w_rec=_frozen(q_rec),
        masks_in=_frozen(m_in),
        masks_rec=_frozen(m_rec),
        dendrites_in=_frozen(d_in),
        dendrites_rec=_frozen(d_rec),
        core_of_neuron=_frozen(cores),
        bases=_frozen(bases),
        bases_current=_frozen(bases_current),
        bias_codes=MappingProxyType(codes),
        code_currents=_frozen(code_currents),
        error_per_core=_frozen(np.sqrt(sse / safe)),
        error=float(np.sqrt(sse.sum() / total)) if total > 0 else 0.0,
        lower_bound_per_core=_frozen(np.sqrt(bound_sse / safe)),
        lower_bound=float(np.sqrt(bound_sse.sum() / total)) if total > 0 else 0.0,
        Iscale=Iscale,
    )
