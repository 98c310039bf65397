"""The board kinds: a name for each kind of board, and :func:`open_board` to open one by name.

A kind maps to a *factory*, a callable ``factory(**options) -> Board`` in a module of this
package, imported only when a board of that kind is checked or opened (so that listing
the kinds imports no board module, and no optional dependency such as samna):

======== ============================================== ==============================
kind     factory                                        options
======== ============================================== ==============================
virtual  :class:`~.virtual.VirtualBoard`                ``backend`` (``"jax"``, ``"torch"``),
                                                        ``horizon_steps``, ``profile`` (a
                                                        :class:`~.chip_profile.ChipProfile`
                                                        or its JSON file)
samna    :func:`~.samna_board.open_samna_board`         ``index``, ``device``, ``bitfile``,
                                                        ``clock_timeout``, ...
======== ============================================== ==============================

Adding a kind: write its module (a :class:`~.board.Board` subclass that declares its
:class:`~.board.BoardCapabilities`, and a factory taking keyword options), then add one
line to :data:`BOARD_KINDS`. A kind may name a *check*, ``check(**options) -> None``,
that fails early, without opening anything, where opening surely would (a missing
driver): :func:`check_board` runs it, e.g. before minutes of training.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from ..errors import UnknownParameterError
from .board import Board

__all__ = ["BoardKind", "BOARD_KINDS", "board_kinds", "board_factory", "check_board", "open_board"]


@dataclass(frozen=True)
class BoardKind:
    """Where a board kind's code lives (names, resolved on use).

    Attributes:
        module: the module, relative to this package (``".virtual"``) or absolute.
        factory: the name, in ``module``, of ``factory(**options) -> Board``.
        check: the name, in ``module``, of ``check(**options) -> None`` that fails early
            where opening surely would; ``None``: nothing to check before opening.
        summary: one line on what the kind is, for listings.
    """

    module: str
    factory: str
    check: Optional[str] = None
    summary: str = ""

    def resolve(self, name: str) -> Callable[..., Any]:
        """The callable ``name`` of the kind's module (the module is imported now)."""
        return getattr(importlib.import_module(self.module, __package__), name)


BOARD_KINDS: Dict[str, BoardKind] = {
    "virtual": BoardKind(".virtual", "VirtualBoard", summary="the simulator executes the configuration"),
    "samna": BoardKind(".samna_board", "open_samna_board", "check_samna_board", summary="a DYNAP-SE2 board through samna"),
}
"""Every board kind, by name: one line per kind."""


def board_kinds() -> Tuple[str, ...]:
    """The names of the board kinds, in registration order."""
    return tuple(BOARD_KINDS)


def _kind(kind: str) -> BoardKind:
    try:
        return BOARD_KINDS[kind]
    except (KeyError, TypeError):
        raise UnknownParameterError("board kind", kind, board_kinds()) from None


def _bind(kind: str, fn: Callable[..., Any], options: Dict[str, Any]) -> None:
    """Check that ``fn`` takes ``options`` as keywords; name the ones it takes if not."""
    signature = inspect.signature(fn)
    try:
        signature.bind(**options)
    except TypeError:
        valid = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = sorted(set(options) - set(valid)) or sorted(options)
        raise UnknownParameterError(f"open_board({kind!r}) option", unknown[0], valid) from None


def board_factory(kind: str = "virtual", **options: Any) -> Callable[[], Board]:
    """A function of no arguments that opens a new board of ``kind`` with ``options``.

    The kind and the options' names are checked now (nothing is opened or imported beyond
    the kind's module); each call opens a board.

    Raises:
        UnknownParameterError: an unknown kind (the message lists the kinds) or an option
            the kind does not take (the message lists the ones it does).
    """
    entry = _kind(kind)
    factory = entry.resolve(entry.factory)
    _bind(kind, factory, options)
    return lambda: factory(**options)


def check_board(kind: str = "virtual", **options: Any) -> None:
    """Fail early, without opening a board, where :func:`open_board` surely would.

    Checks the kind, the options' names, and what the kind's own check tests (e.g. for
    ``"samna"``: that samna is installed and ``index`` is a board index).

    Raises:
        UnknownParameterError: an unknown kind or option.
        Dynapse2Error: what the kind's check raises (e.g. ``SamnaNotAvailableError``).
    """
    board_factory(kind, **options)
    entry = BOARD_KINDS[kind]
    if entry.check is not None:
        check = entry.resolve(entry.check)
        accepted = inspect.signature(check).parameters
        check(**{k: v for k, v in options.items() if k in accepted})


def open_board(kind: str = "virtual", **options: Any) -> Board:
    """Open a board of ``kind`` (one of :func:`board_kinds`) with the kind's ``options``.

    Examples: ``open_board("virtual", backend="torch")``, ``open_board("samna", index=0)``,
    ``open_board("samna", bitfile="Dynapse2Stack.bit")`` (the first board not yet opened).

    Raises:
        UnknownParameterError: an unknown kind (the message lists the kinds) or an option
            the kind does not take.
        Dynapse2Error: what the kind's factory raises (e.g. ``SamnaNotAvailableError``,
            ``BoardNotFoundError``, ``BitfileError``).
    """
    return board_factory(kind, **options)()
