"""The time loop of :class:`~.torch_module.DynapSimTorch`: torch's array operations, the
steps, and their backward pass as one autograd node.

A gradient sees the loop as one node (:class:`TimeLoopFunction`). Its forward pass builds
no graph and keeps the state at the start of every block of ``sqrt(T)`` steps; its backward
pass runs each block forward again and steps back through it with the hand-written step
derivative of :mod:`.step_vjp`, so memory grows with ``sqrt(T)``. A run whose every state
fits in :data:`KEPT_BYTES` (a training batch: 16 samples of 450 steps and 56 neurons take 21-56
MiB) keeps them all instead, and the backward pass runs nothing forward again. With
``compile``, pieces of a few steps run compiled by ``torch.compile`` (:func:`compile_pieces`).

Inside the loop the state is a flat tuple of tensors (:func:`flatten_state`): what
``torch.autograd.Function`` and ``torch.compile`` take. It is built from, and read back
into, a :class:`~.records.DynapState` by field name, with the per-synapse fields from
:data:`~.module_spec.STATE_FIELDS`; the rest of the package only sees named records.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch

from ..chip import SynapseType
from .module_spec import state_field
from .records import ArrayOps, DynapState, StepConstants
from .spiking import spike_count_forward, surrogate_antiderivative
from .step import neuron_step, neuron_update, state_after, step_terms, total_input
from .step_vjp import neuron_update_vjp

__all__ = [
    "OPS",
    "spike_count",
    "TimeLoop",
    "TimeLoopFunction",
    "compile_pieces",
    "run_steps",
    "recompute_steps",
    "steps_back",
    "stacked_update",
    "flatten_state",
    "unflatten_state",
]

FlatState = Tuple[Optional[torch.Tensor], ...]
"""A loop state as a flat tuple (:func:`flatten_state`); None for an idle synapse type."""

KEPT_BYTES = 256 << 20
"""The most bytes of states and synaptic inputs a gradient's forward pass keeps for the
backward pass, every step's (:meth:`TimeLoop.keeps`): a run that fits is not run forward a
second time by the backward pass; a longer one keeps the start of each block only."""

STACKED_ELEMENTS = 1 << 18
"""The most elements per array when the backward pass differentiates a block's steps for
the constants as one stacked update (:meth:`TimeLoop._constants_cotangent`): it keeps the
update's intermediates of a group of steps, about a hundred arrays of this size."""


def spike_count(x: torch.Tensor, max_spikes: float) -> torch.Tensor:
    """Spikes in a step from ``x = log(Imem/Ispkthr)``, with the surrogate gradient of
    :func:`.spiking.surrogate_slope`.

    Written as a straight-through sum, ``n + (s(x) - s(x).detach())`` with ``n`` the
    detached count and ``s`` the antiderivative of the surrogate slope: the value is
    exactly ``n``, the gradient exactly the surrogate's, and ``torch.compile`` fuses it.
    """
    n = spike_count_forward(torch.ceil, torch.clamp, x.detach(), max_spikes)
    s = surrogate_antiderivative(x)
    return n + (s - s.detach())


def _maximum(a: Any, b: Any) -> torch.Tensor:
    if not isinstance(b, torch.Tensor):
        b = torch.as_tensor(b, dtype=a.dtype, device=a.device)
    return torch.maximum(a, b)


def _where(cond: torch.Tensor, a: Any, b: Any) -> torch.Tensor:
    return torch.where(cond, a, b)


