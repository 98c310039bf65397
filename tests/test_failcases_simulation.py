"""Every named error of the simulation modules, in both backends.

Each test asserts the error *type* (the contract) and the offending parameter's name on the
error object; bad values must raise before any simulation, never come back as NaN spikes.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import rockpool_dynapse2 as rd
from rockpool_dynapse2.errors import Dynapse2Error, ParameterValueError, ShapeError, UnknownParameterError
from rockpool_dynapse2.simulation import CURRENT_NAMES, LAYOUT_NAMES

N = 3
BAD = pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1e-9, 0.0], ids=["nan", "inf", "-inf", "neg", "zero"])
SOME_NAMES = ("Itau_mem", "Ispkthr", "Idc", "Igain_nmda", "C_mem", "C_ampa", "Io", "Ut", "kappa_n")


def _set_and_call(backend, mod, name, value, x=None):
    """Assign ``name`` after construction (JAX: set_attributes; torch: attribute), then call."""
    x = np.zeros((5, mod.size_in)) if x is None else x
    if backend == "jax":
        mod = mod.set_attributes({name: value})
        return mod(x)
    setattr(mod, name, value)
    return mod(x)


def _array(backend, values):
    return jnp.asarray(values, jnp.float32) if backend == "jax" else torch.as_tensor(values, dtype=torch.float32)


# --- ParameterValueError -------------------------------------------------------------------------


@BAD
@pytest.mark.parametrize("name", SOME_NAMES)
def test_bad_value_at_construction(backend, module_class, name, bad):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), **{name: bad})
    assert info.value.name == name
    assert name in str(info.value)


def test_every_current_and_constant_is_checked(backend, module_class):
    for name in CURRENT_NAMES + LAYOUT_NAMES:
        with pytest.raises(ParameterValueError) as info:
            module_class(backend)((N,), **{name: -1.0})
        assert info.value.name == name


def test_bad_entry_of_a_per_neuron_array(backend, module_class):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), Ispkthr=np.array([1e-7, math.nan, 1e-7]))
    assert info.value.name == "Ispkthr" and "index 1" in str(info.value)


def test_bad_alias_value(backend, module_class):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), Itau_syn=-1e-11)
    assert info.value.name.startswith("Itau_")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1e-12, 0.0], ids=["nan", "inf", "neg", "zero"])
@pytest.mark.parametrize("name", ["Itau_mem", "Ispkthr", "C_mem", "Itau_gaba"])
def test_bad_value_set_later_raises_on_call(backend, module_class, name, bad):
    mod = module_class(backend)((N,))
    with pytest.raises(ParameterValueError) as info:
        _set_and_call(backend, mod, name, _array(backend, np.full(N, bad)))
    assert info.value.name == name


@pytest.mark.parametrize("bad", [-1.0, 0.0, math.nan])
def test_bad_iscale(backend, module_class, bad):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), Iscale=bad)
    assert info.value.name == "Iscale"
    mod = module_class(backend)((N,))
    with pytest.raises(ParameterValueError) as info:
        _set_and_call(backend, mod, "Iscale", _array(backend, bad))
    assert info.value.name == "Iscale"


@pytest.mark.parametrize("dt", [0.0, -1e-3, math.nan, math.inf])
def test_bad_dt(backend, module_class, dt):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), dt=dt)
    assert info.value.name == "dt"
    mod = module_class(backend)((N,))
    with pytest.raises(ParameterValueError) as info:
        _set_and_call(backend, mod, "dt", dt)
    assert info.value.name == "dt"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input(backend, module_class, bad):
    mod = module_class(backend)((4 * N, N))
    x = np.zeros((2, 5, 4 * N))
    x[1, 3, 7] = bad
    with pytest.raises(ParameterValueError) as info:
        mod(x)
    assert info.value.name == "input_data"


def test_non_finite_w_rec(backend, module_class):
    w = np.zeros((N, N))
    w[1, 2] = math.nan
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), w_rec=w)
    assert info.value.name == "w_rec"
    mod = module_class(backend)((N,), has_rec=True)
    with pytest.raises(ParameterValueError) as info:
        _set_and_call(backend, mod, "w_rec", _array(backend, w))
    assert info.value.name == "w_rec"


@pytest.mark.parametrize("dtype", ["float16", "int32", "double", ""])
def test_bad_dtype(backend, module_class, dtype):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), dtype=dtype)
    assert info.value.name == "dtype"


def test_jax_float64_needs_x64():
    """Without ``jax_enable_x64`` a float64 module would silently compute in float32."""
    with pytest.raises(ParameterValueError) as info:
        rd.DynapSimJax((N,), dtype="float64")
    assert info.value.name == "dtype"


def test_bad_max_spikes_per_dt(backend, module_class):
    with pytest.raises(ParameterValueError) as info:
        module_class(backend)((N,), max_spikes_per_dt=0)
    assert info.value.name == "max_spikes_per_dt"


# --- ShapeError ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (0,), (3, 0), (2, 3, 4), (), (-3,), (8, 3), (12, 4)])
def test_bad_shape_argument(backend, module_class, shape):
    with pytest.raises(ShapeError) as info:
        module_class(backend)(shape)
    assert info.value.name == "shape"


@pytest.mark.parametrize(
    "shape, x_shape",
    [((N,), (5, N + 1)), ((N,), (1, 5, 4 * N)), ((4 * N, N), (5, N)), ((N,), (N,)), ((N,), (1, 1, 5, N))],
)
def test_wrong_input_shape(backend, module_class, shape, x_shape):
    mod = module_class(backend)(shape)
    with pytest.raises(ShapeError) as info:
        mod(np.zeros(x_shape))
    assert info.value.name == "input_data"


@pytest.mark.parametrize("shape, w_shape", [((N,), (N, N + 1)), ((N,), (N + 1, N)), ((4 * N, N), (N, N)), ((N,), (N,))])
def test_wrong_w_rec_shape_at_construction(backend, module_class, shape, w_shape):
    with pytest.raises(ShapeError) as info:
        module_class(backend)(shape, w_rec=np.zeros(w_shape))
    assert info.value.name == "w_rec"


def test_wrong_w_rec_shape_set_later_jax():
    mod = rd.DynapSimJax((N,), has_rec=True)
    with pytest.raises(ShapeError) as info:
        _set_and_call("jax", mod, "w_rec", jnp.zeros((N, N + 1)))
    assert info.value.name == "w_rec"


def test_wrong_w_rec_shape_set_later_torch():
    """Rockpool's TorchModule refuses a reshaped parameter on assignment (a ValueError);
    changing the tensor's data behind its back is caught by our check on the next call."""
    mod = rd.DynapSimTorch((N,), has_rec=True)
    with pytest.raises(ValueError):
        mod.w_rec = torch.zeros((N, N + 1))
    mod.w_rec.data = torch.zeros((N, N + 1))
    with pytest.raises(ShapeError) as info:
        mod(np.zeros((5, N)))
    assert info.value.name == "w_rec"


