"""``DynapSimTorch``: N DYNAP-SE2 neurons as a Rockpool ``TorchModule``.

The backend-specific parts only: torch tensors, the surrogate gradient (a straight-through
sum), and the time loop: a Python loop over steps, which a gradient sees as one autograd
node (:class:`_LoopFunction`). Its forward pass builds no graph and keeps the state at the
start of every block of ``sqrt(T)`` steps; its backward pass runs each block forward
again and steps back through it with the hand-written step derivative of
:mod:`.step_vjp`, so memory grows with ``sqrt(T)``. The equations are in :mod:`.step`,
shared with :class:`~.jax_module.DynapSimJax`.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import rockpool.parameters as rp
import torch
from rockpool.nn.modules.torch.torch_module import TorchModule

from ..errors import ParameterValueError, ShapeError, UnknownParameterError
from ..parameters.core import CoreParameters
from .module_base import DynapSimBase
from .records import CURRENT_NAMES, LAYOUT_NAMES, STATE_NAMES, SYNAPSE_NAMES, ArrayOps, DynapState, StepConstants
from .module_spec import (
    build_module_spec,
    check_parameters,
    check_state,
    check_values,
    state_needs_broadcast,
)
from .spiking import spike_count_forward, surrogate_antiderivative
from .step import (
    idle_synapses,
    loop_state,
    neuron_step,
    neuron_update,
    prepare,
    split_multi_input,
    split_signed_input,
    stored_state,
    synapse_major,
    total_input,
)
from .step_vjp import neuron_update_vjp

__all__ = ["DynapSimTorch"]


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


def _matmul_rows(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``a @ w`` for weights ``(N, M)``, or row by row for per-row weights ``(B, N, M)``."""
    return a @ w if w.dim() == 2 else (a.unsqueeze(-2) @ w).squeeze(-2)


