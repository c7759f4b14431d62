"""The ``dagexec`` command line (the ``cli`` extra): run, validate, compare, demo, bench, serve and schema.

``main`` is the console script; ``python -m dagexec`` runs it too.
"""

from ._commands import main as main
from ._options import UsageError as UsageError

__all__ = ["UsageError", "main"]
