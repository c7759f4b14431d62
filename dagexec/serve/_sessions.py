"""The HTTP gateway's sessions, bounded and fair: when the table is full, the longest-idle session is closed.

The SDK's streamable HTTP session manager keeps at most ``max_sessions``
sessions and answers ``503 Too many open sessions`` to every new client while
that many are open, for as long as they stay (its idle timeout): a flood of
unused sessions locks everyone out. It offers no way to choose a session to
close, so this ASGI middleware in front of it keeps its own table, learnt from
the headers: each session's id (``Mcp-Session-Id``), when a request of it last
ended, and how many are under way. When a new session makes the table exceed
its size, the session that has been idle longest (no request under way: a
client waiting for a plan's result, or listening on its GET stream, is never
chosen) is closed the way a client closes one, with an HTTP ``DELETE`` of its
id, through the SDK's own app. The SDK's limit is then left off; idle sessions
still end by the SDK's idle timeout.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import trio

_log = logging.getLogger("dagexec.serve")

_SESSION_ID = b"mcp-session-id"

#: The headers of a session's opening request that its closing DELETE carries too: it
#: must pass the same Host and Origin checks.
_KEPT_HEADERS = frozenset({b"host", b"origin"})


@attrs.define
class _Session:
    """One open session, as the middleware saw it."""

    headers: list[tuple[bytes, bytes]]
    scope: dict[str, Any]
    last_active: float
    #: The rank of its last activity among all sessions' (times can be equal; this never is).
    rank: int
    in_flight: int = 0


class FairSessions:
    """ASGI middleware: at most ``max_sessions`` sessions; a new one closes the longest-idle one beyond that.

    Args:
        app: The SDK's streamable HTTP app (its own session limit off).
        max_sessions: The size of the table.
        idle_timeout: The SDK's idle timeout: a session idle longer is gone
            already, and is forgotten here.
    """

    def __init__(self, app: Any, *, max_sessions: int, idle_timeout: float) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be >= 1")
        self._app = app
        self.max_sessions = max_sessions
        self._idle_timeout = idle_timeout
        self._sessions: dict[bytes, _Session] = {}
        self._activity = 0  # counts every request's end: the ranks of the sessions' last activity
        #: How many sessions were closed to make room, for the logs and the tests.
        self.evicted = 0

    def __len__(self) -> int:
        """The number of sessions in the table."""
        return len(self._sessions)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        session_id = dict(scope["headers"]).get(_SESSION_ID)
        known = self._sessions.get(session_id) if session_id is not None else None
        opened: list[_Session] = []

        async def watched_send(message: Any) -> None:
            if session_id is None and message["type"] == "http.response.start" and message["status"] < 400:
                created = dict(message.get("headers", [])).get(_SESSION_ID)
                if created is not None and created not in self._sessions:
                    opened.append(self._open(created, scope))
            await send(message)

        if known is not None:
            known.in_flight += 1
        try:
            await self._app(scope, receive, watched_send)
        finally:
            for session in (known, *opened):
                if session is not None:
                    session.in_flight -= 1
                    session.last_active = trio.current_time()
                    session.rank = self._activity = self._activity + 1
            if known is not None and session_id is not None and scope["method"] == "DELETE":
                self._sessions.pop(session_id, None)
        if opened:
            await self._make_room()

    def _open(self, session_id: bytes, scope: Any) -> _Session:
        """Enter a session that its opening request just created (under way until that request ends)."""
        headers = [(name, value) for name, value in scope["headers"] if name.lower() in _KEPT_HEADERS]
        self._activity += 1
        session = _Session(headers, scope, trio.current_time(), self._activity, in_flight=1)
        self._sessions[session_id] = session
        return session

    async def _make_room(self) -> None:
        """Forget the sessions the SDK ended as idle; close the longest-idle ones while the table is over its size."""
        now = trio.current_time()
        for session_id, session in list(self._sessions.items()):
            if session.in_flight == 0 and now - session.last_active > self._idle_timeout:
                del self._sessions[session_id]
        while len(self._sessions) > self.max_sessions:
            idle = [(session.rank, key) for key, session in self._sessions.items() if session.in_flight == 0]
            if not idle:  # every session has a request under way: none is closed
                return
            _, oldest = min(idle)
            await self._close(oldest, self._sessions.pop(oldest))
            self.evicted += 1
            _log.info("closed the longest-idle session to make room (%d sessions at most)", self.max_sessions)

    async def _close(self, session_id: bytes, session: _Session) -> None:
        """Close a session as its client would: ``DELETE`` with its id, through the SDK's app."""
        headers = [*session.headers, (_SESSION_ID, session_id), (b"accept", b"application/json, text/event-stream")]
        scope = {**session.scope, "method": "DELETE", "headers": headers, "query_string": b""}

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def ignore(message: Any) -> None:
            pass

        with trio.CancelScope(shield=True):
            await self._app(scope, receive, ignore)
