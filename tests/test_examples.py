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


README = Path(__file__).parent.parent / "README.rst"


def code_blocks(path: Path, language: str) -> list[str]:
    """The ``.. code-block:: language`` blocks of an rst file, dedented."""
    import textwrap

    blocks, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f".. code-block:: {language}":
            body = []
            for following in lines[i + 2 :]:
                if following and not following.startswith(" "):
                    break
                body.append(following)
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
    return blocks


def test_readme_python_example_runs() -> None:
    (code,) = code_blocks(README, "python")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines() == [
        "page success {'url': 'https://example.org', 'text': 'hello from https://example.org'}",
        "loud success HELLO FROM HTTPS://EXAMPLE.ORG",
    ]


def test_readme_workflow_is_valid() -> None:
    from dagexec import Workflow

    (block,) = code_blocks(README, "json")
    workflow = Workflow.from_json(block)
    assert workflow.generations == [["utc"], ["paris"]]
