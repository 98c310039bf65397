"""Design rules of the DYNAP-SE2: one small check per hardware limit, all violations at once.

Each rule is a function that returns the :class:`Violation` s it finds (the limit, the
actual value and where). :func:`raise_violations` raises one
:class:`Dynapse2DRCError` that lists them all; catch it by type (it is a Rockpool
``DRCError``) and read ``.violations``, never the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import Dynapse2DRCError

__all__ = ["Violation", "Dynapse2DRCError", "raise_violations"]


@dataclass(frozen=True)
class Violation:
    """One broken design rule.

    Attributes:
        rule: the rule's name, e.g. ``"cam_entries"``.
        limit: what the chip allows.
        actual: what the network needs.
        where: location, e.g. ``"neuron 17 (chip 0, core 2, neuron 17)"``.
    """

    rule: str
    limit: Any
    actual: Any
    where: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} needs {self.actual}; the chip allows {self.limit}"


def raise_violations(violations: Iterable[Violation]) -> None:
    """Raise :class:`Dynapse2DRCError` if there is any violation."""
    violations = list(violations)
    if violations:
        raise Dynapse2DRCError(violations)