def _matmul_rows(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a @ w`` for weights ``(N, M)``, or row by row for per-row weights ``(B, N, M)``."""
    return a @ w if w.dim() == 2 else (a.unsqueeze(-2) @ w).squeeze(-2)


OPS = ArrayOps(
    exp=torch.exp,
    log=torch.log,
    maximum=_maximum,
    relu=torch.relu,
    where=_where,
    zeros_like=torch.zeros_like,
    stop_gradient=lambda x: x.detach(),
    stack=lambda arrays, axis: torch.stack(arrays, dim=axis),
    spike_count=spike_count,
    fence=lambda x: x,
    recurrent=lambda spikes, w_rec: _matmul_rows(spikes, w_rec),
)
"""torch's array operations for the equations of :mod:`.step`."""


def _slots() -> Tuple[Any, ...]:
    """The position of each :class:`~.records.DynapState` field in a flat state: an index,
    or a slice of ``len(SynapseType)`` entries for a per-synapse field."""
    slots, start = [], 0
    for name in DynapState._fields:
        width = len(SynapseType) if state_field(name).per_synapse else 1
        slots.append(slice(start, start + width) if state_field(name).per_synapse else start)
        start += width
    return tuple(slots)


_SLOTS = _slots()
_PER_SYNAPSE = tuple(isinstance(slot, slice) for slot in _SLOTS)
_SPIKES = _SLOTS[DynapState._fields.index("spikes")]
_STATE_ARRAYS = sum(len(SynapseType) if multi else 1 for multi in _PER_SYNAPSE)
"""Arrays ``(B, N)`` of a flat state, at most."""
_TERM_ARRAYS = 2 * len(SynapseType) + 14
"""Arrays ``(B, N)`` of a step's :class:`~.step.StepTerms`, at most (membrane terms included)."""


def flatten_state(state: DynapState) -> FlatState:
    """A loop state (:func:`.step.loop_state`) as a flat tuple, field by field in
    :class:`~.records.DynapState` order; a per-synapse field gives one entry per type
    (None where idle)."""
    flat: list = []
    for value, multi in zip(state, _PER_SYNAPSE):
        if multi:
            flat.extend(value)
        else:
            flat.append(value)
    return tuple(flat)


def unflatten_state(flat: Sequence[Optional[torch.Tensor]]) -> DynapState:
    """Inverse of :func:`flatten_state`."""
    return DynapState(*[tuple(flat[slot]) if multi else flat[slot] for slot, multi in zip(_SLOTS, _PER_SYNAPSE)])


def compile_pieces() -> Tuple[Callable, Callable, Callable, Callable]:
    """``(run_steps, recompute_steps, steps_back, stacked_update)`` compiled by
    ``torch.compile``, each for pieces of a fixed number of steps (compiled on first use,
    per input shape)."""
    return tuple(torch.compile(f, dynamic=False) for f in (run_steps, recompute_steps, steps_back, stacked_update))


class TimeLoop:
    """The time loop of one call: the forward steps, and the backward pass of
    :class:`TimeLoopFunction`.

    Args:
        constants: the step's constants (:func:`.step.prepare`).
        split: the input layout's split (:func:`.step.split_signed_input` or
            :func:`.step.split_multi_input`).
        max_spikes: the most spikes per neuron and step.
        record: output every state over time instead of the spikes.
        piece: compiled ``(run_steps, recompute_steps, steps_back, stacked_update)`` (:func:`compile_pieces`),
            or None to run eagerly.
        piece_steps: steps per compiled piece.
    """

    def __init__(
        self, constants: StepConstants, split: Any, max_spikes: float, record: bool, piece: Any, piece_steps: int
    ):
        self.constants = constants
        self.local = constants._replace(w_rec=None)
        """The constants without the recurrent weights (the backward pass's inputs already
        hold the recurrent input)."""
        self.split = split
        self.max_spikes = max_spikes
        self.record = record
        self.piece = piece
        self.piece_steps = piece_steps
        self.leaves, self.rebuild = _tensor_leaves(constants)

    def run(self, x: torch.Tensor, state: DynapState, block: int) -> Tuple[Any, DynapState]:
        """Run over ``x`` ``(B, T, N_in)`` from a loop state (:func:`.step.loop_state`);
        differentiable through :class:`TimeLoopFunction`, in blocks of ``block`` steps.

        Returns:
            ``(spikes (B, T, N), final loop state)``; with ``record``, a loop state of every
            field over time instead of the spikes.
        """
        # The state enters the loop contiguous: the compiled pieces are specialised to their
        # inputs' strides, and a broadcast initial state (stride 0) or a synapse sliced from
        # the stored (B, N, 4) state would compile each piece again. Inside the loop every
        # state is a fresh, contiguous result.
        flat = tuple(None if t is None else t.contiguous() for t in flatten_state(state))
        state_leaves = [t for t in flat if t is not None]
        if not self._needs_gradient([x, *state_leaves]):
            with torch.no_grad():
                out, final = self.steps(flat, x)
        else:
            present = tuple(t is not None for t in flat)
            results = TimeLoopFunction.apply(self, block, present, x, *self.leaves, *state_leaves)
            n_out = sum(present) if self.record else 1
            out = _fill(present, results[:n_out]) if self.record else results[0]
            final = _fill(present, results[n_out:])
        return (unflatten_state(out) if self.record else out), unflatten_state(final)

    def _needs_gradient(self, tensors: Sequence[torch.Tensor]) -> bool:
        """Whether a gradient may flow: autograd on, and the input, the initial state's
        ``tensors`` or the constants' tensors requiring one."""
        return torch.is_grad_enabled() and any(t.requires_grad for t in [*tensors, *self.leaves])

    def steps(self, flat_state: FlatState, xs: torch.Tensor) -> Tuple[Any, FlatState]:
        """Run over ``xs`` ``(B, K, N_in)``: compiled pieces of ``piece_steps`` where they fit."""
        outs = []
        K = self.piece_steps
        sizes = _piece_sizes(xs.shape[1], K) if self.piece is not None else [xs.shape[1]]
        for x_piece, size in zip(xs.split(sizes, dim=1), sizes):  # split: see run_steps
            steps = self.piece[0] if self.piece is not None and size == K else run_steps
            o, flat_state = steps(self.constants, flat_state, x_piece, self.split, self.max_spikes, self.record)
            outs.append(o)
        return _concat_steps(outs, self.record), flat_state

    def backward(
        self,
        x: torch.Tensor,
        starts: list,
        block: int,
        cot_out: Any,
        needs_constants: Sequence[bool],
        kept: Optional[list] = None,
    ) -> Tuple[torch.Tensor, FlatState, list]:
        """Step back through the blocks (the last first): run each block forward again from
        its saved start, keeping each step's state and synaptic input (or take them from
        ``kept``, each block's pieces as the forward pass kept them), then step back with
        the hand-written derivative of :mod:`.step_vjp`.

        Returns the cotangents of the input, of the initial state (flat) and of the
        constants' tensors (None where ``needs_constants`` is False). The recurrent
        weights' cotangent is ``sum_t spikes(t-1)^T g_t`` (``g_t``: the synaptic input's
        cotangent), one product per block; the other constants' come from automatic
        differentiation of each block's steps, only when a gradient asks for them.
        """
        w_rec = self.constants.w_rec
        i_w = next((i for i, leaf in enumerate(self.leaves) if leaf is w_rec), None)
        other = [need and i != i_w for i, need in enumerate(needs_constants)]
        i_w = i_w if i_w is not None and needs_constants[i_w] else None
        w_rec_t = None if w_rec is None else w_rec.transpose(-1, -2).contiguous()
        cot_c: list = [None] * len(self.leaves)
        cot_flat = tuple(None if t is None else torch.zeros_like(t) for t in starts[-1])
        cot_x = []
        x_blocks = x.split(block, dim=1)
        for j in range(len(x_blocks) - 1, -1, -1):
            pieces = kept[j] if kept is not None else self._recompute_block(starts[j], x_blocks[j])[0]
            cot_flat, g, cots_new = self._back_through_block(pieces, j * block, cot_flat, cot_out, w_rec_t, any(other))
            cot_x.append(g)
            self._add_constants_cotangent(cot_c, pieces, g, cots_new, i_w, other)
        cot_x.reverse()
        return torch.cat(cot_x, dim=1), cot_flat, cot_c

    def _add_constants_cotangent(
        self, cot_c: list, pieces: list, g: torch.Tensor, cots_new: list, i_w: Optional[int], other: Sequence[bool]
    ) -> None:
        """Add one block's share to the constants' cotangents ``cot_c``: the recurrent
        weights' (index ``i_w``, None: not needed) from the spikes and the synaptic inputs'
        cotangents ``g``, the ``other`` needed ones by :meth:`_constants_cotangent`."""
        if i_w is None and not any(other):
            return
        kept = [st for _, piece_kept, _, _ in pieces for st in piece_kept]
        if i_w is not None:
            states = [unflatten_state(st) for st in kept]
            _accumulate(cot_c, i_w, _recurrent_weight_cotangent(states, g, self.constants.w_rec))
        if any(other):
            us = [u for _, _, piece_us, _ in pieces for u in piece_us]
            for i, gi in enumerate(self._constants_cotangent(kept, us, cots_new, other)):
                _accumulate(cot_c, i, gi)

    def _recompute_block(self, start: FlatState, xb: torch.Tensor) -> Tuple[List[Tuple[int, list, list, list]], FlatState]:
        """Run one block forward again from its saved start, in pieces of ``piece_steps``
        (compiled ones where they fit): ``[(steps, states, synaptic inputs, step terms)]`` per piece,
        and the state after the block (flat)."""
        K = self.piece_steps
        recompute = recompute_steps if self.piece is None else self.piece[1]
        sizes = _piece_sizes(xb.shape[1], K)
        flat, pieces = start, []
        for size, x_piece in zip(sizes, xb.split(sizes, dim=1)):
            run = recompute if size == K else recompute_steps
            kept, us, terms, flat = run(self.constants, self.local, flat, x_piece, self.split, self.max_spikes, self.piece is None)
            pieces.append((size, kept, us, terms))
        return pieces, flat

    def keeps(self, x: torch.Tensor) -> bool:
        """Whether a gradient's forward pass over ``x`` ``(B, T, N_in)`` keeps every step's
        state and synaptic input (they fit in :data:`KEPT_BYTES`; not with ``record``)."""
        B, T, n_in = x.shape
        n = self.constants.Io.shape[-1]
        return not self.record and T * B * (n_in + (_STATE_ARRAYS + _TERM_ARRAYS) * n) * x.element_size() <= KEPT_BYTES

    def steps_kept(self, flat_state: FlatState, xs: torch.Tensor) -> Tuple[torch.Tensor, list, FlatState]:
        """:meth:`steps` keeping what the backward pass needs: ``(spikes (B, K, N), the
        pieces of :meth:`_recompute_block`, the final state (flat))``."""
        pieces, final = self._recompute_block(flat_state, xs)
        after = [st for _, kept, _, _ in pieces for st in kept][1:] + [final]
        return torch.stack([st[_SPIKES] for st in after], dim=1), pieces, final

    def _back_through_block(
        self, pieces: list, t0: int, cot_flat: FlatState, cot_out: Any, w_rec_t: Optional[torch.Tensor], keep: bool
    ) -> Tuple[FlatState, torch.Tensor, list]:
        """Step back through the pieces of one block starting at step ``t0``, the last first.

        Returns ``(cotangent of the block's start state (flat), cotangents of its synaptic
        inputs (B, K, N_in), cotangents of each step's new state (flat; only with keep))``.
        """
        K = self.piece_steps
        back = steps_back if self.piece is None else self.piece[2]
        offsets = list(accumulate([t0] + [piece[0] for piece in pieces[:-1]]))
        g_pieces, cots_new = [], []
        for (size, kept, us, terms), t_k in reversed(list(zip(pieces, offsets))):
            cot_piece = _time_slice(cot_out, t_k, size, self.record)
            step_back = back if size == K else steps_back
            cot_flat, g_k, cots_k = step_back(
                self.local, w_rec_t, kept, us, terms, cot_flat, cot_piece, self.record, self.split, self.max_spikes
            )
            g_pieces.append(g_k)
            if keep:
                cots_new = list(cots_k) + cots_new
        g_pieces.reverse()
        return cot_flat, torch.cat(g_pieces, dim=1), cots_new

    def _constants_cotangent(self, kept: list, us: list, cots: list, needed: Sequence[bool]) -> list:
        """Cotangents of the constants' tensors over one block, by automatic
        differentiation of its steps, each from its kept state (flat), synaptic input and
        new state's cotangent (flat).

        The step is elementwise once its synaptic input is given, so the steps run as one
        update over states stacked along a leading axis (in groups of at most
        :data:`STACKED_ELEMENTS` elements per array): one graph and one backward pass
        for many steps instead of one per step, which the constants' broadcast sums over.
        """
        leaves = [leaf.detach().requires_grad_(True) if need else leaf for leaf, need in zip(self.leaves, needed)]
        per_step = us[0].numel()
        group = max(1, STACKED_ELEMENTS // per_step)
        update = stacked_update if self.piece is None else self.piece[3]
        with torch.enable_grad():
            c = self.rebuild(leaves)._replace(w_rec=None)
            outs, grads = [], []
            for j in range(0, len(us), group):
                new = update(c, _stack_steps(kept[j : j + group]), torch.stack(us[j : j + group]), self.split, self.max_spikes)
                for o, g in zip(new, _stack_steps(cots[j : j + group])):
                    if o is not None and o.requires_grad:
                        outs.append(o)
                        grads.append(g)
            wanted = [leaf for leaf, need in zip(leaves, needed) if need]
            got = iter(torch.autograd.grad(outs, wanted, grads, allow_unused=True)) if outs else iter([None] * len(wanted))
        return [next(got) if need else None for need in needed]


def _stack_steps(flats: Sequence[FlatState]) -> FlatState:
    """Flat states of several steps as one flat state with the steps on a leading axis."""
    return tuple(None if field[0] is None else torch.stack(field) for field in zip(*flats))


def _fill(present: Sequence[bool], tensors: Sequence[torch.Tensor]) -> FlatState:
    """A flat state from the tensors of its present entries (None elsewhere)."""
    it = iter(tensors)
    return tuple(next(it) if p else None for p in present)


def _accumulate(totals: list, i: int, value: Optional[torch.Tensor]) -> None:
    """``totals[i] += value`` (None: nothing yet / nothing to add)."""
    if value is not None:
        totals[i] = value if totals[i] is None else totals[i] + value


def _recurrent_weight_cotangent(states: Sequence[DynapState], g: torch.Tensor, w_rec: torch.Tensor) -> torch.Tensor:
    """``sum_t spikes(t-1)^T g_t`` over one block: ``states`` are the states before each
    step, ``g`` the cotangents of the steps' synaptic inputs ``(B, K, N_in)``; per row for
    per-row weights ``(B, N, N_in)``."""
    spikes = torch.stack([st.spikes for st in states], dim=1)
    if w_rec.dim() == 2:
        return spikes.reshape(-1, spikes.shape[-1]).T @ g.reshape(-1, g.shape[-1])
    return torch.einsum("btn,btm->bnm", spikes, g)


def run_steps(
    constants: Any, flat_state: FlatState, xs: torch.Tensor, split: Any, max_spikes: float, record: bool
) -> Tuple[Any, FlatState]:
    """Advance the state over the steps of ``xs`` ``(B, K, N_in)``.

    Returns ``(spikes (B, K, N), state)``, or with ``record`` every state field stacked
    over the K steps instead of the spikes.
    """
    s = unflatten_state(flat_state)
    outs = []
    # unbind: one backward node for all steps (indexing xs[:, t] made each step's backward
    # fill a zero tensor of the whole input, quadratic in T).
    for x_t in xs.unbind(1):
        s, spikes = neuron_step(OPS, constants, s, x_t, split, max_spikes)
        outs.append(flatten_state(s) if record else spikes)
    if record:
        return tuple(None if field[0] is None else torch.stack(field, dim=1) for field in zip(*outs)), flatten_state(s)
    return torch.stack(outs, dim=1), flatten_state(s)


def recompute_steps(
    constants: StepConstants, local: StepConstants, flat_state: FlatState, xs: torch.Tensor, split: Any, max_spikes: float,
    with_terms: bool = True,
) -> Tuple[list, list, list, FlatState]:
    """Run over ``xs`` ``(B, K, N_in)`` again, keeping each step's state (flat), synaptic
    input and :func:`.step.step_terms` (what the steps back read, so that they do not
    compute the step once more; with ``with_terms`` False, None: compiled pieces compute
    them again faster than they write them): ``(states, inputs, terms, final flat state)``.
    ``local`` is ``constants`` without the recurrent weights (the inputs already hold the
    recurrent input)."""
    s = unflatten_state(flat_state)
    states, us, terms = [], [], []
    for x_t in xs.unbind(1):
        u = total_input(OPS, constants, s, x_t)
        t = step_terms(OPS, local, s, u, split, max_spikes)
        states.append(flatten_state(s))
        us.append(u)
        terms.append(t if with_terms else None)
        s = state_after(OPS, local, s, t)
    return states, us, terms, flatten_state(s)


def stacked_update(c: StepConstants, flat_state: FlatState, u: torch.Tensor, split: Any, max_spikes: float) -> FlatState:
    """:func:`.step.neuron_update` of several steps at once (flat states with the steps on
    a leading axis, their synaptic inputs ``u`` ``(K, B, N_in)``): the new states, flat."""
    return flatten_state(neuron_update(OPS, c, unflatten_state(flat_state), u, split, max_spikes)[0])


def steps_back(
    local: StepConstants,
    w_rec_t: Optional[torch.Tensor],
    states: Sequence[FlatState],
    us: Sequence[torch.Tensor],
    terms: Sequence[Any],
    cot_flat: FlatState,
    cot_out: Any,
    record: bool,
    split: Any,
    max_spikes: float,
) -> Tuple[FlatState, torch.Tensor, list]:
    """Step back through the K steps of :func:`recompute_steps`.

    Args:
        terms: each step's :func:`.step.step_terms`, from :func:`recompute_steps` (None: computed here).
        cot_flat: cotangent of the state after the last step (flat).
        cot_out: cotangent of the K steps' outputs, ``(B, K, N)`` (or a flat tuple of them,
            with ``record``).
        w_rec_t: the recurrent weights, transposed (or None).

    Returns:
        ``(cotangent of the state before the first step (flat), cotangents of the synaptic
        inputs (B, K, N_in), cotangents of each step's new state (flat))``.
    """
    cot_s = unflatten_state(cot_flat)
    K = len(us)
    g_us: list = [None] * K
    cots: list = [None] * K
    for k in range(K - 1, -1, -1):
        cot_new = _add_output(cot_s, cot_out, k, record)
        cots[k] = flatten_state(cot_new)
        cot_s, g_u = neuron_update_vjp(OPS, local, unflatten_state(states[k]), us[k], split, max_spikes, cot_new, terms[k])
        if w_rec_t is not None:
            cot_s = cot_s._replace(spikes=cot_s.spikes + _matmul_rows(g_u, w_rec_t))
        g_us[k] = g_u
    return flatten_state(cot_s), torch.stack(g_us, dim=1), cots


def _piece_sizes(n: int, K: int) -> list:
    """``n`` steps as pieces of ``K`` (the compiled size) and a shorter remainder."""
    return [K] * (n // K) + ([n % K] if n % K else [])


def _time_slice(cot_out: Any, t: int, n: int, record: bool) -> Any:
    if record:
        return tuple(None if c is None else c[:, t : t + n] for c in cot_out)
    return cot_out[:, t : t + n]


def _add_output(cot_s: DynapState, cot_out: Any, t: int, record: bool) -> DynapState:
    """The cotangent of step ``t``'s new state: the next step's plus the output's."""
    if not record:
        return cot_s._replace(spikes=cot_s.spikes + cot_out[:, t])
    flat = tuple(None if c is None else c + o[:, t] for c, o in zip(flatten_state(cot_s), cot_out))
    return unflatten_state(flat)


def _concat_steps(pieces: list, record: bool) -> Any:
    if record:
        return tuple(None if field[0] is None else torch.cat(field, dim=1) for field in zip(*pieces))
    return torch.cat(pieces, dim=1)


class TimeLoopFunction(torch.autograd.Function):
    """The time loop as one autograd node: the forward pass runs without a graph and keeps
    the state at the start of every block (or, when they fit, every step's state and
    synaptic input: :meth:`TimeLoop.keeps`); the backward pass is :meth:`TimeLoop.backward`.
    Memory grows with the number of blocks, not with the steps (no per-step graph).

    Inputs: the loop, the block length, which entries of the flat state are present, the
    input ``(B, T, N_in)``, the constants' tensors, the present entries of the initial state.
    Outputs: the spikes (or, with ``record``, the present entries of every state over time),
    then the present entries of the final state (not differentiable).
    """

    @staticmethod
    def forward(ctx, loop: TimeLoop, block: int, present: Tuple[bool, ...], x: torch.Tensor, *leaves: torch.Tensor):
        flat = _fill(present, leaves[len(loop.leaves) :])
        starts, outs, kept = [], [], []
        keep = loop.keeps(x)
        for xb in x.split(block, dim=1):
            starts.append(flat)
            if keep:
                out, pieces, flat = loop.steps_kept(flat, xb)
                kept.append(pieces)
            else:
                out, flat = loop.steps(flat, xb)
            outs.append(out)
        out = _concat_steps(outs, loop.record)
        ctx.loop, ctx.block, ctx.present, ctx.n_starts = loop, block, present, len(starts)
        ctx.kept = kept if keep else None  # every step's state and input: the backward pass runs no block again
        ctx.save_for_backward(x, *[t for st in starts for t in st if t is not None])
        final = tuple(t for t in flat if t is not None)
        ctx.mark_non_differentiable(*final)
        outputs = tuple(o for o in out if o is not None) if loop.record else (out,)
        return (*outputs, *final)

    @staticmethod
    def backward(ctx, *grads):
        loop, present = ctx.loop, ctx.present
        x, *kept = ctx.saved_tensors
        n_present = sum(present)
        starts = [_fill(present, kept[i * n_present : (i + 1) * n_present]) for i in range(ctx.n_starts)]
        if loop.record:
            cot_out = _fill(present, [_zeros_if_none(g, x, loop) for g in grads[:n_present]])
        else:
            cot_out = _zeros_if_none(grads[0], x, loop)
        first = 4  # the inputs before the constants' tensors: loop, block, present, x
        needs = ctx.needs_input_grad[first : first + len(loop.leaves)]
        cot_x, cot_state, cot_c = loop.backward(x, starts, ctx.block, cot_out, needs, ctx.kept)
        ctx.kept = None
        cot_state = [t for t in cot_state if t is not None]
        return (None, None, None, cot_x, *cot_c, *cot_state)


def _zeros_if_none(g: Optional[torch.Tensor], x: torch.Tensor, loop: TimeLoop) -> torch.Tensor:
    """An output's cotangent as a contiguous tensor (the cotangent of a sum arrives
    broadcast, with stride 0, and the compiled pieces are specialised to strides), or zeros."""
    if g is not None:
        return g.contiguous()
    n = loop.constants.Io.shape[-1]
    return torch.zeros(x.shape[:2] + (n,), dtype=x.dtype, device=x.device)


def _tensor_leaves(tree: Any) -> Tuple[list, Any]:
    """The tensors of a tree of (named) tuples, and a function that rebuilds the tree from
    a list of them (non-tensor leaves and None stay as they were)."""
    leaves: list = []

    def walk(node):
        if isinstance(node, torch.Tensor):
            leaves.append(node)
            return len(leaves) - 1
        if isinstance(node, tuple):
            return (type(node), [walk(child) for child in node])
        return ("const", node)

    shape = walk(tree)

    def build(node, values):
        if isinstance(node, int):
            return values[node]
        kind, payload = node
        if kind == "const":
            return payload
        children = [build(child, values) for child in payload]
        return kind(*children) if hasattr(kind, "_fields") else kind(children)

    return leaves, lambda values: build(shape, list(values))
