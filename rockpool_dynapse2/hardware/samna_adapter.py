"""The one module that touches samna, and only when called.

SynSense's samna drives DYNAP-SE2 boards. The package named ``samna`` on PyPI is an
*installer stub*: importing it runs ``pip install`` against SynSense's own index (and
fails where that index is unreachable). So before anything imports samna we look at
what is installed **without importing it**: the stub is a single pure-Python
``__init__.py`` that marks itself with ``PYPI_SAMNA = True``; the real samna ships a
compiled extension module.

:func:`samna_status` reports what is there; :func:`require_samna` imports the real samna
or raises :class:`~rockpool_dynapse2.errors.SamnaNotAvailableError` saying how to get it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..errors import SamnaNotAvailableError

__all__ = ["SamnaStatus", "samna_status", "require_samna", "configuration_to_samna", "INSTALL_HINT"]

INSTALL_HINT = (
    "install SynSense's samna as its documentation describes (the `samna` package on PyPI "
    "is only an installer stub that downloads the real one from SynSense's package index "
    "when imported); then `python -c \"import samna\"` must work"
)

_STUB_MARKERS = ("PYPI_SAMNA", "install_real_samna")
_EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib")


@dataclass(frozen=True)
class SamnaStatus:
    """What samna installation there is, found without importing it.

    Attributes:
        installed: a ``samna`` module can be found.
        real: it is SynSense's real samna (a compiled extension), not PyPI's stub.
        location: where it is.
        reason: a sentence saying what was found.
    """

    installed: bool
    real: bool
    location: Optional[str]
    reason: str


def samna_status() -> SamnaStatus:
    """Look for samna without importing it (importing PyPI's stub would run pip)."""
    loaded = sys.modules.get("samna")
    if loaded is not None and not getattr(loaded, "PYPI_SAMNA", False):
        return SamnaStatus(True, True, getattr(loaded, "__file__", None), "samna is already imported")
    spec = importlib.util.find_spec("samna")
    if spec is None:
        return SamnaStatus(False, False, None, "samna is not installed")
    origin = spec.origin
    if origin and origin.endswith(_EXTENSION_SUFFIXES):
        return SamnaStatus(True, True, origin, "samna is a compiled extension module")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])]
    if origin and origin.endswith(".py"):
        try:
            text = Path(origin).read_text(errors="replace")
        except OSError:
            text = ""
        if any(marker in text for marker in _STUB_MARKERS):
            return SamnaStatus(True, False, origin, "samna is PyPI's installer stub, not SynSense's samna")
    for root in roots:
        if any(f.suffix in _EXTENSION_SUFFIXES for f in root.rglob("*") if f.is_file()):
            return SamnaStatus(True, True, str(root), "samna has compiled extension modules")
    return SamnaStatus(True, False, origin, "samna has no compiled extension: it is not SynSense's samna")


def require_samna() -> Any:
    """Import and return the real samna.

    Raises:
        SamnaNotAvailableError: samna is missing, or only PyPI's installer stub is
            installed (then it is *not* imported), with instructions.
    """
    status = samna_status()
    if not status.real:
        raise SamnaNotAvailableError(f"deployment to a DYNAP-SE2 board needs SynSense's samna: {status.reason}; {INSTALL_HINT}")
    return importlib.import_module("samna")


def configuration_to_samna(json_text: str) -> Any:
    """A ``samna.dynapse2.Dynapse2Configuration`` read from our configuration's samna JSON.

    Raises:
        SamnaNotAvailableError: without the real samna.
    """
    samna = require_samna()
    config = samna.dynapse2.Dynapse2Configuration()
    config.from_json(json_text)
    return config
