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
from typing import Any

from .._samna_detect import SamnaStatus, samna_status
from ..errors import SamnaNotAvailableError

__all__ = ["SamnaStatus", "samna_status", "require_samna", "configuration_to_samna", "INSTALL_HINT"]

INSTALL_HINT = (
    "install SynSense's samna as its documentation describes (the `samna` package on PyPI "
    "is only an installer stub that downloads the real one from SynSense's package index "
    "when imported); then `python -c \"import samna\"` must work"
)

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
