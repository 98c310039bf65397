"""Numerical core of the weight quantization: subset-sum level fitting and its lower bound.

All functions work on the *sorted distinct non-zero* magnitudes ``v`` (shape (U,)) with
their multiplicities ``c`` (shape (U,), float): a zero magnitude always takes mask 0 at
no cost, so zeros never enter the fit.

The problem. With ``n`` non-negative bases ``b`` the expressible magnitudes are the
``K = 2**n`` subset sums :math:`L_m = \\sum_k \\mathrm{bit}_k(m)\\, b_k`; fitting means

:math:`\\min_{b \\ge 0} \\sum_i c_i \\min_m (v_i - L_m)^2`.

For fixed ``b`` the inner minimum splits the sorted values into contiguous cells at the
midpoints between consecutive levels, so with prefix sums of ``c``, ``c v`` and
``c v^2`` the error of any ``b`` costs O(K log U) (:meth:`SortedMagnitudes.sse`),
vectorised over many candidate ``b`` at once. That makes a broad global search cheap;
local descent alternates nearest-level assignment with a non-negative least-squares refit
of the bases (:func:`local_descent`), which never increases the error.

The lower bound is the optimal K-level scalar quantizer with one level fixed at 0 (any
subset-sum level set is such a quantizer): an exact dynamic programme over the sorted
values, each layer solved by divide and conquer on the monotone optimal split
(:func:`optimal_levels`), vectorised per recursion depth: O(K U log U) work.
"""

from __future__ import annotations

import functools
import itertools
from typing import List, NamedTuple, Optional, Tuple

import numpy as np
from scipy.optimize import nnls

__all__ = [
    "subset_masks",
    "SortedMagnitudes",
    "OptimalLevels",
    "optimal_levels",
    "assign_masks",
    "local_descent",
    "polish",
    "best_binary_grid",
    "exact_bases",
    "fit_bases",
    "start_from_levels",
    "bin_quantiles",
]

_ENUMERATE_MAX_BASES = 4
"""Exhaustive exact search only up to this many bases (it grows combinatorially)."""

_REL_IMPROVEMENT = 1e-13
"""Local descent stops when an iteration improves the error by less than this fraction."""


def subset_masks(n_bases: int) -> np.ndarray:
    """The bit matrix of all masks: shape (2**n_bases, n_bases), entry (m, k) = bit k of m."""
    m = np.arange(2**n_bases)
    return ((m[:, None] >> np.arange(n_bases)) & 1).astype(np.float64)