class DynapSimTorch(DynapSimBase, TorchModule):
    """N DYNAP-SE2 neurons (AdExp-I&F DPI neurons with four DPI synapse types), in torch.

    The same model, arguments and input/output conventions as
    :class:`~rockpool_dynapse2.DynapSimJax`; see there. As every Rockpool
    ``TorchModule``, the module keeps its state between calls (``reset_state()`` returns
    to rest), so simulating in chunks equals one long call.

    ``shape``, ``core``, ``w_rec``, ``has_rec``, ``dt``, ``Iscale``, ``max_spikes_per_dt``,
    ``trainable``, ``seed``, ``dtype`` and ``**currents`` are as for
    :class:`~rockpool_dynapse2.DynapSimJax` (``dtype="float64"`` needs no global switch in
    torch).

    Args:
        chunk: steps per block of the backward pass (default ``sqrt(T)``): the forward
            pass keeps the state at the start of each block, and the backward pass runs
            one block forward again at a time, so a gradient's memory grows with
            ``sqrt(T)``.
        compile: run the time loop in pieces of ``compile_steps`` steps compiled by
            ``torch.compile`` (about 4x faster forward+backward; the first call compiles for
            roughly half a minute per input shape on a 2-core CPU, later processes reuse
            torch's on-disk cache).
        compile_steps: steps per compiled piece.
    """

    def __init__(
        self,
        shape: Union[int, Tuple[int, ...]],
        core: Optional[CoreParameters] = None,
        w_rec: Any = None,
        has_rec: bool = False,
        dt: float = 1e-3,
        Iscale: Optional[float] = None,
        max_spikes_per_dt: float = float("inf"),
        trainable: Sequence[str] = (),
        chunk: Optional[int] = None,
        seed: Optional[int] = None,
        dtype: str = "float32",
        compile: bool = False,
        compile_steps: int = 4,
        **currents: Any,
    ):
        if dtype not in ("float32", "float64"):
            raise ParameterValueError("dtype", "'float32' or 'float64'", dtype)
        spec = build_module_spec(
            shape,
            core=core,
            w_rec=w_rec,
            has_rec=has_rec,
            dt=dt,
            Iscale=Iscale,
            max_spikes_per_dt=max_spikes_per_dt,
            trainable=trainable,
            **currents,
        )
        super().__init__(shape=(spec.size_in, spec.n_neurons), spiking_input=False, spiking_output=True)
        torch_dtype = getattr(torch, dtype)
        cast = lambda x: torch.as_tensor(np.asarray(x), dtype=torch_dtype)
        w_rec_init = self._register(spec, cast, rp.Parameter, rp.SimulationParameter, rp.State, seed)
        self.max_spikes_per_dt = rp.SimulationParameter(spec.max_spikes_per_dt)
        self.chunk = rp.SimulationParameter(chunk if chunk is not None else 0)
        self.compile = rp.SimulationParameter(bool(compile))
        self.compile_steps = rp.SimulationParameter(int(compile_steps))
        self._piece = None

        if dtype == "float64":
            # Rockpool registers trainable parameters as float32; restore full precision.
            self.double()
            with torch.no_grad():
                for name, param in self.named_parameters(recurse=False):
                    source = spec.values.get(name, w_rec_init if name == "w_rec" else None)
                    if source is not None:
                        param.copy_(cast(source))

        self._record = False
        self._record_dict: Dict[str, torch.Tensor] = {}

    def _compiled_piece(self):
        """``(run_steps, recompute_steps, steps_back)`` compiled by ``torch.compile`` (once per
        module), or None when not compiling."""
        if not self.compile:
            return None
        if self._piece is None:
            self._piece = tuple(torch.compile(f, dynamic=False) for f in (run_steps, recompute_steps, steps_back))
        return self._piece

    def _block(self, T: int) -> int:
        """Steps per block of the backward pass (``chunk``, default ``ceil(sqrt(T))``)."""
        return max(1, min(T, int(self.chunk) or int(math.ceil(math.sqrt(T)))))

    def forward(self, input_data: Any) -> torch.Tensor:
        """Simulate over ``input_data`` ``(T, N_in)`` or ``(B, T, N_in)``; spike counts ``(B, T, N)``."""
        return self.simulate(input_data)

    def simulate(self, input_data: Any, rows: Optional[Mapping[str, torch.Tensor]] = None) -> torch.Tensor:
        """:meth:`forward`, optionally with per-row parameters: every batch element its own chip.

        Args:
            input_data: ``(T, N_in)`` or ``(B, T, N_in)``.
            rows: values that replace the module's parameters for this call, each with one
                row per batch element: a current or layout constant ``(B, N)``, ``w_rec``
                ``(B, N, N_in)``. B mismatched chips then run as one batch (one time loop,
                differentiable), e.g. for noise injection during training or a Monte-Carlo
                over chips.

        Returns:
            Spike counts ``(B, T, N)``.

        Raises:
            UnknownParameterError: a name in ``rows`` that is not a current, a layout
                constant or ``w_rec``.
            ShapeError: a value in ``rows`` of another shape.
        """
        p = self.parameters_record()
        dtype = p.Io.dtype
        x = _as_batched_input(input_data, self.size_in, dtype, p.Io.device)
        B, T, _ = x.shape
        if rows:
            allowed = CURRENT_NAMES + LAYOUT_NAMES + ("w_rec",)
            for name in rows:
                if name not in allowed:
                    raise UnknownParameterError("rows (of DynapSimTorch.simulate)", name, allowed)
            if "w_rec" in rows and p.w_rec is None:
                raise ParameterValueError("rows['w_rec']", "absent (the module has no recurrent weights)", "an array")
            p = p._replace(**{name: torch.as_tensor(v, dtype=dtype) for name, v in rows.items()})
        check_parameters(p, self.size_in, self.size_out, rows=B if rows else None)
        check_values("dt", self.dt)
        state = DynapState(**{name: _batched_state(name, getattr(self, name), B, self.size_out) for name in STATE_NAMES})
        dt = torch.as_tensor(self.dt, dtype=dtype, device=x.device)
        constants = prepare(OPS, p, dt, self.signed)
        split = split_signed_input if self.signed else split_multi_input
        if not self.signed:
            x = synapse_major(x)
        state = loop_state(state, idle_synapses(state.isyn, self.signed))
        max_spikes = float(self.max_spikes_per_dt)
        record = self._record
        loop = _Loop(constants, split, max_spikes, record, self._compiled_piece(), int(self.compile_steps))
        block = self._block(T)
        # The state enters the loop contiguous: the compiled pieces are specialised to their
        # inputs' strides, and a broadcast initial state (stride 0) or a synapse sliced from
        # the stored (B, N, 4) state would compile each piece again. Inside the loop every
        # state is a fresh, contiguous result.
        entry = tuple(None if t is None else t.contiguous() for t in _flatten(state))
        steps, flat = loop.run(x, entry, block)
        state = stored_state(OPS, _unflatten(flat))

        # Keep the batched state: the next call continues every batch element.
        self._force_set_attributes = True
        for name in STATE_NAMES:
            setattr(self, name, getattr(state, name).detach())
        self._force_set_attributes = False
        if not record:
            return steps
        ys = _unflatten(steps)
        zero = torch.zeros_like(ys.imem)
        rec = {f"i{name}": zero if i is None else i for name, i in zip(SYNAPSE_NAMES, ys.isyn)}
        rec.update({name: getattr(ys, name) for name in STATE_NAMES if name != "isyn"})
        self._record_dict = rec
        return ys.spikes

    def evolve(self, input_data: Any, record: bool = False) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Rockpool's low-level API: ``(spikes (B, T, N), new_state, record_dict)``."""
        self._record = record
        self._record_dict = {}
        out = torch.nn.Module.__call__(self, input_data)
        rec = self._record_dict if record else {}
        self._record_dict = {}
        return out, self.state(), rec


