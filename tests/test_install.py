"""The README's installs, made in fresh virtual environments from a copy of the checkout.

Slow (each installs dagexec's dependencies from the package index, or pip's cache).
Without the index, they are skipped, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from .helpers import EXAMPLES, ROOT

pytestmark = pytest.mark.slow


def fresh_copy(tmp_path: Path) -> Path:
    """The checkout's files (as git has them, with the changes not yet committed), without its environment."""
    copy = tmp_path / "checkout"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".venv", "build", "_build", "*.egg-info", "__pycache__", ".*_cache")
    )
    return copy


def pip_install(python: Path, *args: str) -> None:
    out = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *args], capture_output=True, text=True, timeout=900
    )
    if out.returncode != 0 and any(
        sign in out.stderr for sign in ("No matching distribution", "Could not find a version", "NewConnectionError")
    ):
        pytest.skip(f"the package index cannot be reached: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / "bin" / "python"


def test_a_plain_install_runs_demo_and_validate_and_asks_for_the_mcp_extra(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, str(fresh_copy(tmp_path)))
    dagexec = str(python.parent / "dagexec")
    missing = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print([m for m in ('mcp', 'distributed') if u.find_spec(m)])"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.stdout == "[]\n"  # no extra came along
    demo = subprocess.run([dagexec, "demo", "--speed", "50"], capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "eager" in demo.stdout and demo.stderr == ""
    validate = subprocess.run([dagexec, "validate", "time-workflow.json"], capture_output=True, text=True,
                              timeout=120, cwd=EXAMPLES)  # fmt: skip
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.splitlines()[-1] == "longest chain (2 tasks): utc -> paris"
    run = subprocess.run([dagexec, "run", "time-workflow.json", "--servers", "servers.json"], capture_output=True,
                         text=True, timeout=120, cwd=EXAMPLES)  # fmt: skip
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr == (
        "error: server 'time' did not start: dagexec.mcp needs the mcp extra: pip install 'dagexec[mcp]'\n"
    )


def test_mypy_finds_an_editable_install_made_as_the_readme_says(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path / "venv")
    copy = fresh_copy(tmp_path)
    pip_install(python, "--no-deps", "-e", str(copy), "--config-settings", "editable_mode=strict")
    user = tmp_path / "user"
    user.mkdir()
    (user / "use.py").write_text(
        "from dagexec import Workflow\n\nworkflow: Workflow = Workflow.from_dict({'tasks': []})\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--python-executable", str(python), "--no-incremental", "use.py"],
        capture_output=True, text=True, timeout=300, cwd=user,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout == "Success: no issues found in 1 source file\n"
