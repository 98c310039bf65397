"""Everything that knows about samna, at the bottom of the package so any layer may ask.

* :mod:`.detect`: what samna is installed, found without importing it; the shield against
  PyPI's installer stub;
* :mod:`.adapter`: the only module that imports samna (and only when called): conversions
  between our records and samna's objects, device listing and opening.

The boards that use samna are in :mod:`rockpool_dynapse2.hardware`.
"""

__all__ = ["detect", "adapter"]