class _Loop:
    """The time loop of one call: the forward steps, and the backward pass of
    :class:`_LoopFunction`."""

    def __init__(
        self, constants: StepConstants, split: Any, max_spikes: float, record: bool, piece: Any, piece_steps: int
    ):
        self.constants = constants
        self.split = split
        self.max_spikes = max_spikes
        self.record = record
        self.piece = piece
        self.piece_steps = piece_steps
        self.leaves, self.rebuild = _tensor_leaves(constants)

    def steps(self, flat_state: Tuple[Optional[torch.Tensor], ...], xs: torch.Tensor):
        """Run over ``xs`` ``(B, K, N_in)``: compiled pieces of ``piece_steps`` where they fit."""
        outs = []
        K = self.piece_steps
        sizes = _piece_sizes(xs.shape[1], K) if self.piece is not None else [xs.shape[1]]
        for x_piece, size in zip(xs.split(sizes, dim=1), sizes):  # split: see run_steps
            steps = self.piece[0] if self.piece is not None and size == K else run_steps
            o, flat_state = steps(self.constants, flat_state, x_piece, self.split, self.max_spikes, self.record)
            outs.append(o)
        return _concat_steps(outs, self.record), flat_state

    def run(self, x: torch.Tensor, flat_state: Tuple[Optional[torch.Tensor], ...], block: int):
        """``(outputs, final flat state)``; differentiable through :class:`_LoopFunction`."""
        state_leaves = [t for t in flat_state if t is not None]
        if not torch.is_grad_enabled() or not any(t.requires_grad for t in [x, *self.leaves, *state_leaves]):
            with torch.no_grad():
                return self.steps(flat_state, x)
        present = tuple(t is not None for t in flat_state)
        n_out = sum(present) if self.record else 1
        results = _LoopFunction.apply(self, block, present, x, *self.leaves, *state_leaves)
        outs, final = results[:n_out], iter(results[n_out:])
        final_state = tuple(next(final) if p else None for p in present)
        if self.record:
            it = iter(outs)
            return tuple(next(it) if p else None for p in present), final_state
        return outs[0], final_state

    def backward(
        self,
        x: torch.Tensor,
        starts: list,
        block: int,
        cot_out: Any,
        needs_constants: Sequence[bool],
    ) -> Tuple[torch.Tensor, Tuple[Optional[torch.Tensor], ...], list]:
        """Step back through the blocks (the last first): run each block forward again from
        its saved start, keeping each step's state and synaptic input, then step back with
        the hand-written derivative of :mod:`.step_vjp`.

        Returns the cotangents of the input, of the initial state and of the constants'
        tensors (None where ``needs_constants`` is False). The recurrent weights' cotangent
        is ``sum_t spikes(t-1)^T g_t`` (``g_t``: the synaptic input's cotangent), one product
        per block; the other constants' come from automatic differentiation of each block's
        steps, only when a gradient asks for them.
        """
        c, split, max_spikes = self.constants, self.split, self.max_spikes
        w_rec = c.w_rec
        i_w = next((i for i, leaf in enumerate(self.leaves) if leaf is w_rec), None)
        local = c._replace(w_rec=None)
        other = [need and i != i_w for i, need in enumerate(needs_constants)]
        cot_c: list = [None] * len(self.leaves)
        cot_s = _unflatten(tuple(None if t is None else torch.zeros_like(t) for t in starts[-1]))
        cot_x = []
        w_rec_t = None if w_rec is None else w_rec.transpose(-1, -2).contiguous()
        K = self.piece_steps
        recompute, back = (recompute_steps, steps_back) if self.piece is None else self.piece[1:]
        x_blocks = x.split(block, dim=1)
        for j in range(len(x_blocks) - 1, -1, -1):
            # Forward again from the block's start, in pieces of K steps (compiled ones
            # where they fit), keeping every step's state and synaptic input.
            xb, t0 = x_blocks[j], j * block
            sizes = _piece_sizes(xb.shape[1], K)
            flat, pieces = starts[j], []
            for k, x_piece in enumerate(xb.split(sizes, dim=1)):
                run = recompute if sizes[k] == K else recompute_steps
                kept, us, flat = run(c, local, flat, x_piece, split, max_spikes)
                pieces.append((kept, us))
            # Back through the pieces, the last first.
            cot_flat, g_pieces, cots_new = _flatten(cot_s), [], []
            for k in range(len(sizes) - 1, -1, -1):
                kept, us = pieces[k]
                t_k = t0 + sum(sizes[:k])
                cot_piece = _time_slice(cot_out, t_k, sizes[k], self.record)
                step_back = back if sizes[k] == K else steps_back
                cot_flat, g_k, cots_k = step_back(local, w_rec_t, kept, us, cot_flat, cot_piece, self.record, split, max_spikes)
                g_pieces.append(g_k)
                if any(other):
                    cots_new = list(cots_k) + cots_new
            g_pieces.reverse()
            cot_s = _unflatten(cot_flat)
            g = torch.cat(g_pieces, dim=1)
            cot_x.append(g)
            states = [_unflatten(st) for kept, _ in pieces for st in kept]
            us = [u for _, piece_us in pieces for u in piece_us]
            cots_new = [_unflatten(cf) for cf in cots_new]
            if i_w is not None and needs_constants[i_w]:
                spikes = torch.stack([st.spikes for st in states], dim=1)
                if w_rec.dim() == 2:
                    dw = spikes.reshape(-1, spikes.shape[-1]).T @ g.reshape(-1, g.shape[-1])
                else:  # per-row recurrent weights
                    dw = torch.einsum("btn,btm->bnm", spikes, g)
                cot_c[i_w] = dw if cot_c[i_w] is None else cot_c[i_w] + dw
            if any(other):
                for i, gi in enumerate(self._constants_cotangent(states, us, cots_new, other)):
                    if gi is not None:
                        cot_c[i] = gi if cot_c[i] is None else cot_c[i] + gi
        cot_x.reverse()
        return torch.cat(cot_x, dim=1), _flatten(cot_s), cot_c

    def _constants_cotangent(self, states: list, us: list, cots: list, needed: Sequence[bool]) -> list:
        """Cotangents of the constants' tensors over one block, by automatic
        differentiation of its steps (each from its kept state and input)."""
        leaves = [leaf.detach().requires_grad_(True) if need else leaf for leaf, need in zip(self.leaves, needed)]
        with torch.enable_grad():
            c = self.rebuild(leaves)._replace(w_rec=None)
            outs, grads = [], []
            for s, u, cot in zip(states, us, cots):
                new = neuron_update(OPS, c, s, u, self.split, self.max_spikes)[0]
                for o, g in zip(_flatten(new), _flatten(cot)):
                    if o is not None and o.requires_grad:
                        outs.append(o)
                        grads.append(g)
            wanted = [leaf for leaf, need in zip(leaves, needed) if need]
            got = iter(torch.autograd.grad(outs, wanted, grads, allow_unused=True)) if outs else iter([None] * len(wanted))
        return [next(got) if need else None for need in needed]


