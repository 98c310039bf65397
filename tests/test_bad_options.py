"""Module options and entry points refuse bad arguments by name (issue #16, items 1 and 5):
no raw TypeError or AttributeError, and nothing silently accepted."""

import numpy as np
import pytest

from rockpool_dynapse2 import CoreParameters, DynapSimJax, DynapSimTorch
from rockpool_dynapse2.errors import Dynapse2Error, MappingError, ParameterValueError, ShapeError
from rockpool_dynapse2.mapping import mapper, quantize_spec

BAD_OPTIONS = [
    (dict(chunk=0), ParameterValueError, "chunk"),
    (dict(chunk=-3), ParameterValueError, "chunk"),
    (dict(chunk=2.5), ParameterValueError, "chunk"),
    (dict(seed="x", has_rec=True), ParameterValueError, "seed"),
    (dict(seed=-1), ParameterValueError, "seed"),
    (dict(has_rec="yes"), ParameterValueError, "has_rec"),
    (dict(Itau_mem="1e-12"), ParameterValueError, "Itau_mem"),
    (dict(Itau_mem=1e-12 + 1j), ParameterValueError, "Itau_mem"),
    (dict(Itau_mem=None), ParameterValueError, "Itau_mem"),
    (dict(Idc=True), ParameterValueError, "Idc"),
    (dict(core="default"), ParameterValueError, "core"),
]


@pytest.mark.parametrize("module", [DynapSimJax, DynapSimTorch])
@pytest.mark.parametrize("options, error, name", BAD_OPTIONS, ids=[str(o[0]) for o in BAD_OPTIONS])
def test_bad_module_options_are_named(module, options, error, name):
    with pytest.raises(error, match=f"`{name}`"):
        module((4,), **options)


@pytest.mark.parametrize("module", [DynapSimJax, DynapSimTorch])
@pytest.mark.parametrize("shape", [None, "4", 4.0, (4, 5), (0,), True, ()])
def test_bad_shapes_are_named(module, shape):
    with pytest.raises(ShapeError, match="`shape`"):
        module(shape)


def test_good_options_still_work():
    mod = DynapSimJax((4,), chunk=3, seed=2, has_rec=True, core=CoreParameters(), Itau_mem=np.full(4, 5e-12))
    assert np.asarray(mod(np.zeros((1, 6, 4), np.float32))[0]).shape == (1, 6, 4)


@pytest.mark.parametrize("call", [lambda: mapper(None), lambda: mapper("net"), lambda: mapper(DynapSimJax((2,)))])
def test_mapper_names_what_it_needs(call):
    with pytest.raises(MappingError, match="Rockpool graph"):
        call()


@pytest.mark.parametrize("spec", [None, "spec", 3])
def test_quantize_spec_names_what_it_needs(spec):
    with pytest.raises(Dynapse2Error, match="NetworkSpec"):
        quantize_spec(spec)
