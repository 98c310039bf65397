"""How a mismatch deviation becomes a relative noise: :func:`sigma_from_deviation`, its bound
:data:`MAX_DEVIATION` and the :data:`POSITIVE_FLOOR` of currents and layout constants.

Plain numbers, without jax or Rockpool, so that the training library's settings check
their deviation by the same rule (:mod:`.mismatch` draws the noise).
"""

from __future__ import annotations

from ..parameters.validate import real_number

__all__ = ["POSITIVE_FLOOR", "MAX_DEVIATION", "sigma_from_deviation"]

POSITIVE_FLOOR = 1e-3
"""Smallest multiplicative factor applied to a current or layout constant."""


MAX_DEVIATION = 10.0
"""Largest ``percent_deviation``: 10.0 (1000 %). Far beyond the 20-30 % this package
evaluates, yet room to study the :data:`POSITIVE_FLOOR` under extreme noise; above it lie a
deviation given in percent instead of as a fraction (30 for 0.3) and ``1e6`` (a relative
noise of 3e5), which are refused."""


def sigma_from_deviation(percent_deviation: float, sigma_rule: float) -> float:
    """Relative standard deviation ``percent_deviation / sigma_rule``, at most ``MAX_DEVIATION``.

    Args:
        percent_deviation: the deviation (as a fraction: 0.3 for 30 %) reached at
            ``sigma_rule`` standard deviations; in ``[0, MAX_DEVIATION]`` (0 to 1000 %).
        sigma_rule: how many standard deviations that is; finite and >= 1 (Rockpool's
            default is 3: 99.7 % of the draws deviate less than ``percent_deviation``).

    Raises:
        ParameterValueError: for values that are not numbers or are outside these ranges
            (``percent_deviation=1e6`` was a relative noise of 3e5).
    """
    deviation = real_number("percent_deviation", percent_deviation, low=0.0, high=MAX_DEVIATION,
                            what="a fraction (0.3 for 30 %)")
    rule = real_number("sigma_rule", sigma_rule, low=1.0, what="a number of standard deviations")
    return deviation / rule
