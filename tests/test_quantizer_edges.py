"""The weight quantizer at the edges: scale-invariant from 1e-300 to 1e300, and refusing
values that are not real numbers by name (issue #16, item 5)."""

import numpy as np
import pytest

from rockpool_dynapse2.errors import ParameterValueError
from rockpool_dynapse2.transform import quantize_weights


@pytest.mark.parametrize("scale", [1e-300, 1e-30, 1e30, 1e300])
def test_the_quantizer_is_scale_invariant(scale):
    rng = np.random.default_rng(1)
    w_in, w_rec = rng.normal(0, 1, (6, 5)), rng.normal(0, 0.5, (5, 5))
    ref = quantize_weights(w_in, w_rec, [0, 0, 1, 1, 1], Iscale=1e-8)
    q = quantize_weights(w_in * scale, w_rec * scale, [0, 0, 1, 1, 1], Iscale=1e-8)
    assert np.allclose(q.w_in / scale, ref.w_in, rtol=1e-9) and np.allclose(q.w_rec / scale, ref.w_rec, rtol=1e-9)
    assert np.array_equal(q.masks_in, ref.masks_in) and q.error == pytest.approx(ref.error, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("bad", [np.array([[1 + 1j, 0.5]]), np.array([[object(), 1.0]]), np.array([["0.5", "1"]])])
def test_values_that_are_not_real_numbers_are_refused(bad):
    with pytest.raises(ParameterValueError, match="real numbers"):
        quantize_weights(bad, None, [0, 0], Iscale=1e-8)