def recompute_steps(
    constants: StepConstants, local: StepConstants, flat_state: tuple, xs: torch.Tensor, split: Any, max_spikes: float
) -> Tuple[list, list, tuple]:
    """Run over ``xs`` ``(B, K, N_in)`` again, keeping each step's state (flat) and synaptic
    input: ``(states, inputs, final flat state)``. ``local`` is ``constants`` without the
    recurrent weights (the inputs already hold the recurrent input)."""
    s = _unflatten(flat_state)
    states, us = [], []
    for x_t in xs.unbind(1):
        u = total_input(OPS, constants, s, x_t)
        states.append(_flatten(s))
        us.append(u)
        s = neuron_update(OPS, local, s, u, split, max_spikes)[0]
    return states, us, _flatten(s)


def steps_back(
    local: StepConstants,
    w_rec_t: Optional[torch.Tensor],
    states: Sequence[tuple],
    us: Sequence[torch.Tensor],
    cot_flat: tuple,
    cot_out: Any,
    record: bool,
    split: Any,
    max_spikes: float,
) -> Tuple[tuple, torch.Tensor, list]:
    """Step back through the K steps of :func:`recompute_steps`.

    Args:
        cot_flat: cotangent of the state after the last step (flat).
        cot_out: cotangent of the K steps' outputs, ``(B, K, N)`` (or a tuple of them, with
            ``record``).
        w_rec_t: the recurrent weights, transposed (or None).

    Returns:
        ``(cotangent of the state before the first step (flat), cotangents of the synaptic
        inputs (B, K, N_in), cotangents of each step's new state (flat))``.
    """
    cot_s = _unflatten(cot_flat)
    K = len(us)
    g_us: list = [None] * K
    cots: list = [None] * K
    for k in range(K - 1, -1, -1):
        cot_new = _add_output(cot_s, cot_out, k, record)
        cots[k] = _flatten(cot_new)
        cot_s, g_u = neuron_update_vjp(OPS, local, _unflatten(states[k]), us[k], split, max_spikes, cot_new)
        if w_rec_t is not None:
            cot_s = cot_s._replace(spikes=cot_s.spikes + _matmul_rows(g_u, w_rec_t))
        g_us[k] = g_u
    return _flatten(cot_s), torch.stack(g_us, dim=1), cots


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
    flat = tuple(None if c is None else c + o[:, t] for c, o in zip(_flatten(cot_s), cot_out))
    return _unflatten(flat)