class SortedMagnitudes:
    """Sorted distinct magnitudes with multiplicities, and their prefix sums.

    Args:
        v: shape (U,), strictly increasing positive values.
        c: shape (U,), positive multiplicities (weights).
    """

    def __init__(self, v: np.ndarray, c: np.ndarray):
        self.v = v
        self.c = c
        self.size = v.size
        zero = np.zeros(1)
        self.Pc = np.concatenate([zero, np.cumsum(c)])
        self.Ps = np.concatenate([zero, np.cumsum(c * v)])
        self.Pq = np.concatenate([zero, np.cumsum(c * v * v)])
        self.total = float(self.Pq[-1])

    def cells(self, levels: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weighted count, sum and sum of squares of the values nearest each level.

        Args:
            levels: shape (M, K), each row sorted ascending.

        Returns:
            ``(C, S, Q)``, each of shape (M, K).
        """
        M = levels.shape[0]
        mids = 0.5 * (levels[:, 1:] + levels[:, :-1])
        idx = np.searchsorted(self.v, mids.ravel(), side="right").reshape(M, -1)
        edges = np.concatenate(
            [np.zeros((M, 1), np.int64), idx, np.full((M, 1), self.size, np.int64)], axis=1
        )
        return (
            np.diff(self.Pc[edges], axis=1),
            np.diff(self.Ps[edges], axis=1),
            np.diff(self.Pq[edges], axis=1),
        )

    def sse(self, bases: np.ndarray, bits: np.ndarray) -> np.ndarray:
        """Squared error of the best assignment for each row of ``bases`` (shape (M, n)) -> (M,)."""
        levels = np.sort(bases @ bits.T, axis=1)
        C, S, Q = self.cells(levels)
        return np.maximum((Q - 2.0 * levels * S + levels * levels * C).sum(axis=1), 0.0)


def _refit(bits: np.ndarray, Cm: np.ndarray, Sm: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bases minimising :math:`\\sum_m C_m L_m^2 - 2 S_m L_m` for a fixed mask assignment.

    Bases no assigned mask uses keep their value (they do not change the error), so the
    refit never increases the error of the assignment it was given.
    """
    used = Cm > 0
    if not used.any():
        return b
    sq = np.sqrt(Cm[used])
    A = bits[used] * sq[:, None]
    cols = A.any(axis=0)
    if not cols.any():
        return b
    sol, _ = nnls(A[:, cols], Sm[used] / sq)
    out = b.copy()
    out[cols] = sol
    return out


def local_descent(
    data: SortedMagnitudes, b: np.ndarray, bits: np.ndarray, max_iter: int = 200
) -> Tuple[np.ndarray, float]:
    """Alternate nearest-level assignment and NNLS refit from ``b`` until no improvement.

    Returns:
        ``(bases, sse)``; the error is never above that of the starting ``b``.
    """
    K = bits.shape[0]
    best_b, best = b, np.inf
    for _ in range(max_iter):
        levels = bits @ b
        order = np.argsort(levels, kind="stable")
        C, S, Q = data.cells(levels[order][None])
        Cm = np.zeros(K)
        Sm = np.zeros(K)
        Cm[order] = C[0]
        Sm[order] = S[0]
        err = max(float(data.total - 2.0 * levels @ Sm + (levels * levels) @ Cm), 0.0)
        if not err < best * (1.0 - _REL_IMPROVEMENT):
            break
        best_b, best = b, err
        b = _refit(bits, Cm, Sm, b)
    return best_b, best


def assign_masks(values: np.ndarray, bases: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Mask (int64, shape of ``values``) of the level nearest each value.

    Among masks with equal levels the smallest mask wins, so a base of 0 is never selected;
    a value exactly half-way between two levels takes the lower one.
    """
    levels = bits @ bases
    order = np.argsort(levels, kind="stable")
    sorted_levels = levels[order]
    keep = np.concatenate([[True], np.diff(sorted_levels) > 0])
    distinct, masks = sorted_levels[keep], order[keep]
    mids = 0.5 * (distinct[1:] + distinct[:-1])
    return masks[np.searchsorted(mids, values, side="left")]


def polish(
    v: np.ndarray, c: np.ndarray, b: np.ndarray, bits: np.ndarray, max_iter: int = 10
) -> Tuple[np.ndarray, float]:
    """Local descent computed directly on the values (no prefix-sum cancellation).

    Used last, in the caller's units, so exactly representable data come back exact.

    Returns:
        ``(bases, sse)`` with the SSE summed directly over the values.
    """
    K = bits.shape[0]
    best_b, best = b, np.inf
    for _ in range(max_iter):
        masks = assign_masks(v, b, bits)
        levels = bits @ b
        err = float(c @ (v - levels[masks]) ** 2)
        if not err < best * (1.0 - _REL_IMPROVEMENT):
            break
        best_b, best = b, err
        if err == 0.0:
            break
        Cm = np.bincount(masks, weights=c, minlength=K)
        Sm = np.bincount(masks, weights=c * v, minlength=K)
        b = _refit(bits, Cm, Sm, b)
    return best_b, best


def best_binary_grid(
    data: SortedMagnitudes, bits: np.ndarray, n_scales: int = 2048
) -> Tuple[np.ndarray, float]:
    """Best binary-weighted bases :math:`b_k = s\\,2^k`: dense search over ``s``, then 1-D descent.

    The level set is the uniform grid :math:`s \\cdot \\{0, \\dots, K-1\\}`.

    Returns:
        ``(bases, sse)``.
    """
    K, n = bits.shape
    vmax = float(data.v[-1])
    top = vmax / (K - 1)
    scales = np.concatenate(
        [np.geomspace(top * 1e-4, vmax, n_scales), np.linspace(0.5 * top, 1.5 * top, n_scales)]
    )
    grid = np.arange(K, dtype=np.float64)
    errs = data.sse(scales[:, None] * 2.0 ** np.arange(n), bits)
    s = float(scales[np.argmin(errs)])
    best_s, best = s, float(errs.min())
    for _ in range(200):  # alternate assignment and the closed-form scale
        C, S, _ = data.cells((s * grid)[None])
        den = float(grid**2 @ C[0])
        if den <= 0:
            break
        s = float(grid @ S[0]) / den
        err = float(data.sse(np.array([[s * 2.0**k for k in range(n)]]), bits)[0])
        if not err < best * (1.0 - _REL_IMPROVEMENT):
            break
        best_s, best = s, err
    return best_s * 2.0 ** np.arange(n), best


def _merge_close(v: np.ndarray, tol: float) -> np.ndarray:
    """Sorted values with runs closer than ``tol`` to their neighbour merged (first kept)."""
    return v[np.concatenate([[True], np.diff(v) > tol])]


def _greedy(distinct: np.ndarray, n_bases: int, tol: float) -> Optional[np.ndarray]:
    levels = np.zeros(1)
    bases: List[float] = []
    for value in distinct:
        if np.min(np.abs(levels - value)) <= tol:
            continue
        if len(bases) == n_bases:
            return None
        bases.append(float(value))
        levels = np.concatenate([levels, levels + value])
    return np.array(bases + [0.0] * (n_bases - len(bases)))


@functools.lru_cache(maxsize=None)
def _anchor_inverses(r: int) -> np.ndarray:
    """Inverses of every invertible r x r matrix of distinct non-zero r-bit mask rows.

    One representative per class of simultaneous bit permutations (permuting the bases
    of a solution permutes the bits of every mask). Shape (T, r, r); T = 1, 3, 29, 940
    for r = 1..4.
    """
    masks = np.arange(1, 2**r)
    rows = np.array(list(itertools.permutations(masks, r)), np.int64)  # (T, r)
    perms = np.array(list(itertools.permutations(range(r))), np.int64)  # (P, r)
    bits = (rows[..., None] >> np.arange(r)) & 1  # (T, r, r): row j = bits of mask j
    # Each tuple under every bit permutation; keep the tuples that are their class's minimum.
    permuted = (bits[..., perms] << np.arange(r)).sum(-1).transpose(0, 2, 1)  # (T, P, r)
    place = (2**r) ** np.arange(r - 1, -1, -1)
    keys = permuted @ place  # lexicographic order of the tuples
    own = rows @ place
    canonical = own == keys.min(axis=1)
    mats = bits[canonical].astype(np.float64)
    det = np.linalg.det(mats)
    mats = mats[np.abs(det) > 0.5]
    return np.linalg.inv(mats)


def exact_bases(v: np.ndarray, n_bases: int, rel_tol: float = 1e-10) -> Optional[np.ndarray]:
    """Bases reproducing every value within ``rel_tol * max(v)``, or None if there are none.

    ``v``: sorted distinct positive values. Values closer than the tolerance are merged
    first; more than ``2**n_bases - 1`` distinct values cannot be exact. A greedy
    construction (the smallest value not yet expressible becomes the next base) finds
    the representation whenever every base occurs as a value itself. Otherwise every
    representation is searched for: if ``D = M b`` exactly with masks ``M``, a basic
    solution of ``{b >= 0 : M b = D}`` uses ``r = rank`` bases whose masks, restricted to
    them, are independent on ``r`` of the values (anchors); so solving ``b = M_A^{-1} D_A``
    for every anchor set and every invertible mask matrix ``M_A`` (up to permuting bases),
    for r = 2..n_bases, and checking all values finds one whenever one exists (at most
    C(15, 4) * 940 candidates for 4 bases, about 0.25 s; for more than
    :data:`_ENUMERATE_MAX_BASES` bases only the greedy construction is tried).

    Returns:
        Shape (n_bases,) (zeros for unused bases), the fewest bases that suffice.
    """
    if v.size == 0:
        return np.zeros(n_bases)
    tol = rel_tol * float(v[-1])
    distinct = _merge_close(v, tol)
    D = distinct.size
    if D > 2**n_bases - 1:
        return None
    greedy = _greedy(distinct, n_bases, tol)
    if greedy is not None or n_bases > _ENUMERATE_MAX_BASES:
        return greedy
    data = SortedMagnitudes(distinct / distinct[-1], np.ones(D))
    for r in range(2, min(n_bases, D) + 1):
        inv = _anchor_inverses(r)
        bits = subset_masks(r)
        for anchors in _chunks(itertools.combinations(range(D), r), 64):
            b = np.einsum("tij,sj->sti", inv, data.v[np.array(anchors)]).reshape(-1, r)
            b = b[(b >= -rel_tol).all(axis=1)]
            if b.size == 0:
                continue
            b = np.maximum(b, 0.0)
            errs = data.sse(b, bits)
            for idx in np.flatnonzero(errs <= 1e-12 * D)[np.argsort(errs[errs <= 1e-12 * D])]:
                bases = b[idx] * distinct[-1]
                levels = bits @ bases
                if np.abs(levels[assign_masks(distinct, bases, bits)] - distinct).max() <= tol:
                    return np.concatenate([bases, np.zeros(n_bases - r)])
    return None


def _chunks(iterable, size: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class OptimalLevels(NamedTuple):
    """The optimal K-level quantizer with one level fixed at 0."""

    sse: float
    """Its weighted squared error."""
    levels: np.ndarray
    """Shape (K,), ascending, ``levels[0] == 0`` (cells with no values repeat a level)."""
    counts: np.ndarray
    """Shape (K,): the weight of the values each level takes."""


def optimal_levels(data: SortedMagnitudes, n_levels: int) -> OptimalLevels:
    """Exact optimal ``n_levels``-level scalar quantizer of ``data`` with a level at 0.

    Dynamic programme: ``D_1(j)`` is the cost of the first ``j`` values all at level 0;
    ``D_k(j) = min_i D_{k-1}(i) + cost(i, j)`` with ``cost`` the weighted variance of values
    ``i..j-1`` about their mean. The optimal ``i`` is monotone in ``j`` (the cost has the
    quadrangle property), so each layer is a divide and conquer over ``j``, processed one
    recursion depth at a time with numpy; the last layer is one scan for ``j = U``.
    """
    U = data.size
    Pc, Ps, Pq = data.Pc, data.Ps, data.Pq
    if U <= n_levels - 1:
        levels = np.concatenate([np.zeros(n_levels - U), data.v])
        counts = np.concatenate([np.zeros(n_levels - U), data.c])
        return OptimalLevels(0.0, levels, counts)
    D = Pq.copy()
    splits = np.zeros((n_levels - 1, U + 1), np.int64)
    for layer in range(n_levels - 1):
        Dn = np.empty(U + 1)
        Dn[0] = 0.0
        opt_all = splits[layer]
        last = layer == n_levels - 2  # the last layer needs D(U) only
        jl, jr = np.array([U if last else 1]), np.array([U])
        il, ir = np.array([0]), np.array([U - 1])
        while jl.size:
            mid = (jl + jr) >> 1
            n = np.minimum(ir, mid - 1) - il + 1  # candidate splits i in [il, min(ir, mid-1)]
            ends = np.cumsum(n)
            starts = ends - n
            seg = np.repeat(np.arange(mid.size), n)
            i = np.arange(int(ends[-1])) + (il - starts)[seg]
            j = mid[seg]
            C = Pc[j] - Pc[i]
            S = Ps[j] - Ps[i]
            val = (Pq[j] - Pq[i]) - S * S / C
            np.maximum(val, 0.0, out=val)
            val += D[i]
            best = np.minimum.reduceat(val, starts)
            hit = np.flatnonzero(val == best[seg])
            first = np.concatenate([[True], seg[hit][1:] != seg[hit][:-1]])
            opt = i[hit[first]]
            Dn[mid] = best
            opt_all[mid] = opt
            left, right = mid > jl, mid < jr
            jl, jr, il, ir = (
                np.concatenate([jl[left], mid[right] + 1]),
                np.concatenate([mid[left] - 1, jr[right]]),
                np.concatenate([il[left], opt[right]]),
                np.concatenate([opt[left], ir[right]]),
            )
        D = Dn
    levels = np.zeros(n_levels)
    counts = np.zeros(n_levels)
    j = U
    for layer in range(n_levels - 2, -1, -1):
        i = int(splits[layer][j])
        weight = Pc[j] - Pc[i]
        counts[layer + 1] = weight
        levels[layer + 1] = (Ps[j] - Ps[i]) / weight if weight > 0 else 0.0
        j = i
    counts[0] = Pc[j]
    order = np.argsort(levels, kind="stable")
    return OptimalLevels(float(D[U]), levels[order], counts[order])


def fit_bases(
    data: SortedMagnitudes,
    bits: np.ndarray,
    rng: np.random.Generator,
    starts: List[np.ndarray],
    n_random: int = 4096,
    n_starts: int = 8,
    max_rounds: int = 6,
) -> Tuple[np.ndarray, float]:
    """Global search for the bases of ``data`` (values scaled so that ``max(v) == 1``).

    1. Local descent from each of ``starts`` (the caller passes the best binary grid and
       the fit to the optimal levels) and from the ``n_starts`` best of ``2 * n_random``
       random sorted base vectors (half uniform, half log-uniform over three decades).
    2. Perturbation rounds from the best so far: each base alone swept over a grid, and
       multiplicative random jitter of all bases; the few best candidates descend; repeat
       while the error improves.

    Returns:
        ``(bases, sse)`` of the best solution found (never worse than any of ``starts``).
    """
    n = bits.shape[1]
    starts = list(starts)
    rand = np.concatenate(
        [
            np.sort(rng.random((n_random, n)), axis=1),
            np.sort(np.exp(rng.uniform(np.log(1e-3), 0.0, (n_random, n))), axis=1),
        ]
    )
    errs = data.sse(rand, bits)
    starts += list(rand[np.argsort(errs, kind="stable")[:n_starts]])
    results = [local_descent(data, np.asarray(s, np.float64), bits) for s in starts]
    best_b, best = min(results, key=lambda r: r[1])
    for _ in range(max_rounds):
        sweep = np.concatenate([np.linspace(0.0, 1.0, 256), np.linspace(0.0, best_b.sum(), 64)])
        cands = []
        for k in range(n):
            block = np.repeat(best_b[None], sweep.size, axis=0)
            block[:, k] = sweep
            cands.append(block)
        cands.append(best_b[None] * np.exp(rng.normal(0.0, 0.3, (512, n))))
        cands = np.concatenate(cands)
        errs = data.sse(cands, bits)
        improved = False
        for idx in np.argsort(errs, kind="stable")[:4]:
            b, err = local_descent(data, cands[idx], bits)
            if err < best * (1.0 - 1e-12):
                best_b, best, improved = b, err, True
        if not improved:
            break
    return best_b, best


def start_from_levels(opt: OptimalLevels, bits: np.ndarray, seed: int) -> Optional[np.ndarray]:
    """Subset-sum bases fitted to the optimal unconstrained levels, weighted by their cells.

    A start for :func:`fit_bases`: the binary grid and 8 seeded random starts descend on
    the (at most ``K``) levels as data; the best is returned (None if no level is used).
    """
    used = (opt.counts > 0) & (opt.levels > 0)
    if not used.any():
        return None
    values, inverse = np.unique(opt.levels[used], return_inverse=True)
    data = SortedMagnitudes(values / values[-1], np.bincount(inverse, weights=opt.counts[used]))
    starts = [best_binary_grid(data, bits)[0]]
    starts += list(np.sort(np.random.default_rng(seed).random((8, bits.shape[1])), axis=1))
    best_b, _ = min((local_descent(data, s, bits) for s in starts), key=lambda r: r[1])
    return best_b * values[-1]


def bin_quantiles(data: SortedMagnitudes, n_bins: int) -> SortedMagnitudes:
    """The values merged into ``n_bins`` groups of about equal weight, each at its weighted mean."""
    cum = np.cumsum(data.c)
    group = np.minimum((cum - data.c) * n_bins // cum[-1], n_bins - 1).astype(np.int64)
    weight = np.bincount(group, weights=data.c, minlength=n_bins)
    total = np.bincount(group, weights=data.c * data.v, minlength=n_bins)
    keep = weight > 0
    return SortedMagnitudes(total[keep] / weight[keep], weight[keep])
