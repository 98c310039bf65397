"""``DynapSimJax``: N DYNAP-SE2 neurons as a Rockpool ``JaxModule``.

The backend-specific parts only: jax arrays, the surrogate gradient as a
``jax.custom_jvp``, and the time loop as a ``lax.scan`` over checkpointed chunks (so the
memory of a gradient grows with ``sqrt(T)``, not ``T``), compiled once per shape. The
equations are in :mod:`.step`.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Dict, Optional, Tuple, Union

import jax
import jax.numpy as jnp
from rockpool.nn.modules.jax.jax_module import JaxModule
from rockpool.parameters import Parameter, SimulationParameter, State

from ..errors import ParameterValueError
from ..parameters.validate import flag
from .module_base import DynapSimBase, check_input, check_input_type, check_outcome, record_dict
from .records import ArrayOps, DynapParams, DynapState
from .spiking import spike_count_forward, surrogate_slope
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

__all__ = ["DynapSimJax"]


@jax.custom_jvp
def spike_count(x: jax.Array, max_spikes: jax.Array) -> jax.Array:
    """Spikes in a step from ``x = log(Imem/Ispkthr)``; surrogate gradient :func:`.spiking.surrogate_slope`."""
    return spike_count_forward(jnp.ceil, jnp.clip, x, max_spikes)


@spike_count.defjvp
def _spike_count_jvp(primals, tangents):
    x, max_spikes = primals
    x_dot, _ = tangents
    return spike_count(x, max_spikes), surrogate_slope(x) * x_dot


@jax.custom_vjp
def recurrent_input(spikes: jax.Array, w_rec: jax.Array, w_rec_t: jax.Array) -> jax.Array:
    """``spikes @ w_rec``, whose backward pass multiplies by ``w_rec_t`` (``w_rec.T``,
    transposed once before the time loop: a product with a transposed operand in every
    step of the backward pass costs twice as long)."""
    return spikes @ w_rec


def _recurrent_input_fwd(spikes, w_rec, w_rec_t):
    return spikes @ w_rec, (spikes, w_rec_t)


def _recurrent_input_bwd(residuals, g):
    spikes, w_rec_t = residuals
    return g @ w_rec_t, spikes.T @ g, jnp.zeros_like(w_rec_t)


recurrent_input.defvjp(_recurrent_input_fwd, _recurrent_input_bwd)


def fence_with(one: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """``fence(x) = x / one``, with ``one`` an array of ones that XLA cannot fold (outside
    the gradient): the value and the gradient are exactly ``x``'s.

    XLA fuses cheap elementwise chains into every consumer; a division is "expensive", so
    it is not duplicated: the chain that computes ``x`` then runs once per step instead of
    once per consumer (the membrane update feeds the voltage, the spike count and the
    reset: 18 % of the forward pass at N = 256, B = 16).

    ``one`` is a ``(B, N)`` array made once, before the time loop (:func:`_ones_like`). As
    an array read from memory (rather than ``1 + 0 sign(x)`` computed in the step) it also
    keeps the membrane kernel's ratio of operations to bytes at or below 1, where XLA's
    CPU cost model runs a kernel on one thread: split over the two cores, that kernel took
    17 us per step instead of 8 (forward + gradient at N = 256, B = 16: 4-5 % faster).
    """
    return lambda x: x / one


def _ones_like(x: jax.Array) -> jax.Array:
    """Ones of ``x``'s shape that XLA cannot fold to a constant (``1 + 0 sign(x)``; ``x``
    finite or infinite)."""
    return jax.lax.stop_gradient(1.0 + 0.0 * jnp.sign(x))


OPS = ArrayOps(
    exp=jnp.exp,
    log=jnp.log,
    maximum=jnp.maximum,
    relu=jax.nn.relu,
    where=jnp.where,
    zeros_like=jnp.zeros_like,
    stop_gradient=jax.lax.stop_gradient,
    stack=lambda arrays, axis: jnp.stack(arrays, axis=axis),
    spike_count=spike_count,
    fence=lambda x: x,  # _run uses fence_with(ones of the state's shape)
    recurrent=lambda spikes, w_rec: recurrent_input(spikes, *w_rec),
)


def _chunk_length(T: int, chunk: Optional[int]) -> int:
    """Steps per checkpointed chunk: ``chunk`` if given, else about ``sqrt(T)``, preferring
    a divisor of ``T`` between ``sqrt(T) / 2`` and ``2 sqrt(T)`` (then no step is left over:
    the left-over steps cost a copy of the input, the outputs and their cotangents, 5 % of
    a forward + gradient at N = 256, B = 16, T = 1000)."""
    if chunk:
        return max(1, min(T, chunk))
    root = math.sqrt(T)
    divisors = [k for k in range(max(2, math.ceil(root / 2)), int(2 * root) + 1) if T % k == 0]
    if divisors:
        return min(divisors, key=lambda k: (abs(math.log(k / root)), k))
    return max(1, min(T, int(math.ceil(root))))


def _multi_split(idle: Tuple[int, ...]) -> Callable[..., Tuple[Any, ...]]:
    """:func:`split_multi_input`, giving no input (None) to the ``idle`` synapse types
    (whose inputs are all 0: the caller's promise, see :func:`evolve_arrays`)."""
    if not idle:
        return split_multi_input

    def split(ops: ArrayOps, w: Any) -> Tuple[Any, ...]:
        return tuple(None if k in idle else x for k, x in enumerate(split_multi_input(ops, w)))

    return split


def _run(
    params: DynapParams,
    state: DynapState,
    xs: jax.Array,
    dt: jax.Array,
    max_spikes: jax.Array,
    signed: bool,
    record: bool,
    chunk: Optional[int],
    idle: Tuple[int, ...],
    feedback_gradient: float = 1.0,
) -> Tuple[Any, DynapState]:
    """The time loop over time-major inputs ``xs`` ``(T, B, N_in)``: returns the spike counts
    ``(T, B, N)`` (or, with ``record``, every state, time-major and as the loop carries it)
    and the final state."""
    constants = prepare(OPS, params, dt, signed, feedback_gradient)
    if constants.w_rec is not None:
        constants = constants._replace(w_rec=(constants.w_rec, constants.w_rec.T))
    split = split_signed_input if signed else _multi_split(idle)
    if not signed:
        xs = synapse_major(xs)
    state = loop_state(state, idle)
    ops = OPS._replace(fence=fence_with(_ones_like(state.imem)))

    def step(s: DynapState, w_t: jax.Array):
        s, spikes = neuron_step(ops, constants, s, w_t, split, max_spikes)
        return s, (s if record else spikes)

    # Gradients rematerialise each step inside its own backward step, from the step's
    # inputs and its recurrent product (saved): fewer, larger fusions than saving every
    # intermediate the step's derivative needs (10 % faster at N = 256, B = 16).
    step_remat = jax.checkpoint(step, policy=jax.checkpoint_policies.dots_saveable, prevent_cse=False)

    def run(s: DynapState, xs: jax.Array):
        return jax.lax.scan(step_remat, s, xs)

    T = xs.shape[0]
    k = _chunk_length(T, chunk)
    n_chunks, rest = divmod(T, k)
    outs = []
    if n_chunks:
        # Up to _SAVED_PRODUCTS_BYTES, the chunks keep their recurrent products for the
        # backward pass, which then recomputes only the elementwise part of the steps.
        saved = constants.w_rec is not None and xs.size * xs.dtype.itemsize <= _SAVED_PRODUCTS_BYTES
        body = jax.checkpoint(run, policy=jax.checkpoint_policies.dots_saveable if saved else None)
        head = xs[: n_chunks * k].reshape((n_chunks, k) + xs.shape[1:])
        state, ys = jax.lax.scan(body, state, head)
        outs.append(jax.tree_util.tree_map(lambda y: y.reshape((n_chunks * k,) + y.shape[2:]), ys))
    if rest:
        state, ys = run(state, xs[n_chunks * k :])
        outs.append(ys)
    ys = jax.tree_util.tree_map(lambda *y: jnp.concatenate(y, axis=0), *outs)
    return ys, stored_state(OPS, state)


@functools.partial(jax.custom_vjp, nondiff_argnums=(5, 6, 7, 8, 9))
def _run_recurrent(params, state, xs, dt, max_spikes, signed, record, chunk, idle, feedback_gradient):
    """:func:`_run` with recurrent weights, whose gradient :func:`_run_recurrent_bwd`
    computes after the loop."""
    return _run(params, state, xs, dt, max_spikes, signed, record, chunk, idle, feedback_gradient)


def _run_recurrent_fwd(params, state, xs, dt, max_spikes, signed, record, chunk, idle, feedback_gradient):
    w_rec = params.w_rec  # closed over: the scan's backward pass takes no gradient for it

    def run(p, s, x, d, m):
        return _run(p._replace(w_rec=w_rec), s, x, d, m, signed, record, chunk, idle, feedback_gradient)

    out, vjp = jax.vjp(run, params._replace(w_rec=None), state, xs, dt, max_spikes)
    # The raster for the recurrent weights' gradient, as small integers (a quarter of the
    # memory): counts are at most log(largest float / Io), ~89 in float32, ~710 in float64,
    # or max_spikes, which may be fractional: min(ceil(count), max_spikes) restores it.
    spikes = out[0].spikes if record else out[0]
    raster = jnp.ceil(spikes).astype(jnp.int8 if spikes.dtype == jnp.float32 else jnp.int16)
    return out, (vjp, state.spikes, raster, max_spikes)


def _run_recurrent_bwd(signed, record, chunk, idle, feedback_gradient, residuals, cotangent):
    """Backward pass with the recurrent weights' gradient computed once, after the loop.

    The recurrent input ``spikes(t-1) @ w_rec`` adds to the external input of step ``t``,
    so its cotangent is the input's cotangent ``g_t`` and
    ``dL/dw_rec = sum_t spikes(t-1)^T g_t``: a few large matrix products
    (:func:`_recurrent_weight_gradient`) instead of an ``N x N_in`` accumulation inside
    every step of the scan's backward pass. The forward pass kept ``jax.vjp``'s residuals,
    so the loop is not run forward again. Everything is time-major here: the windows of
    the raster and of the cotangents are contiguous.
    """
    vjp, first, raster, max_spikes = residuals
    g_params, g_state, g_xs, g_dt, g_max = vjp(cotangent)
    g_w_rec = _recurrent_weight_gradient(first, raster, g_xs, max_spikes)
    return g_params._replace(w_rec=g_w_rec), g_state, g_xs, g_dt, g_max


def _recurrent_weight_gradient(
    first: jax.Array, raster: jax.Array, g: jax.Array, max_spikes: jax.Array, window: int = 64
) -> jax.Array:
    """``sum_t spikes(t-1)^T g_t`` with ``spikes(-1) = first``, in products over windows of
    ``window`` steps (no ``(T, B, N)`` temporaries: a shifted copy of the raster would add
    to the gradient's peak memory).

    Args:
        first: spikes of the step before the first, ``(B, N)``.
        raster: ``ceil`` of the spike counts, integers, time-major ``(T, B, N)``.
        g: cotangents of the inputs, time-major ``(T, B, N_in)``.
        max_spikes: the most spikes per step (the counts are ``min(raster, max_spikes)``).
    """
    T = raster.shape[0]
    total = first.T @ g[0]
    if T == 1:
        return total
    k = min(window, T - 1)
    steps = jnp.arange(k)

    def add_window(i, acc):
        # Steps t = start .. start + k - 1 of the raster meet the cotangents of t + 1; the
        # last window is moved back to fit and skips the steps it shares with the previous.
        start = jnp.minimum(i * k, T - 1 - k)
        s = jnp.minimum(jax.lax.dynamic_slice_in_dim(raster, start, k, axis=0).astype(g.dtype), max_spikes)
        s = jnp.where((start + steps >= i * k)[:, None, None], s, 0.0)
        gw = jax.lax.dynamic_slice_in_dim(g, start + 1, k, axis=0)
        return acc + s.reshape((-1, s.shape[-1])).T @ gw.reshape((-1, gw.shape[-1]))

    return jax.lax.fori_loop(0, -(-(T - 1) // k), add_window, total)


_run_recurrent.defvjp(_run_recurrent_fwd, _run_recurrent_bwd)


@functools.partial(jax.jit, static_argnames=("signed", "record", "chunk", "idle", "feedback_gradient"))
def evolve_arrays(
    params: DynapParams,
    state: DynapState,
    inputs: jax.Array,
    dt: jax.Array,
    max_spikes: jax.Array,
    signed: bool,
    record: bool,
    chunk: Optional[int] = None,
    idle: Tuple[int, ...] = (),
    feedback_gradient: float = 1.0,
) -> Tuple[jax.Array, DynapState, Dict[str, jax.Array]]:
    """Simulate N neurons over T steps: the pure, compiled core of :class:`DynapSimJax`.

    Args:
        params: parameters, each ``(N,)`` (``w_rec`` ``(N, N_in)`` or None).
        state: initial state, ``(B, N)`` arrays (``isyn`` ``(B, N, 4)``).
        inputs: input weights per step in units of ``Iscale``, ``(B, T, N_in)``.
        dt: time step (s).
        max_spikes: the most spikes per neuron and step.
        signed: input layout (see :func:`.step.split_signed_input`).
        record: also return every state over time.
        chunk: steps per checkpointed chunk (default about ``sqrt(T)``, see :func:`_chunk_length`).
        idle: synapse types that are at 0 in ``state`` and get no input (see
            :func:`.step.loop_state`; with the multi-synapse layout their columns of
            ``inputs`` must be 0); the loop skips them.
        feedback_gradient: the share of the positive feedback factor's derivative the
            backward pass keeps (a Python float in ``[0, 1]``; see :mod:`.membrane`).

    Returns:
        ``(spikes (B, T, N), final state, record)``.
    """
    # A module closed over by ``jax.jit(net)`` makes its currents, state and dt constants
    # of the computation; XLA then evaluates and simplifies the arithmetic on them while
    # compiling, which rounds differently from the compiled step (passing the currents as
    # arguments instead removes the difference): the membrane drifted from the eager run's
    # by up to 6e-5 relative over 1000 recurrent steps (2.2e-6 V, Rockpool's test allows
    # 1.5e-6). Behind the barrier they are values the compiled loop computes with, as in an
    # eager call, and the two agree bit for bit.
    params, state, dt, max_spikes = jax.lax.optimization_barrier((params, state, dt, max_spikes))
    xs = jnp.swapaxes(inputs, 0, 1)  # (T, B, N_in): the loop runs over the leading axis
    run = _run if params.w_rec is None else _run_recurrent
    ys, state = run(params, state, xs, dt, max_spikes, signed, record, chunk, idle, feedback_gradient)
    ys = jax.tree_util.tree_map(lambda y: jnp.swapaxes(y, 0, 1), ys)  # batch first
    if not record:
        return ys, state, {}
    return ys.spikes, state, record_dict(ys, jnp.zeros_like)


_SAVED_PRODUCTS_BYTES = 128 * 2**20
"""Largest size of the recurrent products ``(T, B, N_in)`` a gradient keeps from the
forward pass (above it, the backward pass recomputes them chunk by chunk). 128 MiB keeps
them at N = 1024, B = 16, T = 1000 (64 MiB; the gradient is then 18 % faster, where the
products are most of the work) and not at N = 256, B = 16, T = 10 000 (164 MiB, where
memory matters more). The limit holds per instance: under ``jax.vmap`` (e.g. over
mismatched chips) each instance keeps up to this much."""


class DynapSimJax(DynapSimBase, JaxModule):
    """N DYNAP-SE2 neurons (AdExp-I&F DPI neurons with four DPI synapse types), in JAX.

    Inputs are weights in units of ``Iscale`` per time step, ``(B, T, N_in)``; outputs are
    spike counts ``(B, T, N)``. ``N_in`` is ``N`` (signed input: positive weights drive
    AMPA, negative GABA; so ``Sequential(LinearJax((n, N)), DynapSimJax((N,)))`` works
    as with Rockpool's DynapSim) or ``4 N`` (channel ``4 i + k`` drives synapse ``k`` =
    AMPA, NMDA, GABA, SHUNT of neuron ``i``, Rockpool's multi-synapse convention).

    Like every Rockpool ``JaxModule`` the module is functional: a call returns the new
    state, and ``mod = mod.set_attributes(new_state)`` carries it into the next call
    (chunked simulation then equals one long call exactly); ``mod.reset_state()``
    returns to rest.

    Args:
        shape: ``N``, ``(N,)``, ``(N, N)`` or ``(4 N, N)``.
        chunk: steps per checkpointed chunk of the time loop (default about ``sqrt(T)``,
            a divisor of ``T`` when one is near).
        seed: seed of the random recurrent weights.
        dtype: ``"float32"`` (default) or ``"float64"`` (needs ``jax_enable_x64``).
        **arguments: what the network is made of, resolved and checked by
            :func:`~.module_spec.build_module_spec` (the same for both backends):

            * ``core``: a :class:`~rockpool_dynapse2.parameters.CoreParameters` to take the
              currents from (default: the chip's default operating point);
            * ``w_rec``: recurrent weights ``(N, N_in)`` in units of ``Iscale`` (trainable);
              ``has_rec``: give the module (randomly initialised) recurrent weights;
            * ``dt``: time step (s); ``Iscale``: current (A) of a weight of 1.0 (default
              10 nA); ``max_spikes_per_dt``: the most spikes per neuron and step (default
              unbounded); ``feedback_gradient``: the share of the positive feedback
              factor's derivative the backward pass keeps (default 1, exact; see
              :mod:`.membrane`);
            * ``trainable``: currents/constants to register as trainable ``Parameter`` s
              (e.g. ``("Itau_mem", "Ispkthr")``); all others are ``SimulationParameter`` s;
            * currents and layout constants by name (every name of
              :data:`~.records.CURRENT_NAMES` and :data:`~.records.LAYOUT_NAMES`, e.g.
              ``Itau_mem=...``, ``C_mem=...``; Rockpool DynapSim's merged ``Itau_syn``,
              ``Igain_syn``, ``C_syn`` set all four synapse types), scalar or ``(N,)``.
    """

    def __init__(
        self,
        shape: Union[int, Tuple[int, ...]],
        chunk: Optional[int] = None,
        seed: Optional[int] = None,
        dtype: str = "float32",
        **arguments: Any,
    ):
        spec = self._module_spec(shape, dtype, arguments, chunk=chunk, seed=seed)
        if dtype == "float64" and not jax.config.jax_enable_x64:
            raise ParameterValueError(
                "dtype", "'float32' unless jax_enable_x64 is set (jax.config.update('jax_enable_x64', True))", dtype
            )
        super().__init__(shape=(spec.size_in, spec.n_neurons), spiking_input=False, spiking_output=True)
        cast = lambda x: jnp.asarray(x, dtype=dtype)
        self._register(spec, cast, Parameter, SimulationParameter, State, seed)
        # Static configuration: not part of the pytree's leaves (see tree_flatten).
        self._static = (
            ("has_rec", spec.has_rec),
            ("max_spikes_per_dt", spec.max_spikes_per_dt),
            ("feedback_gradient", spec.feedback_gradient),
            ("trainable", spec.trainable),
            ("chunk", chunk),
            ("seed", seed),
            ("dtype", dtype),
        )

    def tree_flatten(self) -> Tuple[tuple, tuple]:
        """Flatten for jax: parameters, simulation parameters and state are leaves; the
        static configuration (recurrence, dtype, chunking, ...) is auxiliary data."""
        children = (self.parameters(), self.simulation_parameters(), self.state(), self.modules())
        return children, (self._name, self._shape, self._submodulenames, self._static)

    @classmethod
    def tree_unflatten(cls, aux_data: tuple, children: tuple) -> "DynapSimJax":
        """Rebuild from :meth:`tree_flatten`'s output (values may be tracers)."""
        params, sim_params, state, _ = children
        name, shape, _, static = aux_data
        obj = cls(shape=shape, **dict(static))
        obj._name = name
        obj._force_set_attributes = True
        obj = obj.set_attributes(params)
        obj = obj.set_attributes(state)
        obj = obj.set_attributes(sim_params)
        obj._force_set_attributes = False
        return obj

    def set_attributes(self, new_attributes: Dict[str, Any]) -> "DynapSimJax":
        """A copy with new attribute values, e.g. the state returned by a call.

        States may carry a batch dimension ``(B, N, ...)``, so the next call continues each
        batch element; :meth:`evolve` checks every shape.
        """
        self._force_set_attributes = True
        try:
            mod = super().set_attributes(new_attributes)
        finally:
            self._force_set_attributes = False
        mod._force_set_attributes = False
        return mod

    def evolve(self, input_data: Any, record: bool = False) -> Tuple[jax.Array, Dict[str, jax.Array], Dict[str, jax.Array]]:
        """Simulate over ``input_data`` ``(T, N_in)`` or ``(B, T, N_in)``.

        Returns:
            ``(spikes (B, T, N), new_state, record_dict)``; ``record_dict`` holds every
            state over time, ``(B, T, N)``, when ``record`` is True.
        """
        record = flag("record", record)
        p = self.parameters_record()
        self._check_call(p)
        static = dict(self._static)
        given = check_input_type(input_data, static["dtype"])
        x = check_input(jnp.asarray(input_data, dtype=static["dtype"]), self.size_in, given)
        state = self._batched_state(x.shape[0])
        dtype = x.dtype
        spikes, state, rec = evolve_arrays(
            p,
            state,
            x,
            jnp.asarray(self.dt, dtype),
            jnp.asarray(static["max_spikes_per_dt"], dtype),
            signed=self.signed,
            record=record,
            chunk=static["chunk"],
            idle=idle_synapses(state.isyn, self.signed),
            feedback_gradient=static["feedback_gradient"],
        )
        check_outcome(spikes, state)
        return spikes, state._asdict(), rec

    @staticmethod
    def _state_array(value: Any) -> jax.Array:
        return jnp.asarray(value)

    @staticmethod
    def _broadcast(value: jax.Array, shape: Tuple[int, ...]) -> jax.Array:
        return jnp.broadcast_to(value, shape)
