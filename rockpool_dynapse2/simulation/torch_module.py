"""``DynapSimTorch``: N DYNAP-SE2 neurons as a Rockpool ``TorchModule``.

The backend-specific parts only: torch tensors and the module's state between calls. The
time loop (the steps, the surrogate gradient, the backward pass in blocks, the compiled
pieces) is in :mod:`.torch_loop`; the equations are in :mod:`.step`, shared with
:class:`~.jax_module.DynapSimJax`.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np
import rockpool.parameters as rp
import torch
from rockpool.nn.modules.torch.torch_module import TorchModule

from ..errors import ParameterValueError, Shown, UnknownParameterError
from ..parameters.validate import flag, integer, mapping, real_array
from .module_base import DynapSimBase, check_input, check_input_type, check_outcome, record_dict
from .module_spec import PARAMETER_NAMES
from .records import DynapParams, DynapState
from .step import idle_synapses, loop_state, prepare, split_multi_input, split_signed_input, stored_state, synapse_major
from .torch_loop import OPS, TimeLoop, compile_pieces

__all__ = ["DynapSimTorch"]


class DynapSimTorch(DynapSimBase, TorchModule):
    """N DYNAP-SE2 neurons (AdExp-I&F DPI neurons with four DPI synapse types), in torch.

    The same model, arguments and input/output conventions as
    :class:`~rockpool_dynapse2.DynapSimJax`; see there. As every Rockpool
    ``TorchModule``, the module keeps its state between calls (``reset_state()`` returns
    to rest), so simulating in chunks equals one long call.

    ``shape``, ``seed``, ``dtype`` and ``**arguments`` (``core``, ``w_rec``, ``has_rec``,
    ``dt``, ``Iscale``, ``max_spikes_per_dt``, ``feedback_gradient``, ``trainable``, currents
    and layout constants) are as for :class:`~rockpool_dynapse2.DynapSimJax` (``dtype="float64"`` needs no global
    switch in torch).

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
        chunk: Optional[int] = None,
        seed: Optional[int] = None,
        dtype: str = "float32",
        compile: bool = False,
        compile_steps: int = 4,
        **arguments: Any,
    ):
        spec = self._module_spec(shape, dtype, arguments, chunk=chunk, seed=seed)
        compile = flag("compile", compile)
        compile_steps = integer("compile_steps", compile_steps, low=1)
        super().__init__(shape=(spec.size_in, spec.n_neurons), spiking_input=False, spiking_output=True)
        torch_dtype = getattr(torch, dtype)
        cast = lambda x: torch.as_tensor(np.asarray(x), dtype=torch_dtype)
        w_rec_init = self._register(spec, cast, rp.Parameter, rp.SimulationParameter, rp.State, seed)
        self.max_spikes_per_dt = rp.SimulationParameter(spec.max_spikes_per_dt)
        self.feedback_gradient = rp.SimulationParameter(spec.feedback_gradient)
        self.chunk = rp.SimulationParameter(chunk if chunk is not None else 0)
        self.compile = rp.SimulationParameter(compile)
        self.compile_steps = rp.SimulationParameter(compile_steps)
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
            self._piece = compile_pieces()
        return self._piece

    def _block(self, T: int) -> int:
        """Steps per block of the backward pass (``chunk``, default ``ceil(sqrt(T))``, and
        compiled: rounded up to whole compiled pieces, so that no block ends in steps that
        run eagerly)."""
        block = int(self.chunk) or int(math.ceil(math.sqrt(T)))
        if self.compile and not int(self.chunk):
            piece = int(self.compile_steps)
            block = -(-block // piece) * piece
        return max(1, min(T, block))

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
        given = check_input_type(input_data, str(dtype).replace("torch.", ""))
        x = check_input(_as_tensor(input_data, given, dtype, p.Io.device), self.size_in, given)
        B, T, _ = x.shape
        if rows is not None:
            mapping("rows", rows, "a mapping {parameter name: per-row values} (or None)")
        if rows:
            p = _with_rows(p, rows, dtype)
        self._check_call(p, rows=B if rows else None)
        state = self._batched_state(B)
        constants = prepare(OPS, p, torch.as_tensor(self.dt, dtype=dtype, device=x.device), self.signed,
                            float(self.feedback_gradient))
        split = split_signed_input if self.signed else split_multi_input
        if not self.signed:
            x = synapse_major(x)
        state = loop_state(state, idle_synapses(state.isyn, self.signed))
        record = self._record
        loop = TimeLoop(constants, split, float(self.max_spikes_per_dt), record, self._compiled_piece(), int(self.compile_steps))
        out, state = loop.run(x, state, self._block(T))
        state = stored_state(OPS, state)
        check_outcome(out.spikes if record else out, state)

        # Keep the batched state: the next call continues every batch element.
        self._force_set_attributes = True
        for name, value in zip(DynapState._fields, state):
            setattr(self, name, value.detach())
        self._force_set_attributes = False
        if not record:
            return out
        self._record_dict = record_dict(out, torch.zeros_like)
        return out.spikes

    def evolve(self, input_data: Any, record: bool = False) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Rockpool's low-level API: ``(spikes (B, T, N), new_state, record_dict)``."""
        self._record = flag("record", record)
        self._record_dict = {}
        out = torch.nn.Module.__call__(self, input_data)
        rec = self._record_dict if record else {}
        self._record_dict = {}
        return out, self.state(), rec

    @staticmethod
    def _state_array(value: Any) -> torch.Tensor:
        return value

    @staticmethod
    def _broadcast(value: torch.Tensor, shape: Tuple[int, ...]) -> torch.Tensor:
        return value.expand(shape)


def _with_rows(p: DynapParams, rows: Mapping[str, Any], dtype: torch.dtype) -> DynapParams:
    """``p`` with the per-row values of :meth:`DynapSimTorch.simulate`'s ``rows``.

    Raises:
        UnknownParameterError: a name that is not a current, a layout constant or ``w_rec``.
        ParameterValueError: ``w_rec`` for a module without recurrent weights.
    """
    allowed = PARAMETER_NAMES + ("w_rec",)
    for name in rows:
        if name not in allowed:
            raise UnknownParameterError("rows (of DynapSimTorch.simulate)", name, allowed)
    if "w_rec" in rows and p.w_rec is None:
        raise ParameterValueError("rows['w_rec']", "absent (the module has no recurrent weights)", Shown("an array"))
    return p._replace(**{name: _row_tensor(name, v, dtype) for name, v in rows.items()})


def _row_tensor(name: str, value: Any, dtype: torch.dtype) -> torch.Tensor:
    """A value of ``rows`` as a tensor of the module's dtype (keeping its gradient); a value
    that is not real numbers is refused by name."""
    if isinstance(value, torch.Tensor) and not (value.is_complex() or value.dtype == torch.bool):
        return value.to(dtype)
    return torch.as_tensor(real_array(f"rows[{name!r}]", value, finite=False), dtype=dtype)


def _as_tensor(x: Any, given: Optional[np.ndarray], dtype: torch.dtype, device: Any) -> torch.Tensor:
    """The input as a tensor of the module's dtype (a tensor keeps its gradient)."""
    if isinstance(x, torch.Tensor) or given is None:
        return torch.as_tensor(x, dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(given), dtype=dtype, device=device)
