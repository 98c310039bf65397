"""The package version, defined once (read by setuptools and by ``rockpool_dynapse2.__version__``)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
