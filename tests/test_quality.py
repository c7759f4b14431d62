"""The package is strictly typed and lint-clean (settings in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .helpers import ROOT


@pytest.mark.slow
def test_mypy_strict() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_users_code_type_checks() -> None:
    """The docs' examples and the public API as a user writes it pass ``mypy --strict``.

    Untyped calls are allowed: the scaling example calls distributed, which has no types.
    """
    files = sorted(str(p) for p in (ROOT / "docs" / "examples").glob("*.py")) + [str(ROOT / "tests" / "typed_usage.py")]
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--allow-untyped-calls", "--follow-imports=silent", *files],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "dagexec"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
