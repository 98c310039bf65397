"""Finding samna without importing it, and guarding against PyPI's installer stub.

PyPI's ``samna`` is an installer stub: importing it runs ``pip install`` against
SynSense's own package index. Rockpool imports ``samna`` when Rockpool itself is imported
(to see whether it is available), so with the stub installed, ``import rockpool`` runs pip.

:func:`shield_pypi_stub` (called when ``rockpool_dynapse2`` is imported) puts a guard at the
front of Python's import system (``sys.meta_path``). From then on, every ``import samna``
that would load the stub (a pure-Python ``samna`` carrying the stub's markers) gets a
placeholder module instead: Rockpool sees no usable samna and nothing runs pip, also when
the import comes later, after ``sys.modules["samna"]`` was cleared, or from a reload. Any
other samna (SynSense's, or a test fake) is imported as usual; the guard looks at what
would be loaded each time, so a real samna installed later in the session is found.

What the guard cannot do: if ``rockpool`` (or anything else importing samna) was imported
*before* ``rockpool_dynapse2``, the stub has already run by the time this module exists.
:func:`samna_status` then says so (the stub left in ``sys.modules``, or, if it failed, the
guard keeps it from running a second time).

This module never imports samna.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["SamnaStatus", "samna_status", "shield_pypi_stub"]

_STUB_MARKERS = ("PYPI_SAMNA", "install_real_samna")
_EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib")
_STUB_REASON = "samna is PyPI's installer stub, not SynSense's samna"


@dataclass(frozen=True)
class SamnaStatus:
    """What samna installation there is, found without importing it.

    Attributes:
        installed: a ``samna`` module can be found.
        real: it is SynSense's real samna (a compiled extension), not PyPI's stub.
        location: where it is.
        reason: a sentence saying what was found.
        stub: it is PyPI's installer stub (importing it runs pip).
    """

    installed: bool
    real: bool
    location: Optional[str]
    reason: str
    stub: bool = False


def samna_status() -> SamnaStatus:
    """Look for samna without importing it (importing PyPI's stub would run pip)."""
    loaded = sys.modules.get("samna")
    if isinstance(loaded, _StubShield):
        return SamnaStatus(True, False, loaded.location, _STUB_REASON, stub=True)
    if loaded is not None and getattr(loaded, "PYPI_SAMNA", False):
        reason = (
            f"{_STUB_REASON}, and it was imported before rockpool_dynapse2 (Rockpool imports samna when "
            "it is imported): it has already run pip in this session; restart Python after installing "
            "SynSense's samna (or `pip uninstall samna`)"
        )
        return SamnaStatus(True, False, getattr(loaded, "__file__", None), reason, stub=True)
    if loaded is not None:
        return SamnaStatus(True, True, getattr(loaded, "__file__", None), "samna is already imported")
    return _status_of(_find_spec_unguarded("samna"))


def _status_of(spec: Optional[importlib.machinery.ModuleSpec]) -> SamnaStatus:
    """The status of the samna that ``spec`` would load (``None``: there is none)."""
    if spec is None:
        return SamnaStatus(False, False, None, "samna is not installed")
    origin = spec.origin
    if origin and origin.endswith(_EXTENSION_SUFFIXES):
        return SamnaStatus(True, True, origin, "samna is a compiled extension module")
    if _is_stub(spec):
        return SamnaStatus(True, False, origin, _STUB_REASON, stub=True)
    for root in (Path(p) for p in (spec.submodule_search_locations or [])):
        if any(f.suffix in _EXTENSION_SUFFIXES for f in root.rglob("*") if f.is_file()):
            return SamnaStatus(True, True, str(root), "samna has compiled extension modules")
    return SamnaStatus(True, False, origin, "samna has no compiled extension: it is not SynSense's samna")


def _is_stub(spec: importlib.machinery.ModuleSpec) -> bool:
    """True if ``spec`` is PyPI's stub: a pure-Python module carrying the stub's markers."""
    origin = spec.origin
    if not (origin and origin.endswith(".py")):
        return False
    try:
        text = Path(origin).read_text(errors="replace")
    except OSError:
        return False
    return any(marker in text for marker in _STUB_MARKERS)


def _find_spec_unguarded(name: str, path: Optional[Sequence[str]] = None) -> Optional[importlib.machinery.ModuleSpec]:
    """The spec Python's import system would use for ``name`` without the guard (never runs
    the module: finders only look)."""
    for finder in list(sys.meta_path):
        if isinstance(finder, _StubGuard):
            continue
        find = getattr(finder, "find_spec", None)
        spec = find(name, path) if find is not None else None
        if spec is not None:
            return spec
    return None


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


class _ShieldLoader(importlib.abc.Loader):
    """Loads :class:`_StubShield` where the stub would have been loaded."""

    def __init__(self, location: Optional[str]):
        self.location = location

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StubShield(self.location)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing runs: that is the point."""


class _StubGuard(importlib.abc.MetaPathFinder):
    """A finder at the front of ``sys.meta_path``: ``samna`` resolves to the placeholder when,
    and only when, what would be loaded is PyPI's stub; every other name, and any other
    samna, is left to the usual finders."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None, target: Optional[types.ModuleType] = None):
        if fullname != "samna":
            return None
        spec = _find_spec_unguarded(fullname, path)
        if spec is None or not _is_stub(spec):
            return None
        return importlib.util.spec_from_loader(fullname, _ShieldLoader(spec.origin), origin=spec.origin)


def shield_pypi_stub() -> bool:
    """Put the guard against PyPI's stub at the front of ``sys.meta_path`` (once).

    Cheap: nothing is looked up until something imports samna.

    Returns:
        True if the guard was added by this call, False if it was there already.
    """
    if any(isinstance(finder, _StubGuard) for finder in sys.meta_path):
        return False
    sys.meta_path.insert(0, _StubGuard())
    return True
