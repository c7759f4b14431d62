"""Everything the test modules share: workflow builders, a simulated tool, run readers, servers and processes.

Test modules import from here (and Hypothesis strategies from ``strategies.py``),
never from each other.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import chdir, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, TypeVar

import trio
import trio.testing

from dagexec import (
    Attempt,
    ExecutionResult,
    LocalTools,
    TaskError,
    TaskFinished,
    TaskResult,
    TaskRetrying,
    TaskSkipped,
    TaskStarted,
    TaskStatus,
    Workflow,
)

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
README = ROOT / "README.rst"

T = TypeVar("T")

# -- workflows -----------------------------------------------------------------------------


def wf(*tasks: dict[str, Any]) -> Workflow:
    """A workflow of these task dicts."""
    return Workflow.from_dict({"tasks": list(tasks)})


def t(
    tid: str,
    seconds: float = 1.0,
    *deps: str,
    tool: str = "sim:sleep",
    arguments: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A task dict: ``tool`` (:func:`sleep` by default) called with ``seconds`` and ``arguments``.

    ``deps`` go to ``depends_on``; other keywords are task fields (``timeout``,
    ``retries``, ``trigger``, ``estimate``, ``approval``...).
    """
    return {
        "id": tid,
        "tool": tool,
        "arguments": {"seconds": seconds, **(arguments or {})},
        "depends_on": list(deps),
        **fields,
    }


async def sleep(seconds: float = 1.0, value: Any = None, fail: bool = False) -> dict[str, Any]:
    """The simulated tool: sleep, then answer, or fail with ``RuntimeError: failed after <seconds>``."""
    await trio.sleep(seconds)
    if fail:
        raise RuntimeError(f"failed after {seconds}")
    return {"slept": seconds, "value": value}


#: One simulated server, ``sim``, with the :func:`sleep` tool.
SIM = {"sim": LocalTools({"sleep": sleep})}


def run_in_virtual_time(fn: Callable[[], Awaitable[T]]) -> T:
    """``trio.run(fn)`` on a clock that jumps to the next deadline: for tests that cannot take a fixture."""
    return trio.run(fn, clock=trio.testing.MockClock(autojump_threshold=0))


# -- reading results -----------------------------------------------------------------------


def timeline(result: ExecutionResult) -> dict[str, tuple[float, float] | None]:
    """Each task's (start, end), rounded to the nanosecond; None if it never started."""
    return {
        r.task_id: None if r.started_at is None else (round(r.started_at, 9), round(r.finished_at or 0.0, 9))
        for r in result.results
    }


def starts(result: ExecutionResult) -> dict[str, float | None]:
    """Each task's start, rounded to the nanosecond; None if it never started."""
    return {r.task_id: None if r.started_at is None else round(r.started_at, 9) for r in result.results}


def _ns(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 9)


def outcome(
    result: TaskResult,
) -> tuple[TaskStatus, TaskError | None, float | None, float | None, int]:
    """A task's status, error, start, end (rounded to the nanosecond) and attempts: one value to compare."""
    return (result.status, result.error, _ns(result.started_at), _ns(result.finished_at), result.attempts)


def calls(result: TaskResult) -> list[Attempt]:
    """The task's calls (its timeline), their times rounded to the nanosecond."""
    return [Attempt(round(a.started_at, 9), round(a.finished_at, 9), a.error) for a in result.timeline]


def named(events: Iterable[object]) -> list[tuple[str, str]]:
    """Each call, retry and end among the events, as its kind and task id: ``("TaskStarted", "a")``."""
    found = []
    for e in events:
        if isinstance(e, TaskFinished | TaskSkipped):
            found.append((type(e).__name__, e.result.task_id))
        elif isinstance(e, TaskStarted | TaskRetrying):
            found.append((type(e).__name__, e.task_id))
    return found


