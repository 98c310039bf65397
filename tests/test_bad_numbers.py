"""Numbers that are not numbers get a named error from every conversion; half precision is
computed in a precision that can hold the chip's currents (issue #16, item 1)."""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.parameters import (
    gain_ratio_from_igain,
    igain_from_gain_ratio,
    ipulse_from_pulse_width,
    itau_from_tau,
    pulse_width_from_ipulse,
    tau_from_itau,
)

CONVERSIONS = [
    lambda v: itau_from_tau(v, "mem"),
    lambda v: tau_from_itau(v, "ampa"),
    lambda v: ipulse_from_pulse_width(v, "ref"),
    lambda v: pulse_width_from_ipulse(v, "pulse"),
    lambda v: igain_from_gain_ratio(v, 1e-12),
    lambda v: gain_ratio_from_igain(v, 1e-12),
]
BAD = [None, "0.01", b"1", True, 1 + 2j, np.array([1 + 0j]), np.array([object()]), ["a", 1.0], np.array(["1e-3"])]


@pytest.mark.parametrize("convert", CONVERSIONS)
@pytest.mark.parametrize("value", BAD, ids=[repr(v)[:16] for v in BAD])
def test_values_that_are_not_real_numbers_are_refused_by_name(convert, value):
    with pytest.raises(ParameterValueError, match="positive real number"):
        convert(value)


@pytest.mark.parametrize("convert", CONVERSIONS)
def test_half_precision_is_computed_as_double(convert):
    for value in (np.float16(0.01), np.array([0.01, 0.02], dtype=np.float16)):
        assert np.allclose(convert(value), convert(np.asarray(value, dtype=np.float64)), rtol=1e-12)
        assert np.all(np.asarray(convert(value)) > 0)


def test_half_precision_torch_is_upcast():
    import torch

    t = torch.tensor([0.01], dtype=torch.float16)
    out = itau_from_tau(t, "mem")
    assert out.dtype == torch.float32 and float(out[0]) == pytest.approx(itau_from_tau(0.01, "mem"), rel=1e-3)