def test_wrong_per_neuron_length(backend, module_class):
    with pytest.raises(ShapeError) as info:
        module_class(backend)((N,), Idc=np.full(N + 1, 1e-9))
    assert info.value.name == "Idc"


def test_wrong_current_shape_set_later_jax():
    mod = rd.DynapSimJax((N,))
    with pytest.raises(ShapeError) as info:
        _set_and_call("jax", mod, "Itau_mem", jnp.full(N + 1, 5e-12))
    assert info.value.name == "Itau_mem"


def test_batched_state_must_match_the_batch(backend, module_class):
    """The state of a batch of 2 cannot continue a batch of 3 (reset_state first)."""
    mod = module_class(backend)((N,))
    if backend == "jax":
        _, state, _ = mod(np.zeros((2, 5, N)))
        mod = mod.set_attributes(state)
    else:
        with torch.no_grad():
            mod(np.zeros((2, 5, N)))
    with pytest.raises(ShapeError):
        mod(np.zeros((3, 5, N)))
    mod = mod.reset_state()
    out = mod(np.zeros((3, 5, N)))[0]
    assert tuple(out.shape) == (3, 5, N)


# --- UnknownParameterError ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Itau_foo", "tau_mem", "Itau_syn_ampa", "weights", "Iw_0"])
def test_unknown_keyword(backend, module_class, name):
    with pytest.raises(UnknownParameterError) as info:
        module_class(backend)((N,), **{name: 1e-12})
    err = info.value
    assert err.name == name
    # The error lists the valid names, including the currents, constants and aliases.
    for valid in ("Idc", "Itau_mem", "Ispkthr", "C_mem", "Itau_syn"):
        assert valid in err.valid and valid in str(err)
    assert isinstance(err, KeyError)


