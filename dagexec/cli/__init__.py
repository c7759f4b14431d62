"""The ``dagexec`` command line (the ``cli`` extra): run, validate, compare, demo and bench.

``main`` is the console script; ``python -m dagexec`` runs it too.
"""

from ._commands import UsageError as UsageError
from ._commands import main as main

__all__ = ["UsageError", "main"]
