"""``DynapSimTorch``: N DYNAP-SE2 neurons as a Rockpool ``TorchModule``.

The backend-specific parts only: torch tensors, the surrogate gradient as a
``torch.autograd.Function``, and the time loop (a Python loop over steps, run in
checkpointed chunks when gradients are needed, so memory grows with ``sqrt(T)``). The
equations are in :mod:`.step`, shared with :class:`~.jax_module.DynapSimJax`.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import rockpool.parameters as rp
import torch
from rockpool.nn.modules.torch.torch_module import TorchModule
from torch.utils.checkpoint import checkpoint

from ..errors import ParameterValueError, ShapeError
from ..parameters.core import CoreParameters
from .module_base import DynapSimBase
from .records import STATE_NAMES, SYNAPSE_NAMES, ArrayOps, DynapState
from .spec import (
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
    prepare,
    split_multi_input,
    split_signed_input,
    stored_state,
    synapse_major,
)

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
    recurrent=lambda spikes, w_rec: spikes @ w_rec,
)


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
        chunk: steps per checkpointed block when gradients are recorded; default: no
            checkpointing unless the autograd graph would exceed ``memory_budget``, then
            blocks of ``sqrt(T)`` steps (memory then grows with ``sqrt(T)``).
        compile: run the time loop in pieces of ``compile_steps`` steps compiled by
            ``torch.compile`` (about 4x faster forward+backward; the first call compiles for
            roughly half a minute per input shape on a 2-core CPU, later processes reuse
            torch's on-disk cache).
        compile_steps: steps per compiled piece.
        memory_budget: bytes the autograd graph may take before checkpointing starts.
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
        memory_budget: float = 2.0 * 2**30,
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
        self.memory_budget = rp.SimulationParameter(float(memory_budget))
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
        """``run_steps`` compiled by ``torch.compile`` (once per module), or None when not compiling."""
        if not self.compile:
            return None
        if self._piece is None:
            self._piece = torch.compile(run_steps, dynamic=False)
        return self._piece

    def _checkpoint_block(self, B: int, T: int) -> int:
        """Steps per checkpointed block: T (no checkpointing) unless gradients are recorded
        and the graph would exceed ``memory_budget`` bytes (or ``chunk`` asks for it)."""
        if not torch.is_grad_enabled():
            return T
        if int(self.chunk):
            return max(1, min(T, int(self.chunk)))
        itemsize = torch.finfo(self.Io.dtype).bits // 8
        graph_bytes = _SAVED_PER_STEP * B * self.size_out * itemsize * T
        return T if graph_bytes <= float(self.memory_budget) else max(1, int(math.ceil(math.sqrt(T))))

    def forward(self, input_data: Any) -> torch.Tensor:
        """Simulate over ``input_data`` ``(T, N_in)`` or ``(B, T, N_in)``; spike counts ``(B, T, N)``."""
        p = self.parameters_record()
        check_parameters(p, self.size_in, self.size_out)
        check_values("dt", self.dt)
        dtype = p.Io.dtype
        x = _as_batched_input(input_data, self.size_in, dtype, p.Io.device)
        B, T, _ = x.shape
        state = DynapState(**{name: _batched_state(name, getattr(self, name), B, self.size_out) for name in STATE_NAMES})
        dt = torch.as_tensor(self.dt, dtype=dtype, device=x.device)
        constants = prepare(OPS, p, dt, self.signed)
        split = split_signed_input if self.signed else split_multi_input
        if not self.signed:
            x = synapse_major(x)
        state = loop_state(state, idle_synapses(state.isyn, self.signed))
        max_spikes = float(self.max_spikes_per_dt)
        record = self._record
        piece = self._compiled_piece()

        def run(x_block: torch.Tensor, *flat_state: torch.Tensor):
            """Steps over a block of time; compiled pieces of ``compile_steps`` where they fit."""
            outs, flat_state = [], tuple(flat_state)
            K, n = int(self.compile_steps), x_block.shape[1]
            compiled = (n // K) if piece is not None else 0
            sizes = [K] * compiled + ([n - K * compiled] if n > K * compiled else [])
            for i, x_piece in enumerate(x_block.split(sizes, dim=1)):  # split: see run_steps
                steps = piece if i < compiled else run_steps
                o, flat_state = steps(constants, flat_state, x_piece, split, max_spikes, record)
                outs.append(o)
            return _concat_steps(outs, record), flat_state

        block = self._checkpoint_block(B, T)
        blocks, flat = [], _flatten(state)
        # split, like unbind in run_steps: one backward node for all blocks (slicing gave
        # each block's backward a zero tensor of the whole input).
        for xs in x.split(block, dim=1):
            if block < T:
                out, flat = checkpoint(run, xs, *flat, use_reentrant=False)
            else:
                out, flat = run(xs, *flat)
            blocks.append(out)
        steps = _concat_steps(blocks, record)
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


_SAVED_PER_STEP = 64
"""Tensors of shape (B, N) autograd keeps per step (measured order of magnitude)."""


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
