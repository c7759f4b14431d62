"""The entries of an ``mcpServers`` config, as plain frozen data (public through :mod:`dagexec.servers`).

Nothing here starts anything, so the backends (:mod:`dagexec.mcp`,
:mod:`dagexec.dask`) and :mod:`dagexec.servers`, which picks one per entry, all
build on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._convert import Invalid


def _one_of(*values: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    """A validator: the value is one of ``values``; the message names it and lists them."""

    def check(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in values:
            raise Invalid(f"unknown {attribute.name} {value!r} (accepted: {', '.join(values)})")

    return check


def _check_timeout(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not value > 0:
        raise Invalid(f"timeout must be > 0 (seconds), not {value!r}")


def _check_command(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value:
        raise Invalid("command must not be empty")


@attrs.frozen(kw_only=True)
class StdioServerConfig:
    """A server that dagexec starts as a subprocess and talks to over stdio.

    Args:
        command: The program to run (looked up on ``PATH``).
        args: Its arguments.
        env: Variables added to the environment it runs in (with those of
            the entry's ``envFile``, which ``env`` overrides).
        cwd: Its working directory.
        type: ``"stdio"``, as some configs say; optional.
        timeout: Seconds each call may take (Cline's and Roo Code's
            ``timeout``); a call without an answer by then fails with
            ``timeout``. None: no limit of the server's own.
    """

    command: str = attrs.field(validator=_check_command)
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = attrs.field(factory=dict)
    cwd: str | None = None
    timeout: float | None = attrs.field(default=None, validator=_check_timeout)
    type: str = attrs.field(default="stdio", validator=_one_of("stdio"))


@attrs.frozen(kw_only=True)
class HttpServerConfig:
    """A running server that dagexec reaches over streamable HTTP.

    Args:
        url: Its endpoint, such as ``http://127.0.0.1:8000/mcp``.
        headers: HTTP headers sent with every request (authorization, ...).
        type: ``"http"`` or ``"streamable-http"``, as some configs say; optional.
        timeout: Seconds each call may take (see :class:`StdioServerConfig`).
    """

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float | None = attrs.field(default=None, validator=_check_timeout)
    type: str = attrs.field(
        default="http", validator=_one_of("http", "streamable-http", "streamable_http", "streamableHttp")
    )


def _check_at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise Invalid(f"{attribute.name} must be >= 1, not {value!r}")


@attrs.frozen(kw_only=True)
class LocalClusterConfig:
    """A Dask cluster of worker processes on this machine, started for the run.

    Args:
        n_workers: How many worker processes (at least 1: with none, no tool
            call could ever run).
        threads_per_worker: How many calls each worker runs at once (at least 1).
    """

    n_workers: int = attrs.field(default=2, validator=_check_at_least_one)
    threads_per_worker: int = attrs.field(default=1, validator=_check_at_least_one)


def _check_dask(instance: DaskServerConfig, attribute: attrs.Attribute[Any], value: Any) -> None:
    if (instance.scheduler is None) == (instance.local is None):
        raise Invalid("needs either 'scheduler' (an address) or 'local' (a cluster started for the run)")


@attrs.frozen(kw_only=True)
class DaskServerConfig:
    """Python tools run on a Dask cluster (see :class:`~dagexec.dask.DaskTools`).

    Args:
        tools: ``"package.module:name"``, a mapping of tool names to functions
            that the workers can import too.
        scheduler: The scheduler's address, such as ``tcp://127.0.0.1:8786``.
        local: Or a local cluster started for the run: ``{"n_workers": 2}``.
    """

    tools: str
    scheduler: str | None = None
    local: LocalClusterConfig | None = attrs.field(default=None, validator=_check_dask)


@attrs.frozen(kw_only=True)
class SseServerConfig:
    """A running server that dagexec reaches over HTTP with Server-Sent Events (the SSE transport).

    The transport that streamable HTTP replaced, which many hosted servers
    still speak: an entry with ``"type": "sse"``.

    Args:
        url: Its SSE endpoint, such as ``http://127.0.0.1:8000/sse``.
        headers: HTTP headers sent with every request (authorization, ...).
        type: ``"sse"``.
        timeout: Seconds each call may take (see :class:`StdioServerConfig`).
    """

    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float | None = attrs.field(default=None, validator=_check_timeout)
    type: str = attrs.field(default="sse", validator=_one_of("sse"))


ServerConfig = StdioServerConfig | HttpServerConfig | SseServerConfig | DaskServerConfig
"""One entry of the config."""


@attrs.frozen(kw_only=True)
class InputVariable:
    """A value that a config asks of the user, written ``${input:id}`` in its entries (VS Code's ``inputs``).

    Args:
        id: Its name in ``${input:id}``.
        description: What to ask, in words.
        password: Whether the value is secret: asked without showing it.
        default: The value when none is given.
        type: ``"promptString"``, as VS Code writes it.
    """

    id: str
    description: str = ""
    password: bool = False
    default: str | None = None
    type: str = attrs.field(default="promptString", validator=_one_of("promptString"))