@pytest.mark.parametrize("name", ["Itau_foo", "w_rec", "Itau_syn", "dt"])
def test_unknown_trainable(backend, module_class, name):
    with pytest.raises(UnknownParameterError) as info:
        module_class(backend)((N,), trainable=(name,))
    assert info.value.name == name
    assert "Ispkthr" in info.value.valid


def test_from_high_level_unknown_name(backend, module_class):
    with pytest.raises(UnknownParameterError):
        module_class(backend).from_high_level((N,), tau_foo=1e-3)


# --- all of them ------------------------------------------------------------------------------------


def test_errors_are_dynapse2_errors_and_no_nan_spikes(backend, module_class):
    """Every failure above raises a Dynapse2Error; none returns (NaN) spikes instead."""
    cls = module_class(backend)
    cases = [
        lambda: cls((N,), Itau_mem=math.nan),
        lambda: cls((N,), dt=math.nan),
        lambda: cls((N,))(np.full((5, N), math.nan)),
        lambda: cls((N,))(np.zeros((5, N + 1))),
        lambda: cls((N,), bogus=1.0),
        lambda: _set_and_call(backend, cls((N,)), "Ispkthr", _array(backend, np.full(N, math.nan))),
        lambda: _set_and_call(backend, cls((N,)), "C_mem", _array(backend, np.zeros(N))),
        lambda: _set_and_call(backend, cls((N,)), "dt", math.nan),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Dynapse2Error):
            result = case()
            spikes = np.asarray(result[0].detach() if backend == "torch" else result[0])
            pytest.fail(f"case {i} returned spikes (NaN: {bool(np.isnan(spikes).any())}) instead of raising")


# --- state and empty input (found in review) ---------------------------------------------------


@pytest.mark.parametrize("cls", ["jax", "torch"])
def test_empty_input_is_a_shape_error(cls):
    from rockpool_dynapse2 import DynapSimJax, DynapSimTorch

    mod = (DynapSimJax if cls == "jax" else DynapSimTorch)((3,))
    with pytest.raises(ShapeError, match="T >= 1"):
        mod(np.zeros((0, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match="T >= 1"):
        mod(np.zeros((0, 5, 3), dtype=np.float32))


def test_nan_state_is_a_named_error_not_nan_spikes():
    import jax.numpy as jnp
    import torch

    from rockpool_dynapse2 import DynapSimJax, DynapSimTorch

    mod = DynapSimJax((3,)).set_attributes({"imem": jnp.full(3, jnp.nan)})
    with pytest.raises(ParameterValueError, match="state imem"):
        mod(np.zeros((5, 3), dtype=np.float32))
    tmod = DynapSimTorch((3,))
    tmod.vmem = torch.full((3,), float("inf"))
    with pytest.raises(ParameterValueError, match="state vmem"):
        tmod(np.zeros((5, 3), dtype=np.float32))


def test_wrongly_shaped_jax_state_is_a_shape_error():
    import jax.numpy as jnp

    from rockpool_dynapse2 import DynapSimJax

    with pytest.raises(ShapeError, match="state isyn"):
        DynapSimJax((3,)).set_attributes({"isyn": jnp.ones((3, 3))})(np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(ShapeError, match="state iahp"):
        DynapSimJax((3,)).set_attributes({"iahp": jnp.ones((1,))})(np.zeros((2, 5, 3), dtype=np.float32))


def test_from_high_level_refuses_per_neuron_arrays_with_the_way_out(backend, module_class):
    # a core's neurons share its biases: high-level values are one per core
    with pytest.raises(ParameterValueError, match=r"tau_ampa.*whole core.*itau_from_tau.*\(3,\)"):
        module_class(backend).from_high_level((3,), tau_ampa=np.array([5e-3, 1e-2, 2e-2]))
