"""The package's version: its one source (``setup.cfg`` reads it from here)."""

__version__ = "0.1.0"
