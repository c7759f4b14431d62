"""The gateway over streamable HTTP: who may call it (a bearer token, the Host and Origin checks), and hypercorn."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any

import trio
from mcp.server.lowlevel import Server


async def serve_http(
    server: Server[Any],
    host: str,
    port: int,
    *,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``server`` over streamable HTTP at ``http://host:port/mcp`` until cancelled (hypercorn's trio worker).

    See :meth:`Gateway.serve_http <dagexec.serve.Gateway.serve_http>`, which this is.
    """
    try:
        from hypercorn.config import Config
        from hypercorn.trio import serve
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
    app: Any = server.streamable_http_app(streamable_http_path="/mcp", transport_security=security, host=host)
    if token is not None:
        app = _BearerToken(app, token)
    config = Config()
    config.bind = [f"{shown}:{port}"]
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
