"""The ``dagexec`` command line (the ``cli`` extra): run, validate, compare, demo, bench, serve and schema.

``main`` is the console script; ``python -m dagexec`` runs it too.
"""

from ._options import UsageError as UsageError
from ._parser import main as main

__all__ = ["UsageError", "main"]
