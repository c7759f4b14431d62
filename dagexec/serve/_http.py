"""The gateway over streamable HTTP: who may call it (a bearer token, the Host and Origin checks), and hypercorn."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any

import trio
from mcp.server.lowlevel import Server

from ._sessions import FairSessions

#: Seconds after which a session with no request under way ends (the SDK's default is 30 minutes).
SESSION_IDLE = 300.0

#: The most sessions open at once; a new one beyond closes the longest-idle one.
MAX_SESSIONS = 1000


def http_app(
    server: Server[Any],
    host: str,
    port: int,
    *,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    session_idle: float = SESSION_IDLE,
    max_sessions: int = MAX_SESSIONS,
) -> Any:
    """The ASGI app that serves ``server`` at ``/mcp`` for ``http://host:port``, with its checks and its sessions.

    See :meth:`Gateway.http_app <dagexec.serve.Gateway.http_app>`, which this is.
    """
    try:
        from mcp.server.transport_security import TransportSecuritySettings
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("serving over HTTP needs the serve extra: pip install 'dagexec[serve]'") from exc
    if token is None and not is_loopback(host):
        raise ValueError(f"serving on {host!r}, not a loopback address, needs a token")
    shown = f"[{host}]" if ":" in host else host
    names = {shown, "localhost", "127.0.0.1", "[::1]"} if is_loopback(host) else {shown}
    # A port of 0 is only known once bound: then any port of these names is the gateway's own.
    hosts = [f"{name}:{port if port else '*'}" for name in sorted(names)] + list(allowed_hosts)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=list(allowed_origins)
    )
    app: Any = server.streamable_http_app(
        streamable_http_path="/mcp",
        transport_security=security,
        host=host,
        session_idle_timeout=session_idle,
        max_sessions=None,  # FairSessions bounds the table, closing the longest-idle session rather than refusing
    )
    app = FairSessions(app, max_sessions=max_sessions, idle_timeout=session_idle)
    if token is not None:
        app = _BearerToken(app, token)
    return app


async def serve_http(
    app: Any, host: str, port: int, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve an ASGI ``app`` at ``host:port`` until cancelled (hypercorn's trio worker)."""
    try:
        from hypercorn.config import Config
        from hypercorn.trio import serve
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("serving over HTTP needs the serve extra: pip install 'dagexec[serve]'") from exc
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    await serve(app, config, shutdown_trigger=trio.sleep_forever, task_status=task_status)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, or ``localhost``) is only reachable from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _BearerToken:
    """An ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>``, else 401."""

    def __init__(self, app: Any, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"text/plain"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b"unauthorized: send Authorization: Bearer <token>\n"}
                )
                return
        await self._app(scope, receive, send)