def max_in_flight(result: ExecutionResult, server: str | None = None) -> int:
    """The most calls in flight at once (on ``server``, or on all), from the results' timelines."""
    edges = []
    for r in result.results:
        if server is None or r.tool.startswith(server + ":"):
            for attempt in r.timeline:
                edges += [(attempt.started_at, 1), (attempt.finished_at, -1)]
    level = peak = 0
    for _, step in sorted(edges, key=lambda e: (round(e[0], 9), e[1])):  # ends before starts
        level += step
        peak = max(peak, level)
    return peak


def all_overlap(spans: Iterable[tuple[float, float]]) -> bool:
    """Whether every span started before every other one ended: all were in flight at one instant."""
    spans = list(spans)
    return max(start for start, _ in spans) < min(end for _, end in spans)


# -- real MCP servers and the processes they run -------------------------------------------

TOOLBOX = str(Path(__file__).parent / "servers" / "toolbox.py")

#: mcp-server-time, from PyPI, over stdio.
TIME = {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}


def toolbox(marker: str = "") -> dict[str, Any]:
    """The test toolbox's ``mcpServers`` entry; ``marker`` tags its command line for :func:`processes_with`."""
    return {"command": sys.executable, "args": [TOOLBOX, *([marker] if marker else [])]}


#: An SDK server whose tools declare nested input and output schemas ($defs, an enum).
TYPED = {"command": sys.executable, "args": [str(Path(__file__).parent / "servers" / "typed.py")]}


#: A raw JSON-RPC server (no SDK) that misbehaves on purpose, over stdio or HTTP.
RAW = str(Path(__file__).parent / "servers" / "raw.py")


def raw(marker: str = "") -> dict[str, Any]:
    """The raw server's ``mcpServers`` entry; ``marker`` tags its command line and its children's."""
    return {"command": sys.executable, "args": [RAW, *([marker] if marker else [])]}


def announced(
    proc: subprocess.Popen[Any], pattern: str, *, stream: str = "stdout", seconds: float = 60
) -> tuple[str, str]:
    """Read the process's ``stream`` until ``pattern`` shows; return its first group (the URL) and the text read.

    The one way the tests wait for a server: it binds port 0 and says the port
    it got, so there is no free port to pick first and race for. Fails with
    what the process wrote if it exits or stays silent for ``seconds``. Reads the
    pipe's file descriptor directly (not the buffered file, which ``select``
    cannot see into), so what it read is only in the text it returns.
    """
    pipe = getattr(proc, stream)
    assert pipe is not None, f"the process's {stream} is not a pipe"
    seen = bytearray()
    deadline = time.monotonic() + seconds
    while not (found := re.search(pattern, seen.decode(errors="replace"))):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{proc.args} said nothing matching {pattern!r} within {seconds} s: {bytes(seen)!r}"
        if select.select([pipe.fileno()], [], [], min(remaining, 0.5))[0]:
            chunk = os.read(pipe.fileno(), 65536)
            assert chunk, f"{proc.args} exited ({proc.wait()}) before it listened: {bytes(seen)!r}"
            seen += chunk
    return found.group(1), seen.decode(errors="replace")


#: What the test servers (``TOOLBOX``, ``RAW``) print once they listen over HTTP.
LISTENING = r"listening on (http://\S+)"


@contextmanager
def serving_http(script: str, transport: str = "http") -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run a test server (``TOOLBOX``, ``RAW``) over streamable HTTP (or ``"sse"``: the toolbox over SSE).

    Yields its URL and its process.
    """
    proc = subprocess.Popen(
        [sys.executable, script, transport], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        yield announced(proc, LISTENING)[0], proc
    finally:
        proc.kill()
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def processes_with(marker: str, *, parent: int | None = None) -> list[int]:
    """The pids of live (not zombie) processes whose command line contains ``marker`` (and whose parent is ``parent``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                status = (entry / "status").read_text()
            except OSError:
                continue
            ours = parent is None or f"\nPPid:\t{parent}\n" in status
            if marker.encode() in cmdline and "State:\tZ" not in status and ours:
                found.append(int(entry.name))
    return found


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- the command line ----------------------------------------------------------------------

# As in an activated virtual environment: `python` in a servers file is this one.
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "120"}


