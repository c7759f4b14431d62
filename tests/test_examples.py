"""The examples under docs/ run as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"


def test_quickstart_example() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    layered, eager = (line.split() for line in out.splitlines())
    assert (layered[0], eager[0]) == ("layered:", "eager:")
    assert layered[-3:] == eager[-3:] == ["NEWS", "RESULT", "1"]
    # Layered waits for the slow search (0.3 s) before shouting (0.1 s); eager
    # shouts while the slow search runs. Generous bounds: real time, shared machine.
    assert float(eager[1]) < 0.45
    assert float(layered[1]) >= 0.4