class _LoopFunction(torch.autograd.Function):
    """The time loop as one autograd node: the forward pass runs without a graph and keeps
    the state at the start of every block; the backward pass is :meth:`_Loop.backward`.
    Memory grows with the number of blocks, not with the steps (no per-step graph)."""

    @staticmethod
    def forward(ctx, loop: _Loop, block: int, present: Tuple[bool, ...], x: torch.Tensor, *leaves: torch.Tensor):
        n_c = len(loop.leaves)
        it = iter(leaves[n_c:])
        flat = tuple(next(it) if p else None for p in present)
        starts, outs = [], []
        for xb in x.split(block, dim=1):
            starts.append(flat)
            out, flat = loop.steps(flat, xb)
            outs.append(out)
        out = _concat_steps(outs, loop.record)
        ctx.loop, ctx.block, ctx.present, ctx.n_starts = loop, block, present, len(starts)
        ctx.save_for_backward(x, *[t for st in starts for t in st if t is not None])
        final = tuple(t for t in flat if t is not None)
        ctx.mark_non_differentiable(*final)
        outputs = tuple(o for o in out if o is not None) if loop.record else (out,)
        return (*outputs, *final)

    @staticmethod
    def backward(ctx, *grads):
        loop, present = ctx.loop, ctx.present
        x, *kept = ctx.saved_tensors
        it = iter(kept)
        starts = [tuple(next(it) if p else None for p in present) for _ in range(ctx.n_starts)]
        if loop.record:
            g = iter(grads)
            cot_out = tuple(None if not p else _zeros_if_none(next(g), x, loop) for p in present)
        else:
            cot_out = _zeros_if_none(grads[0], x, loop)
        n_c = len(loop.leaves)
        needs = ctx.needs_input_grad[4 : 4 + n_c]
        cot_x, cot_state, cot_c = loop.backward(x, starts, ctx.block, cot_out, needs)
        cot_state = [t for t in cot_state if t is not None]
        return (None, None, None, cot_x, *cot_c, *cot_state)


