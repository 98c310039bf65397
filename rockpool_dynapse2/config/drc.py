"""Design rules of the DYNAP-SE2: one small check per hardware limit, all violations at once.

Each rule is a function that returns the :class:`Violation` s it finds (the limit, the
actual value and where). :func:`raise_violations` raises one
:class:`Dynapse2DRCError` that lists them all; catch it by type (it is a Rockpool
``DRCError``) and read ``.violations``, never the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, List, Sequence

from rockpool.typehints import DRCError

from ..errors import Dynapse2Error

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


class Dynapse2DRCError(Dynapse2Error, DRCError):
    """The network breaks one or more design rules of the chip (see ``violations``)."""

    def __init__(self, violations: Sequence[Violation]):
        self.violations = tuple(violations)
        shown = "\n".join(f"  - {v}" for v in self.violations[:20])
        more = f"\n  ... and {len(self.violations) - 20} more" if len(self.violations) > 20 else ""
        super().__init__(f"the network must fit the chip; {len(self.violations)} design rule(s) broken:\n{shown}{more}")

    @property
    def rules(self) -> List[str]:
        """The names of the broken rules, one per violation."""
        return [v.rule for v in self.violations]


def raise_violations(violations: Iterable[Violation]) -> None:
    """Raise :class:`Dynapse2DRCError` if there is any violation."""
    violations = list(violations)
    if violations:
        raise Dynapse2DRCError(violations)