def dagexec(
    *args: str, cwd: Path = EXAMPLES, env: dict[str, str] = ENV, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dagexec ARGS`` as a user would, with no standard input."""
    return subprocess.run(
        [sys.executable, "-m", "dagexec", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    """``os.environ`` is ``env`` during the block, and as it was after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _stdin(text: str | None) -> Iterator[None]:
    """File descriptor 0 reads ``text`` from a pipe during the block, or /dev/null if None: never a terminal."""
    saved = os.dup(0)
    writer = None
    if text is None:
        source = os.open(os.devnull, os.O_RDONLY)
    else:
        source, sink = os.pipe()

        def feed() -> None:  # a thread: the text may be more than a pipe holds
            with contextlib.suppress(BrokenPipeError), open(sink, "wb") as pipe:  # the command may stop reading
                pipe.write(text.encode())

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
    os.dup2(source, 0)
    os.close(source)
    try:
        yield
    finally:
        os.dup2(saved, 0)  # closes the pipe's read end: a writer still writing gets BrokenPipeError
        os.close(saved)
        if writer is not None:
            writer.join(10)


class CommandTimeout(Exception):
    """An in-process command (:func:`cli`) ran past its time."""


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`CommandTimeout` in the block after ``seconds``: a hung command fails its test, not the run."""

    def expire(signum: int, frame: Any) -> None:
        raise CommandTimeout(f"the command ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cli(
    *args: str, cwd: Path = EXAMPLES, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``dagexec ARGS`` called in this process: what :func:`dagexec` gives, without starting Python again.

    For tests of what a command prints and returns. A test where signals, a
    terminal, the process's own exit or its children are the point runs a
    process (:func:`dagexec`, :func:`on_a_terminal`). Call it from synchronous
    tests only: the command runs ``trio.run``. Its standard input is ``input``
    through a pipe (/dev/null if None), its environment :data:`ENV` (or ``env``), and the root logger's handlers and
    level are put back after, so that no test sees another's logging. Past
    ``timeout`` seconds, it is interrupted (:class:`CommandTimeout`).
    """
    from dagexec.cli import main

    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with (
            _environment(ENV if env is None else env),
            _stdin(input),
            chdir(cwd),
            redirect_stdout(out),
            redirect_stderr(err),
            _alarm(timeout),
        ):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors, --version
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return subprocess.CompletedProcess(["dagexec", *args], code, out.getvalue(), err.getvalue())


#: ``python -c ON_A_TERMINAL ARGS``: makes the pseudo-terminal on its stderr the controlling terminal
#: of a new session, with Ctrl-C as its interrupt character, then becomes ``python -m dagexec ARGS``.
ON_A_TERMINAL = """
import fcntl, os, sys, termios
fcntl.ioctl(2, termios.TIOCSCTTY, 0)
attrs = termios.tcgetattr(2)
attrs[3] |= termios.ISIG | termios.ICANON | termios.ECHO
attrs[6][termios.VINTR] = b"\\x03"
termios.tcsetattr(2, termios.TCSANOW, attrs)
os.execv(sys.executable, [sys.executable, "-m", "dagexec", *sys.argv[1:]])
"""


def read_until(master: int, text: str, seen: bytearray, seconds: float) -> bool:
    """Read a pseudo-terminal into ``seen`` until ``text`` shows (True), or it closes or time runs out (False)."""
    deadline = time.monotonic() + seconds
    while text.encode() not in seen and time.monotonic() < deadline:
        if select.select([master], [], [], 0.1)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every end of the terminal is closed
                return False
            if not chunk:
                return False
            seen += chunk
    return text.encode() in seen


class Terminal:
    """A ``dagexec`` process on a pseudo-terminal (see :func:`on_a_terminal`), and what it has shown."""

    def __init__(self, proc: subprocess.Popen[bytes], master: int) -> None:
        self.proc = proc
        self.master = master
        self.seen = bytearray()

    def read_until(self, text: str, seconds: float) -> bool:
        """Read until ``text`` shows (True), or the terminal closes or time runs out (False)."""
        return read_until(self.master, text, self.seen, seconds)

    def type(self, keys: bytes) -> None:
        """Type at the terminal (``b"\\x03"`` is Ctrl-C)."""
        os.write(self.master, keys)

    def text(self) -> str:
        """What it has shown, without rich's own styles (which are no control sequences from outside)."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.seen.decode(errors="replace"))


@contextmanager
def on_a_terminal(*args: str, env: dict[str, str] = ENV, stdin: int | None = None) -> Iterator[Terminal]:
    """``python -m dagexec ARGS`` with a pseudo-terminal as its controlling terminal (``stdin``: a pipe instead).

    Only the process holds the terminal's other end, so reading ends when it
    exits; on leaving, the process is killed and the terminal closed. Its
    settings stay readable from ``master`` (``termios.tcgetattr``).
    """
    master, tty = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", ON_A_TERMINAL, *args],
        stdin=tty if stdin is None else stdin, stdout=tty, stderr=tty, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(tty)
    try:
        yield Terminal(proc, master)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
        if proc.stdin is not None:
            proc.stdin.close()


def write(path: Path, data: Any) -> str:
    """Write ``data`` as JSON to ``path``; return the path as a string."""
    path.write_text(json.dumps(data))
    return str(path)


def toolbox_servers(tmp_path: Path, marker: str = "") -> str:
    """A servers file with the toolbox as server ``box``."""
    return write(tmp_path / "servers.json", {"mcpServers": {"box": toolbox(marker)}})


# -- the journal ---------------------------------------------------------------------------

JOURNAL_WORKER = str(Path(__file__).parent / "scripts" / "journal_worker.py")


def read_only_journal(path: Path) -> Path:
    """A journal SQLite opens but cannot write: even for root, who ignores file modes.

    Its header says it was written in a file format newer than SQLite's (write
    version 3), which SQLite opens read-only, like a file it has no permission to
    write.
    """
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE finished (run_name, task_id, tool, arguments_hash, status, output, finished_at,"
            " PRIMARY KEY (run_name, task_id))"
        )
    db.close()
    header = bytearray(path.read_bytes())
    assert header[18:20] == b"\x02\x02"  # write and read versions: WAL
    header[18] = 3
    path.write_bytes(header)
    return path


@contextmanager
def journal_fills_up(pages: int) -> Iterator[None]:
    """During the block, a journal opened can grow by ``pages`` pages of SQLite, then its disk is full.

    Each connection the journal opens gets a ``PRAGMA max_page_count`` of its
    file's size now plus ``pages``: past that, a write fails as on a full disk.
    Create the journal before the block (:func:`dagexec.check_journal`).
    """
    import dagexec._journal

    connect = dagexec._journal._connect

    def connect_to_a_small_disk(path: str) -> sqlite3.Connection:
        connection = connect(path)
        (size,) = connection.execute("PRAGMA page_count").fetchone()
        connection.execute(f"PRAGMA max_page_count = {size + pages}")
        return connection

    dagexec._journal._connect = connect_to_a_small_disk
    try:
        yield
    finally:
        dagexec._journal._connect = connect


@contextmanager
def journal_held(journal: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process runs with ``journal`` during the block: its calls wait until the block ends.

    Yields the process once its first call has started (so it holds the journal);
    after the block, checks that its run ended well.
    """
    effects, release = journal.with_name("held-effects.log"), journal.with_name("held-release")
    worker = [sys.executable, JOURNAL_WORKER, str(journal), str(effects), str(release)]
    proc = subprocess.Popen(worker, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (effects.exists() and "start t0" in effects.read_text()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the worker's first call did not start within 60 s"
            time.sleep(0.02)
        yield proc
    finally:
        release.touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "ok 20 tasks"


# -- docs ----------------------------------------------------------------------------------


def code_blocks(path: Path, language: str) -> list[str]:
    """The ``.. code-block:: language`` blocks of an rst file, dedented."""
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
