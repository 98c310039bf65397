"""Design rules of the DYNAP-SE2: one small check per hardware limit, all violations at once.

Each rule is a function that returns the :class:`Violation` s it finds (the limit, the
actual value and where). :func:`raise_violations` raises one
:class:`Dynapse2DRCError` that lists them all; catch it by type (it is a Rockpool
``DRCError``) and read ``.violations``, never the message.

:class:`Violation` and the error live in :mod:`rockpool_dynapse2.errors`, because the
mapper (a layer below) raises them too, for the board's neuron and core capacity
(:class:`~rockpool_dynapse2.errors.CoreCapacityError`).
"""

from __future__ import annotations

from typing import Iterable

from ..errors import Dynapse2DRCError, Violation

__all__ = ["Violation", "Dynapse2DRCError", "raise_violations"]


def raise_violations(violations: Iterable[Violation]) -> None:
    """Raise :class:`Dynapse2DRCError` if there is any violation."""
    violations = list(violations)
    if violations:
        raise Dynapse2DRCError(violations)