def _zeros_if_none(g: Optional[torch.Tensor], x: torch.Tensor, loop: _Loop) -> torch.Tensor:
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


def run_steps(
    constants: Any, flat_state: Tuple[torch.Tensor, ...], xs: torch.Tensor, split: Any, max_spikes: float, record: bool
) -> Tuple[Any, Tuple[torch.Tensor, ...]]:
    """Advance the state over the steps of ``xs`` ``(B, K, N_in)``.

    Returns ``(spikes (B, K, N), state)``, or with ``record`` every state field stacked
    over the K steps instead of the spikes.
    """
    s = _unflatten(flat_state)
    outs = []
    # unbind: one backward node for all steps (indexing xs[:, t] made each step's backward
    # fill a zero tensor of the whole input, quadratic in T).
    for x_t in xs.unbind(1):
        s, spikes = neuron_step(OPS, constants, s, x_t, split, max_spikes)
        outs.append(_flatten(s) if record else spikes)
    if record:
        return tuple(None if field[0] is None else torch.stack(field, dim=1) for field in zip(*outs)), _flatten(s)
    return torch.stack(outs, dim=1), _flatten(s)


def _flatten(state: DynapState) -> Tuple[Optional[torch.Tensor], ...]:
    """A loop state (:func:`.step.loop_state`) as a flat tuple: four synapse currents (None
    where idle), then the other fields."""
    return tuple(state.isyn) + tuple(state[1:])


def _unflatten(flat: Sequence[Optional[torch.Tensor]]) -> DynapState:
    return DynapState(tuple(flat[:4]), *flat[4:])


def _concat_steps(pieces: list, record: bool) -> Any:
    if record:
        return tuple(None if field[0] is None else torch.cat(field, dim=1) for field in zip(*pieces))
    return torch.cat(pieces, dim=1)


def _as_batched_input(data: Any, size_in: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.as_tensor(data, dtype=dtype, device=device)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[-1] != size_in or x.shape[1] == 0 or x.shape[0] == 0:
        raise ShapeError("input_data", f"(T, {size_in}) or (B, T, {size_in}) with B, T >= 1", tuple(x.shape))
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = ~finite.detach().cpu().numpy()
        raise ParameterValueError("input_data", "finite", x.detach().cpu().numpy(), bad)
    return x


def _batched_state(name: str, value: torch.Tensor, B: int, n: int) -> torch.Tensor:
    """A stored state ``(N, ...)`` broadcast to ``(B, N, ...)``, or a batched one checked against B."""
    check_state(name, value)
    return value.expand((B,) + tuple(value.shape)) if state_needs_broadcast(name, value.shape, B, n) else value
