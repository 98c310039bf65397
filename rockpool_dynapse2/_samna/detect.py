"""Finding samna without importing it, and shielding against PyPI's installer stub.

PyPI's ``samna`` is an installer stub: importing it runs ``pip install`` against
SynSense's own package index. Rockpool imports ``samna`` when Rockpool itself is imported
(to see whether it is available), so with the stub installed, ``import rockpool`` would
run pip. :func:`shield_pypi_stub` (called when ``rockpool_dynapse2`` is imported) puts a
placeholder module under the name ``samna`` when, and only when, the installed samna is
the stub: Rockpool then sees no usable samna, and nothing runs pip. The real samna is
never touched.

This module never imports samna.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

__all__ = ["SamnaStatus", "samna_status", "shield_pypi_stub"]

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
    if isinstance(loaded, _StubShield):
        return SamnaStatus(True, False, loaded.location, "samna is PyPI's installer stub, not SynSense's samna")
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



class _StubShield(types.ModuleType):
    """Stands in for PyPI's samna stub so that importing it cannot run pip."""

    PYPI_SAMNA = True

    def __init__(self, location: Optional[str]):
        super().__init__("samna", "placeholder for PyPI's samna installer stub (see rockpool_dynapse2._samna.detect)")
        self.location = location

    def __getattr__(self, name: str):
        raise AttributeError(
            f"samna.{name}: the installed `samna` is PyPI's installer stub, not SynSense's samna; "
            "rockpool_dynapse2 kept it from running pip. Install SynSense's samna as its documentation describes."
        )


def shield_pypi_stub() -> bool:
    """If the installed samna is PyPI's stub and not yet imported, keep it from being imported.

    Returns:
        True if the shield was installed.
    """
    if "samna" in sys.modules:
        return False
    status = samna_status()
    if status.installed and not status.real:
        sys.modules["samna"] = _StubShield(status.location)
        return True
    return False
